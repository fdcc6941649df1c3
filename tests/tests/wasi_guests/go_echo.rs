//! The Go line echo guest, `tests/guests/go/echo`.

use wasplug_tests::{guests, optional_guest, wasi::wasi_imports};

/// Go marks stdin non-blocking (`fd_fdstat_set_flags`) and, on `EAGAIN`,
/// waits in `poll_oneoff` on an `fd_read` subscription: that wait must suspend
/// the guest with `Blocked::Input` exactly like a blocking `fd_read`.
#[test]
fn echoes_stdin_fed_in_chunks_line_by_line() {
    let Some(wasm) = optional_guest(guests::GO_ECHO, "go/echo") else {
        return;
    };
    let imports = wasi_imports(wasm).expect("the Go guest is a valid module");
    for needed in ["fd_fdstat_set_flags", "poll_oneoff", "fd_read"] {
        assert!(
            imports.iter().any(|name| name == needed),
            "the Go guest no longer imports {needed}: {imports:?}"
        );
    }
    crate::line_echo::check(wasm);
}
