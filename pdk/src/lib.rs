//! The wasplug plugin kit: write a plugin in Rust, build it for
//! `wasm32-wasip1`, and any wasplug host can call it.
//!
//! A plugin is an ordinary `fn main` program. It registers typed async
//! handlers and calls [`Plugin::run`], which speaks JSON-RPC 2.0 with the host
//! over stdin/stdout (stderr is the plugin's log: plain `eprintln!`). Handlers
//! may call the host with [`host::call`] — several at once with
//! `futures::join!` — and send notifications with [`host::notify`].
//! `rpc.discover` is answered for you with the plugin's name, version and
//! methods.
//!
//! The kit ships inside every plugin, so it is small: no async runtime, no
//! logger, no set-up at start. While the plugin has nothing to do it blocks
//! reading stdin, and the host keeps it suspended there.
//!
//! # Quick start
//! ```no_run
//! use serde::Deserialize;
//! use wasplug_pdk::{Error, Plugin, RawValue, host};
//!
//! #[derive(Deserialize)]
//! struct Greet { name: String }
//!
//! fn main() {
//!     Plugin::new("greeter", env!("CARGO_PKG_VERSION"))
//!         .method("ping", |()| async { Ok("pong") })
//!         .method("greet", |p: Greet| async move {
//!             // Ask the host for something, then answer.
//!             let greeting: String = host::call("greeting", &()).await?;
//!             Ok(format!("{greeting}, {}!", p.name))
//!         })
//!         .method("double", |text: String| async move {
//!             // `?` on any std error answers -32603 with its message...
//!             let n: i64 = text.parse()?;
//!             // ...and `Error::new` chooses the code.
//!             n.checked_mul(2).ok_or_else(|| Error::new(-32001, "too large to double"))
//!         })
//!         // `Box<RawValue>` takes the params verbatim: every number exact.
//!         .method("echo", |params: Box<RawValue>| async move { Ok(params) })
//!         .run();
//! }
//! ```
//! Build it with `cargo build --release --target wasm32-wasip1` and call it:
//! `wasplug call target/wasm32-wasip1/release/greeter.wasm greet '{"name":"Ada"}'`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod host;
mod runtime;

pub use serde_json::{Value, json, value::RawValue};
/// The JSON-RPC error a handler answers with, and a failed host call returns:
/// code, message and raw `data`. `?` converts any `std::error::Error` into
/// one (`-32603` with its text); [`Error::new`] chooses the code.
pub use wasplug_protocol::RpcError as Error;
pub use wasplug_protocol::{DISCOVER_METHOD, Discover, PROTOCOL_VERSION};

use serde::{Serialize, de::DeserializeOwned};
use std::{borrow::Cow, future::Future};
use wasplug_protocol::{ErrorObjectOwned, Event, RequestId};

/// The protocol version this plugin was built for, in the custom section the
/// host reads before it runs any guest code.
// `link_section` must be spelled `unsafe(...)` since edition 2024; it only
// places these bytes in a custom section of the module.
#[cfg(target_family = "wasm")]
#[allow(unsafe_code)]
#[used]
#[unsafe(link_section = "wasplug_protocol")]
static PROTOCOL_VERSION_SECTION: [u8; 1] = wasplug_protocol::VERSION_SECTION_BYTES;

type Handler = Box<dyn Fn(Option<Box<RawValue>>) -> runtime::HandlerFuture>;
type Notifier = Box<dyn Fn(Option<Box<RawValue>>) -> runtime::Task>;

/// Named handlers. A plugin has a handful, and starts afresh for every call:
/// a vector with `&'static str` names costs less to build than a map.
struct Named<H> {
    entries: Vec<(Cow<'static, str>, H)>,
}

impl<H> Named<H> {
    fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Adds or replaces `name`.
    fn insert(&mut self, name: Cow<'static, str>, handler: H) {
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = handler,
            None => self.entries.push((name, handler)),
        }
    }

    fn get(&self, name: &str) -> Option<&H> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, h)| h)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_ref())
    }
}

/// Deserializes params as every wasplug peer does ([`wasplug_protocol::parse_params`]).
fn parse_params<P: DeserializeOwned>(params: Option<&RawValue>) -> Result<P, Error> {
    wasplug_protocol::parse_params(params)
}

/// A plugin: its name, version, and handlers.
pub struct Plugin {
    name: String,
    version: String,
    methods: Named<Handler>,
    notifications: Named<Notifier>,
}

impl core::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("methods", &self.methods.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// A plugin with no methods yet.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            methods: Named::new(),
            notifications: Named::new(),
        }
    }

    /// Adds method `name`. Its params deserialize into `P` (`()` for none;
    /// a one-element array also deserializes into its element); a failure
    /// answers `-32602` without calling the handler. The handler's `Ok`
    /// serializes to the result, its `Err` becomes the JSON-RPC error (`?`
    /// converts any `std::error::Error`, answering `-32603` with its text).
    ///
    /// A `serde_json::Value` holds integers of up to 64 bits and `f64`; to
    /// receive or answer any JSON number exactly, use [`RawValue`]
    /// (`Box<RawValue>` params arrive verbatim, and are sent back verbatim).
    pub fn method<P, R, F, Fut>(mut self, name: impl Into<Cow<'static, str>>, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        R: Serialize + 'static,
        F: Fn(P) -> Fut + 'static,
        Fut: Future<Output = Result<R, Error>> + 'static,
    {
        let erased = move |params: Option<Box<RawValue>>| -> runtime::HandlerFuture {
            match parse_params::<P>(params.as_deref()) {
                Ok(params) => {
                    let reply = handler(params);
                    Box::pin(async move { Ok(serde_json::value::to_raw_value(&reply.await?)?) })
                }
                Err(error) => Box::pin(std::future::ready(Err(error))),
            }
        };
        self.methods.insert(name.into(), Box::new(erased));
        self
    }

    /// Adds a handler for the host's notification `name`.
    pub fn notification<P, F, Fut>(mut self, name: impl Into<Cow<'static, str>>, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        F: Fn(P) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let erased = move |params: Option<Box<RawValue>>| -> runtime::Task {
            match parse_params::<P>(params.as_deref()) {
                Ok(params) => Box::pin(handler(params)),
                Err(_) => Box::pin(std::future::ready(())),
            }
        };
        self.notifications.insert(name.into(), Box::new(erased));
        self
    }

    /// The `rpc.discover` answer: name, version, methods.
    pub fn discover(&self) -> Discover {
        Discover::new(
            self.name.clone(),
            self.version.clone(),
            self.methods
                .names()
                .chain([DISCOVER_METHOD])
                .map(str::to_owned),
        )
    }

    /// Serves the host until it closes stdin.
    pub fn run(self) {
        runtime::run(|line| {
            let event = runtime::with(|c| c.peer.handle_line(line));
            match event {
                Ok(Event::Request { id, method, params }) => {
                    if method == DISCOVER_METHOD {
                        let reply =
                            serde_json::value::to_raw_value(&self.discover()).map_err(Error::from);
                        return Some(answer(id, Box::pin(async move { reply })));
                    }
                    let reply: runtime::HandlerFuture = match self.methods.get(&method) {
                        Some(handler) => handler(params),
                        None => {
                            let error = Error::method_not_found(&method);
                            Box::pin(async move { Err(error) })
                        }
                    };
                    Some(answer(id, reply))
                }
                Ok(Event::Notification { method, params }) => self
                    .notifications
                    .get(&method)
                    .map(|handler| handler(params)),
                Ok(Event::Response { id, result }) => {
                    runtime::with(|c| c.reply(id, result));
                    None
                }
                Err(error) => {
                    if let Some(line) = error.error_response() {
                        runtime::send(&line);
                    }
                    None
                }
            }
        });
    }
}

/// A task that runs a handler and queues its answer.
fn answer(id: RequestId, reply: runtime::HandlerFuture) -> runtime::Task {
    Box::pin(async move {
        let result = reply.await;
        let line = runtime::with(|c| match result {
            Ok(value) => c.peer.respond_raw(&id, &value),
            Err(error) => c.peer.respond_err(&id, &ErrorObjectOwned::from(error)),
        });
        runtime::send(&line);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_accept_a_single_element_array() {
        let raw = RawValue::from_string("[7]".into()).unwrap();
        assert_eq!(parse_params::<u32>(Some(&raw)).ok(), Some(7));
        assert_eq!(parse_params::<()>(None).ok(), Some(()));
        let bad = RawValue::from_string("[\"x\"]".into()).unwrap();
        assert_eq!(
            parse_params::<u32>(Some(&bad)).map_err(|e| e.code()).err(),
            Some(-32602)
        );
    }

    #[test]
    fn discover_lists_methods_and_itself() {
        let plugin = Plugin::new("p", "1.2.3").method("ping", |()| async { Ok(1) });
        let doc = plugin.discover();
        assert_eq!(doc.info.title, "p");
        assert_eq!(doc.info.version, "1.2.3");
        assert!(doc.has_method("ping"));
        assert!(doc.has_method(DISCOVER_METHOD));
    }
}
