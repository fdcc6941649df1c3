//! The plugin wasplug's tests, benchmarks and demo drive: one method per
//! behaviour a host must handle.
#![allow(clippy::print_stderr)] // stderr is the plugin's log

mod sieve;

use futures::future::join_all;
use schemars::JsonSchema;
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasplug_pdk::{Doc, Error, Plugin, RawValue, Value, host, json, manifest};

/// How many primes there are up to a limit.
#[derive(Serialize, JsonSchema)]
struct Primes {
    /// The number of primes at most `limit`.
    count: usize,
    /// The limit asked for.
    limit: usize,
}

fn prime_sieve(limit: usize) -> Primes {
    Primes {
        count: sieve::count_primes(limit),
        limit,
    }
}

/// The sieve without the framework: the benchmarks call this export directly
/// in wasmi, to measure the interpreter's own floor.
#[cfg(target_family = "wasm")]
#[allow(unsafe_code)] // `export_name` must be spelled `unsafe(...)` since edition 2024
#[unsafe(export_name = "count_primes")]
pub extern "C" fn count_primes_export(limit: u32) -> u32 {
    sieve::count_primes(limit as usize) as u32
}

/// Calls the host's `echo` with `[i]` and checks it comes back unchanged.
async fn echo_checked(i: u64) -> Result<(), Error> {
    let back: [u64; 1] = host::call("echo", &[i]).await?;
    if back == [i] {
        Ok(())
    } else {
        Err(Error::internal(format!("echo returned {back:?} for [{i}]")))
    }
}

/// The plugin: its manifest, and every method documented.
fn plugin() -> Plugin {
    let manifest = manifest! {
        description: "The plugin wasplug's tests, benchmarks and demo drive: one method per \
                      behaviour a host must handle",
        methods: [
            "ping", "echo", "get_random_number", "get_time", "sleep", "many_echo",
            "concurrent_echo", "parse", "prime_sieve", "fail", "panic", "log", "big",
            "call_host", "notify", "config", "args_env",
        ],
        // The host methods it calls (`call_host` calls whichever it is asked to).
        capabilities: ["echo", "progress", "config.get"],
    };
    Plugin::from_manifest(manifest)
        .method_doc("ping", "Answers \"pong\"", |()| async { Ok("pong") })
        // Raw params come back verbatim: every JSON number exact.
        .method_doc(
            "echo",
            Doc::new("Answers its params exactly as they were sent, every number unchanged")
                .params(&["value"]),
            |params: Box<RawValue>| async move { Ok(params) },
        )
        .method_doc(
            "get_random_number",
            "A random 64-bit number, from the host's `random_get`",
            |()| async { getrandom::u64().map_err(|e| Error::internal(e.to_string())) },
        )
        .method_doc(
            "get_time",
            "The host's clock, in milliseconds since the Unix epoch",
            |()| async {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                Ok(u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
            },
        )
        .method_doc(
            "sleep",
            Doc::new("Sleeps `ms` milliseconds, then answers `ms`").params(&["ms"]),
            |ms: u64| async move {
                std::thread::sleep(Duration::from_millis(ms));
                Ok(ms)
            },
        )
        .method_doc(
            "many_echo",
            Doc::new("Calls the host's `echo` `n` times, one after the other; answers `n`")
                .params(&["n"]),
            |n: u64| async move {
                for i in 0..n {
                    echo_checked(i).await?;
                }
                Ok(n)
            },
        )
        .method_doc(
            "concurrent_echo",
            Doc::new("Calls the host's `echo` `n` times, all in flight at once; answers `n`")
                .params(&["n"]),
            |n: u64| async move {
                let results = join_all((0..n).map(echo_checked)).await;
                results.into_iter().collect::<Result<Vec<()>, Error>>()?;
                Ok(n)
            },
        )
        // `?` on a std error answers -32603 with the error's text.
        .method_doc(
            "parse",
            Doc::new("Parses `text` as a 64-bit integer (else error -32603)").params(&["text"]),
            |text: String| async move {
                let n: i64 = text.parse()?;
                Ok(n)
            },
        )
        .method_doc(
            "prime_sieve",
            Doc::new("Counts the primes up to `limit` with a sieve: a CPU benchmark")
                .params(&["limit"]),
            |n: usize| async move { Ok(prime_sieve(n)) },
        )
        .method_doc(
            "fail",
            "Always fails, with error -32000 and data",
            |()| async {
                Err::<(), _>(
                    Error::new(-32000, "deliberate failure")
                        .with_data(json!({"reason": "the test asked for it", "retry": false})),
                )
            },
        )
        .method_doc("panic", "Panics: the host sees a trap", |()| async {
            if true {
                panic!("deliberate panic");
            }
            Ok(())
        })
        .method_doc(
            "log",
            Doc::new("Writes `n` lines to stderr; answers `n`").params(&["n"]),
            |n: u64| async move {
                for i in 0..n {
                    eprintln!("log line {i}");
                }
                Ok(n)
            },
        )
        .method_doc(
            "big",
            Doc::new("Answers a string of `len` x's").params(&["len"]),
            |n: usize| async move { Ok("x".repeat(n)) },
        )
        .method_doc(
            "call_host",
            Doc::new("Calls host method `method` with `params`; answers its result")
                .params(&["method", "params"]),
            |(method, params): (String, Box<RawValue>)| async move {
                host::call::<_, Box<RawValue>>(&method, &params).await
            },
        )
        .method_doc(
            "notify",
            Doc::new("Sends the host `n` `progress` notifications; answers `n`").params(&["n"]),
            |n: u64| async move {
                for i in 0..n {
                    host::notify("progress", &[i])?;
                }
                Ok(n)
            },
        )
        // --- What the host gives the plugin: configuration, args, environment.
        .method_doc(
            "config",
            Doc::new("The value of config entry `key` (`null` when not set)").params(&["key"]),
            |key: String| async move { wasplug_pdk::config::get::<Value>(&key).await },
        )
        .method_doc(
            "args_env",
            "The plugin's arguments (after its name) and environment",
            |()| async {
                let args: Vec<String> = std::env::args().skip(1).collect();
                let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
                Ok(json!({"args": args, "env": env}))
            },
        )
    // --- End of configuration, args, environment.
}

fn main() {
    plugin().run();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_manifest_lists_every_method() {
        assert_eq!(super::plugin().check_manifest(), Ok(()));
    }
}
