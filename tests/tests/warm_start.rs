//! Warm starts: a plugin's init (`wasplug_init`) runs once when it loads,
//! and every call starts from the memory it left: the same answers as
//! without it, no state carried from one call to the next, a hostile init
//! refused at load, and a call of a heavy-init plugin as cheap as a plain
//! plugin's.

use futures::executor::block_on;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wasplug_hdk::{CallOptions, ErrorKind, InitFailure, Limits, Plugin, PluginBuilder, RawValue};
use wasplug_tests::{
    guests::{C_WARM, WARM_TABLE, ZIG_WARM},
    host::{Logs, test_plugin},
    optional_guest,
};
use wasplug_wasi::End;

/// Far beyond what any load of these tests takes, even on a slow machine.
const HANG: Duration = Duration::from_secs(60);

/// The heavy-init plugin, its init lightened for debug builds (2 rounds
/// per entry), with more variables.
fn warm_table_with(warm: bool, env: &[(&str, &str)]) -> PluginBuilder {
    let env = [("WARM_ROUNDS", "2")]
        .into_iter()
        .chain(env.iter().copied());
    Plugin::from_file(WARM_TABLE)
        .warm_start(warm)
        .env(env)
        .logger(|_, _| {})
}

fn warm_table(warm: bool) -> PluginBuilder {
    warm_table_with(warm, &[])
}

fn call(plugin: &Plugin, method: &str, params: Value) -> Value {
    block_on(plugin.call(method, params)).unwrap()
}

/// Fuel of one call.
fn fuel(plugin: &Plugin, method: &str, params: &str) -> u64 {
    let params = (!params.is_empty()).then(|| RawValue::from_string(params.into()).unwrap());
    let (result, report) = block_on(plugin.call_with(method, params, &CallOptions::new()));
    result.unwrap();
    report.fuel_used
}

#[test]
fn answers_are_the_same_with_and_without_a_warm_start() {
    let warm = warm_table(true).build().unwrap();
    let cold = warm_table(false).build().unwrap();
    let report = warm.init_report().expect("the init ran");
    assert!(report.fuel_used > 1_000_000, "{report:?}");
    assert!(report.image_bytes >= 64 << 10, "the table: {report:?}");
    assert!(cold.init_report().is_none());
    for (method, params) in [
        ("ping", Value::Null),
        ("checksum", Value::Null),
        ("lookup", json!([0])),
        ("lookup", json!([12_345])),
        ("lookup", json!([1 << 20])),
        ("fill_len", Value::Null),
    ] {
        assert_eq!(
            call(&warm, method, params.clone()),
            call(&cold, method, params),
            "{method}"
        );
    }
}

/// Neither with a warm start nor without, and whether a call's instance is
/// new or a recycled one reset to a fresh one's state.
#[test]
fn no_call_sees_another_calls_writes() {
    for (warm, idle) in [(true, 4), (false, 4), (true, 0), (false, 1)] {
        let plugin = warm_table(warm).idle_instances(idle).build().unwrap();
        // What `bump` saw before it changed a static and the heap.
        let first = call(&plugin, "bump", Value::Null);
        assert_eq!(first[0], 0);
        assert_eq!(first[1], 0);
        for _ in 0..5 {
            assert_eq!(call(&plugin, "bump", Value::Null), first);
        }
        // Calls in flight together, too (more than the idle instances kept).
        let calls: Vec<_> = (0..2 * wasplug_wasi::IDLE_MAX)
            .map(|_| plugin.call("bump", Value::Null))
            .collect();
        for answer in block_on(futures::future::join_all(calls)) {
            assert_eq!(answer.unwrap(), first);
        }
        assert_eq!(call(&plugin, "bump", Value::Null), first);
    }
}

#[test]
fn a_plugin_without_an_init_is_unchanged() {
    let plugin = test_plugin();
    assert!(plugin.init_report().is_none());
    assert_eq!(call(&plugin, "ping", Value::Null), "pong");
}

#[test]
fn the_init_sees_the_plugins_environment_and_logs_its_stderr() {
    let lines = Logs::default();
    let plugin = warm_table_with(true, &[("WARM_FILL_MIB", "2")])
        .logger(lines.logger())
        .build()
        .unwrap();
    let report = plugin.init_report().unwrap();
    assert!(report.image_bytes >= 2 << 20, "{report:?}");
    assert!(report.memory_bytes >= 2 << 20, "{report:?}");
    assert_eq!(
        lines.lines(),
        [(
            "warm-table".to_owned(),
            "warm-table: table built".to_owned()
        )]
    );
    // Byte 12_345 is byte 1 of word 1_543 (tests/guests/rust/warm-table).
    let byte = 1_543u64.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes()[1];
    assert_eq!(
        call(&plugin, "fill_len", Value::Null),
        json!([2 << 20, byte])
    );
}

/// A warm call costs the fuel of a plain plugin's: the init is not redone.
/// A C or Zig guest whose init builds a table (tests/guests/{c,zig}/warm.*):
/// every call answers [table[999], calls, warm], with warm 1 when the init
/// built the table before `main` ran; the init runs once per load.
fn init_of_another_language(wasm: &str, init_line: Option<&str>) {
    for warm in [true, false] {
        let logs = Logs::default();
        let plugin = Plugin::from_file(wasm)
            .warm_start(warm)
            .logger(logs.logger())
            .build()
            .unwrap();
        assert_eq!(plugin.init_report().is_some(), warm, "warm start {warm}");
        for _ in 0..3 {
            assert_eq!(
                call(&plugin, "get", json!(null)),
                json!([998_001, 1, u8::from(warm)]),
                "warm start {warm}"
            );
        }
        if let Some(init_line) = init_line {
            let inits = logs
                .lines()
                .iter()
                .filter(|(_, line)| line.contains(init_line))
                .count();
            assert_eq!(inits, usize::from(warm), "warm start {warm}");
        }
    }
}

#[test]
fn a_c_init_runs_once_and_main_finds_what_it_built() {
    if let Some(wasm) = optional_guest(C_WARM, "c/warm") {
        init_of_another_language(wasm, Some("init: building the table"));
    }
}

#[test]
fn a_zig_init_runs_once_and_main_finds_what_it_built() {
    if let Some(wasm) = optional_guest(ZIG_WARM, "zig/warm") {
        init_of_another_language(wasm, None);
    }
}

#[test]
fn a_warm_call_costs_about_a_plain_ping() {
    let warm = warm_table(true).build().unwrap();
    let cold = warm_table(false).build().unwrap();
    let plain = fuel(&test_plugin(), "ping", "");
    let warm_ping = fuel(&warm, "ping", "");
    let cold_ping = fuel(&cold, "ping", "");
    // Deterministic: the same call, the same fuel.
    assert_eq!(fuel(&warm, "ping", ""), warm_ping);
    assert!(
        warm_ping * 2 <= plain * 3,
        "warm ping {warm_ping}, plain ping {plain}"
    );
    // Without a warm start, every call does the init's work at start.
    let init = warm.init_report().unwrap().fuel_used;
    assert!(cold_ping > init, "cold {cold_ping}, init {init}");
    assert!(
        cold_ping > 5 * warm_ping,
        "cold {cold_ping}, warm {warm_ping}"
    );
}

#[test]
fn a_call_with_less_memory_than_the_image_fails_with_the_limit() {
    let plugin = warm_table_with(true, &[("WARM_FILL_MIB", "4")])
        .build()
        .unwrap();
    let options = CallOptions::new().with_memory(Some(2 << 20));
    let (result, _) = block_on(plugin.call_with("ping", None, &options));
    assert!(matches!(
        result.unwrap_err().kind(),
        ErrorKind::MemoryLimit { .. }
    ),);
}

fn init_failure(wat_body: &str, limits: Limits) -> (InitFailure, wasplug_hdk::Error) {
    // Logs "boom" (an iovec at 64 pointing at it), then does `wat_body`.
    let wat = format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 64) "\48\00\00\00\05\00\00\00boom\n")
          (func $log (drop (call $fd_write (i32.const 2) (i32.const 64) (i32.const 1) (i32.const 96))))
          (func (export "_start"))
          (func (export "wasplug_init") (call $log) {wat_body}))"#
    );
    let started = Instant::now();
    let error = Plugin::builder(wat)
        .name("hostile-init")
        .limits(limits)
        .logger(|_, _| {})
        .build()
        .unwrap_err();
    assert!(started.elapsed() < HANG);
    let ErrorKind::InitFailed { failure } = error.kind() else {
        panic!("not an init failure: {error}");
    };
    (failure.clone(), error)
}

#[test]
fn a_hostile_init_fails_the_load_with_a_clear_error() {
    let limits = Limits::default()
        .with_fuel(Some(5_000_000))
        .with_memory(Some(4 << 20));
    let (failure, error) = init_failure("(loop (br 0))", limits.clone());
    assert_eq!(
        failure,
        InitFailure::Ended(End::OutOfFuel { limit: 5_000_000 })
    );
    assert_eq!(error.plugin(), Some("hostile-init"));
    assert_eq!(error.stderr(), ["boom"]);
    let text = error.to_string();
    assert!(
        text.starts_with("plugin `hostile-init`: the plugin's init"),
        "{text}"
    );
    assert!(text.contains("boom"), "{text}");

    let grow = "(loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable";
    let (failure, _) = init_failure(grow, limits.clone());
    assert_eq!(
        failure,
        InitFailure::Ended(End::MemoryLimit { limit: 4 << 20 })
    );

    let (failure, _) = init_failure("unreachable", limits.clone());
    assert!(
        matches!(failure, InitFailure::Ended(End::Trap { .. })),
        "{failure:?}"
    );

    // No fuel budget: the timeout stops it.
    let timeout = Limits::default()
        .with_fuel(None)
        .with_timeout(Some(Duration::from_millis(200)));
    let (failure, _) = init_failure("(loop (br 0))", timeout);
    assert_eq!(failure, InitFailure::Timeout);
}

#[test]
fn a_panicking_rust_init_names_its_panic() {
    // 1 GiB is beyond the memory limit: the allocation fails, the init aborts.
    let error = warm_table_with(true, &[("WARM_FILL_MIB", "1024")])
        .logger(|_, _| {})
        .build()
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InitFailed { .. }),
        "{error}"
    );
    let summary = error.stderr_summary().unwrap_or_default();
    assert!(summary.contains("memory allocation"), "{error:?}");
}
