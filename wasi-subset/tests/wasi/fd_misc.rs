//! `fd_close`, `fd_fdstat_get`, `fd_fdstat_set_flags`, `fd_filestat_get`,
//! `fd_prestat_get`, `fd_prestat_dir_name`.

use crate::harness::{Guest, PAGE, e};
use wasplug_wasi::{Errno, WasiCtx};

const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_FD_FILESTAT_GET: u64 = 1 << 21;
const RIGHT_POLL_FD_READWRITE: u64 = 1 << 27;
const FDFLAGS_APPEND: i64 = 1;
const FDFLAGS_NONBLOCK: i64 = 4;

fn guest() -> Guest {
    let mut g = Guest::new(WasiCtx::builder().stdin(b"in").build());
    g.fill(0xAA);
    g
}

/// The 24-byte `fdstat` the subset reports for a stdio descriptor.
fn fdstat(fd: u32, flags: u16) -> Vec<u8> {
    let io = if fd == 0 {
        RIGHT_FD_READ
    } else {
        RIGHT_FD_WRITE
    };
    let rights = io | RIGHT_FD_FDSTAT_SET_FLAGS | RIGHT_FD_FILESTAT_GET | RIGHT_POLL_FD_READWRITE;
    let mut v = vec![2, 0]; // filetype: character device; padding
    v.extend(flags.to_le_bytes());
    v.extend([0; 4]); // padding
    v.extend(rights.to_le_bytes()); // fs_rights_base
    v.extend(0u64.to_le_bytes()); // fs_rights_inheriting
    v
}

#[test]
fn fd_close() {
    let mut g = guest();
    assert_eq!(g.call("fd_close", &[1]), 0);
    assert_eq!(g.call("fd_close", &[1]), e(Errno::Badf), "already closed");
    for fd in [3, 7, 0xFFFF_FFFF] {
        assert_eq!(g.call("fd_close", &[fd]), e(Errno::Badf), "fd {fd}");
    }
    // Every use of the closed descriptor is EBADF now.
    g.iovecs(0x10, &[(0x100, 1)]);
    assert_eq!(g.call("fd_write", &[1, 0x10, 1, 8]), e(Errno::Badf));
    assert_eq!(g.call("fd_fdstat_get", &[1, 0x40]), e(Errno::Badf));
    assert_eq!(g.call("fd_fdstat_set_flags", &[1, 0]), e(Errno::Badf));
    assert_eq!(g.call("fd_filestat_get", &[1, 0x40]), e(Errno::Badf));
    assert_eq!(g.call("fd_seek", &[1, 0, 0, 0x40]), e(Errno::Badf));
    // The other descriptors are untouched.
    assert_eq!(g.call("fd_write", &[2, 0x10, 1, 8]), 0);
    assert_eq!(g.call("fd_close", &[0]), 0);
    assert_eq!(g.call("fd_read", &[0, 0x10, 1, 8]), e(Errno::Badf));
    assert_eq!(g.call("fd_close", &[2]), 0);
    assert_eq!(g.call("fd_write", &[2, 0x10, 1, 8]), e(Errno::Badf));
    assert_eq!(g.ctx().stderr().len(), 1);
}

#[test]
fn fd_fdstat_get() {
    let mut g = guest();
    for fd in 0..3 {
        let buf = 0x40 + 0x20 * fd;
        assert_eq!(g.call("fd_fdstat_get", &[i64::from(fd), i64::from(buf)]), 0);
        assert_eq!(g.read(buf, 24), fdstat(fd, 0), "fd {fd}");
        assert_eq!(g.read(buf + 24, 8), [0xAA; 8]);
    }
    // The last 24 bytes of memory.
    assert_eq!(g.call("fd_fdstat_get", &[0, i64::from(PAGE - 24)]), 0);
    assert_eq!(g.read(PAGE - 24, 24), fdstat(0, 0));

    for (fd, buf, errno) in [
        (3, 0x100, Errno::Badf),
        (0xFFFF_FFFF, 0x100, Errno::Badf),
        // A bad descriptor wins over a bad pointer.
        (3, 0x101, Errno::Badf),
        (0, 0x104, Errno::Inval),
        (0, 0x101, Errno::Inval),
        (0, i64::from(PAGE - 16), Errno::Fault),
        (0, i64::from(PAGE), Errno::Fault),
        (0, 0xFFFF_FFF8, Errno::Fault),
    ] {
        assert_eq!(
            g.call("fd_fdstat_get", &[fd, buf]),
            e(errno),
            "{fd} {buf:#x}"
        );
    }
    assert_eq!(g.read(0x100, 32), [0xAA; 32]);
}

#[test]
fn fd_fdstat_set_flags() {
    let mut g = guest();
    assert_eq!(g.call("fd_fdstat_set_flags", &[0, FDFLAGS_NONBLOCK]), 0);
    assert_eq!(g.call("fd_fdstat_get", &[0, 0x40]), 0);
    assert_eq!(g.read(0x40, 24), fdstat(0, 4));
    // Other descriptors keep their own flags.
    assert_eq!(g.call("fd_fdstat_get", &[1, 0x60]), 0);
    assert_eq!(g.read(0x60, 24), fdstat(1, 0));

    assert_eq!(
        g.call(
            "fd_fdstat_set_flags",
            &[1, FDFLAGS_NONBLOCK | FDFLAGS_APPEND]
        ),
        0
    );
    assert_eq!(g.call("fd_fdstat_get", &[1, 0x60]), 0);
    assert_eq!(g.u16_at(0x62) & 4, 4, "nonblock reported");

    assert_eq!(g.call("fd_fdstat_set_flags", &[0, 0]), 0);
    assert_eq!(g.call("fd_fdstat_get", &[0, 0x40]), 0);
    assert_eq!(g.read(0x40, 24), fdstat(0, 0));
    assert_eq!(g.call("fd_fdstat_set_flags", &[2, FDFLAGS_APPEND]), 0);

    // DSYNC, RSYNC, SYNC are not supported; more than 16 bits are invalid.
    for flags in [2, 8, 16, 0x20, 0x8000, 4 | 2] {
        assert_eq!(
            g.call("fd_fdstat_set_flags", &[0, flags]),
            e(Errno::Notsup),
            "{flags:#x}"
        );
    }
    for flags in [0x1_0000, 0x1_0004, 0xFFFF_FFFF] {
        assert_eq!(
            g.call("fd_fdstat_set_flags", &[0, flags]),
            e(Errno::Inval),
            "{flags:#x}"
        );
    }
    // A failed call changes nothing.
    assert_eq!(g.call("fd_fdstat_get", &[0, 0x40]), 0);
    assert_eq!(g.read(0x40, 24), fdstat(0, 0));

    for fd in [3, 7, 0xFFFF_FFFF] {
        assert_eq!(g.call("fd_fdstat_set_flags", &[fd, 0]), e(Errno::Badf));
        assert_eq!(
            g.call("fd_fdstat_set_flags", &[fd, 0x1_0000]),
            e(Errno::Badf)
        );
    }
}

#[test]
fn fd_filestat_get() {
    let mut expected = vec![0u8; 64];
    expected[16] = 2; // filetype: character device
    expected[24] = 1; // nlink
    let mut g = guest();
    for fd in 0..3 {
        let buf = 0x100 + 0x40 * fd;
        assert_eq!(
            g.call("fd_filestat_get", &[i64::from(fd), i64::from(buf)]),
            0
        );
        assert_eq!(g.read(buf, 64), expected, "fd {fd}");
    }
    assert_eq!(g.read(0x1C0, 8), [0xAA; 8]);
    assert_eq!(g.call("fd_filestat_get", &[2, i64::from(PAGE - 64)]), 0);
    assert_eq!(g.read(PAGE - 64, 64), expected);

    for (fd, buf, errno) in [
        (3, 0x200, Errno::Badf),
        (0xFFFF_FFFF, 0x200, Errno::Badf),
        (3, 0x201, Errno::Badf),
        (0, 0x204, Errno::Inval),
        (0, i64::from(PAGE - 56), Errno::Fault),
        (0, i64::from(PAGE), Errno::Fault),
        (0, 0xFFFF_FFC0, Errno::Fault),
    ] {
        assert_eq!(
            g.call("fd_filestat_get", &[fd, buf]),
            e(errno),
            "{fd} {buf:#x}"
        );
    }
    assert_eq!(g.read(0x200, 72), [0xAA; 72]);
}

#[test]
fn fd_prestat_get() {
    // No preopened directories: wasi-libc probes from fd 3 until EBADF.
    let mut g = guest();
    for fd in [3, 4, 0, 1, 2, 0xFFFF_FFFF] {
        assert_eq!(
            g.call("fd_prestat_get", &[fd, 0x40]),
            e(Errno::Badf),
            "fd {fd}"
        );
        assert_eq!(g.call("fd_prestat_get", &[fd, 0xFFFF_FFFF]), e(Errno::Badf));
    }
    assert!(g.mem().iter().all(|&b| b == 0xAA));
}

#[test]
fn fd_prestat_dir_name() {
    let mut g = guest();
    for fd in [3, 0, 0xFFFF_FFFF] {
        assert_eq!(
            g.call("fd_prestat_dir_name", &[fd, 0x40, 16]),
            e(Errno::Badf)
        );
        assert_eq!(
            g.call("fd_prestat_dir_name", &[fd, 0xFFFF_FFFF, 0xFFFF_FFFF]),
            e(Errno::Badf)
        );
    }
    assert!(g.mem().iter().all(|&b| b == 0xAA));
}
