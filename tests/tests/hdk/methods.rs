//! Every method of the test plugin, under every executor.

use serde_json::{Value, json};
use wasplug_hdk::Error;
use wasplug_tests::host::{on_each_executor, test_plugin};

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
        let Error::Plugin {
            code,
            message,
            data,
        } = error
        else {
            panic!("expected a plugin error, got {error:?}");
        };
        assert_eq!(code, -32000);
        assert_eq!(message, "deliberate failure");
        assert_eq!(
            data,
            Some(json!({"reason": "the test asked for it", "retry": false}))
        );
    });
}

#[test]
fn panic_is_a_trap_with_the_panic_message() {
    on_each_executor(|| async {
        let plugin = test_plugin();
        let error = plugin.call("panic", Value::Null).await.unwrap_err();
        let Error::Trap { code, stderr, .. } = &error else {
            panic!("expected a trap, got {error:?}");
        };
        assert_eq!(*code, Some(wasmi::TrapCode::UnreachableCodeReached));
        assert!(
            stderr.iter().any(|l| l.contains("deliberate panic")),
            "{stderr:?}"
        );
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
        let plugin = test_plugin();
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
            matches!(error, Error::Plugin { code: -32601, .. }),
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
            matches!(error, Error::Plugin { code: -32602, .. }),
            "{error:?}"
        );
    });
}
