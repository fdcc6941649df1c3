//! Plugin → host calls: sequential, concurrent, errors, notifications.

use serde_json::{Value, json};
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, Limits, Plugin, RpcError};
use wasplug_tests::{
    guests,
    host::{on_each_executor, test_plugin, test_plugin_builder},
};

#[test]
fn two_hundred_sequential_round_trips() {
    on_each_executor(|| async {
        let n: u64 = test_plugin().call_typed("many_echo", &[200]).await.unwrap();
        assert_eq!(n, 200);
    });
}

#[test]
fn one_hundred_concurrent_round_trips() {
    on_each_executor(|| async {
        let plugin = test_plugin_builder(Limits::default().with_host_calls(100))
            .build()
            .unwrap();
        let n: u64 = plugin.call_typed("concurrent_echo", &[100]).await.unwrap();
        assert_eq!(n, 100);
    });
}

/// State for a host whose `echo` counts how many calls are in flight at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
}

#[test]
fn concurrent_host_calls_are_served_concurrently() {
    futures::executor::block_on(async {
        let gauge = Arc::new(Gauge::default());
        let methods = HostMethods::new(Arc::clone(&gauge)).method(
            "echo",
            |ctx: HostContext<Arc<Gauge>>, params: Value| async move {
                let gauge = ctx.state();
                let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                gauge.most.fetch_max(now, Ordering::SeqCst);
                // Let the other calls start before this one answers.
                yield_once().await;
                gauge.now.fetch_sub(1, Ordering::SeqCst);
                Ok(params)
            },
        );
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .host_methods(methods)
            .grants(Grants::all())
            .build()
            .unwrap();
        let n: u64 = plugin.call_typed("concurrent_echo", &[20]).await.unwrap();
        assert_eq!(n, 20);
        // The plugin sent all 20 requests at once; the host served them together.
        assert_eq!(gauge.most.load(Ordering::SeqCst), 20);
        assert_eq!(gauge.now.load(Ordering::SeqCst), 0);
    });
}

/// Returns `Pending` once (waking itself), so sibling futures get polled.
async fn yield_once() {
    let mut yielded = false;
    futures::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[test]
fn host_errors_reach_the_plugin_with_code_message_and_data() {
    on_each_executor(|| async {
        let methods =
            HostMethods::new(()).method("echo", |_: HostContext<()>, _: Value| async move {
                Err::<Value, _>(
                    RpcError::new(-32042, "host says no").with_data(json!({"why": "test"})),
                )
            });
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .host_methods(methods)
            .grants(Grants::all())
            .build()
            .unwrap();
        // many_echo passes the host's error on as its own.
        let error = plugin.call("many_echo", json!([3])).await.unwrap_err();
        let ErrorKind::Plugin {
            code,
            message,
            data,
        } = error.kind()
        else {
            panic!("expected the host's error, got {error:?}");
        };
        assert_eq!((*code, message.as_str()), (-32042, "host says no"));
        assert_eq!(data.as_ref().map(|d| d.get()), Some(r#"{"why":"test"}"#));
    });
}

#[test]
fn unknown_host_method_answers_method_not_found_saying_host() {
    on_each_executor(|| async {
        // No host methods at all: the plugin's `echo` call gets -32601, with
        // a message that cannot be mistaken for the plugin lacking a method.
        let plugin = Plugin::from_file(guests::TEST_PLUGIN).build().unwrap();
        let error = plugin.call("many_echo", json!([1])).await.unwrap_err();
        let ErrorKind::Plugin { code, message, .. } = error.kind() else {
            panic!("expected the host's error, got {error:?}");
        };
        assert_eq!(*code, -32601);
        assert_eq!(message, "host method not found: `echo`");
        // The plugin lacking the method called reads differently.
        let error = plugin.call("no_such_method", json!([])).await.unwrap_err();
        let ErrorKind::Plugin { code, message, .. } = error.kind() else {
            panic!("expected the plugin's error, got {error:?}");
        };
        assert_eq!(*code, -32601);
        assert!(!message.contains("host"), "{message}");
    });
}

#[test]
fn host_methods_use_question_mark_on_std_errors_and_choose_codes() {
    on_each_executor(|| async {
        let methods = HostMethods::new(())
            .method(
                "parse",
                |_: HostContext<()>, (text,): (String,)| async move {
                    let n: u8 = text.parse()?;
                    Ok(n)
                },
            )
            .method("refuse", |_: HostContext<()>, ()| async {
                Err::<(), _>(RpcError::new(-32001, "not today"))
            });
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .host_methods(methods)
            .grants(Grants::all())
            .build()
            .unwrap();
        let n = plugin
            .call("call_host", json!(["parse", ["200"]]))
            .await
            .unwrap();
        assert_eq!(n, 200);
        let error = plugin
            .call("call_host", json!(["parse", ["300"]]))
            .await
            .unwrap_err();
        let ErrorKind::Plugin { code, message, .. } = error.kind() else {
            panic!("expected the host's error, got {error:?}");
        };
        assert_eq!(*code, -32603);
        assert_eq!(message, "number too large to fit in target type");
        let error = plugin
            .call("call_host", json!(["refuse", null]))
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Plugin { code: -32001, message, .. } if message == "not today"),
            "{error:?}"
        );
    });
}

#[test]
fn host_method_with_bad_params_answers_invalid_params() {
    on_each_executor(|| async {
        let methods = HostMethods::new(())
            .method("echo", |_: HostContext<()>, n: String| async move { Ok(n) });
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .host_methods(methods)
            .grants(Grants::all())
            .build()
            .unwrap();
        let error = plugin.call("many_echo", json!([1])).await.unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Plugin { code: -32602, .. }),
            "{error:?}"
        );
    });
}

/// What the `progress` handler saw: `(plugin name, step)`.
type Seen = Arc<std::sync::Mutex<Vec<(String, u64)>>>;

#[test]
fn notifications_reach_their_handler_with_the_plugin_name() {
    on_each_executor(|| async {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let methods = HostMethods::new(Arc::clone(&seen)).notification(
            "progress",
            |ctx: HostContext<Seen>, step: u64| async move {
                ctx.state()
                    .lock()
                    .unwrap()
                    .push((ctx.plugin().to_owned(), step));
            },
        );
        let plugin = Plugin::from_file(guests::TEST_PLUGIN)
            .name("notifier")
            .host_methods(methods)
            .grants(Grants::all())
            .build()
            .unwrap();
        let n: u64 = plugin.call_typed("notify", &[3]).await.unwrap();
        assert_eq!(n, 3);
        let seen = seen.lock().unwrap().clone();
        let expected: Vec<(String, u64)> = (0..3).map(|i| ("notifier".to_owned(), i)).collect();
        assert_eq!(seen, expected);
    });
}
