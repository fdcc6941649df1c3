//! Guest programs built from Rust, C and Go for `wasm32-wasip1`, run under
//! `wasplug-wasi` with the resumable-call loop of `wasplug_tests::wasi`.
//!
//! - `probe`: the Rust std guest `wasi-probe`, one WASI behaviour per test.
//! - `c_echo`, `go_echo`: line echo programs in C (wasi-libc) and Go; they need
//!   the toolchains of `.ci/install-guest-toolchains` (skipped without them,
//!   failing on CI).

mod c_echo;
mod go_echo;
mod line_echo;
mod probe;
