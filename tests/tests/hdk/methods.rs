//! Every method of the test plugin, under every executor.

use serde_json::{Value, json};
use std::time::Duration;
use wasplug_hdk::{ErrorKind, Limits};
use wasplug_tests::host::{on_each_executor, test_plugin, test_plugin_builder};

#[test]
fn ping_echo_and_discover() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        assert_eq!(
            plugin.call("ping", Value::Null).await.unwrap(),
            json!("pong")
        );
        let payload = json!({"nested": [1, "two", {"three": null}], "unicode": "ünï ✓"});
        assert_eq!(plugin.call("echo", payload.clone()).await.unwrap(), payload);
        let doc = plugin.call("rpc.discover", Value::Null).await.unwrap();
        assert_eq!(doc["info"]["title"], "test-plugin");
        assert_eq!(doc["info"]["x-wasplug-protocol"], 1);
        let names: Vec<&str> = doc["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        for method in [
            "ping",
            "echo",
            "sleep",
            "many_echo",
            "prime_sieve",
            "fail",
            "panic",
            "log",
            "big",
        ] {
            assert!(names.contains(&method), "{method} missing from {names:?}");
        }
        assert_eq!(plugin.protocol_version(), Some(1));
    });
}

#[test]
fn random_numbers_differ_between_calls() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let a: u64 = plugin.call_typed("get_random_number", &()).await.unwrap();
        let b: u64 = plugin.call_typed("get_random_number", &()).await.unwrap();
        assert_ne!(a, b);
    });
}

#[test]
fn time_is_the_hosts_time() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let guest: u64 = plugin.call_typed("get_time", &()).await.unwrap();
        let after = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(
            before <= guest && guest <= after,
            "{before} <= {guest} <= {after}"
        );
    });
}

#[test]
fn sleep_waits_at_least_as_long_as_asked() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let started = std::time::Instant::now();
        let slept: u64 = plugin.call_typed("sleep", &[60]).await.unwrap();
        assert_eq!(slept, 60);
        let elapsed = started.elapsed();
        assert!(
            elapsed >= std::time::Duration::from_millis(60),
            "{elapsed:?}"
        );
        assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    });
}

#[test]
fn prime_sieve_counts_primes() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let small = plugin.call("prime_sieve", json!([1])).await.unwrap();
        assert_eq!(small, json!({"count": 0, "limit": 1}));
        let large = plugin.call("prime_sieve", json!([100_000])).await.unwrap();
        assert_eq!(large, json!({"count": 9592, "limit": 100_000}));
    });
}

#[test]
fn fail_keeps_code_message_and_data() {
    on_each_executor(|| async {
        let error = test_plugin().call("fail", Value::Null).await.unwrap_err();
        let ErrorKind::Plugin {
            code,
            message,
            data,
        } = error.kind()
        else {
            panic!("expected a plugin error, got {error:?}");
        };
        assert_eq!(*code, -32000);
        assert_eq!(message, "deliberate failure");
        let data: Value = serde_json::from_str(data.as_ref().unwrap().get()).unwrap();
        assert_eq!(
            data,
            json!({"reason": "the test asked for it", "retry": false})
        );
        assert_eq!(
            (error.plugin(), error.method()),
            (Some("test-plugin"), Some("fail"))
        );
    });
}

#[test]
fn a_panic_is_a_trap_whose_message_leads_with_the_panic() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let error = plugin.call("panic", Value::Null).await.unwrap_err();
        let ErrorKind::Trap { code, .. } = error.kind() else {
            panic!("expected a trap, got {error:?}");
        };
        assert_eq!(*code, Some(wasmi::TrapCode::UnreachableCodeReached));
        // The panic message, not the `RUST_BACKTRACE` note after it.
        let summary = error.stderr_summary().unwrap();
        assert!(
            summary.starts_with("panicked at ") && summary.ends_with(": deliberate panic"),
            "{summary}"
        );
        assert!(
            error.stderr().last().unwrap().contains("RUST_BACKTRACE"),
            "{:?}",
            error.stderr()
        );
        let message = error.to_string();
        assert!(
            message.starts_with("plugin `test-plugin`, method `panic`: the plugin panicked at "),
            "{message}"
        );
        assert!(message.contains(": deliberate panic (trap: "), "{message}");
        // Contained: the same plugin serves the next call.
        assert_eq!(
            plugin.call("ping", Value::Null).await.unwrap(),
            json!("pong")
        );
    });
}

#[test]
fn log_and_big() {
    on_each_executor(|| async {
        // A correctness test, not a timed one: a MiB through a debug build
        // of the interpreter may take longer than the default timeout.
        let patient = Limits::default().with_timeout(Some(Duration::from_secs(600)));
        let plugin = test_plugin_builder(patient).build().unwrap();
        assert_eq!(plugin.call("log", json!([5])).await.unwrap(), json!(5));
        let big: String = plugin.call_typed("big", &[1 << 20]).await.unwrap();
        assert_eq!(big.len(), 1 << 20);
        assert!(big.bytes().all(|b| b == b'x'));
    });
}

#[test]
fn unknown_method_is_method_not_found() {
    on_each_executor(|| async {
        let error = test_plugin()
            .call("no_such_method", Value::Null)
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Plugin { code: -32601, .. }),
            "{error:?}"
        );
    });
}

#[test]
fn plugin_methods_use_question_mark_on_std_errors() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        assert_eq!(plugin.call("parse", json!(["-12"])).await.unwrap(), -12);
        let error = plugin.call("parse", json!(["twelve"])).await.unwrap_err();
        assert!(
            matches!(
                error.kind(),
                ErrorKind::Plugin { code: -32603, message, .. }
                    if message == "invalid digit found in string"
            ),
            "{error:?}"
        );
    });
}

#[test]
fn bad_params_are_invalid_params() {
    on_each_executor(|| async {
        let error = test_plugin()
            .call("prime_sieve", json!(["many"]))
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Plugin { code: -32602, .. }),
            "{error:?}"
        );
    });
}
