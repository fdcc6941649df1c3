//! A compiled plugin, ready to be called.

use crate::{
    CallOptions, CallReport, Error, ErrorKind, Grants, HostMethods, Limits, call, exact,
    host::{Gate, Router},
    manifest::{self, ManifestSource},
    platform::{MaybeSend, MaybeSync},
};
use serde::{Serialize, de::DeserializeOwned};
use std::{future::Future, path::PathBuf, sync::Arc};
use wasmi::{ExternType, Module};
use wasplug_protocol::{Manifest, RawValue};
use wasplug_wasi::{GuestLimits, InitReport, ModuleError, Program, WasiCtx};
use web_time::{Instant, SystemTime};

/// The wasmi engine plugins are compiled by and run in.
///
/// Configured for wasplug: fuel metering on (so calls can be sliced and
/// budgeted), and lazy translation: a module is validated when it loads, and
/// each function is translated on its first call (then kept), which makes
/// loading a plugin several times faster. Translation is not charged as fuel,
/// so the same call always costs the same fuel, first or not. Cheap to
/// clone; share one between many plugins so their code lives in one place.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: wasmi::Engine,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An engine with wasplug's configuration.
    pub fn new() -> Self {
        let mut config = wasmi::Config::default();
        config.consume_fuel(true);
        config.compilation_mode(wasmi::CompilationMode::LazyTranslation);
        config.fuel_cost(wasmi::CustomFuelCosts {
            // wasmi's default: one unit of fuel per 64 bytes copied.
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        });
        Self {
            inner: wasmi::Engine::new(&config),
        }
    }

    /// The underlying wasmi engine.
    pub fn wasmi(&self) -> &wasmi::Engine {
        &self.inner
    }
}

/// Receives each line a plugin writes to stderr, with the plugin's name.
/// `Send + Sync` natively; in a browser it may hold JavaScript values.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub type Logger = Arc<dyn Fn(&str, &str) + Send + Sync>;
/// Receives each line a plugin writes to stderr, with the plugin's name.
/// `Send + Sync` natively; in a browser it may hold JavaScript values.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub type Logger = Arc<dyn Fn(&str, &str)>;

/// Everything a call needs, shared by all calls to one plugin.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) program: Program,
    pub(crate) limits: Limits,
    /// The host methods, behind the plugin's grants.
    pub(crate) router: Arc<Gate>,
    pub(crate) logger: Logger,
    pub(crate) protocol: Option<u32>,
    pub(crate) manifest: Manifest,
    pub(crate) manifest_source: ManifestSource,
    /// SHA-256 of the bytes the plugin was built from, in lowercase hex.
    pub(crate) digest: Box<str>,
    /// When the plugin was built.
    pub(crate) loaded_at: SystemTime,
    /// The arguments after the program name (`argv[0]`, the plugin's name).
    pub(crate) args: Vec<String>,
    /// The environment variables.
    pub(crate) env: Vec<(String, String)>,
    /// What the plugin's init did, when it has one (warm starts).
    pub(crate) init: Option<InitReport>,
}

/// A compiled plugin: call its methods.
///
/// Cheap to clone and `Send + Sync` natively; every clone shares the compiled
/// code. Each call runs in a fresh instance: no call sees another's memory.
///
/// ```
/// # futures::executor::block_on(async {
/// use wasplug_hdk::{Error, Plugin};
///
/// // A plugin written by hand in WAT: it writes one fixed answer and exits.
/// let wat = r#"(module
///   (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
///   (memory (export "memory") 1)
///   (data (i32.const 16) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"pong\"}\n")
///   (func (export "_start")
///     (i32.store (i32.const 0) (i32.const 16))
///     (i32.store (i32.const 4) (i32.const 41))
///     (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
/// let plugin = Plugin::builder(wat).name("pong").build()?;
/// let answer = plugin.call("ping", serde_json::Value::Null).await?;
/// assert_eq!(answer, "pong");
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Plugin {
    shared: Arc<Shared>,
}

impl core::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.shared.name)
            .field("limits", &self.shared.limits)
            .field("protocol", &self.shared.protocol)
            .field("manifest_source", &self.shared.manifest_source)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Starts building a plugin from wasm bytes or WAT text.
    pub fn builder(wasm: impl AsRef<[u8]>) -> PluginBuilder {
        PluginBuilder::new(Source::Bytes(wasm.as_ref().to_vec()))
    }

    /// Starts building a plugin from a `.wasm` or `.wat` file (read by
    /// [`PluginBuilder::build`]). The plugin's name defaults to the file stem.
    pub fn from_file(path: impl Into<PathBuf>) -> PluginBuilder {
        PluginBuilder::new(Source::File(path.into()))
    }

    /// The plugin's name (in logs and [`crate::HostContext::plugin`]).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The same plugin (sharing its compiled code) under another name.
    #[cfg_attr(
        all(target_arch = "wasm32", target_os = "unknown"),
        allow(clippy::arc_with_non_send_sync)
    )]
    pub(crate) fn renamed(&self, name: Arc<str>) -> Self {
        let mut shared = (*self.shared).clone();
        shared.name = name;
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The compiled module (for the conformance probes, which run it raw).
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub(crate) fn program(&self) -> &Program {
        &self.shared.program
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// The SHA-256 of the bytes (wasm or WAT, as read from the file) the
    /// plugin was built from, in lowercase hex: tells two versions apart.
    pub fn digest(&self) -> &str {
        &self.shared.digest
    }

    /// When the plugin was built (loaded).
    pub fn loaded_at(&self) -> SystemTime {
        self.shared.loaded_at
    }

    /// The protocol version the plugin recorded (in its manifest, or the
    /// older `wasplug_protocol` section), if it recorded one.
    pub fn protocol_version(&self) -> Option<u32> {
        self.shared.protocol
    }

    /// The plugin's manifest: what it says it is, offers and asks for, read
    /// when it loaded ([`PluginBuilder::build`] says from where). Always
    /// there: made up from the plugin's name when the module records none.
    pub fn manifest(&self) -> &Manifest {
        &self.shared.manifest
    }

    /// What the plugin's init (`wasplug_init`) did when the plugin loaded,
    /// if it has one: every call then starts from the memory it left (a
    /// warm start). `None` for a plugin without an init.
    pub fn init_report(&self) -> Option<&InitReport> {
        self.shared.init.as_ref()
    }

    /// Where [`Plugin::manifest`] came from.
    pub fn manifest_source(&self) -> &ManifestSource {
        &self.shared.manifest_source
    }

    /// Whether the plugin may call host method (or send notification)
    /// `name`: the host has it and granted it (`config.get` always).
    pub fn is_granted(&self, name: &str) -> bool {
        self.shared.router.permits(name)
    }

    /// Every host method and notification the plugin may use, sorted: the
    /// embedder's that are granted, `config.get`, and the granted built-in
    /// capabilities.
    pub fn granted(&self) -> Vec<String> {
        self.shared.router.permitted()
    }

    /// Calls `method` with JSON `params` (an array, an object, or `null` for
    /// none) and returns the result.
    ///
    /// The future does all the work when polled, on whatever executor polls
    /// it; dropping it cancels the call. It borrows nothing (it is `'static`,
    /// and `Send` natively), so it can be spawned:
    /// `tokio::spawn(plugin.call("ping", Value::Null))`.
    ///
    /// # Errors
    /// An [`Error`] naming the plugin and the method, whose
    /// [`kind`](Error::kind) is [`ErrorKind::Plugin`] when the plugin answers
    /// with a JSON-RPC error, [`ErrorKind::InexactNumber`] when the result
    /// holds an integer beyond 64 bits (which a `Value` would round: use
    /// [`Plugin::call_raw`] for it), and another kind when the call fails
    /// (trap, limit, protocol violation...).
    pub fn call(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> impl Future<Output = Result<serde_json::Value, Error>> + 'static + use<> {
        self.call_typed(method, &params)
    }

    /// Calls `method` with params of any serializable type (serialized
    /// before this returns), and deserializes the result into `R`.
    ///
    /// # Errors
    /// As [`Plugin::call`]; [`ErrorKind::InvalidParams`] when the params are
    /// not an array, an object or `null`; [`ErrorKind::Json`] when they do
    /// not serialize, or the result does not deserialize into `R`. A result
    /// holding an integer beyond 64 bits is [`ErrorKind::InexactNumber`]
    /// whatever `R` is: [`Plugin::call_raw`] returns it exactly.
    pub fn call_typed<P, R>(
        &self,
        method: &str,
        params: &P,
    ) -> impl Future<Output = Result<R, Error>> + 'static + use<P, R>
    where
        P: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let params = structured_params(params);
        self.run(method, params, |result| {
            if let Some(number) = exact::first_inexact_integer(result.get()) {
                return Err(ErrorKind::InexactNumber {
                    number: wasplug_protocol::excerpt(number),
                });
            }
            serde_json::from_str(result.get())
                .map_err(|e| ErrorKind::json("cannot deserialize the result", e))
        })
    }

    /// Calls `method` with already-serialized params and returns the raw
    /// result JSON, exactly as the plugin wrote it (every number kept).
    ///
    /// # Errors
    /// As [`Plugin::call`], but for [`ErrorKind::InexactNumber`].
    pub fn call_raw(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> impl Future<Output = Result<Box<RawValue>, Error>> + 'static + use<> {
        self.run(method, Ok(params), Ok)
    }

    /// Calls `method` as [`Plugin::call_raw`] does, under `options` (limits
    /// overriding the plugin's for this call, a deadline), and reports what
    /// the call used: wall time, fuel, peak memory, host calls and
    /// notifications. The report comes with every call, failed or not.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use wasplug_hdk::{CallOptions, ErrorKind, Plugin};
    ///
    /// // A plugin that loops forever.
    /// let wat = r#"(module (memory (export "memory") 1)
    ///   (func (export "_start") (loop (br 0))))"#;
    /// let plugin = Plugin::builder(wat).name("spinner").build()?;
    /// let options = CallOptions::new().with_fuel(Some(50_000));
    /// let (result, report) = plugin.call_with("spin", None, &options).await;
    /// assert!(matches!(result.unwrap_err().kind(), ErrorKind::OutOfFuel { limit: 50_000 }));
    /// // All of it used (but what the last loop iteration could not pay for).
    /// assert!((49_990..=50_000).contains(&report.fuel_used));
    /// assert_eq!(report.peak_memory, 65_536); // one page
    /// # Ok::<(), wasplug_hdk::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// As [`Plugin::call_raw`], with the limits as `options` set them.
    pub fn call_with(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        options: &CallOptions,
    ) -> impl Future<Output = (Result<Box<RawValue>, Error>, CallReport)> + 'static + use<> {
        let shared = Arc::clone(&self.shared);
        let method: Box<str> = method.into();
        let options = *options;
        async move {
            let mut report = CallReport::default();
            let result = execute(&shared, &method, Ok(params), &options, Some(&mut report))
                .await
                .map_err(|error| error.in_call(&shared.name, &method));
            (result, report)
        }
    }

    /// The body of every call but [`Plugin::call_with`]: runs `method` with
    /// `params` (or fails with their error) under the plugin's limits, hands
    /// the raw result to `finish`, and names the plugin and the method in
    /// any error.
    fn run<R, F>(
        &self,
        method: &str,
        params: Result<Option<Box<RawValue>>, ErrorKind>,
        finish: F,
    ) -> impl Future<Output = Result<R, Error>> + 'static + use<R, F>
    where
        F: FnOnce(Box<RawValue>) -> Result<R, ErrorKind> + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let method: Box<str> = method.into();
        async move {
            execute(&shared, &method, params, &PLUGIN_LIMITS, None)
                .await
                .and_then(|raw| finish(raw).map_err(Error::from))
                .map_err(|error| error.in_call(&shared.name, &method))
        }
    }
}

/// The options of a call under the plugin's own limits.
static PLUGIN_LIMITS: CallOptions = CallOptions::new();

/// The one body of every call: runs `method` with `params` (or fails with
/// their error) under `options`, and fills `report` (if given: plain calls
/// measure nothing).
async fn execute(
    shared: &Arc<Shared>,
    method: &str,
    params: Result<Option<Box<RawValue>>, ErrorKind>,
    options: &CallOptions,
    report: Option<&mut CallReport>,
) -> Result<Box<RawValue>, Error> {
    let started = report.is_some().then(Instant::now);
    let call = params.and_then(|params| {
        call::Call::start(Arc::clone(shared), method, params.as_deref(), options)
    });
    let mut call = match call {
        Ok(call) => call,
        Err(kind) => {
            if let (Some(report), Some(started)) = (report, started) {
                report.wall_time = started.elapsed();
            }
            return Err(Error::from(kind));
        }
    };
    let result = (&mut call).await;
    if let (Some(report), Some(started)) = (report, started) {
        *report = call.report(started.elapsed());
    }
    result
}

/// Serializes params, which must be a JSON array, an object, or `null`
/// (none).
fn structured_params<P: Serialize + ?Sized>(
    params: &P,
) -> Result<Option<Box<RawValue>>, ErrorKind> {
    let raw = serde_json::value::to_raw_value(params)
        .map_err(|e| ErrorKind::json("cannot serialize the params", e))?;
    match raw.get().as_bytes().first() {
        Some(b'n') => Ok(None),
        Some(b'[' | b'{') => Ok(Some(raw)),
        Some(b'"') => Err(ErrorKind::InvalidParams { found: "a string" }),
        Some(b't' | b'f') => Err(ErrorKind::InvalidParams { found: "a boolean" }),
        _ => Err(ErrorKind::InvalidParams { found: "a number" }),
    }
}

enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// Builds a [`Plugin`] (by value: `Plugin::builder(wasm).name("x").build()`).
pub struct PluginBuilder {
    source: Source,
    name: Option<String>,
    engine: Option<Engine>,
    limits: Limits,
    router: Arc<dyn Router>,
    grants: Grants,
    config: serde_json::Map<String, serde_json::Value>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    logger: Logger,
    manifest: Option<Manifest>,
    max_module_bytes: u64,
    warm_start: bool,
    idle_instances: usize,
}

impl core::fmt::Debug for PluginBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PluginBuilder")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .field("manifest", &self.manifest)
            .field("grants", &self.grants)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl PluginBuilder {
    // In a browser, host methods need not be `Send`: see `build`.
    #[cfg_attr(
        all(target_arch = "wasm32", target_os = "unknown"),
        allow(clippy::arc_with_non_send_sync)
    )]
    fn new(source: Source) -> Self {
        Self {
            source,
            name: None,
            engine: None,
            limits: Limits::default(),
            router: Arc::new(HostMethods::default()),
            grants: Grants::none(),
            config: serde_json::Map::new(),
            args: Vec::new(),
            env: Vec::new(),
            logger: Arc::new(crate::log::default_logger),
            manifest: None,
            max_module_bytes: Self::DEFAULT_MAX_MODULE_BYTES,
            warm_start: true,
            idle_instances: wasplug_wasi::IDLE_MAX,
        }
    }

    /// How many instances whose call is over the plugin keeps, to reset to
    /// a fresh instance's state and run later calls in instead of
    /// instantiating the module again (about half the cost of a short
    /// call). Default: [`wasplug_wasi::IDLE_MAX`]; 0 keeps none. The idle
    /// instances of a plugin hold at most [`wasplug_wasi::IDLE_BYTES_MAX`]
    /// of linear memory together. Calls stay stateless either way: a reset
    /// instance has a new one's memory, globals and tables (docs/PROTOCOL.md
    /// H-3).
    pub fn idle_instances(mut self, max: usize) -> Self {
        self.idle_instances = max;
        self
    }

    /// Whether to run the plugin's init (`wasplug_init`, if it exports
    /// one) once, when it is built, and start every call from the memory it
    /// leaves. Default: `true`. With `false`, the init never runs and each
    /// call starts as a plugin without one does (a plugin built with the
    /// Rust kit then does the init's work, lazily, in every call).
    pub fn warm_start(mut self, enabled: bool) -> Self {
        self.warm_start = enabled;
        self
    }

    /// Default of [`PluginBuilder::max_module_bytes`]: 64 MiB.
    pub const DEFAULT_MAX_MODULE_BYTES: u64 = 64 * 1024 * 1024;

    /// The largest plugin file [`Plugin::from_file`] reads: a larger one is
    /// refused ([`ErrorKind::ModuleTooLarge`]) without being read whole.
    /// Default: [`PluginBuilder::DEFAULT_MAX_MODULE_BYTES`]. (Bytes given to
    /// [`Plugin::builder`] are already in memory, and not held to it.)
    pub fn max_module_bytes(mut self, limit: u64) -> Self {
        self.max_module_bytes = limit;
        self
    }

    /// The plugin's name. Default: the file stem, or `"plugin"`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The engine to compile into (share one between plugins). Default: a new one.
    pub fn engine(mut self, engine: &Engine) -> Self {
        self.engine = Some(engine.clone());
        self
    }

    /// The limits of every call. Default: [`Limits::default`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The host's methods. Default: none (every host call answers
    /// `-32601`). The plugin may call only those [`PluginBuilder::grants`]
    /// grants it; the others answer `-32010`.
    pub fn host_methods<S>(mut self, methods: HostMethods<S>) -> Self
    where
        S: MaybeSend + MaybeSync + 'static,
        HostMethods<S>: MaybeSend + MaybeSync,
    {
        self.router = Arc::new(methods);
        self
    }

    /// What the plugin may call on the host: which of the host methods, and
    /// which built-in capabilities ([`Grants`]). Default: [`Grants::none`].
    pub fn grants(mut self, grants: Grants) -> Self {
        self.grants = grants;
        self
    }

    /// The plugin's configuration: a JSON object it reads with the host
    /// method `config.get` (`[key]`: that value, or `null`; no params: the
    /// whole object), which every plugin may call. Default: empty.
    pub fn config(mut self, config: serde_json::Map<String, serde_json::Value>) -> Self {
        self.config = config;
        self
    }

    /// The plugin's command-line arguments, after its program name (which is
    /// `argv[0]`, the plugin's name). Default: none.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// The plugin's environment variables. Default: none (the host's own
    /// environment is never passed on).
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Where the plugin's stderr lines go: `logger(plugin_name, line)`.
    ///
    /// Default: `tracing` at info level, target `wasplug::plugin`, with a
    /// `plugin` field, when a `tracing` subscriber is in effect; without one,
    /// `[name] line` on the process's stderr (`console.info` in a browser),
    /// control characters escaped, so no line vanishes unseen.
    pub fn logger(mut self, logger: impl Fn(&str, &str) + MaybeSend + MaybeSync + 'static) -> Self {
        self.logger = Arc::new(logger);
        self
    }

    /// The plugin's manifest, in place of the one it records (which is then
    /// not read). Default: read when the plugin is built
    /// ([`PluginBuilder::build`]).
    pub fn manifest(mut self, manifest: Manifest) -> Self {
        self.manifest = Some(manifest);
        self
    }

    /// Compiles and checks the module, reads its manifest, and runs its
    /// init if it has one ([`PluginBuilder::warm_start`]). The manifest is
    /// [`Plugin::manifest`]: the one given to [`PluginBuilder::manifest`];
    /// else the module's `wasplug_manifest` custom section; else, for
    /// [`Plugin::from_file`] on a native host, a sidecar file beside the
    /// module (`name.json` or `name.toml` for `name.wasm`); else one made up
    /// from the plugin's name ([`crate::read_manifest`]).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the file cannot be read;
    /// [`ErrorKind::ModuleTooLarge`] when it is larger than
    /// [`PluginBuilder::max_module_bytes`]; [`ErrorKind::InvalidModule`]
    /// when it is not wasm (or WAT); [`ErrorKind::RefusedImports`] naming every
    /// import outside `wasi_snapshot_preview1`; [`ErrorKind::MissingExport`] when
    /// `_start` or `memory` is missing; [`ErrorKind::BadManifest`],
    /// [`ErrorKind::AmbiguousManifest`] or [`ErrorKind::BadVersionSection`]
    /// when what it records is malformed; [`ErrorKind::IncompatibleProtocol`]
    /// when the plugin (its manifest or its `wasplug_protocol` section)
    /// speaks another protocol version; [`ErrorKind::UngrantedCapabilities`]
    /// when the grants refuse a plugin requesting (in its manifest) more than
    /// it is granted; [`ErrorKind::InvalidArgsOrEnv`] when an argument or
    /// variable cannot be passed to the plugin; [`ErrorKind::InitFailed`]
    /// when the init traps, breaks a limit of [`PluginBuilder::limits`]
    /// (memory, fuel, timeout), exits, reads stdin, sleeps or writes to
    /// stdout.
    // In a browser, host methods need not be `Send`, so neither is `Shared`;
    // an `Arc` still keeps `Plugin` one type on every platform.
    #[cfg_attr(
        all(target_arch = "wasm32", target_os = "unknown"),
        allow(clippy::arc_with_non_send_sync)
    )]
    pub fn build(self) -> Result<Plugin, Error> {
        let (bytes, default_name, path) = match self.source {
            Source::Bytes(bytes) => (bytes, "plugin".to_owned(), None),
            Source::File(path) => {
                let bytes = read_capped(&path, self.max_module_bytes)?;
                let stem = path
                    .file_stem()
                    .map_or_else(|| "plugin".to_owned(), |s| s.to_string_lossy().into_owned());
                (bytes, stem, Some(path))
            }
        };
        let name = self.name.unwrap_or(default_name);
        let digest = hex_sha256(&bytes);
        let engine = self.engine.unwrap_or_default().inner;
        let program = Program::new(&engine, &bytes).map_err(|error| match error {
            ModuleError::Invalid { reason } => ErrorKind::InvalidModule { reason },
            ModuleError::RefusedImports { imports } => ErrorKind::RefusedImports { imports },
            ModuleError::NotACommand => ErrorKind::MissingExport {
                name: "_start",
                expected: "a function with no params and no results",
            },
            other => ErrorKind::InvalidModule {
                reason: other.to_string(),
            },
        })?;
        let module = program.module();
        check_memory(module)?;
        let (manifest, manifest_source) = load_manifest(module, self.manifest, path, &name)?;
        let protocol = (manifest_source != ManifestSource::None).then_some(manifest.protocol);
        check_args_and_env(&self.args, &self.env)?;
        let router = Arc::new(Gate::new(
            self.router,
            self.grants,
            self.config,
            &manifest.capabilities,
        )?);
        let name: Arc<str> = name.into();
        let (program, init) = match self.warm_start {
            true => initialize(program, &name, &self.limits, &self.args, &self.env)
                .map_err(|error| error.in_plugin(&name))?,
            false => (program, None),
        };
        let program = program.with_idle_instances(self.idle_instances);
        if let Some(report) = &init {
            for line in String::from_utf8_lossy(&report.stderr).lines() {
                (self.logger)(&name, line);
            }
        }
        Ok(Plugin {
            shared: Arc::new(Shared {
                name,
                program,
                limits: self.limits,
                router,
                logger: self.logger,
                protocol,
                manifest,
                manifest_source,
                digest,
                loaded_at: SystemTime::now(),
                args: self.args,
                env: self.env,
                init,
            }),
        })
    }
}

/// Stderr lines of a failed init kept in its error.
const INIT_STDERR_LINES: usize = 16;

/// Runs the plugin's init, if it has one, under its limits (memory, fuel,
/// timeout), with its arguments and environment and an empty stdin, and
/// returns the program every call starts from.
fn initialize(
    program: Program,
    name: &str,
    limits: &Limits,
    args: &[String],
    env: &[(String, String)],
) -> Result<(Program, Option<InitReport>), Error> {
    if !program.has_init() {
        return Ok((program, None));
    }
    let mut wasi = WasiCtx::builder().arg(name).args(args);
    for (key, value) in env {
        wasi = wasi.env(key, value);
    }
    // Open and empty: an init that reads stdin fails, rather than reading
    // an end of file no call would see.
    let wasi = wasi.stdin(&[]).build();
    let guest_limits = GuestLimits::default()
        .with_memory(limits.memory())
        .with_fuel(limits.fuel())
        .with_fuel_slice(limits.fuel_slice());
    let deadline = limits
        .timeout()
        .and_then(|timeout| Instant::now().checked_add(timeout));
    match program.initialize(wasi, guest_limits, deadline) {
        Ok((program, report)) => Ok((program, Some(report))),
        Err(error) => {
            let text = String::from_utf8_lossy(&error.stderr);
            let lines: Vec<&str> = text.lines().collect();
            let kept = lines.len().saturating_sub(INIT_STDERR_LINES);
            let stderr = lines
                .get(kept..)
                .unwrap_or_default()
                .iter()
                .map(|line| (*line).to_owned())
                .collect();
            Err(Error::from(ErrorKind::InitFailed {
                failure: error.failure,
            })
            .with_stderr(stderr))
        }
    }
}

/// Reads a plugin file as [`Plugin::from_file`] does: a regular file
/// (following links) of at most `limit` bytes
/// ([`PluginBuilder::DEFAULT_MAX_MODULE_BYTES`] there), read no further than
/// one byte past the limit. A FIFO, a device such as `/dev/zero` or a
/// directory is refused before anything is read.
///
/// # Errors
/// [`ErrorKind::Io`] (not found, not a regular file, unreadable) and
/// [`ErrorKind::ModuleTooLarge`].
///
/// ```
/// use wasplug_hdk::{ErrorKind, read_plugin_file};
/// let error = read_plugin_file("/dev/zero", 1 << 20).unwrap_err();
/// assert!(matches!(error.kind(), ErrorKind::Io { .. }));
/// ```
pub fn read_plugin_file(path: impl AsRef<std::path::Path>, limit: u64) -> Result<Vec<u8>, Error> {
    read_capped(path.as_ref(), limit).map_err(Error::from)
}

/// The bytes of the plugin file at `path`, refusing one larger than
/// `limit` without reading more than one byte past it, and anything but a
/// regular file (following links).
fn read_capped(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, ErrorKind> {
    use std::io::Read as _;
    let io = |source| ErrorKind::Io {
        path: path.display().to_string(),
        source,
    };
    // Opening a FIFO would wait for a writer, and a device could be endless.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(ErrorKind::ModuleTooLarge {
            path: path.display().to_string(),
            limit,
        });
    }
    Ok(bytes)
}

/// SHA-256 of `bytes` in lowercase hex.
fn hex_sha256(bytes: &[u8]) -> Box<str> {
    use sha2::Digest;
    use std::fmt::Write;
    let hash = sha2::Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in hash {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex.into()
}

/// A plugin talks through WASI, which needs its memory (the module check
/// of `wasplug_wasi::Program` covers the rest).
fn check_memory(module: &Module) -> Result<(), ErrorKind> {
    match module.get_export("memory") {
        Some(ExternType::Memory(_)) => Ok(()),
        _ => Err(ErrorKind::MissingExport {
            name: "memory",
            expected: "a linear memory",
        }),
    }
}

/// Refuses what WASI cannot pass: a NUL in an argument or a variable, an
/// empty variable name or one holding `=`.
fn check_args_and_env(args: &[String], env: &[(String, String)]) -> Result<(), ErrorKind> {
    let refuse = |entry: &str, reason: &'static str| ErrorKind::InvalidArgsOrEnv {
        entry: wasplug_protocol::excerpt(entry),
        reason,
    };
    if let Some(arg) = args.iter().find(|a| a.contains('\0')) {
        return Err(refuse(arg, "an argument holds a NUL byte"));
    }
    for (key, value) in env {
        if key.is_empty() || key.contains('=') || key.contains('\0') {
            return Err(refuse(
                key,
                "a variable name must be non-empty, without `=` or NUL",
            ));
        }
        if value.contains('\0') {
            return Err(refuse(key, "the variable's value holds a NUL byte"));
        }
    }
    Ok(())
}

/// The plugin's manifest (given, or read as [`crate::read_manifest`]
/// says), its protocol version and that of its `wasplug_protocol` section
/// checked.
fn load_manifest(
    module: &Module,
    given: Option<Manifest>,
    path: Option<PathBuf>,
    name: &str,
) -> Result<(Manifest, ManifestSource), ErrorKind> {
    let sections = || module.custom_sections().map(|s| (s.name(), s.data()));
    let (manifest, source) = match given {
        Some(manifest) => {
            manifest
                .validate()
                .map_err(|source| ErrorKind::BadManifest {
                    origin: ManifestSource::Builder,
                    source,
                })?;
            (manifest, ManifestSource::Builder)
        }
        None => manifest::read_manifest(sections(), path.as_deref(), name)?,
    };
    let legacy = sections()
        .find(|(section, _)| *section == wasplug_protocol::VERSION_SECTION)
        .map(|(_, data)| manifest::legacy_version(data))
        .transpose()?;
    for version in legacy.into_iter().chain([manifest.protocol]) {
        wasplug_protocol::check_compatible(version).map_err(|_| {
            ErrorKind::IncompatibleProtocol {
                plugin: version,
                host: wasplug_protocol::PROTOCOL_VERSION,
            }
        })?;
    }
    Ok((manifest, source))
}

#[cfg(all(test, not(all(target_arch = "wasm32", target_os = "unknown"))))]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn plugin_is_send_sync_and_its_call_future_is_send() {
        assert_send_sync::<Plugin>();
        let wat = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;
        let plugin = Plugin::builder(wat).build().unwrap();
        let call = plugin.call("m", serde_json::Value::Null);
        assert_send(&call);
        let call = plugin.call_with("m", None, &crate::CallOptions::new());
        assert_send(&call);
    }
}
