//! The plugin wasplug's tests, benchmarks and demo drive: one method per
//! behaviour a host must handle.
#![allow(clippy::print_stderr)] // stderr is the plugin's log

mod sieve;

use futures::future::join_all;
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wasplug_pdk::{Error, Plugin, RawValue, Value, host, json};

/// The answer of `prime_sieve`.
#[derive(Serialize)]
struct Primes {
    count: usize,
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

fn main() {
    Plugin::new("test-plugin", env!("CARGO_PKG_VERSION"))
        .method("ping", |()| async { Ok("pong") })
        // Raw params come back verbatim: every JSON number exact.
        .method("echo", |params: Box<RawValue>| async move { Ok(params) })
        .method("get_random_number", |()| async {
            getrandom::u64().map_err(|e| Error::internal(e.to_string()))
        })
        .method("get_time", |()| async {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Ok(u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
        })
        .method("sleep", |ms: u64| async move {
            std::thread::sleep(Duration::from_millis(ms));
            Ok(ms)
        })
        .method("many_echo", |n: u64| async move {
            for i in 0..n {
                echo_checked(i).await?;
            }
            Ok(n)
        })
        .method("concurrent_echo", |n: u64| async move {
            let results = join_all((0..n).map(echo_checked)).await;
            results.into_iter().collect::<Result<Vec<()>, Error>>()?;
            Ok(n)
        })
        // `?` on a std error answers -32603 with the error's text.
        .method("parse", |text: String| async move {
            let n: i64 = text.parse()?;
            Ok(n)
        })
        .method("prime_sieve", |n: usize| async move { Ok(prime_sieve(n)) })
        .method("fail", |()| async {
            Err::<(), _>(
                Error::new(-32000, "deliberate failure")
                    .with_data(json!({"reason": "the test asked for it", "retry": false})),
            )
        })
        .method("panic", |()| async {
            if true {
                panic!("deliberate panic");
            }
            Ok(())
        })
        .method("log", |n: u64| async move {
            for i in 0..n {
                eprintln!("log line {i}");
            }
            Ok(n)
        })
        .method("big", |n: usize| async move { Ok("x".repeat(n)) })
        .method(
            "call_host",
            |(method, params): (String, Box<RawValue>)| async move {
                host::call::<_, Box<RawValue>>(&method, &params).await
            },
        )
        .method("notify", |n: u64| async move {
            for i in 0..n {
                host::notify("progress", &[i])?;
            }
            Ok(n)
        })
        // --- What the host gives the plugin: configuration, args, environment.
        // `config`: the value of config entry `key` (`null` when not set).
        .method("config", |key: String| async move {
            wasplug_pdk::config::get::<Value>(&key).await
        })
        // `args_env`: the plugin's arguments (after its name) and environment.
        .method("args_env", |()| async {
            let args: Vec<String> = std::env::args().skip(1).collect();
            let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
            Ok(json!({"args": args, "env": env}))
        })
        // --- End of configuration, args, environment.
        .run();
}
