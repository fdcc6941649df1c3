//! `wasplug methods`.

use super::support::{temp_file, test_plugin, wasplug, writing_plugin};
use predicates::prelude::*;

#[test]
fn lists_name_version_protocol_and_one_method_per_line() {
    wasplug()
        .arg("methods")
        .arg(test_plugin())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("name:        test-plugin\n")
                .and(predicate::str::contains("protocol:    1\n"))
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

#[test]
fn shows_each_methods_description_and_params_schema() {
    wasplug()
        .arg("methods")
        .arg(test_plugin())
        .assert()
        .success()
        .stdout(
            predicate::str::contains(
                "\n  sleep\n    Sleeps `ms` milliseconds, then answers `ms`\n    \
                 params: [ms: integer ≥ 0]\n    result: integer ≥ 0\n",
            )
            .and(predicate::str::contains(
                "\n  call_host\n    Calls host method `method` with `params`; answers its result\n    \
                 params: [method: string, params: any]\n",
            ))
            .and(predicate::str::contains("\n  ping\n    Answers \"pong\"\n    params: none\n"))
            .and(predicate::str::contains("    result: Primes\n"))
            .and(predicate::str::contains(
                "types:\n  Primes: {count: integer ≥ 0, limit: integer ≥ 0}\n",
            ))
            .and(predicate::str::contains("description: The plugin wasplug's tests")),
        );
}

#[test]
fn json_has_the_schemas() {
    let output = wasplug()
        .args(["methods", "--json"])
        .arg(test_plugin())
        .output()
        .unwrap();
    assert!(output.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sleep = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "sleep")
        .unwrap();
    assert_eq!(sleep["paramStructure"], "by-position");
    assert_eq!(sleep["params"][0]["name"], "ms");
    assert_eq!(sleep["params"][0]["schema"]["type"], "integer");
    assert_eq!(
        doc["components"]["schemas"]["Primes"]["properties"]["limit"]["type"],
        "integer"
    );
}

#[test]
fn an_undocumented_plugin_lists_names_only() {
    // A plugin that answers `rpc.discover` the way older plugins did.
    let answer = br#"{"jsonrpc":"2.0","id":1,"result":{"openrpc":"1.3.2","info":{"title":"old","version":"0.1","x-wasplug-protocol":1},"methods":[{"name":"ping","params":[]}]}}
"#;
    let (_dir, plugin) = temp_file("old.wat", writing_plugin(b"", answer));
    wasplug()
        .arg("methods")
        .arg(&plugin)
        .assert()
        .success()
        .stdout("name:        old\nversion:     0.1\nprotocol:    1\nmethods:\n  ping\n");
}
