//! [`WebPlugin`]: a [`Plugin`] as a JavaScript class.

use js_sys::{Array, Function, JSON, Object, Promise, Reflect};
use serde_json::Value;
use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    time::Duration,
};
use wasm_bindgen::{JsCast, prelude::*};
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use wasplug_hdk::{
    Error, ErrorKind, Grants, HostContext, HostMethods, Limits, Plugin, RawValue, RpcError,
};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = info)]
    fn console_info(plugin: &str, line: &str);
}

/// The JavaScript side of one plugin: its host methods and its log callback.
///
/// JS values cannot live in the host kit's `Send + Sync` handlers, so they
/// stay here, on the page's thread, and the handlers carry only the key.
struct PageHooks {
    host: Object,
    on_log: Option<Function>,
}

thread_local! {
    static HOOKS: RefCell<HashMap<u32, PageHooks>> = RefCell::new(HashMap::new());
    static NEXT_KEY: Cell<u32> = const { Cell::new(0) };
}

/// The key of a plugin's [`PageHooks`]: the state of its host methods.
struct HooksKey(u32);

/// A compiled wasplug plugin, callable from JavaScript.
///
/// `new WebPlugin(wasmBytes, options)`, where every option is optional:
/// - `name`: the plugin's name in logs (default `"plugin"`);
/// - `host`: an object whose functions are the host methods the plugin may
///   call. Each gets the params (JSON: an array, object or `null`) and
///   returns a JSON-able value or a `Promise` of one; what it throws becomes
///   a JSON-RPC error (`code`, `message` and `data` of the thrown object are
///   kept; the code defaults to `-32000`);
/// - `onLog(plugin, line)`: gets each line the plugin writes to stderr
///   (default: `console.info`);
/// - `timeoutMs`: the wall-clock limit of each call (default 30 000);
/// - `fuelSlice`: fuel units the guest runs before the host looks at the
///   clock again (default 100 000): at the end of a slice the host yields
///   to the event loop if 4 ms passed since the last yield, and ends the
///   call if its timeout passed.
#[wasm_bindgen]
pub struct WebPlugin {
    plugin: Plugin,
    key: u32,
}

#[wasm_bindgen]
impl WebPlugin {
    /// Compiles the plugin; throws an `Error` when the bytes are no plugin.
    #[wasm_bindgen(constructor)]
    pub fn new(wasm: &[u8], options: Option<Object>) -> Result<WebPlugin, JsValue> {
        let options = options.unwrap_or_default();
        let host = get(&options, "host")
            .dyn_into::<Object>()
            .unwrap_or_default();
        let on_log = get(&options, "onLog").dyn_into::<Function>().ok();
        let key = NEXT_KEY.with(|next| {
            let key = next.get();
            next.set(key.wrapping_add(1));
            key
        });

        let mut methods = HostMethods::new(HooksKey(key));
        let mut names = Vec::new();
        for name in Object::keys(&host).iter().filter_map(|k| k.as_string()) {
            if !get(&host, &name).is_function() {
                continue;
            }
            // The page hands over exactly the functions the plugin may call.
            names.push(name.clone());
            let method = name.clone();
            methods = methods.method(name, move |ctx: HostContext<HooksKey>, params: Value| {
                call_page(ctx.state().0, method.clone(), params)
            });
        }

        let mut limits = Limits::default();
        if let Some(ms) = get(&options, "timeoutMs").as_f64() {
            limits = limits.with_timeout(Some(Duration::from_secs_f64(ms.max(0.0) / 1000.0)));
        }
        if let Some(units) = get(&options, "fuelSlice").as_f64() {
            // Saturating float-to-int conversion; the builder keeps it >= 1.
            limits = limits.with_fuel_slice(units as u64);
        }
        let mut builder = Plugin::builder(wasm)
            .limits(limits)
            .host_methods(methods)
            .grants(Grants::methods(names))
            .logger(move |plugin: &str, line: &str| log_line(key, plugin, line));
        if let Some(name) = get(&options, "name").as_string() {
            builder = builder.name(name);
        }
        let plugin = builder.build().map_err(|e| error_to_js(&e))?;
        HOOKS.with(|hooks| hooks.borrow_mut().insert(key, PageHooks { host, on_log }));
        Ok(WebPlugin { plugin, key })
    }

    /// The plugin's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.plugin.name().to_owned()
    }

    /// Calls `method` with `params` (an array, an object, or `null`/nothing)
    /// and resolves to the result. Rejects with an `Error` whose `kind` names
    /// the failure (`"Plugin"`, `"Trap"`, `"Timeout"`, ...); a `"Plugin"`
    /// error also has the plugin's `code` and `data`, and failures of the
    /// guest carry its last stderr lines in `stderr`.
    pub fn call(&self, method: String, params: JsValue) -> Promise {
        let plugin = self.plugin.clone();
        future_to_promise(async move {
            let params = from_js(&params).map_err(|e| JsValue::from(js_sys::Error::new(&e)))?;
            match plugin.call(&method, params).await {
                Ok(result) => Ok(to_js(&result)),
                Err(error) => Err(error_to_js(&error)),
            }
        })
    }
}

impl Drop for WebPlugin {
    fn drop(&mut self) {
        // Calls still in flight then see no host methods (`-32601`) and log
        // to the console.
        HOOKS.with(|hooks| hooks.borrow_mut().remove(&self.key));
    }
}

/// `object[key]`, or `undefined`.
fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// JSON → JS, through the browser's JSON parser.
fn to_js(value: &Value) -> JsValue {
    JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

/// JS → JSON; `undefined` is `null`.
fn from_js(value: &JsValue) -> Result<Value, String> {
    let text = JSON::stringify(value)
        .map_err(|e| format!("not JSON: {}", js_message(&e)))?
        .as_string();
    match text {
        Some(text) => serde_json::from_str(&text).map_err(|e| e.to_string()),
        None => Ok(Value::Null),
    }
}

/// The message of a thrown JS value.
fn js_message(thrown: &JsValue) -> String {
    match get(thrown, "message").as_string() {
        Some(message) => message,
        None => thrown.as_string().unwrap_or_else(|| format!("{thrown:?}")),
    }
}

/// Runs the page's host method `method`.
async fn call_page(key: u32, method: String, params: Value) -> Result<Box<RawValue>, RpcError> {
    let function = HOOKS
        .with(|hooks| hooks.borrow().get(&key).map(|h| get(&h.host, &method)))
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| RpcError::host_method_not_found(&method))?;
    let thrown_to_error = |thrown: JsValue| {
        let code = get(&thrown, "code")
            .as_f64()
            .filter(|c| c.fract() == 0.0 && *c >= f64::from(i32::MIN) && *c <= f64::from(i32::MAX))
            .map_or(-32000, |c| c as i32);
        let error = RpcError::new(code, js_message(&thrown));
        match from_js(&get(&thrown, "data")) {
            Ok(Value::Null) | Err(_) => error,
            Ok(data) => error.with_data(data),
        }
    };
    let returned = function
        .call1(&JsValue::UNDEFINED, &to_js(&params))
        .map_err(thrown_to_error)?;
    // A plain value is the answer at once: awaiting it as a promise would
    // cost two microtask hops per round trip before the guest resumes.
    let value = if is_thenable(&returned) {
        JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(thrown_to_error)?
    } else {
        returned
    };
    raw_from_js(&value)
        .map_err(|reason| RpcError::internal(format!("host method `{method}` returned {reason}")))
}

/// Whether `value` is a promise or another object with a `then` method,
/// which `Promise.resolve` would wait for.
fn is_thenable(value: &JsValue) -> bool {
    (value.is_object() || value.is_function()) && get(value, "then").is_function()
}

/// JS → JSON text, without building a [`Value`]; `undefined` is `null`.
fn raw_from_js(value: &JsValue) -> Result<Box<RawValue>, String> {
    let text = JSON::stringify(value)
        .map_err(|e| format!("not JSON: {}", js_message(&e)))?
        .as_string()
        .unwrap_or_else(|| "null".to_owned());
    RawValue::from_string(text).map_err(|e| e.to_string())
}

/// Hands a stderr line to the page's `onLog`, or to the console.
fn log_line(key: u32, plugin: &str, line: &str) {
    let on_log = HOOKS.with(|hooks| hooks.borrow().get(&key).and_then(|h| h.on_log.clone()));
    let logged = on_log.is_some_and(|f| {
        f.call2(&JsValue::UNDEFINED, &plugin.into(), &line.into())
            .is_ok()
    });
    if !logged {
        console_info(plugin, line);
    }
}

/// A JS `Error` with the message, `kind`, and what the variant carries.
fn error_to_js(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    let set = |key: &str, value: JsValue| {
        // Setting a property of a fresh Error cannot fail.
        let _ = Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("kind", error.kind().name().into());
    if let ErrorKind::Plugin { code, data, .. } = error.kind() {
        set("code", (*code).into());
        let data = data
            .as_deref()
            .map_or(Ok(JsValue::NULL), |raw| JSON::parse(raw.get()));
        set("data", data.unwrap_or(JsValue::NULL));
    }
    let stderr: Array = error
        .stderr()
        .iter()
        .map(|l| JsValue::from_str(l))
        .collect();
    set("stderr", stderr.into());
    js.into()
}
