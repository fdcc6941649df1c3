//! The wasplug plugin kit: write a plugin in Rust, build it for
//! `wasm32-wasip1`, and any wasplug host can call it.
//!
//! A plugin is an ordinary `fn main` program. It registers typed async
//! handlers and calls [`Plugin::run`], which speaks JSON-RPC 2.0 with the host
//! over stdin/stdout (stderr is the plugin's log: plain `eprintln!`). Handlers
//! may call the host with [`host::call`] — several at once with
//! `futures::join!` — and send notifications with [`host::notify`].
//!
//! [`init!`] runs work once per loaded plugin instead of once per call
//! (warm starts).
//!
//! [`manifest!`] records the plugin's manifest (name, version, protocol
//! version, description, methods, and the host methods it calls) in the
//! module, where a host reads it before running anything. `rpc.discover` is
//! answered for you: the plugin's name, version and methods, and for each
//! method registered with [`Plugin::method_doc`], its description and its
//! params and result as JSON Schema, derived from the handler's types by
//! [`schemars`](https://docs.rs/schemars) (the default `schema` feature).
//!
//! The kit ships inside every plugin, so it is small: no async runtime, no
//! logger, no set-up at start. While the plugin has nothing to do it blocks
//! reading stdin, and the host keeps it suspended there.
//!
//! # Quick start
//! ```no_run
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use wasplug_pdk::{Doc, Error, Plugin, RawValue, host, manifest};
//!
//! /// Whom to greet.
//! #[derive(Deserialize, JsonSchema)]
//! struct Greet {
//!     /// Their name.
//!     name: String,
//! }
//!
//! fn plugin() -> Plugin {
//!     // Name and version default to the crate's.
//!     let manifest = manifest! {
//!         description: "Greets people, doubles numbers",
//!         methods: ["ping", "greet", "double", "echo"],
//!         capabilities: ["greeting"], // the host methods it calls
//!     };
//!     Plugin::from_manifest(manifest)
//!         .method_doc("ping", "Answers \"pong\"", |()| async { Ok("pong") })
//!         .method_doc("greet", "Greets someone", |p: Greet| async move {
//!             // Ask the host for something, then answer.
//!             let greeting: String = host::call("greeting", &()).await?;
//!             Ok(format!("{greeting}, {}!", p.name))
//!         })
//!         .method_doc(
//!             "double",
//!             Doc::new("Doubles a number given as text").params(&["text"]),
//!             |text: String| async move {
//!                 // `?` on any std error answers -32603 with its message...
//!                 let n: i64 = text.parse()?;
//!                 // ...and `Error::new` chooses the code.
//!                 n.checked_mul(2).ok_or_else(|| Error::new(-32001, "too large to double"))
//!             },
//!         )
//!         // `Box<RawValue>` takes the params verbatim: every number exact.
//!         // `method` registers a handler without documenting it.
//!         .method("echo", |params: Box<RawValue>| async move { Ok(params) })
//! }
//!
//! fn main() {
//!     plugin().run();
//! }
//!
//! #[test]
//! fn every_method_is_in_the_manifest() {
//!     assert_eq!(plugin().check_manifest(), Ok(()));
//! }
//! ```
//! Build it with `cargo build --release --target wasm32-wasip1` and call it:
//! `wasplug call target/wasm32-wasip1/release/greeter.wasm greet '{"name":"Ada"}'`;
//! `wasplug methods` shows what each method takes and answers.
//!
//! # A small, fast build
//! Every call starts a fresh instance, so what an instance starts with is
//! paid on every call: the initial memory (mostly the stack) is zeroed, the
//! data segments are copied. Rust's defaults give a 1 MiB stack (17 pages of
//! initial memory). In the plugin's `Cargo.toml`:
//! ```toml
//! [profile.release]
//! opt-level = 2        # inlined hot paths: a host round trip costs ~15% less
//!                      # than at "s", for ~30% more code ("s": smallest fast build)
//! lto = true
//! codegen-units = 1
//! panic = "abort"      # a panic traps; the host reports it with stderr
//! strip = true
//! ```
//! and a `build.rs` that gives the binary a 64 KiB stack (the test plugin's;
//! ample for the kit, whose peer refuses JSON nested deeper than 64 levels
//! before parsing it; give more to a plugin that recurses deeply itself):
//! ```rust,ignore
//! // build.rs
//! fn main() {
//!     let target = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
//!     if target == "wasm" {
//!         println!("cargo::rustc-link-arg-bins=-zstack-size=65536");
//!     }
//! }
//! ```
//! The stack comes first in memory, so an overflow traps (an access below
//! address 0) rather than overwriting data. The test plugin built this way is
//! ~340 KB (~260 KB at `opt-level = "s"`) and starts with 2 pages of memory;
//! with Rust's default stack the same plugin starts with 960 KiB more memory
//! to zero on every call.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod host;
pub mod init;
mod manifest;
mod runtime;
#[cfg(feature = "schema")]
mod schema;

pub use manifest::StaticManifest;
#[cfg(feature = "schema")]
pub use schema::Doc;
/// The `schemars` the kit derives schemas with (`schema` feature).
#[cfg(feature = "schema")]
pub use schemars;

pub use serde_json::{Value, json, value::RawValue};
/// The JSON-RPC error a handler answers with, and a failed host call returns:
/// code, message and raw `data`. `?` converts any `std::error::Error` into
/// one (`-32603` with its text); [`Error::new`] chooses the code.
pub use wasplug_protocol::RpcError as Error;
pub use wasplug_protocol::{DISCOVER_METHOD, Discover, Manifest, PROTOCOL_VERSION};

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

/// A method: its handler and, when documented, how to describe it.
struct Method {
    handler: Handler,
    #[cfg(feature = "schema")]
    doc: Option<schema::MethodDoc>,
}
type Notifier = Box<dyn Fn(Option<Box<RawValue>>) -> runtime::Task>;

/// Named handlers. A plugin has a handful, and starts afresh for every call:
/// a vector with `&'static str` names costs less to build than a map.
struct Named<H> {
    entries: Vec<(Cow<'static, str>, H)>,
}

impl<H> Named<H> {
    fn new() -> Self {
        Self::with_capacity(0)
    }

    /// Room for `n` handlers: registering them moves none.
    fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
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

/// A plugin: its name, version, manifest, and handlers.
pub struct Plugin {
    name: String,
    version: String,
    manifest: Option<&'static StaticManifest>,
    methods: Named<Method>,
    notifications: Named<Notifier>,
    /// Set by the first [`Plugin::method_doc`], so that a plugin that
    /// documents nothing carries no schema code.
    #[cfg(feature = "schema")]
    describe: Option<schema::DescribeAll>,
}

impl core::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("manifest", &self.manifest)
            .field("methods", &self.methods.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// A plugin with no methods yet and no manifest ([`Plugin::from_manifest`]
    /// is the better start: the host reads a manifest before running anything).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            manifest: None,
            methods: Named::new(),
            notifications: Named::new(),
            #[cfg(feature = "schema")]
            describe: None,
        }
    }

    /// A plugin with no methods yet, named, versioned and described by the
    /// manifest [`manifest!`] recorded, so that `rpc.discover` and the
    /// manifest agree.
    pub fn from_manifest(manifest: &'static StaticManifest) -> Self {
        Self {
            manifest: Some(manifest),
            methods: Named::with_capacity(manifest.methods.len()),
            ..Self::new(manifest.name, manifest.version)
        }
    }

    /// Checks that the methods registered are those the manifest lists
    /// (`rpc.discover` aside): call it from a unit test of the plugin.
    /// `rpc.discover` also writes the mismatch to stderr, as a warning.
    ///
    /// # Errors
    /// [`ManifestMismatch::NoManifest`] for a plugin made with
    /// [`Plugin::new`]; [`ManifestMismatch::Methods`] naming the methods
    /// registered but not listed, and listed but not registered.
    pub fn check_manifest(&self) -> Result<(), ManifestMismatch> {
        let manifest = self.manifest.ok_or(ManifestMismatch::NoManifest)?;
        let unlisted: Vec<String> = self
            .methods
            .names()
            .filter(|name| !manifest.methods.contains(name))
            .map(str::to_owned)
            .collect();
        let unregistered: Vec<String> = manifest
            .methods
            .iter()
            .filter(|name| self.methods.get(name).is_none())
            .map(|name| (*name).to_owned())
            .collect();
        if unlisted.is_empty() && unregistered.is_empty() {
            Ok(())
        } else {
            Err(ManifestMismatch::Methods {
                unlisted,
                unregistered,
            })
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
        self.methods.insert(
            name.into(),
            Method {
                handler: erase(handler),
                #[cfg(feature = "schema")]
                doc: None,
            },
        );
        self
    }

    /// Adds method `name` as [`Plugin::method`] does, documented: `rpc.discover`
    /// lists its description (and param names, [`Doc::params`]), and its
    /// params and result as JSON Schema derived from `P` and `R`.
    ///
    /// A struct's fields are its params by name, a tuple's elements by
    /// position, any other type is one param by position (`[x]`); `()` is
    /// none. Doc comments on the types and their fields become the schemas'
    /// descriptions. The schemas are built only when `rpc.discover` is
    /// called.
    #[cfg(feature = "schema")]
    pub fn method_doc<P, R, F, Fut>(
        mut self,
        name: impl Into<Cow<'static, str>>,
        doc: impl Into<Doc>,
        handler: F,
    ) -> Self
    where
        P: DeserializeOwned + schemars::JsonSchema + 'static,
        R: Serialize + schemars::JsonSchema + 'static,
        F: Fn(P) -> Fut + 'static,
        Fut: Future<Output = Result<R, Error>> + 'static,
    {
        self.methods.insert(
            name.into(),
            Method {
                handler: erase(handler),
                doc: Some(schema::MethodDoc::new::<P, R>(doc.into())),
            },
        );
        self.describe = Some(schema::describe);
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

    /// The `rpc.discover` answer: name, version, description, methods, and
    /// what [`Plugin::method_doc`] documented.
    pub fn discover(&self) -> Discover {
        let mut doc = Discover::new(
            self.name.clone(),
            self.version.clone(),
            self.methods.names().chain([DISCOVER_METHOD]),
        );
        doc.info.description = self.manifest.and_then(|m| m.description).map(str::to_owned);
        #[cfg(feature = "schema")]
        if let Some(describe) = self.describe {
            let docs: Vec<_> = self
                .methods
                .entries
                .iter()
                .map(|(_, m)| m.doc.as_ref())
                .collect();
            describe(&mut doc, &docs);
        }
        doc
    }

    /// Serves the host until it closes stdin.
    pub fn run(self) {
        runtime::run(|line| {
            // Borrowed from the line: only what is kept is copied. (Answers
            // on the peer's fast path were settled before.)
            let event = runtime::with(|c| c.peer.handle_line_borrowed(line));
            match event {
                Ok(Event::Request { id, method, params }) => {
                    if method == DISCOVER_METHOD {
                        #[cfg(debug_assertions)]
                        if let Err(mismatch @ ManifestMismatch::Methods { .. }) =
                            self.check_manifest()
                        {
                            #[allow(clippy::print_stderr)] // stderr is the plugin's log
                            {
                                eprintln!("wasplug-pdk: warning: {mismatch}");
                            }
                        }
                        let reply =
                            serde_json::value::to_raw_value(&self.discover()).map_err(Error::from);
                        return Some(answer(id, Box::pin(async move { reply })));
                    }
                    let reply: runtime::HandlerFuture = match self.methods.get(&method) {
                        Some(entry) => (entry.handler)(params.map(ToOwned::to_owned)),
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
                    .map(|handler| handler(params.map(ToOwned::to_owned))),
                Ok(Event::Response { id, result }) => {
                    runtime::with(|c| c.reply(id, result.map(RawValue::get)));
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

/// Type-erases a handler: deserializes the params into `P` (failing with
/// `-32602`), runs it, serializes its result.
fn erase<P, R, F, Fut>(handler: F) -> Handler
where
    P: DeserializeOwned + 'static,
    R: Serialize + 'static,
    F: Fn(P) -> Fut + 'static,
    Fut: Future<Output = Result<R, Error>> + 'static,
{
    Box::new(
        move |params: Option<Box<RawValue>>| -> runtime::HandlerFuture {
            match parse_params::<P>(params.as_deref()) {
                Ok(params) => {
                    let reply = handler(params);
                    Box::pin(async move { Ok(serde_json::value::to_raw_value(&reply.await?)?) })
                }
                Err(error) => Box::pin(std::future::ready(Err(error))),
            }
        },
    )
}

/// How a plugin's registered methods differ from its manifest
/// ([`Plugin::check_manifest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestMismatch {
    /// The plugin was made with [`Plugin::new`], without a manifest.
    NoManifest,
    /// The lists differ.
    Methods {
        /// Registered, but missing from the manifest.
        unlisted: Vec<String>,
        /// Listed in the manifest, but not registered.
        unregistered: Vec<String>,
    },
}

impl core::fmt::Display for ManifestMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoManifest => f.write_str("the plugin has no manifest (use `manifest!`)"),
            Self::Methods {
                unlisted,
                unregistered,
            } => {
                f.write_str("the manifest's methods differ from the registered ones:")?;
                if !unlisted.is_empty() {
                    write!(f, " not in the manifest: {}", unlisted.join(", "))?;
                }
                if !unlisted.is_empty() && !unregistered.is_empty() {
                    f.write_str(";")?;
                }
                if !unregistered.is_empty() {
                    write!(f, " not registered: {}", unregistered.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ManifestMismatch {}

/// A task that runs a handler and queues its answer.
fn answer(id: RequestId, reply: runtime::HandlerFuture) -> runtime::Task {
    Box::pin(async move {
        let result = reply.await;
        runtime::with(|c| match result {
            Ok(value) => c.peer.respond_raw_to(&mut c.out, &id, &value),
            Err(error) => {
                let line = c.peer.respond_err(&id, &ErrorObjectOwned::from(error));
                c.out.extend_from_slice(line.as_bytes());
            }
        });
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

    #[test]
    fn a_manifest_names_the_plugin_and_lists_its_methods() {
        let manifest = manifest! {
            description: "d",
            methods: ["ping", "pong"],
        };
        let plugin = Plugin::from_manifest(manifest).method("ping", |()| async { Ok(1) });
        assert_eq!(plugin.name, env!("CARGO_PKG_NAME"));
        assert_eq!(plugin.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(plugin.discover().info.description.as_deref(), Some("d"));
        assert_eq!(
            plugin.check_manifest(),
            Err(ManifestMismatch::Methods {
                unlisted: vec![],
                unregistered: vec!["pong".into()]
            })
        );
        let plugin = plugin
            .method("pong", |()| async { Ok(2) })
            .method("extra", |()| async { Ok(3) });
        let mismatch = plugin.check_manifest().unwrap_err();
        assert_eq!(
            mismatch,
            ManifestMismatch::Methods {
                unlisted: vec!["extra".into()],
                unregistered: vec![]
            }
        );
        assert_eq!(
            mismatch.to_string(),
            "the manifest's methods differ from the registered ones: not in the manifest: extra"
        );
        assert_eq!(
            Plugin::from_manifest(manifest)
                .method("pong", |()| async { Ok(2) })
                .method("ping", |()| async { Ok(1) })
                .check_manifest(),
            Ok(())
        );
        assert_eq!(
            Plugin::new("p", "1").check_manifest(),
            Err(ManifestMismatch::NoManifest)
        );
    }

    #[cfg(feature = "schema")]
    #[test]
    fn discover_describes_documented_methods_only() {
        let plugin = Plugin::new("p", "1")
            .method("plain", |()| async { Ok(1) })
            .method_doc(
                "sleep",
                Doc::new("Sleeps").params(&["ms"]),
                |ms: u64| async move { Ok(ms) },
            )
            // Registering again replaces the doc too.
            .method_doc("twice", "first", |()| async { Ok(1) })
            .method("twice", |()| async { Ok(2) });
        let doc = plugin.discover();
        let plain = doc.method("plain").unwrap();
        assert_eq!(
            (plain.description.as_ref(), plain.result.as_ref()),
            (None, None)
        );
        assert_eq!(doc.method("twice").unwrap().description, None);
        let sleep = doc.method("sleep").unwrap();
        assert_eq!(sleep.description.as_deref(), Some("Sleeps"));
        assert_eq!(sleep.params[0].name, "ms");
        assert_eq!(sleep.params[0].schema["type"], "integer");
        assert_eq!(sleep.result.as_ref().unwrap().schema["type"], "integer");
        // Through JSON, as the host gets it.
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Discover>(&json).unwrap(), doc);
    }
}
