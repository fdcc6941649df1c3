//! JSON-RPC 2.0 messages: the events an incoming line becomes, the strict parser, and the
//! builders of outgoing lines.

use crate::config::PeerConfig;
use crate::error::{PeerError, ProtocolError, excerpt};
use crate::scan;
use jsonrpsee_types::{ErrorObject, ErrorObjectOwned, Id, Response, ResponsePayload, TwoPointZero};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The id of an incoming request: a JSON number (non-negative integer) or string, owned.
///
/// Echo it back unchanged with [`Peer::respond_ok`](crate::Peer::respond_ok) and friends.
pub type RequestId = Id<'static>;

/// What an incoming line turned out to be.
///
/// `J` holds the raw JSON of params and results: owned (`Box<RawValue>`, from
/// [`Peer::handle_line`](crate::Peer::handle_line)) or borrowed from the line
/// (`&RawValue`, from [`Peer::handle_line_borrowed`](crate::Peer::handle_line_borrowed)).
#[derive(Debug, Clone)]
pub enum Event<J = Box<RawValue>> {
    /// The answer to request `id` that we sent.
    Response {
        /// The id [`Peer::request`](crate::Peer::request) returned.
        id: u64,
        /// `Ok(raw result JSON)`, or `Err(the error object as sent)` with code, message and
        /// data kept exactly.
        result: Result<J, ErrorObjectOwned>,
    },
    /// A request from the other side, to be answered with its `id`.
    Request {
        /// The request id, to echo in the response.
        id: RequestId,
        /// The method name.
        method: String,
        /// The params (a JSON array or object), if the request had any.
        params: Option<J>,
    },
    /// A notification from the other side (never answered).
    Notification {
        /// The method name.
        method: String,
        /// The params (a JSON array or object), if the notification had any.
        params: Option<J>,
    },
}

impl Event<&RawValue> {
    /// The event with its params or result copied out of the line.
    pub fn into_owned(self) -> Event {
        match self {
            Self::Response { id, result } => Event::Response {
                id,
                result: result.map(ToOwned::to_owned),
            },
            Self::Request { id, method, params } => Event::Request {
                id,
                method,
                params: params.map(ToOwned::to_owned),
            },
            Self::Notification { method, params } => Event::Notification {
                method,
                params: params.map(ToOwned::to_owned),
            },
        }
    }
}

impl<J: core::ops::Deref<Target = RawValue>> Event<J> {
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
            Self::Request { params, .. } | Self::Notification { params, .. } => {
                params.as_ref().map(|params| &**params)
            }
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
    match parse_canonical(line) {
        Some(incoming) => Ok(incoming),
        None => parse_envelope(line),
    }
}

/// The strict parse of a line that is a JSON object, if it is JSON at all.
fn parse_envelope(line: &str) -> Result<Incoming<'_>, ProtocolError> {
    match serde_json::from_str::<Envelope<'_>>(line) {
        Ok(envelope) => classify(line, envelope),
        Err(e) if e.is_data() => {
            // E.g. a duplicate member; but the line may also be broken further on.
            check_json(line)?;
            Err(invalid(line, e.to_string(), None))
        }
        Err(e) => Err(not_json(line, &e)),
    }
}

/// What every line our builders write starts with.
const PREFIX: &str = r#"{"jsonrpc":"2.0","#;

/// Recognises, without serde, the few shapes this crate's builders write and
/// the hot path carries: a request or notification whose method needs no
/// escaping and whose params (if any) come last, and a success response to
/// a numeric id, each with its members in our order and no whitespace
/// between them. The params or result are still checked to be one valid
/// JSON value. Anything else — another member order, whitespace, escapes,
/// a string id, an error response, every malformed line — returns `None`
/// and takes the strict parser, so the outcome is the same either way, only
/// cheaper: inside an interpreted plugin the derived parse cost several
/// times the rest of a round trip.
fn parse_canonical(line: &str) -> Option<Incoming<'_>> {
    let body = line.strip_prefix(PREFIX)?.strip_suffix('}')?;
    if let Some(rest) = body.strip_prefix(r#""id":"#) {
        let (id, id_text, rest) = canonical_id(rest)?;
        if let Some(result) = rest.strip_prefix(r#","result":"#) {
            return Some(Incoming::Response {
                id: Some(id),
                id_text,
                result: Ok(canonical_value(result)?),
            });
        }
        let (method, params) = canonical_call(rest.strip_prefix(r#","method":"#)?)?;
        return Some(Incoming::Request {
            id: Id::Number(id),
            method,
            params,
        });
    }
    let (method, params) = canonical_call(body.strip_prefix(r#""method":"#)?)?;
    Some(Incoming::Notification { method, params })
}

/// The numeric id at the start of `text`: its value, its text, and the rest.
///
/// This and the other small helpers of every message are `#[inline(always)]`:
/// inside an interpreted plugin a call costs more than their bodies (~400
/// instructions a round trip).
#[inline(always)]
fn canonical_id(text: &str) -> Option<(u64, &str, &str)> {
    let (id, digits) = id_digits(text.as_bytes())?;
    let (id_text, rest) = text.split_at_checked(digits)?;
    Some((id, id_text, rest))
}

/// The numeric id at the start of `bytes`, and how many digits it has: by
/// hand, byte by byte, as the id of every answer goes through here.
#[inline(always)]
fn id_digits(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut id: u64 = 0;
    let mut digits = 0;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            break;
        }
        // An id beyond 64 bits is no id of ours. Compared, not
        // `checked_mul`: on wasm32 that is a call to a 128-bit multiply.
        let digit = u64::from(byte - b'0');
        if id > u64::MAX / 10 || (id == u64::MAX / 10 && digit > u64::MAX % 10) {
            return None;
        }
        id = id * 10 + digit;
        digits += 1;
    }
    // JSON has no leading zeros, and an id has one digit at least.
    match bytes.first() {
        Some(b'0') if digits > 1 => None,
        _ if digits == 0 => None,
        _ => Some((id, digits)),
    }
}

/// The id and result of a line [`parse`] would take for a success response
/// in the canonical form ([`parse_canonical`]), the result checked to be
/// one JSON value by a scan of its bytes rather than by serde_json (which,
/// inside an interpreted plugin, cost as much as the rest of the answer's
/// path). `None` for any other line, or when unsure: [`parse`] decides.
///
pub(crate) fn canonical_answer<'a>(line: &'a [u8], config: &PeerConfig) -> Option<(u64, &'a str)> {
    if line.len() > config.max_line {
        return None;
    }
    let body = strip_prefix_words(line, ANSWER_PREFIX.as_bytes())?.strip_suffix(b"}")?;
    let (id, digits) = id_digits(body)?;
    let rest = body.get(digits..)?;
    let result = strip_prefix_words(rest, br#","result":"#)?;
    // The rest of the line is the ASCII matched above: only the result
    // needs checking to be UTF-8.
    let result = std::str::from_utf8(result).ok()?;
    // The envelope is one level of the line's nesting.
    let max_depth = config.max_depth.checked_sub(1)?;
    scan::is_one_value(result, max_depth).then_some((id, result))
}

/// What a response line our builders write starts with, up to the id.
const ANSWER_PREFIX: &str = r#"{"jsonrpc":"2.0","id":"#;

/// `text` without `prefix`, compared eight bytes at a time: byte by byte,
/// as slices compare, costs an interpreted plugin several instructions a
/// byte.
#[inline(always)]
fn strip_prefix_words<'a>(text: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = text.get(..prefix.len())?;
    let mut words = head.chunks_exact(8);
    let mut expected = prefix.chunks_exact(8);
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    for (a, b) in (&mut words).zip(&mut expected) {
        if word(a) != word(b) {
            return None;
        }
    }
    let same = words
        .remainder()
        .iter()
        .zip(expected.remainder())
        .all(|(a, b)| a == b);
    same.then(|| text.get(prefix.len()..)).flatten()
}

/// `"method"` and the params after it: a string without escapes or control
/// characters, then nothing or `,"params":` and an array or object.
fn canonical_call(text: &str) -> Option<(String, Option<&RawValue>)> {
    let text = text.strip_prefix('"')?;
    // By bytes: each one sought is ASCII, so the end is a char boundary.
    let end = text
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < b' ')?;
    let (method, rest) = text.split_at_checked(end)?;
    let rest = rest.strip_prefix('"')?;
    let params = match rest.strip_prefix(r#","params":"#) {
        None if rest.is_empty() => None,
        None => return None,
        Some(params) if params.starts_with(['[', '{']) => Some(canonical_value(params)?),
        Some(_) => return None,
    };
    Some((method.to_owned(), params))
}

/// `text` as one JSON value, without whitespace around it.
fn canonical_value(text: &str) -> Option<&RawValue> {
    let trimmed = text.trim_matches(JSON_WHITESPACE);
    if trimmed.len() != text.len() {
        return None;
    }
    serde_json::from_str::<&RawValue>(text).ok()
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
    kind_of(raw.get().as_bytes())
}

/// What kind of JSON value `json` holds.
fn kind_of(json: &[u8]) -> &'static str {
    let start = json
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    match start.and_then(|i| json.get(i)) {
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
pub(crate) const FALLBACK_LINE: &str = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"Internal error\"}}\n";

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
    // Only ASCII bytes were removed, so this cannot fail.
    String::from_utf8(compacted(json.as_bytes())).unwrap_or(json)
}

/// `json` without its whitespace outside strings.
fn compacted(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
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
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else if b == b'"' {
            in_string = true;
        }
        out.push(b);
    }
    out
}

fn borrow_id<'a>(id: &'a Id<'_>) -> Id<'a> {
    match id {
        Id::Null => Id::Null,
        Id::Number(n) => Id::Number(*n),
        Id::Str(s) => Id::Str(Cow::Borrowed(s)),
    }
}

// The lines of the hot path are written by hand, straight into the caller's
// buffer: byte for byte what serde_json writes for the jsonrpsee types
// (`hand_written_lines_are_what_serde_writes`), without a serialized value
// in between.

/// Appends a request (`id`) or notification line calling `method` with
/// `params`, which must serialize to an array or object (`null`: none).
/// On error `out` is left as it was.
pub(crate) fn write_call<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: Option<u64>,
    method: &str,
    params: &P,
) -> Result<(), PeerError> {
    let start = out.len();
    // Few and whole pieces: inside an interpreted plugin every append is a
    // call and a copy.
    match id {
        Some(id) => {
            out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
            push_u64(out, id);
            out.extend_from_slice(br#","method":"#);
        }
        None => out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#),
    }
    push_json_string(out, method);
    let params_at = out.len();
    out.extend_from_slice(br#","params":"#);
    let value_at = out.len();
    if let Err(e) = serde_json::to_writer(&mut *out, params) {
        out.truncate(start);
        return Err(e.into());
    }
    // Its first byte says what the value is, without comparing `kind_of`'s
    // words on the hot path; only a raw value may start with whitespace.
    let value = |out: &Vec<u8>| kind_of(out.get(value_at..).unwrap_or_default());
    let structured = match out.get(value_at) {
        Some(b'[' | b'{') => Some(true),
        Some(b'n') => Some(false),
        _ => match value(out) {
            "an array" | "an object" => Some(true),
            "null" => Some(false),
            _ => None,
        },
    };
    match structured {
        Some(true) => compact_from(out, value_at),
        Some(false) => out.truncate(params_at),
        None => {
            let found = value(out);
            out.truncate(start);
            return Err(PeerError::InvalidParams {
                method: method.to_owned(),
                found,
            });
        }
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

/// Appends the success response line to request `id`.
pub(crate) fn write_response_raw(out: &mut Vec<u8>, id: &Id<'_>, result: &RawValue) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    match id {
        Id::Null => out.extend_from_slice(b"null"),
        Id::Number(n) => push_u64(out, *n),
        Id::Str(s) => push_json_string(out, s),
    }
    out.extend_from_slice(br#","result":"#);
    let value_at = out.len();
    out.extend_from_slice(result.get().as_bytes());
    compact_from(out, value_at);
    out.extend_from_slice(b"}\n");
}

/// A line built in a buffer, as a `String`.
pub(crate) fn into_line(bytes: Vec<u8>) -> Result<String, PeerError> {
    // Everything written is UTF-8: serde_json's output, our ASCII, `&str`s.
    String::from_utf8(bytes)
        .map_err(|e| PeerError::Serialize(serde::ser::Error::custom(e.utf8_error())))
}

/// Compacts the JSON from `from` on if a raw value in it (pretty-printed
/// JSON given to us) brought a line break, which would break the framing;
/// serde_json writes none of its own.
#[inline(always)]
fn compact_from(out: &mut Vec<u8>, from: usize) {
    let Some(tail) = out.get(from..) else {
        return;
    };
    if !tail.iter().any(|&b| b == b'\n' || b == b'\r') {
        return;
    }
    let tail = compacted(tail);
    out.truncate(from);
    out.extend_from_slice(&tail);
}

#[inline(always)]
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    for slot in digits.iter_mut().rev() {
        // A digit: `n % 10` fits.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(digits.len() - len..).unwrap_or_default());
}

/// `text` as a JSON string, escaped as serde_json escapes it.
///
/// Inlined without the escaping (a method name seldom needs it): the whole
/// of it in every instance of `write_call` made loading a plugin ~1%
/// dearer, and a call costs an interpreted plugin more than the check.
#[inline(always)]
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.extend_from_slice(text.as_bytes());
    } else {
        push_escaped(out, text);
    }
    out.push(b'"');
}

/// `text` with JSON's escapes, without the quotes.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                for nibble in [b >> 4, b & 0xf] {
                    out.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
                }
            }
            // Other bytes, of multi-byte characters too, go as they are.
            b => out.push(b),
        }
    }
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
    use jsonrpsee_types::{Notification, Request};

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

    /// What an incoming message is, for comparing two parses.
    fn describe(incoming: &Incoming<'_>) -> String {
        match incoming {
            Incoming::Request { id, method, params } => {
                format!("request {id:?} {method} {:?}", params.map(RawValue::get))
            }
            Incoming::Notification { method, params } => {
                format!("notification {method} {:?}", params.map(RawValue::get))
            }
            Incoming::Response {
                id,
                id_text,
                result,
            } => format!(
                "response {id:?} {id_text} {:?}",
                result.as_ref().map(|r| r.get())
            ),
        }
    }

    #[test]
    fn the_canonical_shapes_parse_as_the_strict_parser_parses_them() {
        let canonical = [
            r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1,{"a":"x\"}"}]}"#,
            r#"{"jsonrpc":"2.0","id":0,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"é ✓","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"progress","params":[50]}"#,
            r#"{"jsonrpc":"2.0","method":"tick"}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":18446744073709551617}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":"}"}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":null}"#,
            r#"{"jsonrpc":"2.0","id":7,"result":{"a":[1,2.5e3,"\u00e9"]}}"#,
        ];
        for line in canonical {
            let fast = parse_canonical(line).unwrap_or_else(|| panic!("not canonical: {line}"));
            let strict = parse_envelope(line).unwrap();
            assert_eq!(describe(&fast), describe(&strict), "{line}");
        }
        // Everything else takes the strict parser, errors included.
        let other = [
            r#"{"jsonrpc":"2.0","id":"1","method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":01,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":18446744073709551616,"result":1}"#,
            r#"{"jsonrpc":"2.0","id":184467440737095516150,"result":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m\u0065"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1],"params":[2]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1],"result":2}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1 }"#,
            r#"{"jsonrpc":"2.0","id":1,"result":}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":null}"#,
            r#"{"jsonrpc":"2.0","method":"m","x":1}"#,
            r#"{"jsonrpc":"2.0", "method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
        ];
        for line in other {
            assert!(parse_canonical(line).is_none(), "{line}");
        }
    }

    #[test]
    fn canonical_answers_are_the_responses_parse_gives() {
        let config = PeerConfig::default().with_max_depth(4);
        let answers = [
            (r#"{"jsonrpc":"2.0","id":7,"result":[5]}"#, 7, "[5]"),
            (r#"{"jsonrpc":"2.0","id":0,"result":"}"}"#, 0, r#""}""#),
            (
                r#"{"jsonrpc":"2.0","id":9,"result":{"a":[[1]]}}"#,
                9,
                r#"{"a":[[1]]}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":[1, {"b" : null}]}"#,
                1,
                r#"[1, {"b" : null}]"#,
            ),
        ];
        for (line, id, result) in answers {
            assert_eq!(
                canonical_answer(line.as_bytes(), &config),
                Some((id, result)),
                "{line}"
            );
            let Ok(Incoming::Response {
                id: Some(parsed_id),
                result: Ok(parsed),
                ..
            }) = parse(line, &config)
            else {
                panic!("{line} is no response");
            };
            assert_eq!((parsed_id, parsed.get()), (id, result), "{line}");
        }
        // Anything else, and anything beyond the limits, is left to `parse`.
        let others = [
            r#"{"jsonrpc":"2.0","id":1,"result":[[[[1]]]]}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":[1,]}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1 }"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1,"x":2}"#,
            r#"{"jsonrpc":"2.0","id":01,"result":1}"#,
            r#"{"jsonrpc":"2.0","id":"1","result":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#,
        ];
        for line in others {
            assert_eq!(canonical_answer(line.as_bytes(), &config), None, "{line}");
        }
        // Not UTF-8 inside the result: left to `parse`'s caller, which checks the line.
        let mut bad = br#"{"jsonrpc":"2.0","id":1,"result":"xx"}"#.to_vec();
        bad[34] = 0xff;
        assert_eq!(canonical_answer(&bad, &config), None);
        bad[34] = b'y';
        assert_eq!(canonical_answer(&bad, &config), Some((1, r#""yx""#)));
        for (text, prefix, rest) in [
            ("abcdefghijklmnopq", "abcdefghijklmnop", Some("q")),
            ("abcdefghijklmnopq", "abcdefghijklmnoq", None),
            ("abcdefghijklmnopq", "abcdefgxijklmnop", None),
            ("abcdefghijklmnopq", "abcdefghijklmnopq", Some("")),
            ("abcdefghijklmnopq", "abcdefghijklmnopqr", None),
            ("abc", "", Some("abc")),
            ("abé", "ab", Some("é")),
        ] {
            assert_eq!(
                strip_prefix_words(text.as_bytes(), prefix.as_bytes()),
                rest.map(str::as_bytes),
                "{text} {prefix}"
            );
        }
        let short = PeerConfig::default().with_max_line(10);
        assert_eq!(canonical_answer(answers[0].0.as_bytes(), &short), None);
    }

    fn call_line(id: Option<u64>, method: &str, params: Option<&RawValue>) -> String {
        let mut out = b"before".to_vec();
        write_call(&mut out, id, method, &params).unwrap();
        String::from_utf8(out.split_off(6)).unwrap()
    }

    #[test]
    fn hand_written_lines_are_what_serde_writes() {
        let params = RawValue::from_string(r#"[1,"x"]"#.to_owned()).unwrap();
        for method in ["m", "é \"q\" \\ \n\t\u{1}\u{8}\u{c}\u{1f}\u{7f}"] {
            for params in [None, Some(&*params)] {
                let request = Request::borrowed(method, params, Id::Number(u64::MAX));
                let serde = serde_json::to_string(&request).unwrap() + "\n";
                assert_eq!(call_line(Some(u64::MAX), method, params), serde);
                let serde = match params {
                    Some(params) => {
                        serde_json::to_string(&Notification::new(method.into(), params))
                    }
                    None => serde_json::to_string(
                        &serde_json::json!({"jsonrpc": "2.0", "method": method}),
                    ),
                };
                assert_eq!(call_line(None, method, params), serde.unwrap() + "\n");
            }
        }
        for id in [
            Id::Number(0),
            Id::Number(10),
            Id::Null,
            Id::Str("a\"\u{0}é".into()),
        ] {
            let response = Response::new(ResponsePayload::success(&*params), borrow_id(&id));
            let serde = serde_json::to_string(&response).unwrap() + "\n";
            let mut line = Vec::new();
            write_response_raw(&mut line, &id, &params);
            assert_eq!(String::from_utf8(line).unwrap(), serde);
        }
    }

    #[test]
    fn a_failed_call_line_leaves_the_buffer_as_it_was() {
        let mut out = b"kept\n".to_vec();
        for scalar in [
            serde_json::json!(1),
            serde_json::json!("s"),
            serde_json::json!(true),
        ] {
            assert!(matches!(
                write_call(&mut out, Some(1), "m", &scalar),
                Err(PeerError::InvalidParams { .. })
            ));
        }
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        assert!(matches!(
            write_call(&mut out, None, "m", &map),
            Err(PeerError::Serialize(_))
        ));
        assert_eq!(out, b"kept\n");
    }

    #[test]
    fn builders() {
        let params = RawValue::from_string("[1, {\"x\":\n2}]".to_owned()).unwrap();
        assert_eq!(
            call_line(Some(3), "m", Some(&params)),
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"m\",\"params\":[1,{\"x\":2}]}\n"
        );
        assert_eq!(
            call_line(None, "n", None),
            "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n"
        );
        let mut line = Vec::new();
        write_response_raw(&mut line, &Id::Number(1), &params);
        assert_eq!(
            line,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,{\"x\":2}]}\n"
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
