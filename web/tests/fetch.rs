//! `http.fetch` in a browser: the page's `fetch`, against the origin the
//! test runner serves the page from, under the same policy as natively.
//!
//! `cargo test -p wasplug-web --target wasm32-unknown-unknown --test fetch`
//! runs them in the browser `$CHROMEDRIVER` drives (see `.ci/browser`).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use js_sys::{JSON, Object, Reflect};
use serde_json::{Value, json};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wasplug_hdk::{ErrorKind, Grants, HttpPolicy, Plugin};
use wasplug_web::WebPlugin;

wasm_bindgen_test_configure!(run_in_browser);

/// The test plugin, built for `wasm32-wasip1` by `build.rs`.
const TEST_PLUGIN: &[u8] = include_bytes!(env!("WASPLUG_TEST_PLUGIN"));

/// `location.host` and `location.origin` of the test page.
fn page() -> (String, String) {
    let location = Reflect::get(&js_sys::global(), &JsValue::from_str("location")).unwrap();
    let field = |name: &str| {
        Reflect::get(&location, &JsValue::from_str(name))
            .unwrap()
            .as_string()
            .unwrap()
    };
    (field("host"), field("origin"))
}

fn plugin(policy: HttpPolicy) -> Plugin {
    Plugin::builder(TEST_PLUGIN)
        .grants(Grants::none().with_http(policy))
        .build()
        .unwrap()
}

/// `http.fetch` of `url` through the test plugin: the answer, or the
/// host's error code and `data`.
async fn fetch(plugin: &Plugin, url: &str) -> Result<Value, (i32, Option<Value>)> {
    let params = json!(["http.fetch", {"url": url}]);
    match plugin.call("call_host", params).await {
        Ok(answer) => Ok(answer),
        Err(error) => match error.into_kind() {
            ErrorKind::Plugin { code, data, .. } => {
                Err((code, data.map(|d| serde_json::from_str(d.get()).unwrap())))
            }
            other => panic!("{other}"),
        },
    }
}

#[wasm_bindgen_test]
async fn the_allowed_origin_is_fetched() {
    let (host, origin) = page();
    let plugin = plugin(HttpPolicy::allow([host]));
    let answer = fetch(&plugin, &format!("{origin}/")).await.unwrap();
    assert_eq!(answer["status"], 200);
    assert!(!answer["body"].as_str().unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn another_host_is_refused() {
    let (host, _) = page();
    let plugin = plugin(HttpPolicy::allow([host]));
    let error = fetch(&plugin, "http://127.0.0.1:1/").await.unwrap_err();
    assert_eq!(error.0, wasplug_hdk::protocol::codes::NOT_PERMITTED);
}

#[wasm_bindgen_test]
async fn size_and_time_limits_hold() {
    let (host, origin) = page();
    let url = format!("{origin}/");
    let small = plugin(HttpPolicy::allow([host.clone()]).with_max_response_bytes(10));
    let (code, data) = fetch(&small, &url).await.unwrap_err();
    assert_eq!(code, wasplug_hdk::protocol::codes::LIMIT_EXCEEDED);
    assert_eq!(data.unwrap()["limit"], "response_bytes");
    // A JavaScript promise never settles at once: a zero timeout always wins.
    let hasty = plugin(HttpPolicy::allow([host]).with_timeout(Duration::ZERO));
    let (code, data) = fetch(&hasty, &url).await.unwrap_err();
    assert_eq!(code, wasplug_hdk::protocol::codes::LIMIT_EXCEEDED);
    assert_eq!(data.unwrap()["limit"], "timeout_ms");
}

/// A `WebPlugin` of the test plugin whose `options.httpAllow` is `hosts`
/// (JSON); its error when the options are refused.
fn web_plugin(hosts: &str) -> Result<WebPlugin, JsValue> {
    let options = Object::new();
    Reflect::set(&options, &"httpAllow".into(), &JSON::parse(hosts).unwrap()).unwrap();
    WebPlugin::new(TEST_PLUGIN, Some(options.unchecked_into()))
}

/// `http.fetch` of `url` through a `WebPlugin`: the answer's `status`, or
/// the host's error code.
async fn web_fetch(plugin: &WebPlugin, url: &str) -> Result<f64, f64> {
    let params = JSON::parse(&json!(["http.fetch", {"url": url}]).to_string()).unwrap();
    let field = |value: &JsValue, key: &str| Reflect::get(value, &key.into()).unwrap().as_f64();
    match JsFuture::from(plugin.call("call_host".into(), Some(params), None)).await {
        Ok(answer) => Ok(field(&answer, "status").unwrap()),
        Err(error) => Err(field(&error, "code").unwrap()),
    }
}

#[wasm_bindgen_test]
async fn web_plugin_http_allow_grants_http_fetch() {
    let (host, origin) = page();
    let url = format!("{origin}/");
    let plugin = web_plugin(&json!([host]).to_string()).unwrap();
    assert_eq!(web_fetch(&plugin, &url).await, Ok(200.0));
    let not_permitted = f64::from(wasplug_hdk::protocol::codes::NOT_PERMITTED);
    // Only the hosts listed; without the option, not at all.
    let elsewhere = web_plugin(r#"["example.invalid"]"#).unwrap();
    assert_eq!(web_fetch(&elsewhere, &url).await, Err(not_permitted));
    let none = web_plugin("null").unwrap();
    assert_eq!(web_fetch(&none, &url).await, Err(not_permitted));
    // An entry that is no host (a URL) is refused, not dropped.
    let error = web_plugin(&json!([url]).to_string()).err().unwrap();
    assert!(error.is_instance_of::<js_sys::RangeError>(), "{error:?}");
    let error = web_plugin(r#""example.com""#).err().unwrap();
    assert!(error.is_instance_of::<js_sys::TypeError>(), "{error:?}");
}
