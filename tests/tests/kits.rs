//! The shared scenario: every plugin kit's example (`kits/<language>/example`)
//! implements the same methods, and each check here runs against each kit in
//! [`KITS`]. A new kit adds one row.
//!
//! The scenario, as each example implements it:
//! - `ping` → `"pong"`;
//! - `echo` → its params back unchanged (the exact JSON text: unicode,
//!   escapes and numbers beyond 64 bits included);
//! - `add` `[a, b]` → `a + b` (integers), `-32602` for anything else;
//! - `fail` → error `-32000` with a message and `data`;
//! - `call_echo` → calls the host's `echo` with its params, answers its answer
//!   (its error too, when the host refuses);
//! - `notify` → sends the host the notification `progress`, then answers;
//! - `rpc.discover` → name, version, protocol 1 and the methods above;
//! - an unknown method → `-32601`.
//!
//! And each example passes `wasplug check`, the conformance battery of
//! `docs/PROTOCOL.md` ([`wasplug_hdk::conformance`]), with `call_echo` as the
//! method that makes a host call.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use wasplug_hdk::conformance::{Checker, Status};
use wasplug_hdk::{
    Error, ErrorKind, Grants, HostContext, HostMethods, ManifestSource, Plugin, RawValue, RpcError,
};
use wasplug_tests::{guests, optional_guest};

/// A kit's example plugin.
struct Kit {
    /// The kit, as `kits/<name>`.
    name: &'static str,
    /// Its example, built by `tests/build.rs`; `None` when the kit's
    /// toolchain is missing (the kit is then skipped, or fails on CI).
    wasm: Option<&'static str>,
    /// Whether the kit records the manifest in the `wasplug_manifest`
    /// section (every kit whose toolchain can write a custom section).
    manifest_section: bool,
    /// Whether the example's `echo` keeps the whitespace between tokens (Go's
    /// `encoding/json` compacts a `json.RawMessage` it writes: the tokens,
    /// numbers included, stay exact).
    keeps_whitespace: bool,
}

/// Every kit: one row each.
const KITS: &[Kit] = &[
    Kit {
        name: "c",
        wasm: guests::KIT_C_EXAMPLE,
        manifest_section: true,
        keeps_whitespace: true,
    },
    Kit {
        name: "go",
        wasm: guests::GO_KIT_EXAMPLE,
        // Go cannot write custom sections: a sidecar manifest.
        manifest_section: false,
        keeps_whitespace: false,
    },
    Kit {
        name: "zig",
        wasm: guests::ZIG_KIT_EXAMPLE,
        manifest_section: true,
        keeps_whitespace: true,
    },
    Kit {
        name: "assemblyscript",
        wasm: guests::AS_KIT_EXAMPLE,
        // Written by the kit's compiler transform.
        manifest_section: true,
        keeps_whitespace: true,
    },
];

/// The methods of the scenario, which `rpc.discover` and the manifest list.
const METHODS: &[&str] = &["ping", "echo", "add", "fail", "call_echo", "notify"];

/// What the host saw of a plugin: its calls to `echo`, its `progress`
/// notifications.
#[derive(Default)]
struct Seen {
    echo: AtomicUsize,
    progress: AtomicUsize,
}

/// A kit's example with the scenario's host: `echo` (answers its params) and
/// the `progress` notification, both granted, both counted in the [`Seen`].
fn load(kit: &Kit, wasm: &str) -> (Plugin, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let host = HostMethods::new(Arc::clone(&seen))
        .method(
            "echo",
            |ctx: HostContext<Arc<Seen>>, params: Box<RawValue>| async move {
                ctx.state().echo.fetch_add(1, Ordering::SeqCst);
                Ok::<_, RpcError>(params)
            },
        )
        .notification(
            "progress",
            |ctx: HostContext<Arc<Seen>>, _: Value| async move {
                ctx.state().progress.fetch_add(1, Ordering::SeqCst);
            },
        );
    let plugin = Plugin::from_file(wasm)
        .host_methods(host)
        .grants(Grants::methods(["echo", "progress"]))
        .build()
        .unwrap_or_else(|e| panic!("kit {}: the example does not load: {e}", kit.name));
    (plugin, seen)
}

/// One kit's example, loaded with the scenario's host.
struct Run {
    kit: &'static Kit,
    /// The example's `.wasm`.
    wasm: &'static str,
    plugin: Plugin,
    seen: Arc<Seen>,
}

/// Each kit's example whose toolchain is here, loaded with a fresh plugin
/// and host.
fn runs() -> impl Iterator<Item = Run> {
    KITS.iter().filter_map(|kit| {
        let wasm = optional_guest(kit.wasm, &format!("kits/{}/example", kit.name))?;
        let (plugin, seen) = load(kit, wasm);
        Some(Run {
            kit,
            wasm,
            plugin,
            seen,
        })
    })
}

/// Runs `check` against each kit's example whose toolchain is here, with a
/// fresh plugin and host each time.
fn for_each_kit<F, Fut>(check: F)
where
    F: Fn(Run) -> Fut,
    Fut: Future<Output = ()>,
{
    for run in runs() {
        futures::executor::block_on(check(run));
    }
}

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).expect("valid JSON in the test")
}

/// The JSON-RPC error of a failed call, as (code, message, data).
fn rpc_error(
    kit: &Kit,
    result: Result<impl std::fmt::Debug, Error>,
) -> (i32, String, Option<String>) {
    let error = result.expect_err(&format!("kit {}: the call should fail", kit.name));
    match error.into_kind() {
        ErrorKind::Plugin {
            code,
            message,
            data,
        } => (code, message, data.map(|d| d.get().to_owned())),
        other => panic!("kit {}: not a JSON-RPC error: {other:?}", kit.name),
    }
}

#[test]
fn ping_answers_pong() {
    for_each_kit(|Run { kit, plugin, .. }| async move {
        let result = plugin.call("ping", Value::Null).await;
        assert_eq!(result.ok(), Some(json!("pong")), "kit {}", kit.name);
    });
}

#[test]
fn echo_answers_its_params_exactly() {
    for_each_kit(|Run { kit, plugin, .. }| async move {
        for params in [
            "[]",
            "{}",
            r#"["héllo wörld ✓ 😀", "\u00e9\ud83d\ude00 \"quoted\" \\ \n\t"]"#,
            "[18446744073709551617, -92233720368547758080, 1.000000000000000000000001, 1E+400, -0, 0.10, 5e-324]",
            r#"{"nested": {"list": [true, false, null, {"k": []}]}, "n": 123456789012345678901234567890}"#,
        ] {
            let result = plugin.call_raw("echo", Some(raw(params))).await;
            let result = result.unwrap_or_else(|e| panic!("kit {}: echo {params}: {e}", kit.name));
            if kit.keeps_whitespace {
                assert_eq!(result.get(), params, "kit {}", kit.name);
            } else {
                assert_eq!(compact(result.get()), compact(params), "kit {}", kit.name);
            }
        }
    });
}

/// `json` without the whitespace between its tokens (strings kept as written).
fn compact(json: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in json.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii_whitespace() {
            continue;
        }
        out.push(c);
    }
    out
}

#[test]
fn add_adds_and_refuses_what_it_cannot_add() {
    for_each_kit(|Run { kit, plugin, .. }| async move {
        for (a, b) in [(2, 3), (-7, 10), (0, 0), (i64::MAX - 1, 1)] {
            let result = plugin.call_typed::<_, i64>("add", &(a, b)).await;
            let result = result.unwrap_or_else(|e| panic!("kit {}: add {a} {b}: {e}", kit.name));
            assert_eq!(result, a + b, "kit {}", kit.name);
        }
        let (code, _, _) = rpc_error(kit, plugin.call("add", json!(["two", 3])).await);
        assert_eq!(code, -32602, "kit {}: add [\"two\", 3]", kit.name);
    });
}

#[test]
fn fail_answers_an_error_with_message_and_data() {
    for_each_kit(|Run { kit, plugin, .. }| async move {
        let (code, message, data) = rpc_error(kit, plugin.call("fail", Value::Null).await);
        assert_eq!(code, -32000, "kit {}", kit.name);
        assert!(!message.is_empty(), "kit {}: an empty message", kit.name);
        let data = data.unwrap_or_else(|| panic!("kit {}: no data", kit.name));
        assert_ne!(data, "null", "kit {}", kit.name);
    });
}

#[test]
fn call_echo_answers_the_hosts_answer() {
    for_each_kit(
        |Run {
             kit, plugin, seen, ..
         }| async move {
            let params = r#"[1, "two", {"three": [3]}, 18446744073709551617, "é😀"]"#;
            let result = plugin.call_raw("call_echo", Some(raw(params))).await;
            let result = result.unwrap_or_else(|e| panic!("kit {}: call_echo: {e}", kit.name));
            let got: Value = serde_json::from_str(result.get()).expect("the result is JSON");
            let want: Value = serde_json::from_str(params).expect("the params are JSON");
            assert_eq!(got, want, "kit {}", kit.name);
            assert_eq!(
                seen.echo.load(Ordering::SeqCst),
                1,
                "kit {}: host echo calls",
                kit.name
            );
        },
    );
}

#[test]
fn call_echo_passes_a_host_error_on() {
    // The host has `echo` but does not grant it: it refuses the call with
    // -32010 (`data`: the method), and `call_echo` answers that error.
    for_each_kit(|Run { kit, wasm, .. }| async move {
        let host = HostMethods::new(()).method("echo", |_: HostContext<()>, params: Value| async {
            Ok::<_, RpcError>(params)
        });
        let denied = Plugin::from_file(wasm)
            .host_methods(host)
            .grants(Grants::none())
            .build()
            .unwrap_or_else(|e| panic!("kit {}: {e}", kit.name));
        let (code, _, data) = rpc_error(kit, denied.call("call_echo", json!([1])).await);
        assert_eq!(code, -32010, "kit {}: an ungranted host call", kit.name);
        assert_eq!(data.as_deref(), Some("\"echo\""), "kit {}", kit.name);
    });
}

#[test]
fn notify_sends_progress_to_the_host() {
    for_each_kit(
        |Run {
             kit, plugin, seen, ..
         }| async move {
            let result = plugin.call("notify", Value::Null).await;
            result.unwrap_or_else(|e| panic!("kit {}: notify: {e}", kit.name));
            assert_eq!(
                seen.progress.load(Ordering::SeqCst),
                1,
                "kit {}: progress notifications",
                kit.name
            );
        },
    );
}

#[test]
fn rpc_discover_names_the_plugin_and_its_methods() {
    for_each_kit(|Run { kit, plugin, .. }| async move {
        let doc = plugin.call("rpc.discover", Value::Null).await;
        let doc = doc.unwrap_or_else(|e| panic!("kit {}: rpc.discover: {e}", kit.name));
        let info = &doc["info"];
        let title = info["title"].as_str().unwrap_or_default();
        assert!(
            !title.is_empty(),
            "kit {}: no info.title in {doc}",
            kit.name
        );
        assert!(
            info["version"].is_string(),
            "kit {}: no info.version in {doc}",
            kit.name
        );
        assert_eq!(info["x-wasplug-protocol"], json!(1), "kit {}", kit.name);
        let listed: Vec<&str> = doc["methods"]
            .as_array()
            .unwrap_or_else(|| panic!("kit {}: no methods in {doc}", kit.name))
            .iter()
            .filter_map(|m| m["name"].as_str())
            .collect();
        for method in METHODS.iter().chain(&["rpc.discover"]) {
            assert!(
                listed.contains(method),
                "kit {}: {method} not in {listed:?}",
                kit.name
            );
        }
        let manifest = plugin.manifest();
        if kit.manifest_section {
            assert_eq!(
                plugin.manifest_source(),
                &ManifestSource::Section,
                "kit {}",
                kit.name
            );
            assert_eq!(
                manifest.name, title,
                "kit {}: manifest and rpc.discover",
                kit.name
            );
            assert_eq!(plugin.protocol_version(), Some(1), "kit {}", kit.name);
            for method in METHODS {
                assert!(
                    manifest.methods.iter().any(|m| m == method),
                    "kit {}: {method} not in the manifest's {:?}",
                    kit.name,
                    manifest.methods
                );
            }
        }
    });
}

#[test]
fn an_unknown_method_is_not_found() {
    for_each_kit(|Run { kit, plugin, .. }| async move {
        let (code, _, _) = rpc_error(kit, plugin.call("no_such_method", Value::Null).await);
        assert_eq!(code, -32601, "kit {}", kit.name);
    });
}

/// `wasplug check`'s battery: every requirement it checks passes, P-14
/// (answers after a host call) included, through `call_echo`. (Not inside
/// [`for_each_kit`]: the battery blocks, and runs its own executor.)
#[test]
fn wasplug_check_passes() {
    for Run { kit, plugin, .. } in runs() {
        let report = Checker::new()
            .call(
                "call_echo",
                Some(raw(r#"["checked", 18446744073709551617]"#)),
            )
            .check(Ok(&plugin));
        let failures: Vec<String> = report.failures().map(ToString::to_string).collect();
        assert!(
            failures.is_empty(),
            "kit {}: `wasplug check` fails:\n{}\nthe whole report:\n{report}",
            kit.name,
            failures.join("\n")
        );
        for requirement in ["P-10", "P-14"] {
            assert!(
                report
                    .rows()
                    .iter()
                    .any(|row| row.requirement == requirement && row.status == Status::Pass),
                "kit {}: {requirement} was not checked:\n{report}",
                kit.name
            );
        }
    }
}

/// The C kit on the wire: what its example writes for each line it reads,
/// stdin given line by line (one chunk each) and then closed.
#[test]
fn c_kit_on_the_wire() {
    let Some(wasm) = optional_guest(guests::KIT_C_EXAMPLE, "kits/c/example") else {
        return;
    };
    let run = |lines: &[&str]| -> String {
        let chunks: Vec<String> = lines.iter().map(|l| format!("{l}\n")).collect();
        let output = wasplug_tests::wasi::GuestRun::new(wasm)
            .stdin_chunks(chunks)
            .run()
            .unwrap_or_else(|e| panic!("the C example does not run: {e}"));
        assert_eq!(
            output.status,
            0,
            "exit status; stderr: {}",
            output.stderr_text()
        );
        output.stdout_text()
    };
    let pong = |id: &str| format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":\"pong\"}}\n");
    // Ids come back as the bytes they were: strings with escapes, any number.
    for id in [
        r#""a\u0041""#,
        "7",
        "7.50",
        "-1e3",
        r#""""#,
        "18446744073709551617",
    ] {
        let request = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        assert_eq!(run(&[&request]), pong(id), "id {id}");
    }
    // Notifications get no answer; blank lines are skipped; CRLF is accepted.
    let notification = r#"{"jsonrpc":"2.0","method":"ping","params":[]}"#;
    let crlf = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\r";
    assert_eq!(run(&[notification, "", "  ", crlf]), pong("2"));
    // Broken lines get the standard errors, with the id when there is a valid one.
    let error_code = |line: &str| -> (Value, Value) {
        let out = run(&[line]);
        let answer: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{line}: not one JSON answer ({e}): {out}"));
        (answer["id"].clone(), answer["error"]["code"].clone())
    };
    for (line, id, code) in [
        ("{bad", json!(null), -32700),
        ("\"\u{7f}\"\u{1}", json!(null), -32700),
        ("[1]", json!(null), -32600),
        ("3", json!(null), -32600),
        // No method: perhaps a broken response, whose id is not the plugin's
        // to echo (P-9).
        (r#"{"jsonrpc":"2.0","id":3}"#, json!(null), -32600),
        // An invalid would-be notification is answered too (P-9).
        (r#"{"jsonrpc":"2.0","method":1}"#, json!(null), -32600),
        (
            r#"{"jsonrpc":"1.0","id":4,"method":"ping"}"#,
            json!(4),
            -32600,
        ),
        (r#"{"jsonrpc":"2.0","id":5,"method":7}"#, json!(5), -32600),
        (
            r#"{"jsonrpc":"2.0","id":[6],"method":"ping"}"#,
            json!(null),
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":8,"method":"ping","params":1}"#,
            json!(8),
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":9,"method":"nope"}"#,
            json!(9),
            -32601,
        ),
    ] {
        assert_eq!(error_code(line), (id, json!(code)), "{line}");
    }
    // While a host call waits, a request that arrives is served after it.
    let out = run(&[
        r#"{"jsonrpc":"2.0","id":"first","method":"call_echo","params":[5]}"#,
        r#"{"jsonrpc":"2.0","id":"second","method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":[5]}"#,
    ]);
    assert_eq!(
        out,
        concat!(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[5]}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":\"first\",\"result\":[5]}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":\"second\",\"result\":\"pong\"}\n",
        )
    );
    // If stdin ends before the host answers, the call fails and is answered.
    let out = run(&[r#"{"jsonrpc":"2.0","id":1,"method":"call_echo","params":[5]}"#]);
    assert!(
        out.ends_with("\"code\":-32603,\"message\":\"stdin ended before the host answered\"}}\n"),
        "{out}"
    );
}
