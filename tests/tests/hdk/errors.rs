//! Every `Error` variant, produced by a real guest (or bad input), and the
//! plugin still serving a normal call afterwards where it loaded.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wasplug_hdk::{ErrorKind, Limits, Plugin};
use wasplug_tests::host::{test_plugin_builder, wat_plugin};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// Calls `ping` on the test plugin built with `limits`, to show a plugin that
/// just failed a call still serves the next one.
fn still_serves(plugin: &Plugin) {
    assert_eq!(block_on(plugin.call("ping", Value::Null)).unwrap(), "pong");
}

#[test]
fn random_bytes_are_an_invalid_module() {
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let error = Plugin::builder(bytes).build().unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InvalidModule { .. }),
        "{error:?}"
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let error = Plugin::from_file("/no/such/plugin.wasm")
        .build()
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Io { .. }), "{error:?}");
}

#[test]
fn imports_outside_wasi_are_refused_by_name() {
    let error = wat_plugin("env_import", Limits::default()).unwrap_err();
    let ErrorKind::RefusedImports { imports } = error.kind() else {
        panic!("expected refused imports, got {error:?}");
    };
    assert_eq!(imports, &["env::foo".to_owned(), "env::bar".to_owned()]);
}

#[test]
fn missing_start_and_memory_are_refused() {
    let error = wat_plugin("no_start", Limits::default()).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::MissingExport { name: "_start", .. }
        ),
        "{error:?}"
    );
    let error = wat_plugin("no_memory", Limits::default()).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::MissingExport { name: "memory", .. }
        ),
        "{error:?}"
    );
}

#[test]
fn another_protocol_version_is_refused_saying_which() {
    let error = wat_plugin("protocol_v2", Limits::default()).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::IncompatibleProtocol { plugin: 2, host: 1 }
        ),
        "{error:?}"
    );
    let error = wat_plugin("protocol_bad", Limits::default()).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::BadVersionSection { .. }),
        "{error:?}"
    );
}

#[test]
fn scalar_params_are_refused_before_running() {
    let plugin = test_plugin_builder(Limits::default()).build().unwrap();
    let error = block_on(plugin.call("echo", json!(5))).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InvalidParams { found: "a number" }),
        "{error:?}"
    );
}

#[test]
fn a_result_of_the_wrong_type_is_a_json_error() {
    let plugin = test_plugin_builder(Limits::default()).build().unwrap();
    let error = block_on(plugin.call_typed::<_, u64>("ping", &())).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Json { .. }), "{error:?}");
}

#[test]
fn exiting_without_answer_keeps_status_and_stderr() {
    let plugin = wat_plugin("exit3", Limits::default()).unwrap();
    let error = block_on(plugin.call("anything", Value::Null)).unwrap_err();
    let ErrorKind::ExitWithoutAnswer { status } = error.kind() else {
        panic!("expected an exit, got {error:?}");
    };
    assert_eq!(*status, 3);
    assert_eq!(error.stderr(), ["giving up".to_owned()]);
}

#[test]
fn errors_of_a_call_name_the_plugin_and_the_method_and_quote_stderr() {
    let plugin = wat_plugin("exit3", Limits::default()).unwrap();
    let error = block_on(plugin.call("anything", Value::Null)).unwrap_err();
    assert_eq!(
        (error.plugin(), error.method()),
        (Some("exit3"), Some("anything"))
    );
    assert_eq!(
        error.to_string(),
        "plugin `exit3`, method `anything`: the plugin exited with status 3 without \
         answering (stderr: giving up)"
    );
    // Errors before the plugin runs name them too.
    let error = block_on(plugin.call("anything", json!("scalar"))).unwrap_err();
    assert_eq!(
        (error.plugin(), error.method()),
        (Some("exit3"), Some("anything"))
    );
    assert!(error.stderr().is_empty(), "{error:?}");
}

#[test]
fn waiting_for_input_that_cannot_come_is_a_deadlock() {
    let plugin = wat_plugin("deadlock", Limits::default()).unwrap();
    let started = Instant::now();
    let error = block_on(plugin.call("anything", Value::Null)).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Deadlock), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_line_that_is_not_json_is_a_protocol_violation() {
    let plugin = wat_plugin("not_json", Limits::default()).unwrap();
    let error = block_on(plugin.call("anything", Value::Null)).unwrap_err();
    let ErrorKind::Protocol { source } = error.kind() else {
        panic!("expected a protocol violation, got {error:?}");
    };
    assert!(
        matches!(source, wasplug_protocol::ProtocolError::NotJson { .. }),
        "{source:?}"
    );
}

#[test]
fn a_raised_signal_ends_the_call() {
    let plugin = wat_plugin("raise", Limits::default()).unwrap();
    let error = block_on(plugin.call("anything", Value::Null)).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Signal { signal: 6, .. }),
        "{error:?}"
    );
}

#[test]
fn fuel_budget() {
    let plugin = test_plugin_builder(Limits::default().with_fuel(Some(2_000_000)))
        .build()
        .unwrap();
    let error = block_on(plugin.call("prime_sieve", json!([1_000_000]))).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: 2_000_000 }),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn timeout_while_asleep() {
    let limit = Duration::from_millis(200);
    let plugin = test_plugin_builder(Limits::default().with_timeout(Some(limit)))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = block_on(plugin.call("sleep", json!([60_000]))).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit: l } if *l == limit),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("the call timed out after 0.2 s"),
        "{error}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= limit && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    still_serves(&plugin);
}

#[test]
fn memory_limit() {
    let plugin = test_plugin_builder(Limits::default().with_memory(Some(4 << 20)))
        .build()
        .unwrap();
    let error = block_on(plugin.call("big", json!([8 << 20]))).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::MemoryLimit {
                limit: 4_194_304,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("the plugin hit the memory limit of 4 MiB"),
        "{error}"
    );
    still_serves(&plugin);
}

#[test]
fn line_too_long() {
    let plugin = test_plugin_builder(Limits::default().with_max_line(1000))
        .build()
        .unwrap();
    let error = block_on(plugin.call("big", json!([5000]))).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::LineTooLong { limit: 1000 }),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn too_many_host_calls_in_flight() {
    let plugin = test_plugin_builder(Limits::default().with_host_calls(10))
        .build()
        .unwrap();
    let error = block_on(plugin.call("concurrent_echo", json!([50]))).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::TooManyHostCalls { limit: 10 }),
        "{error:?}"
    );
    still_serves(&plugin);
}

#[test]
fn answers_never_read_hit_the_input_limit() {
    let plugin = wat_plugin(
        "unread_requests",
        Limits::default().with_max_input(64 << 10),
    )
    .unwrap();
    let started = Instant::now();
    let error = block_on(plugin.call("anything", Value::Null)).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InputLimit { limit: 65_536 }),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
