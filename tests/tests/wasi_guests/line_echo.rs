//! The scenario shared by the C and Go line-echo guests.

use std::time::Duration;
use wasplug_tests::wasi::{GuestOutput, GuestRun};

/// stdin in three chunks over time; the first and second split a line.
pub(crate) const CHUNKS: [&str; 3] = ["alpha\nbr", "avo\ncharlie\ndel", "ta\necho\n"];

/// Runs an echo guest on [`CHUNKS`] and checks everything it did.
pub(crate) fn check(wasm: &str) -> GuestOutput {
    let out = GuestRun::new(wasm)
        .ctx(|ctx| ctx.arg("echo"))
        .stdin_chunks(CHUNKS)
        .chunk_gap(Duration::from_millis(2))
        .run()
        .expect("the echo guest runs to completion");

    let input = CHUNKS.concat();
    assert_eq!(out.stdout_text(), input, "stdout echoes stdin exactly");
    let mut log: String = input
        .split_inclusive('\n')
        .map(|line| format!("got {} bytes\n", line.len()))
        .collect();
    log.push_str(&format!("eof after {} lines\n", input.lines().count()));
    assert_eq!(out.stderr_text(), log);
    assert_eq!(out.status, 0);

    // Each chunk, and the end of input, arrives only while the guest waits.
    let deliveries = u32::try_from(CHUNKS.len()).expect("few chunks") + 1;
    assert!(
        out.input_waits >= deliveries,
        "suspended for input {} times, fewer than the {deliveries} deliveries",
        out.input_waits
    );
    // It does not spin: a few resumptions per delivery at most.
    assert!(
        out.resumptions <= 2 * deliveries,
        "{} resumptions for {deliveries} deliveries: {out:?}",
        out.resumptions
    );
    assert_eq!(out.sleep_waits, 0);
    assert_eq!(out.output_waits, 0);
    out
}
