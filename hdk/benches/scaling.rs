//! Scaling across cores: one `Plugin`, shared by 1 and 2 threads, each
//! calling it in a loop. Criterion's throughput line is the calls per second
//! of all threads together; with nothing on the call path serializing the
//! calls, 2 threads on 2 idle cores make about twice the calls of one.
//!
//! `cargo bench -p wasplug-hdk --bench scaling` (append `-- --quick` for a
//! fast pass). Native only: its dev-dependencies are.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use serde_json::{Value, json};
use std::{
    sync::Barrier,
    time::{Duration, Instant},
};
use wasplug_hdk::{Engine, Grants, HostContext, HostMethods, Limits, Plugin};

/// The thread counts measured: this project's CI machines have 2 cores.
const THREADS: [u64; 2] = [1, 2];

fn test_plugin() -> Plugin {
    let bytes =
        std::fs::read(wasplug_tests::guests::TEST_PLUGIN).expect("the test plugin is built");
    let host = HostMethods::new(())
        .method("echo", |_: HostContext<()>, params: Value| async move {
            Ok(params)
        });
    Plugin::builder(bytes)
        .engine(&Engine::new())
        .limits(Limits::default().with_host_calls(128))
        .host_methods(host)
        .grants(Grants::methods(["echo"]))
        .build()
        .expect("the test plugin loads")
}

/// Runs `calls` calls of `method` on each of `threads` threads at once, all
/// through the one `plugin`; the time from the common start to the last end.
fn run(plugin: &Plugin, threads: u64, calls: u64, method: &str, params: &Value) -> Duration {
    let start = Barrier::new(usize::try_from(threads).unwrap_or(1) + 1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                start.wait();
                for _ in 0..calls {
                    block_on(plugin.call(method, params.clone())).expect("the call succeeds");
                }
            });
        }
        start.wait();
        let started = Instant::now();
        // The scope joins every thread before it returns.
        started
    })
    .elapsed()
}

fn scaling(c: &mut Criterion) {
    let plugin = test_plugin();
    let cases = [
        ("ping", "ping", Value::Null),
        ("many_echo_20", "many_echo", json!([20])),
    ];
    for (name, method, params) in &cases {
        let mut group = c.benchmark_group(format!("scaling_{name}"));
        for threads in THREADS {
            // One element per call: the throughput line reads in calls/s.
            group.throughput(Throughput::Elements(threads));
            group.bench_function(format!("{threads}_threads"), |b| {
                b.iter_custom(|iters| run(&plugin, threads, iters, method, params));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, scaling);
criterion_main!(benches);
