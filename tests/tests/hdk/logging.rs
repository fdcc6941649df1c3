//! Plugin stderr reaches the logger, line by line, tagged with the plugin's name.

use serde_json::json;
use wasplug_hdk::Limits;
use wasplug_tests::host::{Logs, test_plugin_builder};

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
