//! The host methods the kit itself provides: `config.get` (always there),
//! and the capabilities an embedder grants: `http.fetch` ([`HttpPolicy`])
//! and `kv.get`/`kv.set`/`kv.delete` ([`KvStore`]).

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod blocking;
mod config;
mod http;
mod kv;

pub use http::{HttpPolicy, InvalidHost};
pub use kv::{KvLimits, KvStore};

use crate::platform::BoxFuture;
use std::sync::Arc;
use wasplug_protocol::{ErrorObjectOwned, RawValue};

/// The method through which a plugin reads its own configuration.
pub(crate) const CONFIG_GET: &str = "config.get";
/// The built-in HTTP client.
pub(crate) const HTTP_FETCH: &str = "http.fetch";
/// The built-in key-value store's methods.
pub(crate) const KV_METHODS: [&str; 3] = ["kv.get", "kv.set", "kv.delete"];

type RawResult = Result<Box<RawValue>, ErrorObjectOwned>;

/// Whether `method` is one of the capabilities the kit provides when an
/// embedder grants it (`http.fetch`, `kv.*`; not `config.get`, which is
/// always there).
pub(crate) fn is_capability(method: &str) -> bool {
    method == HTTP_FETCH || KV_METHODS.contains(&method)
}

/// The built-in methods one plugin has: its config, and the capabilities
/// granted to it.
pub(crate) struct Builtins {
    config: Arc<serde_json::Map<String, serde_json::Value>>,
    http: Option<HttpPolicy>,
    /// The plugin's fetches in flight (all its calls).
    http_in_flight: http::InFlight,
    kv: Option<KvStore>,
}

impl Builtins {
    /// The built-ins of one plugin.
    pub(crate) fn new(
        config: serde_json::Map<String, serde_json::Value>,
        http: Option<HttpPolicy>,
        kv: Option<KvStore>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            http,
            http_in_flight: http::InFlight::default(),
            kv,
        }
    }

    /// Whether the capability `method` is granted (configured) here.
    pub(crate) fn grants(&self, method: &str) -> bool {
        match method {
            CONFIG_GET => true,
            HTTP_FETCH => self.http.is_some(),
            _ => KV_METHODS.contains(&method) && self.kv.is_some(),
        }
    }

    /// The built-in methods available here, in a stable order.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut names = vec![CONFIG_GET];
        if self.http.is_some() {
            names.push(HTTP_FETCH);
        }
        if self.kv.is_some() {
            names.extend(KV_METHODS);
        }
        names
    }

    /// Calls built-in `method` for `plugin`; `None` when it is not one
    /// granted here.
    pub(crate) fn call(
        &self,
        plugin: &Arc<str>,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Option<BoxFuture<RawResult>> {
        match method {
            CONFIG_GET => {
                let answer = config::get(&self.config, params.as_deref());
                Some(Box::pin(async move { answer }))
            }
            HTTP_FETCH => self
                .http
                .as_ref()
                .map(|policy| http::fetch(policy, &self.http_in_flight, plugin, params.as_deref())),
            _ => {
                let store = self.kv.as_ref()?;
                kv::call(store, plugin, method, params.as_deref())
            }
        }
    }
}

/// Serializes a built-in's answer (a `Value` built by the kit always serializes).
fn to_raw<T: serde::Serialize>(value: &T) -> RawResult {
    serde_json::value::to_raw_value(value).map_err(|e| {
        wasplug_protocol::codes::internal_error(format!("cannot serialize the result: {e}"))
    })
}
