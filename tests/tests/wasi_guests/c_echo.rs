//! The C (wasi-libc) line echo guest, `tests/guests/c/echo.c`.

use wasplug_tests::{guests, optional_guest};

#[test]
fn echoes_stdin_fed_in_chunks_line_by_line() {
    let Some(wasm) = optional_guest(guests::C_ECHO, "c/echo") else {
        return;
    };
    crate::line_echo::check(wasm);
}
