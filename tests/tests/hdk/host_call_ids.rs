//! P-3: a plugin's host-call ids are unique among its calls in flight. A
//! plugin that sends a second host call with the id of one not yet answered
//! breaks the protocol, and the host ends the call (H-10) naming the id; an
//! id may be reused once its answer was written.

use serde_json::{Value, json};
use wasplug_hdk::{ErrorKind, Limits, Plugin, protocol::ProtocolError};
use wasplug_tests::host::echo_methods;

/// A plugin that reads its request, then for each of `steps` writes the
/// text (host calls, its answer) and, when the step says so, reads once
/// (the answer to its host call).
fn plugin(name: &str, steps: &[(&str, bool)]) -> Plugin {
    let mut data = String::new();
    let mut body = String::from("(call $read_once)\n");
    let mut at = 8192;
    for (text, then_read) in steps {
        let escaped = text.replace('"', "\\\"").replace('\n', "\\0a");
        data.push_str(&format!("(data (i32.const {at}) \"{escaped}\")\n"));
        body.push_str(&format!(
            "(i32.store (i32.const 16) (i32.const {at})) (i32.store (i32.const 20) (i32.const {len}))
             (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))\n",
            len = text.len()
        ));
        if *then_read {
            body.push_str("(call $read_once)\n");
        }
        at += text.len().next_multiple_of(256);
    }
    let wat = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  {data}
  (func $read_once
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    {body}))"#
    );
    Plugin::builder(wat)
        .name(name)
        .limits(Limits::default().with_fuel(Some(10_000_000)))
        .host_methods(echo_methods())
        .grants(wasplug_hdk::Grants::methods(["echo"]))
        .build()
        .unwrap_or_else(|e| panic!("{name} loads: {e}"))
}

const CALL_A: &str = "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"echo\",\"params\":[1]}\n";
const DONE: &str = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"done\"}\n";

#[test]
fn a_second_host_call_with_an_id_in_flight_ends_the_call() {
    // Two calls with id "a", the first not answered (nothing read between).
    let plugin = plugin(
        "duplicate",
        &[(CALL_A, false), (CALL_A, true), (DONE, false)],
    );
    let error = futures::executor::block_on(plugin.call("run", Value::Null))
        .expect_err("a duplicate id in flight is a protocol violation");
    match error.kind() {
        ErrorKind::Protocol {
            source: ProtocolError::DuplicateRequestId { id, line },
        } => {
            assert_eq!(id, "\"a\"", "{error}");
            assert!(line.contains("\"method\":\"echo\""), "{error}");
        }
        other => panic!("expected a duplicate-id protocol error, got {other:?}"),
    }
}

#[test]
fn an_id_may_be_reused_once_answered() {
    // Call "a", read its answer, call "a" again, read, answer.
    let plugin = plugin("reuse", &[(CALL_A, true), (CALL_A, true), (DONE, false)]);
    let answer = futures::executor::block_on(plugin.call("run", Value::Null))
        .unwrap_or_else(|e| panic!("reusing an answered id is allowed: {e}"));
    assert_eq!(answer, json!("done"));
}
