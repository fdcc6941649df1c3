//! `wasplug check`: the test plugin conforms; hand-written plugins that
//! answer with a wrong id, too late or not at all fail, naming the
//! requirement of docs/PROTOCOL.md they break.

use super::support::{temp_file, test_plugin, wasplug};
use predicates::prelude::*;

/// A plugin that reads stdin (one read, or until end of file with
/// `until_eof`), then writes `out` on stdout and returns.
fn canned_plugin(until_eof: bool, out: &str) -> String {
    let read = if until_eof {
        "(block $eof (loop $more (br_if $eof (i32.eqz (call $read_once))) (br $more)))"
    } else {
        "(drop (call $read_once))"
    };
    let data: String = out
        .bytes()
        .map(|b| match b {
            b' '..=b'~' if b != b'"' && b != b'\\' => char::from(b).to_string(),
            _ => format!("\\{b:02x}"),
        })
        .collect();
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: read iovec, 8: nread, 16: write iovec, 24: nwritten, 1024: buffer, 8192: out
  (data (i32.const 8192) "{data}")
  (func $read_once (result i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (i32.store (i32.const 8) (i32.const 0))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.load (i32.const 8)))
  (func (export "_start")
    {read}
    (i32.store (i32.const 16) (i32.const 8192))
    (i32.store (i32.const 20) (i32.const {len}))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))"#,
        len = out.len()
    )
}

#[test]
fn the_test_plugin_conforms() {
    let output = wasplug()
        .arg("check")
        .arg(test_plugin())
        .args(["--call", "many_echo=[2]"])
        // Sent as written: the echo comes back digit for digit.
        .args(["--call", "echo=[18446744073709551617, 1.10]"])
        .assert()
        .success()
        .stdout(predicate::str::contains("conforms to wasplug protocol 1"))
        .stdout(predicate::str::contains("18446744073709551617, 1.10"))
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).expect("UTF-8 report");
    for requirement in [
        "P-1 ", "P-4 ", "P-5 ", "P-6 ", "P-7 ", "P-8 ", "P-9 ", "P-10", "P-11", "P-12", "P-13",
        "P-14", "P-16", "P-17", "P-18",
    ] {
        assert!(
            text.lines()
                .any(|line| line.starts_with("pass") && line.contains(requirement)),
            "{requirement} did not pass:\n{text}"
        );
    }
    assert!(!text.contains("FAIL"), "{text}");
}

#[test]
fn json_output_lists_every_requirement() {
    let output = wasplug()
        .args(["check", "--json"])
        .arg(test_plugin())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&output).expect("a JSON array");
    assert!(rows.len() >= 15, "{rows:?}");
    for row in &rows {
        assert!(
            row["requirement"]
                .as_str()
                .is_some_and(|r| r.starts_with("P-")),
            "{row}"
        );
        assert!(
            matches!(row["status"].as_str(), Some("pass" | "not_applicable")),
            "{row}"
        );
    }
    // No host call without --call: P-14 is not applicable, and says why.
    assert!(rows.iter().any(|row| row["requirement"] == "P-14"
        && row["status"] == "not_applicable"
        && row["saw"].as_str().is_some_and(|s| s.contains("--call"))));
}

#[test]
fn a_wrong_id_fails_p4_and_p6() {
    let (_dir, path) = temp_file(
        "wrong_id.wat",
        canned_plugin(false, "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":null}\n"),
    );
    wasplug()
        .arg("check")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL  P-4   numeric id echoed exactly",
        ))
        .stdout(predicate::str::contains("FAIL  P-6 "))
        .stdout(predicate::str::contains(r#""id":999"#))
        .stdout(predicate::str::contains("FAIL  P-10"))
        .stdout(predicate::str::contains(
            "answered id 999, which was never sent",
        ))
        .stdout(predicate::str::contains("requirement(s) failed"));
}

#[test]
fn a_numeric_id_answered_as_a_string_fails_p6() {
    // The unknown-method probe sends id 7: "7" is not the same id.
    let (_dir, path) = temp_file(
        "string_id.wat",
        canned_plugin(
            false,
            "{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}\n",
        ),
    );
    wasplug()
        .arg("check")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL  P-6   unknown method answers -32601: 0 answer(s) with id 7",
        ));
}

#[test]
fn a_plugin_that_never_answers_fails_p12() {
    let (_dir, path) = temp_file("silent.wat", canned_plugin(true, ""));
    wasplug()
        .arg("check")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL  P-12  every request answered exactly once, and nothing else",
        ))
        .stdout(predicate::str::contains(
            "no response; the plugin exited with status 0",
        ))
        // It does end cleanly at end of input.
        .stdout(predicate::str::contains("pass  P-13"));
}

#[test]
fn an_answer_held_until_end_of_input_fails_p11() {
    let (_dir, path) = temp_file(
        "late.wat",
        canned_plugin(
            true,
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}\n",
        ),
    );
    wasplug()
        .arg("check")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL  P-11  answers do not wait for end of input",
        ))
        .stdout(predicate::str::contains("came only after stdin was closed"));
}

#[test]
fn a_plugin_that_spins_fails_p18_within_the_timeout() {
    let (_dir, path) = temp_file(
        "spin.wat",
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))"#,
    );
    wasplug()
        .args(["check", "--timeout", "0.2"])
        .arg(&path)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL  P-18  stays within the call limits",
        ))
        .stdout(predicate::str::contains(
            "still running at the probe's timeout",
        ));
}

#[test]
fn a_module_the_host_refuses_fails_p16() {
    let (_dir, path) = temp_file("no_start.wat", r#"(module (memory (export "memory") 1))"#);
    wasplug()
        .arg("check")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL  P-16"))
        .stdout(predicate::str::contains("_start"));
}

#[test]
fn usage_errors_exit_2() {
    wasplug().arg("check").assert().code(2);
    wasplug()
        .args(["check", "--call", "x=[", "p.wasm"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PARAMS is not valid JSON"));
}

#[test]
fn the_plugin_written_from_the_spec_alone_conforms() {
    // tests/guests/wat/from_spec.wat: WebAssembly text, no kit, written from
    // docs/PROTOCOL.md alone.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/guests/wat/from_spec.wat");
    wasplug()
        .arg("check")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("pass  P-7 "))
        .stdout(predicate::str::contains("pass  P-9 "))
        .stdout(predicate::str::contains("conforms to wasplug protocol 1"));
}
