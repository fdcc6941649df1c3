//! [`RpcError`]: the JSON-RPC error a handler answers with, on either side.

use crate::{codes, error::excerpt};
use jsonrpsee_types::{ErrorObject, ErrorObjectOwned};
use serde_json::value::RawValue;

/// A JSON-RPC 2.0 error object — `code`, `message` and optional `data` — as a
/// handler answers with it (a plugin's method in the plugin kit, a host method
/// in the host kit) and as a failed call to the other side returns it.
///
/// Like `anyhow::Error`, it converts from every [`std::error::Error`], so `?`
/// works in a handler on any error and `Ok(value)` needs no type annotation;
/// such an error answers `-32603` (internal error) with the error's text (and
/// the text of its sources) as the message. Build one with [`RpcError::new`]
/// to choose the code. For the same reason it does not implement
/// `std::error::Error` itself (that impl would overlap the conversion).
///
/// `data` is kept as raw JSON, exactly as sent or received: no number is
/// rounded on the way.
///
/// ```
/// use wasplug_protocol::RpcError;
///
/// fn parse(text: &str) -> Result<u32, RpcError> {
///     Ok(text.parse::<u32>()?) // a std error: -32603 with its message
/// }
/// assert_eq!(parse("7").ok(), Some(7));
/// let error = parse("seven").unwrap_err();
/// assert_eq!(error.code(), -32603);
/// assert_eq!(error.message(), "invalid digit found in string");
///
/// let error = RpcError::new(-32001, "no such user")
///     .with_data(serde_json::json!({"user": 18446744073709551615_u64}));
/// assert_eq!(error.data().map(|d| d.get()), Some(r#"{"user":18446744073709551615}"#));
/// ```
#[derive(Debug, Clone)]
pub struct RpcError {
    code: i32,
    message: String,
    data: Option<Box<RawValue>>,
}

impl RpcError {
    /// An error with a code and a message (`-32000` to `-32099` are reserved
    /// for implementation-defined server errors; any code outside
    /// `-32768..=-32000` is free for applications).
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data` (anything worth sending beside the message).
    #[must_use]
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        // Writing a `Value` as JSON cannot fail: its map keys are strings and
        // it holds no non-finite number.
        self.data = serde_json::value::to_raw_value(&data).ok();
        self
    }

    /// Adds `data` given as raw JSON, sent verbatim.
    #[must_use]
    pub fn with_raw_data(mut self, data: Box<RawValue>) -> Self {
        self.data = Some(data);
        self
    }

    /// `-32602`: the params are not what the method takes.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_PARAMS, message)
    }

    /// `-32603`: something went wrong inside.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, message)
    }

    /// `-32601 Method not found`, with the method's name as `data`: what a
    /// plugin answers for a method it does not have.
    pub fn method_not_found(method: &str) -> Self {
        Self::from_object(codes::method_not_found(method))
    }

    /// `-32601`, saying that the *host* has no method `method` (named in the
    /// message, cut to about 200 bytes, and in full as `data`): what a host
    /// answers a plugin that calls a host method it does not have.
    pub fn host_method_not_found(method: &str) -> Self {
        Self::new(
            codes::METHOD_NOT_FOUND,
            format!("host method not found: `{}`", excerpt(method)),
        )
        .with_data(serde_json::Value::String(method.to_owned()))
    }

    /// `-32010` ([`codes::NOT_PERMITTED`]), saying that the host has method
    /// `method` but has not granted it to this plugin (named in the message,
    /// cut to about 200 bytes, and in full as `data`): what a host answers a
    /// plugin that calls a host method it may not use.
    pub fn not_permitted(method: &str) -> Self {
        Self::new(
            codes::NOT_PERMITTED,
            format!("host method not permitted: `{}`", excerpt(method)),
        )
        .with_data(serde_json::Value::String(method.to_owned()))
    }

    /// `-32011` ([`codes::LIMIT_EXCEEDED`]): a host capability's limit was
    /// exceeded. `data` is `{"limit": limit, "max": max}`.
    pub fn limit_exceeded(message: impl Into<String>, limit: &str, max: u64) -> Self {
        Self::new(codes::LIMIT_EXCEEDED, message)
            .with_data(serde_json::json!({"limit": limit, "max": max}))
    }

    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `data` member, as raw JSON, if there is one.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// Takes the error object of a message apart, keeping code, message and
    /// `data` verbatim. (`ErrorObjectOwned` is itself a `std::error::Error`,
    /// so `RpcError::from` would accept it too, as an internal error: use
    /// this instead.)
    pub fn from_object(error: ErrorObjectOwned) -> Self {
        Self {
            code: error.code(),
            message: error.message().to_owned(),
            data: error.data().map(ToOwned::to_owned),
        }
    }

    /// The error object to send.
    pub fn to_object(&self) -> ErrorObjectOwned {
        ErrorObject::borrowed(self.code, &self.message, self.data.as_deref()).into_owned()
    }
}

impl core::fmt::Display for RpcError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)
    }
}

impl<E: std::error::Error> From<E> for RpcError {
    /// `-32603` with the error's text; each source's text is appended
    /// (`: source`) unless the message already contains it.
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Self::internal(message)
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(error: RpcError) -> Self {
        match error.data {
            Some(data) => {
                ErrorObject::borrowed(error.code, &error.message, Some(&data)).into_owned()
            }
            None => ErrorObject::owned::<()>(error.code, error.message, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot load the config")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn std_errors_become_internal_errors_with_their_sources() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = RpcError::from(Outer(io));
        assert_eq!(error.code(), codes::INTERNAL_ERROR);
        assert_eq!(error.message(), "cannot load the config: no such file");
        assert!(error.data().is_none());
    }

    #[test]
    fn data_survives_the_error_object_exactly() {
        let raw = RawValue::from_string("[18446744073709551617, 1.000]".into()).unwrap();
        let error = RpcError::new(-32000, "big").with_raw_data(raw);
        let object = ErrorObjectOwned::from(error.clone());
        assert_eq!(
            object.data().unwrap().get(),
            "[18446744073709551617, 1.000]"
        );
        let back = RpcError::from_object(object);
        assert_eq!(back.data().unwrap().get(), "[18446744073709551617, 1.000]");
        assert_eq!((back.code(), back.message()), (-32000, "big"));
        assert_eq!(
            error.to_object().data().unwrap().get(),
            "[18446744073709551617, 1.000]"
        );
    }

    #[test]
    fn not_permitted_names_the_method_and_differs_from_not_found() {
        let error = RpcError::not_permitted("kv.get");
        assert_eq!(error.code(), codes::NOT_PERMITTED);
        assert_ne!(error.code(), codes::METHOD_NOT_FOUND);
        assert_eq!(error.message(), "host method not permitted: `kv.get`");
        assert_eq!(error.data().unwrap().get(), r#""kv.get""#);
        let error = RpcError::limit_exceeded("too big", "value_bytes", 10);
        assert_eq!(error.code(), codes::LIMIT_EXCEEDED);
        assert_eq!(
            error.data().unwrap().get(),
            r#"{"limit":"value_bytes","max":10}"#
        );
    }

    #[test]
    fn the_host_says_which_method_it_lacks() {
        let error = RpcError::host_method_not_found("fetch");
        assert_eq!(error.code(), codes::METHOD_NOT_FOUND);
        assert_eq!(error.message(), "host method not found: `fetch`");
        assert_eq!(error.data().unwrap().get(), r#""fetch""#);
        let long = "m".repeat(10_000);
        let error = RpcError::host_method_not_found(&long);
        assert!(error.message().len() < 300, "{}", error.message().len());
        assert_eq!(error.data().unwrap().get().len(), long.len() + 2);
    }
}
