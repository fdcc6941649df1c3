//! `wasplug methods`.

use super::support::{test_plugin, wasplug};
use predicates::prelude::*;

#[test]
fn lists_name_version_protocol_and_one_method_per_line() {
    wasplug()
        .arg("methods")
        .arg(test_plugin())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("name:     test-plugin\n")
                .and(predicate::str::contains("protocol: 1\n"))
                .and(predicate::str::contains("\n  ping\n"))
                .and(predicate::str::contains("\n  prime_sieve\n")),
        );
}

#[test]
fn json_prints_the_discover_document() {
    let output = wasplug()
        .args(["methods", "--json"])
        .arg(test_plugin())
        .output()
        .unwrap();
    assert!(output.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["info"]["title"], "test-plugin");
    assert_eq!(doc["info"]["x-wasplug-protocol"], 1);
    let methods: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        methods.contains(&"ping") && methods.contains(&"many_echo"),
        "{methods:?}"
    );
}
