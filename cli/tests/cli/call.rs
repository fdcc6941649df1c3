//! `wasplug call`.

use super::support::{IMPORTS_ENV_FOO, temp_file, test_plugin, wasplug};
use predicates::prelude::*;
use std::time::{Duration, Instant};

#[test]
fn ping_prints_the_result_as_one_line_of_json() {
    wasplug()
        .args(["call"])
        .arg(test_plugin())
        .arg("ping")
        .assert()
        .success()
        .stdout("\"pong\"\n");
}

#[test]
fn structured_params_are_sent_as_given() {
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .args(["echo", r#"{"a": [1, 2], "b": null}"#])
        .assert()
        .success()
        .stdout("{\"a\":[1,2],\"b\":null}\n");
}

#[test]
fn a_scalar_param_is_wrapped_in_an_array() {
    for (params, expected) in [
        ("5", "[5]\n"),
        ("\"hi\"", "[\"hi\"]\n"),
        ("true", "[true]\n"),
    ] {
        wasplug()
            .arg("call")
            .arg(test_plugin())
            .args(["echo", params])
            .assert()
            .success()
            .stdout(expected);
    }
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .args(["prime_sieve", "1000"])
        .assert()
        .success()
        .stdout("{\"count\":168,\"limit\":1000}\n");
}

#[test]
fn a_plugin_error_shows_code_message_and_data() {
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .arg("fail")
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            predicate::str::contains("-32000")
                .and(predicate::str::contains("deliberate failure"))
                .and(predicate::str::contains("the test asked for it")),
        );
}

#[test]
fn an_unknown_method_answers_method_not_found() {
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .arg("no_such_method")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-32601"));
}

#[test]
fn a_panic_is_explained() {
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .arg("panic")
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            predicate::str::contains("trapped")
                .and(predicate::str::contains("host is unaffected"))
                // The plugin's own panic message, as a log line.
                .and(
                    predicate::str::contains("[test-plugin]")
                        .and(predicate::str::contains("deliberate panic")),
                ),
        );
}

#[test]
fn params_that_are_not_json_fail_clearly() {
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .args(["echo", "[1,"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("PARAMS is not valid JSON"));
}

#[test]
fn a_missing_file_fails_clearly() {
    wasplug()
        .args(["call", "/nonexistent/plugin.wasm", "ping"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot read the plugin /nonexistent/plugin.wasm",
        ));
}

#[test]
fn invalid_wasm_fails_clearly() {
    let (_dir, binary) = temp_file("broken.wasm", b"\0asm\x01\0\0\0\x99garbage");
    wasplug()
        .arg("call")
        .arg(&binary)
        .arg("ping")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is not a valid WebAssembly module",
        ));
    let (_dir, text) = temp_file("text.wasm", "hello, not wasm");
    wasplug()
        .arg("call")
        .arg(&text)
        .arg("ping")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("read as WebAssembly text")
                .and(predicate::str::contains("line 1, column 1")),
        );
}

#[test]
fn missing_arguments_are_a_usage_error() {
    wasplug().arg("call").assert().code(2);
    wasplug().arg("call").arg(test_plugin()).assert().code(2);
    wasplug()
        .args(["call", "--fuel", "lots"])
        .arg(test_plugin())
        .arg("ping")
        .assert()
        .code(2);
    wasplug().arg("no-such-command").assert().code(2);
}

#[test]
fn the_timeout_stops_a_long_call() {
    let started = Instant::now();
    wasplug()
        .args(["call", "--timeout", "1"])
        .arg(test_plugin())
        .args(["sleep", "[5000]"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timeout").and(predicate::str::contains("--timeout")));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_fuel_budget_stops_a_long_computation() {
    wasplug()
        .args(["call", "--fuel", "100000"])
        .arg(test_plugin())
        .args(["prime_sieve", "100000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("fuel budget of 100000 units"));
}

#[test]
fn the_memory_limit_stops_a_hungry_call() {
    wasplug()
        .args(["call", "--max-memory", "2"])
        .arg(test_plugin())
        .args(["big", "[10000000]"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--max-memory"));
}

#[test]
fn plugin_log_lines_are_prefixed_with_its_name() {
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .args(["log", "3"])
        .assert()
        .success()
        .stdout("3\n")
        .stderr(
            predicate::str::contains("[test-plugin] log line 0\n")
                .and(predicate::str::contains("[test-plugin] log line 2\n")),
        );
    wasplug()
        .args(["call", "--log-level", "error"])
        .arg(test_plugin())
        .args(["log", "3"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn the_builtin_echo_host_method_answers_plugin_calls() {
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .args(["many_echo", "50"])
        .assert()
        .success()
        .stdout("50\n");
    wasplug()
        .arg("call")
        .arg(test_plugin())
        .args(["concurrent_echo", "20"])
        .assert()
        .success()
        .stdout("20\n");
}

#[test]
fn a_module_with_foreign_imports_is_refused() {
    let (_dir, module) = temp_file("foreign.wat", IMPORTS_ENV_FOO);
    wasplug()
        .arg("call")
        .arg(&module)
        .arg("ping")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("env::foo").and(predicate::str::contains("does not provide")),
        );
}

#[test]
fn help_documents_params_and_host_methods() {
    wasplug()
        .args(["call", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("one-element array")
                .and(predicate::str::contains("echo"))
                .and(predicate::str::contains("-32601")),
        );
}

#[test]
fn a_sidecar_manifest_counts_as_it_does_for_inspect() {
    // A plugin without a manifest section that answers every call with 1,
    // beside a sidecar saying it speaks another protocol.
    let answer = br#"{"jsonrpc":"2.0","id":1,"result":1}
"#;
    let (dir, plugin) = temp_file("old.wat", super::support::writing_plugin(b"", answer));
    wasplug()
        .arg("call")
        .arg(&plugin)
        .arg("ping")
        .assert()
        .success()
        .stdout("1\n");
    std::fs::write(
        dir.path().join("old.json"),
        r#"{"name":"old","version":"1","protocol":99}"#,
    )
    .unwrap();
    wasplug()
        .arg("call")
        .arg(&plugin)
        .arg("ping")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wasplug protocol 99"));
    // `inspect` reads the same manifest, and says the same.
    let output = wasplug()
        .args(["inspect", "--json"])
        .arg(&plugin)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["manifest_source"], "sidecar");
    assert_eq!(report["protocol_version"], 99);
    assert!(report["protocol_problem"].is_string(), "{report}");
}
