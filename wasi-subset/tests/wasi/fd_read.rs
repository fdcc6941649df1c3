//! `fd_read` on stdin: data, partial reads, EOF, errors, non-blocking mode and
//! suspension.

use crate::harness::{Guest, PAGE, e, ready};
use wasmi::Val;
use wasplug_wasi::{Blocked, Completion, Errno, Stop, WasiCtx};

const NREAD: u32 = 0x8;
const IOVS: u32 = 0x10;

/// `(iovs, iovs_len, iovecs written at IOVS, result pointer, expected errno)`.
type IovCase = (u32, u32, &'static [(u32, u32)], u32, Errno);

fn guest(ctx: WasiCtx) -> Guest {
    let mut g = Guest::new(ctx);
    g.fill(0xAA);
    g
}

/// `fd_read(0, IOVS, n, NREAD)`.
fn read(g: &mut Guest, n: i64) -> i32 {
    g.call("fd_read", &[0, i64::from(IOVS), n, i64::from(NREAD)])
}

#[test]
fn fd_read_data() {
    let mut g = guest(WasiCtx::builder().stdin(b"hello world").build());
    g.iovecs(IOVS, &[(0x100, 5)]);
    assert_eq!(read(&mut g, 1), 0);
    assert_eq!(g.u32_at(NREAD), 5);
    assert_eq!(g.read(0x100, 6), b"hello\xAA");
    assert_eq!(g.ctx().stdin().len(), 6);

    // Partial: the buffer is larger than what is left.
    g.iovecs(IOVS, &[(0x200, 32)]);
    assert_eq!(read(&mut g, 1), 0);
    assert_eq!(g.u32_at(NREAD), 6);
    assert_eq!(g.read(0x200, 7), b" world\xAA");
    assert!(g.ctx().stdin().is_empty());
}

#[test]
fn fd_read_multiple_iovecs() {
    let mut g = guest(WasiCtx::builder().stdin(b"abcdefghi").build());
    // A zero-length buffer in the middle is skipped over.
    g.iovecs(IOVS, &[(0x100, 3), (0x180, 0), (0x200, 4)]);
    assert_eq!(read(&mut g, 3), 0);
    assert_eq!(g.u32_at(NREAD), 7);
    assert_eq!(g.read(0x100, 4), b"abc\xAA");
    assert_eq!(g.u8_at(0x180), 0xAA);
    assert_eq!(g.read(0x200, 5), b"defg\xAA");
    assert_eq!(g.ctx().stdin().len(), 2);

    // The first buffer is not filled: reading stops there.
    g.iovecs(IOVS, &[(0x300, 8), (0x400, 8)]);
    assert_eq!(read(&mut g, 2), 0);
    assert_eq!(g.u32_at(NREAD), 2);
    assert_eq!(g.read(0x300, 3), b"hi\xAA");
    assert_eq!(g.u8_at(0x400), 0xAA);

    // The buffer may overlap the iovec list and the nread word.
    let mut g = guest(WasiCtx::builder().stdin(b"0123456789abcdef").build());
    g.iovecs(IOVS, &[(0x4, 16)]);
    assert_eq!(read(&mut g, 1), 0);
    assert_eq!(g.u32_at(NREAD), 16);
    assert_eq!(g.read(0x4, 4), b"0123");
}

#[test]
fn fd_read_eof() {
    let mut g = guest(WasiCtx::builder().stdin_closed(b"ab").build());
    g.iovecs(IOVS, &[(0x100, 8)]);
    assert_eq!(read(&mut g, 1), 0);
    assert_eq!(g.u32_at(NREAD), 2);
    // Drained and closed: end of file, repeatedly.
    for _ in 0..2 {
        g.put_u32(NREAD, 0xDEAD);
        assert_eq!(read(&mut g, 1), 0);
        assert_eq!(g.u32_at(NREAD), 0);
    }
    // The embedder closes an open, empty stdin.
    let mut g = guest(WasiCtx::builder().build());
    g.ctx_mut().stdin_mut().close();
    g.iovecs(IOVS, &[(0x100, 8)]);
    assert_eq!(read(&mut g, 1), 0);
    assert_eq!(g.u32_at(NREAD), 0);
}

#[test]
fn fd_read_nothing_asked_does_not_block() {
    let mut g = guest(WasiCtx::builder().build());
    assert_eq!(read(&mut g, 0), 0);
    assert_eq!(g.u32_at(NREAD), 0);
    g.iovecs(IOVS, &[(0x100, 0), (0x200, 0)]);
    g.put_u32(NREAD, 7);
    assert_eq!(read(&mut g, 2), 0);
    assert_eq!(g.u32_at(NREAD), 0);
}

#[test]
fn fd_read_bad_descriptors() {
    let mut g = guest(WasiCtx::builder().stdin(b"data").build());
    g.iovecs(IOVS, &[(0x100, 4)]);
    for fd in [1, 2, 3, 7, 0xFFFF_FFFF] {
        let args = [fd, i64::from(IOVS), 1, i64::from(NREAD)];
        assert_eq!(g.call("fd_read", &args), e(Errno::Badf), "fd {fd}");
    }
    assert_eq!(g.ctx().stdin().len(), 4);
    // Closed by the guest: EBADF, even with data buffered.
    assert_eq!(g.call("fd_close", &[0]), 0);
    assert_eq!(read(&mut g, 1), e(Errno::Badf));
    assert_eq!(g.u8_at(0x100), 0xAA);
    assert_eq!(g.ctx().stdin().len(), 4);
}

#[test]
fn fd_read_bad_iovecs() {
    let cases: [IovCase; 9] = [
        // The iovec list is out of bounds.
        (PAGE - 4, 1, &[], NREAD, Errno::Fault),
        (PAGE, 1, &[], NREAD, Errno::Fault),
        (0xFFFF_FFF8, 1, &[], NREAD, Errno::Fault),
        // One buffer is out of bounds (even after a good one).
        (IOVS, 2, &[(0x100, 4), (PAGE - 2, 4)], NREAD, Errno::Fault),
        (IOVS, 1, &[(0xFFFF_FFFF, 2)], NREAD, Errno::Fault),
        // nread is out of bounds.
        (IOVS, 1, &[(0x100, 4)], PAGE, Errno::Fault),
        // Misaligned list or nread.
        (IOVS + 2, 1, &[], NREAD, Errno::Inval),
        (IOVS, 1, &[(0x100, 4)], NREAD + 1, Errno::Inval),
        // More than IOV_MAX buffers.
        (IOVS, 1025, &[], NREAD, Errno::Inval),
    ];
    for (iovs, n, list, nread, errno) in cases {
        let mut g = guest(WasiCtx::builder().stdin(b"data").build());
        g.iovecs(IOVS, list);
        let args = [0, i64::from(iovs), i64::from(n), i64::from(nread)];
        assert_eq!(
            g.call("fd_read", &args),
            e(errno),
            "{iovs:#x} {n} {list:?} {nread:#x}"
        );
        // Validation happens before any byte moves: no input is lost.
        assert_eq!(g.ctx().stdin().len(), 4);
        assert_eq!(g.u8_at(0x100), 0xAA);
    }

    // Exactly IOV_MAX (zero-length) buffers is fine.
    let mut g = guest(WasiCtx::builder().stdin(b"data").build());
    g.write(0x1000, &[0; 8 * 1024]);
    let args = [0, 0x1000, 1024, i64::from(NREAD)];
    assert_eq!(g.call("fd_read", &args), 0);
    assert_eq!(g.u32_at(NREAD), 0);
    // A huge count is EINVAL too, not an overflow or a fault.
    assert_eq!(
        g.call("fd_read", &[0, 0x1000, 0xFFFF_FFFF, 8]),
        e(Errno::Inval)
    );
}

#[test]
fn fd_read_nonblocking() {
    let mut g = guest(WasiCtx::builder().build());
    assert_eq!(g.call("fd_fdstat_set_flags", &[0, 4]), 0);
    g.iovecs(IOVS, &[(0x100, 8)]);
    assert_eq!(read(&mut g, 1), e(Errno::Again));
    assert_eq!(g.ctx().blocked(), None);

    g.ctx_mut().stdin_mut().push(b"xy");
    assert_eq!(read(&mut g, 1), 0);
    assert_eq!(g.u32_at(NREAD), 2);
    assert_eq!(g.read(0x100, 2), b"xy");
    assert_eq!(read(&mut g, 1), e(Errno::Again));

    // Back to blocking: the guest is suspended again.
    assert_eq!(g.call("fd_fdstat_set_flags", &[0, 0]), 0);
    let (_trap, stop) = g.suspend("fd_read", &[0, i64::from(IOVS), 1, i64::from(NREAD)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Input { deadline: None }));
}

#[test]
fn fd_read_suspends_until_input() {
    let mut g = guest(WasiCtx::builder().build());
    g.iovecs(IOVS, &[(0x100, 3), (0x200, 8)]);
    let (trap, stop) = g.suspend("fd_read", &[0, i64::from(IOVS), 2, i64::from(NREAD)]);
    let blocked = Blocked::Input { deadline: None };
    assert_eq!(stop, Stop::Blocked(blocked));
    assert_eq!(g.ctx().blocked(), Some(blocked));
    assert_eq!(
        g.u32_at(NREAD),
        0xAAAA_AAAA,
        "nothing written while blocked"
    );

    // Nothing pushed yet: still blocked.
    assert!(matches!(g.complete(), Completion::Blocked(b) if b == blocked));
    assert_eq!(g.ctx().blocked(), Some(blocked));

    g.ctx_mut().stdin_mut().push(b"hello");
    let value = ready(g.complete());
    assert!(matches!(value, Val::I32(0)));
    assert_eq!(g.ctx().blocked(), None);
    assert_eq!(g.u32_at(NREAD), 5);
    assert_eq!(g.read(0x100, 3), b"hel");
    assert_eq!(g.read(0x200, 3), b"lo\xAA");
    assert_eq!(g.resume(trap, value), 0);

    // Nothing is pending any more.
    assert!(matches!(g.complete(), Completion::NotBlocked));
}

#[test]
fn fd_read_suspended_then_stdin_closed_is_eof() {
    let mut g = guest(WasiCtx::builder().build());
    g.iovecs(IOVS, &[(0x100, 8)]);
    let (trap, stop) = g.suspend("fd_read", &[0, i64::from(IOVS), 1, i64::from(NREAD)]);
    assert_eq!(stop, Stop::Blocked(Blocked::Input { deadline: None }));
    g.ctx_mut().stdin_mut().close();
    let value = ready(g.complete());
    assert_eq!(g.resume(trap, value), 0);
    assert_eq!(g.u32_at(NREAD), 0);
}
