//! The sans-IO JSON-RPC peer: builds outgoing lines, turns incoming lines into events.

use crate::config::PeerConfig;
use crate::error::{PeerError, ProtocolError, excerpt};
use crate::message::{self, Event, Incoming, RequestId};
use jsonrpsee_types::ErrorObjectOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::VecDeque;

/// One end of a JSON-RPC 2.0 connection, without I/O.
///
/// Both sides of a wasplug connection use one: each can send requests and notifications and
/// answer the other's requests. A `Peer` allocates the ids of its outgoing requests
/// (`1`, `2`, …) and tracks which are still awaiting an answer.
///
/// Outgoing messages are returned as lines ending in `\n`; write them out as they are.
/// Incoming lines (as produced by a [`LineFramer`](crate::LineFramer)) go to
/// [`handle_line`](Self::handle_line).
#[derive(Debug, Clone)]
pub struct Peer {
    config: PeerConfig,
    next_id: u64,
    pending: Pending,
}

/// The ids of our requests awaiting an answer, in ascending order.
///
/// Ids are allocated in increasing order, so a new one goes at the back, and
/// answers mostly come in the order of the requests, so the one settled is
/// mostly at the front: a deque does both in constant time, and finds an id
/// by binary search, without the allocations and rebalancing of a tree
/// (which made up a tenth of a round trip inside an interpreted plugin).
#[derive(Debug, Clone, Default)]
struct Pending(VecDeque<u64>);

impl Pending {
    // Inlined: inside an interpreted plugin a call costs more than these
    // bodies (~400 instructions a round trip).
    #[inline(always)]
    fn insert(&mut self, id: u64) {
        match self.0.back() {
            Some(&last) if last >= id => {
                // After the ids wrapped around: keep the order.
                if let Err(at) = self.0.binary_search(&id) {
                    self.0.insert(at, id);
                }
            }
            _ => self.0.push_back(id),
        }
    }

    #[inline(always)]
    fn remove(&mut self, id: u64) -> bool {
        if self.0.front() == Some(&id) {
            self.0.pop_front();
            return true;
        }
        match self.0.binary_search(&id) {
            Ok(at) => self.0.remove(at).is_some(),
            Err(_) => false,
        }
    }

    fn contains(&self, id: u64) -> bool {
        self.0.binary_search(&id).is_ok()
    }
}

impl Default for Peer {
    fn default() -> Self {
        Self::new(PeerConfig::default())
    }
}

impl Peer {
    /// A peer with the given limits and no pending requests.
    pub fn new(config: PeerConfig) -> Self {
        Self {
            config,
            next_id: 1,
            pending: Pending::default(),
        }
    }

    /// The limits this peer enforces.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// Builds a request line (with trailing `\n`) and registers its id as pending.
    ///
    /// `params` must serialize to a JSON array or object; `null` (e.g. `&()`) means no params.
    ///
    /// # Errors
    /// [`PeerError::TooManyPending`] when `max_pending` requests are already pending,
    /// [`PeerError::Serialize`] or [`PeerError::InvalidParams`] for unsuitable params.
    pub fn request<P: Serialize + ?Sized>(
        &mut self,
        method: &str,
        params: &P,
    ) -> Result<(u64, String), PeerError> {
        let mut line = Vec::new();
        let id = self.request_to(&mut line, method, params)?;
        Ok((id, message::into_line(line)?))
    }

    /// Like [`request`](Self::request), appending the line to `out` (which is left as it
    /// was on error): the params are serialized straight into it.
    ///
    /// # Errors
    /// As [`request`](Self::request).
    pub fn request_to<P: Serialize + ?Sized>(
        &mut self,
        out: &mut Vec<u8>,
        method: &str,
        params: &P,
    ) -> Result<u64, PeerError> {
        self.check_capacity()?;
        let id = self.next_id;
        message::write_call(out, Some(id), method, params)?;
        self.next_id = id.checked_add(1).unwrap_or(1);
        self.pending.insert(id);
        Ok(id)
    }

    /// Like [`request`](Self::request), with already-serialized params; `None` (or a raw
    /// `null`) leaves out the `"params"` member.
    pub fn request_raw(
        &mut self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<(u64, String), PeerError> {
        self.request(method, &params)
    }

    /// Builds a notification line (with trailing `\n`).
    ///
    /// `params` must serialize to a JSON array or object; `null` (e.g. `&()`) means no params.
    pub fn notification<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<String, PeerError> {
        let mut line = Vec::new();
        self.notification_to(&mut line, method, params)?;
        message::into_line(line)
    }

    /// Like [`notification`](Self::notification), appending the line to `out` (which is
    /// left as it was on error).
    ///
    /// # Errors
    /// [`PeerError::Serialize`] or [`PeerError::InvalidParams`] for unsuitable params.
    pub fn notification_to<P: Serialize + ?Sized>(
        &self,
        out: &mut Vec<u8>,
        method: &str,
        params: &P,
    ) -> Result<(), PeerError> {
        message::write_call(out, None, method, params)
    }

    /// Like [`notification`](Self::notification), with already-serialized params; `None`
    /// (or a raw `null`) leaves out the `"params"` member.
    pub fn notification_raw(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<String, PeerError> {
        self.notification(method, &params)
    }

    /// Builds the success response line (with trailing `\n`) to the request `id`.
    pub fn respond_ok<R: Serialize + ?Sized>(
        &self,
        id: &RequestId,
        result: &R,
    ) -> Result<String, PeerError> {
        Ok(message::response_ok_line(id, result)?)
    }

    /// Builds the success response line to the request `id`, with an already-serialized result.
    pub fn respond_raw(&self, id: &RequestId, result: &RawValue) -> String {
        let mut line = Vec::new();
        self.respond_raw_to(&mut line, id, result);
        message::into_line(line).unwrap_or_else(|_| message::FALLBACK_LINE.to_owned())
    }

    /// Like [`respond_raw`](Self::respond_raw), appending the line to `out`.
    pub fn respond_raw_to(&self, out: &mut Vec<u8>, id: &RequestId, result: &RawValue) {
        message::write_response_raw(out, id, result);
    }

    /// Builds the error response line to the request `id`.
    pub fn respond_err(&self, id: &RequestId, error: &ErrorObjectOwned) -> String {
        message::response_err_line(id, error)
    }

    /// Turns one incoming line (without its `\n`) into an [`Event`].
    ///
    /// The line is checked against `max_line`, then against `max_depth` by a byte scan
    /// *before* any JSON parsing, then parsed strictly (see [`ProtocolError`]). Params and
    /// results are kept as raw JSON, not parsed into values.
    ///
    /// A response settles its pending request; a response to an id that is not pending is
    /// [`ProtocolError::UnknownResponseId`]. On error, send
    /// [`ProtocolError::error_response`] back if it is `Some`.
    pub fn handle_line(&mut self, line: &str) -> Result<Event, ProtocolError> {
        self.handle_line_borrowed(line).map(Event::into_owned)
    }

    /// Like [`handle_line`](Self::handle_line), with the params or result still borrowed
    /// from the line: nothing is copied, so a caller that keeps only part of it (a plugin
    /// kit deserializing a result) allocates nothing for the rest.
    ///
    /// # Errors
    /// As [`handle_line`](Self::handle_line).
    pub fn handle_line_borrowed<'a>(
        &mut self,
        line: &'a str,
    ) -> Result<Event<&'a RawValue>, ProtocolError> {
        Ok(match message::parse(line, &self.config)? {
            Incoming::Request { id, method, params } => Event::Request { id, method, params },
            Incoming::Notification { method, params } => Event::Notification { method, params },
            Incoming::Response {
                id,
                id_text,
                result,
            } => match id {
                Some(id) if self.pending.remove(id) => Event::Response { id, result },
                _ => {
                    return Err(ProtocolError::UnknownResponseId {
                        id: excerpt(id_text),
                        line: excerpt(line),
                    });
                }
            },
        })
    }

    /// The fast path of [`handle_line_borrowed`](Self::handle_line_borrowed) for the line a
    /// plugin kit reads most: a success response to one of our pending requests, as this
    /// crate's builders write it (members in their order, no whitespace between them). Returns
    /// the id and the result's JSON text (checked to be one valid JSON value, within the
    /// limits) and settles the request, as the event [`Event::Response`] would.
    ///
    /// The line goes in as read (without its `\n`), before any check that it is UTF-8: an
    /// answer is ASCII but for its result, which alone is checked.
    ///
    /// `None` for any other line, and whenever the answer is not certain: the line is then
    /// untouched and the peer unchanged, for [`handle_line_borrowed`](Self::handle_line_borrowed)
    /// to decide, with the same outcome as ever.
    pub fn handle_answer<'a>(&mut self, line: &'a [u8]) -> Option<(u64, &'a str)> {
        let (id, result) = message::canonical_answer(line, &self.config)?;
        self.pending.remove(id).then_some((id, result))
    }

    /// How many of our requests await an answer.
    pub fn pending(&self) -> usize {
        self.pending.0.len()
    }

    /// Whether request `id` awaits an answer.
    pub fn is_pending(&self, id: u64) -> bool {
        self.pending.contains(id)
    }

    /// Forgets a pending request (e.g. cancelled or timed out); a late answer to it will be
    /// [`ProtocolError::UnknownResponseId`]. Returns whether it was pending.
    pub fn cancel(&mut self, id: u64) -> bool {
        self.pending.remove(id)
    }

    /// Forgets all pending requests, returning their ids in ascending order.
    pub fn cancel_all(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.pending.0).into()
    }

    fn check_capacity(&self) -> Result<(), PeerError> {
        if self.pending.0.len() >= self.config.max_pending {
            Err(PeerError::TooManyPending {
                limit: self.config.max_pending,
            })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use jsonrpsee_types::Id;
    use serde_json::{Value, json};

    fn pair() -> (Peer, Peer) {
        (Peer::default(), Peer::default())
    }

    fn line(s: &str) -> &str {
        s.strip_suffix('\n').unwrap()
    }

    fn invalid_reason(peer: &mut Peer, l: &str) -> (String, Option<RequestId>) {
        match peer.handle_line(l) {
            Err(ProtocolError::InvalidMessage { reason, id, .. }) => (reason, id),
            other => panic!("{l}: expected InvalidMessage, got {other:?}"),
        }
    }

    #[test]
    fn request_response_roundtrip() {
        let (mut host, mut plugin) = pair();
        let (id, req) = host.request("add", &[1, 2]).unwrap();
        assert_eq!(id, 1);
        assert_eq!(
            req,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,2]}\n"
        );
        assert_eq!(host.pending(), 1);
        assert!(host.is_pending(1));
        let Event::Request {
            id: rid,
            method,
            params,
        } = plugin.handle_line(line(&req)).unwrap()
        else {
            panic!()
        };
        assert_eq!((rid.clone(), method.as_str()), (Id::Number(1), "add"));
        assert_eq!(params.unwrap().get(), "[1,2]");
        let resp = plugin.respond_ok(&rid, &3).unwrap();
        let Event::Response { id: got, result } = host.handle_line(line(&resp)).unwrap() else {
            panic!()
        };
        assert_eq!(got, id);
        assert_eq!(result.unwrap().get(), "3");
        assert_eq!(host.pending(), 0);
        // A second answer to the same id is unknown.
        assert!(matches!(
            host.handle_line(line(&resp)),
            Err(ProtocolError::UnknownResponseId { ref id, .. }) if id == "1"
        ));
    }

    #[test]
    fn ids_increase() {
        let mut p = Peer::default();
        let ids: Vec<u64> = (0..5)
            .map(|_| p.request_raw("m", None).unwrap().0)
            .collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        let (_, l) = p.request_raw("m", None).unwrap();
        assert_eq!(l, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"m\"}\n");
    }

    #[test]
    fn borrowed_events_point_into_the_line_and_match_the_owned_ones() {
        let (mut host, mut plugin) = pair();
        let (id, req) = host.request("add", &[1, 2]).unwrap();
        let req = line(&req);
        let span = req.as_bytes().as_ptr_range();
        let borrowed = plugin.handle_line_borrowed(req).unwrap();
        let params = borrowed.params().unwrap();
        assert!(span.contains(&params.get().as_ptr()));
        assert_eq!(params.get(), "[1,2]");
        let Event::Request { id: rid, .. } = borrowed.clone().into_owned() else {
            panic!()
        };
        let resp = plugin.respond_ok(&rid, &[3]).unwrap();
        let Event::Response { id: got, result } = host.handle_line_borrowed(line(&resp)).unwrap()
        else {
            panic!()
        };
        assert_eq!((got, result.unwrap().get()), (id, "[3]"));
        // Settled like an owned answer: a second one is unknown.
        assert!(matches!(
            host.handle_line_borrowed(line(&resp)),
            Err(ProtocolError::UnknownResponseId { .. })
        ));
    }

    #[test]
    fn answers_on_the_fast_path_settle_their_request() {
        let (mut host, mut plugin) = pair();
        let (id, req) = plugin.request("echo", &[5]).unwrap();
        let Event::Request { id: rid, .. } = host.handle_line(line(&req)).unwrap() else {
            panic!()
        };
        let resp = host.respond_ok(&rid, &[5]).unwrap();
        assert_eq!(
            plugin.handle_answer(line(&resp).as_bytes()),
            Some((id, "[5]"))
        );
        assert!(!plugin.is_pending(id));
        // Not pending any more: left to the strict path, which refuses it.
        assert_eq!(plugin.handle_answer(line(&resp).as_bytes()), None);
        assert!(matches!(
            plugin.handle_line(line(&resp)),
            Err(ProtocolError::UnknownResponseId { .. })
        ));
        // Other lines are left alone, the peer unchanged.
        let (id, _) = plugin.request("echo", &[6]).unwrap();
        let error = host.respond_err(&rid, &codes::error(-32000, "no", None));
        assert_eq!(plugin.handle_answer(line(&error).as_bytes()), None);
        let broken = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":[6,]}}");
        assert_eq!(plugin.handle_answer(broken.as_bytes()), None);
        assert!(plugin.is_pending(id));
    }

    #[test]
    fn notification_roundtrip() {
        let (host, mut plugin) = pair();
        let n = host.notification("log", &json!({"msg": "hi"})).unwrap();
        let ev = plugin.handle_line(line(&n)).unwrap();
        assert_eq!(ev.method(), Some("log"));
        assert_eq!(ev.params().unwrap().get(), r#"{"msg":"hi"}"#);
        assert!(matches!(ev, Event::Notification { .. }));
        // `()` / null means no params.
        let n = host.notification("tick", &()).unwrap();
        assert_eq!(n, "{\"jsonrpc\":\"2.0\",\"method\":\"tick\"}\n");
        let Event::Notification { params, .. } = plugin.handle_line(line(&n)).unwrap() else {
            panic!()
        };
        assert!(params.is_none());
        assert_eq!(
            host.notification_raw("x", None).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n"
        );
    }

    #[test]
    fn scalar_params_are_refused_on_send() {
        let (mut host, _) = pair();
        assert!(matches!(
            host.request("m", &5),
            Err(PeerError::InvalidParams {
                found: "a number",
                ..
            })
        ));
        assert!(matches!(
            host.notification("m", "s"),
            Err(PeerError::InvalidParams {
                found: "a string",
                ..
            })
        ));
        assert_eq!(host.pending(), 0);
        let (id, l) = host.request("m", &()).unwrap();
        assert_eq!(
            l,
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"m\"}}\n")
        );
    }

    #[test]
    fn unserializable_params() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1);
        let (mut host, plugin) = pair();
        assert!(matches!(
            host.request("m", &map),
            Err(PeerError::Serialize(_))
        ));
        assert!(matches!(
            plugin.respond_ok(&Id::Number(1), &map),
            Err(PeerError::Serialize(_))
        ));
    }

    #[test]
    fn error_object_with_data_roundtrips_exactly() {
        let (mut host, mut plugin) = pair();
        let (id, req) = host.request("boom", &json!({})).unwrap();
        let Event::Request { id: rid, .. } = plugin.handle_line(line(&req)).unwrap() else {
            panic!()
        };
        let data = json!({"where": ["a", 1, null, 2.5], "deep": {"x": true}});
        let sent = codes::error(-32001, "it broke \"badly\"", Some(data.clone()));
        let resp = plugin.respond_err(&rid, &sent);
        let Event::Response { id: got, result } = host.handle_line(line(&resp)).unwrap() else {
            panic!()
        };
        assert_eq!(got, id);
        let err = result.unwrap_err();
        assert_eq!(err, sent);
        assert_eq!(err.code(), -32001);
        assert_eq!(err.message(), "it broke \"badly\"");
        assert_eq!(
            serde_json::from_str::<Value>(err.data().unwrap().get()).unwrap(),
            data
        );
    }

    #[test]
    fn error_data_null_and_extra_members_kept() {
        let mut host = Peer::default();
        let (id, _) = host.request_raw("m", None).unwrap();
        let l = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":1,"message":"m","data":null,"extra":1}}}}"#
        );
        let Event::Response { result, .. } = host.handle_line(&l).unwrap() else {
            panic!()
        };
        assert_eq!(result.unwrap_err().data().unwrap().get(), "null");
    }

    #[test]
    fn null_result_is_a_result() {
        let mut host = Peer::default();
        let (id, _) = host.request_raw("m", None).unwrap();
        let l = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":null}}"#);
        let Event::Response { result, .. } = host.handle_line(&l).unwrap() else {
            panic!()
        };
        assert_eq!(result.unwrap().get(), "null");
    }

    #[test]
    fn string_ids() {
        let mut plugin = Peer::default();
        let ev = plugin
            .handle_line(r#"{"jsonrpc":"2.0","id":"abc-\"1\"","method":"ping"}"#)
            .unwrap();
        let Event::Request { id, params, .. } = ev else {
            panic!()
        };
        assert_eq!(id, Id::Str("abc-\"1\"".into()));
        assert!(params.is_none());
        let ok = plugin.respond_raw(&id, &RawValue::from_string("\"pong\"".into()).unwrap());
        assert_eq!(
            ok,
            "{\"jsonrpc\":\"2.0\",\"id\":\"abc-\\\"1\\\"\",\"result\":\"pong\"}\n"
        );
        let err = plugin.respond_err(&id, &codes::error(1, "x", None));
        let v: Value = serde_json::from_str(&err).unwrap();
        assert_eq!(v["id"], "abc-\"1\"");
        // A string id in a response to us is never one we allocated.
        let mut host = Peer::default();
        host.request_raw("m", None).unwrap();
        assert_eq!(
            host.handle_line(r#"{"jsonrpc":"2.0","id":"1","result":1}"#)
                .unwrap_err(),
            ProtocolError::UnknownResponseId {
                id: "\"1\"".into(),
                line: r#"{"jsonrpc":"2.0","id":"1","result":1}"#.into()
            }
        );
        assert_eq!(host.pending(), 1);
    }

    #[test]
    fn pending_limit() {
        let mut p = Peer::new(PeerConfig::default().with_max_pending(2));
        let (a, _) = p.request_raw("m", None).unwrap();
        p.request("m", &[0]).unwrap();
        assert!(matches!(
            p.request_raw("m", None),
            Err(PeerError::TooManyPending { limit: 2 })
        ));
        assert!(matches!(
            p.request("m", &[0]),
            Err(PeerError::TooManyPending { limit: 2 })
        ));
        assert!(p.cancel(a));
        let (c, _) = p.request_raw("m", None).unwrap();
        assert_eq!(c, 3);
        assert_eq!(p.cancel_all(), vec![2, 3]);
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn pending_ids_stay_in_order_whatever_the_order_of_answers() {
        let mut pending = Pending::default();
        for id in [3, 5, 9, 1, u64::MAX, 4, 5] {
            pending.insert(id);
        }
        assert_eq!(Vec::from(pending.0.clone()), [1, 3, 4, 5, 9, u64::MAX]);
        assert!(pending.remove(5) && !pending.remove(5) && !pending.remove(2));
        assert!(pending.remove(1) && pending.remove(u64::MAX));
        assert!(pending.contains(9) && !pending.contains(1));
        assert_eq!(Vec::from(pending.0), [3, 4, 9]);
    }

    #[test]
    fn cancel_and_unknown_id() {
        let mut p = Peer::default();
        let (id, _) = p.request_raw("m", None).unwrap();
        assert!(p.cancel(id));
        assert!(!p.cancel(id));
        assert!(!p.cancel(99));
        let late = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":true}}"#);
        let err = p.handle_line(&late).unwrap_err();
        assert!(matches!(err, ProtocolError::UnknownResponseId { ref id, .. } if id == "1"));
        assert!(err.error_response().is_none());
        assert!(err.to_string().contains("not a pending request"));
        for id in ["7", "-1", "1.5", "null"] {
            let l = format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":1,"message":"m"}}}}"#);
            assert!(
                matches!(p.handle_line(&l), Err(ProtocolError::UnknownResponseId { id: ref got, .. }) if got == id),
                "{id}"
            );
        }
    }

    #[test]
    fn line_too_long() {
        let mut p = Peer::new(PeerConfig::default().with_max_line(10));
        assert_eq!(
            p.handle_line(r#"{"jsonrpc":"2.0","method":"x"}"#)
                .unwrap_err(),
            ProtocolError::LineTooLong { limit: 10 }
        );
    }

    #[test]
    fn not_json() {
        let mut p = Peer::default();
        for l in [
            "{",
            "{\"a\":}",
            "nope",
            "",
            "{} {}",
            "[1,",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,",
        ] {
            let err = p.handle_line(l).unwrap_err();
            assert!(matches!(err, ProtocolError::NotJson { .. }), "{l}: {err:?}");
            let resp: Value = serde_json::from_str(&err.error_response().unwrap()).unwrap();
            assert_eq!(resp["error"]["code"], -32700);
            assert_eq!(resp["id"], Value::Null);
        }
    }

    #[test]
    fn too_deep() {
        let mut p = Peer::new(PeerConfig::default().with_max_depth(4));
        let ok = r#"{"jsonrpc":"2.0","method":"m","params":[[["x"]]]}"#;
        assert!(p.handle_line(ok).is_ok());
        let deep = r#"{"jsonrpc":"2.0","method":"m","params":[[[["x"]]]]}"#;
        let err = p.handle_line(deep).unwrap_err();
        assert!(matches!(err, ProtocolError::TooDeep { limit: 4, .. }));
        let resp: Value = serde_json::from_str(&err.error_response().unwrap()).unwrap();
        assert_eq!(resp["error"]["code"], -32700);
        // Brackets inside strings do not count.
        assert!(
            p.handle_line(r#"{"jsonrpc":"2.0","method":"[[[[[[[[{{{{{{"}"#)
                .is_ok()
        );
    }

    #[test]
    fn batches() {
        let mut p = Peer::default();
        for l in ["[]", r#"[{"jsonrpc":"2.0","method":"m"}]"#, " [1]"] {
            let err = p.handle_line(l).unwrap_err();
            assert!(matches!(err, ProtocolError::Batch { .. }), "{l}");
            let resp: Value = serde_json::from_str(&err.error_response().unwrap()).unwrap();
            assert_eq!(resp["error"]["code"], -32600);
            assert_eq!(resp["error"]["message"], "batches are not supported");
        }
    }

    #[test]
    fn invalid_messages() {
        let mut p = Peer::default();
        let cases: &[(&str, &str, Option<RequestId>)] = &[
            ("5", "expected a JSON object", None),
            (r#""str""#, "expected a JSON object", None),
            (
                r#"{"id":1,"method":"m"}"#,
                "missing \"jsonrpc\"",
                Some(Id::Number(1)),
            ),
            (
                r#"{"jsonrpc":"1.0","id":"a","method":"m"}"#,
                "must be \"2.0\"",
                Some(Id::Str("a".into())),
            ),
            (r#"{"jsonrpc":2,"method":"m"}"#, "must be \"2.0\"", None),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
                "\"method\" must be a string",
                Some(Id::Number(1)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#,
                "\"params\" must be an array or object",
                Some(Id::Number(1)),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"m","params":null}"#,
                "\"params\" must be an array or object",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
                "not null",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":-1,"method":"m"}"#,
                "non-negative integer",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
                "non-negative integer",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":[1],"method":"m"}"#,
                "non-negative integer",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"m","result":1}"#,
                "must not have \"result\"",
                Some(Id::Number(1)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#,
                "both",
                None,
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, "no \"method\"", None),
            (
                r#"{"jsonrpc":"2.0","result":1}"#,
                "must have an \"id\"",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":{},"result":1}"#,
                "must be a number, a string or null",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}"#,
                "invalid \"error\" object",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}}"#,
                "invalid \"error\" object",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":1}}"#,
                "invalid \"error\" object",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":2}}"#,
                "invalid \"error\" object",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":"x"}"#,
                "invalid \"error\" object",
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","jsonrpc":"2.0","method":"m"}"#,
                "duplicate field",
                None,
            ),
        ];
        for (l, reason, id) in cases {
            let (got, got_id) = invalid_reason(&mut p, l);
            assert!(got.contains(reason), "{l}: {got}");
            assert_eq!(&got_id, id, "{l}");
            let err = p.handle_line(l).unwrap_err();
            let resp: Value = serde_json::from_str(&err.error_response().unwrap()).unwrap();
            assert_eq!(resp["error"]["code"], -32600, "{l}");
            let want_id = id
                .as_ref()
                .map_or(Value::Null, |id| serde_json::to_value(id).unwrap());
            assert_eq!(resp["id"], want_id, "{l}");
        }
    }

    #[test]
    fn unknown_members_are_ignored() {
        let mut p = Peer::default();
        let ev = p
            .handle_line(
                r#" {"x":[1,{"y":2}],"jsonrpc":"2.0","method":"m","params":{},"id":7,"z":null} "#,
            )
            .unwrap();
        assert!(matches!(
            ev,
            Event::Request {
                id: Id::Number(7),
                ..
            }
        ));
        let ev = p
            .handle_line(r#"{"jsonrpc":"2\u002e0","method":"\u006d"}"#)
            .unwrap();
        assert_eq!(ev.method(), Some("m"));
    }

    #[test]
    fn pretty_raw_values_stay_on_one_line() {
        let (mut host, mut plugin) = pair();
        let pretty =
            RawValue::from_string("{\n  \"a\": [1,\r\n 2],\n  \"s\": \"x y\"\n}".into()).unwrap();
        let (_, l) = host.request_raw("m", Some(&pretty)).unwrap();
        assert_eq!(l.matches('\n').count(), 1);
        let Event::Request { id, params, .. } = plugin.handle_line(line(&l)).unwrap() else {
            panic!()
        };
        assert_eq!(params.unwrap().get(), r#"{"a":[1,2],"s":"x y"}"#);
        let r = plugin.respond_raw(&id, &pretty);
        assert_eq!(r.matches('\n').count(), 1);
        assert!(host.handle_line(line(&r)).is_ok());
    }

    #[test]
    fn invalid_utf8_via_framer() {
        let mut f = LineFramer::new(100);
        f.push(b"\xc3\x28\n").unwrap();
        let err = ProtocolError::from(f.next_line().unwrap().unwrap_err());
        assert_eq!(
            err,
            ProtocolError::InvalidUtf8 {
                valid_up_to: 0,
                len: 2
            }
        );
        let resp: Value = serde_json::from_str(&err.error_response().unwrap()).unwrap();
        assert_eq!(resp["error"]["code"], -32700);
    }

    use crate::LineFramer;
}
