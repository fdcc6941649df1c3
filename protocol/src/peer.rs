//! The sans-IO JSON-RPC peer: builds outgoing lines, turns incoming lines into events.

use crate::config::PeerConfig;
use crate::error::{PeerError, ProtocolError, excerpt};
use crate::message::{self, Event, Incoming, RequestId};
use jsonrpsee_types::ErrorObjectOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeSet;

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
    pending: BTreeSet<u64>,
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
            pending: BTreeSet::new(),
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
        self.check_capacity()?;
        let params = serde_json::value::to_raw_value(params)?;
        self.request_raw(method, Some(&params))
    }

    /// Like [`request`](Self::request), with already-serialized params; `None` (or a raw
    /// `null`) leaves out the `"params"` member.
    pub fn request_raw(
        &mut self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<(u64, String), PeerError> {
        self.check_capacity()?;
        let params = outgoing_params(method, params)?;
        let id = self.next_id;
        let line = message::request_line(id, method, params)?;
        self.next_id = id.checked_add(1).unwrap_or(1);
        self.pending.insert(id);
        Ok((id, line))
    }

    /// Builds a notification line (with trailing `\n`).
    ///
    /// `params` must serialize to a JSON array or object; `null` (e.g. `&()`) means no params.
    pub fn notification<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<String, PeerError> {
        let params = serde_json::value::to_raw_value(params)?;
        self.notification_raw(method, Some(&params))
    }

    /// Like [`notification`](Self::notification), with already-serialized params; `None`
    /// (or a raw `null`) leaves out the `"params"` member.
    pub fn notification_raw(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<String, PeerError> {
        let params = outgoing_params(method, params)?;
        Ok(message::notification_line(method, params)?)
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
        message::response_raw_line(id, result)
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
        Ok(match message::parse(line, &self.config)? {
            Incoming::Request { id, method, params } => Event::Request {
                id,
                method,
                params: params.map(ToOwned::to_owned),
            },
            Incoming::Notification { method, params } => Event::Notification {
                method,
                params: params.map(ToOwned::to_owned),
            },
            Incoming::Response {
                id,
                id_text,
                result,
            } => match id {
                Some(id) if self.pending.remove(&id) => Event::Response {
                    id,
                    result: result.map(ToOwned::to_owned),
                },
                _ => {
                    return Err(ProtocolError::UnknownResponseId {
                        id: excerpt(id_text),
                        line: excerpt(line),
                    });
                }
            },
        })
    }

    /// How many of our requests await an answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether request `id` awaits an answer.
    pub fn is_pending(&self, id: u64) -> bool {
        self.pending.contains(&id)
    }

    /// Forgets a pending request (e.g. cancelled or timed out); a late answer to it will be
    /// [`ProtocolError::UnknownResponseId`]. Returns whether it was pending.
    pub fn cancel(&mut self, id: u64) -> bool {
        self.pending.remove(&id)
    }

    /// Forgets all pending requests, returning their ids in ascending order.
    pub fn cancel_all(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.pending).into_iter().collect()
    }

    fn check_capacity(&self) -> Result<(), PeerError> {
        if self.pending.len() >= self.config.max_pending {
            Err(PeerError::TooManyPending {
                limit: self.config.max_pending,
            })
        } else {
            Ok(())
        }
    }
}

/// Params as they go out: arrays and objects as they are, `null` as absent.
fn outgoing_params<'p>(
    method: &str,
    params: Option<&'p RawValue>,
) -> Result<Option<&'p RawValue>, PeerError> {
    let Some(params) = params else {
        return Ok(None);
    };
    match message::kind(params) {
        "an array" | "an object" => Ok(Some(params)),
        "null" => Ok(None),
        found => Err(PeerError::InvalidParams {
            method: method.to_owned(),
            found,
        }),
    }
}
