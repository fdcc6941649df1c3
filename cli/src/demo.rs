//! `wasplug demo`: the bundled test plugin put through its paces.

use crate::{
    LogLevel,
    call::{host_methods, logger},
    term::{self, Stderr},
    text,
};
use clap::Args;
use serde_json::{Value, json};
use std::{
    process::ExitCode,
    time::{Duration, Instant},
};
use wasplug_hdk::{Error, ErrorKind, Grants, Plugin};

/// The test plugin (`test-plugin/`), built for wasm32-wasip1 by `build.rs`.
const TEST_PLUGIN: &[u8] = include_bytes!(env!("WASPLUG_TEST_PLUGIN"));
/// Host round trips in the `many_echo` step.
const ROUND_TRIPS: u64 = 200;
/// The limit of the `prime_sieve` step, and the primes up to it.
const SIEVE_LIMIT: u64 = 100_000;
const PRIMES_UP_TO_LIMIT: u64 = 9_592;
/// How long the `sleep` step sleeps, in ms.
const SLEEP_MS: u64 = 100;

/// `wasplug demo`.
#[derive(Args, Debug)]
pub(crate) struct DemoArgs {}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// Calls `method` and times it.
fn timed(plugin: &Plugin, method: &str, params: Value) -> (Result<Value, Error>, Duration) {
    let started = Instant::now();
    let result = futures::executor::block_on(plugin.call(method, params));
    (result, started.elapsed())
}

/// One step's outcome: what to print, and whether it went as expected.
type Step = Result<String, String>;

fn ping(plugin: &Plugin) -> Step {
    match timed(plugin, "ping", Value::Null) {
        (Ok(answer), took) if answer == "pong" => Ok(format!(
            "ping -> \"pong\" in {}\n        each call runs in a fresh sandboxed instance of the plugin",
            ms(took)
        )),
        (other, _) => Err(format!("ping -> {other:?}, expected \"pong\"")),
    }
}

fn round_trips(plugin: &Plugin) -> Step {
    match timed(plugin, "many_echo", json!([ROUND_TRIPS])) {
        (Ok(answer), took) if answer == ROUND_TRIPS => {
            let each = took.as_secs_f64() * 1e6 / ROUND_TRIPS as f64;
            Ok(format!(
                "many_echo({ROUND_TRIPS}) -> {ROUND_TRIPS}: {ROUND_TRIPS} host round trips in {} ({each:.0} µs each)\n        \
                 the plugin called the host's `echo` method and waited for each answer",
                ms(took)
            ))
        }
        (other, _) => Err(format!(
            "many_echo({ROUND_TRIPS}) -> {other:?}, expected {ROUND_TRIPS}"
        )),
    }
}

fn compute(plugin: &Plugin) -> Step {
    match timed(plugin, "prime_sieve", json!([SIEVE_LIMIT])) {
        (Ok(answer), took) if answer["count"] == PRIMES_UP_TO_LIMIT => Ok(format!(
            "prime_sieve({SIEVE_LIMIT}) -> {PRIMES_UP_TO_LIMIT} primes in {}\n        \
             interpreted, fuel-metered compute: the call yields to the host between fuel slices",
            ms(took)
        )),
        (other, _) => Err(format!(
            "prime_sieve({SIEVE_LIMIT}) -> {other:?}, expected a count of {PRIMES_UP_TO_LIMIT}"
        )),
    }
}

fn sleep(plugin: &Plugin) -> Step {
    match timed(plugin, "sleep", json!([SLEEP_MS])) {
        (Ok(answer), took) if answer == SLEEP_MS && took >= Duration::from_millis(SLEEP_MS) => {
            Ok(format!(
                "sleep({SLEEP_MS}) -> {SLEEP_MS} after {} of wall time\n        \
                 the sleeping guest is suspended, not spinning: no CPU is used meanwhile",
                ms(took)
            ))
        }
        (other, took) => Err(format!(
            "sleep({SLEEP_MS}) -> {other:?} after {}, expected {SLEEP_MS} after at least {SLEEP_MS} ms",
            ms(took)
        )),
    }
}

fn contained_panic(plugin: &Plugin) -> Step {
    let (result, took) = timed(plugin, "panic", Value::Null);
    let Some(ErrorKind::Trap { trap, .. }) = result.as_ref().err().map(Error::kind) else {
        return Err(format!("panic -> {result:?}, expected a trap"));
    };
    match timed(plugin, "ping", Value::Null) {
        (Ok(answer), _) if answer == "pong" => Ok(format!(
            "panic -> contained in {}: the plugin trapped ({}); then ping -> \"pong\" again\n        \
             a crash ends only its own call; the next call starts from a fresh instance",
            ms(took),
            text::escape(trap)
        )),
        (other, _) => Err(format!(
            "ping after the panic -> {other:?}, expected \"pong\""
        )),
    }
}

/// `wasplug demo`: prints each step; exits 1 if one misbehaved.
pub(crate) fn demo(_: &DemoArgs, level: LogLevel) -> anyhow::Result<ExitCode> {
    let stderr = Stderr::default();
    let plugin = Plugin::builder(TEST_PLUGIN)
        .name("test-plugin")
        .host_methods(host_methods(&stderr, level))
        .grants(Grants::methods(crate::host::BUILTIN))
        .logger(logger(&stderr, level))
        .build()?;
    term::print(&format!(
        "wasplug demo: the bundled test plugin ({} KiB of wasm, wasplug protocol {}), interpreted by wasmi\n",
        TEST_PLUGIN.len() / 1024,
        plugin
            .protocol_version()
            .map_or_else(|| "not recorded".to_owned(), |v| v.to_string())
    ))?;
    let steps: [fn(&Plugin) -> Step; 5] = [ping, round_trips, compute, sleep, contained_panic];
    let mut failed = 0;
    for step in steps {
        match step(&plugin) {
            Ok(line) => term::print(&format!("  ok    {line}\n"))?,
            Err(line) => {
                term::print(&format!("  FAIL  {line}\n"))?;
                failed += 1;
            }
        }
    }
    if failed == 0 {
        term::print(&format!("all {} steps behaved as expected\n", steps.len()))?;
        Ok(ExitCode::SUCCESS)
    } else {
        term::print(&format!("{failed} of {} steps misbehaved\n", steps.len()))?;
        Ok(ExitCode::FAILURE)
    }
}
