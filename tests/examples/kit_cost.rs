//! What each kit's example costs: its size, and the time of one `ping` call
//! (a fresh instance, its start, one request and its answer), the median of
//! rounds of many calls.
//!
//! `cargo run --release -p wasplug-tests --example kit_cost [WASM...]`: the
//! given plugins (each must answer `ping`), or else every kit example that
//! `tests/build.rs` built.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a measuring program prints its figures

use serde_json::Value;
use std::time::{Duration, Instant};
use wasplug_hdk::Plugin;
use wasplug_tests::guests;

/// Calls per round, and rounds (the median round is reported).
const CALLS: u32 = 2_000;
const ROUNDS: usize = 7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        paths.extend(guests::KIT_C_EXAMPLE.map(str::to_owned));
    }
    if paths.is_empty() {
        eprintln!("no kit example was built (run .ci/install-guest-toolchains), and none given");
        std::process::exit(2);
    }
    for path in paths {
        let size = std::fs::metadata(&path)?.len();
        let plugin = Plugin::from_file(&path).build()?;
        futures::executor::block_on(async {
            // Warm up: the first call translates the functions it runs.
            for _ in 0..100 {
                plugin.call("ping", Value::Null).await?;
            }
            let mut rounds = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let started = Instant::now();
                for _ in 0..CALLS {
                    plugin.call("ping", Value::Null).await?;
                }
                rounds.push(started.elapsed() / CALLS);
            }
            rounds.sort();
            let median: Duration = rounds[ROUNDS / 2];
            println!(
                "{path}: {size} bytes; ping {:.1} µs/call (median of {ROUNDS} rounds of {CALLS}; min {:.1}, max {:.1})",
                micros(median),
                micros(rounds[0]),
                micros(rounds[ROUNDS - 1]),
            );
            Ok::<_, wasplug_hdk::Error>(())
        })?;
    }
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
