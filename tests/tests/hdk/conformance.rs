//! The conformance battery (`wasplug_hdk::conformance`, what `wasplug check`
//! prints) as a library: the test plugin passes every requirement it
//! checks; plugins that answer with a wrong id, or not at all, fail, and the
//! report names the requirement they break. (The CLI's own tests check its
//! output and exit status; `tests/kits.rs` runs the battery on every kit's
//! example.)

use serde_json::json;
use wasplug_hdk::conformance::{Checker, Report, Status};
use wasplug_hdk::{Limits, Plugin, RawValue};
use wasplug_tests::host::test_plugin;

/// The row of `requirement` whose check is `check`, or the first row of
/// `requirement` when `check` is empty.
fn status(report: &Report, requirement: &str, check: &str) -> Status {
    report
        .rows()
        .iter()
        .find(|row| row.requirement == requirement && row.check.contains(check))
        .unwrap_or_else(|| panic!("no {requirement} row ({check}) in:\n{report}"))
        .status
}

/// A plugin whose `_start` runs `body`, with `fd_read` as `$read` and
/// `fd_write` as `$write`, the text `out` at offset 8192.
fn wat_plugin(name: &str, out: &str, body: &str) -> Plugin {
    let wat = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8192) "{escaped}")
  (func (export "_start") {body}))"#,
        escaped = out
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\0a"),
    );
    Plugin::builder(wat)
        .name(name)
        .limits(Limits::default().with_fuel(Some(10_000_000)))
        .build()
        .unwrap_or_else(|e| panic!("{name} loads: {e}"))
}

#[test]
fn the_test_plugin_passes_every_requirement_checked() {
    let report = Checker::new()
        .call("many_echo", RawValue::from_string("[2]".to_owned()).ok())
        .check(Ok(&test_plugin()));
    assert!(report.passed(), "{report}");
    for requirement in [
        "P-1", "P-4", "P-5", "P-6", "P-7", "P-8", "P-9", "P-10", "P-11", "P-12", "P-13", "P-14",
        "P-16", "P-17", "P-18",
    ] {
        assert_eq!(status(&report, requirement, ""), Status::Pass, "{report}");
    }
}

#[test]
fn an_answer_with_a_wrong_id_fails_p4_and_p12() {
    // Answers `999` to whatever it is sent, without reading it.
    let out = "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":null}\n";
    let body = format!(
        "(i32.store (i32.const 0) (i32.const 8192)) (i32.store (i32.const 4) (i32.const {}))
         (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))",
        out.len()
    );
    let report = Checker::new().check(Ok(&wat_plugin("wrong_id", out, &body)));
    assert!(!report.passed(), "{report}");
    assert_eq!(status(&report, "P-4", "numeric id"), Status::Fail);
    assert_eq!(status(&report, "P-4", "string id"), Status::Fail);
    assert_eq!(status(&report, "P-6", ""), Status::Fail);
    let p12 = report
        .failures()
        .find(|row| row.requirement == "P-12")
        .unwrap_or_else(|| panic!("P-12 did not fail:\n{report}"));
    assert!(
        p12.saw.contains("answered id 999, which was never sent"),
        "{p12}"
    );
}

#[test]
fn a_plugin_that_never_answers_fails_p12_and_nothing_else_about_ending() {
    // Reads until end of input, writes nothing, returns.
    let body = "(block $eof (loop $more
        (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 4096))
        (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $eof (i32.eqz (i32.load (i32.const 8))))
        (br $more)))";
    let report = Checker::new().check(Ok(&wat_plugin("silent", "", body)));
    assert!(!report.passed(), "{report}");
    let p12 = report
        .failures()
        .find(|row| row.requirement == "P-12" && row.check.starts_with("every request"))
        .unwrap_or_else(|| panic!("P-12 did not fail:\n{report}"));
    assert!(p12.saw.contains("no response"), "{p12}");
    assert_eq!(status(&report, "P-10", ""), Status::Fail, "{report}");
    assert_eq!(status(&report, "P-13", ""), Status::Pass, "{report}");
    assert_eq!(status(&report, "P-18", ""), Status::Pass, "{report}");
}

#[test]
fn a_plugin_the_host_refuses_fails_p16_alone() {
    let error = Plugin::builder("(module)")
        .build()
        .expect_err("no memory, no _start");
    let report = Checker::new().check(Err(&error));
    assert_eq!(report.rows().len(), 1, "{report}");
    assert_eq!(status(&report, "P-16", ""), Status::Fail);
}

/// `tests/guests/wat/from_spec.wat`, written in WebAssembly text from
/// docs/PROTOCOL.md alone (no kit, no test plugin read), conforms: the spec
/// is enough to write a plugin in a language without a kit.
#[test]
fn a_plugin_written_from_the_spec_alone_passes() {
    let plugin = wasplug_tests::host::wat_plugin("from_spec", Limits::default())
        .unwrap_or_else(|e| panic!("from_spec loads: {e}"));
    let report = Checker::new().check(Ok(&plugin));
    assert!(report.passed(), "{report}");
    for requirement in [
        "P-1", "P-4", "P-5", "P-6", "P-7", "P-8", "P-9", "P-10", "P-11", "P-12", "P-13", "P-16",
        "P-17", "P-18",
    ] {
        assert_eq!(status(&report, requirement, ""), Status::Pass, "{report}");
    }
    assert_eq!(plugin.manifest().name, "from-spec");
    assert_eq!(plugin.protocol_version(), Some(1));
}

/// The Rust pdk (the test plugin) answers a line that is not UTF-8 with
/// -32700 and id null, then serves the next line (P-8); it used to end at
/// such a line, as at end of input.
#[test]
fn the_rust_pdk_answers_a_line_that_is_not_utf8_and_goes_on() {
    let output = wasplug_tests::wasi::GuestRun::new(wasplug_tests::guests::TEST_PLUGIN)
        .stdin_chunks([
            b"\xff\xfe not UTF-8\n".to_vec(),
            b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"wasplug.check/none\"}\n".to_vec(),
        ])
        .run()
        .unwrap_or_else(|e| panic!("the test plugin runs: {e}"));
    assert_eq!(output.status, 0, "stderr: {}", output.stderr_text());
    let answers: Vec<serde_json::Value> = output
        .stdout_text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let [parse_error, next] = answers.as_slice() else {
        panic!("two answers expected: {answers:?}");
    };
    assert_eq!(parse_error["id"], json!(null), "{parse_error}");
    assert_eq!(parse_error["error"]["code"], json!(-32700), "{parse_error}");
    assert_eq!(next["id"], json!(2), "{next}");
    assert_eq!(next["error"]["code"], json!(-32601), "{next}");
}
