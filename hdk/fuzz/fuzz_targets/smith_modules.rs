//! Fuzzes the host with arbitrary valid modules: `wasm-smith` builds them
//! from the input, importing only `wasi_snapshot_preview1` functions (with
//! their real signatures) and exporting `_start` and `memory`;
//! `fuzz::smith_module` (shared with the property tests in
//! `tests/tests/hdk/fuzz_props.rs`) runs each as a plugin under small limits
//! and panics when the host refuses it wrongly, fails with an engine error,
//! or does not end the call; then runs it as a bare guest in new and in
//! recycled instances (`fuzz::smith_recycled`), which must end alike.
//!
//! Run with `cargo fuzz run -s none smith_modules` from `hdk/` (stable Rust
//! works with `-s none`; wasmi is built with its portable dispatch here: see
//! `Cargo.toml`), or `.ci/fuzz` from the repository root.
#![no_main]

#[allow(dead_code)]
#[path = "../../../tests/src/fuzz.rs"]
mod fuzz;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzz::smith_module(data);
    fuzz::smith_recycled(data);
});
