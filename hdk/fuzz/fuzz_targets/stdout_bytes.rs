//! Fuzzes the host's handling of a plugin's stdout: framing, JSON-RPC
//! parsing, the peer, host calls and the executor around them.
//!
//! The input's first 3 bytes pick the write size, how the guest ends and the
//! line and depth limits; the rest is what a tiny guest writes to stdout.
//! `fuzz::stdout_bytes` (shared with the property tests in
//! `tests/tests/hdk/fuzz_props.rs`) runs it through `Plugin::call` and
//! panics when the call ends in a way that does not fit what the guest did.
//!
//! Run with `cargo fuzz run -s none stdout_bytes` from `hdk/` (stable Rust
//! works with `-s none`; wasmi is built with its portable dispatch here: see
//! `Cargo.toml`), or `.ci/fuzz` from the repository root.
#![no_main]

#[allow(dead_code)]
#[path = "../../../tests/src/fuzz.rs"]
mod fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz::stdout_bytes(data));
