//! The host kit inside a browser tab, against the real test plugin: the
//! behaviours of the native integration tests (`tests/tests/hdk`), plus what
//! only a browser has — the event loop must keep running while plugins
//! compute, sleep or wait for the host — and the JavaScript bindings of
//! [`wasplug_web::WebPlugin`].
//!
//! `cargo test -p wasplug-web --release --target wasm32-unknown-unknown`
//! runs them in the browser `$CHROMEDRIVER` drives (see `.ci/browser`).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use futures::future::join_all;
use js_sys::{Function, Object, Promise, Reflect};
use serde_json::{Value, json};
use std::{
    cell::Cell,
    rc::Rc,
    sync::{Arc, Mutex},
    time::Duration,
};
use wasm_bindgen::{JsCast, JsValue, prelude::wasm_bindgen};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, Limits, Plugin};
use wasplug_web::WebPlugin;

wasm_bindgen_test_configure!(run_in_browser);

/// The test plugin, built for `wasm32-wasip1` by `build.rs`.
const TEST_PLUGIN: &[u8] = include_bytes!(env!("WASPLUG_TEST_PLUGIN"));

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, millis: i32) -> JsValue;
    /// Milliseconds on the page's monotonic clock.
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

/// Resolves after `ms` milliseconds (a `setTimeout`).
async fn delay(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    JsFuture::from(promise).await.unwrap();
}

fn echo_methods() -> HostMethods<()> {
    HostMethods::new(()).method("echo", |_: HostContext<()>, params: Value| async move {
        Ok(params)
    })
}

fn test_plugin_with(limits: Limits) -> Plugin {
    Plugin::builder(TEST_PLUGIN)
        .name("test-plugin")
        .limits(limits)
        .host_methods(echo_methods())
        .grants(Grants::all())
        .build()
        .expect("the test plugin loads")
}

fn test_plugin() -> Plugin {
    test_plugin_with(Limits::default())
}

#[wasm_bindgen_test]
async fn ping_echo_and_discover() {
    let plugin = test_plugin();
    assert_eq!(plugin.call("ping", Value::Null).await.unwrap(), "pong");
    let payload = json!({"nested": [1, "two", {"three": null}], "unicode": "ünï ✓"});
    assert_eq!(plugin.call("echo", payload.clone()).await.unwrap(), payload);
    let doc = plugin.call("rpc.discover", Value::Null).await.unwrap();
    assert_eq!(doc["info"]["title"], "test-plugin");
    assert_eq!(plugin.protocol_version(), Some(1));
}

#[wasm_bindgen_test]
async fn host_round_trips_one_after_another_and_at_once() {
    let plugin = test_plugin();
    assert_eq!(plugin.call("many_echo", json!([200])).await.unwrap(), 200);
    assert_eq!(
        plugin.call("concurrent_echo", json!([50])).await.unwrap(),
        50
    );
}

#[wasm_bindgen_test]
async fn an_async_host_method_may_wait_on_the_event_loop() {
    let methods =
        HostMethods::new(()).method("echo", |_: HostContext<()>, params: Value| async move {
            delay(1).await;
            Ok(params)
        });
    let plugin = Plugin::builder(TEST_PLUGIN)
        .host_methods(methods)
        .grants(Grants::all())
        .build()
        .unwrap();
    assert_eq!(plugin.call("many_echo", json!([20])).await.unwrap(), 20);
    assert_eq!(
        plugin.call("concurrent_echo", json!([20])).await.unwrap(),
        20
    );
}

#[wasm_bindgen_test]
async fn prime_sieve_counts_primes() {
    let plugin = test_plugin();
    let primes = plugin.call("prime_sieve", json!([100_000])).await.unwrap();
    assert_eq!(primes, json!({"count": 9592, "limit": 100_000}));
}

#[wasm_bindgen_test]
async fn sleep_waits_on_a_browser_timer() {
    let plugin = test_plugin();
    let started = now();
    assert_eq!(plugin.call("sleep", json!([100])).await.unwrap(), 100);
    let took = now() - started;
    assert!((99.0..2_000.0).contains(&took), "sleep(100) took {took} ms");
}

#[wasm_bindgen_test]
async fn a_call_past_its_timeout_ends_on_time() {
    let plugin = test_plugin_with(Limits::default().with_timeout(Some(Duration::from_millis(100))));
    let started = now();
    let error = plugin.call("sleep", json!([10_000])).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Timeout { .. }),
        "{error:?}"
    );
    let took = now() - started;
    assert!(took < 2_000.0, "the timeout fired after {took} ms");
    assert_eq!(plugin.call("ping", Value::Null).await.unwrap(), "pong");
}

#[wasm_bindgen_test]
async fn failures_are_contained() {
    let plugin = test_plugin();
    let error = plugin.call("fail", Value::Null).await.unwrap_err();
    let ErrorKind::Plugin { code, data, .. } = error.kind() else {
        panic!("expected a plugin error, got {error:?}");
    };
    assert_eq!(*code, -32000);
    let data: Value = serde_json::from_str(data.as_ref().unwrap().get()).unwrap();
    assert_eq!(data["retry"], false);

    let error = plugin.call("panic", Value::Null).await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Trap { .. }), "{error:?}");
    assert!(
        error
            .stderr()
            .iter()
            .any(|l| l.contains("deliberate panic")),
        "{error:?}"
    );

    let error = test_plugin_with(Limits::default().with_fuel(Some(1_000_000)))
        .call("prime_sieve", json!([10_000_000]))
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::OutOfFuel { .. }),
        "{error:?}"
    );

    assert_eq!(plugin.call("ping", Value::Null).await.unwrap(), "pong");
}

#[wasm_bindgen_test]
async fn concurrent_calls_all_complete() {
    let plugin = test_plugin();
    let calls = (0..30u64).map(|i| {
        let plugin = plugin.clone();
        async move {
            match i % 5 {
                0 => plugin.call("sleep", json!([20])).await.map(|v| v == 20),
                1 => plugin.call("many_echo", json!([10])).await.map(|v| v == 10),
                2 => plugin
                    .call("prime_sieve", json!([20_000]))
                    .await
                    .map(|v| v["count"] == 2262),
                3 => plugin
                    .call("echo", json!([i]))
                    .await
                    .map(|v| v == json!([i])),
                _ => plugin.call("ping", Value::Null).await.map(|v| v == "pong"),
            }
        }
    });
    for (i, result) in join_all(calls).await.into_iter().enumerate() {
        assert_eq!(result.ok(), Some(true), "call {i}");
    }
}

#[wasm_bindgen_test]
async fn random_and_time_come_from_the_browser() {
    let plugin = test_plugin();
    let a: u64 = plugin.call_typed("get_random_number", &()).await.unwrap();
    let b: u64 = plugin.call_typed("get_random_number", &()).await.unwrap();
    assert_ne!(a, b);
    let before = js_sys::Date::now();
    let guest: f64 = plugin.call_typed("get_time", &()).await.unwrap();
    let after = js_sys::Date::now();
    assert!(
        before.floor() <= guest && guest <= after.ceil(),
        "{before} <= {guest} <= {after}"
    );
}

#[wasm_bindgen_test]
async fn stderr_lines_reach_the_logger() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let plugin = Plugin::builder(TEST_PLUGIN)
        .name("chatty")
        .logger(move |plugin: &str, line: &str| {
            sink.lock().unwrap().push(format!("{plugin}: {line}"));
        })
        .build()
        .unwrap();
    assert_eq!(plugin.call("log", json!([3])).await.unwrap(), 3);
    assert_eq!(
        *lines.lock().unwrap(),
        [
            "chatty: log line 0",
            "chatty: log line 1",
            "chatty: log line 2"
        ]
    );
}

/// Runs `setTimeout(1)` ticks until `done`; returns the longest gap between
/// two ticks, in ms, and how many ran.
async fn tick_until(done: Rc<Cell<bool>>) -> (f64, u32) {
    let mut last = now();
    let mut longest: f64 = 0.0;
    let mut ticks = 0;
    while !done.get() {
        delay(1).await;
        let t = now();
        longest = longest.max(t - last);
        last = t;
        ticks += 1;
    }
    (longest, ticks)
}

/// Calls `method` of the test plugin while `setTimeout(1)` ticks run, checks
/// that the event loop kept running (no tick waited 100 ms or more, and at
/// least two ran), and returns the call's result.
async fn call_while_ticking(method: &str, params: Value) -> Value {
    let plugin = test_plugin();
    let done = Rc::new(Cell::new(false));
    let ticker = tick_until(Rc::clone(&done));
    let call = async {
        let started = now();
        let result = plugin.call(method, params).await;
        done.set(true);
        (result, now() - started)
    };
    let ((longest, ticks), (result, took)) = futures::future::join(ticker, call).await;
    assert!(
        longest < 100.0,
        "a timer waited {longest} ms while the plugin ran {method}"
    );
    assert!(ticks >= 2, "{ticks} timer ticks in {took} ms");
    result.unwrap()
}

#[wasm_bindgen_test]
async fn the_event_loop_keeps_running_while_a_plugin_computes() {
    let primes = call_while_ticking("prime_sieve", json!([2_000_000])).await;
    assert_eq!(primes["count"], 148_933);
}

#[wasm_bindgen_test]
async fn the_event_loop_keeps_running_while_a_plugin_calls_the_host() {
    // Each answer of the echo host method is ready at once, so the guest
    // resumes in the same poll: the time budget of the poll, not the end of a
    // fuel slice, must hand the thread back to the event loop.
    assert_eq!(call_while_ticking("many_echo", json!([3000])).await, 3000);
}

/// A `WebPlugin` whose host methods are JavaScript functions.
fn web_plugin(host: &[(&str, &str)]) -> WebPlugin {
    let methods = Object::new();
    for (name, body) in host {
        let function = Function::new_with_args("params", body);
        Reflect::set(&methods, &(*name).into(), &function).unwrap();
    }
    let options = Object::new();
    Reflect::set(&options, &"name".into(), &"web".into()).unwrap();
    Reflect::set(&options, &"host".into(), &methods).unwrap();
    WebPlugin::new(TEST_PLUGIN, Some(options)).unwrap()
}

async fn web_call(plugin: &WebPlugin, method: &str, params: &str) -> Result<JsValue, JsValue> {
    let params = js_sys::JSON::parse(params).unwrap();
    JsFuture::from(plugin.call(method.to_owned(), params)).await
}

#[wasm_bindgen_test]
async fn web_plugin_calls_javascript_host_methods() {
    let plugin = web_plugin(&[
        ("echo", "return params;"),
        (
            "slow_echo",
            "return new Promise(r => setTimeout(() => r(params), 1));",
        ),
    ]);
    assert_eq!(plugin.name(), "web");
    let pong = web_call(&plugin, "ping", "null").await.unwrap();
    assert_eq!(pong.as_string().as_deref(), Some("pong"));
    let n = web_call(&plugin, "many_echo", "[30]").await.unwrap();
    assert_eq!(n.as_f64(), Some(30.0));
    let primes = web_call(&plugin, "prime_sieve", "[1000]").await.unwrap();
    let count = Reflect::get(&primes, &"count".into()).unwrap();
    assert_eq!(count.as_f64(), Some(168.0));
}

#[wasm_bindgen_test]
async fn web_plugin_errors_say_what_failed() {
    let plugin = web_plugin(&[("echo", "throw { code: 7, message: 'no echo today' };")]);
    let error = web_call(&plugin, "fail", "null").await.unwrap_err();
    let get = |key: &str| Reflect::get(&error, &key.into()).unwrap();
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get("kind").as_string().as_deref(), Some("Plugin"));
    assert_eq!(get("code").as_f64(), Some(-32000.0));

    // The host method's error reaches the plugin, which gives up on it.
    let error = web_call(&plugin, "many_echo", "[1]").await.unwrap_err();
    let message = Reflect::get(&error, &"message".into()).unwrap();
    assert!(
        message.as_string().unwrap().contains("no echo today"),
        "{message:?}"
    );

    let error = web_call(&plugin, "panic", "null").await.unwrap_err();
    let kind = Reflect::get(&error, &"kind".into()).unwrap();
    assert_eq!(kind.as_string().as_deref(), Some("Trap"));
}
