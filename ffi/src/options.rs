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
    /// The hosts (`host` or `host:port`, such as `api.example.com`) the
    /// plugin may fetch from with the built-in host method `http.fetch`
    /// (`https://` URLs need the crate's `https` feature), with the host
    /// kit's default limits (1 MiB each way, 10 s, 4 fetches at once). An
    /// entry that is no host fails the load (`InvalidHost`). Default: none,
    /// and `http.fetch` is not granted.
    #[uniffi(default = [])]
    pub http_allow: Vec<String>,
    /// Whether to run the plugin's init (its exported `wasplug_init`, if it
    /// has one) once, when it loads, and start every call from the memory
    /// it leaves (a warm start): a plugin with a heavy start-up pays it once
    /// rather than in every call, and calls stay stateless.
    /// [`Plugin::init_report`](crate::Plugin::init_report) says what the
    /// init did. The init runs inside `from_bytes`/`from_file`, on the
    /// calling thread, under [`LoadOptions::limits`] (fuel, memory,
    /// timeout): load a plugin with a heavy init off the UI thread. A failed
    /// init fails the load (`InitFailed`). With `false` the init never
    /// runs. Default: `true`.
    #[uniffi(default = true)]
    pub warm_start: bool,
    /// How many instances whose call is over the plugin keeps, reset to a
    /// fresh instance's state, to run later calls in (about half the cost
    /// of a short call saved); 0 keeps none. Calls stay stateless either
    /// way. Default: 4 (the host kit's).
    #[uniffi(default = 4)]
    pub idle_instances: u32,
    /// The largest plugin file [`Plugin::from_file`](crate::Plugin::from_file)
    /// reads, in bytes: a larger one is refused (`ModuleTooLarge`) without
    /// being read whole. Bytes given to `from_bytes` are not held to it.
    /// Default: 64 MiB.
    #[uniffi(default = 67108864)]
    pub max_module_bytes: u64,
}

/// The defaults of [`LoadOptions`], as the foreign languages' constructors
/// give them (the host kit's).
impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            name: None,
            limits: Limits::default(),
            host_methods: Vec::new(),
            host: None,
            async_host_methods: Vec::new(),
            async_host: None,
            log: None,
            config_json: None,
            args: Vec::new(),
            env: std::collections::HashMap::new(),
            http_allow: Vec::new(),
            warm_start: true,
            idle_instances: 4,
            max_module_bytes: 64 << 20,
        }
    }
}

/// What the plugin's init did when it loaded (a warm start): see
/// [`LoadOptions::warm_start`].
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InitReport {
    /// Fuel the start-up and the init used (what a call without a warm
    /// start would repeat).
    pub fuel_used: u64,
    /// The memory's size after the init, in bytes: every call starts with
    /// this much.
    pub memory_bytes: u64,
    /// Bytes of memory that differ from a fresh instance's: what each call
    /// starts by restoring.
    pub image_bytes: u64,
    /// Wall time of the init and the capture of its memory, in
    /// microseconds.
    pub init_time_us: u64,
    /// What the init wrote to stderr (its last 8 KiB), lossily
    /// decoded as UTF-8; each line also went to the log handler.
    pub stderr: String,
}

impl From<&wasplug_hdk::InitReport> for InitReport {
    fn from(report: &wasplug_hdk::InitReport) -> Self {
        Self {
            fuel_used: report.fuel_used,
            memory_bytes: report.memory_bytes,
            image_bytes: report.image_bytes,
            init_time_us: u64::try_from(report.init_time.as_micros()).unwrap_or(u64::MAX),
            stderr: String::from_utf8_lossy(&report.stderr).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults the foreign constructors give (the `#[uniffi(default)]`
    /// literals, repeated in `Default`) are the host kit's.
    #[test]
    fn load_options_default_to_the_host_kits() {
        let options = LoadOptions::default();
        assert!(options.warm_start);
        assert_eq!(
            usize::try_from(options.idle_instances).unwrap(),
            wasplug_wasi::IDLE_MAX
        );
        assert_eq!(
            options.max_module_bytes,
            wasplug_hdk::PluginBuilder::DEFAULT_MAX_MODULE_BYTES
        );
        assert_eq!(options.limits, default_limits());
    }
}
