//! The crate's error types: framing, protocol, peer, version and manifest
//! errors.

use crate::codes;
use crate::message::{self, RequestId};
use jsonrpsee_types::Id;

/// How many bytes of an offending line an error keeps and displays.
pub const EXCERPT_LEN: usize = 200;

/// Cuts `line` to at most [`EXCERPT_LEN`] bytes (on a character boundary), marking a cut with `…`.
///
/// ```
/// assert_eq!(wasplug_protocol::excerpt("short"), "short");
/// assert_eq!(wasplug_protocol::excerpt(&"x".repeat(500)).len(), 200 + '…'.len_utf8());
/// ```
pub fn excerpt(line: &str) -> String {
    if line.len() <= EXCERPT_LEN {
        return line.to_owned();
    }
    let mut end = EXCERPT_LEN;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(line.get(..end).unwrap_or_default());
    out.push('…');
    out
}

/// An error from [`LineFramer`](crate::LineFramer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line (bytes before its `\n`) was longer than the limit; it was dropped.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The maximum line length in bytes.
        limit: usize,
    },
    /// A line was not valid UTF-8; it was dropped.
    #[error("line is not valid UTF-8 (invalid byte at offset {valid_up_to} of a {len}-byte line)")]
    InvalidUtf8 {
        /// Length of the valid UTF-8 prefix of the line.
        valid_up_to: usize,
        /// Length of the line in bytes.
        len: usize,
    },
}

/// An incoming line that is not an acceptable JSON-RPC 2.0 message.
///
/// [`ProtocolError::error_response`] gives the line a well-behaved peer answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The line was longer than the configured maximum.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The maximum line length in bytes.
        limit: usize,
    },
    /// The line was not valid UTF-8.
    #[error("line is not valid UTF-8 (invalid byte at offset {valid_up_to} of a {len}-byte line)")]
    InvalidUtf8 {
        /// Length of the valid UTF-8 prefix of the line.
        valid_up_to: usize,
        /// Length of the line in bytes.
        len: usize,
    },
    /// The line is not JSON.
    #[error("line is not valid JSON ({reason}): `{line}`")]
    NotJson {
        /// The offending line, truncated to about 200 bytes.
        line: String,
        /// What the JSON parser objected to.
        reason: String,
    },
    /// The line nests arrays/objects deeper than allowed (detected before parsing).
    #[error("JSON nested deeper than {limit} levels: `{line}`")]
    TooDeep {
        /// The maximum nesting depth.
        limit: usize,
        /// The offending line, truncated to about 200 bytes.
        line: String,
    },
    /// The line is a JSON array, i.e. a JSON-RPC batch, which this protocol does not support.
    #[error("JSON-RPC batches are not supported: `{line}`")]
    Batch {
        /// The offending line, truncated to about 200 bytes.
        line: String,
    },
    /// Valid JSON, but not a JSON-RPC 2.0 request, notification or response.
    #[error("not a valid JSON-RPC 2.0 message ({reason}): `{line}`")]
    InvalidMessage {
        /// The offending line, truncated to about 200 bytes.
        line: String,
        /// What is wrong with it.
        reason: String,
        /// The id of the request, when the message looks like a request and its id is valid;
        /// the error response then carries it.
        id: Option<RequestId>,
    },
    /// A response whose id is not one of our pending requests (unknown, cancelled, already
    /// answered, a string id, or `null` — the last is how a peer reports a message of ours
    /// it could not parse).
    #[error("response for id {id}, which is not a pending request: `{line}`")]
    UnknownResponseId {
        /// The id as it appeared in the message (JSON text, e.g. `7`, `"a"`, `null`).
        id: String,
        /// The offending line, truncated to about 200 bytes.
        line: String,
    },
    /// A request whose id is that of another request of the same sender
    /// still in flight (sent, not yet answered): their answers could not be
    /// told apart (`docs/PROTOCOL.md` P-3). Detected by the receiver of the
    /// requests, which tracks the ids in flight (the wasplug host kit does).
    #[error("request id {id} is already that of a request in flight: `{line}`")]
    DuplicateRequestId {
        /// The id as it appeared in the message (JSON text).
        id: String,
        /// The offending line, truncated to about 200 bytes.
        line: String,
    },
}

impl From<FrameError> for ProtocolError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::LineTooLong { limit } => Self::LineTooLong { limit },
            FrameError::InvalidUtf8 { valid_up_to, len } => Self::InvalidUtf8 { valid_up_to, len },
        }
    }
}

impl ProtocolError {
    /// The error response line (with its trailing `\n`) a well-behaved peer sends back
    /// for this error, if any.
    ///
    /// * `-32700` parse error for [`NotJson`](Self::NotJson), [`InvalidUtf8`](Self::InvalidUtf8)
    ///   and [`TooDeep`](Self::TooDeep);
    /// * `-32600` invalid request for [`Batch`](Self::Batch) ("batches are not supported"),
    ///   [`InvalidMessage`](Self::InvalidMessage) and [`LineTooLong`](Self::LineTooLong);
    /// * `None` for [`UnknownResponseId`](Self::UnknownResponseId) (a response is never answered)
    ///   and [`DuplicateRequestId`](Self::DuplicateRequestId) (an answer would carry the id of
    ///   the request in flight too, and be taken for its answer).
    ///
    /// The id is the request's when it could be extracted, else `null`. The error's `data`
    /// member is a string saying what was wrong.
    pub fn error_response(&self) -> Option<String> {
        let (code, message, data): (i32, &str, String) = match self {
            Self::LineTooLong { limit } => (
                codes::INVALID_REQUEST,
                codes::INVALID_REQUEST_MSG,
                format!("line longer than {limit} bytes"),
            ),
            Self::InvalidUtf8 { valid_up_to, .. } => (
                codes::PARSE_ERROR,
                codes::PARSE_ERROR_MSG,
                format!("invalid UTF-8 at byte {valid_up_to}"),
            ),
            Self::NotJson { reason, .. } => {
                (codes::PARSE_ERROR, codes::PARSE_ERROR_MSG, reason.clone())
            }
            Self::TooDeep { limit, .. } => (
                codes::PARSE_ERROR,
                codes::PARSE_ERROR_MSG,
                format!("JSON nested deeper than {limit} levels"),
            ),
            Self::Batch { .. } => (
                codes::INVALID_REQUEST,
                codes::BATCHES_NOT_SUPPORTED_MSG,
                "send one JSON-RPC object per line".to_owned(),
            ),
            Self::InvalidMessage { reason, .. } => (
                codes::INVALID_REQUEST,
                codes::INVALID_REQUEST_MSG,
                reason.clone(),
            ),
            Self::UnknownResponseId { .. } | Self::DuplicateRequestId { .. } => return None,
        };
        let id = match self {
            Self::InvalidMessage { id: Some(id), .. } => id.clone(),
            _ => Id::Null,
        };
        let error = codes::error(code, message, Some(serde_json::Value::String(data)));
        Some(message::response_err_line(&id, &error))
    }
}

/// An error building an outgoing message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// `max_pending` requests are already awaiting an answer.
    #[error("too many pending requests (limit {limit})")]
    TooManyPending {
        /// The configured maximum number of pending requests.
        limit: usize,
    },
    /// Params or result could not be serialized to JSON.
    #[error("could not serialize to JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    /// Params serialized to something other than an array, an object or `null`
    /// (`null` means "no params"); JSON-RPC 2.0 only allows structured params.
    #[error("params of {method:?} must be a JSON array or object, not {found}")]
    InvalidParams {
        /// The method the params were for.
        method: String,
        /// The kind of JSON value found instead (e.g. "a number").
        found: &'static str,
    },
}

impl From<serde_json::Error> for PeerError {
    fn from(e: serde_json::Error) -> Self {
        Self::Serialize(e)
    }
}

/// A problem with the protocol version a plugin declares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// The plugin has no `wasplug_protocol` custom section.
    #[error(
        "the plugin declares no protocol version (no `{}` custom section)",
        crate::VERSION_SECTION
    )]
    Missing,
    /// The section is empty.
    #[error("the `{}` custom section is empty", crate::VERSION_SECTION)]
    Empty,
    /// The section holds something other than ASCII decimal digits.
    #[error(
        "the `{}` custom section is not an ASCII decimal number: {content:?}",
        crate::VERSION_SECTION
    )]
    NotDecimal {
        /// The section content (lossily decoded, truncated to about 200 bytes).
        content: String,
    },
    /// The number does not fit in a `u32`.
    #[error(
        "the protocol version in the `{}` custom section is too large: {digits}",
        crate::VERSION_SECTION
    )]
    TooLarge {
        /// The digits found (truncated to about 200 bytes).
        digits: String,
    },
    /// The plugin was built for another protocol version than the host speaks.
    #[error("plugin speaks wasplug protocol version {plugin}, host speaks version {host}")]
    Incompatible {
        /// The plugin's protocol version.
        plugin: u32,
        /// The host's protocol version ([`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION)).
        host: u32,
    },
}

/// A malformed plugin [`Manifest`](crate::Manifest) (its custom section or
/// a sidecar file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Longer than [`MAX_MANIFEST_LEN`](crate::MAX_MANIFEST_LEN).
    #[error("the manifest is {len} bytes long, more than the limit of {limit}")]
    TooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not valid UTF-8.
    #[error("the manifest is not valid UTF-8 (invalid byte at offset {valid_up_to})")]
    InvalidUtf8 {
        /// Length of its valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// Not one object with the manifest's members: not JSON (or TOML), a
    /// member missing or of the wrong type, or something after the object.
    #[error("the manifest does not parse: {reason}")]
    Syntax {
        /// What the parser said, with the position.
        reason: String,
    },
    /// The `name` member is empty.
    #[error("the manifest's `name` is empty")]
    EmptyName,
    /// A list holds an empty string.
    #[error("the manifest's `{field}` list holds an empty name")]
    EmptyEntry {
        /// `"methods"` or `"capabilities"`.
        field: &'static str,
    },
    /// A list holds the same name twice.
    #[error("the manifest's `{field}` list holds {entry:?} twice")]
    Duplicate {
        /// `"methods"` or `"capabilities"`.
        field: &'static str,
        /// The name (cut to about 200 bytes).
        entry: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_truncates_on_char_boundary() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(150); // 300 bytes
        let cut = excerpt(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= EXCERPT_LEN + '…'.len_utf8());
        assert_eq!(cut.trim_end_matches('…'), "é".repeat(100));
    }

    #[test]
    fn frame_errors_convert() {
        assert_eq!(
            ProtocolError::from(FrameError::LineTooLong { limit: 5 }),
            ProtocolError::LineTooLong { limit: 5 }
        );
        assert_eq!(
            ProtocolError::from(FrameError::InvalidUtf8 {
                valid_up_to: 1,
                len: 3
            }),
            ProtocolError::InvalidUtf8 {
                valid_up_to: 1,
                len: 3
            }
        );
    }

    fn parsed(line: &str) -> serde_json::Value {
        assert!(line.ends_with('\n'));
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn error_responses() {
        let cases: Vec<(ProtocolError, Option<i64>, serde_json::Value)> = vec![
            (
                ProtocolError::LineTooLong { limit: 9 },
                Some(-32600),
                serde_json::Value::Null,
            ),
            (
                ProtocolError::InvalidUtf8 {
                    valid_up_to: 0,
                    len: 1,
                },
                Some(-32700),
                serde_json::Value::Null,
            ),
            (
                ProtocolError::NotJson {
                    line: "x".into(),
                    reason: "bad".into(),
                },
                Some(-32700),
                serde_json::Value::Null,
            ),
            (
                ProtocolError::TooDeep {
                    limit: 3,
                    line: "[[[[".into(),
                },
                Some(-32700),
                serde_json::Value::Null,
            ),
            (
                ProtocolError::Batch { line: "[]".into() },
                Some(-32600),
                serde_json::Value::Null,
            ),
            (
                ProtocolError::InvalidMessage {
                    line: "{}".into(),
                    reason: "r".into(),
                    id: Some(Id::Number(4)),
                },
                Some(-32600),
                serde_json::json!(4),
            ),
            (
                ProtocolError::InvalidMessage {
                    line: "{}".into(),
                    reason: "r".into(),
                    id: Some(Id::Str("s".into())),
                },
                Some(-32600),
                serde_json::json!("s"),
            ),
            (
                ProtocolError::UnknownResponseId {
                    id: "3".into(),
                    line: "{}".into(),
                },
                None,
                serde_json::Value::Null,
            ),
        ];
        for (err, code, id) in cases {
            assert!(!err.to_string().is_empty());
            match (err.error_response(), code) {
                (None, None) => {}
                (Some(line), Some(code)) => {
                    let v = parsed(&line);
                    assert_eq!(v["jsonrpc"], "2.0");
                    assert_eq!(v["id"], id, "{err}");
                    assert_eq!(v["error"]["code"], code, "{err}");
                    assert!(v["error"]["message"].is_string());
                    assert!(v["error"]["data"].is_string());
                }
                (got, want) => panic!("{err}: got {got:?}, want code {want:?}"),
            }
        }
        let batch = ProtocolError::Batch { line: "[]".into() }
            .error_response()
            .unwrap();
        assert_eq!(
            parsed(&batch)["error"]["message"],
            "batches are not supported"
        );
    }

    #[test]
    fn display_quotes_line() {
        let e = ProtocolError::InvalidMessage {
            line: excerpt(&"x".repeat(1000)),
            reason: "\"method\" must be a string".into(),
            id: None,
        };
        let s = e.to_string();
        assert!(s.contains("\"method\" must be a string"));
        assert!(s.len() < 300);
    }

    #[test]
    fn version_errors_display() {
        for e in [
            VersionError::Missing,
            VersionError::Empty,
            VersionError::NotDecimal {
                content: "x".into(),
            },
            VersionError::TooLarge {
                digits: "99999999999".into(),
            },
            VersionError::Incompatible { plugin: 2, host: 1 },
        ] {
            assert!(e.to_string().contains("protocol") || e.to_string().contains("section"));
        }
        let e = PeerError::TooManyPending { limit: 2 };
        assert!(e.to_string().contains('2'));
    }
}
