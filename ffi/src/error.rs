//! The errors foreign code sees: [`WasplugError`] (thrown by loads and
//! calls, its [`ErrorKind`] says what failed) and [`HostError`] (thrown by
//! a host method the app implements).

use wasplug_hdk::{ErrorKind as HdkKind, RpcError};

/// What failed: one value per kind of the host kit's error
/// (`wasplug_hdk::ErrorKind`), plus [`ErrorKind::Cancelled`] and
/// [`ErrorKind::Other`] for a kind this version does not know yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ErrorKind {
    /// The bytes are not a valid WebAssembly module (or WAT).
    InvalidModule,
    /// The module imports what the sandbox does not provide.
    RefusedImports,
    /// The module lacks `_start` or `memory`.
    MissingExport,
    /// The plugin speaks another version of the wasplug protocol.
    IncompatibleProtocol,
    /// The plugin's protocol-version section is malformed.
    BadVersionSection,
    /// The plugin's manifest is malformed.
    BadManifest,
    /// Two sidecar manifests sit beside the plugin.
    AmbiguousManifest,
    /// The plugin requests host methods it is not granted.
    UngrantedCapabilities,
    /// An argument or environment variable cannot be passed to the plugin.
    InvalidArgsOrEnv,
    /// A key-value store file cannot be opened.
    KvStore,
    /// The plugin file cannot be read.
    Io,
    /// The plugin file is larger than allowed.
    ModuleTooLarge,
    /// The params (or the config) are not valid JSON, or the result not readable.
    Json,
    /// The params are not a JSON array, object or null.
    InvalidParams,
    /// The result holds an integer beyond 64 bits (not returned here: the
    /// result JSON is passed on verbatim).
    InexactNumber,
    /// The plugin answered with a JSON-RPC error: `code`, `message` and
    /// `data_json` are the plugin's.
    Plugin,
    /// The plugin trapped (a panic, an `unreachable`, an out-of-bounds access).
    Trap,
    /// The plugin exited without answering.
    ExitWithoutAnswer,
    /// The plugin waits for input that can never come.
    Deadlock,
    /// The plugin broke the protocol.
    Protocol,
    /// The plugin raised a signal.
    Signal,
    /// The call used up its fuel budget.
    OutOfFuel,
    /// The call ran past its timeout.
    Timeout,
    /// The plugin hit the memory limit.
    MemoryLimit,
    /// The plugin wrote a line longer than allowed.
    LineTooLong,
    /// The plugin had too many host calls in flight.
    TooManyHostCalls,
    /// Too much input waited for the plugin.
    InputLimit,
    /// The plugin's init (warm starts) failed while it loaded.
    InitFailed,
    /// The interpreter failed.
    Engine,
    /// No timer could be armed for the call.
    Timer,
    /// An entry of `LoadOptions.http_allow` is not a `host` or
    /// `host:port` (a URL, say).
    InvalidHost,
    /// The call was cancelled with its [`crate::CancelToken`].
    Cancelled,
    /// A kind of failure this version of the bindings does not name.
    Other,
}

impl ErrorKind {
    fn of(kind: &HdkKind) -> Self {
        match kind {
            HdkKind::InvalidModule { .. } => Self::InvalidModule,
            HdkKind::RefusedImports { .. } => Self::RefusedImports,
            HdkKind::MissingExport { .. } => Self::MissingExport,
            HdkKind::IncompatibleProtocol { .. } => Self::IncompatibleProtocol,
            HdkKind::BadVersionSection { .. } => Self::BadVersionSection,
            HdkKind::BadManifest { .. } => Self::BadManifest,
            HdkKind::AmbiguousManifest { .. } => Self::AmbiguousManifest,
            HdkKind::UngrantedCapabilities { .. } => Self::UngrantedCapabilities,
            HdkKind::InvalidArgsOrEnv { .. } => Self::InvalidArgsOrEnv,
            HdkKind::KvStore { .. } => Self::KvStore,
            HdkKind::Io { .. } => Self::Io,
            HdkKind::ModuleTooLarge { .. } => Self::ModuleTooLarge,
            HdkKind::Json { .. } => Self::Json,
            HdkKind::InvalidParams { .. } => Self::InvalidParams,
            HdkKind::InexactNumber { .. } => Self::InexactNumber,
            HdkKind::Plugin { .. } => Self::Plugin,
            HdkKind::Trap { .. } => Self::Trap,
            HdkKind::ExitWithoutAnswer { .. } => Self::ExitWithoutAnswer,
            HdkKind::Deadlock => Self::Deadlock,
            HdkKind::Protocol { .. } => Self::Protocol,
            HdkKind::Signal { .. } => Self::Signal,
            HdkKind::OutOfFuel { .. } => Self::OutOfFuel,
            HdkKind::Timeout { .. } => Self::Timeout,
            HdkKind::MemoryLimit { .. } => Self::MemoryLimit,
            HdkKind::LineTooLong { .. } => Self::LineTooLong,
            HdkKind::TooManyHostCalls { .. } => Self::TooManyHostCalls,
            HdkKind::InputLimit { .. } => Self::InputLimit,
            HdkKind::InitFailed { .. } => Self::InitFailed,
            HdkKind::Engine { .. } => Self::Engine,
            HdkKind::Timer { .. } => Self::Timer,
            _ => Self::Other,
        }
    }
}

/// Why loading a plugin or calling it failed: thrown as an exception
/// (`WasplugError.Failure` in Python, `WasplugException.Failure` in Kotlin,
/// `WasplugError.failure` in Swift).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum WasplugError {
    /// Loading or a call failed.
    #[error("{message}")]
    Failure {
        /// What failed: match on it, not on the message.
        kind: ErrorKind,
        /// The JSON-RPC error code, when the plugin answered with an error
        /// ([`ErrorKind::Plugin`]).
        code: Option<i32>,
        /// One line saying what failed (the plugin's own message for
        /// [`ErrorKind::Plugin`]; text from the plugin is escaped elsewhere).
        message: String,
        /// The `data` of the plugin's JSON-RPC error, as the JSON it wrote.
        data_json: Option<String>,
        /// The plugin, when the error is about one.
        plugin: Option<String>,
        /// The method called, when the error is about a call.
        method: Option<String>,
        /// The last lines the plugin wrote to stderr during the call (at
        /// most 16), oldest first.
        stderr: Vec<String>,
    },
}

impl WasplugError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Failure { kind, .. } => *kind,
        }
    }

    /// A failure of `kind` outside the host kit (bad JSON given, a cancelled call).
    pub(crate) fn new(
        kind: ErrorKind,
        message: String,
        plugin: &str,
        method: Option<&str>,
    ) -> Self {
        Self::Failure {
            kind,
            code: None,
            message,
            data_json: None,
            plugin: Some(plugin.to_owned()),
            method: method.map(str::to_owned),
            stderr: Vec::new(),
        }
    }
}

impl From<wasplug_hdk::Error> for WasplugError {
    fn from(error: wasplug_hdk::Error) -> Self {
        let (code, message, data_json) = match error.kind() {
            HdkKind::Plugin {
                code,
                message,
                data,
            } => (
                Some(*code),
                message.clone(),
                data.as_ref().map(|raw| raw.get().to_owned()),
            ),
            _ => (None, error.to_string(), None),
        };
        Self::Failure {
            kind: ErrorKind::of(error.kind()),
            code,
            message,
            data_json,
            plugin: error.plugin().map(str::to_owned),
            method: error.method().map(str::to_owned),
            stderr: error.stderr().to_vec(),
        }
    }
}

/// What a host method the app implements throws: the plugin receives it as
/// a JSON-RPC error.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum HostError {
    /// A JSON-RPC error: code, message and data reach the plugin unchanged.
    #[error("host method error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i32,
        /// The message.
        message: String,
        /// The `data` member, as JSON (`None`: none).
        data_json: Option<String>,
    },
}

/// An exception the app's host method threw that is not a [`HostError`]:
/// the plugin gets `-32603` with its text.
impl From<uniffi::UnexpectedUniFFICallbackError> for HostError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Rpc {
            code: wasplug_hdk::protocol::codes::INTERNAL_ERROR,
            message: format!("the host method failed: {}", error.reason),
            data_json: None,
        }
    }
}

impl HostError {
    /// The JSON-RPC error the plugin receives. `data_json` that is not JSON
    /// is passed as a string.
    pub(crate) fn into_rpc(self) -> RpcError {
        let Self::Rpc {
            code,
            message,
            data_json,
        } = self;
        let error = RpcError::new(code, message);
        match data_json {
            None => error,
            Some(json) => match serde_json::from_str(&json) {
                Ok(data) => error.with_data(data),
                Err(_) => error.with_data(serde_json::Value::String(json)),
            },
        }
    }
}
