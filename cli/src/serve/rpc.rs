//! A JSON-RPC 2.0 request, or a batch of them, in an HTTP body, and the
//! answers.
//!
//! The id, the params, the result and an error's `data` are kept as raw JSON
//! text ([`RawValue`]) from the body to the plugin and back: no number is
//! ever parsed into a float and rounded, and the id is echoed byte for byte.

use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use wasplug_hdk::{Error, ErrorKind, RawValue};
use wasplug_protocol::codes;

/// The plugin failed while it ran: it trapped (a panic, say), exited or
/// stopped without answering, broke the protocol, or raised a signal.
pub(crate) const PLUGIN_FAILED: i32 = -32020;
/// The call broke one of its limits: fuel, wall-clock timeout, memory,
/// line length, host calls in flight, unread input.
pub(crate) const LIMIT_BROKEN: i32 = -32021;
/// The host could not run the call (the interpreter or a timer failed).
pub(crate) const HOST_FAILED: i32 = -32022;

/// A request taken from an HTTP body.
#[derive(Debug)]
pub(crate) struct Request {
    /// The id as written (`None`: a notification, which gets no answer).
    pub(crate) id: Option<Box<RawValue>>,
    /// The method to call.
    pub(crate) method: String,
    /// The params, an array or an object, as written (`None`: none).
    pub(crate) params: Option<Box<RawValue>>,
}

/// What an HTTP body holds.
#[derive(Debug)]
pub(crate) enum Body {
    /// One request (a JSON object).
    One(Request),
    /// A batch (a JSON array): each member a request, or why it is not one.
    /// Each is answered on its own, in the order given.
    Batch(Vec<Result<Request, BadRequest>>),
}

/// Why a body, or a member of a batch, is not a JSON-RPC request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadRequest {
    /// The body is not JSON (`-32700`).
    NotJson(String),
    /// The body is an empty JSON array (`-32600`).
    EmptyBatch,
    /// The body is a batch of more requests than allowed (`-32600`).
    BatchTooLarge {
        /// How many members it has.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// The JSON is not a request object (`-32600`).
    NotARequest(String),
}

impl BadRequest {
    /// The JSON-RPC error answering it (its id is `null`: the request's id
    /// is not known).
    pub(crate) fn answer(&self) -> String {
        let (code, message, reason) = match self {
            Self::NotJson(reason) => (
                codes::PARSE_ERROR,
                codes::PARSE_ERROR_MSG,
                Cow::Borrowed(reason.as_str()),
            ),
            Self::EmptyBatch => (
                codes::INVALID_REQUEST,
                codes::INVALID_REQUEST_MSG,
                Cow::Borrowed("the batch is empty"),
            ),
            Self::BatchTooLarge { len, max } => (
                codes::INVALID_REQUEST,
                codes::INVALID_REQUEST_MSG,
                Cow::Owned(format!(
                    "a batch of {len} requests is over the limit of {max} (--max-batch)"
                )),
            ),
            Self::NotARequest(reason) => (
                codes::INVALID_REQUEST,
                codes::INVALID_REQUEST_MSG,
                Cow::Borrowed(reason.as_str()),
            ),
        };
        let data = serde_json::value::to_raw_value(&reason).ok();
        error_answer(None, code, message, data.as_deref())
    }
}

/// The members of a request object; any other member is refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    jsonrpc: String,
    method: String,
    #[serde(default, deserialize_with = "present")]
    id: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    params: Option<Box<RawValue>>,
}

/// A member that is there, even as `null`, is `Some` (a missing one takes
/// the default, `None`): `"id": null` is a request, no id a notification.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

/// The first byte of a JSON value (the body was checked to be JSON).
fn first_byte(raw: &RawValue) -> u8 {
    raw.get().as_bytes().first().copied().unwrap_or(b' ')
}

/// Reads an HTTP body: one JSON-RPC 2.0 request, or a batch of them (a
/// non-empty array of at most `max_batch` members, each checked on its
/// own: a member that is not a request does not spoil the others).
///
/// # Errors
/// [`BadRequest`] saying what is wrong with the body as a whole.
pub(crate) fn parse(body: &[u8], max_batch: usize) -> Result<Body, BadRequest> {
    let raw: &RawValue =
        serde_json::from_slice(body).map_err(|e| BadRequest::NotJson(e.to_string()))?;
    if first_byte(raw) != b'[' {
        return parse_request(raw).map(Body::One);
    }
    let members: Vec<&RawValue> =
        serde_json::from_str(raw.get()).map_err(|e| BadRequest::NotJson(e.to_string()))?;
    match members.len() {
        0 => Err(BadRequest::EmptyBatch),
        len if len > max_batch => Err(BadRequest::BatchTooLarge {
            len,
            max: max_batch,
        }),
        _ => Ok(Body::Batch(
            members.into_iter().map(parse_request).collect(),
        )),
    }
}

/// Reads one JSON-RPC 2.0 request: an object with `"jsonrpc": "2.0"`, a
/// string `method`, an optional `id` (a string, a number or `null`) and
/// optional `params` (an array, an object; `null` counts as none).
fn parse_request(raw: &RawValue) -> Result<Request, BadRequest> {
    if first_byte(raw) != b'{' {
        return Err(BadRequest::NotARequest(
            "a JSON-RPC request must be an object".into(),
        ));
    }
    let wire: Wire = serde_json::from_str(raw.get())
        .map_err(|e| BadRequest::NotARequest(format!("not a JSON-RPC request: {e}")))?;
    if wire.jsonrpc != "2.0" {
        return Err(BadRequest::NotARequest(
            "`jsonrpc` must be \"2.0\"".to_owned(),
        ));
    }
    if let Some(id) = &wire.id
        && !matches!(first_byte(id), b'"' | b'-' | b'0'..=b'9' | b'n')
    {
        return Err(BadRequest::NotARequest(
            "`id` must be a string, a number or null".to_owned(),
        ));
    }
    let params = match wire.params {
        Some(params) if first_byte(&params) == b'n' => None,
        Some(params) if matches!(first_byte(&params), b'[' | b'{') => Some(params),
        Some(_) => {
            return Err(BadRequest::NotARequest(
                "`params` must be an array or an object".to_owned(),
            ));
        }
        None => None,
    };
    Ok(Request {
        id: wire.id,
        method: wire.method,
        params,
    })
}

#[derive(Serialize)]
struct Answer<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorObject<'a>>,
    /// `None` is written as `null`.
    id: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct ErrorObject<'a> {
    code: i32,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
}

fn write(answer: &Answer<'_>) -> String {
    // Raw values are valid JSON and the rest are strings and numbers: this
    // cannot fail, but an answer must go out whatever happens.
    serde_json::to_string(answer).unwrap_or_else(|_| {
        format!(
            r#"{{"jsonrpc":"2.0","error":{{"code":{},"message":"{}"}},"id":null}}"#,
            codes::INTERNAL_ERROR,
            codes::INTERNAL_ERROR_MSG
        )
    })
}

/// The answer to a batch: its members' answers (a notification has none),
/// in order, as one JSON array.
pub(crate) fn batch_answer(answers: &[String]) -> String {
    format!("[{}]", answers.join(","))
}

/// The error answering a member of a batch whose answer would take the
/// batch's answers over `max` bytes (`-32021`, data
/// `{"kind": "BatchAnswerLimit"}`).
pub(crate) fn batch_answer_too_large(id: Option<&RawValue>, max: usize) -> String {
    let data =
        serde_json::value::to_raw_value(&serde_json::json!({"kind": "BatchAnswerLimit"})).ok();
    error_answer(
        id,
        LIMIT_BROKEN,
        &format!("the batch's answers are over {max} bytes (--max-batch-answer)"),
        data.as_deref(),
    )
}

/// The answer carrying `result`.
pub(crate) fn result_answer(id: Option<&RawValue>, result: &RawValue) -> String {
    write(&Answer {
        jsonrpc: "2.0",
        result: Some(result),
        error: None,
        id,
    })
}

/// The answer carrying an error.
pub(crate) fn error_answer(
    id: Option<&RawValue>,
    code: i32,
    message: &str,
    data: Option<&RawValue>,
) -> String {
    write(&Answer {
        jsonrpc: "2.0",
        result: None,
        error: Some(ErrorObject {
            code,
            message,
            data,
        }),
        id,
    })
}

/// The JSON-RPC error code a failed call is answered with (see the module
/// constants); a plugin's own error keeps its code.
pub(crate) fn code_of(kind: &ErrorKind) -> i32 {
    match kind {
        ErrorKind::Plugin { code, .. } => *code,
        ErrorKind::Trap { .. }
        | ErrorKind::ExitWithoutAnswer { .. }
        | ErrorKind::Deadlock
        | ErrorKind::Protocol { .. }
        | ErrorKind::Signal { .. } => PLUGIN_FAILED,
        ErrorKind::OutOfFuel { .. }
        | ErrorKind::Timeout { .. }
        | ErrorKind::MemoryLimit { .. }
        | ErrorKind::LineTooLong { .. }
        | ErrorKind::TooManyHostCalls { .. }
        | ErrorKind::InputLimit { .. } => LIMIT_BROKEN,
        _ => HOST_FAILED,
    }
}

/// The answer to a call that failed: a plugin's JSON-RPC error passes
/// through (code, message and data as the plugin wrote them); any other
/// failure gets its code from [`code_of`], the error's one-line description
/// as the message, and `{"kind": "Trap"}` (the [`ErrorKind`] variant) as
/// `data`.
pub(crate) fn failure_answer(id: Option<&RawValue>, error: &Error) -> String {
    if let ErrorKind::Plugin {
        code,
        message,
        data,
    } = error.kind()
    {
        return error_answer(id, *code, message, data.as_deref());
    }
    #[derive(Serialize)]
    struct Data {
        kind: &'static str,
    }
    let data = serde_json::value::to_raw_value(&Data {
        kind: error.kind().name(),
    })
    .ok();
    error_answer(
        id,
        code_of(error.kind()),
        &error.to_string(),
        data.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    /// Reads a body that must not be a batch.
    fn parse(body: &[u8]) -> Result<Request, BadRequest> {
        match super::parse(body, 4)? {
            Body::One(request) => Ok(request),
            Body::Batch(_) => panic!("a batch"),
        }
    }

    #[test]
    fn ids_and_params_are_kept_as_written() {
        let request = parse(
            br#"{"jsonrpc":"2.0","id":1.50e3,"method":"echo","params":[18446744073709551617, 0.1000]}"#,
        )
        .unwrap();
        assert_eq!(request.id.as_deref().map(RawValue::get), Some("1.50e3"));
        assert_eq!(request.method, "echo");
        assert_eq!(
            request.params.as_deref().map(RawValue::get),
            Some("[18446744073709551617, 0.1000]")
        );
        let answer = result_answer(request.id.as_deref(), &raw("[-0, 1e400]"));
        assert_eq!(
            answer,
            r#"{"jsonrpc":"2.0","result":[-0, 1e400],"id":1.50e3}"#
        );
    }

    #[test]
    fn no_id_is_a_notification_and_a_null_id_is_a_request() {
        let notification = parse(br#"{"jsonrpc":"2.0","method":"ping"}"#).unwrap();
        assert!(notification.id.is_none());
        assert!(notification.params.is_none());
        let request =
            parse(br#"{"jsonrpc":"2.0","method":"ping","id":null,"params":null}"#).unwrap();
        assert_eq!(request.id.as_deref().map(RawValue::get), Some("null"));
        assert!(request.params.is_none());
        let by_name =
            parse(br#"{"params":{"a":1},"id":"x","method":"m","jsonrpc":"2.0"}"#).unwrap();
        assert_eq!(by_name.id.as_deref().map(RawValue::get), Some(r#""x""#));
    }

    #[test]
    fn what_is_not_one_request_is_refused() {
        assert!(matches!(parse(b"{"), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse(b""), Err(BadRequest::NotJson(_))));
        assert!(matches!(parse(b"{} {}"), Err(BadRequest::NotJson(_))));
        for body in [
            r#""ping""#,
            r#"{"jsonrpc":"2.0"}"#,
            r#"{"method":"m","id":1}"#,
            r#"{"jsonrpc":"1.0","method":"m","id":1}"#,
            r#"{"jsonrpc":"2.0","method":7,"id":1}"#,
            r#"{"jsonrpc":"2.0","method":"m","id":{}}"#,
            r#"{"jsonrpc":"2.0","method":"m","id":true}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":5}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"m","extra":1}"#,
            r#"{"jsonrpc":"2.0","method":"m","method":"n"}"#,
        ] {
            assert!(
                matches!(parse(body.as_bytes()), Err(BadRequest::NotARequest(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn a_batch_is_read_member_by_member() {
        let Ok(Body::Batch(members)) = super::parse(
            br#"[{"jsonrpc":"2.0","id":"a","method":"ping"}, 1, {"jsonrpc":"2.0","method":"log","params":[2]}, {"jsonrpc":"2.0","id":2}]"#,
            4,
        ) else {
            panic!("not read as a batch");
        };
        assert_eq!(members.len(), 4);
        let first = members[0].as_ref().unwrap();
        assert_eq!(first.id.as_deref().map(RawValue::get), Some(r#""a""#));
        assert!(matches!(members[1], Err(BadRequest::NotARequest(_))));
        assert!(members[2].as_ref().unwrap().id.is_none());
        assert!(matches!(members[3], Err(BadRequest::NotARequest(_))));
        // One request in an array is still a batch.
        assert!(matches!(
            super::parse(br#"[{"jsonrpc":"2.0","id":1,"method":"m"}]"#, 4),
            Ok(Body::Batch(members)) if members.len() == 1
        ));
        assert_eq!(
            super::parse(b" [ ] ", 4).unwrap_err(),
            BadRequest::EmptyBatch
        );
        assert_eq!(
            super::parse(b"[1,2,3,4,5]", 4).unwrap_err(),
            BadRequest::BatchTooLarge { len: 5, max: 4 }
        );
        assert!(matches!(
            super::parse(b"[1,", 4),
            Err(BadRequest::NotJson(_))
        ));
        assert_eq!(
            batch_answer(&[result_answer(Some(&raw("1")), &raw("2")), "{}".into()]),
            r#"[{"jsonrpc":"2.0","result":2,"id":1},{}]"#
        );
    }

    #[test]
    fn refusals_are_json_rpc_errors_with_a_null_id() {
        let refusal = BadRequest::BatchTooLarge { len: 5, max: 4 }.answer();
        let answer: serde_json::Value = serde_json::from_str(&refusal).unwrap();
        assert_eq!(answer["error"]["code"], codes::INVALID_REQUEST);
        assert_eq!(
            answer["error"]["data"],
            "a batch of 5 requests is over the limit of 4 (--max-batch)"
        );
        assert!(answer["id"].is_null());
        let not_json = parse(b"nope").unwrap_err().answer();
        let answer: serde_json::Value = serde_json::from_str(&not_json).unwrap();
        assert_eq!(answer["error"]["code"], codes::PARSE_ERROR);
    }

    #[test]
    fn a_plugin_error_passes_through_and_a_failure_names_its_kind() {
        let plugin_error = Error::from(ErrorKind::Plugin {
            code: -32000,
            message: "deliberate failure".into(),
            data: Some(raw(r#"{"n": 18446744073709551617}"#)),
        });
        assert_eq!(
            failure_answer(Some(&raw("7")), &plugin_error),
            r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"deliberate failure","data":{"n": 18446744073709551617}},"id":7}"#
        );
        for (kind, code, name) in [
            (
                ErrorKind::OutOfFuel { limit: 10 },
                LIMIT_BROKEN,
                "OutOfFuel",
            ),
            (
                ErrorKind::Timeout {
                    limit: std::time::Duration::from_secs(1),
                },
                LIMIT_BROKEN,
                "Timeout",
            ),
            (
                ErrorKind::Trap {
                    trap: "unreachable".into(),
                    code: None,
                },
                PLUGIN_FAILED,
                "Trap",
            ),
            (ErrorKind::Deadlock, PLUGIN_FAILED, "Deadlock"),
            (
                ErrorKind::Engine { reason: "x".into() },
                HOST_FAILED,
                "Engine",
            ),
        ] {
            let message = Error::from(ErrorKind::Deadlock).to_string();
            let answer: serde_json::Value =
                serde_json::from_str(&failure_answer(None, &Error::from(kind))).unwrap();
            assert_eq!(answer["error"]["code"], code, "{name}");
            assert_eq!(answer["error"]["data"]["kind"], name);
            assert!(answer["id"].is_null());
            if name == "Deadlock" {
                assert_eq!(answer["error"]["message"], message);
            }
        }
    }
}
