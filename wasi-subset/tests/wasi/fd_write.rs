//! `fd_write` to stdout and stderr: data, errors, capacity and suspension.

use crate::harness::{Guest, PAGE, e, ready};
use wasmi::Val;
use wasplug_wasi::{Blocked, Completion, Errno, Stop, WasiCtx};

const NWRITTEN: u32 = 0x8;
const IOVS: u32 = 0x10;

/// `(iovs, iovs_len, iovecs written at IOVS, result pointer, expected errno)`.
type IovCase = (u32, u32, &'static [(u32, u32)], u32, Errno);

fn guest(ctx: WasiCtx) -> Guest {
    let mut g = Guest::new(ctx);
    g.write(0x100, b"hello ");
    g.write(0x200, b"world");
    g.iovecs(IOVS, &[(0x100, 6), (0x200, 5)]);
    g
}

fn write(g: &mut Guest, fd: i64, n: i64) -> i32 {
    g.call("fd_write", &[fd, i64::from(IOVS), n, i64::from(NWRITTEN)])
}

#[test]
fn fd_write_stdout_and_stderr() {
    let mut g = guest(WasiCtx::builder().build());
    assert_eq!(write(&mut g, 1, 2), 0);
    assert_eq!(g.u32_at(NWRITTEN), 11);
    assert_eq!(g.ctx().stdout().contents(), b"hello world");
    assert!(g.ctx().stderr().is_empty());

    assert_eq!(write(&mut g, 2, 1), 0);
    assert_eq!(g.u32_at(NWRITTEN), 6);
    assert_eq!(g.ctx().stderr().contents(), b"hello ");
    assert_eq!(g.ctx().stdout().contents(), b"hello world");

    // Appends; the embedder takes what it wants.
    assert_eq!(write(&mut g, 1, 1), 0);
    assert_eq!(g.ctx_mut().stdout_mut().take(), b"hello worldhello ");
    assert!(g.ctx().stdout().is_empty());

    // No buffers, or only empty ones: nothing written.
    assert_eq!(write(&mut g, 1, 0), 0);
    assert_eq!(g.u32_at(NWRITTEN), 0);
    g.iovecs(IOVS, &[(0x100, 0)]);
    assert_eq!(write(&mut g, 1, 1), 0);
    assert_eq!(g.u32_at(NWRITTEN), 0);
    assert!(g.ctx().stdout().is_empty());

    // nwritten may overlap the data it reports on.
    g.iovecs(IOVS, &[(NWRITTEN, 4)]);
    g.write(NWRITTEN, b"abcd");
    assert_eq!(write(&mut g, 1, 1), 0);
    assert_eq!(g.ctx().stdout().contents(), b"abcd");
    assert_eq!(g.u32_at(NWRITTEN), 4);
}

#[test]
fn fd_write_bad_descriptors() {
    let mut g = guest(WasiCtx::builder().stdin(b"x").build());
    for fd in [0, 3, 7, 0xFFFF_FFFF] {
        assert_eq!(write(&mut g, fd, 2), e(Errno::Badf), "fd {fd}");
    }
    assert_eq!(g.call("fd_close", &[1]), 0);
    assert_eq!(write(&mut g, 1, 2), e(Errno::Badf));
    assert!(g.ctx().stdout().is_empty());
    // stderr is still open.
    assert_eq!(write(&mut g, 2, 2), 0);
    assert_eq!(g.ctx().stderr().contents(), b"hello world");
}

#[test]
fn fd_write_bad_iovecs() {
    let cases: [IovCase; 8] = [
        (PAGE - 4, 1, &[], NWRITTEN, Errno::Fault),
        (0xFFFF_FFF8, 1, &[], NWRITTEN, Errno::Fault),
        // A bad buffer after a good one: nothing at all is written.
        (
            IOVS,
            2,
            &[(0x100, 6), (PAGE - 1, 2)],
            NWRITTEN,
            Errno::Fault,
        ),
        (IOVS, 1, &[(0x100, 0xFFFF_FFFF)], NWRITTEN, Errno::Fault),
        (IOVS, 2, &[(0x100, 6)], PAGE, Errno::Fault),
        (IOVS + 2, 1, &[], NWRITTEN, Errno::Inval),
        (IOVS, 2, &[(0x100, 6)], NWRITTEN + 2, Errno::Inval),
        (IOVS, 1025, &[], NWRITTEN, Errno::Inval),
    ];
    for (iovs, n, list, nwritten, errno) in cases {
        let mut g = guest(WasiCtx::builder().build());
        g.iovecs(IOVS, list);
        g.put_u32(NWRITTEN, 0xDEAD);
        let args = [1, i64::from(iovs), i64::from(n), i64::from(nwritten)];
        assert_eq!(
            g.call("fd_write", &args),
            e(errno),
            "{iovs:#x} {n} {list:?}"
        );
        assert!(g.ctx().stdout().is_empty(), "nothing written");
        assert_eq!(g.u32_at(NWRITTEN), 0xDEAD);
    }
}

#[test]
fn fd_write_capacity_then_suspends_until_consumed() {
    let mut g = guest(WasiCtx::builder().stdout_capacity(8).build());
    // 11 bytes into a pipe of 8: a partial write.
    assert_eq!(write(&mut g, 1, 2), 0);
    assert_eq!(g.u32_at(NWRITTEN), 8);
    assert_eq!(g.ctx().stdout().contents(), b"hello wo");

    // The guest writes the rest ("rld") into a full pipe: suspended.
    g.iovecs(IOVS, &[(0x202, 3)]);
    g.put_u32(NWRITTEN, 0xDEAD);
    let (trap, stop) = g.suspend("fd_write", &[1, i64::from(IOVS), 1, i64::from(NWRITTEN)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Output { fd: 1 }));
    assert_eq!(g.ctx().blocked(), Some(Blocked::Output { fd: 1 }));
    assert_eq!(g.u32_at(NWRITTEN), 0xDEAD);

    // Still full: completing changes nothing.
    assert!(matches!(
        g.complete(),
        Completion::Blocked(Blocked::Output { fd: 1 })
    ));

    // The embedder takes two bytes: a write of at most PIPE_BUF bytes that
    // fits the pipe is atomic (as on POSIX), so it waits for room for all 3.
    g.ctx_mut().stdout_mut().consume(2);
    assert!(matches!(
        g.complete(),
        Completion::Blocked(Blocked::Output { fd: 1 })
    ));
    g.ctx_mut().stdout_mut().consume(1);
    let value = ready(g.complete());
    assert!(matches!(value, Val::I32(0)));
    assert_eq!(g.u32_at(NWRITTEN), 3);
    assert_eq!(g.ctx().stdout().contents(), b"lo world");
    assert_eq!(g.resume(trap, value), 0);
    assert!(matches!(g.complete(), Completion::NotBlocked));

    // Zero bytes into a full pipe does not block.
    g.iovecs(IOVS, &[(0x100, 0)]);
    assert_eq!(write(&mut g, 1, 1), 0);
    assert_eq!(g.u32_at(NWRITTEN), 0);
}

#[test]
fn fd_write_stderr_capacity() {
    let mut g = guest(WasiCtx::builder().stderr_capacity(0).build());
    let (trap, stop) = g.suspend("fd_write", &[2, i64::from(IOVS), 2, i64::from(NWRITTEN)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Output { fd: 2 }));
    // stdout has no limit and is not concerned.
    assert_eq!(g.call("fd_write", &[1, i64::from(IOVS), 2, 0x40]), 0);
    assert_eq!(g.ctx().stdout().contents(), b"hello world");
    g.ctx_mut().stderr_mut().set_capacity(100);
    let value = ready(g.complete());
    assert_eq!(g.resume(trap, value), 0);
    assert_eq!(g.u32_at(NWRITTEN), 11);
    assert_eq!(g.ctx().stderr().contents(), b"hello world");
}

#[test]
fn fd_write_nonblocking_full_pipe_is_eagain() {
    let mut g = guest(WasiCtx::builder().stdout_capacity(0).build());
    assert_eq!(g.call("fd_fdstat_set_flags", &[1, 4]), 0);
    assert_eq!(g.call("fd_fdstat_get", &[1, 0x40]), 0);
    assert_eq!(g.u16_at(0x42), 4, "NONBLOCK is reported");
    let args = [1, i64::from(IOVS), 2, i64::from(NWRITTEN)];
    let outcome = g
        .try_call("fd_write", &args)
        .map_err(|e| Stop::from_error(&e));
    assert_eq!(outcome, Ok(e(Errno::Again)));
}
