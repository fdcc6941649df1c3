//! The wasplug host kit: run untrusted `wasm32-wasip1` plugins in the
//! [`wasmi`] interpreter and talk JSON-RPC 2.0 with them — natively, on iOS
//! (no JIT) and inside a browser tab.
//!
//! - A [`Plugin`] is a compiled module plus its [`Limits`],
//!   [`HostMethods`] and [`Grants`] (which host methods it may call; by
//!   default none); cheap to clone, shared by every call.
//! - Built-in capabilities an embedder may grant: `http.fetch`
//!   ([`HttpPolicy`]) and a key-value store ([`KvStore`]); every plugin reads
//!   its own configuration with `config.get` ([`PluginBuilder::config`]).
//! - [`Plugin::call`] returns a future; all plugin work happens inside its
//!   `poll`, on whatever executor polls it (`futures::executor::block_on`,
//!   tokio, `wasm-bindgen-futures`). Each call gets a fresh instance. The guest
//!   runs in fuel slices and yields between them, so one thread runs many
//!   plugins; a guest waiting for input or sleeping is suspended, never
//!   spinning. Dropping the future cancels the call.
//! - Breaking a limit, trapping, or breaking the protocol ends only that call,
//!   with an [`Error`] that names the plugin and the method, says what failed
//!   ([`ErrorKind`]) and carries the plugin's last stderr lines.
//! - Host methods answer `Result<T, RpcError>`: `?` converts any std error.
//! - Numbers are never changed on the way: [`Plugin::call_raw`] returns the
//!   plugin's JSON verbatim, and [`Plugin::call`] refuses
//!   ([`ErrorKind::InexactNumber`]) a result it would have to round.
//! - Each plugin has a [`Manifest`] ([`Plugin::manifest`]): name, version,
//!   protocol version, methods and the host methods it asks for, read before
//!   any of its code runs (from its custom section, or a sidecar file beside
//!   it, or made up from its name).
//! - Without a `tracing` subscriber, the plugin's stderr lines go to the
//!   process's stderr as `[name] line` ([`PluginBuilder::logger`]).
//!
//! # Quick start
//! ```
//! # futures::executor::block_on(async {
//! use serde_json::{Value, json};
//! use wasplug_hdk::{Grants, HostContext, HostMethods, Limits, Plugin};
//!
//! // A tiny plugin in WAT that answers every call with `42`.
//! let wat = r#"(module
//!   (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
//!   (memory (export "memory") 1)
//!   (data (i32.const 16) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":42}\n")
//!   (func (export "_start")
//!     (i32.store (i32.const 0) (i32.const 16))
//!     (i32.store (i32.const 4) (i32.const 37))
//!     (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
//!
//! let host = HostMethods::new(()).method("echo", |_: HostContext<()>, params: Value| async move {
//!     Ok(params)
//! });
//! let plugin = Plugin::builder(wat)
//!     .name("answer")
//!     .limits(Limits::default().with_fuel(Some(1_000_000)))
//!     .host_methods(host)
//!     .grants(Grants::methods(["echo"]))
//!     .build()?;
//! let result: u32 = plugin.call_typed("anything", &json!([1, 2])).await?;
//! assert_eq!(result, 42);
//! # Ok::<(), wasplug_hdk::Error>(())
//! # }).unwrap();
//! ```
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

mod call;
mod capabilities;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod conformance;
mod error;
mod exact;
mod grants;
mod host;
mod limits;
mod log;
mod manifest;
mod platform;
mod plugin;
mod registry;
pub mod text;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod watch;

pub use call::{CallOptions, CallReport};
pub use capabilities::{HttpPolicy, InvalidHost, KvLimits, KvStore};
pub use error::{Error, ErrorKind};
pub use grants::Grants;
pub use host::{HostContext, HostMethods};
pub use limits::Limits;
pub use manifest::{ManifestSource, read_manifest};
pub use platform::{MaybeSend, MaybeSync};
pub use plugin::{Engine, Logger, Plugin, PluginBuilder, read_plugin_file};
pub use registry::{Registry, RegistryEvent};
pub use wasplug_protocol as protocol;
pub use wasplug_protocol::{Manifest, ManifestError, RawValue, RpcError};
pub use wasplug_wasi::{InitFailure, InitReport};
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use watch::{DirWatch, PluginDir, WatchError};
