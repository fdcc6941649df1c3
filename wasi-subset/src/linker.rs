//! Registers the 46 `wasi_snapshot_preview1` functions with a wasmi linker.

use crate::{
    Errno, GuestMemory, Stop, WasiCtx, funcs,
    meter::{CALL_FUEL, Meter},
    stop::{BlockingCall, PendingCall},
};
use wasmi::{AsContextMut, Caller, Extern, Linker, Memory, errors::LinkerError};

/// The import module name of WASI preview 1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The functions of `wasi_snapshot_preview1` this subset implements; every
/// other function of [`ALL_FUNCTIONS`] is linked and answers with an errno.
pub const SUPPORTED_FUNCTIONS: [&str; 19] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_filestat_get",
    "fd_read",
    "fd_write",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "random_get",
    "sched_yield",
    "fd_prestat_get",
    "fd_prestat_dir_name",
];

/// All 46 functions of `wasi_snapshot_preview1`, each linked by [`add_to_linker`].
pub const ALL_FUNCTIONS: [&str; 46] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// The signature of every `wasi_snapshot_preview1` function, as
/// `"params>results"` with `i` for `i32` and `I` for `i64`.
const SIGNATURES: [(&str, &str); 46] = [
    ("args_get", "ii>i"),
    ("args_sizes_get", "ii>i"),
    ("environ_get", "ii>i"),
    ("environ_sizes_get", "ii>i"),
    ("clock_res_get", "ii>i"),
    ("clock_time_get", "iIi>i"),
    ("fd_advise", "iIIi>i"),
    ("fd_allocate", "iII>i"),
    ("fd_close", "i>i"),
    ("fd_datasync", "i>i"),
    ("fd_fdstat_get", "ii>i"),
    ("fd_fdstat_set_flags", "ii>i"),
    ("fd_fdstat_set_rights", "iII>i"),
    ("fd_filestat_get", "ii>i"),
    ("fd_filestat_set_size", "iI>i"),
    ("fd_filestat_set_times", "iIIi>i"),
    ("fd_pread", "iiiIi>i"),
    ("fd_prestat_get", "ii>i"),
    ("fd_prestat_dir_name", "iii>i"),
    ("fd_pwrite", "iiiIi>i"),
    ("fd_read", "iiii>i"),
    ("fd_readdir", "iiiIi>i"),
    ("fd_renumber", "ii>i"),
    ("fd_seek", "iIii>i"),
    ("fd_sync", "i>i"),
    ("fd_tell", "ii>i"),
    ("fd_write", "iiii>i"),
    ("path_create_directory", "iii>i"),
    ("path_filestat_get", "iiiii>i"),
    ("path_filestat_set_times", "iiiiIIi>i"),
    ("path_link", "iiiiiii>i"),
    ("path_open", "iiiiiIIii>i"),
    ("path_readlink", "iiiiii>i"),
    ("path_remove_directory", "iii>i"),
    ("path_rename", "iiiiii>i"),
    ("path_symlink", "iiiii>i"),
    ("path_unlink_file", "iii>i"),
    ("poll_oneoff", "iiii>i"),
    ("proc_exit", "i>"),
    ("proc_raise", "i>i"),
    ("sched_yield", ">i"),
    ("random_get", "ii>i"),
    ("sock_accept", "iii>i"),
    ("sock_recv", "iiiiii>i"),
    ("sock_send", "iiiii>i"),
    ("sock_shutdown", "ii>i"),
];

/// The signature WASI gives function `name` of [`MODULE`], or `None` when
/// preview 1 has no such function.
///
/// ```
/// use wasmi::ValType;
///
/// let ty = wasplug_wasi::signature("fd_write").unwrap();
/// assert_eq!(ty.params(), [ValType::I32; 4]);
/// assert_eq!(ty.results(), [ValType::I32]);
/// assert!(wasplug_wasi::signature("fd_fly").is_none());
/// ```
pub fn signature(name: &str) -> Option<wasmi::FuncType> {
    let (_, encoded) = SIGNATURES.iter().find(|(n, _)| *n == name)?;
    let (params, results) = encoded.split_once('>')?;
    let types = |s: &str| -> Vec<wasmi::ValType> {
        s.chars()
            .map(|c| {
                if c == 'I' {
                    wasmi::ValType::I64
                } else {
                    wasmi::ValType::I32
                }
            })
            .collect()
    };
    Some(wasmi::FuncType::new(types(params), types(results)))
}

/// Bit-casts a wasm `i32` argument to the unsigned value WASI means by it.
fn u(value: i32) -> u32 {
    value as u32
}

fn memory_of<T>(
    caller: &mut Caller<'_, T>,
    project: impl Fn(&mut T) -> &mut WasiCtx,
) -> Result<Memory, wasmi::Error> {
    if let Some(memory) = project(caller.data_mut()).memory {
        return Ok(memory);
    }
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| wasmi::Error::host(Stop::NoMemory))
}

/// The fuel account of a WASI call that has just begun: [`CALL_FUEL`] is
/// already spent.
fn meter_call<T>(caller: &Caller<'_, T>) -> Meter {
    let mut meter = Meter::new(caller.get_fuel().ok());
    meter.charge(CALL_FUEL);
    meter
}

/// Charges a call that does nothing but [`CALL_FUEL`]'s worth of work.
fn charge_call<T>(caller: &mut Caller<'_, T>) {
    meter_call(caller).settle(caller);
}

/// Runs a non-blocking function body with the context, checked memory and
/// its fuel account.
fn with_memory<T>(
    caller: &mut Caller<'_, T>,
    project: impl Fn(&mut T) -> &mut WasiCtx,
    body: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>, &mut Meter) -> Result<(), Errno>,
) -> Result<i32, wasmi::Error> {
    let mut meter = meter_call(caller);
    let memory = memory_of(caller, &project)?;
    let (bytes, data) = memory.data_and_store_mut(caller.as_context_mut());
    let outcome = body(project(data), &mut GuestMemory::new(bytes), &mut meter);
    meter.settle(caller);
    Ok(outcome.err().unwrap_or(Errno::Success).into())
}

/// Runs a call that may suspend the guest; on suspension the call is kept in
/// the context for [`crate::complete`].
fn blocking<T>(
    caller: &mut Caller<'_, T>,
    project: impl Fn(&mut T) -> &mut WasiCtx,
    mut call: BlockingCall,
) -> Result<i32, wasmi::Error> {
    let mut meter = meter_call(caller);
    let memory = memory_of(caller, &project)?;
    let (bytes, data) = memory.data_and_store_mut(caller.as_context_mut());
    let ctx = project(data);
    let outcome = match call.run(ctx, &mut GuestMemory::new(bytes), &mut meter) {
        Ok(errno) => Ok(errno.into()),
        Err(blocked) => {
            ctx.pending = Some(PendingCall {
                call,
                memory,
                blocked,
            });
            Err(wasmi::Error::host(Stop::Blocked(blocked)))
        }
    };
    meter.settle(caller);
    outcome
}

/// What an unsupported function answers: `EBADF` for a descriptor that is not
/// open, `on_stdio` for one of the open stdio descriptors.
fn by_fd<T>(
    caller: &mut Caller<'_, T>,
    project: impl Fn(&mut T) -> &mut WasiCtx,
    fd: i32,
    on_stdio: Errno,
) -> i32 {
    charge_call(caller);
    let errno = if project(caller.data_mut()).is_open(u(fd)) {
        on_stdio
    } else {
        Errno::Badf
    };
    errno.into()
}

/// Links every `wasi_snapshot_preview1` function into `linker`.
///
/// `project` finds the [`WasiCtx`] inside the store's data, so the subset can
/// live in any store type. Functions outside the supported subset are linked
/// too and answer with the errno a system without that capability gives
/// (`EBADF` for a descriptor that does not exist; `ENOTDIR`, `ESPIPE`,
/// `ENOTSOCK`, `ENOTCAPABLE` or `ENOSYS` otherwise), so any `wasm32-wasip1`
/// program links and starts.
///
/// When the store meters fuel, every function charges it for the host work
/// it does (see [`crate::CALL_FUEL`] and the rates beside it).
///
/// # Errors
/// When `linker` already defines one of these names.
///
/// # Example
/// ```
/// use wasmi::{Engine, Linker};
/// use wasplug_wasi::{WasiCtx, add_to_linker};
///
/// struct State { wasi: WasiCtx, calls: u32 }
///
/// let engine = Engine::default();
/// let mut linker = Linker::<State>::new(&engine);
/// add_to_linker(&mut linker, |s: &mut State| &mut s.wasi)?;
/// # Ok::<(), wasmi::errors::LinkerError>(())
/// ```
pub fn add_to_linker<T, F>(linker: &mut Linker<T>, project: F) -> Result<(), LinkerError>
where
    T: 'static,
    F: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let p = project;
    let m = MODULE;
    linker.func_wrap(
        m,
        "args_get",
        move |mut c: Caller<'_, T>, argv: i32, buf: i32| {
            with_memory(&mut c, p, |ctx, mem, meter| {
                funcs::args_get(ctx, mem, meter, u(argv), u(buf))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "args_sizes_get",
        move |mut c: Caller<'_, T>, argc: i32, size: i32| {
            with_memory(&mut c, p, |ctx, mem, meter| {
                funcs::args_sizes_get(ctx, mem, meter, u(argc), u(size))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "environ_get",
        move |mut c: Caller<'_, T>, env: i32, buf: i32| {
            with_memory(&mut c, p, |ctx, mem, meter| {
                funcs::environ_get(ctx, mem, meter, u(env), u(buf))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "environ_sizes_get",
        move |mut c: Caller<'_, T>, n: i32, size: i32| {
            with_memory(&mut c, p, |ctx, mem, meter| {
                funcs::environ_sizes_get(ctx, mem, meter, u(n), u(size))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "clock_res_get",
        move |mut c: Caller<'_, T>, id: i32, res: i32| {
            with_memory(&mut c, p, |ctx, mem, _| {
                funcs::clock_res_get(ctx, mem, u(id), u(res))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "clock_time_get",
        move |mut c: Caller<'_, T>, id: i32, _precision: i64, time: i32| {
            with_memory(&mut c, p, |ctx, mem, _| {
                funcs::clock_time_get(ctx, mem, u(id), u(time))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "random_get",
        move |mut c: Caller<'_, T>, buf: i32, len: i32| {
            let call = BlockingCall::RandomGet {
                buf: u(buf),
                len: u(len),
                filled: 0,
            };
            blocking(&mut c, p, call)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_read",
        move |mut c: Caller<'_, T>, fd: i32, iovs: i32, iovs_len: i32, nread: i32| {
            let call = BlockingCall::FdRead {
                fd: u(fd),
                iovs: u(iovs),
                iovs_len: u(iovs_len),
                nread: u(nread),
            };
            blocking(&mut c, p, call)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_write",
        move |mut c: Caller<'_, T>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| {
            let call = BlockingCall::FdWrite {
                args: funcs::WriteArgs {
                    fd: u(fd),
                    iovs: u(iovs),
                    iovs_len: u(iovs_len),
                    nwritten: u(nwritten),
                },
                written: 0,
            };
            blocking(&mut c, p, call)
        },
    )?;
    linker.func_wrap(
        m,
        "poll_oneoff",
        move |mut c: Caller<'_, T>, subs: i32, events: i32, nsubs: i32, nevents: i32| {
            let call = BlockingCall::PollOneoff {
                args: funcs::PollArgs {
                    subs: u(subs),
                    events: u(events),
                    nsubs: u(nsubs),
                    nevents: u(nevents),
                },
                origin: None,
            };
            blocking(&mut c, p, call)
        },
    )?;
    linker.func_wrap(m, "fd_close", move |mut c: Caller<'_, T>, fd: i32| -> i32 {
        charge_call(&mut c);
        funcs::fd_close(p(c.data_mut()), u(fd))
            .err()
            .unwrap_or(Errno::Success)
            .into()
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_get",
        move |mut c: Caller<'_, T>, fd: i32, buf: i32| {
            with_memory(&mut c, p, |ctx, mem, _| {
                funcs::fd_fdstat_get(ctx, mem, u(fd), u(buf))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_fdstat_set_flags",
        move |mut c: Caller<'_, T>, fd: i32, flags: i32| -> i32 {
            charge_call(&mut c);
            funcs::fd_fdstat_set_flags(p(c.data_mut()), u(fd), u(flags))
                .err()
                .unwrap_or(Errno::Success)
                .into()
        },
    )?;
    linker.func_wrap(
        m,
        "fd_filestat_get",
        move |mut c: Caller<'_, T>, fd: i32, buf: i32| {
            with_memory(&mut c, p, |ctx, mem, _| {
                funcs::fd_filestat_get(ctx, mem, u(fd), u(buf))
            })
        },
    )?;
    linker.func_wrap(m, "sched_yield", move |mut c: Caller<'_, T>| -> i32 {
        charge_call(&mut c);
        Errno::Success.into()
    })?;
    linker.func_wrap(
        m,
        "proc_exit",
        move |mut c: Caller<'_, T>, status: i32| -> Result<(), wasmi::Error> {
            charge_call(&mut c);
            p(c.data_mut()).exit_code = Some(status);
            Err(wasmi::Error::i32_exit(status))
        },
    )?;
    linker.func_wrap(
        m,
        "proc_raise",
        move |mut c: Caller<'_, T>, signal: i32| -> Result<i32, wasmi::Error> {
            charge_call(&mut c);
            // WASI signals are 0..=30; 0 tests nothing and returns. Signals
            // whose default action is to be ignored (CHLD, CONT, URG, WINCH)
            // or to stop the process (STOP, TSTP, TTIN, TTOU: there is no job
            // control) return; every other signal terminates the guest.
            match u8::try_from(signal) {
                Ok(0 | 16..=22 | 27) => Ok(Errno::Success.into()),
                Ok(sig @ 1..=30) => Err(wasmi::Error::host(Stop::Signal(sig))),
                _ => Ok(Errno::Inval.into()),
            }
        },
    )?;

    // No preopened directories: wasi-libc and Rust std probe fd 3 upwards until EBADF.
    linker.func_wrap(
        m,
        "fd_prestat_get",
        move |mut c: Caller<'_, T>, _fd: i32, _buf: i32| -> i32 {
            charge_call(&mut c);
            Errno::Badf.into()
        },
    )?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        move |mut c: Caller<'_, T>, _fd: i32, _path: i32, _len: i32| -> i32 {
            charge_call(&mut c);
            Errno::Badf.into()
        },
    )?;

    // Descriptor operations a pipe does not have.
    linker.func_wrap(
        m,
        "fd_advise",
        move |mut c: Caller<'_, T>, fd: i32, _off: i64, _len: i64, _advice: i32| {
            by_fd(&mut c, p, fd, Errno::Spipe)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_allocate",
        move |mut c: Caller<'_, T>, fd: i32, _off: i64, _len: i64| {
            by_fd(&mut c, p, fd, Errno::Spipe)
        },
    )?;
    linker.func_wrap(m, "fd_datasync", move |mut c: Caller<'_, T>, fd: i32| {
        by_fd(&mut c, p, fd, Errno::Inval)
    })?;
    linker.func_wrap(m, "fd_sync", move |mut c: Caller<'_, T>, fd: i32| {
        by_fd(&mut c, p, fd, Errno::Inval)
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_set_rights",
        move |mut c: Caller<'_, T>, fd: i32, _base: i64, _inh: i64| {
            by_fd(&mut c, p, fd, Errno::Notcapable)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_filestat_set_size",
        move |mut c: Caller<'_, T>, fd: i32, _size: i64| by_fd(&mut c, p, fd, Errno::Inval),
    )?;
    linker.func_wrap(
        m,
        "fd_filestat_set_times",
        move |mut c: Caller<'_, T>, fd: i32, _a: i64, _m: i64, _f: i32| {
            by_fd(&mut c, p, fd, Errno::Notcapable)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pread",
        move |mut c: Caller<'_, T>, fd: i32, _iovs: i32, _len: i32, _off: i64, _n: i32| {
            by_fd(&mut c, p, fd, Errno::Spipe)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pwrite",
        move |mut c: Caller<'_, T>, fd: i32, _iovs: i32, _len: i32, _off: i64, _n: i32| {
            by_fd(&mut c, p, fd, Errno::Spipe)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_readdir",
        move |mut c: Caller<'_, T>, fd: i32, _buf: i32, _len: i32, _cookie: i64, _used: i32| {
            by_fd(&mut c, p, fd, Errno::Notdir)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_renumber",
        move |mut c: Caller<'_, T>, fd: i32, to: i32| -> i32 {
            charge_call(&mut c);
            let ctx = p(c.data_mut());
            let errno = if ctx.is_open(u(fd)) && ctx.is_open(u(to)) {
                Errno::Notsup
            } else {
                Errno::Badf
            };
            errno.into()
        },
    )?;
    linker.func_wrap(
        m,
        "fd_seek",
        move |mut c: Caller<'_, T>, fd: i32, _off: i64, _whence: i32, _new: i32| {
            by_fd(&mut c, p, fd, Errno::Spipe)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_tell",
        move |mut c: Caller<'_, T>, fd: i32, _off: i32| by_fd(&mut c, p, fd, Errno::Spipe),
    )?;

    // Paths: there is no file system. A stdio descriptor is not a directory.
    linker.func_wrap(
        m,
        "path_create_directory",
        move |mut c: Caller<'_, T>, fd: i32, _p: i32, _l: i32| by_fd(&mut c, p, fd, Errno::Notdir),
    )?;
    linker.func_wrap(
        m,
        "path_filestat_get",
        move |mut c: Caller<'_, T>, fd: i32, _f: i32, _p: i32, _l: i32, _b: i32| {
            by_fd(&mut c, p, fd, Errno::Notdir)
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_set_times",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _f: i32,
              _p: i32,
              _l: i32,
              _a: i64,
              _m: i64,
              _fl: i32| { by_fd(&mut c, p, fd, Errno::Notdir) },
    )?;
    linker.func_wrap(
        m,
        "path_link",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _f: i32,
              _op: i32,
              _ol: i32,
              _nfd: i32,
              _np: i32,
              _nl: i32| { by_fd(&mut c, p, fd, Errno::Notdir) },
    )?;
    linker.func_wrap(
        m,
        "path_open",
        move |mut c: Caller<'_, T>,
              fd: i32,
              _df: i32,
              _p: i32,
              _l: i32,
              _of: i32,
              _rb: i64,
              _ri: i64,
              _ff: i32,
              _out: i32| { by_fd(&mut c, p, fd, Errno::Notdir) },
    )?;
    linker.func_wrap(
        m,
        "path_readlink",
        move |mut c: Caller<'_, T>, fd: i32, _p: i32, _l: i32, _b: i32, _bl: i32, _u: i32| {
            by_fd(&mut c, p, fd, Errno::Notdir)
        },
    )?;
    linker.func_wrap(
        m,
        "path_remove_directory",
        move |mut c: Caller<'_, T>, fd: i32, _p: i32, _l: i32| by_fd(&mut c, p, fd, Errno::Notdir),
    )?;
    linker.func_wrap(
        m,
        "path_rename",
        move |mut c: Caller<'_, T>, fd: i32, _op: i32, _ol: i32, _nfd: i32, _np: i32, _nl: i32| {
            by_fd(&mut c, p, fd, Errno::Notdir)
        },
    )?;
    linker.func_wrap(
        m,
        "path_symlink",
        move |mut c: Caller<'_, T>, _op: i32, _ol: i32, fd: i32, _np: i32, _nl: i32| {
            by_fd(&mut c, p, fd, Errno::Notdir)
        },
    )?;
    linker.func_wrap(
        m,
        "path_unlink_file",
        move |mut c: Caller<'_, T>, fd: i32, _p: i32, _l: i32| by_fd(&mut c, p, fd, Errno::Notdir),
    )?;

    // Sockets: there is no network.
    linker.func_wrap(
        m,
        "sock_accept",
        move |mut c: Caller<'_, T>, fd: i32, _f: i32, _out: i32| {
            by_fd(&mut c, p, fd, Errno::Notsock)
        },
    )?;
    linker.func_wrap(
        m,
        "sock_recv",
        move |mut c: Caller<'_, T>, fd: i32, _d: i32, _dl: i32, _f: i32, _n: i32, _of: i32| {
            by_fd(&mut c, p, fd, Errno::Notsock)
        },
    )?;
    linker.func_wrap(
        m,
        "sock_send",
        move |mut c: Caller<'_, T>, fd: i32, _d: i32, _dl: i32, _f: i32, _n: i32| {
            by_fd(&mut c, p, fd, Errno::Notsock)
        },
    )?;
    linker.func_wrap(
        m,
        "sock_shutdown",
        move |mut c: Caller<'_, T>, fd: i32, _how: i32| by_fd(&mut c, p, fd, Errno::Notsock),
    )?;
    Ok(())
}
