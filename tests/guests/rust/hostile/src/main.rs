//! A plugin that misbehaves on purpose, one way per method. The tests in
//! `tests/tests/hdk/hostile.rs` call each method, check the host ends the call
//! with the right error within its limit, then call `ping` on the same
//! `Plugin`.
//!
//! | method | what it does |
//! | --- | --- |
//! | `ping` | answers `"pong"`: the normal call |
//! | `spin` | loops forever |
//! | `memory_bomb` | allocates and fills 1 MiB blocks until allocation fails |
//! | `stdout_flood` | writes `x` to stdout forever, never a newline |
//! | `stderr_flood [n]` | writes to stderr forever: lines of `n` bytes, or no newline at all when `n` is 0 |
//! | `not_json` | writes a line that is not JSON, then answers |
//! | `bad_id` | answers request id 999, which the host never sent, then answers |
//! | `exit [status]` | exits with `status` without answering |
//! | `unreachable` | executes `unreachable` |
//! | `recursion` | recurses without bound |
//! | `deep_json` | answers with a result nested 400,000 arrays deep |
//! | `sleep_forever` | sleeps, forever |
//! | `host_call_flood` | sends `echo` requests (3 KiB each) forever and never reads an answer |
//! | `wasi_poke` | calls every WASI function but `proc_exit` with out-of-bounds, overflowing and misaligned pointers; answers `[[name, [errno, ...]], ...]` |
//!
//! Everything that bypasses the plugin kit writes to stdout with `std::io`
//! directly, as a guest that ignores the protocol would.

use std::hint::black_box;
use std::io::Write;
use std::time::Duration;
use wasplug_pdk::{Error, Plugin};

/// Nesting depth of `deep_json`'s result.
const DEEP: usize = 400_000;

fn io_error(error: std::io::Error) -> Error {
    Error::internal(error.to_string())
}

fn spin() -> Result<(), Error> {
    let mut n = 0u64;
    loop {
        n = black_box(n).wrapping_add(1);
    }
}

fn memory_bomb() -> Result<usize, Error> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        blocks.push(vec![0xA5; 1 << 20]);
        black_box(&blocks);
    }
}

fn stdout_flood() -> Result<(), Error> {
    wasi::flood(1, &[b'x'; 16 << 10])
}

fn stderr_flood(line: usize) -> Result<(), Error> {
    // Whole lines only, so no line spans two writes.
    let len = match line {
        0 => 16 << 10,
        n => n * (16usize << 10).div_ceil(n),
    };
    let mut chunk = vec![b'e'; len];
    if line > 0 {
        for newline in chunk.iter_mut().skip(line - 1).step_by(line) {
            *newline = b'\n';
        }
    }
    wasi::flood(2, &chunk)
}

/// Writes `line` to stdout as it is, past the plugin kit.
fn raw_line(line: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(line).map_err(io_error)?;
    out.flush().map_err(io_error)
}

fn recurse(depth: u64) -> u64 {
    let next = black_box(depth).wrapping_add(1);
    if next == 0 {
        return 0;
    }
    // Using the result after the call keeps it from becoming a loop.
    black_box(recurse(next)).wrapping_add(1)
}

fn deep_json() -> Result<&'static str, Error> {
    let mut line = Vec::with_capacity(2 * DEEP + 64);
    line.extend_from_slice(br#"{"jsonrpc":"2.0","id":1,"result":"#);
    line.resize(line.len() + DEEP, b'[');
    line.resize(line.len() + DEEP, b']');
    line.extend_from_slice(b"}\n");
    raw_line(&line)?;
    Ok("sent")
}

fn sleep_forever() -> Result<(), Error> {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn host_call_flood() -> Result<(), Error> {
    let head = br#"{"jsonrpc":"2.0","id":"#;
    let mut tail = br#","method":"echo","params":[""#.to_vec();
    tail.resize(tail.len() + 3000, b'p');
    tail.extend_from_slice(b"\"]}\n");
    wasi::request_flood(head, &tail)
}

fn exit(status: i32) -> Result<(), Error> {
    std::process::exit(status)
}

#[cfg(target_family = "wasm")]
fn unreachable() -> Result<(), Error> {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_family = "wasm"))]
fn unreachable() -> Result<(), Error> {
    std::process::abort()
}

fn main() {
    Plugin::new("hostile", env!("CARGO_PKG_VERSION"))
        .method("ping", |()| async { Ok("pong") })
        .method("spin", |()| async { spin() })
        .method("memory_bomb", |()| async { memory_bomb() })
        .method("stdout_flood", |()| async { stdout_flood() })
        .method(
            "stderr_flood",
            |line: usize| async move { stderr_flood(line) },
        )
        .method("not_json", |()| async {
            raw_line(b"this is not json\n")?;
            Ok("sent")
        })
        .method("bad_id", |()| async {
            raw_line(br#"{"jsonrpc":"2.0","id":999,"result":"stray"}"#)?;
            raw_line(b"\n")?;
            Ok("sent")
        })
        .method("exit", |status: i32| async move { exit(status) })
        .method("unreachable", |()| async { unreachable() })
        .method("recursion", |()| async { Ok(recurse(0)) })
        .method("deep_json", |()| async { deep_json() })
        .method("sleep_forever", |()| async { sleep_forever() })
        .method("host_call_flood", |()| async { host_call_flood() })
        .method("wasi_poke", |()| async { wasi::poke() })
        .run();
}

/// The raw `wasi_snapshot_preview1` imports: every function but
/// `proc_exit`, called with arguments a careless or hostile guest might pass,
/// and floods written with `fd_write` directly (std's line buffering would
/// scan every byte for a newline, costing the guest more fuel than the host
/// work it causes).
#[cfg(target_os = "wasi")]
#[allow(unsafe_code)]
mod wasi {
    use wasplug_pdk::Error;

    /// A pointer near the top of the 4 GiB address space: out of bounds, and
    /// `ptr + len` overflows `u32` for most lengths.
    const OOB: u32 = 0xFFFF_FFF0;
    /// The largest length or count.
    const HUGE: u32 = u32::MAX;
    /// The largest 64-bit value (offsets, lengths, rights, timestamps).
    const BIG: u64 = u64::MAX;
    /// A descriptor that is not open (3 would be the first preopen).
    const NO_FD: u32 = 99;
    const NO_DIR: u32 = 3;

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn args_get(argv: u32, buf: u32) -> u32;
        fn args_sizes_get(argc: u32, size: u32) -> u32;
        fn environ_get(env: u32, buf: u32) -> u32;
        fn environ_sizes_get(count: u32, size: u32) -> u32;
        fn clock_res_get(id: u32, res: u32) -> u32;
        fn clock_time_get(id: u32, precision: u64, time: u32) -> u32;
        fn fd_advise(fd: u32, offset: u64, len: u64, advice: u32) -> u32;
        fn fd_allocate(fd: u32, offset: u64, len: u64) -> u32;
        fn fd_close(fd: u32) -> u32;
        fn fd_datasync(fd: u32) -> u32;
        fn fd_fdstat_get(fd: u32, buf: u32) -> u32;
        fn fd_fdstat_set_flags(fd: u32, flags: u32) -> u32;
        fn fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64) -> u32;
        fn fd_filestat_get(fd: u32, buf: u32) -> u32;
        fn fd_filestat_set_size(fd: u32, size: u64) -> u32;
        fn fd_filestat_set_times(fd: u32, atime: u64, mtime: u64, flags: u32) -> u32;
        fn fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32) -> u32;
        fn fd_prestat_get(fd: u32, buf: u32) -> u32;
        fn fd_prestat_dir_name(fd: u32, path: u32, len: u32) -> u32;
        fn fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32) -> u32;
        fn fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32) -> u32;
        fn fd_readdir(fd: u32, buf: u32, len: u32, cookie: u64, used: u32) -> u32;
        fn fd_renumber(fd: u32, to: u32) -> u32;
        fn fd_seek(fd: u32, offset: u64, whence: u32, new_offset: u32) -> u32;
        fn fd_sync(fd: u32) -> u32;
        fn fd_tell(fd: u32, offset: u32) -> u32;
        fn fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32) -> u32;
        fn path_create_directory(fd: u32, path: u32, len: u32) -> u32;
        fn path_filestat_get(fd: u32, flags: u32, path: u32, len: u32, buf: u32) -> u32;
        fn path_filestat_set_times(
            fd: u32,
            flags: u32,
            path: u32,
            len: u32,
            atime: u64,
            mtime: u64,
            fst_flags: u32,
        ) -> u32;
        fn path_link(
            old_fd: u32,
            old_flags: u32,
            old_path: u32,
            old_len: u32,
            new_fd: u32,
            new_path: u32,
            new_len: u32,
        ) -> u32;
        fn path_open(
            fd: u32,
            dirflags: u32,
            path: u32,
            len: u32,
            oflags: u32,
            rights_base: u64,
            rights_inheriting: u64,
            fdflags: u32,
            opened: u32,
        ) -> u32;
        fn path_readlink(fd: u32, path: u32, len: u32, buf: u32, buf_len: u32, used: u32) -> u32;
        fn path_remove_directory(fd: u32, path: u32, len: u32) -> u32;
        fn path_rename(
            fd: u32,
            old_path: u32,
            old_len: u32,
            new_fd: u32,
            new_path: u32,
            new_len: u32,
        ) -> u32;
        fn path_symlink(old_path: u32, old_len: u32, fd: u32, new_path: u32, new_len: u32) -> u32;
        fn path_unlink_file(fd: u32, path: u32, len: u32) -> u32;
        fn poll_oneoff(subs: u32, events: u32, nsubs: u32, nevents: u32) -> u32;
        fn proc_raise(signal: u32) -> u32;
        fn sched_yield() -> u32;
        fn random_get(buf: u32, len: u32) -> u32;
        fn sock_accept(fd: u32, flags: u32, opened: u32) -> u32;
        fn sock_recv(
            fd: u32,
            data: u32,
            data_len: u32,
            flags: u32,
            received: u32,
            out_flags: u32,
        ) -> u32;
        fn sock_send(fd: u32, data: u32, data_len: u32, flags: u32, sent: u32) -> u32;
        fn sock_shutdown(fd: u32, how: u32) -> u32;
    }

    /// A guest address, as the 32-bit number WASI takes.
    fn addr<T>(value: &T) -> u32 {
        (value as *const T as usize) as u32
    }

    /// A guest address the host may write to.
    fn addr_mut<T>(value: &mut T) -> u32 {
        (value as *mut T as usize) as u32
    }

    /// Writes `bytes` to `fd` again and again, forever, picking up after
    /// short writes; after an error it starts over.
    pub(crate) fn flood(fd: u32, bytes: &[u8]) -> ! {
        let (start, len) = (bytes.as_ptr() as usize as u32, bytes.len() as u32);
        loop {
            let mut done = 0u32;
            while done < len {
                let iovec: [u32; 2] = [start + done, len - done];
                let mut written = 0u32;
                // SAFETY: `iovec` names the rest of `bytes`, which outlives
                // the call; the host writes only the 4 bytes of `written`.
                let errno = unsafe { fd_write(fd, addr(&iovec), 1, addr_mut(&mut written)) };
                if errno != 0 || written == 0 {
                    break;
                }
                done = done.saturating_add(written).min(len);
            }
        }
    }

    /// Writes `head`, a fresh decimal id, `tail` (one request line, 4 KiB at
    /// most so each write is whole), forever.
    pub(crate) fn request_flood(head: &[u8], tail: &[u8]) -> ! {
        let mut digits = [0u8; 20];
        let mut written = 0u32;
        for id in 1_000_000u64.. {
            let mut at = digits.len();
            let mut n = id;
            while n > 0 || at == digits.len() {
                at -= 1;
                digits[at] = b'0' + (n % 10) as u8;
                n /= 10;
            }
            let iovecs: [u32; 6] = [
                head.as_ptr() as usize as u32,
                head.len() as u32,
                digits[at..].as_ptr() as usize as u32,
                (digits.len() - at) as u32,
                tail.as_ptr() as usize as u32,
                tail.len() as u32,
            ];
            // SAFETY: the iovecs name `head`, `digits` and `tail`, which
            // outlive the call; the host writes only the 4 bytes of `written`.
            unsafe { fd_write(1, addr(&iovecs), 3, addr_mut(&mut written)) };
        }
        unreachable!("ids run out after 2^64")
    }

    /// Calls each function with bad arguments; returns the errnos, in
    /// `ALL_FUNCTIONS` order.
    pub(crate) fn poke() -> Result<Vec<(&'static str, Vec<u32>)>, Error> {
        // Scratch memory the host must never write: every call below fails
        // before it writes anything.
        let mut scratch = [0xAAAA_AAAA_AAAA_AAAA_u64; 64];
        let good = addr_mut(&mut scratch); // 8-aligned, in bounds
        let odd = good + 1; // misaligned for everything wider than a byte
        let half = good + 4; // 4-aligned, not 8-aligned
        // iovec lists (the host only reads them): a buffer out of bounds, a
        // length that overflows, and a valid one into the scratch.
        let iov_oob: [u32; 2] = [OOB, 16];
        let iov_huge: [u32; 2] = [good, HUGE];
        let iov_ok: [u32; 2] = [good, 8];
        let (iov_oob, iov_huge, iov_ok) = (addr(&iov_oob), addr(&iov_huge), addr(&iov_ok));

        // SAFETY: each import is a WASI preview 1 function with exactly this
        // wasm signature. Every call passes only numbers: the host checks
        // them, and the few that point at memory point at `scratch` or the
        // iovec arrays above, which live across the calls and which the host
        // does not write (the calls fail first; checked below).
        let calls = unsafe {
            vec![
                (
                    "args_get",
                    vec![
                        args_get(OOB, good),
                        args_get(odd, good),
                        args_get(good, OOB),
                    ],
                ),
                (
                    "args_sizes_get",
                    vec![args_sizes_get(OOB, good), args_sizes_get(odd, good)],
                ),
                (
                    "environ_get",
                    vec![environ_get(OOB, good), environ_get(odd, good)],
                ),
                (
                    "environ_sizes_get",
                    vec![environ_sizes_get(OOB, good), environ_sizes_get(odd, good)],
                ),
                (
                    "clock_res_get",
                    vec![
                        clock_res_get(0, OOB),
                        clock_res_get(1, odd),
                        clock_res_get(99, good),
                        clock_res_get(HUGE, good),
                    ],
                ),
                (
                    "clock_time_get",
                    vec![
                        clock_time_get(1, 0, OOB),
                        clock_time_get(1, 0, odd),
                        clock_time_get(0, BIG, half),
                        clock_time_get(99, 0, good),
                    ],
                ),
                (
                    "fd_advise",
                    vec![
                        fd_advise(1, BIG, BIG, HUGE),
                        fd_advise(NO_FD, BIG, BIG, HUGE),
                    ],
                ),
                (
                    "fd_allocate",
                    vec![fd_allocate(1, BIG, BIG), fd_allocate(HUGE, BIG, BIG)],
                ),
                ("fd_close", vec![fd_close(NO_FD), fd_close(HUGE)]),
                ("fd_datasync", vec![fd_datasync(1), fd_datasync(NO_FD)]),
                (
                    "fd_fdstat_get",
                    vec![
                        fd_fdstat_get(1, OOB),
                        fd_fdstat_get(1, odd),
                        fd_fdstat_get(1, half),
                        fd_fdstat_get(NO_FD, good),
                    ],
                ),
                (
                    "fd_fdstat_set_flags",
                    vec![
                        fd_fdstat_set_flags(NO_FD, 0),
                        fd_fdstat_set_flags(1, HUGE),
                        fd_fdstat_set_flags(1, 0x10),
                    ],
                ),
                (
                    "fd_fdstat_set_rights",
                    vec![
                        fd_fdstat_set_rights(1, BIG, BIG),
                        fd_fdstat_set_rights(NO_FD, 0, 0),
                    ],
                ),
                (
                    "fd_filestat_get",
                    vec![
                        fd_filestat_get(1, OOB),
                        fd_filestat_get(1, odd),
                        fd_filestat_get(NO_FD, good),
                    ],
                ),
                (
                    "fd_filestat_set_size",
                    vec![fd_filestat_set_size(1, BIG), fd_filestat_set_size(NO_FD, 0)],
                ),
                (
                    "fd_filestat_set_times",
                    vec![
                        fd_filestat_set_times(1, BIG, BIG, HUGE),
                        fd_filestat_set_times(NO_FD, 0, 0, 0),
                    ],
                ),
                (
                    "fd_pread",
                    vec![
                        fd_pread(0, OOB, HUGE, BIG, OOB),
                        fd_pread(NO_FD, OOB, HUGE, BIG, OOB),
                    ],
                ),
                (
                    "fd_prestat_get",
                    vec![fd_prestat_get(NO_DIR, OOB), fd_prestat_get(HUGE, odd)],
                ),
                (
                    "fd_prestat_dir_name",
                    vec![fd_prestat_dir_name(NO_DIR, OOB, HUGE)],
                ),
                (
                    "fd_pwrite",
                    vec![
                        fd_pwrite(1, OOB, HUGE, BIG, OOB),
                        fd_pwrite(NO_FD, OOB, HUGE, BIG, OOB),
                    ],
                ),
                (
                    "fd_read",
                    vec![
                        fd_read(0, OOB, 1, good),
                        fd_read(0, good, HUGE, good),
                        fd_read(0, good, 1025, good),
                        fd_read(0, odd, 1, good),
                        fd_read(0, iov_oob, 1, good),
                        fd_read(0, iov_huge, 1, good),
                        fd_read(0, iov_ok, 1, OOB),
                        fd_read(0, iov_ok, 1, odd),
                        fd_read(1, iov_ok, 1, good),
                        fd_read(NO_FD, iov_ok, 1, good),
                    ],
                ),
                (
                    "fd_readdir",
                    vec![
                        fd_readdir(1, OOB, HUGE, BIG, OOB),
                        fd_readdir(NO_FD, OOB, HUGE, BIG, OOB),
                    ],
                ),
                (
                    "fd_renumber",
                    vec![
                        fd_renumber(1, 2),
                        fd_renumber(1, NO_FD),
                        fd_renumber(NO_FD, 1),
                    ],
                ),
                (
                    "fd_seek",
                    vec![fd_seek(1, BIG, HUGE, OOB), fd_seek(NO_FD, 0, 0, good)],
                ),
                ("fd_sync", vec![fd_sync(1), fd_sync(NO_FD)]),
                ("fd_tell", vec![fd_tell(1, OOB), fd_tell(NO_FD, odd)]),
                (
                    "fd_write",
                    vec![
                        fd_write(1, OOB, 1, good),
                        fd_write(1, good, HUGE, good),
                        fd_write(1, good, 1025, good),
                        fd_write(1, odd, 1, good),
                        fd_write(1, iov_oob, 1, good),
                        fd_write(1, iov_huge, 1, good),
                        fd_write(1, iov_ok, 1, OOB),
                        fd_write(1, iov_ok, 1, odd),
                        fd_write(2, iov_oob, 1, good),
                        fd_write(0, iov_ok, 1, good),
                        fd_write(NO_FD, iov_ok, 1, good),
                    ],
                ),
                (
                    "path_create_directory",
                    vec![
                        path_create_directory(NO_DIR, OOB, HUGE),
                        path_create_directory(1, OOB, HUGE),
                    ],
                ),
                (
                    "path_filestat_get",
                    vec![
                        path_filestat_get(NO_DIR, HUGE, OOB, HUGE, OOB),
                        path_filestat_get(1, HUGE, OOB, HUGE, odd),
                    ],
                ),
                (
                    "path_filestat_set_times",
                    vec![
                        path_filestat_set_times(NO_DIR, HUGE, OOB, HUGE, BIG, BIG, HUGE),
                        path_filestat_set_times(1, HUGE, OOB, HUGE, BIG, BIG, HUGE),
                    ],
                ),
                (
                    "path_link",
                    vec![
                        path_link(NO_DIR, 0, OOB, HUGE, NO_DIR, OOB, HUGE),
                        path_link(1, HUGE, OOB, HUGE, 1, odd, HUGE),
                    ],
                ),
                (
                    "path_open",
                    vec![
                        path_open(NO_DIR, 0, OOB, HUGE, HUGE, BIG, BIG, HUGE, OOB),
                        path_open(1, HUGE, OOB, HUGE, HUGE, BIG, BIG, HUGE, odd),
                    ],
                ),
                (
                    "path_readlink",
                    vec![
                        path_readlink(NO_DIR, OOB, HUGE, OOB, HUGE, OOB),
                        path_readlink(1, OOB, HUGE, odd, HUGE, odd),
                    ],
                ),
                (
                    "path_remove_directory",
                    vec![
                        path_remove_directory(NO_DIR, OOB, HUGE),
                        path_remove_directory(1, OOB, HUGE),
                    ],
                ),
                (
                    "path_rename",
                    vec![
                        path_rename(NO_DIR, OOB, HUGE, NO_DIR, OOB, HUGE),
                        path_rename(1, OOB, HUGE, 1, OOB, HUGE),
                    ],
                ),
                (
                    "path_symlink",
                    vec![
                        path_symlink(OOB, HUGE, NO_DIR, OOB, HUGE),
                        path_symlink(OOB, HUGE, 1, OOB, HUGE),
                    ],
                ),
                (
                    "path_unlink_file",
                    vec![
                        path_unlink_file(NO_DIR, OOB, HUGE),
                        path_unlink_file(1, OOB, HUGE),
                    ],
                ),
                (
                    "poll_oneoff",
                    vec![
                        poll_oneoff(good, good, 0, good),
                        poll_oneoff(OOB, good, 1, good),
                        poll_oneoff(odd, good, 1, good),
                        poll_oneoff(good, good, HUGE, good),
                        poll_oneoff(good, OOB, 1, good),
                        poll_oneoff(good, half, 1, good),
                        poll_oneoff(good, good, 1, odd),
                        // The scratch holds no valid subscription.
                        poll_oneoff(good, good, 1, good),
                    ],
                ),
                (
                    "proc_raise",
                    vec![
                        proc_raise(HUGE),
                        proc_raise(31),
                        proc_raise(262),
                        proc_raise(0),
                    ],
                ),
                ("sched_yield", vec![sched_yield()]),
                (
                    "random_get",
                    vec![
                        random_get(OOB, 16),
                        random_get(good, HUGE),
                        random_get(HUGE, 1),
                    ],
                ),
                (
                    "sock_accept",
                    vec![sock_accept(1, HUGE, OOB), sock_accept(NO_FD, 0, odd)],
                ),
                (
                    "sock_recv",
                    vec![
                        sock_recv(1, OOB, HUGE, HUGE, OOB, OOB),
                        sock_recv(NO_FD, OOB, HUGE, HUGE, odd, odd),
                    ],
                ),
                (
                    "sock_send",
                    vec![
                        sock_send(1, OOB, HUGE, HUGE, OOB),
                        sock_send(NO_FD, OOB, HUGE, HUGE, odd),
                    ],
                ),
                (
                    "sock_shutdown",
                    vec![sock_shutdown(1, HUGE), sock_shutdown(NO_FD, 0)],
                ),
            ]
        };
        let scratch = std::hint::black_box(&mut scratch);
        if scratch.iter().any(|&word| word != 0xAAAA_AAAA_AAAA_AAAA) {
            return Err(Error::internal("a failed WASI call wrote guest memory"));
        }
        Ok(calls)
    }
}

/// Off WASI (`cargo build --workspace` builds this guest for the host too)
/// there are no WASI imports to call.
#[cfg(not(target_os = "wasi"))]
mod wasi {
    use std::io::Write;
    use wasplug_pdk::Error;

    /// Writes `bytes` to stdout (1) or stderr forever.
    pub(crate) fn flood(fd: u32, bytes: &[u8]) -> ! {
        loop {
            let _ = match fd {
                1 => std::io::stdout().write_all(bytes),
                _ => std::io::stderr().write_all(bytes),
            };
        }
    }

    /// Writes `head`, a fresh decimal id, `tail`, forever.
    pub(crate) fn request_flood(head: &[u8], tail: &[u8]) -> ! {
        let mut out = std::io::stdout().lock();
        for id in 1_000_000u64.. {
            let _ = out
                .write_all(head)
                .and_then(|()| write!(out, "{id}"))
                .and_then(|()| out.write_all(tail));
        }
        unreachable!("ids run out after 2^64")
    }

    /// Always fails: this is not a WASI program.
    pub(crate) fn poke() -> Result<Vec<(&'static str, Vec<u32>)>, Error> {
        Err(Error::internal("wasi_poke needs WASI"))
    }
}
