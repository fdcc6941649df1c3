//! Fuzzes the JSON-RPC line protocol: arbitrary bytes, cut into chunks, go
//! through a `LineFramer` and every line through a `Peer`, and each outcome
//! is checked against the line (`peer_lines.rs`, shared with a property test
//! of the normal suite in `wasplug_tests::fuzz`).
//!
//! Run with `cargo fuzz run -s none peer_lines` from `protocol/` (stable
//! Rust works with `-s none`), or `.ci/fuzz` from the repository root.
#![no_main]

#[path = "../peer_lines.rs"]
mod peer_lines;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| peer_lines::peer_lines(data));
