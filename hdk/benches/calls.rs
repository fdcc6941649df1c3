//! What a call costs, from plugin load to host round trips, against the two
//! floors: the same sieve run directly in wasmi (fuel on), and natively.
//!
//! `cargo bench -p wasplug-hdk` for the full run; append `-- --quick` for a
//! fast pass (CI runs that so the benches never rot). Native only: its
//! dev-dependencies are.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use serde_json::{Value, json};
use std::hint::black_box;
use wasplug_hdk::{Engine, Grants, HostContext, HostMethods, Limits, Plugin};

#[path = "../../test-plugin/src/sieve.rs"]
mod sieve;

const SIEVE_LIMIT: u32 = 100_000;

fn plugin_bytes() -> Vec<u8> {
    std::fs::read(wasplug_tests::guests::TEST_PLUGIN).expect("the test plugin is built")
}

fn test_plugin(engine: &Engine, bytes: &[u8]) -> Plugin {
    let host = HostMethods::new(())
        .method("echo", |_: HostContext<()>, params: Value| async move {
            Ok(params)
        });
    Plugin::builder(bytes)
        .engine(engine)
        .limits(Limits::default().with_host_calls(128))
        .host_methods(host)
        .grants(Grants::methods(["echo"]))
        .build()
        .expect("the test plugin loads")
}

fn calls(c: &mut Criterion) {
    let engine = Engine::new();
    let bytes = plugin_bytes();
    let plugin = test_plugin(&engine, &bytes);

    c.bench_function("plugin_load", |b| {
        b.iter(|| test_plugin(&engine, black_box(&bytes)));
    });
    c.bench_function("ping", |b| {
        b.iter(|| block_on(plugin.call("ping", Value::Null)).expect("pong"));
    });
    c.bench_function("prime_sieve_small", |b| {
        b.iter(|| block_on(plugin.call("prime_sieve", json!([1]))).expect("primes"));
    });
    c.bench_function("prime_sieve_large", |b| {
        b.iter(|| block_on(plugin.call("prime_sieve", json!([SIEVE_LIMIT]))).expect("primes"));
    });
    c.bench_function("many_echo", |b| {
        b.iter(|| block_on(plugin.call("many_echo", json!([200]))).expect("200 round trips"));
    });
    c.bench_function("concurrent_echo", |b| {
        b.iter(|| block_on(plugin.call("concurrent_echo", json!([100]))).expect("100 round trips"));
    });
}

/// Warm starts, with the heavy-init plugin (`tests/guests/rust/warm-table`,
/// whose start-up builds a table in ~20 ms): a call starting from the image
/// its init left, the same call without a warm start (the start-up redone),
/// and the same warm call with 1, 4 and 16 MiB more of image to restore.
fn warm_starts(c: &mut Criterion) {
    let engine = Engine::new();
    let bytes = std::fs::read(wasplug_tests::guests::WARM_TABLE).expect("warm-table is built");
    let build = |warm: bool, fill_mib: u32| {
        Plugin::builder(&bytes)
            .engine(&engine)
            .warm_start(warm)
            .env([("WARM_FILL_MIB", fill_mib.to_string())])
            .logger(|_, _| {})
            .build()
            .expect("warm-table loads")
    };
    let ping = |plugin: &Plugin| block_on(plugin.call("ping", Value::Null)).expect("pong");
    let warm = build(true, 0);
    c.bench_function("warm_start_ping", |b| b.iter(|| ping(&warm)));
    let cold = build(false, 0);
    c.bench_function("warm_start_cold_ping", |b| b.iter(|| ping(&cold)));
    c.bench_function("warm_start_load", |b| b.iter(|| build(true, 0)));
    for mib in [1, 4, 16] {
        let plugin = build(true, mib);
        c.bench_function(&format!("warm_start_ping_{mib}mib"), |b| {
            b.iter(|| ping(&plugin))
        });
    }
}

/// The interpreter alone: a fresh instance of the same module, as a call
/// has, then the sieve export called directly, fuel metering on; and the
/// plugin's own call run in wasmi without the host kit.
fn floors(c: &mut Criterion) {
    let engine = Engine::new();
    let bytes = plugin_bytes();
    let module = wasmi::Module::new(engine.wasmi(), &bytes).expect("the test plugin compiles");
    let mut linker = wasmi::Linker::<wasplug_wasi::WasiCtx>::new(engine.wasmi());
    wasplug_wasi::add_to_linker(&mut linker, |ctx| ctx).expect("WASI links");
    let instantiate = || {
        let mut store = wasmi::Store::new(engine.wasmi(), wasplug_wasi::WasiCtx::builder().build());
        store.set_fuel(u64::MAX).expect("fuel is on");
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .expect("instantiates");
        (store, instance)
    };

    c.bench_function("instantiate_only", |b| b.iter(instantiate));
    c.bench_function("raw_wasmi_sieve", |b| {
        b.iter_batched(
            || (),
            |()| {
                let (mut store, instance) = instantiate();
                let count = instance
                    .get_typed_func::<u32, u32>(&store, "count_primes")
                    .expect("the sieve export")
                    .call(&mut store, black_box(SIEVE_LIMIT))
                    .expect("the sieve runs");
                assert_eq!(count, 9592);
            },
            BatchSize::SmallInput,
        );
    });
    // The plugin's own `prime_sieve` call run straight in wasmi, without the
    // host kit: the request waits in stdin, `_start` runs to the end of input.
    let request = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prime_sieve\",\"params\":[{SIEVE_LIMIT}]}}\n"
    );
    c.bench_function("raw_wasmi_plugin_call", |b| {
        b.iter(|| {
            let ctx = wasplug_wasi::WasiCtx::builder()
                .stdin_closed(request.as_bytes())
                .build();
            let mut store = wasmi::Store::new(engine.wasmi(), ctx);
            store.set_fuel(u64::MAX).expect("fuel is on");
            let instance = linker
                .instantiate_and_start(&mut store, &module)
                .expect("instantiates");
            let start = instance
                .get_typed_func::<(), ()>(&store, "_start")
                .expect("_start");
            // `_start` ends with proc_exit(0) at the end of input: an i32 exit "error".
            let exit = start
                .call(&mut store, ())
                .err()
                .and_then(|e| e.i32_exit_status());
            assert!(exit.is_none_or(|status| status == 0));
            assert!(
                store
                    .data()
                    .stdout()
                    .contents()
                    .ends_with(b"\"count\":9592,\"limit\":100000}}\n")
            );
        });
    });
    c.bench_function("native_sieve", |b| {
        b.iter(|| assert_eq!(sieve::count_primes(black_box(SIEVE_LIMIT as usize)), 9592));
    });
}

criterion_group!(benches, calls, floors, warm_starts);
criterion_main!(benches);
