//! Measures what the criterion benches cannot: how long one poll of a call
//! keeps the executor from other tasks (the fuel slice), how much CPU a host
//! burns while a plugin sleeps or waits on a slow host method, and memory
//! (flat RSS over 100,000 calls; bytes per idle `Plugin` and per in-flight call).
//!
//! `cargo run --release -p wasplug-hdk --example latency` (Linux: reads /proc).
#![allow(clippy::print_stdout)] // a measuring program prints its figures

use futures::{executor::block_on, future::join_all};
use serde_json::{Value, json};
use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};
use wasplug_hdk::{Engine, Grants, HostContext, HostMethods, Limits, Plugin};

/// Wraps a future and records how long each of its polls took.
struct Timed<F> {
    inner: Pin<Box<F>>,
    polls: Arc<Mutex<Vec<Duration>>>,
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = Instant::now();
        let result = self.inner.as_mut().poll(cx);
        let took = started.elapsed();
        if let Ok(mut polls) = self.polls.lock() {
            polls.push(took);
        }
        result
    }
}

/// Process CPU time (user + system) from /proc/self/stat, in clock ticks of 10 ms.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<u64> = after.split(' ').filter_map(|f| f.parse().ok()).collect();
    // utime and stime are fields 14 and 15 of the file: 12 and 13 after the state.
    let ticks = fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// A /proc/self/status field in bytes (VmRSS, VmHWM).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn main() {
    let bytes =
        std::fs::read(wasplug_tests::guests::TEST_PLUGIN).expect("the test plugin is built");
    let engine = Engine::new();
    let slow = HostMethods::new(())
        .method("echo", |_: HostContext<()>, p: Value| async move { Ok(p) })
        .method("slow", |_: HostContext<()>, _: Value| async move {
            // A host method that takes a second without holding a thread busy.
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(1));
                let _ = tx.send(());
            });
            let _ = rx.await;
            Ok(Value::Null)
        });
    let plugin = Plugin::builder(&bytes)
        .engine(&engine)
        .limits(Limits::default().with_host_calls(256))
        .host_methods(slow)
        .grants(Grants::methods(["echo", "slow"]))
        .build()
        .expect("the test plugin loads");
    // Warm up: with lazy translation each function is compiled on its first
    // call (once per engine), inside that call's poll; measure steady state.
    block_on(plugin.call("prime_sieve", json!([10]))).expect("warm-up");
    block_on(plugin.call("sleep", json!([1]))).expect("warm-up");

    // 1. One thread, 100 concurrent calls mixing compute and sleeps.
    let polls = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let calls = (0..100u64).map(|i| Timed {
        inner: Box::pin({
            let plugin = plugin.clone();
            async move {
                match i % 2 {
                    0 => plugin.call("prime_sieve", json!([200_000])).await,
                    _ => plugin.call("sleep", json!([50])).await,
                }
            }
        }),
        polls: Arc::clone(&polls),
    });
    let results = block_on(join_all(calls));
    let wall = started.elapsed();
    let finished = results.iter().filter(|r| r.is_ok()).count();
    let mut polls = polls.lock().map(|p| p.clone()).unwrap_or_default();
    polls.sort();
    println!(
        "100 concurrent calls on one thread (50 prime_sieve(200000), 50 sleep(50)): {finished}/100 finished in {wall:.1?}"
    );
    println!(
        "  one poll (at most one fuel slice of {} units): p50 {:.1?}, p90 {:.1?}, p99 {:.1?}, max {:.1?} over {} polls",
        Limits::DEFAULT_FUEL_SLICE,
        percentile(&polls, 0.50),
        percentile(&polls, 0.90),
        percentile(&polls, 0.99),
        polls.last().copied().unwrap_or_default(),
        polls.len()
    );

    // 2. CPU while a plugin sleeps, and while a host method is slow.
    for (what, method, params) in [
        ("sleeps 1 s", "sleep", json!([1000])),
        (
            "waits on a 1 s host method",
            "call_host",
            json!(["slow", []]),
        ),
    ] {
        let cpu_before = cpu_time();
        let started = Instant::now();
        let result = block_on(plugin.call(method, params));
        let wall = started.elapsed();
        let cpu = cpu_time() - cpu_before;
        println!(
            "while a plugin {what}: {cpu:?} CPU over {wall:.2?} wall = {:.2}% ({})",
            100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
            if result.is_ok() { "ok" } else { "FAILED" }
        );
    }

    // 3. Memory: RSS over 100,000 sequential calls.
    let mut rss = Vec::new();
    for round in 0..=10 {
        if round > 0 {
            for _ in 0..10_000 {
                block_on(plugin.call("ping", Value::Null)).expect("pong");
            }
        }
        rss.push(status_bytes("VmRSS:"));
    }
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "RSS over 100,000 sequential pings, every 10,000: {}",
        rss.iter()
            .map(|b| format!("{:.1}", mib(*b)))
            .collect::<Vec<_>>()
            .join(" ")
            + " MiB"
    );

    // 4. Bytes per idle Plugin (sharing one engine) and per in-flight call.
    let before = status_bytes("VmRSS:");
    let plugins: Vec<Plugin> = (0..200)
        .map(|_| {
            Plugin::builder(&bytes)
                .engine(&engine)
                .build()
                .expect("loads")
        })
        .collect();
    let per_plugin = status_bytes("VmRSS:").saturating_sub(before) / 200;
    // After one call each, each plugin keeps that call's instance, to reset
    // and reuse (`PluginBuilder::idle_instances`).
    let before = status_bytes("VmRSS:");
    for idle in &plugins {
        block_on(idle.call("ping", Value::Null)).expect("pong");
    }
    let per_idle_instance = status_bytes("VmRSS:").saturating_sub(before) / 200;
    let before = status_bytes("VmRSS:");
    let mut in_flight: Vec<_> = (0..200)
        .map(|_| Box::pin(plugin.call("sleep", json!([60_000]))))
        .collect();
    for call in &mut in_flight {
        let waker = futures::task::noop_waker();
        let _ = call.as_mut().poll(&mut Context::from_waker(&waker));
    }
    let per_call = status_bytes("VmRSS:").saturating_sub(before) / 200;
    println!(
        "memory: {:.0} KiB per idle Plugin (each compiles its own copy of the module), {:.0} KiB per idle instance it keeps after a call, {:.0} KiB per in-flight call (a suspended instance)",
        per_plugin as f64 / 1024.0,
        per_idle_instance as f64 / 1024.0,
        per_call as f64 / 1024.0
    );
    drop(in_flight);
    drop(plugins);
}
