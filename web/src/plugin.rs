//! [`WebPlugin`]: a [`Plugin`] as a JavaScript class, with its TypeScript
//! types.

use crate::{abort::Aborted, options::Options};
use futures::{
    FutureExt,
    future::{Either, select},
};
use js_sys::{Array, Function, JSON, Object, Promise, Reflect};
use std::{pin::pin, rc::Rc};
use wasm_bindgen::{JsCast, prelude::*};
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use wasplug_hdk::{
    Error, ErrorKind, Grants, HostContext, HostMethods, HttpPolicy, Limits, Plugin, RawValue,
    RpcError,
};
use web_sys::AbortSignal;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/**
 * A host method: gets the params the plugin sent (an array, an object or
 * `null`) and returns a JSON-able value, or a Promise of one. What it throws
 * (or rejects with) reaches the plugin as a JSON-RPC error: the thrown
 * object's `code` (an integer; default -32000), `message` and `data`.
 */
export type HostMethod = (params: unknown) => unknown | Promise<unknown>;

/**
 * The options of `new WebPlugin(wasm, options)`; each is optional
 * (`undefined` or `null`: the default). A value of the wrong type throws a
 * `TypeError`, a number out of range (negative, fractional where an integer
 * is due, beyond `Number.MAX_SAFE_INTEGER`) a `RangeError`: none is
 * ignored, rounded or clamped.
 */
export interface WebPluginOptions {
  /** The plugin's name in logs and errors. Default: `"plugin"`. */
  name?: string;
  /**
   * The host methods the plugin may call, by name (called with the object
   * as `this`). The plugin may call exactly these.
   */
  host?: Record<string, HostMethod>;
  /**
   * The plugin's configuration: a JSON-able object the plugin reads with
   * the host method `config.get`. Default: `{}`.
   */
  config?: Record<string, unknown>;
  /** The plugin's command-line arguments, after its name. Default: none. */
  args?: string[];
  /** The plugin's environment variables (the page has none to leak). Default: none. */
  env?: Record<string, string>;
  /**
   * The hosts (`"host"` or `"host:port"`, such as `"api.example.com"`) the
   * plugin may fetch from with the built-in host method `http.fetch`, which
   * calls the page's `fetch` (under the page's CORS rules). An entry that is
   * no host (a URL, say) throws a `RangeError`. Default: none, and
   * `http.fetch` is not granted.
   */
  httpAllow?: string[];
  /**
   * Gets each line the plugin writes to stderr, with the plugin's name.
   * Default: `console.info`.
   */
  onLog?: (plugin: string, line: string) => void;
  /** The wall-clock limit of each call, in ms (`Infinity`: none). Default: 30000. */
  timeoutMs?: number;
  /** The fuel budget of each call, an integer (`Infinity`: none). Default: 10000000000 (10 billion). */
  fuel?: number;
  /**
   * The linear memory plus tables a call may use, in bytes, an integer
   * (`Infinity`: wasm's own 4 GiB). Default: 268435456 (256 MiB).
   */
  memoryBytes?: number;
  /**
   * Fuel units the plugin runs before the host looks at the clock again.
   * At the end of a slice the host yields to the event loop if 4 ms have
   * passed since the page last yielded, and ends the call if its timeout
   * has passed. An integer. Default: 100000.
   */
  fuelSlice?: number;
  /**
   * Whether to run the plugin's init (its exported `wasplug_init`, if it
   * has one) once, when it loads, and start every call from the memory it
   * leaves (a warm start): a plugin with a heavy start-up pays it once, and
   * calls stay stateless. `plugin.initReport` says what the init did. The
   * init runs inside `new WebPlugin`, on the page's thread without yielding
   * (under the `fuel`, `memoryBytes` and `timeoutMs` limits): a heavy one
   * holds up the page that long, once. With `false` the init never runs.
   * Default: `true`.
   */
  warmStart?: boolean;
  /**
   * How many instances whose call is over the plugin keeps, reset to a
   * fresh instance's state, to run later calls in (instantiating anew
   * costs about half a short call); 0 keeps none. Calls stay stateless
   * either way. An integer. Default: 4.
   */
  idleInstances?: number;
}

/** What a plugin's init did when it loaded (`plugin.initReport`). */
export interface InitReport {
  /** Fuel the start-up and the init used: what each call would repeat without a warm start. */
  fuelUsed: number;
  /** The memory's size after the init, in bytes: every call starts with this much. */
  memoryBytes: number;
  /** Bytes of memory that differ from a fresh instance's: what each call restores. */
  imageBytes: number;
  /** Wall time of the init and the capture of its memory, in ms. */
  initTimeMs: number;
  /** What the init wrote to stderr (its last 8 KiB); each line also went to `onLog`. */
  stderr: string;
}

/** The options of one `plugin.call(method, params, options)`. */
export interface CallOptions {
  /**
   * Aborting it ends the call at once: the promise rejects with a
   * `WasplugError` of kind `"Cancelled"` (its `cause` the signal's reason),
   * and the plugin runs no further and calls no further host methods. An
   * already aborted signal rejects without running the plugin.
   */
  signal?: AbortSignal;
  /**
   * The wall-clock limit of this call, in ms, instead of the plugin's
   * (`Infinity`: none). The call rejects with a `TypeError` or `RangeError`
   * when it is no number or negative.
   */
  timeoutMs?: number;
}

/**
 * What a failed call rejects with (and `new WebPlugin` throws): an `Error`
 * whose `kind` names the failure.
 */
export interface WasplugError extends Error {
  /**
   * What failed: `"Plugin"` (the plugin answered an error: see `code` and
   * `data`), `"Cancelled"` (the call's signal was aborted), `"Timeout"`,
   * `"OutOfFuel"`, `"MemoryLimit"`, `"Trap"` (the plugin crashed),
   * `"ExitWithoutAnswer"`, `"Deadlock"`, `"InvalidParams"`,
   * `"InvalidModule"`... one of the host kit's error kinds.
   */
  kind: string;
  /** The plugin's name, when the error is about a plugin. */
  plugin?: string;
  /** The method called, when the error is about a call. */
  method?: string;
  /** The JSON-RPC error code of a `"Plugin"` error. */
  code?: number;
  /** The JSON-RPC error data of a `"Plugin"` error (`null` if none). */
  data?: unknown;
  /** The last lines the plugin wrote to stderr when it failed (oldest first). */
  stderr: string[];
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The options of [`WebPlugin::new`] (TypeScript `WebPluginOptions`): a
    /// plain JS object.
    #[wasm_bindgen(typescript_type = "WebPluginOptions")]
    pub type WebPluginOptions;

    /// The options of [`WebPlugin::call`] (TypeScript `CallOptions`): a
    /// plain JS object.
    #[wasm_bindgen(typescript_type = "CallOptions")]
    pub type CallOptions;

    #[wasm_bindgen(js_namespace = console, js_name = info)]
    fn console_info(plugin: &str, line: &str);
}

/// A compiled wasplug plugin, callable from JavaScript.
///
/// `new WebPlugin(wasmBytes, options?)`; see `WebPluginOptions` in the
/// TypeScript declarations (and [`WebPluginOptions`]) for the options.
#[wasm_bindgen]
pub struct WebPlugin {
    plugin: Plugin,
}

#[wasm_bindgen]
impl WebPlugin {
    /// Compiles the plugin (and runs its init: `warmStart`); throws a
    /// `WasplugError` when the bytes are no plugin or its init fails, a
    /// `TypeError` or `RangeError` naming the option when an option has the
    /// wrong type or is out of range.
    #[wasm_bindgen(constructor)]
    pub fn new(wasm: &[u8], options: Option<WebPluginOptions>) -> Result<WebPlugin, JsValue> {
        let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
        let options = Options::new(&options, "options")?;
        let host = options.object("host")?.unwrap_or_default();

        let mut methods = HostMethods::new(());
        let mut names = Vec::new();
        for name in Object::keys(&host).iter().filter_map(|k| k.as_string()) {
            let value = get(&host, &name);
            let Ok(function) = value.dyn_into::<Function>() else {
                return Err(js_sys::TypeError::new(&format!(
                    "`options.host.{name}` must be a function (a host method)"
                ))
                .into());
            };
            // The page hands over exactly the functions the plugin may call.
            names.push(name.clone());
            let page = Rc::new(PageMethod {
                name: name.clone(),
                this: host.clone(),
                function,
            });
            methods = methods.method(
                name,
                move |_: HostContext<()>, params: Option<Box<RawValue>>| {
                    Rc::clone(&page).call(params)
                },
            );
        }

        let mut grants = Grants::methods(names);
        if let Some(hosts) = options.strings("httpAllow")? {
            let policy = HttpPolicy::try_allow(hosts)
                .map_err(|e| js_sys::RangeError::new(&format!("`options.httpAllow`: {e}")))?;
            grants = grants.with_http(policy);
        }
        let defaults = Limits::default();
        let limits = Limits::default()
            .with_timeout(options.millis("timeoutMs")?.unwrap_or(defaults.timeout()))
            .with_fuel(options.limit("fuel")?.unwrap_or(defaults.fuel()))
            .with_memory(options.limit("memoryBytes")?.unwrap_or(defaults.memory()))
            // The limits keep it >= 1.
            .with_fuel_slice(options.count("fuelSlice")?.unwrap_or(defaults.fuel_slice()));
        let mut builder = Plugin::builder(wasm)
            .limits(limits)
            .host_methods(methods)
            .grants(grants)
            .args(options.strings("args")?.unwrap_or_default())
            .env(options.string_record("env")?.unwrap_or_default());
        if let Some(config) = options.json_object("config")? {
            builder = builder.config(config);
        }
        if let Some(warm) = options.boolean("warmStart")? {
            builder = builder.warm_start(warm);
        }
        if let Some(idle) = options.count("idleInstances")? {
            let idle = usize::try_from(idle).map_err(|_| {
                js_sys::RangeError::new(&format!(
                    "`options.idleInstances` must be at most {}, not {idle}",
                    usize::MAX
                ))
            })?;
            builder = builder.idle_instances(idle);
        }
        if let Some(on_log) = options.function("onLog")? {
            builder = builder.logger(move |plugin: &str, line: &str| {
                if on_log
                    .call2(&JsValue::UNDEFINED, &plugin.into(), &line.into())
                    .is_err()
                {
                    // A throwing `onLog` loses no line.
                    console_info(plugin, line);
                }
            });
        }
        if let Some(name) = options.string("name")? {
            builder = builder.name(name);
        }
        let plugin = builder.build().map_err(|e| error_to_js(&e))?;
        Ok(WebPlugin { plugin })
    }

    /// The plugin's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.plugin.name().to_owned()
    }

    /// What the plugin's init did when it loaded (TypeScript `InitReport`):
    /// `undefined` when it has no init or `warmStart` was `false`.
    #[wasm_bindgen(getter, js_name = initReport, unchecked_return_type = "InitReport | undefined")]
    pub fn init_report(&self) -> JsValue {
        let Some(report) = self.plugin.init_report() else {
            return JsValue::UNDEFINED;
        };
        let js: JsValue = Object::new().into();
        // Exact below 2^53 bytes or units of fuel.
        set(&js, "fuelUsed", &(report.fuel_used as f64).into());
        set(&js, "memoryBytes", &(report.memory_bytes as f64).into());
        set(&js, "imageBytes", &(report.image_bytes as f64).into());
        set(
            &js,
            "initTimeMs",
            &(report.init_time.as_secs_f64() * 1000.0).into(),
        );
        let stderr = String::from_utf8_lossy(&report.stderr);
        set(&js, "stderr", &JsValue::from_str(&stderr));
        js
    }

    /// Calls `method` with `params` (an array, an object, or `null`/nothing)
    /// and resolves to the result. Rejects with a `WasplugError` whose
    /// `kind` names the failure: `"Plugin"` (with the plugin's `code` and
    /// `data`), `"Cancelled"` when `options.signal` aborts, `"Timeout"`,
    /// `"Trap"`, ...; failures of the guest carry its last stderr lines in
    /// `stderr`.
    #[wasm_bindgen(unchecked_return_type = "Promise<unknown>")]
    pub fn call(
        &self,
        method: String,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] params: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "CallOptions")] options: Option<CallOptions>,
    ) -> Promise {
        let plugin = self.plugin.clone();
        let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
        future_to_promise(async move {
            let params = params_to_json(params).map_err(|what| {
                error("InvalidParams", &plugin, &method, &what, JsValue::UNDEFINED)
            })?;
            let options = Options::new(&options, "options")?;
            let signal = match options.get("signal") {
                None => None,
                Some(signal) => Some(signal.dyn_into::<AbortSignal>().map_err(|_| {
                    js_sys::TypeError::new("`options.signal` is not an AbortSignal")
                })?),
            };
            let call = match options.millis("timeoutMs")? {
                Some(timeout) => {
                    let timeout = wasplug_hdk::CallOptions::new().with_timeout(timeout);
                    let call = plugin.call_with(&method, params, &timeout);
                    Either::Left(call.map(|(result, _report)| result))
                }
                None => Either::Right(plugin.call_raw(&method, params)),
            };
            let result = match signal {
                None => call.await,
                Some(signal) => {
                    // An aborted signal wins: polled first, the plugin never starts.
                    match select(pin!(Aborted::new(signal)), pin!(call)).await {
                        Either::Left((reason, _call)) => {
                            // `_call` drops here: its instance and any host call in flight go.
                            return Err(error(
                                "Cancelled",
                                &plugin,
                                &method,
                                "the call was cancelled",
                                reason,
                            ));
                        }
                        Either::Right((outcome, _)) => outcome,
                    }
                }
            };
            let result = result.map_err(|e| error_to_js(&e))?;
            JSON::parse(result.get())
        })
    }
}

/// One of the page's host methods, as the plugin calls it.
struct PageMethod {
    name: String,
    /// The `host` object, the `this` of each call.
    this: Object,
    function: Function,
}

impl PageMethod {
    async fn call(
        self: Rc<Self>,
        params: Option<Box<RawValue>>,
    ) -> Result<Box<RawValue>, RpcError> {
        let params = match params {
            // The protocol layer handed over valid JSON.
            Some(raw) => JSON::parse(raw.get()).map_err(|e| RpcError::internal(js_message(&e)))?,
            None => JsValue::NULL,
        };
        let returned = self
            .function
            .call1(&self.this, &params)
            .map_err(thrown_to_rpc)?;
        // A plain value is the answer at once: awaiting it as a promise would
        // cost two microtask hops per round trip before the guest resumes.
        let value = if is_thenable(&returned) {
            JsFuture::from(Promise::resolve(&returned))
                .await
                .map_err(thrown_to_rpc)?
        } else {
            returned
        };
        let text = JSON::stringify(&value)
            .map_err(|e| {
                RpcError::internal(format!(
                    "host method `{}` returned no JSON: {}",
                    self.name,
                    js_message(&e)
                ))
            })?
            .as_string()
            // `undefined` (and functions) are no JSON: the plugin gets `null`.
            .unwrap_or_else(|| "null".to_owned());
        RawValue::from_string(text).map_err(|e| RpcError::internal(e.to_string()))
    }
}

/// Whether `value` is a promise or another object with a `then` method,
/// which `Promise.resolve` would wait for.
fn is_thenable(value: &JsValue) -> bool {
    (value.is_object() || value.is_function()) && get(value, "then").is_function()
}

/// What a host method threw, as the JSON-RPC error the plugin gets: the
/// thrown object's `code` (an `i32`; default `-32000`), `message` and `data`.
fn thrown_to_rpc(thrown: JsValue) -> RpcError {
    let code = get(&thrown, "code")
        .as_f64()
        .filter(|c| c.fract() == 0.0 && *c >= f64::from(i32::MIN) && *c <= f64::from(i32::MAX))
        .map_or(-32000, |c| c as i32);
    let error = RpcError::new(code, js_message(&thrown));
    let data = get(&thrown, "data");
    if data.is_undefined() || data.is_null() {
        return error;
    }
    match JSON::stringify(&data).ok().and_then(|t| t.as_string()) {
        Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(data) => error.with_data(data),
            Err(_) => error,
        },
        None => error,
    }
}

/// `object[key]`, or `undefined`.
fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The params of a call as JSON: `None` for `null` and `undefined`;
/// otherwise they must be an array or an object.
fn params_to_json(params: Option<JsValue>) -> Result<Option<Box<RawValue>>, String> {
    let Some(params) = params.filter(|p| !p.is_undefined() && !p.is_null()) else {
        return Ok(None);
    };
    let text = JSON::stringify(&params)
        .map_err(|e| format!("the params are no JSON: {}", js_message(&e)))?
        .as_string();
    match text {
        Some(text) if text.starts_with(['[', '{']) => RawValue::from_string(text)
            .map(Some)
            .map_err(|e| e.to_string()),
        Some(text) if text == "null" => Ok(None),
        _ => Err("the params must be an array, an object or null".to_owned()),
    }
}

/// The message of a thrown JS value.
pub(crate) fn js_message(thrown: &JsValue) -> String {
    match get(thrown, "message").as_string() {
        Some(message) => message,
        None => thrown.as_string().unwrap_or_else(|| format!("{thrown:?}")),
    }
}

/// Sets `key` of a fresh object, which cannot fail.
fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// A `WasplugError` of `kind` about a call the host kit did not run to its
/// end, its message as the host kit's errors read; `cause` when defined.
fn error(kind: &str, plugin: &Plugin, method: &str, what: &str, cause: JsValue) -> JsValue {
    let name = plugin.name();
    let js: JsValue =
        js_sys::Error::new(&format!("plugin `{name}`, method `{method}`: {what}")).into();
    set(&js, "kind", &kind.into());
    set(&js, "plugin", &name.into());
    set(&js, "method", &method.into());
    set(&js, "stderr", &Array::new());
    if !cause.is_undefined() {
        set(&js, "cause", &cause);
    }
    js
}

/// A host kit's error as a `WasplugError`: the message, `kind`, and what
/// the variant carries.
fn error_to_js(error: &Error) -> JsValue {
    let js: JsValue = js_sys::Error::new(&error.to_string()).into();
    set(&js, "kind", &error.kind().name().into());
    if let Some(plugin) = error.plugin() {
        set(&js, "plugin", &plugin.into());
    }
    if let Some(method) = error.method() {
        set(&js, "method", &method.into());
    }
    if let ErrorKind::Plugin { code, data, .. } = error.kind() {
        set(&js, "code", &(*code).into());
        let data = data
            .as_deref()
            .map_or(Ok(JsValue::NULL), |raw| JSON::parse(raw.get()));
        set(&js, "data", &data.unwrap_or(JsValue::NULL));
    }
    let stderr: Array = error
        .stderr()
        .iter()
        .map(|l| JsValue::from_str(l))
        .collect();
    set(&js, "stderr", &stderr);
    js
}
