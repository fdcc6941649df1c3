//! Text from a plugin never reaches the terminal raw: log lines, error
//! messages and data, names in a module, answers.

use super::support::{temp_file, wasplug, writing_plugin};
use serde_json::{Value, json};

/// What a terminal acts on: C0 controls, DEL, C1 controls, bidi embeddings,
/// overrides and isolates, line and paragraph separators.
fn acts_on_a_terminal(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Asserts that `output` holds no character a terminal acts on, except the
/// newlines that end lines.
fn assert_terminal_safe(output: &[u8]) {
    let text = std::str::from_utf8(output).expect("UTF-8 output");
    let raw: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && acts_on_a_terminal(c))
        .collect();
    assert!(raw.is_empty(), "raw {raw:?} in {text:?}");
}

/// An answer to the host's first request.
fn answer(result: &str) -> Vec<u8> {
    format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{result}}}\n").into_bytes()
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 output")
}

#[test]
fn a_plugin_log_line_cannot_erase_its_prefix_or_forge_a_line() {
    let stderr = b"evil\x1b[2K\r[wasplug] forged\x07 \xc2\x9b31m \xe2\x80\xaeok\ncaf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80\n";
    let (_dir, plugin) = temp_file("forger.wat", writing_plugin(stderr, &answer("\"ok\"")));
    let output = wasplug()
        .arg("call")
        .arg(&plugin)
        .arg("go")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"\"ok\"\n");
    assert_terminal_safe(&output.stderr);
    assert_eq!(
        utf8(&output.stderr),
        "[forger] evil\\x1b[2K\\r[wasplug] forged\\x07 \\u{9b}31m \\u{202e}ok\n\
         [forger] café 漢 😀\n"
    );
}

#[test]
fn log_messages_sent_to_the_host_are_escaped() {
    let mut stdout =
        br#"{"jsonrpc":"2.0","method":"log","params":["note\u001b]0;title\u0007\rdone"]}
{"jsonrpc":"2.0","method":"log","params":{"n":18446744073709551617,"s":"a\u009bb"}}
"#
        .to_vec();
    stdout.extend(answer("null"));
    let (_dir, plugin) = temp_file("logger.wat", writing_plugin(b"", &stdout));
    let output = wasplug()
        .arg("call")
        .arg(&plugin)
        .arg("go")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_terminal_safe(&output.stderr);
    assert_eq!(
        utf8(&output.stderr),
        "[logger] note\\x1b]0;title\\x07\\rdone\n\
         [logger] {\"n\":18446744073709551617,\"s\":\"a\\u009bb\"}\n"
    );
}

#[test]
fn an_error_message_and_its_data_stay_on_one_escaped_line() {
    let line = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\
                \"message\":\"bad\\u001b[2K\\r\\nerror: forged \u{9b} \u{202e}\",\
                \"data\":{\"raw\":\"x\u{9b}\\u0007\"}}}\n";
    let (_dir, plugin) = temp_file("failing.wat", writing_plugin(b"", line.as_bytes()));
    let output = wasplug()
        .arg("call")
        .arg(&plugin)
        .arg("go")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_terminal_safe(&output.stderr);
    let stderr = utf8(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("-32000: bad\\x1b[2K\\r\\nerror: forged \\u{9b} \\u{202e}"),
        "{stderr}"
    );
    // The data, as JSON (which escapes the C0 controls itself).
    assert!(stderr.contains(r#"{"raw":"x\u{9b}\u0007"}"#), "{stderr}");
}

#[test]
fn a_result_in_json_escapes_what_json_leaves_raw() {
    let result =
        "{\"s\":\"a\u{7f}b\u{9b}c\u{202e}d\u{2028}\",\"t\":\"café 漢 😀\",\"e\":\"\\u001b\"}";
    let (_dir, plugin) = temp_file("answers.wat", writing_plugin(b"", &answer(result)));
    let expected = r#"{"s":"a\u007fb\u009bc\u202ed\u2028","t":"café 漢 😀","e":"\u001b"}"#;
    let output = wasplug()
        .arg("call")
        .arg(&plugin)
        .arg("go")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(utf8(&output.stdout), format!("{expected}\n"));
    let pretty = wasplug()
        .args(["call", "--pretty"])
        .arg(&plugin)
        .arg("go")
        .output()
        .unwrap();
    assert!(pretty.status.success(), "{pretty:?}");
    assert_terminal_safe(&pretty.stdout);
    assert!(utf8(&pretty.stdout).lines().count() > 1);
    let value: Value = serde_json::from_slice(&pretty.stdout).unwrap();
    assert_eq!(value, serde_json::from_str::<Value>(result).unwrap());
}

/// A module whose import, export, memory and custom section names hold
/// escape sequences, a line break, C1 controls and a bidi override.
const STRANGE_NAMES: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd\1b[2K\0dwrite" (func (param i32)))
  (memory (export "mem\c2\9b") 1)
  (func (export "run\0aforged: yes\e2\80\ae"))
  (@custom "sec\1b]0;title\07" "data"))"#;

#[test]
fn inspect_shows_names_escaped() {
    let (_dir, module) = temp_file("names.wat", STRANGE_NAMES);
    let output = wasplug().arg("inspect").arg(&module).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_terminal_safe(&output.stdout);
    let text = utf8(&output.stdout);
    for shown in [
        "wasi_snapshot_preview1::fd\\x1b[2K\\rwrite  func",
        "memory:   `mem\\u{9b}` (exported)",
        "  run\\nforged: yes\\u{202e}  func",
        "  sec\\x1b]0;title\\x07  4 bytes",
    ] {
        assert!(text.contains(shown), "{shown:?} not in {text}");
    }
    assert!(!text.lines().any(|l| l.starts_with("forged")), "{text}");
}

#[test]
fn inspect_json_keeps_names_and_escapes_them() {
    let (_dir, module) = temp_file("names.wat", STRANGE_NAMES);
    let output = wasplug()
        .args(["inspect", "--json"])
        .arg(&module)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_terminal_safe(&output.stdout);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["imports"][0]["name"], "fd\x1b[2K\rwrite");
    assert_eq!(report["exports"][0]["name"], "mem\u{9b}");
    assert_eq!(report["exports"][1]["name"], "run\nforged: yes\u{202e}");
    assert_eq!(
        report["custom_sections"],
        json!([{"name": "sec\x1b]0;title\x07", "size": 4}])
    );
}

#[test]
fn methods_shows_a_discover_document_escaped() {
    let discover = "{\"openrpc\":\"1.3.2\",\"info\":{\"title\":\"t\\u001b[2J\",\"version\":\"1\\r\",\
                    \"x-wasplug-protocol\":1},\"methods\":[{\"name\":\"m\\nforged\"},{\"name\":\"c1\u{9b}\"},\
                    {\"name\":\"d\",\"description\":\"x\\u001b[31m\",\"paramStructure\":\"by-name\",\
                    \"params\":[{\"name\":\"p\\r\",\"description\":\"q\u{9b}\",\"schema\":{\"type\":\"s\\u0007\"}}],\
                    \"result\":{\"name\":\"result\",\"schema\":{\"$ref\":\"#/components/schemas/R\\u001b\"}}}],\
                    \"components\":{\"schemas\":{\"R\\u001b\":{\"description\":\"\u{202e}\"}}}}";
    let (_dir, plugin) = temp_file("discover.wat", writing_plugin(b"", &answer(discover)));
    let output = wasplug().arg("methods").arg(&plugin).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_terminal_safe(&output.stdout);
    assert_eq!(
        utf8(&output.stdout),
        "name:        t\\x1b[2J\nversion:     1\\r\nprotocol:    1\nmethods:\n  m\\nforged\n  c1\\u{9b}\n  \
         d\n    x\\x1b[31m\n    params: {p\\r?: s\\x07}\n      p\\r: q\\u{9b}\n    result: R\\x1b\ntypes:\n  \
         R\\x1b: any\n    \\u{202e}\n"
    );
    let json = wasplug()
        .args(["methods", "--json"])
        .arg(&plugin)
        .output()
        .unwrap();
    assert!(json.status.success(), "{json:?}");
    assert_terminal_safe(&json.stdout);
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value, serde_json::from_str::<Value>(discover).unwrap());
}

#[test]
fn inspect_shows_a_manifest_escaped() {
    // JSON escapes inside a WAT string: `\\u001b` is `\u001b` in the JSON.
    let module = r#"(module
      (@custom "wasplug_manifest" "{\"name\":\"n\\u001b[2J\",\"version\":\"1\\r\",\"protocol\":1,\"description\":\"d\\nforged: yes\",\"methods\":[\"m\u{9b}\"],\"capabilities\":[\"c\\u0007\"]}")
      (memory (export "memory") 1) (func (export "_start")))"#;
    let (_dir, module) = temp_file("manifest.wat", module);
    let output = wasplug().arg("inspect").arg(&module).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_terminal_safe(&output.stdout);
    let text = utf8(&output.stdout);
    for shown in [
        "  name:         n\\x1b[2J\n",
        "  version:      1\\r\n",
        "  description:  d\\nforged: yes\n",
        "  methods:      m\\u{9b}\n",
        "  capabilities: c\\x07 ",
    ] {
        assert!(text.contains(shown), "{shown:?} not in {text}");
    }
    assert!(!text.lines().any(|l| l.starts_with("forged")), "{text}");
}
