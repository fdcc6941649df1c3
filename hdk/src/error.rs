//! The errors of the host kit: [`Error`] (what failed, where, and what the
//! plugin wrote to stderr) and [`ErrorKind`] (what failed).

use crate::text::escape;
use serde_json::value::RawValue;
use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

/// Why loading a plugin or one call to it failed.
///
/// [`Error::kind`] says what failed; match on it, not on messages. An error
/// of a call also names the plugin and the method ([`Error::plugin`],
/// [`Error::method`]) and carries the last lines the plugin wrote to stderr
/// ([`Error::stderr`]). Its message, one line, puts the most useful of them
/// first (for a Rust panic, the panic message itself) and escapes what the
/// plugin wrote ([`crate::text::escape`]); the fields keep it as it was.
///
/// ```
/// # futures::executor::block_on(async {
/// use wasplug_hdk::{ErrorKind, Limits, Plugin};
///
/// // A plugin that loops forever.
/// let wat = r#"(module (memory (export "memory") 1)
///   (func (export "_start") (loop (br 0))))"#;
/// let plugin = Plugin::builder(wat)
///     .name("spinner")
///     .limits(Limits::default().with_fuel(Some(100_000)))
///     .build()?;
/// let error = plugin.call("spin", serde_json::Value::Null).await.unwrap_err();
/// assert!(matches!(error.kind(), ErrorKind::OutOfFuel { limit: 100_000 }));
/// assert_eq!((error.plugin(), error.method()), (Some("spinner"), Some("spin")));
/// assert_eq!(
///     error.to_string(),
///     "plugin `spinner`, method `spin`: the plugin used up its fuel budget of 100000 units"
/// );
/// # Ok::<(), wasplug_hdk::Error>(())
/// # }).unwrap();
/// ```
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    plugin: Option<Arc<str>>,
    method: Option<Box<str>>,
    stderr: Vec<String>,
}

/// What failed: each variant carries what helps a user act on it.
///
/// The enum grows as the host learns new ways to fail; [`ErrorKind::name`]
/// gives each variant's name (for bindings to other languages).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not a valid WebAssembly module (or the `.wat` did not parse).
    #[error("invalid wasm module: {reason}")]
    InvalidModule {
        /// What the validator said.
        reason: String,
    },
    /// The module imports things the sandbox does not provide.
    #[error("the plugin imports what the sandbox does not provide: {}", .imports.join(", "))]
    RefusedImports {
        /// Each refused import as `module::name`.
        imports: Vec<String>,
    },
    /// The module lacks an export a plugin must have (`_start`, `memory`).
    #[error("the plugin does not export `{name}` ({expected})")]
    MissingExport {
        /// The export's name.
        name: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// The plugin was built for another version of the wasplug protocol.
    #[error("the plugin speaks wasplug protocol {plugin}, this host speaks {host}")]
    IncompatibleProtocol {
        /// The version recorded in the plugin.
        plugin: u32,
        /// The version of this host.
        host: u32,
    },
    /// The plugin's protocol-version section is malformed.
    #[error("the plugin's protocol-version section is malformed: {reason}")]
    BadVersionSection {
        /// What was wrong.
        reason: String,
    },
    // --- The plugin's manifest ---
    /// The plugin's manifest is malformed: its `wasplug_manifest` custom
    /// section, its sidecar file, or the one given to
    /// [`PluginBuilder::manifest`](crate::PluginBuilder::manifest).
    #[error("the plugin's manifest ({origin}) is malformed: {source}")]
    BadManifest {
        /// Where it was read from (the sidecar's path).
        origin: crate::ManifestSource,
        /// What is wrong with it.
        source: wasplug_protocol::ManifestError,
    },
    /// Both `name.json` and `name.toml` sit beside the plugin's module: it
    /// is not clear which is its manifest.
    #[error(
        "the plugin has two sidecar manifests, {} and {}: keep one",
        .json.display(),
        .toml.display()
    )]
    AmbiguousManifest {
        /// The JSON sidecar.
        json: std::path::PathBuf,
        /// The TOML sidecar.
        toml: std::path::PathBuf,
    },
    // --- end of the manifest's ---
    /// The plugin requests host methods (capabilities, in its manifest) it
    /// is not granted, and its [`crate::Grants`] refuse such a plugin
    /// ([`crate::Grants::refuse_ungranted`]).
    #[error("the plugin requests host methods it is not granted: {}", .capabilities.join(", "))]
    UngrantedCapabilities {
        /// Each requested host method that is not granted, sorted.
        capabilities: Vec<String>,
    },
    /// An argument or environment variable cannot be passed to the plugin.
    #[error("cannot pass `{entry}` to the plugin: {reason}")]
    InvalidArgsOrEnv {
        /// The argument, or the variable's name (cut to about 200 bytes).
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key-value store file cannot be opened.
    #[error("cannot open the key-value store {path}: {reason}")]
    KvStore {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Reading the plugin file failed.
    #[error("cannot read plugin file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The plugin file is larger than [`crate::PluginBuilder::max_module_bytes`]
    /// (it was not read whole).
    #[error("plugin file {path} is larger than the limit of {}", bytes(*.limit))]
    ModuleTooLarge {
        /// The file.
        path: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The parameters or result could not be (de)serialized.
    #[error("{what}: {source}")]
    Json {
        /// What was being (de)serialized.
        what: &'static str,
        /// The serde error.
        source: serde_json::Error,
    },
    /// The method's params are not a JSON array, object or null.
    #[error("params must be a JSON array, object or null, not {found}")]
    InvalidParams {
        /// The kind of JSON value given.
        found: &'static str,
    },
    /// The result holds an integer beyond 64 bits, which
    /// [`Plugin::call`](crate::Plugin::call) and
    /// [`Plugin::call_typed`](crate::Plugin::call_typed) would round (a
    /// `serde_json::Value` keeps such a number only as an `f64`).
    /// [`Plugin::call_raw`](crate::Plugin::call_raw) returns it exactly.
    #[error(
        "the result holds the integer {number}, beyond 64 bits, which would be rounded: \
         use `Plugin::call_raw` to get the exact JSON"
    )]
    InexactNumber {
        /// The number as the plugin wrote it (cut to about 200 digits).
        number: String,
    },
    /// The plugin answered with a JSON-RPC error.
    #[error("the plugin returned error {code}: {message}{}", data_note(.data.as_deref()))]
    Plugin {
        /// The JSON-RPC error code.
        code: i32,
        /// The error message.
        message: String,
        /// The optional `data` member, exactly as the plugin wrote it.
        data: Option<Box<RawValue>>,
    },
    /// The guest trapped (an `unreachable`, a panic, an out-of-bounds access,
    /// a stack overflow...).
    #[error("the plugin trapped: {trap}")]
    Trap {
        /// The trap, as wasmi describes it.
        trap: String,
        /// wasmi's trap code, when the trap has one.
        code: Option<wasmi::TrapCode>,
    },
    /// The guest exited (or returned from `_start`) without answering.
    #[error("the plugin exited with status {status} without answering")]
    ExitWithoutAnswer {
        /// The exit status (0 when `_start` returned).
        status: i32,
    },
    /// The guest waits for input that can never come: nothing is in flight
    /// and it has not answered.
    #[error(
        "deadlock: the plugin waits for input but has not answered and no host call is in flight"
    )]
    Deadlock,
    /// The guest broke the protocol.
    #[error("protocol violation by the plugin: {source}")]
    Protocol {
        /// What was wrong, with the offending line (truncated).
        #[source]
        source: wasplug_protocol::ProtocolError,
    },
    /// The guest raised a signal that terminates it.
    #[error("the plugin raised signal {signal}")]
    Signal {
        /// The WASI signal number.
        signal: u8,
    },
    /// The call used up its fuel budget ([`crate::Limits::fuel`]).
    #[error("the plugin used up its fuel budget of {limit} units")]
    OutOfFuel {
        /// The budget.
        limit: u64,
    },
    /// The call ran past its wall-clock timeout ([`crate::Limits::timeout`]).
    #[error("the call timed out after {}", seconds(*.limit))]
    Timeout {
        /// The timeout.
        limit: Duration,
    },
    /// The guest needed more linear memory than allowed ([`crate::Limits::memory`]).
    #[error("the plugin hit the memory limit of {}", bytes(*.limit))]
    MemoryLimit {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The guest wrote a line (or unterminated output) longer than allowed
    /// ([`crate::Limits::max_line`]).
    #[error("the plugin wrote a line longer than {}", bytes(*.limit as u64))]
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The guest had more host calls in flight than allowed
    /// ([`crate::Limits::host_calls`]).
    #[error("the plugin had more than {limit} host calls in flight")]
    TooManyHostCalls {
        /// The limit.
        limit: usize,
    },
    /// More input waited for the guest than allowed: it sends requests and
    /// does not read the answers ([`crate::Limits::max_input`]).
    #[error("more than {} of input waited for the plugin to read it", bytes(*.limit as u64))]
    InputLimit {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Something inside wasmi failed in a way that is not the guest's trap.
    #[error("the interpreter failed: {reason}")]
    Engine {
        /// What wasmi said.
        reason: String,
    },
    /// The plugin's init (`wasplug_init`, run once when the plugin loads:
    /// warm starts) failed; [`Error::stderr`] holds what it wrote last.
    #[error("the plugin's init (`wasplug_init`) {failure}")]
    InitFailed {
        /// What went wrong: a trap, a broken limit, a timeout, a wait, a
        /// write to stdout...
        failure: wasplug_wasi::InitFailure,
    },
    /// A [`crate::Registry`] holds no plugin of that name.
    #[error("no plugin named `{name}` is loaded")]
    UnknownPlugin {
        /// The name asked for.
        name: String,
    },
    /// A waiting call could not arm its timer: natively, the OS refused to
    /// start the one timer thread all calls share (at its thread limit, say).
    #[error("cannot arm a timer for the call: {source}")]
    Timer {
        /// The OS error.
        source: std::io::Error,
    },
}

impl ErrorKind {
    pub(crate) fn json(what: &'static str, source: serde_json::Error) -> Self {
        Self::Json { what, source }
    }

    /// The variant's name (`"Trap"`, `"Timeout"`, ...): a stable tag for
    /// bindings to other languages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidModule { .. } => "InvalidModule",
            Self::RefusedImports { .. } => "RefusedImports",
            Self::MissingExport { .. } => "MissingExport",
            Self::IncompatibleProtocol { .. } => "IncompatibleProtocol",
            Self::BadVersionSection { .. } => "BadVersionSection",
            Self::BadManifest { .. } => "BadManifest",
            Self::AmbiguousManifest { .. } => "AmbiguousManifest",
            Self::UngrantedCapabilities { .. } => "UngrantedCapabilities",
            Self::InvalidArgsOrEnv { .. } => "InvalidArgsOrEnv",
            Self::KvStore { .. } => "KvStore",
            Self::Io { .. } => "Io",
            Self::ModuleTooLarge { .. } => "ModuleTooLarge",
            Self::Json { .. } => "Json",
            Self::InvalidParams { .. } => "InvalidParams",
            Self::InexactNumber { .. } => "InexactNumber",
            Self::Plugin { .. } => "Plugin",
            Self::Trap { .. } => "Trap",
            Self::ExitWithoutAnswer { .. } => "ExitWithoutAnswer",
            Self::Deadlock => "Deadlock",
            Self::Protocol { .. } => "Protocol",
            Self::Signal { .. } => "Signal",
            Self::OutOfFuel { .. } => "OutOfFuel",
            Self::Timeout { .. } => "Timeout",
            Self::MemoryLimit { .. } => "MemoryLimit",
            Self::LineTooLong { .. } => "LineTooLong",
            Self::TooManyHostCalls { .. } => "TooManyHostCalls",
            Self::InputLimit { .. } => "InputLimit",
            Self::Engine { .. } => "Engine",
            Self::Timer { .. } => "Timer",
            Self::UnknownPlugin { .. } => "UnknownPlugin",
            Self::InitFailed { .. } => "InitFailed",
        }
    }

    /// Whether the guest failed (rather than answering, or the host refusing
    /// something before it ran): then what it wrote to stderr helps.
    fn guest_failed(&self) -> bool {
        matches!(
            self,
            Self::Trap { .. }
                | Self::ExitWithoutAnswer { .. }
                | Self::Deadlock
                | Self::Protocol { .. }
                | Self::Signal { .. }
                | Self::OutOfFuel { .. }
                | Self::Timeout { .. }
                | Self::MemoryLimit { .. }
                | Self::LineTooLong { .. }
                | Self::TooManyHostCalls { .. }
                | Self::InputLimit { .. }
                | Self::InitFailed { .. }
        )
    }
}

impl Error {
    /// What failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// What failed, by value.
    pub fn into_kind(self) -> ErrorKind {
        self.0.kind
    }

    /// The name of the plugin, when the error is about one.
    pub fn plugin(&self) -> Option<&str> {
        self.0.plugin.as_deref()
    }

    /// The method called, when the error is about a call.
    pub fn method(&self) -> Option<&str> {
        self.0.method.as_deref()
    }

    /// The last lines the plugin wrote to stderr during the call (at most
    /// 16), oldest first; empty when the error is not about a call.
    pub fn stderr(&self) -> &[String] {
        &self.0.stderr
    }

    /// The stderr line that says most about the failure: a Rust panic's
    /// message (`panicked at src/main.rs:3:5: boom`, the message lines
    /// joined), else the last line that is not a backtrace hint.
    pub fn stderr_summary(&self) -> Option<Cow<'_, str>> {
        summary(&self.0.stderr)
    }

    /// Adds the plugin's name.
    pub(crate) fn in_plugin(mut self, plugin: &Arc<str>) -> Self {
        self.0.plugin = Some(Arc::clone(plugin));
        self
    }

    /// Adds the method.
    pub(crate) fn in_method(mut self, method: &str) -> Self {
        self.0.method = Some(method.into());
        self
    }

    /// Adds the plugin's name and the method.
    pub(crate) fn in_call(mut self, plugin: &Arc<str>, method: &str) -> Self {
        self.0.method = Some(method.into());
        self.in_plugin(plugin)
    }

    /// Adds the last stderr lines.
    pub(crate) fn with_stderr(mut self, stderr: Vec<String>) -> Self {
        self.0.stderr = stderr;
        self
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self(Box::new(Inner {
            kind,
            plugin: None,
            method: None,
            stderr: Vec::new(),
        }))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.0.kind)
            .field("plugin", &self.0.plugin)
            .field("method", &self.0.method)
            .field("stderr", &self.0.stderr)
            .finish()
    }
}

/// One line: the plugin and the method, what failed, and the most useful
/// stderr line; the plugin's text in it escaped ([`crate::text::escape`]).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        match (self.plugin(), self.method()) {
            (Some(plugin), Some(method)) => {
                text = format!("plugin `{plugin}`, method `{method}`: ");
            }
            (Some(plugin), None) => text = format!("plugin `{plugin}`: "),
            _ => {}
        }
        let kind = self.kind();
        let summary = self.stderr_summary().filter(|_| kind.guest_failed());
        let what = match (kind, summary) {
            // A panic says what went wrong; the trap it ends with does not.
            (ErrorKind::Trap { trap, .. }, Some(panic)) if panic.starts_with(PANICKED) => {
                format!("the plugin {panic} (trap: {trap})")
            }
            (kind, Some(line)) => format!("{kind} (stderr: {line})"),
            (kind, None) => kind.to_string(),
        };
        text.push_str(&what);
        f.write_str(&escape(&text))
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0.kind)
    }
}

/// How Rust's default panic hook starts its message (after the thread name).
const PANICKED: &str = "panicked at ";
/// Lines of a panic message a summary takes.
const PANIC_LINES: usize = 8;

/// Hints Rust prints after a panic, which say nothing about it.
fn is_hint(line: &str) -> bool {
    line.starts_with("note: run with `RUST_BACKTRACE=")
        || line.starts_with("note: Some details are omitted")
}

fn summary(stderr: &[String]) -> Option<Cow<'_, str>> {
    if let Some(at) = stderr.iter().rposition(|l| l.contains(PANICKED)) {
        let line = stderr.get(at)?;
        let panic = line.find(PANICKED).and_then(|i| line.get(i..))?;
        // Since Rust 1.73 the message follows `panicked at file:line:col:` on
        // lines of its own, up to the backtrace hint.
        if !panic.ends_with(':') {
            return Some(Cow::Borrowed(panic));
        }
        let mut text = panic.to_owned();
        for next in stderr
            .iter()
            .skip(at + 1)
            .take_while(|l| !is_hint(l))
            .take(PANIC_LINES)
        {
            text.push(' ');
            text.push_str(next);
        }
        return Some(Cow::Owned(text));
    }
    stderr
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty() && !is_hint(l))
        .map(|l| Cow::Borrowed(l.as_str()))
}

/// ` (data: ...)` for an error's `data`, cut to about 200 bytes.
fn data_note(data: Option<&RawValue>) -> String {
    data.map(|raw| format!(" (data: {})", wasplug_protocol::excerpt(raw.get())))
        .unwrap_or_default()
}

/// `n` bytes in the largest binary unit it reaches: `4 MiB`, `1.5 KiB`, `100 bytes`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size {
            #[allow(clippy::cast_precision_loss, reason = "two decimals are shown")]
            let value = n as f64 / size as f64;
            return format!("{} {unit}", decimals(value, 2));
        }
    }
    format!("{n} bytes")
}

/// A duration in seconds, with at most three decimals (`0.2 s`, `30 s`);
/// below a millisecond as Rust writes it (`250µs`).
pub(crate) fn seconds(duration: Duration) -> String {
    if duration < Duration::from_millis(1) {
        return format!("{duration:?}");
    }
    format!("{} s", decimals(duration.as_secs_f64(), 3))
}

/// `value` with at most `places` decimals, without trailing zeros.
fn decimals(value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_panic_summary_is_the_message_not_the_hint() {
        let stderr = lines(
            "starting\nthread 'main' panicked at src/main.rs:88:17:\ndeliberate panic\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        );
        assert_eq!(
            summary(&stderr).as_deref(),
            Some("panicked at src/main.rs:88:17: deliberate panic")
        );
        // Before Rust 1.73 the message was on the same line.
        let old = lines(
            "thread 'main' panicked at 'boom', src/main.rs:2:5\nnote: run with `RUST_BACKTRACE=1`",
        );
        assert_eq!(
            summary(&old).as_deref(),
            Some("panicked at 'boom', src/main.rs:2:5")
        );
        assert_eq!(summary(&lines("one\ntwo\n\n")).as_deref(), Some("two"));
        assert_eq!(summary(&[]), None);
    }

    #[test]
    fn a_trap_after_a_panic_leads_with_the_panic() {
        let error = Error::from(ErrorKind::Trap {
            trap: "wasm `unreachable` instruction executed".into(),
            code: None,
        })
        .with_stderr(lines(
            "thread 'main' panicked at src/lib.rs:1:1:\nno more\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        ))
        .in_call(&Arc::from("p"), "m");
        assert_eq!(
            error.to_string(),
            "plugin `p`, method `m`: the plugin panicked at src/lib.rs:1:1: no more \
             (trap: wasm `unreachable` instruction executed)"
        );
    }

    #[test]
    fn limits_read_in_human_units() {
        assert_eq!(bytes(4 << 20), "4 MiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1000), "1000 bytes");
        assert_eq!(bytes(3 << 30), "3 GiB");
        assert_eq!(seconds(Duration::from_millis(200)), "0.2 s");
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_micros(250)), "250µs");
        let error = Error::from(ErrorKind::MemoryLimit { limit: 4 << 20 })
            .with_stderr(lines("memory allocation of 8388608 bytes failed"));
        assert_eq!(
            error.to_string(),
            "the plugin hit the memory limit of 4 MiB (stderr: memory allocation of 8388608 bytes failed)"
        );
    }

    #[test]
    fn errors_are_small_and_travel_between_threads() {
        fn send_sync_static<T: Send + Sync + 'static>() {}
        send_sync_static::<Error>();
        assert_eq!(size_of::<Error>(), size_of::<usize>());
        assert_eq!(size_of::<Result<(), Error>>(), size_of::<usize>());
    }

    #[test]
    fn the_message_escapes_what_the_plugin_wrote() {
        let error = Error::from(ErrorKind::Plugin {
            code: 1,
            message: "fine\r\x1b[2Kforged".into(),
            data: None,
        })
        .in_call(&Arc::from("p"), "m");
        assert_eq!(
            error.to_string(),
            "plugin `p`, method `m`: the plugin returned error 1: fine\\r\\x1b[2Kforged"
        );
        let ErrorKind::Plugin { message, .. } = error.kind() else {
            unreachable!()
        };
        assert_eq!(message, "fine\r\x1b[2Kforged");
    }

    #[test]
    fn a_plugin_error_shows_its_data_but_not_stderr() {
        let data = RawValue::from_string(r#""nope""#.into()).unwrap();
        let error = Error::from(ErrorKind::Plugin {
            code: -32601,
            message: "Method not found".into(),
            data: Some(data),
        })
        .with_stderr(lines("unrelated"));
        assert_eq!(
            error.to_string(),
            r#"the plugin returned error -32601: Method not found (data: "nope")"#
        );
    }
}
