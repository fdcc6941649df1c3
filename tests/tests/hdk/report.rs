//! Per-call options and the call report: what `Plugin::call_with` measures,
//! and limits that override the plugin's for one call.

use futures::executor::block_on;
use std::time::{Duration, Instant};
use wasplug_hdk::{CallOptions, CallReport, Error, ErrorKind, Limits, Plugin, RawValue};
use wasplug_tests::host::{on_each_executor, test_plugin, test_plugin_builder};

/// Far beyond what any call of these tests takes, even on a slow machine.
const HANG: Duration = Duration::from_secs(20);

/// Params from JSON text; none for `""`.
fn params(json: &str) -> Option<Box<RawValue>> {
    (!json.is_empty()).then(|| RawValue::from_string(json.to_owned()).unwrap())
}

fn call(
    plugin: &Plugin,
    method: &str,
    json: &str,
    options: &CallOptions,
) -> (Result<Box<RawValue>, Error>, CallReport) {
    block_on(plugin.call_with(method, params(json), options))
}

#[test]
fn the_fuel_reported_is_what_the_call_consumed() {
    let plugin = test_plugin();
    let (result, first) = call(&plugin, "prime_sieve", "[2000]", &CallOptions::new());
    result.unwrap();
    let (result, second) = call(&plugin, "prime_sieve", "[2000]", &CallOptions::new());
    result.unwrap();
    assert_eq!(
        first.fuel_used, second.fuel_used,
        "the same call, the same fuel"
    );
    assert!(first.fuel_used > 10_000, "{first:?}");

    // That much fuel is enough, and all of it is used; half is not enough.
    let used = first.fuel_used;
    let exact = CallOptions::new().with_fuel(Some(used));
    let (result, report) = call(&plugin, "prime_sieve", "[2000]", &exact);
    result.unwrap();
    assert_eq!(report.fuel_used, used);
    let half = used / 2;
    let short = CallOptions::new().with_fuel(Some(half));
    let (result, report) = call(&plugin, "prime_sieve", "[2000]", &short);
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit } if *limit == half),
        "{error}"
    );
    assert!(report.fuel_used <= half, "{report:?}");
    assert!(report.fuel_used >= half - 1_000, "{report:?}");
}

#[test]
fn peak_memory_covers_what_the_plugin_grew_to() {
    let plugin = test_plugin();
    let (result, ping) = call(&plugin, "ping", "", &CallOptions::new());
    result.unwrap();
    assert!(ping.peak_memory >= 64 << 10, "at least one page: {ping:?}");

    let size = 1 << 20;
    // A correctness test, not a timed one: a MiB through a debug build of
    // the interpreter may take longer than the default timeout.
    let patient = CallOptions::new().with_timeout(Some(Duration::from_secs(600)));
    let (result, big) = call(&plugin, "big", &format!("[{size}]"), &patient);
    assert_eq!(result.unwrap().get().len(), size + 2);
    // The string, then its JSON text: both live at once.
    assert!(
        big.peak_memory >= ping.peak_memory + 2 * size as u64,
        "{big:?}"
    );
    assert!(big.peak_memory <= Limits::DEFAULT_MEMORY, "{big:?}");
}

#[test]
fn a_memory_override_is_exact() {
    let plugin = test_plugin();
    let (result, ping) = call(&plugin, "ping", "", &CallOptions::new());
    result.unwrap();
    let enough = CallOptions::new().with_memory(Some(ping.peak_memory));
    let (result, report) = call(&plugin, "ping", "", &enough);
    result.unwrap();
    assert_eq!(report.peak_memory, ping.peak_memory);

    let limit = ping.peak_memory - 1;
    let short = CallOptions::new().with_memory(Some(limit));
    let (result, report) = call(&plugin, "ping", "", &short);
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MemoryLimit { limit: l } if *l == limit),
        "{error}"
    );
    assert!(report.peak_memory <= limit, "{report:?}");
}

#[test]
fn host_calls_and_notifications_are_counted() {
    on_each_executor(|| async {
        let plugin = test_plugin_builder(Limits::default().with_host_calls(16))
            .build()
            .unwrap();
        let none = CallOptions::new();
        let (result, report) = plugin.call_with("many_echo", params("[25]"), &none).await;
        assert_eq!(result.unwrap().get(), "25");
        assert_eq!((report.host_calls, report.notifications), (25, 0));

        let (result, report) = plugin
            .call_with("concurrent_echo", params("[12]"), &none)
            .await;
        assert_eq!(result.unwrap().get(), "12");
        assert_eq!((report.host_calls, report.notifications), (12, 0));

        // No handler for `progress`: received all the same.
        let (result, report) = plugin.call_with("notify", params("[7]"), &none).await;
        assert_eq!(result.unwrap().get(), "7");
        assert_eq!((report.host_calls, report.notifications), (0, 7));

        let (result, report) = plugin.call_with("ping", None, &none).await;
        assert_eq!(result.unwrap().get(), "\"pong\"");
        assert_eq!((report.host_calls, report.notifications), (0, 0));
    });
}

#[test]
fn a_fuel_override_ends_a_call_the_plugin_limits_allow() {
    let plugin = test_plugin();
    let options = CallOptions::new().with_fuel(Some(20_000));
    let (result, _) = call(&plugin, "prime_sieve", "[100000]", &options);
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: 20_000 }),
        "{error}"
    );
    // And the other way: no budget for this call, a tiny one for the plugin.
    let tight = test_plugin_builder(Limits::default().with_fuel(Some(20_000)))
        .build()
        .unwrap();
    let error = block_on(tight.call("prime_sieve", serde_json::json!([100000]))).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { limit: 20_000 }),
        "{error}"
    );
    let (result, report) = call(
        &tight,
        "prime_sieve",
        "[100000]",
        &CallOptions::new().with_fuel(None),
    );
    result.unwrap();
    assert!(report.fuel_used > 20_000, "{report:?}");
}

#[test]
fn a_timeout_override_ends_a_call_the_plugin_limits_allow() {
    let plugin = test_plugin();
    let limit = Duration::from_millis(200);
    let options = CallOptions::new().with_timeout(Some(limit));
    let (result, report) = call(&plugin, "sleep", "[60000]", &options);
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit: l } if *l == limit),
        "{error}"
    );
    assert!(report.wall_time >= limit, "{report:?}");
    assert!(report.wall_time < HANG, "{report:?}");
}

#[test]
fn a_deadline_ends_the_call_and_a_passed_one_runs_nothing() {
    let plugin = test_plugin();
    let at = Instant::now() + Duration::from_millis(200);
    let options = CallOptions::new().with_deadline(at);
    let (result, report) = call(&plugin, "sleep", "[60000]", &options);
    let error = result.unwrap_err();
    let ErrorKind::Timeout { limit } = error.kind() else {
        panic!("{error}");
    };
    assert!(*limit <= Duration::from_millis(200), "{limit:?}");
    assert!(Instant::now() >= at);
    assert!(report.wall_time < HANG, "{report:?}");

    // The earlier of the timeout and the deadline wins.
    let later = CallOptions::new()
        .with_timeout(Some(Duration::from_millis(100)))
        .with_deadline(Instant::now() + HANG);
    let (result, _) = call(&plugin, "sleep", "[60000]", &later);
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit } if *limit == Duration::from_millis(100)),
        "{error}"
    );

    let passed = CallOptions::new().with_deadline(Instant::now());
    let (result, report) = call(&plugin, "ping", "", &passed);
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { limit } if limit.is_zero()),
        "{error}"
    );
    assert_eq!((report.fuel_used, report.peak_memory), (0, 0), "{report:?}");
}

#[test]
fn a_failed_call_has_a_report_too() {
    let plugin = test_plugin();
    let (result, report) = call(&plugin, "fail", "", &CallOptions::new());
    let error = result.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Plugin { code: -32000, .. }),
        "{error}"
    );
    assert_eq!(
        (error.plugin(), error.method()),
        (Some("test-plugin"), Some("fail"))
    );
    assert!(report.fuel_used > 0 && report.peak_memory > 0, "{report:?}");
    assert!(report.wall_time > Duration::ZERO, "{report:?}");

    let (result, report) = call(&plugin, "panic", "", &CallOptions::new());
    assert!(matches!(result.unwrap_err().kind(), ErrorKind::Trap { .. }));
    assert!(report.fuel_used > 0, "{report:?}");
}

#[test]
fn the_report_serializes_to_one_flat_object() {
    let plugin = test_plugin();
    let (result, report) = call(&plugin, "many_echo", "[3]", &CallOptions::new());
    result.unwrap();
    let json = serde_json::to_value(report).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "fuel_used",
            "host_calls",
            "notifications",
            "peak_memory",
            "wall_time_us"
        ]
    );
    assert_eq!(json["host_calls"], 3);
    assert_eq!(json["fuel_used"], report.fuel_used);
    assert_eq!(
        json["wall_time_us"],
        u64::try_from(report.wall_time.as_micros()).unwrap()
    );
}
