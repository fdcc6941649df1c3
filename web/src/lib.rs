//! wasplug inside a browser tab: the host kit compiled to
//! `wasm32-unknown-unknown`, with [`wasm-bindgen`] bindings for a page.
//!
//! The page's JavaScript loads a plugin from bytes, hands over the host
//! methods as plain JS functions, and calls the plugin's methods; every call
//! is a `Promise`. The plugin runs in fuel slices on the page's own thread and
//! yields to the event loop between them, so the page keeps painting while a
//! long call runs.
//!
//! ```js
//! import init, { WebPlugin } from "./pkg/wasplug_web.js";
//! await init();
//! const wasm = new Uint8Array(await (await fetch("test-plugin.wasm")).arrayBuffer());
//! const plugin = new WebPlugin(wasm, {
//!   name: "test-plugin",
//!   host: { echo: (params) => params },          // may also return a Promise
//!   onLog: (plugin, line) => console.log(plugin, line),
//!   timeoutMs: 30000,
//! });
//! const { count } = await plugin.call("prime_sieve", [100000]); // 9592
//! ```
//!
//! Natively this crate is empty: everything in it needs a browser.
//!
//! [`wasm-bindgen`]: https://docs.rs/wasm-bindgen
#![deny(missing_docs)]

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod plugin;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use plugin::WebPlugin;
