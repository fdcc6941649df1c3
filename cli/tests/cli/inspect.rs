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
