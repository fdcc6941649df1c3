//! Warm starts: work a plugin does once, when the host loads it, instead
//! of at the start of every call.
//!
//! [`init!`](crate::init!) exports the plugin's init (`wasplug_init`). A host
//! that knows warm starts runs it once per loaded plugin, captures the
//! plugin's memory after it, and starts every call from that image; an
//! older host never runs it, and the plugin does the work on each call as
//! before. Build what the init prepares in [`std::sync::LazyLock`] statics
//! and force them in the init: the handlers read them the same way with or
//! without a warm start.
//!
//! ```no_run
//! use std::sync::LazyLock;
//! use wasplug_pdk::{Plugin, manifest};
//!
//! /// Squares, built once.
//! static SQUARES: LazyLock<Vec<u64>> = LazyLock::new(|| (0..1 << 16).map(|i| i * i).collect());
//!
//! wasplug_pdk::init!(|| {
//!     LazyLock::force(&SQUARES);
//! });
//!
//! fn main() {
//!     Plugin::from_manifest(manifest! { methods: ["square"] })
//!         .method("square", |i: usize| async move { Ok(SQUARES.get(i).copied()) })
//!         .run();
//! }
//! ```
//!
//! Every call still starts from the same image: what a call writes to a
//! static is gone at the next call. During the init, stdin is empty and
//! stdout must stay unwritten (the host refuses the plugin otherwise);
//! stderr goes to the host's log. Clocks and randomness work, but run once:
//! a seed drawn in the init is the same in every call. The init must not
//! use `std::thread::current` (the standard library's `main` sets it up
//! afterwards, and aborts if it was already), nor spawn or sleep.

/// Exports the plugin's init, a `fn()` (or a closure capturing nothing)
/// that the host runs once when it loads the plugin: see the
/// [module docs](mod@crate::init).
///
/// A plugin has at most one: a second `init!` does not link.
#[macro_export]
macro_rules! init {
    ($init:expr $(,)?) => {
        /// The plugin's init: the host runs it once, when it loads the
        /// plugin, and starts every call from the memory it leaves.
        // `no_mangle` must be spelled `unsafe(...)` since edition 2024; it
        // only exports this function from the module under its own name.
        #[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
        #[allow(dead_code)]
        pub extern "C" fn wasplug_init() {
            let init: fn() = $init;
            init();
        }
    };
}
