//! Shared code of the wasplug integration tests (the tests themselves are in
//! `tests/tests/`).
//!
//! - [`guests`]: the `.wasm` guest programs `build.rs` compiled (Rust always;
//!   C and Go when their toolchains are installed).
//! - [`host`]: the test plugin and WAT fixtures through `wasplug-hdk`, and
//!   running a test body under every executor.
//! - [`wasi`]: runs a `wasm32-wasip1` program to completion under
//!   `wasplug-wasi`, doing what each suspension asks, and reports what the
//!   guest wrote and how often it waited.
//! - [`fuzz`]: the bodies of the host kit's fuzz targets, shared with the
//!   property tests.
//! - [`optional_guest`]: what a test does with a C or Go guest whose toolchain
//!   is missing (skip locally, fail on CI).

pub mod fuzz;
pub mod host;
pub mod wasi;

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;

/// Paths of the guest programs built by `build.rs` for `wasm32-wasip1`.
///
/// One `&str` constant per Rust guest package (`tests/guests/rust/*` and
/// `test-plugin`), named after it (`wasi-probe` → [`guests::WASI_PROBE`]),
/// and one `Option<&str>` per C guest (`C_<file stem>`) and Go guest
/// (`GO_<module directory>`), `None` when the toolchain was not found.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}

/// The script that installs the C and Go guest toolchains, relative to the
/// workspace root.
pub const INSTALL_SCRIPT: &str = ".ci/install-guest-toolchains";

/// Decides what a test does with a guest that may not have been built.
///
/// Returns the path when `wasm` is `Some`. When it is `None` (no toolchain):
/// on CI (`CI=true`) the test fails, naming [`INSTALL_SCRIPT`]; elsewhere it
/// prints a skip note and the caller returns early.
///
/// # Panics
/// When `wasm` is `None` and the environment variable `CI` is `true`.
///
/// ```no_run
/// let Some(wasm) = wasplug_tests::optional_guest(wasplug_tests::guests::C_ECHO, "c/echo") else {
///     return; // skipped: no C toolchain here
/// };
/// # let _ = wasm;
/// ```
pub fn optional_guest(wasm: Option<&'static str>, name: &str) -> Option<&'static str> {
    if wasm.is_some() {
        return wasm;
    }
    let on_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    assert!(
        !on_ci,
        "guest {name} was not built: its toolchain is missing on CI; \
         run `{INSTALL_SCRIPT}` before `cargo test`"
    );
    #[allow(clippy::print_stderr, reason = "a skip note is the point")]
    {
        eprintln!(
            "skipped: guest {name} was not built (no toolchain); run `{INSTALL_SCRIPT}` to test it"
        );
    }
    None
}
