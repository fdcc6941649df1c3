//! Driving plugins through `wasplug-hdk`: the test plugin with the host
//! methods it expects, WAT fixtures, a logger that records lines, and running
//! one test body under every executor the host kit supports.

use std::{
    future::Future,
    sync::{Arc, Mutex},
};
use wasplug_hdk::{
    Error, Grants, HostContext, HostMethods, Limits, Plugin, PluginBuilder, RawValue,
};

/// Host methods the test plugin calls: `echo` returns its params unchanged
/// (verbatim: every number exact).
pub fn echo_methods() -> HostMethods<()> {
    HostMethods::new(()).method(
        "echo",
        |_: HostContext<()>, params: Box<RawValue>| async move { Ok(params) },
    )
}

/// A builder for the test plugin with `echo` and the given limits.
pub fn test_plugin_builder(limits: Limits) -> PluginBuilder {
    Plugin::from_file(crate::guests::TEST_PLUGIN)
        .limits(limits)
        .host_methods(echo_methods())
        .grants(Grants::methods(["echo"]))
}

/// The test plugin with `echo` and default limits.
///
/// # Panics
/// When the test plugin does not load (a broken build).
pub fn test_plugin() -> Plugin {
    test_plugin_builder(Limits::default())
        .build()
        .expect("the test plugin loads")
}

/// A WAT fixture of `tests/guests/wat/`, by file stem.
///
/// # Panics
/// When the file does not exist.
pub fn wat(name: &str) -> String {
    let path = format!("{}/guests/wat/{name}.wat", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Builds a plugin from a WAT fixture.
///
/// # Errors
/// What [`PluginBuilder::build`] says about the module.
pub fn wat_plugin(name: &str, limits: Limits) -> Result<Plugin, Error> {
    Plugin::builder(wat(name))
        .name(name)
        .limits(limits)
        .host_methods(echo_methods())
        .grants(Grants::methods(["echo"]))
        .build()
}

/// Stderr lines a plugin logged, as `(plugin name, line)`.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<(String, String)>>>);

impl Logs {
    /// A logger for [`PluginBuilder::logger`] that records into `self`.
    pub fn logger(&self) -> impl Fn(&str, &str) + Send + Sync + 'static {
        let lines = Arc::clone(&self.0);
        move |plugin: &str, line: &str| {
            if let Ok(mut lines) = lines.lock() {
                lines.push((plugin.to_owned(), line.to_owned()));
            }
        }
    }

    /// The lines recorded so far.
    pub fn lines(&self) -> Vec<(String, String)> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Runs the test body under `futures::executor::block_on`, a current-thread
/// tokio runtime, and spawned on a multi-thread tokio runtime (which also
/// proves the futures are `Send`).
///
/// # Panics
/// When the body panics under any of them.
pub fn on_each_executor<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    futures::executor::block_on(body());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
        .block_on(body());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a multi-thread runtime");
    runtime
        .block_on(async { tokio::spawn(body()).await })
        .expect("the test body runs to completion on a worker thread");
}

/// The JSON-RPC error a host call answered, as the test plugin's
/// `call_host` passes it on: its code and `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostError {
    /// The error code.
    pub code: i32,
    /// The `data` member.
    pub data: Option<serde_json::Value>,
}

/// Has the test plugin call host method `method` with `params` (its
/// `call_host`), and returns what the host answered.
///
/// # Panics
/// When the call fails otherwise than with the host's error.
pub async fn call_host(
    plugin: &Plugin,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, HostError> {
    match plugin
        .call("call_host", serde_json::json!([method, params]))
        .await
    {
        Ok(value) => Ok(value),
        Err(error) => match error.into_kind() {
            wasplug_hdk::ErrorKind::Plugin { code, data, .. } => Err(HostError {
                code,
                data: data.map(|raw| serde_json::from_str(raw.get()).expect("data is JSON")),
            }),
            other => panic!("call_host {method} failed: {other}"),
        },
    }
}

/// The test plugin's wasm with its `wasplug_manifest` custom section
/// replaced by one that requests `capabilities`.
///
/// # Panics
/// When the test plugin cannot be read or is not a wasm module.
pub fn test_plugin_requesting(capabilities: &[&str]) -> Vec<u8> {
    let manifest = serde_json::json!({
        "name": "test-plugin",
        "version": "0.1.0",
        "protocol": wasplug_protocol::PROTOCOL_VERSION,
        "methods": [],
        "capabilities": capabilities,
    })
    .to_string();
    let original = std::fs::read(crate::guests::TEST_PLUGIN).expect("read the test plugin");
    let name = wasplug_protocol::MANIFEST_SECTION.as_bytes();
    let mut wasm = without_custom_section(&original, name);
    let mut payload = leb128(name.len());
    payload.extend_from_slice(name);
    payload.extend_from_slice(manifest.as_bytes());
    wasm.push(0); // a custom section
    wasm.extend(leb128(payload.len()));
    wasm.extend(payload);
    wasm
}

/// `wasm` without its custom sections named `name`.
fn without_custom_section(wasm: &[u8], name: &[u8]) -> Vec<u8> {
    let (mut out, mut at) = (wasm[..8].to_vec(), 8);
    while at < wasm.len() {
        let id = wasm[at];
        let (size, len) = read_leb128(&wasm[at + 1..]);
        let end = at + 1 + len + size;
        let body = &wasm[at + 1 + len..end];
        let (name_len, name_at) = read_leb128(body);
        let named = id == 0 && &body[name_at..name_at + name_len] == name;
        if !named {
            out.extend_from_slice(&wasm[at..end]);
        }
        at = end;
    }
    out
}

/// An unsigned LEB128 number at the start of `bytes`, and its length.
fn read_leb128(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0;
    for (i, byte) in bytes.iter().enumerate() {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("a LEB128 number runs past the end of the module")
}

/// `n` as unsigned LEB128.
fn leb128(mut n: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}
