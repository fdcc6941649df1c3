//! The wasplug wire protocol: JSON-RPC 2.0, one message per `\n`-terminated line, in both
//! directions over a plugin's stdin/stdout. Sans-IO: this crate turns bytes into lines, lines
//! into [`Event`]s, and builds the lines to send; moving them is up to the caller.
//!
//! It is shared by the host kit and the plugin kit, so it stays small: no I/O, no async, no
//! hashing.
//!
//! # Quick start
//!
//! A host-side and a plugin-side [`Peer`] talking to each other in memory:
//!
//! ```
//! use wasplug_protocol::{Event, LineFramer, Peer, PeerConfig, codes};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut host = Peer::new(PeerConfig::default());
//! let mut plugin = Peer::new(PeerConfig::default());
//! // What the plugin reads from stdin arrives in arbitrary chunks: frame it into lines.
//! let mut plugin_stdin = LineFramer::new(plugin.config().max_line);
//!
//! // The host calls `greet` and announces something.
//! let (call_id, line) = host.request("greet", &["world"])?;
//! plugin_stdin.push(line.as_bytes())?;
//! plugin_stdin.push(host.notification("log", &serde_json::json!({"level": "info"}))?.as_bytes())?;
//!
//! // The plugin handles what it reads and answers the request.
//! let mut to_host = Vec::new();
//! while let Some(line) = plugin_stdin.next_line() {
//!     match plugin.handle_line(&line?) {
//!         Ok(Event::Request { id, method, params }) if method == "greet" => {
//!             let params = params.map(|p| p.get().to_owned()).unwrap_or_default();
//!             let (name,): (String,) = serde_json::from_str(&params)?;
//!             to_host.push(plugin.respond_ok(&id, &format!("hello, {name}"))?);
//!         }
//!         Ok(Event::Request { id, method, .. }) => {
//!             to_host.push(plugin.respond_err(&id, &codes::method_not_found(&method)));
//!         }
//!         Ok(Event::Notification { method, .. }) => assert_eq!(method, "log"),
//!         Ok(Event::Response { .. }) => unreachable!("the plugin sent no request"),
//!         // A well-behaved peer answers a bad line with an error response.
//!         Err(e) => to_host.extend(e.error_response()),
//!     }
//! }
//!
//! // The host gets its answer.
//! for line in &to_host {
//!     match host.handle_line(line.trim_end())? {
//!         Event::Response { id, result } => {
//!             assert_eq!(id, call_id);
//!             assert_eq!(result?.get(), r#""hello, world""#);
//!         }
//!         other => unreachable!("{other:?}"),
//!     }
//! }
//! assert_eq!(host.pending(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Protocol
//!
//! * Every message is one JSON-RPC 2.0 object on one line; `"jsonrpc"` must be `"2.0"`.
//!   Batches (array lines) are rejected with `-32600` "batches are not supported".
//! * A message with `"method"` and `"id"` is a request (id: string or non-negative integer),
//!   with `"method"` and no `"id"` a notification; `"params"`, when present, is an array or an
//!   object. A message with exactly one of `"result"`/`"error"` and an `"id"` is a response;
//!   responses to a peer carry the numeric ids it allocated. Unknown members are ignored.
//! * Limits ([`PeerConfig`]): line length, JSON nesting depth (checked before parsing), and
//!   number of pending outgoing requests.
//! * A plugin records its [`Manifest`] (name, version, protocol version, methods, the host
//!   methods it calls) as JSON in the [`MANIFEST_SECTION`] wasm custom section, and the
//!   protocol version alone in the older [`VERSION_SECTION`]; it describes its methods
//!   (params and result as JSON Schema) in the answer to [`DISCOVER_METHOD`] ([`Discover`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod codes;
mod config;
mod discover;
mod error;
mod frame;
mod manifest;
mod message;
mod params;
mod peer;
mod rpc_error;
mod scan;
mod version;

pub use config::PeerConfig;
pub use discover::{
    COMPONENTS_SCHEMAS_REF, Components, ContentDescriptor, DISCOVER_METHOD, Discover, DiscoverInfo,
    DiscoverMethod, OPENRPC_VERSION, ParamStructure,
};
pub use error::{
    EXCERPT_LEN, FrameError, ManifestError, PeerError, ProtocolError, VersionError, excerpt,
};
pub use frame::LineFramer;
pub use manifest::{MANIFEST_SECTION, MAX_MANIFEST_LEN, Manifest};
pub use message::{Event, RequestId};
pub use peer::Peer;
pub use rpc_error::RpcError;
pub use version::{
    PROTOCOL_VERSION, VERSION_SECTION, VERSION_SECTION_BYTES, check_compatible,
    decode_version_section, encode_version_section,
};

pub use codes::{
    INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, error,
    error_raw,
};
pub use jsonrpsee_types::{ErrorCode, ErrorObject, ErrorObjectOwned, Id, TwoPointZero};
pub use params::parse_params;
pub use serde_json::value::RawValue;

/// The JSON-RPC types this crate builds on, for anything not re-exported above.
pub use jsonrpsee_types;
