//! wasplug inside a browser tab: the host kit compiled to
//! `wasm32-unknown-unknown`, with [`wasm-bindgen`] bindings that `build.sh`
//! turns into the npm package `wasplug` (`web/pkg`: ES module, wasm and
//! TypeScript declarations).
//!
//! The page's JavaScript loads a plugin from bytes, hands over the host
//! methods as plain or async JS functions, and calls the plugin's methods;
//! every call is a `Promise`, and an `AbortSignal` cancels it. The plugin
//! runs in fuel slices on the page's own thread and yields to the event
//! loop between them, so the page keeps painting while a long call runs.
//!
//! ```js
//! import init, { WebPlugin } from "wasplug";
//! await init();
//! const wasm = new Uint8Array(await (await fetch("test-plugin.wasm")).arrayBuffer());
//! const plugin = new WebPlugin(wasm, {
//!   name: "test-plugin",
//!   host: { echo: (params) => params },          // may also return a Promise
//!   onLog: (plugin, line) => console.log(plugin, line),
//!   timeoutMs: 30000,
//! });
//! const controller = new AbortController();      // controller.abort() cancels
//! const { count } = await plugin.call("prime_sieve", [100000], { signal: controller.signal });
//! ```
//!
//! Natively this crate is empty: everything in it needs a browser.
//!
//! [`wasm-bindgen`]: https://docs.rs/wasm-bindgen
#![deny(missing_docs)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod abort;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod options;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod plugin;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use plugin::{CallOptions, WebPlugin, WebPluginOptions};
