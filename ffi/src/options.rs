//! How a plugin is loaded: [`LoadOptions`] and its [`Limits`].

use crate::host::{AsyncHostHandler, HostHandler, LogHandler};
use std::{sync::Arc, time::Duration};

/// The limits of every call to one plugin (`wasplug_hdk::Limits`). Each
/// field's default is the host kit's; `None` removes an optional limit.
/// [`default_limits`] returns the defaults.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Limits {
    /// Fuel budget per call (`None`: unbounded). Default: 10 billion units.
    #[uniffi(default = Some(10000000000))]
    pub fuel: Option<u64>,
    /// Linear memory plus tables, in bytes (`None`: wasm's own 4 GiB).
    /// Default: 256 MiB.
    #[uniffi(default = Some(268435456))]
    pub memory_bytes: Option<u64>,
    /// Wall-clock timeout per call in milliseconds (`None`: none).
    /// Default: 30 000.
    #[uniffi(default = Some(30000))]
    pub timeout_ms: Option<u64>,
    /// Fuel the guest runs before it yields (not a limit: latency against
    /// throughput). Default: 100 000.
    #[uniffi(default = 100000)]
    pub fuel_slice: u64,
    /// Host calls the plugin may have in flight at once. Default: 64.
    #[uniffi(default = 64)]
    pub host_calls: u32,
    /// Largest message line the plugin may write, in bytes. Default: 16 MiB.
    #[uniffi(default = 16777216)]
    pub max_line_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self::from(&wasplug_hdk::Limits::default())
    }
}

impl From<&wasplug_hdk::Limits> for Limits {
    fn from(limits: &wasplug_hdk::Limits) -> Self {
        Self {
            fuel: limits.fuel(),
            memory_bytes: limits.memory(),
            timeout_ms: limits
                .timeout()
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            fuel_slice: limits.fuel_slice(),
            host_calls: u32::try_from(limits.host_calls()).unwrap_or(u32::MAX),
            max_line_bytes: u64::try_from(limits.max_line()).unwrap_or(u64::MAX),
        }
    }
}

impl From<&Limits> for wasplug_hdk::Limits {
    fn from(limits: &Limits) -> Self {
        Self::default()
            .with_fuel(limits.fuel)
            .with_memory(limits.memory_bytes)
            .with_timeout(limits.timeout_ms.map(Duration::from_millis))
            .with_fuel_slice(limits.fuel_slice)
            .with_host_calls(usize::try_from(limits.host_calls).unwrap_or(usize::MAX))
            .with_max_line(usize::try_from(limits.max_line_bytes).unwrap_or(usize::MAX))
    }
}

/// The host kit's default limits.
#[uniffi::export]
pub fn default_limits() -> Limits {
    Limits::default()
}

/// How to load a plugin. Every field has a default: `LoadOptions()` in
/// Python and Kotlin, `LoadOptions()` in Swift.
#[derive(uniffi::Record)]
pub struct LoadOptions {
    /// The plugin's name (in logs and errors). Default: the file stem, or
    /// `"plugin"`.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// The limits of every call.
    #[uniffi(default)]
    pub limits: Limits,
    /// Host methods the plugin may call, answered by `host`. Each is granted
    /// to the plugin.
    #[uniffi(default = [])]
    pub host_methods: Vec<String>,
    /// Answers `host_methods`, synchronously, on the thread running the call.
    #[uniffi(default = None)]
    pub host: Option<Arc<dyn HostHandler>>,
    /// Host methods the plugin may call, answered by `async_host`.
    #[uniffi(default = [])]
    pub async_host_methods: Vec<String>,
    /// Answers `async_host_methods` with the foreign language's async
    /// (Python coroutines, Swift `async`, Kotlin `suspend`).
    #[uniffi(default = None)]
    pub async_host: Option<Arc<dyn AsyncHostHandler>>,
    /// Receives each line the plugin writes to stderr. Default: `tracing`,
    /// else the process's stderr as `[name] line`.
    #[uniffi(default = None)]
    pub log: Option<Arc<dyn LogHandler>>,
    /// The plugin's configuration, a JSON object it reads with `config.get`.
    #[uniffi(default = None)]
    pub config_json: Option<String>,
    /// The plugin's arguments after its name.
    #[uniffi(default = [])]
    pub args: Vec<String>,
    /// The plugin's environment variables (the app's are never passed on).
    #[uniffi(default)]
    pub env: std::collections::HashMap<String, String>,
}
