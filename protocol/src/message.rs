//! JSON-RPC 2.0 messages: the events an incoming line becomes, the strict parser, and the
//! builders of outgoing lines.

use crate::config::PeerConfig;
use crate::error::{ProtocolError, excerpt};
use jsonrpsee_types::{
    ErrorObject, ErrorObjectOwned, Id, Notification, Request, Response, ResponsePayload,
    TwoPointZero,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The id of an incoming request: a JSON number (non-negative integer) or string, owned.
///
/// Echo it back unchanged with [`Peer::respond_ok`](crate::Peer::respond_ok) and friends.
pub type RequestId = Id<'static>;

/// What an incoming line turned out to be.
#[derive(Debug, Clone)]
pub enum Event {
    /// The answer to request `id` that we sent.
    Response {
        /// The id [`Peer::request`](crate::Peer::request) returned.
        id: u64,
        /// `Ok(raw result JSON)`, or `Err(the error object as sent)` with code, message and
        /// data kept exactly.
        result: Result<Box<RawValue>, ErrorObjectOwned>,
    },
    /// A request from the other side, to be answered with its `id`.
    Request {
        /// The request id, to echo in the response.
        id: RequestId,
        /// The method name.
        method: String,
        /// The params (a JSON array or object), if the request had any.
        params: Option<Box<RawValue>>,
    },
    /// A notification from the other side (never answered).
    Notification {
        /// The method name.
        method: String,
        /// The params (a JSON array or object), if the notification had any.
        params: Option<Box<RawValue>>,
    },
}

impl Event {
    /// The method name of a request or notification; `None` for a response.
    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request { method, .. } | Self::Notification { method, .. } => Some(method),
            Self::Response { .. } => None,
        }
    }

    /// The params of a request or notification, if any.
    pub fn params(&self) -> Option<&RawValue> {
        match self {
            Self::Request { params, .. } | Self::Notification { params, .. } => params.as_deref(),
            Self::Response { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing

/// Every member we look at, kept as raw JSON; checked one by one afterwards so the errors
/// can say precisely what is wrong. Unknown members are ignored, duplicates rejected.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// A JSON-RPC error object, leniently: extra members are ignored.
#[derive(Deserialize)]
struct WireError<'a> {
    code: i32,
    #[serde(borrow)]
    message: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

/// A member that is present, even when `null` (plain `Option` would turn `null` into `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// A validated incoming message, still borrowing from the line.
pub(crate) enum Incoming<'a> {
    Request {
        id: RequestId,
        method: String,
        params: Option<&'a RawValue>,
    },
    Notification {
        method: String,
        params: Option<&'a RawValue>,
    },
    Response {
        /// `Some` for a non-negative integer id (the only kind we allocate).
        id: Option<u64>,
        /// The id as written in the line.
        id_text: &'a str,
        result: Result<&'a RawValue, ErrorObjectOwned>,
    },
}

const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Parses and validates one line (without its `\n`).
pub(crate) fn parse<'a>(line: &'a str, config: &PeerConfig) -> Result<Incoming<'a>, ProtocolError> {
    if line.len() > config.max_line {
        return Err(ProtocolError::LineTooLong {
            limit: config.max_line,
        });
    }
    if exceeds_depth(line.as_bytes(), config.max_depth) {
        return Err(ProtocolError::TooDeep {
            limit: config.max_depth,
            line: excerpt(line),
        });
    }
    match line.trim_start_matches(JSON_WHITESPACE).as_bytes().first() {
        Some(b'{') => {}
        Some(b'[') => {
            check_json(line)?;
            return Err(ProtocolError::Batch {
                line: excerpt(line),
            });
        }
        _ => {
            check_json(line)?;
            return Err(invalid(line, "expected a JSON object".to_owned(), None));
        }
    }
    match serde_json::from_str::<Envelope<'a>>(line) {
        Ok(envelope) => classify(line, envelope),
        Err(e) if e.is_data() => {
            // E.g. a duplicate member; but the line may also be broken further on.
            check_json(line)?;
            Err(invalid(line, e.to_string(), None))
        }
        Err(e) => Err(not_json(line, &e)),
    }
}

fn classify<'a>(line: &'a str, env: Envelope<'a>) -> Result<Incoming<'a>, ProtocolError> {
    // For a request, the id to echo in the error response, if it is a valid one.
    let request_id = match (env.method, env.id) {
        (Some(_), Some(raw)) => request_id(raw),
        _ => Err(String::new()),
    };
    let fail = |reason: String| invalid(line, reason, request_id.clone().ok());

    match env.jsonrpc {
        None => return Err(fail(r#"missing "jsonrpc":"2.0""#.to_owned())),
        Some(raw) if !is_two_point_zero(raw) => {
            return Err(fail(format!(
                r#""jsonrpc" must be "2.0", not {}"#,
                excerpt(raw.get())
            )));
        }
        Some(_) => {}
    }

    if let Some(method) = env.method {
        let method: String = serde_json::from_str(method.get()).map_err(|_| {
            fail(format!(
                r#""method" must be a string, not {}"#,
                kind(method)
            ))
        })?;
        if env.result.is_some() || env.error.is_some() {
            return Err(fail(
                r#"a request or notification must not have "result" or "error""#.to_owned(),
            ));
        }
        if let Some(params) = env.params
            && !is_structured(params)
        {
            return Err(fail(format!(
                r#""params" must be an array or object, not {}"#,
                kind(params)
            )));
        }
        return match env.id {
            None => Ok(Incoming::Notification {
                method,
                params: env.params,
            }),
            Some(_) => match &request_id {
                Ok(id) => Ok(Incoming::Request {
                    id: id.clone(),
                    method,
                    params: env.params,
                }),
                Err(reason) => Err(fail(reason.clone())),
            },
        };
    }

    let result = match (env.result, env.error) {
        (Some(_), Some(_)) => {
            return Err(fail(
                r#"a response must not have both "result" and "error""#.to_owned(),
            ));
        }
        (None, None) => {
            return Err(fail(
                r#"no "method" (request, notification) nor "result"/"error" (response)"#.to_owned(),
            ));
        }
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(error_object(error).map_err(fail)?),
    };
    let Some(id_raw) = env.id else {
        return Err(fail(r#"a response must have an "id""#.to_owned()));
    };
    let id = match parse_id(id_raw) {
        Some(Id::Number(n)) => Some(n),
        Some(_) => None,
        None if kind(id_raw) == "a number" => None,
        None => {
            return Err(fail(format!(
                r#"a response "id" must be a number, a string or null, not {}"#,
                kind(id_raw)
            )));
        }
    };
    Ok(Incoming::Response {
        id,
        id_text: id_raw.get(),
        result,
    })
}

/// Parses a JSON-RPC id: `null`, a non-negative integer, or a string.
///
/// Done by hand: [`Id`]'s derived (untagged) `Deserialize` tries each variant
/// in turn and formats an error message for every miss, which dominated the
/// cost of a message inside an interpreted plugin.
fn parse_id(raw: &RawValue) -> Option<Id<'static>> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'n' if text == "null" => Some(Id::Null),
        b'0'..=b'9' => text.parse::<u64>().ok().map(Id::Number),
        b'"' => serde_json::from_str::<String>(text)
            .ok()
            .map(|s| Id::Str(Cow::Owned(s))),
        _ => None,
    }
}

/// Whether a `"jsonrpc"` member is the string `"2.0"` (however it is escaped).
fn is_two_point_zero(raw: &RawValue) -> bool {
    raw.get() == "\"2.0\"" || serde_json::from_str::<TwoPointZero>(raw.get()).is_ok()
}

/// A request id: a string or a non-negative integer (what [`Id`] can hold), not null.
fn request_id(raw: &RawValue) -> Result<RequestId, String> {
    match parse_id(raw) {
        Some(Id::Null) => {
            Err(r#"a request "id" must be a string or a number, not null"#.to_owned())
        }
        Some(id) => Ok(id),
        None => Err(format!(
            r#"a request "id" must be a string or a non-negative integer, not {}"#,
            excerpt(raw.get())
        )),
    }
}

fn error_object(raw: &RawValue) -> Result<ErrorObjectOwned, String> {
    let wire: WireError<'_> =
        serde_json::from_str(raw.get()).map_err(|e| format!(r#"invalid "error" object: {e}"#))?;
    Ok(ErrorObject::borrowed(wire.code, &wire.message, wire.data).into_owned())
}

fn invalid(line: &str, reason: String, id: Option<RequestId>) -> ProtocolError {
    ProtocolError::InvalidMessage {
        line: excerpt(line),
        reason,
        id,
    }
}

fn not_json(line: &str, e: &serde_json::Error) -> ProtocolError {
    ProtocolError::NotJson {
        line: excerpt(line),
        reason: e.to_string(),
    }
}

/// `Ok` when `line` is syntactically valid JSON (depth already checked).
fn check_json(line: &str) -> Result<(), ProtocolError> {
    serde_json::from_str::<serde::de::IgnoredAny>(line)
        .map(drop)
        .map_err(|e| not_json(line, &e))
}

fn is_structured(raw: &RawValue) -> bool {
    matches!(
        raw.get()
            .trim_start_matches(JSON_WHITESPACE)
            .as_bytes()
            .first(),
        Some(b'[' | b'{')
    )
}

/// What kind of JSON value `raw` holds, for error messages.
pub(crate) fn kind(raw: &RawValue) -> &'static str {
    match raw
        .get()
        .trim_start_matches(JSON_WHITESPACE)
        .as_bytes()
        .first()
    {
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// Whether arrays/objects in `json` nest deeper than `max`, by a byte scan that skips string
/// contents (so brackets inside strings do not count). Runs before any recursive parsing.
pub(crate) fn exceeds_depth(json: &[u8], max: usize) -> bool {
    if json.len() <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    false
}

// ---------------------------------------------------------------------------------------
// Building

/// Sent if serializing a message that cannot fail fails nonetheless.
const FALLBACK_LINE: &str = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"Internal error\"}}\n";

#[derive(Serialize)]
struct BareNotification<'a> {
    jsonrpc: TwoPointZero,
    method: &'a str,
}

/// Makes one line of a serialized message. serde_json writes no newlines of
/// its own, but a raw value given to us may contain some (pretty-printed
/// JSON), which would break the framing: `raw` says whether one might, and
/// then the line is compacted.
fn finish(json: String, raw: Option<&RawValue>) -> String {
    let mut line = match raw {
        Some(raw) if has_newline(raw.get()) => compact(json),
        _ => json,
    };
    line.push('\n');
    line
}

fn has_newline(json: &str) -> bool {
    json.bytes().any(|b| b == b'\n' || b == b'\r')
}

/// Removes whitespace outside strings if the JSON contains a raw `\n` or `\r` (which, in
/// valid JSON, can only be whitespace outside strings).
fn compact(json: String) -> String {
    if !has_newline(&json) {
        return json;
    }
    let mut out = Vec::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for b in json.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else if b == b'"' {
            in_string = true;
        }
        out.push(b);
    }
    // Only ASCII bytes were removed, so this cannot fail.
    String::from_utf8(out).unwrap_or(json)
}

fn borrow_id<'a>(id: &'a Id<'_>) -> Id<'a> {
    match id {
        Id::Null => Id::Null,
        Id::Number(n) => Id::Number(*n),
        Id::Str(s) => Id::Str(Cow::Borrowed(s)),
    }
}

pub(crate) fn request_line(
    id: u64,
    method: &str,
    params: Option<&RawValue>,
) -> Result<String, serde_json::Error> {
    let request = Request::borrowed(method, params, Id::Number(id));
    Ok(finish(serde_json::to_string(&request)?, params))
}

pub(crate) fn notification_line(
    method: &str,
    params: Option<&RawValue>,
) -> Result<String, serde_json::Error> {
    let json = match params {
        Some(params) => serde_json::to_string(&Notification::new(Cow::Borrowed(method), params))?,
        None => serde_json::to_string(&BareNotification {
            jsonrpc: TwoPointZero,
            method,
        })?,
    };
    Ok(finish(json, params))
}

pub(crate) fn response_ok_line<R: Serialize + ?Sized>(
    id: &Id<'_>,
    result: &R,
) -> Result<String, serde_json::Error> {
    let response = Response::new(ResponsePayload::success(result), borrow_id(id));
    // `R` may hold raw values anywhere inside: check the whole line.
    let json = serde_json::to_string(&response)?;
    Ok(finish(compact(json), None))
}

pub(crate) fn response_raw_line(id: &Id<'_>, result: &RawValue) -> String {
    let response = Response::new(ResponsePayload::success(result), borrow_id(id));
    serde_json::to_string(&response).map_or_else(
        |_| FALLBACK_LINE.to_owned(),
        |json| finish(json, Some(result)),
    )
}

pub(crate) fn response_err_line(id: &Id<'_>, error: &ErrorObjectOwned) -> String {
    let payload = ResponsePayload::<()>::Error(error.borrow());
    serde_json::to_string(&Response::new(payload, borrow_id(id))).map_or_else(
        |_| FALLBACK_LINE.to_owned(),
        |json| finish(json, error.data()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_ignores_strings() {
        assert!(!exceeds_depth(br#"[[["]]]]]]]]]]]]]]]]]]]]]]]"]]]"#, 3));
        assert!(exceeds_depth(br#"[[[["x"]]]]"#, 3));
        assert!(!exceeds_depth(br#"["[[[[[[[[[[[[[[[\"[[[[[[[[[["]"#, 1));
        assert!(exceeds_depth(br#"{"a":{"b":{"c":1}}}"#, 2));
        assert!(!exceeds_depth(br#"{"a":{"b":{"c":1}}}"#, 3));
        assert!(!exceeds_depth(b"[][][][][][][][][][][][][]", 1));
    }

    #[test]
    fn compact_keeps_strings() {
        let pretty = "{\n  \"a b\": \"x \\\" \\n y\",\r\n  \"c\": [1, 2]\n}".to_owned();
        assert_eq!(compact(pretty), r#"{"a b":"x \" \n y","c":[1,2]}"#);
        assert_eq!(compact("[1, 2]".to_owned()), "[1, 2]");
    }

    #[test]
    fn builders() {
        let params = RawValue::from_string("[1, {\"x\":\n2}]".to_owned()).unwrap();
        assert_eq!(
            request_line(3, "m", Some(&params)).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"m\",\"params\":[1,{\"x\":2}]}\n"
        );
        assert_eq!(
            notification_line("n", None).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n"
        );
        assert_eq!(
            response_err_line(&Id::Str("q".into()), &crate::codes::error(5, "five", None)),
            "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"error\":{\"code\":5,\"message\":\"five\"}}\n"
        );
        assert_eq!(
            response_ok_line(&Id::Number(9), &serde_json::json!(null)).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":null}\n"
        );
    }
}
