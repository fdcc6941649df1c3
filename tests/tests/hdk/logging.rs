//! Plugin stderr reaches the logger, line by line, tagged with the plugin's
//! name; without a logger or a `tracing` subscriber, the process's stderr.

use serde_json::{Value, json};
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};
use wasplug_hdk::Limits;
use wasplug_tests::host::{Logs, test_plugin_builder, wat_plugin};

#[test]
fn stderr_lines_reach_the_logger_with_the_plugin_name() {
    let logs = Logs::default();
    let plugin = test_plugin_builder(Limits::default())
        .name("chatty")
        .logger(logs.logger())
        .build()
        .unwrap();
    let n = futures::executor::block_on(plugin.call("log", json!([4]))).unwrap();
    assert_eq!(n, json!(4));
    let expected: Vec<(String, String)> = (0..4)
        .map(|i| ("chatty".to_owned(), format!("log line {i}")))
        .collect();
    assert_eq!(logs.lines(), expected);
}

#[test]
fn many_lines_are_all_delivered_in_order() {
    let logs = Logs::default();
    let plugin = test_plugin_builder(Limits::default())
        .logger(logs.logger())
        .build()
        .unwrap();
    futures::executor::block_on(plugin.call("log", json!([5000]))).unwrap();
    let lines = logs.lines();
    assert_eq!(lines.len(), 5000);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, (name, line))| name == "test-plugin" && *line == format!("log line {i}"))
    );
}

/// The test that [`plugin_lines_go_to_stderr_without_a_subscriber`] runs in a
/// child process: it logs through the default logger without a `tracing`
/// subscriber, then under one.
#[test]
#[ignore = "run in a child process by plugin_lines_go_to_stderr_without_a_subscriber"]
fn child_logs_through_the_default_logger() {
    let chatty = test_plugin_builder(Limits::default())
        .name("chatty")
        .build()
        .unwrap();
    futures::executor::block_on(chatty.call("log", json!([2]))).unwrap();
    let control = wat_plugin("control_log", Limits::default()).unwrap();
    futures::executor::block_on(control.call("anything", Value::Null)).unwrap();

    let events = EventCount::default();
    let quiet = test_plugin_builder(Limits::default())
        .name("quiet")
        .build()
        .unwrap();
    tracing::subscriber::with_default(events.clone(), || {
        futures::executor::block_on(quiet.call("log", json!([3]))).unwrap();
    });
    assert_eq!(
        events.0.load(Ordering::SeqCst),
        3,
        "the lines went to the subscriber"
    );
}

/// Without a `tracing` subscriber the plugin's stderr lines are not lost:
/// they reach the process's stderr as `[name] line`, control characters
/// escaped; with a subscriber they go to it instead.
#[test]
fn plugin_lines_go_to_stderr_without_a_subscriber() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "logging::child_logs_through_the_default_logger",
            "--ignored",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child failed: {}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "the child test did not run"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        lines,
        [
            "[chatty] log line 0",
            "[chatty] log line 1",
            r"[control_log] evil\x1b[2K\rforged",
        ],
        "{stderr}"
    );
}

/// A `tracing` subscriber that counts the events of plugin log lines.
#[derive(Clone, Default)]
struct EventCount(Arc<AtomicUsize>);

impl tracing::Subscriber for EventCount {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "wasplug::plugin" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
