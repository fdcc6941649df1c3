//! Why a guest stops inside a WASI call, and how to finish that call on resume.

use crate::{Errno, GuestMemory, WasiCtx, funcs, meter::Meter};
use wasmi::{AsContextMut, Memory, Val};

/// What a suspended guest waits for.
///
/// Deadlines are instants on the context's monotonic clock, in nanoseconds
/// (see [`WasiCtx::monotonic_now`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Blocked {
    /// The guest wants to read stdin and it is empty and open: push input or
    /// close stdin. With a deadline (a `poll_oneoff` that also has a clock),
    /// reaching it also lets the call finish.
    Input {
        /// When the wait ends anyway, if ever.
        deadline: Option<u64>,
    },
    /// The guest sleeps until `deadline`.
    Sleep {
        /// When the sleep ends.
        deadline: u64,
    },
    /// stdout (1) or stderr (2) is full: take bytes out of it. A blocking
    /// write goes on where it stopped once there is room, until all of it
    /// is written.
    Output {
        /// The descriptor written to.
        fd: u32,
    },
    /// The call did one bounded step of a long piece of work (a large
    /// `random_get`, a large blocking `fd_write`) and has more to do; it
    /// waits for nothing.
    ///
    /// Executors treat it as the end of a fuel slice: check the deadline and
    /// the fuel budget, yield if the slice's time is up, give the guest its
    /// next slice of fuel, then [`complete`] (which does the next step) and
    /// resume. Each step is as large as the fuel left pays for, so a fresh
    /// slice before [`complete`] keeps the charge exact.
    Busy,
}

impl core::fmt::Display for Blocked {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Input { deadline: None } => f.write_str("wants input"),
            Self::Input { deadline: Some(at) } => write!(f, "wants input or instant {at} ns"),
            Self::Sleep { deadline } => write!(f, "sleeps until instant {deadline} ns"),
            Self::Output { fd } => write!(f, "output on fd {fd} is full"),
            Self::Busy => f.write_str("has more work to do"),
        }
    }
}

/// Why the guest stopped inside a WASI function.
///
/// Every WASI function that cannot go on returns a wasmi host error. Under
/// [`wasmi::Func::call_resumable`] it arrives as a
/// [`wasmi::ResumableCall::HostTrap`]; [`Stop::from_error`] says what it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Stop {
    /// Suspended, resumable: do what [`Blocked`] asks, then [`complete`] the
    /// call and resume the guest with the value it returns.
    #[error("guest blocked: {0}")]
    Blocked(Blocked),
    /// The guest called `proc_exit` with this status.
    #[error("guest exited with status {0}")]
    Exit(i32),
    /// The guest called `proc_raise` with a signal that terminates it.
    #[error("guest raised signal {0}")]
    Signal(u8),
    /// The guest called a function that needs its memory, and it exports none
    /// named `memory`.
    #[error("the guest exports no linear memory named `memory`")]
    NoMemory,
}

impl wasmi::errors::HostError for Stop {}

impl Stop {
    /// What a wasmi error returned from a WASI function means, or `None` when
    /// it did not come from this crate (a wasm trap, say).
    pub fn from_error(error: &wasmi::Error) -> Option<Stop> {
        if let Some(status) = error.i32_exit_status() {
            return Some(Stop::Exit(status));
        }
        error.downcast_ref::<Stop>().cloned()
    }
}

/// The arguments of a blocking call that suspended the guest, kept so the
/// call can be run again once it can make progress.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingCall {
    pub(crate) call: BlockingCall,
    pub(crate) memory: Memory,
    pub(crate) blocked: Blocked,
}

/// A WASI call that can suspend the guest.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BlockingCall {
    FdRead {
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        nread: u32,
    },
    FdWrite {
        args: funcs::WriteArgs,
        /// Bytes already written by earlier steps of this call.
        written: u32,
    },
    RandomGet {
        buf: u32,
        len: u32,
        /// Bytes already filled by earlier steps of this call.
        filled: u32,
    },
    PollOneoff {
        args: funcs::PollArgs,
        /// When the guest made the call, on its monotonic clock: relative
        /// timeouts count from here, however often the call is retried.
        origin: Option<u64>,
    },
}

impl BlockingCall {
    /// Runs the call (or its next step), charging `meter` for the work:
    /// `Ok(errno)` when it finished, `Err` when it would block or has more
    /// to do. Progress is kept in `self`.
    pub(crate) fn run(
        &mut self,
        ctx: &mut WasiCtx,
        mem: &mut GuestMemory<'_>,
        meter: &mut Meter,
    ) -> Result<Errno, Blocked> {
        let outcome = match self {
            Self::FdRead {
                fd,
                iovs,
                iovs_len,
                nread,
            } => funcs::fd_read(ctx, mem, meter, *fd, *iovs, *iovs_len, *nread),
            Self::FdWrite { args, written } => funcs::fd_write(ctx, mem, meter, *args, written),
            Self::RandomGet { buf, len, filled } => {
                funcs::random_get(ctx, mem, meter, *buf, *len, filled)
            }
            Self::PollOneoff { args, origin } => {
                let origin = *origin.get_or_insert_with(|| ctx.clock.monotonic());
                funcs::poll_oneoff(ctx, mem, meter, *args, origin)
            }
        };
        match outcome {
            Ok(()) => Ok(Errno::Success),
            Err(funcs::Fail::Errno(errno)) => Ok(errno),
            Err(funcs::Fail::Blocked(blocked)) => Err(blocked),
        }
    }
}

/// The result of [`complete`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Completion {
    /// The interrupted call has finished: resume the guest with this value
    /// (`ResumableCallHostTrap::resume(store, &[value], ..)`).
    Ready(Val),
    /// It still cannot make progress; wait for this, then try again.
    Blocked(Blocked),
    /// No call was suspended.
    NotBlocked,
}

/// Finishes the WASI call that suspended the guest, now that what it waited
/// for may have happened.
///
/// Call it after the guest stopped with [`Stop::Blocked`] and you pushed input,
/// closed stdin, took output, or waited past the deadline (or, for
/// [`Blocked::Busy`], gave it its next fuel slice). On
/// [`Completion::Ready`], resume the guest with the value: it then sees its
/// blocking call return normally, with the data.
///
/// The work it does is charged to the store's fuel, when fuel metering is on
/// (see [`crate::CALL_FUEL`] and the rates beside it).
///
/// # Panics
/// If `store` is not the store the suspended guest runs in.
///
/// # Example
/// ```
/// use wasmi::{Engine, Linker, Module, ResumableCall, Store, Val};
/// use wasplug_wasi::{Blocked, Completion, Stop, WasiCtx, add_to_linker, complete};
///
/// // A guest that reads up to 16 bytes of stdin and echoes them to stdout.
/// let wat = r#"(module
///   (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
///   (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
///   (memory (export "memory") 1)
///   (data (i32.const 0) "\20\00\00\00\10\00\00\00")
///   (func (export "_start")
///     (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
///     (i32.store (i32.const 4) (i32.load (i32.const 8)))
///     (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
/// let engine = Engine::default();
/// let module = Module::new(&engine, wat)?;
/// let mut linker = Linker::<WasiCtx>::new(&engine);
/// add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
/// let mut store = Store::new(&engine, WasiCtx::builder().build());
/// let instance = linker.instantiate_and_start(&mut store, &module)?;
/// let start = instance.get_func(&store, "_start").ok_or("no _start")?;
///
/// // stdin is empty: the guest suspends instead of spinning.
/// let ResumableCall::HostTrap(trap) = start.call_resumable(&mut store, &[], &mut [])? else {
///     panic!("expected the guest to block");
/// };
/// assert_eq!(Stop::from_error(trap.host_error()), Some(Stop::Blocked(Blocked::Input { deadline: None })));
///
/// // Feed it, finish the interrupted fd_read, resume.
/// store.data_mut().stdin_mut().push(b"hi!");
/// let Completion::Ready(value) = complete(&mut store, |ctx: &mut WasiCtx| ctx) else {
///     panic!("input was pushed");
/// };
/// let done = trap.resume(&mut store, &[value], &mut [])?;
/// assert!(matches!(done, ResumableCall::Finished));
/// assert_eq!(store.data().stdout().contents(), b"hi!");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn complete<T>(
    mut store: impl AsContextMut<Data = T>,
    project: impl Fn(&mut T) -> &mut WasiCtx,
) -> Completion {
    let mut store = store.as_context_mut();
    let Some(mut pending) = project(store.data_mut()).pending.take() else {
        return Completion::NotBlocked;
    };
    let mut meter = Meter::new(store.get_fuel().ok());
    let (bytes, data) = pending.memory.data_and_store_mut(&mut store);
    let ctx = project(data);
    let completion = match pending
        .call
        .run(ctx, &mut GuestMemory::new(bytes), &mut meter)
    {
        Ok(errno) => Completion::Ready(Val::I32(errno.into())),
        Err(blocked) => {
            ctx.pending = Some(PendingCall { blocked, ..pending });
            Completion::Blocked(blocked)
        }
    };
    meter.settle(store);
    completion
}
