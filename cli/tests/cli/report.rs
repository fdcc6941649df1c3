//! `wasplug call --report`: what the call used, as one line of JSON on stderr.

use super::support::{test_plugin, wasplug};
use serde_json::Value;

/// The report line of a `wasplug call --report` run's stderr.
fn report_line(stderr: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|line| line.starts_with("{\"wall_time_us\":"))
        .unwrap_or_else(|| panic!("no report line in stderr: {text}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn the_report_is_one_json_line_on_stderr_and_stdout_is_unchanged() {
    let output = wasplug()
        .args(["call", "--report"])
        .arg(test_plugin())
        .args(["many_echo", "4"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, b"4\n");
    let report = report_line(&output.stderr);
    let fields: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields.len(), 5, "{report}");
    assert_eq!(report["host_calls"], 4);
    assert_eq!(report["notifications"], 0);
    assert!(report["fuel_used"].as_u64().unwrap() > 0, "{report}");
    assert!(
        report["peak_memory"].as_u64().unwrap() >= 64 << 10,
        "{report}"
    );
    assert!(report["wall_time_us"].as_u64().is_some(), "{report}");
}

#[test]
fn a_failed_call_is_reported_too() {
    let output = wasplug()
        .args(["call", "--report", "--fuel", "20000"])
        .arg(test_plugin())
        .args(["prime_sieve", "1000000"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let fuel = report_line(&output.stderr)["fuel_used"].as_u64().unwrap();
    assert!((1..=20_000).contains(&fuel), "{fuel}");
}

#[test]
fn without_the_flag_there_is_no_report() {
    let output = wasplug()
        .arg("call")
        .arg(test_plugin())
        .arg("ping")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("wall_time_us"));
}
