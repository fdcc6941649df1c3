//! Peak host memory stays bounded while hostile plugins flood and bomb.
//!
//! Alone in its test binary, so the process's peak resident set (`VmHWM` in
//! `/proc/self/status`) is this test's: it runs the `hostile` guest's floods
//! and bombs under the default limits (but 64 MiB of linear memory, 8 MiB of
//! unread input and a short timeout, so a debug build is quick), first one
//! after the other, then all at once on one thread, and checks the peak
//! stays far below what the floods would take if the host buffered them.
#![cfg(target_os = "linux")]

use futures::future::join_all;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wasplug_hdk::{Error, ErrorKind, Grants, Limits, Plugin};
use wasplug_tests::{guests, host::echo_methods};

/// The linear-memory cap of every call.
const MEMORY: u64 = 64 << 20;
/// The bound on the peak resident set of the whole test process.
const PEAK_BOUND_KIB: u64 = 400 << 10;

/// A `kB` field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// The hostile guest under the default limits but 64 MiB of linear memory,
/// 8 MiB of unread input and `timeout`.
fn hostile(timeout: Duration) -> Plugin {
    let limits = Limits::default()
        .with_memory(Some(MEMORY))
        .with_max_input(8 << 20)
        .with_timeout(Some(timeout))
        .with_host_calls(1 << 20);
    Plugin::from_file(guests::HOSTILE)
        .limits(limits)
        .host_methods(echo_methods())
        .grants(Grants::methods(["echo"]))
        .logger(|_: &str, _: &str| {})
        .build()
        .unwrap()
}

/// The misbehaviours, each with its plugin: a short timeout for those only
/// time can end, a long one for those that break a limit of their own.
fn cases() -> Vec<(&'static str, Value, Plugin)> {
    let (short, long) = (Duration::from_secs(2), Duration::from_secs(60));
    vec![
        ("memory_bomb", Value::Null, hostile(long)),
        ("stdout_flood", Value::Null, hostile(long)),
        ("stderr_flood", json!([100]), hostile(short)),
        ("stderr_flood", json!([0]), hostile(short)),
        ("stderr_flood", json!([1]), hostile(short)),
        ("host_call_flood", Value::Null, hostile(long)),
        ("deep_json", Value::Null, hostile(long)),
        ("spin", Value::Null, hostile(short)),
    ]
}

/// Checks `method` failed the way it should.
fn check(method: &str, outcome: Result<Value, Error>) {
    let error = outcome.expect_err(method);
    let expected = match method {
        "memory_bomb" => matches!(error.kind(), ErrorKind::MemoryLimit { .. }),
        "stdout_flood" => matches!(error.kind(), ErrorKind::LineTooLong { .. }),
        "host_call_flood" => matches!(
            error.kind(),
            ErrorKind::InputLimit { .. } | ErrorKind::TooManyHostCalls { .. }
        ),
        "deep_json" => matches!(error.kind(), ErrorKind::Protocol { .. }),
        _ => matches!(error.kind(), ErrorKind::Timeout { .. }),
    };
    assert!(expected, "{method}: {error:?}");
}

#[test]
fn floods_and_bombs_keep_host_memory_bounded() {
    let before = status_kib("VmRSS:");
    let started = Instant::now();

    for (method, params, plugin) in cases() {
        check(
            method,
            futures::executor::block_on(plugin.call(method, params)),
        );
    }
    let sequential = status_kib("VmHWM:");

    let calls = cases()
        .into_iter()
        .map(|(method, params, plugin)| async move { (method, plugin.call(method, params).await) })
        .collect::<Vec<_>>();
    for (method, outcome) in futures::executor::block_on(join_all(calls)) {
        check(method, outcome);
    }
    let concurrent = status_kib("VmHWM:");

    #[allow(clippy::print_stderr, reason = "the numbers are the point")]
    {
        eprintln!(
            "peak RSS: {before} KiB before, {sequential} KiB after the cases one by one, \
             {concurrent} KiB after all at once ({:?})",
            started.elapsed()
        );
    }
    assert!(
        concurrent < PEAK_BOUND_KIB,
        "peak RSS {concurrent} KiB (bound {PEAK_BOUND_KIB} KiB)"
    );
}
