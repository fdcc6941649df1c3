//! The errors of the host kit.

use std::time::Duration;

/// Why loading a plugin or one call to it failed.
///
/// Every variant carries what helps a user act on it. Match on variants, not
/// on messages; the enum grows as the host learns new ways to fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    /// Reading the plugin file failed.
    #[error("cannot read plugin file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
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
    /// The plugin answered with a JSON-RPC error.
    #[error("the plugin returned error {code}: {message}")]
    Plugin {
        /// The JSON-RPC error code.
        code: i32,
        /// The error message.
        message: String,
        /// The optional `data` member.
        data: Option<serde_json::Value>,
    },
    /// The guest trapped (an `unreachable`, a panic, an out-of-bounds access,
    /// a stack overflow...).
    #[error("the plugin trapped: {trap}{}", tail(.stderr))]
    Trap {
        /// The trap, as wasmi describes it.
        trap: String,
        /// wasmi's trap code, when the trap has one.
        code: Option<wasmi::TrapCode>,
        /// The last lines the plugin wrote to stderr.
        stderr: Vec<String>,
    },
    /// The guest exited (or returned from `_start`) without answering.
    #[error("the plugin exited with status {status} without answering{}", tail(.stderr))]
    ExitWithoutAnswer {
        /// The exit status (0 when `_start` returned).
        status: i32,
        /// The last lines the plugin wrote to stderr.
        stderr: Vec<String>,
    },
    /// The guest waits for input that can never come: nothing is in flight
    /// and it has not answered.
    #[error("deadlock: the plugin waits for input but has not answered and no host call is in flight{}", tail(.stderr))]
    Deadlock {
        /// The last lines the plugin wrote to stderr.
        stderr: Vec<String>,
    },
    /// The guest broke the protocol.
    #[error("protocol violation by the plugin: {source}")]
    Protocol {
        /// What was wrong, with the offending line (truncated).
        #[source]
        source: wasplug_protocol::ProtocolError,
    },
    /// The guest raised a signal that terminates it.
    #[error("the plugin raised signal {signal}{}", tail(.stderr))]
    Signal {
        /// The WASI signal number.
        signal: u8,
        /// The last lines the plugin wrote to stderr.
        stderr: Vec<String>,
    },
    /// The call used up its fuel budget ([`crate::Limits::fuel`]).
    #[error("the plugin used up its fuel budget of {limit} units")]
    OutOfFuel {
        /// The budget.
        limit: u64,
    },
    /// The call ran past its wall-clock timeout ([`crate::Limits::timeout`]).
    #[error("the call timed out after {limit:?}")]
    Timeout {
        /// The timeout.
        limit: Duration,
    },
    /// The guest needed more linear memory than allowed ([`crate::Limits::memory`]).
    #[error("the plugin hit the memory limit of {limit} bytes{}", tail(.stderr))]
    MemoryLimit {
        /// The limit, in bytes.
        limit: u64,
        /// The last lines the plugin wrote to stderr.
        stderr: Vec<String>,
    },
    /// The guest wrote a line (or unterminated output) longer than allowed
    /// ([`crate::Limits::max_line`]).
    #[error("the plugin wrote a line longer than {limit} bytes")]
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
    #[error("more than {limit} bytes of input waited for the plugin to read them")]
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
    /// A waiting call could not arm its timer: natively, the OS refused to
    /// start the one timer thread all calls share (at its thread limit, say).
    #[error("cannot arm a timer for the call: {source}")]
    Timer {
        /// The OS error.
        source: std::io::Error,
    },
}

fn tail(stderr: &[String]) -> String {
    match stderr.last() {
        Some(line) => format!(" (last stderr line: {line})"),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn json(what: &'static str, source: serde_json::Error) -> Self {
        Error::Json { what, source }
    }

    /// The last stderr lines the plugin wrote before this error, if the error
    /// carries them.
    pub fn stderr(&self) -> &[String] {
        match self {
            Error::Trap { stderr, .. }
            | Error::ExitWithoutAnswer { stderr, .. }
            | Error::Deadlock { stderr }
            | Error::Signal { stderr, .. }
            | Error::MemoryLimit { stderr, .. } => stderr,
            _ => &[],
        }
    }
}
