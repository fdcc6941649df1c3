//! The error a handler or a host call returns.

use serde_json::Value;
use wasplug_protocol::ErrorObjectOwned;

/// A JSON-RPC error: what a handler answers with, and what a failed host
/// call returns. Code, message and data reach the other side unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The JSON-RPC error code (`-32000` to `-32099` are free for applications).
    pub code: i32,
    /// A short description.
    pub message: String,
    /// Anything else worth sending.
    pub data: Option<Value>,
}

impl Error {
    /// An error with a code and a message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// `-32602`: the params are not what the method takes.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(wasplug_protocol::codes::INVALID_PARAMS, message)
    }

    /// `-32603`: something went wrong inside.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(wasplug_protocol::codes::INTERNAL_ERROR, message)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<ErrorObjectOwned> for Error {
    fn from(error: ErrorObjectOwned) -> Self {
        Self {
            code: error.code(),
            message: error.message().to_owned(),
            data: error
                .data()
                .and_then(|raw| serde_json::from_str(raw.get()).ok()),
        }
    }
}

impl From<Error> for ErrorObjectOwned {
    fn from(error: Error) -> Self {
        wasplug_protocol::codes::error(error.code, error.message, error.data)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self::internal(error.to_string())
    }
}
