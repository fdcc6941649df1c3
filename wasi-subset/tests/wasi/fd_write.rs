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
fn fd_write_blocking_writes_everything_then_suspends_until_consumed() {
    let mut g = guest(WasiCtx::builder().stdout_capacity(8).build());
    g.put_u32(NWRITTEN, 0xDEAD);
    // 11 bytes into a pipe of 8, blocking: what fits goes in, then the
    // guest waits for room, as on a POSIX pipe.
    let (trap, stop) = g.suspend("fd_write", &[1, i64::from(IOVS), 2, i64::from(NWRITTEN)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Output { fd: 1 }));
    assert_eq!(g.ctx().blocked(), Some(Blocked::Output { fd: 1 }));
    assert_eq!(g.ctx().stdout().contents(), b"hello wo");
    assert_eq!(g.u32_at(NWRITTEN), 0xDEAD, "no count before the end");

    // Still full: completing changes nothing.
    assert!(matches!(
        g.complete(),
        Completion::Blocked(Blocked::Output { fd: 1 })
    ));
    assert_eq!(g.ctx().stdout().contents(), b"hello wo");

    // Room for two: two more bytes go in, and it waits again.
    g.ctx_mut().stdout_mut().consume(2);
    assert!(matches!(
        g.complete(),
        Completion::Blocked(Blocked::Output { fd: 1 })
    ));
    assert_eq!(g.ctx().stdout().contents(), b"llo worl");
    assert_eq!(g.u32_at(NWRITTEN), 0xDEAD);

    // Room for the last byte: done, with the whole count.
    assert_eq!(g.ctx_mut().stdout_mut().take(), b"llo worl");
    let value = ready(g.complete());
    assert!(matches!(value, Val::I32(0)));
    assert_eq!(g.u32_at(NWRITTEN), 11);
    assert_eq!(g.ctx().stdout().contents(), b"d");
    assert_eq!(g.resume(trap, value), 0);
    assert!(matches!(g.complete(), Completion::NotBlocked));
}

#[test]
fn fd_write_of_at_most_pipe_buf_bytes_is_atomic() {
    let mut g = guest(WasiCtx::builder().stdout_capacity(8).build());
    g.iovecs(IOVS, &[(0x100, 6), (0x200, 2)]);
    assert_eq!(write(&mut g, 1, 2), 0);
    assert_eq!(g.ctx().stdout().contents(), b"hello wo");
    // "rld" into a full pipe: it waits until all 3 bytes fit.
    g.iovecs(IOVS, &[(0x202, 3)]);
    g.put_u32(NWRITTEN, 0xDEAD);
    let (trap, stop) = g.suspend("fd_write", &[1, i64::from(IOVS), 1, i64::from(NWRITTEN)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Output { fd: 1 }));
    g.ctx_mut().stdout_mut().consume(2);
    assert!(matches!(
        g.complete(),
        Completion::Blocked(Blocked::Output { fd: 1 })
    ));
    assert_eq!(g.ctx().stdout().contents(), b"llo wo", "nothing torn off");
    g.ctx_mut().stdout_mut().consume(1);
    let value = ready(g.complete());
    assert_eq!(g.u32_at(NWRITTEN), 3);
    assert_eq!(g.ctx().stdout().contents(), b"lo world");
    assert_eq!(g.resume(trap, value), 0);

    // Zero bytes into a full pipe does not block.
    g.iovecs(IOVS, &[(0x100, 0)]);
    g.ctx_mut().stdout_mut().set_capacity(7);
    assert_eq!(write(&mut g, 1, 1), 0);
    assert_eq!(g.u32_at(NWRITTEN), 0);
}

/// Three buffers (one empty) of 70 distinct bytes each through a pipe of
/// 100: the write spans three pipe-fulls and two suspensions, and every
/// byte arrives once, in order.
#[test]
fn fd_write_iovecs_spanning_the_pipe_boundary_arrive_whole() {
    let mut g = guest(WasiCtx::builder().stdout_capacity(100).build());
    let buffers: [(u32, Vec<u8>); 4] = [
        (0x1000, (0..70).collect()),
        (0x2000, Vec::new()),
        (0x3000, (100..170).collect()),
        (0x4000, (200..=255).chain(0..14).collect()),
    ];
    let mut list = Vec::new();
    for (at, bytes) in &buffers {
        g.write(*at, bytes);
        list.push((*at, u32::try_from(bytes.len()).unwrap()));
    }
    g.iovecs(IOVS, &list);
    g.put_u32(NWRITTEN, 0xDEAD);
    let expected: Vec<u8> = buffers.iter().flat_map(|(_, b)| b.clone()).collect();
    assert_eq!(expected.len(), 210);

    let (trap, stop) = g.suspend("fd_write", &[1, i64::from(IOVS), 4, i64::from(NWRITTEN)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Output { fd: 1 }));
    let mut out = g.ctx_mut().stdout_mut().take();
    assert_eq!(out.len(), 100);
    assert!(matches!(
        g.complete(),
        Completion::Blocked(Blocked::Output { fd: 1 })
    ));
    out.extend(g.ctx_mut().stdout_mut().take());
    assert_eq!(out.len(), 200);
    assert_eq!(g.u32_at(NWRITTEN), 0xDEAD);
    let value = ready(g.complete());
    out.extend(g.ctx_mut().stdout_mut().take());
    assert_eq!(out, expected);
    assert_eq!(g.u32_at(NWRITTEN), 210);
    assert_eq!(g.resume(trap, value), 0);
}

/// In non-blocking mode a write that does not fit is short (or `EAGAIN`
/// when nothing fits, or when a write of at most `PIPE_BUF` bytes cannot
/// go in whole); it never suspends.
#[test]
fn fd_write_nonblocking_is_short() {
    let mut g = guest(WasiCtx::builder().stdout_capacity(8).build());
    assert_eq!(g.call("fd_fdstat_set_flags", &[1, 4]), 0);
    assert_eq!(write(&mut g, 1, 2), 0);
    assert_eq!(g.u32_at(NWRITTEN), 8);
    assert_eq!(g.ctx().stdout().contents(), b"hello wo");
    assert_eq!(write(&mut g, 1, 2), e(Errno::Again));
    g.ctx_mut().stdout_mut().consume(3);
    // 11 bytes do not fit in 3 and are more than the pipe holds: short.
    assert_eq!(write(&mut g, 1, 2), 0);
    assert_eq!(g.u32_at(NWRITTEN), 3);
    assert_eq!(g.ctx().stdout().contents(), b"lo wohel");
    // 5 bytes (at most PIPE_BUF, and they would fit an empty pipe) into
    // room for 2: all or nothing.
    g.ctx_mut().stdout_mut().consume(2);
    g.iovecs(IOVS, &[(0x200, 5)]);
    assert_eq!(write(&mut g, 1, 1), e(Errno::Again));
    assert_eq!(g.ctx().stdout().contents(), b" wohel");
    // Back to blocking: the same write suspends.
    assert_eq!(g.call("fd_fdstat_set_flags", &[1, 0]), 0);
    let (_trap, stop) = g.suspend("fd_write", &[1, i64::from(IOVS), 1, i64::from(NWRITTEN)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Output { fd: 1 }));
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
