//! The body of the protocol fuzz target `peer_lines` (`protocol/fuzz/`),
//! shared with a property test of the normal suite (`wasplug_tests::fuzz`).
//!
//! The input's first 4 bytes pick the limits, the pending requests and how
//! the rest is cut into chunks; the rest goes through a [`LineFramer`](wasplug_protocol::LineFramer) and
//! every line through a [`Peer`]: the path a plugin's stdout takes into the
//! host and the host's messages into a plugin. Each outcome is checked
//! against facts established without the crate's own code:
//!
//! - **Framing**: the lines (and UTF-8 errors) are those of a plain split of
//!   the whole stream at `\n`, without the overlong ones; a push reports
//!   `LineTooLong` exactly when a line grows past the limit in it; the framer
//!   holds no more than the unfinished line.
//! - **Parsing**: an event only for valid JSON nested no deeper than the limit
//!   (depth counted by a serde visitor), carrying the method, id, params,
//!   result or error the line holds; `NotJson` only for invalid JSON;
//!   `TooDeep` only for lines nested deeper than the limit; a response only
//!   for a pending request, which it settles.
//! - **Answers**: every error response, every answer to a parsed request and
//!   every request or notification rebuilt from a parsed one is a single
//!   JSON line that a peer parses back to the same thing (params unchanged
//!   byte for byte when they hold no line break).

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::{collections::BTreeSet, fmt};
use wasplug_protocol::{
    Event, FrameError, Id, Peer, PeerConfig, ProtocolError, RawValue, RequestId, codes,
};

/// Line limits to pick from: none, tiny, and the default.
const MAX_LINES: [usize; 7] = [0, 1, 16, 64, 256, 4096, PeerConfig::DEFAULT_MAX_LINE];
/// Depth limits to pick from, up to past `serde_json`'s recursion limit.
const MAX_DEPTHS: [usize; 8] = [0, 1, 2, 3, 8, 64, 127, 200];
/// Chunk sizes the stream is cut into (in turn, from a chosen start and step).
const CHUNKS: [usize; 7] = [1, 2, 3, 8, 61, 1024, usize::MAX];

/// Runs `data` through a framer and a peer and checks every outcome (see the
/// module docs).
///
/// # Panics
/// When the framer or the peer breaks an invariant, or panics itself.
pub(crate) fn peer_lines(data: &[u8]) {
    let (header, stream) = data.split_at(data.len().min(4));
    let mut header = header.iter().copied().chain(std::iter::repeat(0));
    let mut byte = move || usize::from(header.next().unwrap_or(0));
    let max_line = MAX_LINES[byte() % MAX_LINES.len()];
    let max_depth = MAX_DEPTHS[byte() % MAX_DEPTHS.len()];
    let pending = byte();
    let max_pending = 1 + pending % 8;
    let requests = (pending >> 3) % (max_pending + 1);
    let chunking = byte();
    let (mut at, step) = (
        chunking % CHUNKS.len(),
        (chunking / CHUNKS.len()) % CHUNKS.len(),
    );

    let config = PeerConfig::default()
        .with_max_line(max_line)
        .with_max_depth(max_depth)
        .with_max_pending(max_pending);
    let mut peer = CheckedPeer::new(config, requests);
    let mut framer = config.framer();
    let mut model = SplitLines::new(max_line);
    let mut rest = stream;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(CHUNKS[at].min(rest.len()));
        rest = tail;
        at = (at + step) % CHUNKS.len();

        let mut expected = Vec::new();
        let too_long = model.push(chunk, &mut expected);
        let pushed = framer.push(chunk);
        if too_long {
            assert_eq!(pushed, Err(FrameError::LineTooLong { limit: max_line }));
        } else {
            assert_eq!(pushed, Ok(()));
        }
        let framed: Vec<_> = std::iter::from_fn(|| framer.next_line()).collect();
        assert_eq!(framed, expected, "after a chunk of {}", chunk.len());
        assert_eq!(framer.pending_bytes(), model.pending());
        for line in framed.into_iter().flatten() {
            peer.handle(&line);
        }
    }
}

/// The framing rules written plainly: a line is kept whole until its `\n`.
struct SplitLines {
    max_line: usize,
    line: Vec<u8>,
}

impl SplitLines {
    fn new(max_line: usize) -> Self {
        Self {
            max_line,
            line: Vec::new(),
        }
    }

    /// Takes `chunk`, appending the lines it completes to `out`; returns
    /// whether a line grew past the limit in it.
    fn push(&mut self, chunk: &[u8], out: &mut Vec<Result<String, FrameError>>) -> bool {
        let mut too_long = false;
        for &b in chunk {
            if b != b'\n' {
                self.line.push(b);
                too_long |= self.line.len() == self.max_line + 1;
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if line.len() > self.max_line {
                continue;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            out.push(
                String::from_utf8(line.to_vec()).map_err(|e| FrameError::InvalidUtf8 {
                    valid_up_to: e.utf8_error().valid_up_to(),
                    len: line.len(),
                }),
            );
        }
        too_long
    }

    /// The bytes a framer may hold: those of the unfinished line, unless it
    /// is already too long.
    fn pending(&self) -> usize {
        if self.line.len() > self.max_line {
            0
        } else {
            self.line.len()
        }
    }
}

/// A peer, with the ids of its pending requests kept on the side.
struct CheckedPeer {
    peer: Peer,
    pending: BTreeSet<u64>,
}

impl CheckedPeer {
    /// A peer with `requests` (at most `config.max_pending`) requests sent.
    fn new(config: PeerConfig, requests: usize) -> Self {
        let mut checked = Self {
            peer: Peer::new(config),
            pending: BTreeSet::new(),
        };
        for _ in 0..requests {
            checked.send();
        }
        if requests == config.max_pending {
            let over = checked.peer.request_raw("over", None);
            assert!(over.is_err(), "request past max_pending: {over:?}");
        }
        checked
    }

    /// Sends one more request (when there is room).
    fn send(&mut self) {
        if self.pending.len() < self.peer.config().max_pending {
            let (id, _) = self
                .peer
                .request_raw("call", None)
                .expect("room for a request");
            assert!(self.pending.insert(id), "id {id} reused while pending");
        }
    }

    /// Handles one framed line and checks the outcome against the line.
    fn handle(&mut self, line: &str) {
        // Valid JSON by the grammar (no recursion limit, escapes not decoded).
        let valid = serde_json::from_str::<IgnoredAny>(line).is_ok();
        // The parsed line, when `serde_json` can hold it (it refuses lone
        // surrogates, numbers out of range and nesting past 128).
        let value = serde_json::from_str::<Value>(line).ok();
        let depth = serde_json::from_str::<Depth>(line).ok().map(|d| d.0);
        let outcome = self.peer.handle_line(line);
        let context = || format!("{line:?} -> {outcome:?}");
        match &outcome {
            Ok(event) => {
                assert!(valid, "an event from invalid JSON: {}", context());
                let max_depth = self.peer.config().max_depth;
                assert!(
                    depth.is_none_or(|d| d <= max_depth),
                    "an event from a line nested deeper than {max_depth}: {}",
                    context()
                );
                assert!(
                    value.as_ref().is_none_or(|v| fits(v, event)),
                    "an event that differs from its line: {}",
                    context()
                );
                self.event(event, line);
            }
            Err(error) => self.error(error, line, valid, value.as_ref(), depth),
        }
        assert_eq!(self.peer.pending(), self.pending.len(), "pending requests");
    }

    /// Checks an error against the line it came from, and its error response.
    fn error(
        &self,
        error: &ProtocolError,
        line: &str,
        valid: bool,
        value: Option<&Value>,
        depth: Option<usize>,
    ) {
        let context = || format!("{line:?} -> {error:?}");
        let mut answer_id = Id::Null;
        match error {
            ProtocolError::NotJson { .. } => {
                assert!(value.is_none(), "JSON reported as not JSON: {}", context());
            }
            ProtocolError::TooDeep { limit, .. } => {
                assert_eq!(*limit, self.peer.config().max_depth, "{}", context());
                assert!(
                    depth.is_none_or(|d| d > *limit),
                    "a line within the depth limit reported as too deep: {}",
                    context()
                );
            }
            ProtocolError::LineTooLong { .. } | ProtocolError::InvalidUtf8 { .. } => {
                panic!("a framing error for a framed line: {}", context())
            }
            ProtocolError::Batch { .. } => assert!(
                line.trim_start_matches([' ', '\t', '\r']).starts_with('['),
                "a batch error for a line that is not an array: {}",
                context()
            ),
            ProtocolError::InvalidMessage { id, .. } => {
                if let (Some(id), Some(value)) = (id, value) {
                    assert!(
                        value.get("method").is_some() && same_id(&value["id"], id),
                        "an invalid request's id that is not in its line: {}",
                        context()
                    );
                }
                answer_id = id.clone().unwrap_or(Id::Null);
            }
            ProtocolError::UnknownResponseId { .. } => {
                if let Some(value) = value {
                    let ours = value["id"]
                        .as_u64()
                        .is_some_and(|id| self.pending.contains(&id));
                    assert!(
                        value.get("method").is_none() && !ours,
                        "a response to a pending request refused: {}",
                        context()
                    );
                }
            }
            _ => {}
        }
        if !matches!(
            error,
            ProtocolError::NotJson { .. } | ProtocolError::TooDeep { .. }
        ) {
            assert!(valid, "invalid JSON not reported as such: {}", context());
        }
        match error.error_response() {
            Some(answer) => check_answer(&answer, &answer_id, error),
            None => assert!(
                matches!(error, ProtocolError::UnknownResponseId { .. }),
                "no error response: {}",
                context()
            ),
        }
    }

    /// Checks what the peer can build from `event`, and settles a response.
    fn event(&mut self, event: &Event, line: &str) {
        match event {
            Event::Request { id, method, params } => {
                let answer = self.peer.respond_ok(id, &[method]).expect("an answer");
                check_answer(&answer, id, line);
                let answer = self.peer.respond_err(id, &codes::method_not_found(method));
                check_answer(&answer, id, line);
                let (_, again) = roomy()
                    .request_raw(method, params.as_deref())
                    .expect("a request rebuilt");
                let back = roomy().handle_line(single_line(&again));
                assert!(
                    matches!(&back, Ok(Event::Request { method: m, params: p, .. })
                        if m == method && same_raw(p.as_deref(), params.as_deref())),
                    "{line:?} rebuilt as {again:?} -> {back:?}"
                );
            }
            Event::Notification { method, params } => {
                let again = roomy()
                    .notification_raw(method, params.as_deref())
                    .expect("a notification rebuilt");
                let back = roomy().handle_line(single_line(&again));
                assert!(
                    matches!(&back, Ok(Event::Notification { method: m, params: p })
                        if m == method && same_raw(p.as_deref(), params.as_deref())),
                    "{line:?} rebuilt as {again:?} -> {back:?}"
                );
            }
            Event::Response { id, .. } => {
                assert!(
                    self.pending.remove(id),
                    "a response to {id}, not pending: {line:?}"
                );
                assert!(
                    !self.peer.is_pending(*id),
                    "{id} still pending after its response"
                );
                // Keep requests pending, so that later lines can answer them.
                self.send();
            }
        }
    }
}

/// A peer without line or depth limits, to parse back what a peer built.
fn roomy() -> Peer {
    Peer::new(
        PeerConfig::default()
            .with_max_line(usize::MAX)
            .with_max_depth(usize::MAX),
    )
}

/// `line` as a single line: it ends with the only `\n` in it.
fn single_line(line: &str) -> &str {
    let Some(body) = line.strip_suffix('\n') else {
        panic!("a built line without its newline: {line:?}")
    };
    assert!(
        !body.contains('\n'),
        "a built line with a line break inside: {line:?}"
    );
    body
}

/// Checks an answer built for the request `id`: one line, valid JSON-RPC
/// with that id, which a peer without pending requests reads as a response
/// it did not ask for.
fn check_answer(answer: &str, id: &RequestId, cause: impl fmt::Debug) {
    let body = single_line(answer);
    let value: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("an answer that is not JSON ({e}): {answer:?} for {cause:?}"));
    assert_eq!(value["jsonrpc"], "2.0", "{answer:?}");
    assert!(
        same_id(&value["id"], id),
        "an answer with another id: {answer:?} for {cause:?}"
    );
    let back = roomy().handle_line(body);
    assert!(
        matches!(back, Err(ProtocolError::UnknownResponseId { .. })),
        "an answer a peer does not read as a response: {answer:?} -> {back:?}"
    );
}

/// Whether `event` says what the parsed line `value` says.
fn fits(value: &Value, event: &Event) -> bool {
    let two = value["jsonrpc"] == "2.0";
    let neither = value.get("result").is_none() && value.get("error").is_none();
    let call = event.method() == value["method"].as_str()
        && same_raw_value(value.get("params"), event.params());
    two && match event {
        Event::Request { id, .. } => call && neither && same_id(&value["id"], id),
        Event::Notification { .. } => call && neither && value.get("id").is_none(),
        Event::Response { id, result } => {
            value.get("method").is_none()
                && value["id"].as_u64() == Some(*id)
                && match result {
                    Ok(raw) => {
                        value.get("error").is_none()
                            && same_raw_value(value.get("result"), Some(raw))
                    }
                    Err(error) => {
                        let wire = &value["error"];
                        value.get("result").is_none()
                            && wire["code"].as_i64() == Some(i64::from(error.code()))
                            && wire["message"].as_str() == Some(error.message())
                            && same_raw_value(wire.get("data"), error.data())
                    }
                }
        }
    }
}

/// Whether a JSON id is the request id `id`.
fn same_id(value: &Value, id: &RequestId) -> bool {
    match id {
        Id::Number(n) => value.as_u64() == Some(*n),
        Id::Str(s) => value.as_str() == Some(s),
        Id::Null => value.is_null(),
    }
}

/// Whether a member of the parsed line and a raw value from the event agree
/// (both absent, or equal as JSON).
fn same_raw_value(value: Option<&Value>, raw: Option<&RawValue>) -> bool {
    match (value, raw) {
        (None, None) => true,
        (Some(value), Some(raw)) => {
            serde_json::from_str::<Value>(raw.get()).is_ok_and(|parsed| parsed == *value)
        }
        _ => false,
    }
}

/// Whether raw params came back unchanged: byte for byte, or (when the peer
/// had to remove a line break from them) equal as JSON.
fn same_raw(back: Option<&RawValue>, sent: Option<&RawValue>) -> bool {
    match (back, sent) {
        (None, None) => true,
        (Some(back), Some(sent)) if back.get() == sent.get() => true,
        (Some(back), Some(sent)) if sent.get().contains(['\r', '\n']) => {
            match (
                serde_json::from_str::<Value>(back.get()),
                serde_json::from_str::<Value>(sent.get()),
            ) {
                (Ok(back), Ok(sent)) => back == sent,
                // Not representable as a `Value` (a number out of range):
                // compare without whitespace outside strings.
                _ => squeeze(back.get()) == squeeze(sent.get()),
            }
        }
        _ => false,
    }
}

/// JSON text without the whitespace outside strings.
fn squeeze(json: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if matches!(c, ' ' | '\t' | '\r' | '\n') {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out
}

/// The nesting depth of a JSON text, counted over every member (duplicate
/// keys included) by a serde visitor, apart from the crate's byte scan.
struct Depth(usize);

impl<'de> Deserialize<'de> for Depth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DepthVisitor)
    }
}

struct DepthVisitor;

impl<'de> Visitor<'de> for DepthVisitor {
    type Value = Depth;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Depth, A::Error> {
        let mut deepest = 0;
        while let Some(Depth(depth)) = seq.next_element()? {
            deepest = deepest.max(depth);
        }
        Ok(Depth(deepest + 1))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Depth, A::Error> {
        let mut deepest = 0;
        while map.next_key::<IgnoredAny>()?.is_some() {
            let Depth(depth) = map.next_value()?;
            deepest = deepest.max(depth);
        }
        Ok(Depth(deepest + 1))
    }
}
