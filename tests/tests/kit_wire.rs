//! The Go, Zig and AssemblyScript kits' example plugins
//! (`kits/{go,zig,assemblyscript}/example`) through
//! the host kit and on the wire: the shared kit scenario (ping, echo, add, a
//! failing method, a host call, a notification, `rpc.discover`), where each
//! finds its manifest, and how a host call interleaves with other requests.

use futures::executor::block_on;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, ManifestSource, Plugin};
use wasplug_tests::wasi::GuestRun;
use wasplug_tests::{guests, optional_guest};

/// A kit whose example these tests run.
struct Kit {
    /// The kit, as `kits/<name>`.
    name: &'static str,
    /// Its example, built by `tests/build.rs` (`None`: no toolchain).
    wasm: Option<&'static str>,
    /// The example's name (its file stem and manifest name).
    example: &'static str,
    /// Whether its manifest is a sidecar file (Go cannot write custom
    /// sections) rather than a custom section.
    sidecar: bool,
    /// Whether it answers requests that arrive while a host call waits
    /// before that call's answer (Go: a goroutine each; Zig: re-entrantly),
    /// rather than queuing them until the waiting request is answered
    /// (AssemblyScript, one handler at a time).
    serves_while_calling: bool,
}

const KITS: &[Kit] = &[
    Kit {
        name: "go",
        wasm: guests::GO_KIT_EXAMPLE,
        example: "go-example",
        sidecar: true,
        serves_while_calling: true,
    },
    Kit {
        name: "zig",
        wasm: guests::ZIG_KIT_EXAMPLE,
        example: "zig-example",
        sidecar: false,
        serves_while_calling: true,
    },
    Kit {
        name: "assemblyscript",
        wasm: guests::AS_KIT_EXAMPLE,
        example: "as-example",
        sidecar: false,
        serves_while_calling: false,
    },
];

/// Runs `test` on each kit's example (skipped, or failing on CI, when its
/// toolchain is missing).
fn for_each_kit(test: impl Fn(&Kit, &'static str)) {
    for kit in KITS {
        if let Some(wasm) = optional_guest(kit.wasm, &format!("kits/{}/example", kit.name)) {
            test(kit, wasm);
        }
    }
}

/// The params of each `progress` notification the plugin sent.
type Seen = Arc<Mutex<Vec<Value>>>;

/// The example plugin with the host's `echo` method and `progress`
/// notification (recording into `seen`) granted.
fn example(wasm: &str, seen: &Seen) -> Plugin {
    let methods = HostMethods::new(Arc::clone(seen))
        .method(
            "echo",
            |_ctx: HostContext<Seen>, params: Value| async move { Ok(params) },
        )
        .notification(
            "progress",
            |ctx: HostContext<Seen>, params: Value| async move {
                ctx.state().lock().unwrap().push(params);
            },
        );
    Plugin::from_file(wasm)
        .host_methods(methods)
        .grants(Grants::methods(["echo", "progress"]))
        .build()
        .unwrap()
}

#[test]
fn the_kit_example_plays_the_scenario() {
    for_each_kit(|kit, wasm| {
        let seen = Seen::default();
        let plugin = example(wasm, &seen);

        // Its manifest comes from the sidecar file copied beside it (Go), or
        // from its custom section (Zig, AssemblyScript).
        if kit.sidecar {
            assert!(matches!(
                plugin.manifest_source(),
                ManifestSource::Sidecar(_)
            ));
        } else {
            assert!(matches!(plugin.manifest_source(), ManifestSource::Section));
        }
        assert_eq!(plugin.name(), kit.example);
        let methods = ["ping", "echo", "add", "fail", "call_echo", "notify"];
        assert_eq!(plugin.manifest().methods, methods);

        block_on(async {
            assert_eq!(plugin.call("ping", Value::Null).await.unwrap(), "pong");

            // Params come back byte for byte: unicode, a number beyond 64 bits.
            let params = r#"["héllo wörld ✓ 🦀",18446744073709551617,-1.5e300,{"k":"<&>"}]"#;
            let raw = serde_json::value::RawValue::from_string(params.to_owned()).unwrap();
            let echoed = plugin.call_raw("echo", Some(raw)).await.unwrap();
            assert_eq!(echoed.get(), params);

            let sum: i64 = plugin.call_typed("add", &[40, 2]).await.unwrap();
            assert_eq!(sum, 42);
            let error = plugin.call("add", json!(["x", 1])).await.unwrap_err();
            assert!(matches!(
                error.kind(),
                ErrorKind::Plugin { code: -32602, .. }
            ));

            let error = plugin.call("fail", Value::Null).await.unwrap_err();
            let ErrorKind::Plugin {
                code,
                message,
                data,
            } = error.kind()
            else {
                panic!("not the plugin's error: {error}");
            };
            assert_eq!((*code, message.as_str()), (-32000, "failed on purpose"));
            let data: Value = serde_json::from_str(data.as_ref().unwrap().get()).unwrap();
            assert_eq!(
                data,
                json!({"reason": "the scenario asks for it", "retry": false})
            );

            let answer = plugin
                .call("call_echo", json!({"n": 7, "s": "ü"}))
                .await
                .unwrap();
            assert_eq!(answer, json!({"n": 7, "s": "ü"}));

            assert_eq!(
                plugin.call("notify", Value::Null).await.unwrap(),
                "notified"
            );
            assert_eq!(*seen.lock().unwrap(), [json!([1])]);

            let doc = plugin.call("rpc.discover", Value::Null).await.unwrap();
            assert_eq!(doc["info"]["title"], kit.example);
            assert_eq!(doc["info"]["version"], "1.0.0");
            assert_eq!(doc["info"]["x-wasplug-protocol"], 1);
            let listed: Vec<&str> = doc["methods"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["name"].as_str())
                .collect();
            let mut expected = methods.to_vec();
            expected.push("rpc.discover");
            assert_eq!(listed, expected);

            let error = plugin.call("nope", Value::Null).await.unwrap_err();
            assert!(matches!(
                error.kind(),
                ErrorKind::Plugin { code: -32601, .. }
            ));
        });
    });
}

#[test]
fn a_kit_host_call_that_is_not_granted_fails_with_the_hosts_error() {
    for_each_kit(|_, wasm| {
        let echo = HostMethods::new(())
            .method("echo", |_ctx: HostContext<()>, params: Value| async move {
                Ok(params)
            });
        let plugin = Plugin::from_file(wasm).host_methods(echo).build().unwrap(); // nothing granted
        let error = block_on(plugin.call("call_echo", json!([1]))).unwrap_err();
        // The host's -32010 reaches the handler, which passes it on unchanged.
        assert!(
            matches!(error.kind(), ErrorKind::Plugin { code: -32010, .. }),
            "{error}"
        );
    });
}

/// Runs the example on the raw protocol: `chunks` one at a time on stdin
/// (each when it waits for input), then the end of input. Returns its
/// stdout lines and exit status.
fn raw_run(wasm: &str, chunks: &[&str]) -> (Vec<String>, i32) {
    let out = GuestRun::new(wasm)
        .stdin_chunks(chunks.iter().map(|c| c.as_bytes().to_vec()))
        .run()
        .unwrap();
    let lines = out.stdout_text().lines().map(str::to_owned).collect();
    (lines, out.status)
}

#[test]
fn a_kit_host_call_waits_while_other_requests_are_answered() {
    for_each_kit(|kit, wasm| {
        let (lines, status) = raw_run(
            wasm,
            &[
                "{\"jsonrpc\":\"2.0\",\"id\":\"c\",\"method\":\"call_echo\",\"params\":[5]}\n",
                "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}\n",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[\"from the host\"]}\n",
            ],
        );
        assert_eq!(status, 0);
        let messages: Vec<Value> = lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let request = json!({"jsonrpc": "2.0", "method": "echo", "params": [5], "id": 1});
        let pong = json!({"jsonrpc": "2.0", "id": 7, "result": "pong"});
        let answer = json!({"jsonrpc": "2.0", "id": "c", "result": ["from the host"]});
        // The ping is answered while call_echo waits for the host's answer,
        // or queued and answered after it.
        let expected = if kit.serves_while_calling {
            [request, pong, answer]
        } else {
            [request, answer, pong]
        };
        assert_eq!(messages, expected, "kit {}: {lines:?}", kit.name);
    });
}

#[test]
fn the_kit_echoes_ids_verbatim_and_answers_what_it_cannot_read() {
    for_each_kit(|_, wasm| {
        let (lines, status) = raw_run(
            wasm,
            &[
                "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551617000,\"method\":\"ping\"}\n",
                "{\"jsonrpc\":\"2.0\",\"id\":\"\\u00e9\",\"method\":\"ping\"}\n",
                "not json\n",
                "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n",
                "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n",
                "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}\n",
                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":[1]}\n",
                // A host call whose answer never comes: stdin ends first.
                "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"call_echo\",\"params\":[]}\n",
            ],
        );
        assert_eq!(status, 0);
        let codes: Vec<(String, Value)> = lines
            .iter()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap();
                (line.clone(), v["error"]["code"].clone())
            })
            .collect();
        assert_eq!(codes.len(), 8, "{lines:?}"); // the notification got no answer
        assert!(lines[0].contains(r#""id":18446744073709551617000,"result":"pong""#));
        assert!(lines[1].contains(r#""id":"\u00e9","result":"pong""#));
        let expected = [
            (2, -32700),
            (3, -32600),
            (4, -32600),
            (5, -32602),
            (7, -32603),
        ];
        for (index, code) in expected {
            assert_eq!(codes[index].1, code, "{lines:?}");
        }
        assert!(lines[6].contains(r#""method":"echo""#), "{lines:?}");
        assert!(lines[7].contains("stdin ended"), "{lines:?}");
    });
}
