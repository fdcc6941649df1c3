//! `wasplug inspect`.

use super::support::{IMPORTS_ENV_FOO, temp_file, test_plugin, wasplug};
use predicates::prelude::*;
use serde_json::Value;

fn inspect_json(path: &std::path::Path) -> Value {
    let output = wasplug()
        .args(["inspect", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn shows_imports_exports_memory_and_protocol() {
    wasplug()
        .arg("inspect")
        .arg(test_plugin())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("wasi_snapshot_preview1::fd_write")
                .and(predicate::str::contains("supported"))
                .and(predicate::str::contains("wasplug protocol 1"))
                .and(predicate::str::contains("_start"))
                .and(predicate::str::contains("memory:   `memory` (exported): "))
                .and(predicate::str::contains("a wasplug plugin")),
        );
}

#[test]
fn json_has_the_protocol_version_and_import_statuses() {
    let report = inspect_json(test_plugin());
    assert_eq!(report["protocol_version"], 1);
    assert_eq!(report["runnable"], true);
    let imports = report["imports"].as_array().unwrap();
    assert!(!imports.is_empty());
    assert!(
        imports.iter().all(|i| i["status"] == "supported"),
        "{imports:?}"
    );
    let exports = report["exports"].as_array().unwrap();
    assert!(
        exports
            .iter()
            .any(|e| e["name"] == "_start" && e["kind"] == "func")
    );
    assert!(
        exports
            .iter()
            .any(|e| e["name"] == "memory" && e["kind"] == "memory")
    );
    assert!(report["memories"][0]["initial_pages"].as_u64().unwrap() > 0);
}

#[test]
fn marks_refused_and_errno_imports() {
    let (_dir, module) = temp_file("foreign.wat", IMPORTS_ENV_FOO);
    wasplug()
        .arg("inspect")
        .arg(&module)
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(r"env::foo +func +refused")
                .unwrap()
                .and(
                    predicate::str::is_match(r"path_open +func +linked, answers an errno").unwrap(),
                )
                .and(predicate::str::contains("protocol: not recorded"))
                .and(predicate::str::contains("not runnable")),
        );
    let report = inspect_json(&module);
    let status = |name: &str| {
        report["imports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .map(|i| i["status"].clone())
    };
    assert_eq!(status("foo"), Some("refused".into()));
    assert_eq!(status("path_open"), Some("errno".into()));
    assert_eq!(status("fd_write"), Some("supported".into()));
    assert_eq!(report["protocol_version"], Value::Null);
    assert_eq!(report["runnable"], false);
}

#[test]
fn a_wasi_import_with_the_wrong_signature_is_marked_refused() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i64) (result i64)))
      (memory (export "memory") 1)
      (func (export "_start")))"#;
    let (_dir, module) = temp_file("wrong_signature.wat", wat);
    let report = inspect_json(&module);
    assert_eq!(report["imports"][0]["name"], "fd_write");
    assert_eq!(report["imports"][0]["status"], "refused");
    assert_eq!(report["runnable"], false);
}

#[test]
fn an_invalid_module_fails_with_the_reason() {
    let (_dir, module) = temp_file("broken.wat", "(module (func (export \"f\") (result i32)))");
    wasplug()
        .arg("inspect")
        .arg(&module)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("is not a valid WebAssembly module")
                .and(predicate::str::contains("type mismatch")),
        );
}

#[test]
fn the_verdict_is_the_sandbox_module_check() {
    let (_dir, two) = temp_file(
        "two-memories.wat",
        r#"(module (memory 1) (memory (export "memory") 1) (func (export "_start")))"#,
    );
    wasplug()
        .arg("inspect")
        .arg(&two)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("not runnable")
                .and(predicate::str::contains("2 linear memories")),
        );
    let report = inspect_json(&two);
    assert_eq!(report["runnable"], false);
    assert!(
        report["problem"]
            .as_str()
            .unwrap()
            .contains("2 linear memories")
    );
    assert_eq!(inspect_json(test_plugin())["problem"], Value::Null);
}

#[test]
fn shows_the_manifest_and_the_capabilities_it_asks_for() {
    wasplug()
        .arg("inspect")
        .arg(test_plugin())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("manifest: from the `wasplug_manifest` custom section\n")
                .and(predicate::str::contains("  name:         test-plugin\n"))
                .and(predicate::str::contains("  methods:      ping, echo, "))
                .and(predicate::str::contains(
                    "  capabilities: echo, progress, config.get (host methods it asks for)\n",
                )),
        );
    let report = inspect_json(test_plugin());
    assert_eq!(report["manifest_source"], "section");
    assert_eq!(report["manifest"]["name"], "test-plugin");
    assert_eq!(
        report["manifest"]["capabilities"],
        serde_json::json!(["echo", "progress", "config.get"])
    );
    assert!(
        report["manifest"]["methods"]
            .as_array()
            .unwrap()
            .contains(&"prime_sieve".into())
    );
}

/// A module with no custom section.
const BARE: &str = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;

#[test]
fn shows_a_sidecar_manifest_and_its_file() {
    let (dir, module) = temp_file("adder.wat", BARE);
    let sidecar = dir.path().join("adder.toml");
    std::fs::write(
        &sidecar,
        "name = \"adder\"\nversion = \"1.2\"\nprotocol = 1\nmethods = [\"add\"]\n\
         capabilities = [\"kv.get\", \"log\"]\n",
    )
    .unwrap();
    wasplug()
        .arg("inspect")
        .arg(&module)
        .assert()
        .success()
        .stdout(
            predicate::str::contains(format!(
                "manifest: from sidecar file {}\n",
                sidecar.display()
            ))
            .and(predicate::str::contains("  version:      1.2\n"))
            .and(predicate::str::contains("  methods:      add\n"))
            .and(predicate::str::contains("  capabilities: kv.get, log "))
            .and(predicate::str::contains("protocol: wasplug protocol 1"))
            .and(predicate::str::contains("a wasplug plugin")),
        );
    let report = inspect_json(&module);
    assert_eq!(report["manifest_source"], "sidecar");
    assert_eq!(report["manifest_file"], sidecar.display().to_string());
    assert_eq!(report["protocol_version"], 1);
}

#[test]
fn a_module_without_a_manifest_gets_one_made_up() {
    let (_dir, module) = temp_file("bare.wat", BARE);
    wasplug()
        .arg("inspect")
        .arg(&module)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("manifest: none recorded")
                .and(predicate::str::contains("  name:         bare\n"))
                .and(predicate::str::contains("  capabilities: none ")),
        );
    let report = inspect_json(&module);
    assert_eq!(report["manifest_source"], "none");
    assert_eq!(report["protocol_version"], Value::Null);
}

#[test]
fn a_malformed_manifest_is_reported() {
    let module = r#"(module (@custom "wasplug_manifest" "{\"name\":")
      (memory (export "memory") 1) (func (export "_start")))"#;
    let (_dir, module) = temp_file("broken.wat", module);
    wasplug()
        .arg("inspect")
        .arg(&module)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("manifest: unreadable: the plugin's manifest")
                .and(predicate::str::contains("not loadable as a plugin")),
        );
    let report = inspect_json(&module);
    assert_eq!(report["manifest"], Value::Null);
    assert!(
        report["manifest_problem"]
            .as_str()
            .unwrap()
            .contains("malformed")
    );
}

#[test]
fn inspect_and_run_refuse_what_is_not_a_regular_file_before_reading_it() {
    // `/dev/zero` would be read forever; a directory cannot be read at all.
    let dir = tempfile::tempdir().unwrap();
    for path in [std::path::Path::new("/dev/zero"), dir.path()] {
        for command in ["inspect", "run"] {
            wasplug()
                .arg(command)
                .arg(path)
                .timeout(std::time::Duration::from_secs(60))
                .assert()
                .failure()
                .stderr(predicate::str::contains("not a regular file").and(
                    predicate::str::contains("PLUGIN must be a wasm32-wasip1 module"),
                ));
        }
    }
}
