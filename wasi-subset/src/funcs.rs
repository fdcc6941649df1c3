//! The bodies of the supported WASI functions, as plain functions over a
//! [`WasiCtx`] and a [`GuestMemory`]. `linker.rs` wires them to wasmi.

use crate::{
    Blocked, Errno, GuestMemory, WasiCtx,
    meter::{
        COPY_FUEL, IOVEC_FUEL, Meter, RANDOM_DRAW_FUEL, RANDOM_FUEL, STRING_FUEL, SUBSCRIPTION_FUEL,
    },
};

/// Why a function did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    Errno(Errno),
    Blocked(Blocked),
}

impl From<Errno> for Fail {
    fn from(errno: Errno) -> Self {
        Fail::Errno(errno)
    }
}

/// The result of a call that may suspend the guest.
pub(crate) type Outcome = Result<(), Fail>;

/// POSIX `IOV_MAX`: the most buffers one read or write may name. Larger
/// lists get `EINVAL`, as on Linux, so a guest cannot make the host walk
/// millions of descriptors in one call.
pub(crate) const IOV_MAX: u32 = 1024;

/// POSIX `PIPE_BUF`: writes up to this size are atomic.
pub(crate) const PIPE_BUF: usize = 4096;

/// The most subscriptions one `poll_oneoff` may carry (more get `EINVAL`).
pub(crate) const MAX_SUBSCRIPTIONS: u32 = 4096;

pub(crate) const CLOCK_REALTIME: u32 = 0;
pub(crate) const CLOCK_MONOTONIC: u32 = 1;
pub(crate) const CLOCK_PROCESS_CPUTIME: u32 = 2;
pub(crate) const CLOCK_THREAD_CPUTIME: u32 = 3;

const FILETYPE_CHARACTER_DEVICE: u8 = 2;
const FDFLAGS_APPEND: u16 = 1 << 0;
const FDFLAGS_NONBLOCK: u16 = 1 << 2;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_FD_FILESTAT_GET: u64 = 1 << 21;
const RIGHT_POLL_FD_READWRITE: u64 = 1 << 27;
const EVENTRWFLAGS_HANGUP: u16 = 1;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;

fn usize_to_u32(n: usize) -> Result<u32, Errno> {
    u32::try_from(n).map_err(|_| Errno::Overflow)
}

impl WasiCtx {
    /// Whether `fd` is one of the stdio descriptors and still open.
    pub(crate) fn is_open(&self, fd: u32) -> bool {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.stdio.get(i))
            .is_some_and(|s| s.open)
    }

    fn stdio_mut(&mut self, fd: u32) -> Result<&mut crate::ctx::Stdio, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.stdio.get_mut(i))
            .filter(|s| s.open)
            .ok_or(Errno::Badf)
    }

    fn output_mut(&mut self, fd: u32) -> Result<&mut crate::OutputPipe, Errno> {
        if !self.is_open(fd) {
            return Err(Errno::Badf);
        }
        match fd {
            1 => Ok(&mut self.stdout),
            2 => Ok(&mut self.stderr),
            _ => Err(Errno::Badf),
        }
    }

    fn nonblocking(&self, fd: u32) -> bool {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.stdio.get(i))
            .is_some_and(|s| s.nonblocking)
    }
}

/// Writes a list of strings the way `args_get`/`environ_get` do: a pointer
/// table at `table` and the NUL-terminated bytes at `buf`.
fn write_strings(
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    list: &[String],
    table: u32,
    buf: u32,
) -> Result<(), Errno> {
    let count = usize_to_u32(list.len())?;
    mem.check_array(table, count, 4, 4)?;
    let mut cursor = buf;
    for (i, item) in (0u32..).zip(list) {
        let len = usize_to_u32(item.len())?;
        let with_nul = len.checked_add(1).ok_or(Errno::Overflow)?;
        meter.charge(STRING_FUEL.saturating_add(COPY_FUEL.cost(u64::from(with_nul))));
        let dst = mem.slice_mut(cursor, with_nul)?;
        let (text, nul) = dst.split_at_mut(item.len());
        text.copy_from_slice(item.as_bytes());
        nul.fill(0);
        let slot = i.checked_mul(4).and_then(|o| table.checked_add(o));
        mem.write_u32(slot.ok_or(Errno::Overflow)?, cursor)?;
        cursor = cursor.checked_add(with_nul).ok_or(Errno::Overflow)?;
    }
    Ok(())
}

/// Writes the count and total size (with NULs) of a string list.
fn write_sizes(
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    list: &[String],
    count_ptr: u32,
    size_ptr: u32,
) -> Result<(), Errno> {
    let count = u64::try_from(list.len()).unwrap_or(u64::MAX);
    meter.charge(STRING_FUEL.saturating_mul(count));
    let size = list.iter().try_fold(0u32, |acc, s| {
        usize_to_u32(s.len())
            .ok()
            .and_then(|n| acc.checked_add(n)?.checked_add(1))
            .ok_or(Errno::Overflow)
    })?;
    mem.write_u32(count_ptr, usize_to_u32(list.len())?)?;
    mem.write_u32(size_ptr, size)?;
    Ok(())
}

pub(crate) fn args_get(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    argv: u32,
    buf: u32,
) -> Result<(), Errno> {
    write_strings(mem, meter, &ctx.args, argv, buf)
}

pub(crate) fn args_sizes_get(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    argc: u32,
    size: u32,
) -> Result<(), Errno> {
    write_sizes(mem, meter, &ctx.args, argc, size)
}

pub(crate) fn environ_get(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    env: u32,
    buf: u32,
) -> Result<(), Errno> {
    write_strings(mem, meter, &ctx.env, env, buf)
}

pub(crate) fn environ_sizes_get(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    count: u32,
    size: u32,
) -> Result<(), Errno> {
    write_sizes(mem, meter, &ctx.env, count, size)
}

/// The time on clock `id` in nanoseconds. The process and thread CPU-time
/// clocks are answered with the guest's elapsed wall time since its context
/// was built (an upper bound of the CPU time it used).
fn now(ctx: &mut WasiCtx, id: u32) -> Result<u64, Errno> {
    match id {
        CLOCK_REALTIME => Ok(ctx.clock.realtime()),
        CLOCK_MONOTONIC => Ok(ctx.clock.monotonic()),
        CLOCK_PROCESS_CPUTIME | CLOCK_THREAD_CPUTIME => {
            Ok(ctx.clock.monotonic().saturating_sub(ctx.started))
        }
        _ => Err(Errno::Inval),
    }
}

pub(crate) fn clock_res_get(
    ctx: &WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    res: u32,
) -> Result<(), Errno> {
    if id > CLOCK_THREAD_CPUTIME {
        return Err(Errno::Inval);
    }
    mem.write_u64(res, ctx.clock.resolution().max(1))?;
    Ok(())
}

pub(crate) fn clock_time_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    time: u32,
) -> Result<(), Errno> {
    mem.check_array(time, 1, 8, 8)?;
    let value = now(ctx, id)?;
    mem.write_u64(time, value)?;
    Ok(())
}

/// Fills `len` bytes at `buf` with random bytes, one step at a time:
/// `filled` says how many earlier steps drew. The whole buffer is checked
/// before the first byte is drawn.
pub(crate) fn random_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    buf: u32,
    len: u32,
    filled: &mut u32,
) -> Outcome {
    mem.slice(buf, len)?;
    let rest = len.saturating_sub(*filled);
    let n = u32::try_from(meter.step(RANDOM_FUEL)).map_or(rest, |step| step.min(rest));
    let dst = mem.slice_mut(buf.checked_add(*filled).ok_or(Errno::Fault)?, n)?;
    if n > 0 {
        meter.charge(RANDOM_DRAW_FUEL.saturating_add(RANDOM_FUEL.cost(u64::from(n))));
    }
    ctx.random.fill(dst).map_err(|error| {
        tracing::warn!(%error, "random_get failed");
        Errno::Io
    })?;
    *filled = filled.saturating_add(n);
    if *filled < len {
        return Err(Fail::Blocked(Blocked::Busy));
    }
    Ok(())
}

/// Validates an iovec list and every buffer it names, so that a bad buffer
/// is reported before any byte moves (no input is consumed and then lost).
/// Returns the buffers and their total length.
fn checked_iovecs(
    mem: &GuestMemory<'_>,
    meter: &mut Meter,
    iovs: u32,
    iovs_len: u32,
) -> Result<(IovecList, u32), Errno> {
    if iovs_len > IOV_MAX {
        return Err(Errno::Inval);
    }
    meter.charge(IOVEC_FUEL.saturating_mul(u64::from(iovs_len)));
    let iovecs = mem.iovecs(iovs, iovs_len)?;
    let list = match usize::try_from(iovs_len) {
        Ok(len) if len <= INLINE_IOVECS => {
            let mut inline = [(0, 0); INLINE_IOVECS];
            for (slot, iovec) in inline.iter_mut().zip(iovecs.iter()) {
                *slot = iovec;
            }
            IovecList::Inline(inline, len)
        }
        _ => IovecList::Heap(iovecs.to_vec(IOV_MAX as usize)),
    };
    let mut total = 0u32;
    for &(ptr, len) in list.as_slice() {
        mem.slice(ptr, len)?;
        total = total.checked_add(len).ok_or(Errno::Inval)?;
    }
    Ok((list, total))
}

/// Buffers a call names that are copied out without an allocation: guests
/// name one or two (every read and write of a plugin goes through here).
const INLINE_IOVECS: usize = 4;

/// The `(ptr, len)` descriptors of an iovec list, copied out before any
/// byte moves (a read may overwrite the list itself).
enum IovecList {
    /// At most [`INLINE_IOVECS`], the first `.1` of them used.
    Inline([(u32, u32); INLINE_IOVECS], usize),
    Heap(Vec<(u32, u32)>),
}

impl IovecList {
    fn as_slice(&self) -> &[(u32, u32)] {
        match self {
            Self::Inline(inline, len) => inline.get(..*len).unwrap_or_default(),
            Self::Heap(list) => list,
        }
    }
}

/// The most bytes one step of a copy may move.
fn copy_step(meter: &Meter) -> usize {
    usize::try_from(meter.step(COPY_FUEL)).unwrap_or(usize::MAX)
}

pub(crate) fn fd_read(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Outcome {
    if fd != 0 || !ctx.is_open(0) {
        return Err(Errno::Badf.into());
    }
    let (list, wanted) = checked_iovecs(mem, meter, iovs, iovs_len)?;
    mem.check_array(nread, 1, 4, 4)?;
    if wanted > 0 && !ctx.stdin.is_readable() {
        if ctx.nonblocking(0) {
            return Err(Errno::Again.into());
        }
        return Err(Fail::Blocked(Blocked::Input { deadline: None }));
    }
    // A read may return fewer bytes than asked: at most one step's worth.
    let mut budget = copy_step(meter);
    let mut total = 0usize;
    for &(ptr, len) in list.as_slice() {
        let dst = mem.slice_mut(ptr, len)?;
        let room = dst.len().min(budget);
        let n = ctx.stdin.read_into(dst.get_mut(..room).unwrap_or_default());
        total = total.saturating_add(n);
        budget = budget.saturating_sub(n);
        if n < dst.len() {
            break;
        }
    }
    meter.charge(COPY_FUEL.cost(u64::try_from(total).unwrap_or(u64::MAX)));
    mem.write_u32(nread, usize_to_u32(total)?)?;
    Ok(())
}

/// The arguments of an `fd_write`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteArgs {
    pub(crate) fd: u32,
    pub(crate) iovs: u32,
    pub(crate) iovs_len: u32,
    pub(crate) nwritten: u32,
}

/// Writes the buffers of an `fd_write`, going on after the `written` bytes
/// earlier steps wrote.
///
/// As on a POSIX pipe: a write of at most `PIPE_BUF` bytes is atomic (it
/// waits until it fits whole, when it can fit at all); a blocking write
/// writes everything, suspending the guest while the pipe is full
/// ([`Blocked::Output`]) or between steps ([`Blocked::Busy`]); only a
/// non-blocking write returns a short count (or `EAGAIN` when nothing fits).
pub(crate) fn fd_write(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    args: WriteArgs,
    written: &mut u32,
) -> Outcome {
    let WriteArgs {
        fd,
        iovs,
        iovs_len,
        nwritten,
    } = args;
    let nonblocking = ctx.nonblocking(fd);
    let pipe = ctx.output_mut(fd)?;
    let (list, total) = checked_iovecs(mem, meter, iovs, iovs_len)?;
    mem.check_array(nwritten, 1, 4, 4)?;
    let rest = usize::try_from(total.saturating_sub(*written)).unwrap_or(usize::MAX);
    // An atomic write goes in whole, in one step, so `written` is 0 here.
    let whole = usize::try_from(total).unwrap_or(usize::MAX);
    let atomic = whole <= PIPE_BUF && whole <= pipe.capacity();
    if rest > 0 && (pipe.room() == 0 || (atomic && pipe.room() < rest)) {
        if nonblocking {
            return Err(Errno::Again.into());
        }
        return Err(Fail::Blocked(Blocked::Output { fd }));
    }
    let mut budget = if atomic { rest } else { copy_step(meter) };
    let mut skip = usize::try_from(*written).unwrap_or(usize::MAX);
    let mut moved = 0usize;
    for &(ptr, len) in list.as_slice() {
        let src = mem.slice(ptr, len)?;
        let Some(src) = src.get(skip..) else {
            skip = skip.saturating_sub(src.len());
            continue;
        };
        skip = 0;
        let n = pipe.write(src.get(..budget).unwrap_or(src));
        moved = moved.saturating_add(n);
        budget = budget.saturating_sub(n);
        if n < src.len() {
            break;
        }
    }
    meter.charge(COPY_FUEL.cost(u64::try_from(moved).unwrap_or(u64::MAX)));
    *written = written.saturating_add(usize_to_u32(moved)?);
    if *written < total && !nonblocking {
        let wait = if pipe.room() == 0 {
            Blocked::Output { fd }
        } else {
            Blocked::Busy
        };
        return Err(Fail::Blocked(wait));
    }
    mem.write_u32(nwritten, *written)?;
    Ok(())
}

pub(crate) fn fd_close(ctx: &mut WasiCtx, fd: u32) -> Result<(), Errno> {
    ctx.stdio_mut(fd)?.open = false;
    Ok(())
}

pub(crate) fn fd_fdstat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
) -> Result<(), Errno> {
    let stdio = *ctx.stdio_mut(fd)?;
    mem.check_array(buf, 1, 24, 8)?;
    let io = if fd == 0 {
        RIGHT_FD_READ
    } else {
        RIGHT_FD_WRITE
    };
    let rights = io | RIGHT_FD_FDSTAT_SET_FLAGS | RIGHT_FD_FILESTAT_GET | RIGHT_POLL_FD_READWRITE;
    let flags = if stdio.nonblocking {
        FDFLAGS_NONBLOCK
    } else {
        0
    };
    mem.slice_mut(buf, 24)?.fill(0);
    mem.write_u8(buf, FILETYPE_CHARACTER_DEVICE)?;
    mem.write_u16(buf.checked_add(2).ok_or(Errno::Fault)?, flags)?;
    mem.write_u64(buf.checked_add(8).ok_or(Errno::Fault)?, rights)?;
    Ok(())
}

pub(crate) fn fd_fdstat_set_flags(ctx: &mut WasiCtx, fd: u32, flags: u32) -> Result<(), Errno> {
    let stdio = ctx.stdio_mut(fd)?;
    let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
    if flags & !(FDFLAGS_NONBLOCK | FDFLAGS_APPEND) != 0 {
        return Err(Errno::Notsup);
    }
    stdio.nonblocking = flags & FDFLAGS_NONBLOCK != 0;
    Ok(())
}

pub(crate) fn fd_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    buf: u32,
) -> Result<(), Errno> {
    ctx.stdio_mut(fd)?;
    mem.check_array(buf, 1, 64, 8)?;
    mem.slice_mut(buf, 64)?.fill(0);
    mem.write_u8(
        buf.checked_add(16).ok_or(Errno::Fault)?,
        FILETYPE_CHARACTER_DEVICE,
    )?;
    mem.write_u64(buf.checked_add(24).ok_or(Errno::Fault)?, 1)?;
    Ok(())
}

/// One `poll_oneoff` subscription, as far as this subset understands it.
enum Interest {
    /// Ready now, with this event (error, type, nbytes, flags).
    Ready(Event),
    /// A clock that fires at this monotonic instant.
    Clock { deadline: u64 },
    /// stdin, not readable yet.
    Input,
    /// stdout/stderr, full.
    Output { fd: u32 },
}

#[derive(Clone, Copy)]
struct Event {
    error: Errno,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

impl Event {
    fn error(kind: u8, error: Errno) -> Self {
        Self {
            error,
            kind,
            nbytes: 0,
            flags: 0,
        }
    }
}

fn at(base: u32, offset: u32) -> Result<u32, Errno> {
    base.checked_add(offset).ok_or(Errno::Fault)
}

/// The instants one run of `poll_oneoff` compares its clocks with, each read
/// at most once per run (not once per subscription).
struct Now {
    mono: u64,
    real: Option<u64>,
    /// When the guest made the call: relative timeouts count from here.
    origin: u64,
}

impl Now {
    fn real(&mut self, ctx: &mut WasiCtx) -> u64 {
        *self.real.get_or_insert_with(|| ctx.clock.realtime())
    }
}

/// Reads subscription `sub` and says whether it is ready.
fn interest(
    ctx: &mut WasiCtx,
    mem: &GuestMemory<'_>,
    sub: u32,
    now: &mut Now,
) -> Result<Interest, Errno> {
    let (mono_now, origin) = (now.mono, now.origin);
    let tag = mem.read_u8(at(sub, 8)?)?;
    match tag {
        EVENTTYPE_CLOCK => {
            let id = mem.read_u32(at(sub, 16)?)?;
            let timeout = mem.read_u64(at(sub, 24)?)?;
            let flags = mem.read_u16(at(sub, 40)?)?;
            let absolute = flags & SUBCLOCKFLAGS_ABSTIME != 0;
            let deadline = match (id, absolute) {
                (CLOCK_REALTIME, true) => {
                    let real_now = now.real(ctx);
                    mono_now.saturating_add(timeout.saturating_sub(real_now))
                }
                (CLOCK_MONOTONIC, true) => timeout,
                (CLOCK_PROCESS_CPUTIME | CLOCK_THREAD_CPUTIME, true) => {
                    ctx.started.saturating_add(timeout)
                }
                (CLOCK_REALTIME..=CLOCK_THREAD_CPUTIME, false) => origin.saturating_add(timeout),
                _ => return Ok(Interest::Ready(Event::error(EVENTTYPE_CLOCK, Errno::Inval))),
            };
            if deadline <= mono_now {
                Ok(Interest::Ready(Event::error(
                    EVENTTYPE_CLOCK,
                    Errno::Success,
                )))
            } else {
                Ok(Interest::Clock { deadline })
            }
        }
        EVENTTYPE_FD_READ => {
            let fd = mem.read_u32(at(sub, 16)?)?;
            if fd != 0 || !ctx.is_open(0) {
                return Ok(Interest::Ready(Event::error(
                    EVENTTYPE_FD_READ,
                    Errno::Badf,
                )));
            }
            if !ctx.stdin.is_readable() {
                return Ok(Interest::Input);
            }
            let hangup = ctx.stdin.is_closed() && ctx.stdin.is_empty();
            Ok(Interest::Ready(Event {
                error: Errno::Success,
                kind: EVENTTYPE_FD_READ,
                nbytes: u64::try_from(ctx.stdin.len()).unwrap_or(u64::MAX),
                flags: if hangup { EVENTRWFLAGS_HANGUP } else { 0 },
            }))
        }
        EVENTTYPE_FD_WRITE => {
            let fd = mem.read_u32(at(sub, 16)?)?;
            let Ok(pipe) = ctx.output_mut(fd) else {
                return Ok(Interest::Ready(Event::error(
                    EVENTTYPE_FD_WRITE,
                    Errno::Badf,
                )));
            };
            match pipe.room() {
                0 => Ok(Interest::Output { fd }),
                room => Ok(Interest::Ready(Event {
                    error: Errno::Success,
                    kind: EVENTTYPE_FD_WRITE,
                    nbytes: u64::try_from(room).unwrap_or(u64::MAX),
                    flags: 0,
                })),
            }
        }
        _ => Err(Errno::Inval),
    }
}

/// The arguments of a `poll_oneoff`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollArgs {
    pub(crate) subs: u32,
    pub(crate) events: u32,
    pub(crate) nsubs: u32,
    pub(crate) nevents: u32,
}

/// Runs a `poll_oneoff`; relative clock timeouts count from `origin`, the
/// instant the guest made the call.
pub(crate) fn poll_oneoff(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    meter: &mut Meter,
    args: PollArgs,
    origin: u64,
) -> Outcome {
    let PollArgs {
        subs,
        events,
        nsubs,
        nevents,
    } = args;
    if nsubs == 0 || nsubs > MAX_SUBSCRIPTIONS {
        return Err(Errno::Inval.into());
    }
    meter.charge(SUBSCRIPTION_FUEL.saturating_mul(u64::from(nsubs)));
    mem.check_array(subs, nsubs, 48, 8)?;
    mem.check_array(events, nsubs, 32, 8)?;
    mem.check_array(nevents, 1, 4, 4)?;
    let mut now = Now {
        mono: ctx.clock.monotonic(),
        real: None,
        origin,
    };

    // Read every subscription before writing any event: the two arrays may overlap.
    let mut interests = Vec::with_capacity(nsubs as usize);
    for i in 0..nsubs {
        let sub = at(subs, i.checked_mul(48).ok_or(Errno::Overflow)?)?;
        let userdata = mem.read_u64(sub)?;
        interests.push((userdata, interest(ctx, mem, sub, &mut now)?));
    }

    let mut ready = 0u32;
    let mut earliest: Option<u64> = None;
    let mut wants_input = false;
    let mut full_output = None;
    for (userdata, interest) in interests {
        match interest {
            Interest::Ready(event) => {
                let slot = at(events, ready.checked_mul(32).ok_or(Errno::Overflow)?)?;
                mem.slice_mut(slot, 32)?.fill(0);
                mem.write_u64(slot, userdata)?;
                mem.write_u16(at(slot, 8)?, event.error.raw())?;
                mem.write_u8(at(slot, 10)?, event.kind)?;
                mem.write_u64(at(slot, 16)?, event.nbytes)?;
                mem.write_u16(at(slot, 24)?, event.flags)?;
                ready = ready.saturating_add(1);
            }
            Interest::Clock { deadline } => {
                earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
            }
            Interest::Input => wants_input = true,
            Interest::Output { fd } => full_output = Some(fd),
        }
    }
    if ready > 0 {
        mem.write_u32(nevents, ready)?;
        return Ok(());
    }
    let blocked = match (wants_input, full_output, earliest) {
        (true, _, deadline) => Blocked::Input { deadline },
        (false, Some(fd), _) => Blocked::Output { fd },
        (false, None, Some(deadline)) => Blocked::Sleep { deadline },
        (false, None, None) => return Err(Errno::Inval.into()),
    };
    Err(Fail::Blocked(blocked))
}
