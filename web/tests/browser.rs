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
    cell::{Cell, RefCell},
    rc::Rc,
    sync::{Arc, Mutex},
    time::Duration,
};
use wasm_bindgen::{
    JsCast, JsValue,
    prelude::{Closure, wasm_bindgen},
};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasplug_hdk::{ErrorKind, Grants, HostContext, HostMethods, Limits, Plugin};
use wasplug_web::{WebPlugin, WebPluginOptions};
use web_sys::AbortController;

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

#[wasm_bindgen_test]
async fn host_methods_and_the_logger_may_hold_values_that_are_not_send() {
    // In a browser the host kit asks no `Send + Sync` of handlers, their
    // state or the logger: an `Rc` (or a JS value) is fine.
    let calls = Rc::new(Cell::new(0));
    let counted = Rc::clone(&calls);
    let methods = HostMethods::new(Rc::new(Cell::new(10))).method(
        "echo",
        move |ctx: HostContext<Rc<Cell<u32>>>, params: Value| {
            counted.set(counted.get() + 1);
            ctx.state().set(ctx.state().get() + 1);
            async move { Ok(params) }
        },
    );
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&lines);
    let plugin = Plugin::builder(TEST_PLUGIN)
        .host_methods(methods)
        .grants(Grants::all())
        .logger(move |_: &str, line: &str| sink.borrow_mut().push(line.to_owned()))
        .build()
        .unwrap();
    assert_eq!(plugin.call("many_echo", json!([5])).await.unwrap(), 5);
    assert_eq!(calls.get(), 5);
    assert_eq!(plugin.call("log", json!([2])).await.unwrap(), 2);
    assert_eq!(*lines.borrow(), ["log line 0", "log line 1"]);
}

/// Options for `new WebPlugin`: `name` "web", `host` methods made of
/// `(name, body)` JS functions of `params`, and `extra` options.
fn web_plugin_options(host: &[(&str, &str)], extra: &[(&str, JsValue)]) -> WebPluginOptions {
    let methods = Object::new();
    for (name, body) in host {
        let function = Function::new_with_args("params", body);
        Reflect::set(&methods, &(*name).into(), &function).unwrap();
    }
    let options = Object::new();
    Reflect::set(&options, &"name".into(), &"web".into()).unwrap();
    Reflect::set(&options, &"host".into(), &methods).unwrap();
    for (key, value) in extra {
        Reflect::set(&options, &(*key).into(), value).unwrap();
    }
    options.unchecked_into()
}

/// A `WebPlugin` whose host methods are JavaScript functions.
fn web_plugin(host: &[(&str, &str)]) -> WebPlugin {
    WebPlugin::new(TEST_PLUGIN, Some(web_plugin_options(host, &[]))).unwrap()
}

/// `plugin.call(method, JSON.parse(params), options)`.
async fn web_call_with(
    plugin: &WebPlugin,
    method: &str,
    params: &str,
    options: &[(&str, JsValue)],
) -> Result<JsValue, JsValue> {
    let params = js_sys::JSON::parse(params).unwrap();
    let call_options = Object::new();
    for (key, value) in options {
        Reflect::set(&call_options, &(*key).into(), value).unwrap();
    }
    let promise = plugin.call(
        method.to_owned(),
        Some(params),
        Some(call_options.unchecked_into()),
    );
    JsFuture::from(promise).await
}

async fn web_call(plugin: &WebPlugin, method: &str, params: &str) -> Result<JsValue, JsValue> {
    web_call_with(plugin, method, params, &[]).await
}

/// `value[key]`.
fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

/// The `kind` of a rejected call's error.
fn kind_of(error: &JsValue) -> Option<String> {
    field(error, "kind").as_string()
}

#[wasm_bindgen_test]
async fn web_plugin_calls_plain_and_async_javascript_host_methods() {
    let plugin = web_plugin(&[
        (
            "echo",
            "return new Promise(r => setTimeout(() => r(params), 1));",
        ),
        ("add", "return params[0] + params[1];"),
        // Host methods run with the `host` object as `this`.
        ("twice", "return this.add([params[0], params[0]]);"),
        ("nothing", "return undefined;"),
    ]);
    assert_eq!(plugin.name(), "web");
    let pong = web_call(&plugin, "ping", "null").await.unwrap();
    assert_eq!(pong.as_string().as_deref(), Some("pong"));
    let n = web_call(&plugin, "many_echo", "[30]").await.unwrap();
    assert_eq!(n.as_f64(), Some(30.0));
    let n = web_call(&plugin, "concurrent_echo", "[10]").await.unwrap();
    assert_eq!(n.as_f64(), Some(10.0));
    let sum = web_call(&plugin, "call_host", r#"["add", [2, 3]]"#)
        .await
        .unwrap();
    assert_eq!(sum.as_f64(), Some(5.0));
    let twice = web_call(&plugin, "call_host", r#"["twice", [21]]"#)
        .await
        .unwrap();
    assert_eq!(twice.as_f64(), Some(42.0));
    let nothing = web_call(&plugin, "call_host", r#"["nothing", null]"#)
        .await
        .unwrap();
    assert!(nothing.is_null(), "{nothing:?}");
    let primes = web_call(&plugin, "prime_sieve", "[1000]").await.unwrap();
    assert_eq!(field(&primes, "count").as_f64(), Some(168.0));
    // Params may be left out.
    let pong = JsFuture::from(plugin.call("ping".into(), None, None))
        .await
        .unwrap();
    assert_eq!(pong.as_string().as_deref(), Some("pong"));
}

#[wasm_bindgen_test]
async fn web_plugin_errors_say_what_failed() {
    let plugin = web_plugin(&[
        (
            "echo",
            "throw { code: 7, message: 'no echo today', data: { why: 'tired' } };",
        ),
        ("slow_fail", "return Promise.reject(new Error('later'));"),
    ]);
    let error = web_call(&plugin, "fail", "null").await.unwrap_err();
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(kind_of(&error).as_deref(), Some("Plugin"));
    assert_eq!(field(&error, "code").as_f64(), Some(-32000.0));
    assert_eq!(field(&error, "plugin").as_string().as_deref(), Some("web"));
    assert_eq!(field(&error, "method").as_string().as_deref(), Some("fail"));

    // The host method's error reaches the plugin, which gives up on it.
    let error = web_call(&plugin, "many_echo", "[1]").await.unwrap_err();
    let message = field(&error, "message").as_string().unwrap();
    assert!(message.contains("no echo today"), "{message}");
    // ... and through `call_host`, the code and data reach it unchanged.
    let error = web_call(&plugin, "call_host", r#"["echo", null]"#)
        .await
        .unwrap_err();
    assert_eq!(field(&error, "code").as_f64(), Some(7.0));
    let why = field(&field(&error, "data"), "why");
    assert_eq!(why.as_string().as_deref(), Some("tired"));
    let error = web_call(&plugin, "call_host", r#"["slow_fail", null]"#)
        .await
        .unwrap_err();
    assert_eq!(field(&error, "code").as_f64(), Some(-32000.0));

    let error = web_call(&plugin, "panic", "null").await.unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("Trap"));
    let stderr: js_sys::Array = field(&error, "stderr").unchecked_into();
    assert!(
        stderr
            .iter()
            .any(|l| l.as_string().unwrap().contains("deliberate panic")),
        "{stderr:?}"
    );

    let error = web_call(&plugin, "echo", r#""not structured""#)
        .await
        .unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("InvalidParams"));
    let not_a_signal = [("signal", JsValue::from_str("stop"))];
    let error = web_call_with(&plugin, "ping", "null", &not_a_signal)
        .await
        .unwrap_err();
    assert!(error.is_instance_of::<js_sys::TypeError>(), "{error:?}");

    let error = WebPlugin::new(b"not wasm", None).err().unwrap();
    assert_eq!(kind_of(&error).as_deref(), Some("InvalidModule"));
}

#[wasm_bindgen_test]
async fn web_plugin_hands_stderr_lines_to_on_log() {
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&lines);
    let on_log = Closure::<dyn FnMut(String, String)>::new(move |plugin: String, line: String| {
        sink.borrow_mut().push(format!("{plugin}: {line}"));
    });
    let options = web_plugin_options(&[], &[("onLog", on_log.as_ref().clone())]);
    let plugin = WebPlugin::new(TEST_PLUGIN, Some(options)).unwrap();
    let n = web_call(&plugin, "log", "[3]").await.unwrap();
    assert_eq!(n.as_f64(), Some(3.0));
    assert_eq!(
        *lines.borrow(),
        ["web: log line 0", "web: log line 1", "web: log line 2"]
    );

    // A throwing `onLog` neither loses the line (it goes to the console)
    // nor fails the call.
    let throwing = Function::new_with_args("plugin, line", "throw new Error('no log');");
    let options = web_plugin_options(&[], &[("onLog", throwing.into())]);
    let plugin = WebPlugin::new(TEST_PLUGIN, Some(options)).unwrap();
    let n = web_call(&plugin, "log", "[1]").await.unwrap();
    assert_eq!(n.as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn an_aborted_signal_cancels_a_running_call() {
    let plugin = web_plugin(&[]);
    // A computing plugin: prime_sieve(10 000 000) takes far longer than
    // the 20 ms before the abort.
    let controller = AbortController::new().unwrap();
    let signal = [("signal", JsValue::from(controller.signal()))];
    let call = web_call_with(&plugin, "prime_sieve", "[10000000]", &signal);
    let abort = async {
        delay(20).await;
        controller.abort_with_reason(&"enough".into());
        now()
    };
    let (outcome, aborted_at) = futures::future::join(call, abort).await;
    let took = now() - aborted_at;
    let error = outcome.unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("Cancelled"), "{error:?}");
    assert_eq!(
        field(&error, "cause").as_string().as_deref(),
        Some("enough")
    );
    assert_eq!(
        field(&error, "method").as_string().as_deref(),
        Some("prime_sieve")
    );
    assert!(took < 1_000.0, "the call ended {took} ms after the abort");

    // A sleeping plugin.
    let controller = AbortController::new().unwrap();
    let signal = [("signal", JsValue::from(controller.signal()))];
    let call = web_call_with(&plugin, "sleep", "[10000]", &signal);
    let abort = async {
        delay(20).await;
        controller.abort();
        now()
    };
    let (outcome, aborted_at) = futures::future::join(call, abort).await;
    let took = now() - aborted_at;
    assert_eq!(kind_of(&outcome.unwrap_err()).as_deref(), Some("Cancelled"));
    assert!(took < 1_000.0, "the call ended {took} ms after the abort");

    // The plugin goes on.
    let pong = web_call(&plugin, "ping", "null").await.unwrap();
    assert_eq!(pong.as_string().as_deref(), Some("pong"));
}

#[wasm_bindgen_test]
async fn a_cancelled_call_makes_no_further_host_calls() {
    // The host's echo aborts the call on its third round trip; the plugin
    // would make 1 000.
    let controller = AbortController::new().unwrap();
    let global = js_sys::global();
    Reflect::set(&global, &"wasplugTestController".into(), &controller).unwrap();
    Reflect::set(&global, &"wasplugTestEchoes".into(), &0.into()).unwrap();
    let plugin = web_plugin(&[(
        "echo",
        "globalThis.wasplugTestEchoes += 1;
         if (globalThis.wasplugTestEchoes === 3) globalThis.wasplugTestController.abort();
         return new Promise(r => setTimeout(() => r(params), 1));",
    )]);
    let signal = [("signal", JsValue::from(controller.signal()))];
    let error = web_call_with(&plugin, "many_echo", "[1000]", &signal)
        .await
        .unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("Cancelled"));
    delay(50).await;
    let echoes = Reflect::get(&global, &"wasplugTestEchoes".into()).unwrap();
    assert_eq!(echoes.as_f64(), Some(3.0));
}

#[wasm_bindgen_test]
async fn an_already_aborted_signal_rejects_at_once_without_running_the_plugin() {
    let global = js_sys::global();
    Reflect::set(&global, &"wasplugTestEchoes2".into(), &0.into()).unwrap();
    let plugin = web_plugin(&[("echo", "globalThis.wasplugTestEchoes2 += 1; return params;")]);
    let controller = AbortController::new().unwrap();
    controller.abort();
    let signal = [("signal", JsValue::from(controller.signal()))];
    let error = web_call_with(&plugin, "many_echo", "[5]", &signal)
        .await
        .unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("Cancelled"));
    let echoes = Reflect::get(&global, &"wasplugTestEchoes2".into()).unwrap();
    assert_eq!(echoes.as_f64(), Some(0.0));

    // A signal not aborted changes nothing.
    let controller = AbortController::new().unwrap();
    let signal = [("signal", JsValue::from(controller.signal()))];
    let n = web_call_with(&plugin, "many_echo", "[5]", &signal)
        .await
        .unwrap();
    assert_eq!(n.as_f64(), Some(5.0));
}

#[wasm_bindgen_test]
async fn a_call_may_have_its_own_timeout() {
    let options = web_plugin_options(&[], &[("timeoutMs", 60_000.into())]);
    let plugin = WebPlugin::new(TEST_PLUGIN, Some(options)).unwrap();
    let started = now();
    let timeout = [("timeoutMs", JsValue::from(100))];
    let error = web_call_with(&plugin, "sleep", "[10000]", &timeout)
        .await
        .unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("Timeout"));
    let took = now() - started;
    assert!(took < 2_000.0, "the timeout fired after {took} ms");
    let n = web_call_with(&plugin, "sleep", "[10]", &timeout)
        .await
        .unwrap();
    assert_eq!(n.as_f64(), Some(10.0));
}

/// The heavy-init plugin (`tests/guests/rust/warm-table`), built for
/// `wasm32-wasip1` by `build.rs`: only its init writes to stderr.
const WARM_TABLE: &[u8] = include_bytes!(env!("WASPLUG_WARM_TABLE"));

/// A `WebPlugin` of the heavy-init plugin (its init lightened) under
/// `extra` options, and the lines it logs.
fn warm_table(extra: &[(&str, JsValue)]) -> (WebPlugin, Rc<RefCell<Vec<String>>>) {
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&lines);
    let on_log = Closure::<dyn FnMut(String, String)>::new(move |_: String, line: String| {
        sink.borrow_mut().push(line);
    });
    let mut options = vec![
        (
            "env",
            js_sys::JSON::parse(r#"{"WARM_ROUNDS": "2"}"#).unwrap(),
        ),
        ("onLog", on_log.as_ref().clone()),
    ];
    options.extend(extra.iter().map(|(key, value)| (*key, value.clone())));
    let plugin = WebPlugin::new(WARM_TABLE, Some(web_plugin_options(&[], &options))).unwrap();
    // The logger holds the function for the plugin's life: the test's.
    on_log.forget();
    (plugin, lines)
}

/// `JSON.stringify` of a call's answer.
async fn answer_text(plugin: &WebPlugin, method: &str) -> String {
    let answer = web_call(plugin, method, "null").await.unwrap();
    js_sys::JSON::stringify(&answer).unwrap().into()
}

#[wasm_bindgen_test]
async fn web_plugin_warm_start_runs_the_init_once_and_calls_stay_stateless() {
    let cases: [(&[(&str, JsValue)], bool); 4] = [
        (&[], true),
        (&[("idleInstances", JsValue::from(0))], true),
        (&[("warmStart", JsValue::TRUE)], true),
        (&[("warmStart", JsValue::FALSE)], false),
    ];
    for (extra, warm) in cases {
        let (plugin, lines) = warm_table(extra);
        // `bump` changes a static and the heap and answers what it saw
        // before: the init's state in every call.
        let first = answer_text(&plugin, "bump").await;
        assert!(first.starts_with("[0,0,"), "{first}");
        for _ in 0..3 {
            assert_eq!(answer_text(&plugin, "bump").await, first, "{extra:?}");
        }
        // Calls in flight at once, more than the idle instances kept.
        let together = join_all((0..6).map(|_| answer_text(&plugin, "bump"))).await;
        assert!(together.iter().all(|a| *a == first), "{together:?}");
        let report = plugin.init_report();
        if warm {
            // The init ran once, at load: no call ran it again.
            assert_eq!(*lines.borrow(), ["warm-table: table built"], "{extra:?}");
            assert!(field(&report, "fuelUsed").as_f64().unwrap() > 100_000.0);
            assert!(field(&report, "imageBytes").as_f64().unwrap() >= 65_536.0);
            let memory = field(&report, "memoryBytes").as_f64().unwrap();
            assert!(memory >= 65_536.0, "{report:?}");
            assert!(field(&report, "initTimeMs").as_f64().unwrap() >= 0.0);
            let stderr = field(&report, "stderr").as_string().unwrap();
            assert_eq!(stderr, "warm-table: table built\n");
        } else {
            assert!(lines.borrow().is_empty(), "the init ran: {lines:?}");
            assert!(report.is_undefined(), "{report:?}");
        }
    }
    assert!(web_plugin(&[]).init_report().is_undefined());
    // An init past its limits fails the load.
    let Err(error) = WebPlugin::new(
        WARM_TABLE,
        Some(web_plugin_options(&[], &[("fuel", JsValue::from(10_000))])),
    ) else {
        panic!("the init ran within 10 000 units of fuel");
    };
    assert_eq!(kind_of(&error).as_deref(), Some("InitFailed"), "{error:?}");
}

#[wasm_bindgen_test]
async fn web_plugin_passes_config_args_env_and_limits() {
    let json = |text: &str| js_sys::JSON::parse(text).unwrap();
    let options = [
        ("config", json(r#"{"colour": "blue", "n": [1, 2]}"#)),
        ("args", json(r#"["-v", "x"]"#)),
        ("env", json(r#"{"MODE": "test"}"#)),
        ("fuel", JsValue::from(1_000_000)),
    ];
    let plugin = WebPlugin::new(TEST_PLUGIN, Some(web_plugin_options(&[], &options))).unwrap();
    let colour = web_call(&plugin, "config", r#"["colour"]"#).await.unwrap();
    assert_eq!(colour.as_string().as_deref(), Some("blue"));
    let args_env = web_call(&plugin, "args_env", "null").await.unwrap();
    let text: String = js_sys::JSON::stringify(&args_env).unwrap().into();
    assert_eq!(text, r#"{"args":["-v","x"],"env":{"MODE":"test"}}"#);
    let error = web_call(&plugin, "prime_sieve", "[10000000]")
        .await
        .unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("OutOfFuel"), "{error:?}");

    // `Infinity`: no fuel limit; the memory limit ends the call instead.
    let options = [
        ("fuel", JsValue::from(f64::INFINITY)),
        ("memoryBytes", JsValue::from(4 << 20)),
    ];
    let plugin = WebPlugin::new(TEST_PLUGIN, Some(web_plugin_options(&[], &options))).unwrap();
    let error = web_call(&plugin, "prime_sieve", "[10000000]")
        .await
        .unwrap_err();
    assert_eq!(kind_of(&error).as_deref(), Some("MemoryLimit"), "{error:?}");
}

#[wasm_bindgen_test]
async fn web_plugin_options_of_the_wrong_type_or_range_throw() {
    // (option, its value as JSON, whether a RangeError rather than a TypeError)
    let cases = [
        ("warmStart", r#""yes""#, false),
        ("warmStart", "1", false),
        ("idleInstances", "-1", true),
        ("idleInstances", "2.5", true),
        ("idleInstances", "1e300", true),
        ("idleInstances", r#""4""#, false),
        ("fuel", "-5", true),
        ("memoryBytes", "true", false),
        ("fuelSlice", "0.5", true),
        ("timeoutMs", r#""5s""#, false),
        ("timeoutMs", "-1", true),
        ("name", "7", false),
        ("host", r#"{"echo": 42}"#, false),
        ("onLog", r#""console""#, false),
        ("config", "[1]", false),
        ("args", r#"["-v", 1]"#, false),
        ("env", r#"{"A": 1}"#, false),
    ];
    for (key, value, range) in cases {
        let options = web_plugin_options(&[], &[(key, js_sys::JSON::parse(value).unwrap())]);
        let Err(error) = WebPlugin::new(TEST_PLUGIN, Some(options)) else {
            panic!("options.{key} = {value} was taken");
        };
        let expected = match range {
            true => error.is_instance_of::<js_sys::RangeError>(),
            false => error.is_instance_of::<js_sys::TypeError>(),
        };
        assert!(expected, "options.{key} = {value}: {error:?}");
        let message = field(&error, "message").as_string().unwrap();
        assert!(message.contains(&format!("options.{key}")), "{message}");
    }
    // `null` and `undefined` are the defaults.
    let defaults = [("warmStart", JsValue::NULL), ("fuel", JsValue::UNDEFINED)];
    assert!(WebPlugin::new(TEST_PLUGIN, Some(web_plugin_options(&[], &defaults))).is_ok());
    // NaN is no count, and a call's own timeout is checked too.
    let nan = web_plugin_options(&[], &[("idleInstances", JsValue::from(f64::NAN))]);
    let error = WebPlugin::new(TEST_PLUGIN, Some(nan)).err().unwrap();
    assert!(error.is_instance_of::<js_sys::RangeError>(), "{error:?}");
    let plugin = web_plugin(&[]);
    let error = web_call_with(&plugin, "ping", "null", &[("timeoutMs", "1s".into())])
        .await
        .unwrap_err();
    assert!(error.is_instance_of::<js_sys::TypeError>(), "{error:?}");
}
