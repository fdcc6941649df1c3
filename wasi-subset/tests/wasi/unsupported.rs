//! The 27 functions outside the supported subset: `EBADF` for a descriptor
//! that is not open, the errno `linker.rs` documents for an open stdio one,
//! whatever the other arguments, and guest memory is never touched.

use crate::harness::{Guest, e};
use crate::surface::signature;
use wasplug_wasi::{Errno, WasiCtx};

/// Argument sets for the parameters other than the descriptor.
fn fillers(sig: &str) -> Vec<Vec<i64>> {
    let each = |i32v: i64, i64v: i64| {
        sig.chars()
            .map(|c| if c == 'I' { i64v } else { i32v })
            .collect::<Vec<_>>()
    };
    vec![
        each(0, 0),
        each(0x100, 16),
        each(0xFFFF_FFFF, -1),
        each(0x8000_0000, i64::MIN),
        each(0x1_0000, i64::MAX),
    ]
}

/// Checks `name` with its descriptor at parameter `fd_at`.
fn check(name: &str, fd_at: usize, on_stdio: Errno) {
    let sig = signature(name);
    assert_eq!(&sig[fd_at..=fd_at], "i");
    let mut g = Guest::new(WasiCtx::builder().stdin(b"x").build());
    g.fill(0xAA);
    for args in fillers(sig) {
        let with_fd = |fd: i64| {
            let mut a = args.clone();
            a[fd_at] = fd;
            a
        };
        for fd in 0..3 {
            assert_eq!(
                g.call(name, &with_fd(fd)),
                e(on_stdio),
                "{name} fd {fd} {args:?}"
            );
        }
        for fd in [3, 4, 7, 1024, 0x7FFF_FFFF, 0xFFFF_FFFF] {
            assert_eq!(
                g.call(name, &with_fd(fd)),
                e(Errno::Badf),
                "{name} fd {fd} {args:?}"
            );
        }
    }
    assert!(g.mem().iter().all(|&b| b == 0xAA), "{name} wrote memory");
    assert_eq!(g.ctx().stdin().len(), 1);
    assert!(g.ctx().stdout().is_empty());

    // A closed stdio descriptor is not open any more.
    assert_eq!(g.call("fd_close", &[1]), 0);
    let mut args = fillers(sig).swap_remove(0);
    args[fd_at] = 1;
    assert_eq!(g.call(name, &args), e(Errno::Badf), "{name} on closed fd 1");
    args[fd_at] = 2;
    assert_eq!(g.call(name, &args), e(on_stdio), "{name} on fd 2");
}

macro_rules! unsupported {
    ($($name:ident: fd $at:literal => $errno:ident;)*) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name), $at, Errno::$errno);
            }
        )*
        /// The functions tested by `check` (`fd_renumber` has its own test).
        pub(crate) const COVERED: &[&str] = &[$(stringify!($name),)* "fd_renumber"];
    };
}

unsupported! {
    fd_advise: fd 0 => Spipe;
    fd_allocate: fd 0 => Spipe;
    fd_datasync: fd 0 => Inval;
    fd_sync: fd 0 => Inval;
    fd_fdstat_set_rights: fd 0 => Notcapable;
    fd_filestat_set_size: fd 0 => Inval;
    fd_filestat_set_times: fd 0 => Notcapable;
    fd_pread: fd 0 => Spipe;
    fd_pwrite: fd 0 => Spipe;
    fd_readdir: fd 0 => Notdir;
    fd_seek: fd 0 => Spipe;
    fd_tell: fd 0 => Spipe;
    path_create_directory: fd 0 => Notdir;
    path_filestat_get: fd 0 => Notdir;
    path_filestat_set_times: fd 0 => Notdir;
    path_link: fd 0 => Notdir;
    path_open: fd 0 => Notdir;
    path_readlink: fd 0 => Notdir;
    path_remove_directory: fd 0 => Notdir;
    path_rename: fd 0 => Notdir;
    // path_symlink(old_path, old_path_len, fd, new_path, new_path_len)
    path_symlink: fd 2 => Notdir;
    path_unlink_file: fd 0 => Notdir;
    sock_accept: fd 0 => Notsock;
    sock_recv: fd 0 => Notsock;
    sock_send: fd 0 => Notsock;
    sock_shutdown: fd 0 => Notsock;
}

#[test]
fn fd_renumber() {
    let mut g = Guest::default_ctx();
    g.fill(0xAA);
    // Both open: not supported. Either one not open: EBADF.
    for (from, to, errno) in [
        (0, 1, Errno::Notsup),
        (2, 0, Errno::Notsup),
        (1, 1, Errno::Notsup),
        (0, 7, Errno::Badf),
        (7, 0, Errno::Badf),
        (3, 4, Errno::Badf),
        (0xFFFF_FFFF, 1, Errno::Badf),
        (1, 0xFFFF_FFFF, Errno::Badf),
    ] {
        assert_eq!(
            g.call("fd_renumber", &[from, to]),
            e(errno),
            "{from} -> {to}"
        );
    }
    assert_eq!(g.call("fd_close", &[2]), 0);
    assert_eq!(g.call("fd_renumber", &[0, 2]), e(Errno::Badf));
    assert_eq!(g.call("fd_renumber", &[2, 0]), e(Errno::Badf));
    assert!(g.mem().iter().all(|&b| b == 0xAA));
}
