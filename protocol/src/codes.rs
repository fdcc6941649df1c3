//! Standard JSON-RPC 2.0 error codes and helpers to build error objects.

use jsonrpsee_types::{ErrorCode, ErrorObject, ErrorObjectOwned};
use serde_json::value::RawValue;

/// Invalid JSON was received (`-32700`).
pub const PARSE_ERROR: i32 = ErrorCode::ParseError.code();
/// The JSON sent is not a valid request object (`-32600`).
pub const INVALID_REQUEST: i32 = ErrorCode::InvalidRequest.code();
/// The method does not exist or is not available (`-32601`).
pub const METHOD_NOT_FOUND: i32 = ErrorCode::MethodNotFound.code();
/// Invalid method parameters (`-32602`).
pub const INVALID_PARAMS: i32 = ErrorCode::InvalidParams.code();
/// Internal JSON-RPC error (`-32603`).
pub const INTERNAL_ERROR: i32 = ErrorCode::InternalError.code();

/// The host has the method the plugin called, but has not granted it to
/// this plugin (`-32010`, an implementation-defined server error). Distinct
/// from [`METHOD_NOT_FOUND`]: the method exists, the plugin may not use it.
pub const NOT_PERMITTED: i32 = -32010;
/// A limit of a host capability was exceeded (`-32011`): a key-value entry
/// or a fetched body too large, too many keys, a fetch that took too long.
/// `data` says which limit (`{"limit": "...", "max": ...}`).
pub const LIMIT_EXCEEDED: i32 = -32011;

/// Standard message for [`PARSE_ERROR`].
pub const PARSE_ERROR_MSG: &str = ErrorCode::ParseError.message();
/// Standard message for [`INVALID_REQUEST`].
pub const INVALID_REQUEST_MSG: &str = ErrorCode::InvalidRequest.message();
/// Standard message for [`METHOD_NOT_FOUND`].
pub const METHOD_NOT_FOUND_MSG: &str = ErrorCode::MethodNotFound.message();
/// Standard message for [`INVALID_PARAMS`].
pub const INVALID_PARAMS_MSG: &str = ErrorCode::InvalidParams.message();
/// Standard message for [`INTERNAL_ERROR`].
pub const INTERNAL_ERROR_MSG: &str = ErrorCode::InternalError.message();
/// Message of the [`INVALID_REQUEST`] error answering a batch (a JSON array line).
pub const BATCHES_NOT_SUPPORTED_MSG: &str = "batches are not supported";

/// Builds an error object with optional `data`.
pub fn error(
    code: i32,
    message: impl Into<String>,
    data: Option<serde_json::Value>,
) -> ErrorObjectOwned {
    ErrorObject::owned(code, message, data)
}

/// Builds an error object whose `data` is already-serialized JSON (kept verbatim).
pub fn error_raw(code: i32, message: &str, data: Option<&RawValue>) -> ErrorObjectOwned {
    ErrorObject::borrowed(code, message, data).into_owned()
}

/// `-32601 Method not found`, with the method name as `data`.
pub fn method_not_found(method: &str) -> ErrorObjectOwned {
    error(
        METHOD_NOT_FOUND,
        METHOD_NOT_FOUND_MSG,
        Some(serde_json::Value::String(method.to_owned())),
    )
}

/// `-32602 Invalid params`, with `reason` as `data`.
pub fn invalid_params(reason: impl Into<String>) -> ErrorObjectOwned {
    error(
        INVALID_PARAMS,
        INVALID_PARAMS_MSG,
        Some(serde_json::Value::String(reason.into())),
    )
}

/// `-32603 Internal error`, with `reason` as `data`.
pub fn internal_error(reason: impl Into<String>) -> ErrorObjectOwned {
    error(
        INTERNAL_ERROR,
        INTERNAL_ERROR_MSG,
        Some(serde_json::Value::String(reason.into())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_standard() {
        assert_eq!(PARSE_ERROR, -32700);
        assert_eq!(INVALID_REQUEST, -32600);
        assert_eq!(METHOD_NOT_FOUND, -32601);
        assert_eq!(INVALID_PARAMS, -32602);
        assert_eq!(INTERNAL_ERROR, -32603);
        assert_eq!(NOT_PERMITTED, -32010);
        assert_eq!(LIMIT_EXCEEDED, -32011);
    }

    #[test]
    fn helpers_build_objects() {
        let e = error(7, "seven", Some(serde_json::json!({"k": [1, 2]})));
        assert_eq!((e.code(), e.message()), (7, "seven"));
        assert_eq!(e.data().unwrap().get(), r#"{"k":[1,2]}"#);
        assert!(error(1, "x", None).data().is_none());

        let raw = RawValue::from_string("[1, 2.50]".into()).unwrap();
        assert_eq!(
            error_raw(2, "m", Some(&raw)).data().unwrap().get(),
            "[1, 2.50]"
        );

        let e = method_not_found("nope");
        assert_eq!(e.code(), METHOD_NOT_FOUND);
        assert_eq!(e.data().unwrap().get(), r#""nope""#);
        assert_eq!(invalid_params("x").code(), INVALID_PARAMS);
        assert_eq!(internal_error("x").code(), INTERNAL_ERROR);
    }
}
