//! One call, step by step: the executor that drives a fresh guest instance
//! inside a future's `poll`.

use crate::{
    Error,
    platform::{BoxFuture, Sleep, yield_now},
    plugin::Shared,
};
use futures::{FutureExt, StreamExt, stream::FuturesUnordered};
use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use wasmi::{
    Store, TypedFunc, TypedResumableCall, TypedResumableCallHostTrap, TypedResumableCallOutOfFuel,
};
use wasmi_core::LimiterError;
use wasplug_protocol::{
    ErrorObjectOwned, Event, FrameError, LineFramer, Peer, PeerConfig, RawValue, RequestId,
};
use wasplug_wasi::{Blocked, Completion, Stop, WasiCtx};
use web_time::Instant;

/// Bytes the guest's stdout and stderr pipes hold before a write suspends it
/// so the host can take them out.
const PIPE_CAPACITY: usize = 64 << 10;
/// A stderr "line" longer than this is cut and logged in pieces.
const MAX_LOG_LINE: usize = 16 << 10;
/// Stderr lines an error report carries.
const ERROR_TAIL_LINES: usize = 16;
/// Fuel the module's own start function (if any) may use, in slices.
const START_SLICES: u64 = 16;
/// Times one poll resumes a suspended guest before yielding to the executor.
/// A guest that keeps filling its output pipe uses almost no fuel per
/// resume, so without this it would hold the thread until its budget or
/// timeout ends the call.
const RESUMES_PER_POLL: u32 = 16;

/// The data of a call's store.
pub(crate) struct CallState {
    pub(crate) wasi: WasiCtx,
    limiter: Limiter,
}

/// Caps linear memory and tables, and remembers whether a cap was hit.
struct Limiter {
    memory: Option<u64>,
    hit: bool,
}

/// The most table elements a guest may have (function tables of real
/// programs hold a few thousand).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmi::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let allowed = self
            .memory
            .is_none_or(|limit| u64::try_from(desired).is_ok_and(|d| d <= limit));
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool, LimiterError> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        1
    }
}

/// Where the guest is.
enum Guest {
    /// Not instantiated yet.
    Fresh,
    /// Instantiated, `_start` not called yet.
    Ready(TypedFunc<(), ()>),
    /// Ran out of its fuel slice; resume with more.
    OutOfFuel(TypedResumableCallOutOfFuel<()>),
    /// Suspended inside a WASI call (see [`wasplug_wasi::Blocked`]).
    Blocked(TypedResumableCallHostTrap<()>),
    /// Finished, failed or being moved.
    Gone,
}

type HostReply = (RequestId, Result<Box<RawValue>, ErrorObjectOwned>);

/// Stderr lines: each goes to the logger; the last ones are kept for errors.
struct StderrLog {
    partial: Vec<u8>,
    tail: VecDeque<String>,
    tail_bytes: usize,
    kept: usize,
    dropped: u64,
}

impl StderrLog {
    fn new(kept: usize) -> Self {
        Self {
            partial: Vec::new(),
            tail: VecDeque::new(),
            tail_bytes: 0,
            kept,
            dropped: 0,
        }
    }

    fn take(&mut self, bytes: &[u8], shared: &Shared) {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            match chunk.split_last() {
                Some((b'\n', line)) => {
                    self.partial.extend_from_slice(line);
                    self.emit(shared);
                }
                _ => {
                    self.partial.extend_from_slice(chunk);
                    if self.partial.len() > MAX_LOG_LINE {
                        self.emit(shared);
                    }
                }
            }
        }
    }

    fn flush(&mut self, shared: &Shared) {
        if !self.partial.is_empty() {
            self.emit(shared);
        }
    }

    fn emit(&mut self, shared: &Shared) {
        let bytes = std::mem::take(&mut self.partial);
        let text = String::from_utf8_lossy(&bytes);
        let line = text.strip_suffix('\r').unwrap_or(&text);
        (shared.logger)(&shared.name, line);
        // A line counts with its newline, so a flood of empty lines is bounded too.
        self.tail_bytes = self.tail_bytes.saturating_add(line.len() + 1);
        self.tail.push_back(line.to_owned());
        while self.tail_bytes > self.kept {
            let Some(old) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes = self.tail_bytes.saturating_sub(old.len() + 1);
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    fn last_lines(&self) -> Vec<String> {
        let skip = self.tail.len().saturating_sub(ERROR_TAIL_LINES);
        self.tail.iter().skip(skip).cloned().collect()
    }
}

/// What to do after looking at a suspended guest.
enum Wait {
    /// Look again now.
    Again,
    /// Nothing can happen until a waker fires.
    Pending,
}

/// The future of one call.
pub(crate) struct Call {
    shared: Arc<Shared>,
    store: Store<CallState>,
    guest: Guest,
    peer: Peer,
    framer: LineFramer,
    host_calls: FuturesUnordered<BoxFuture<HostReply>>,
    /// Notification handlers, run one after the other in arrival order, and
    /// all run before the call returns.
    notifications: VecDeque<BoxFuture<()>>,
    /// The answer, once it came, while notifications still run.
    answer: Option<Result<Box<RawValue>, Error>>,
    timer: Option<Sleep>,
    deadline: Option<Instant>,
    fuel_used: u64,
    fuel_given: u64,
    stderr: StderrLog,
}

impl Call {
    /// Prepares a call: the request line waits in the guest's stdin. No guest
    /// code runs until the future is polled.
    pub(crate) fn start(
        shared: Arc<Shared>,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Self, Error> {
        let limits = &shared.limits;
        let config = PeerConfig::default()
            .with_max_line(limits.max_line())
            .with_max_depth(limits.max_depth())
            .with_max_pending(1);
        let mut peer = Peer::new(config);
        let (_, line) = peer
            .request_raw(method, params)
            .map_err(|e| Error::Engine {
                reason: format!("cannot build the request: {e}"),
            })?;
        let wasi = WasiCtx::builder()
            .arg(&*shared.name)
            .stdin(line.as_bytes())
            .stdout_capacity(PIPE_CAPACITY)
            .stderr_capacity(PIPE_CAPACITY)
            .build();
        let state = CallState {
            wasi,
            limiter: Limiter {
                memory: limits.memory(),
                hit: false,
            },
        };
        let mut store = Store::new(&shared.engine, state);
        store.limiter(|state| &mut state.limiter);
        let deadline = limits.timeout().and_then(|t| Instant::now().checked_add(t));
        let stderr = StderrLog::new(limits.stderr_kept());
        let framer = LineFramer::new(limits.max_line());
        Ok(Self {
            shared,
            store,
            guest: Guest::Fresh,
            peer,
            framer,
            host_calls: FuturesUnordered::new(),
            notifications: VecDeque::new(),
            answer: None,
            timer: None,
            deadline,
            fuel_used: 0,
            fuel_given: 0,
            stderr,
        })
    }

    /// Gives the guest its next slice of fuel (more when one instruction
    /// needs more), within the call's budget.
    fn refuel(&mut self, required: u64) -> Result<(), Error> {
        // What the guest and the WASI calls spent since the last count.
        self.account_fuel();
        let limits = &self.shared.limits;
        let mut slice = limits.fuel_slice().max(required);
        if let Some(limit) = limits.fuel() {
            let left = limit.saturating_sub(self.fuel_used);
            if left == 0 || required > left {
                return Err(Error::OutOfFuel { limit });
            }
            slice = slice.min(left);
        }
        self.store.set_fuel(slice).map_err(|e| Error::Engine {
            reason: e.to_string(),
        })?;
        self.fuel_given = slice;
        Ok(())
    }

    /// Counts the fuel the last run used; returns it.
    fn account_fuel(&mut self) -> u64 {
        let left = self.store.get_fuel().unwrap_or(0);
        let used = self.fuel_given.saturating_sub(left);
        self.fuel_used = self.fuel_used.saturating_add(used);
        self.fuel_given = left;
        used
    }

    fn instantiate(&mut self) -> Result<TypedFunc<(), ()>, Error> {
        let slice = self.shared.limits.fuel_slice().saturating_mul(START_SLICES);
        self.refuel(slice.min(self.shared.limits.fuel().unwrap_or(u64::MAX)))?;
        let shared = Arc::clone(&self.shared);
        let instance = shared
            .linker
            .instantiate_and_start(&mut self.store, &shared.module)
            .map_err(|e| self.trap_error(e))?;
        self.account_fuel();
        instance
            .get_typed_func::<(), ()>(&self.store, "_start")
            .map_err(|_| Error::MissingExport {
                name: "_start",
                expected: "a function with no params and no results",
            })
    }

    fn trap_error(&mut self, error: wasmi::Error) -> Error {
        self.stderr_flush();
        let stderr = self.stderr.last_lines();
        if self.store.data().limiter.hit {
            return Error::MemoryLimit {
                limit: self.shared.limits.memory().unwrap_or(u64::MAX),
                stderr,
            };
        }
        if let (Some(wasmi::TrapCode::OutOfFuel), Some(limit)) =
            (error.as_trap_code(), self.shared.limits.fuel())
        {
            return Error::OutOfFuel { limit };
        }
        Error::Trap {
            trap: error.to_string(),
            code: error.as_trap_code(),
            stderr,
        }
    }

    fn stderr_flush(&mut self) {
        let pipe = self.store.data_mut().wasi.stderr_mut();
        let bytes = pipe.take();
        self.stderr.take(&bytes, &self.shared);
        self.stderr.flush(&self.shared);
    }

    /// Takes what the guest wrote: stderr to the logger, stdout through the
    /// framer and the peer. Returns the answer once it is there.
    fn drain(&mut self) -> Result<Option<Result<Box<RawValue>, ErrorObjectOwned>>, Error> {
        let wasi = &mut self.store.data_mut().wasi;
        if !wasi.stderr().is_empty() {
            let bytes = wasi.stderr_mut().take();
            self.stderr.take(&bytes, &self.shared);
        }
        let wasi = &mut self.store.data_mut().wasi;
        let out = wasi.stdout_mut();
        if !out.is_empty() {
            let pushed = self.framer.push(out.contents());
            out.consume(usize::MAX);
            pushed.map_err(frame_error)?;
        }
        while let Some(line) = self.framer.next_line() {
            let line = line.map_err(frame_error)?;
            match self
                .peer
                .handle_line(&line)
                .map_err(|source| Error::Protocol { source })?
            {
                Event::Response { result, .. } => return Ok(Some(result)),
                Event::Request { id, method, params } => {
                    self.spawn_host_call(id, &method, params)?
                }
                Event::Notification { method, params } => {
                    if let Some(handler) =
                        self.shared
                            .router
                            .notify(&self.shared.name, &method, params)
                    {
                        self.notifications.push_back(handler);
                    }
                }
            }
        }
        Ok(None)
    }

    fn spawn_host_call(
        &mut self,
        id: RequestId,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<(), Error> {
        let limit = self.shared.limits.host_calls();
        if self.host_calls.len() >= limit {
            return Err(Error::TooManyHostCalls { limit });
        }
        let reply = self.shared.router.call(&self.shared.name, method, params);
        self.host_calls
            .push(Box::pin(reply.map(move |result| (id, result))));
        Ok(())
    }

    /// Writes a host call's answer to the guest's stdin.
    fn deliver(
        &mut self,
        id: &RequestId,
        result: &Result<Box<RawValue>, ErrorObjectOwned>,
    ) -> Result<(), Error> {
        let line = match result {
            Ok(value) => self.peer.respond_raw(id, value),
            Err(error) => self.peer.respond_err(id, error),
        };
        let limit = self.shared.limits.max_input();
        let stdin = self.store.data_mut().wasi.stdin_mut();
        if stdin.len().saturating_add(line.len()) > limit {
            return Err(Error::InputLimit { limit });
        }
        stdin.push(line.as_bytes());
        Ok(())
    }

    /// Looks at what one run of the guest ended with.
    fn after_run(
        &mut self,
        outcome: Result<TypedResumableCall<()>, wasmi::Error>,
    ) -> Result<Option<Box<RawValue>>, Error> {
        self.account_fuel();
        if let Some(answer) = self.drain()? {
            return answer.map(Some).map_err(plugin_error);
        }
        let call = match outcome {
            Ok(call) => call,
            Err(error) => return Err(self.trap_error(error)),
        };
        match call {
            TypedResumableCall::Finished(()) => Err(self.exit_error(0)),
            TypedResumableCall::OutOfFuel(call) => {
                if let Some(limit) = self.shared.limits.fuel()
                    && self.fuel_used >= limit
                {
                    return Err(Error::OutOfFuel { limit });
                }
                self.guest = Guest::OutOfFuel(call);
                Ok(None)
            }
            TypedResumableCall::HostTrap(trap) => match Stop::from_error(trap.host_error()) {
                Some(Stop::Blocked(_)) => {
                    self.guest = Guest::Blocked(trap);
                    Ok(None)
                }
                Some(Stop::Exit(status)) => Err(self.exit_error(status)),
                Some(Stop::Signal(signal)) => {
                    self.stderr_flush();
                    Err(Error::Signal {
                        signal,
                        stderr: self.stderr.last_lines(),
                    })
                }
                Some(Stop::NoMemory) => Err(Error::MissingExport {
                    name: "memory",
                    expected: "a linear memory",
                }),
                Some(other) => Err(Error::Engine {
                    reason: other.to_string(),
                }),
                None => Err(Error::Engine {
                    reason: trap.host_error().to_string(),
                }),
            },
        }
    }

    fn exit_error(&mut self, status: i32) -> Error {
        self.stderr_flush();
        Error::ExitWithoutAnswer {
            status,
            stderr: self.stderr.last_lines(),
        }
    }

    /// Arms the timer for the earlier of `wake` and the call's deadline, and
    /// says whether it has already passed.
    fn wait_until(&mut self, wake: Option<Instant>, cx: &mut Context<'_>) -> Wait {
        let target = match (wake, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(target) = target else {
            self.timer = None;
            return Wait::Pending;
        };
        if self.timer.as_ref().is_none_or(|t| t.deadline() != target) {
            self.timer = Some(Sleep::until(target));
        }
        match self.timer.as_mut().map(|t| Pin::new(t).poll(cx)) {
            Some(Poll::Ready(())) => {
                self.timer = None;
                Wait::Again
            }
            _ => Wait::Pending,
        }
    }

    /// The host instant at which a guest deadline (ns on its monotonic clock) falls.
    fn guest_instant(&mut self, deadline: u64) -> Instant {
        let now_guest = self.store.data_mut().wasi.monotonic_now();
        let now = Instant::now();
        let far = self
            .deadline
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        now.checked_add(Duration::from_nanos(deadline.saturating_sub(now_guest)))
            .map_or(far, |at| at.min(far))
    }

    fn wait(&mut self, blocked: Blocked, cx: &mut Context<'_>) -> Result<Wait, Error> {
        match blocked {
            Blocked::Input { deadline } => {
                if self.host_calls.is_empty() && deadline.is_none() {
                    self.stderr_flush();
                    return Err(Error::Deadlock {
                        stderr: self.stderr.last_lines(),
                    });
                }
                let wake = deadline.map(|d| self.guest_instant(d));
                Ok(self.wait_until(wake, cx))
            }
            Blocked::Sleep { deadline } => {
                let wake = self.guest_instant(deadline);
                Ok(self.wait_until(Some(wake), cx))
            }
            // `after_run` empties both pipes, so there is room again.
            _ => Ok(Wait::Again),
        }
    }

    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Box<RawValue>, Error>> {
        let mut fuel_this_poll = 0u64;
        let mut resumes_this_poll = 0u32;
        loop {
            if let Some(deadline) = self.deadline
                && Instant::now() >= deadline
                && let Some(limit) = self.shared.limits.timeout()
            {
                return Poll::Ready(Err(Error::Timeout { limit }));
            }
            while let Some(front) = self.notifications.front_mut() {
                match front.as_mut().poll(cx) {
                    Poll::Ready(()) => drop(self.notifications.pop_front()),
                    Poll::Pending => break,
                }
            }
            if let Some(answer) = self.answer.take() {
                if self.notifications.is_empty() {
                    return Poll::Ready(answer);
                }
                self.answer = Some(answer);
                return Poll::Pending;
            }
            while let Poll::Ready(Some((id, result))) = self.host_calls.poll_next_unpin(cx) {
                self.deliver(&id, &result)?;
            }
            let outcome = match std::mem::replace(&mut self.guest, Guest::Gone) {
                Guest::Fresh => {
                    self.guest = Guest::Ready(self.instantiate()?);
                    continue;
                }
                Guest::Ready(start) => {
                    self.refuel(0)?;
                    start.call_resumable(&mut self.store, ())
                }
                Guest::OutOfFuel(call) => {
                    if fuel_this_poll >= self.shared.limits.fuel_slice() {
                        self.guest = Guest::OutOfFuel(call);
                        yield_now(cx);
                        return Poll::Pending;
                    }
                    self.refuel(call.required_fuel())?;
                    call.resume(&mut self.store)
                }
                Guest::Blocked(trap)
                    if resumes_this_poll >= RESUMES_PER_POLL
                        || fuel_this_poll >= self.shared.limits.fuel_slice() =>
                {
                    self.guest = Guest::Blocked(trap);
                    yield_now(cx);
                    return Poll::Pending;
                }
                Guest::Blocked(trap) => {
                    // `complete` charges the work it does to this slice.
                    self.refuel(0)?;
                    match wasplug_wasi::complete(&mut self.store, |s: &mut CallState| &mut s.wasi) {
                        Completion::Ready(value) => {
                            resumes_this_poll += 1;
                            trap.resume(&mut self.store, &[value])
                        }
                        // A long write filled the pipe again, or a long call
                        // did one step: take the output, count the fuel.
                        Completion::Blocked(Blocked::Output { .. } | Blocked::Busy) => {
                            resumes_this_poll += 1;
                            Ok(TypedResumableCall::HostTrap(trap))
                        }
                        Completion::Blocked(blocked) => {
                            self.guest = Guest::Blocked(trap);
                            match self.wait(blocked, cx)? {
                                Wait::Again => continue,
                                Wait::Pending => return Poll::Pending,
                            }
                        }
                        _ => {
                            return Poll::Ready(Err(Error::Engine {
                                reason: "the guest was suspended without a pending WASI call"
                                    .into(),
                            }));
                        }
                    }
                }
                Guest::Gone => return Poll::Ready(Err(finished())),
            };
            let before = self.fuel_used;
            let answer = self.after_run(outcome);
            fuel_this_poll = fuel_this_poll.saturating_add(self.fuel_used.saturating_sub(before));
            match answer {
                Ok(None) => {}
                Ok(Some(answer)) if self.notifications.is_empty() => {
                    return Poll::Ready(Ok(answer));
                }
                // Run the notifications that came before the answer first.
                Ok(Some(answer)) => self.answer = Some(Ok(answer)),
                Err(error @ Error::Plugin { .. }) if !self.notifications.is_empty() => {
                    self.answer = Some(Err(error));
                }
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

fn finished() -> Error {
    Error::Engine {
        reason: "the call was polled after it finished".into(),
    }
}

fn frame_error(error: FrameError) -> Error {
    match error {
        FrameError::LineTooLong { limit } => Error::LineTooLong { limit },
        other => Error::Protocol {
            source: other.into(),
        },
    }
}

fn plugin_error(error: ErrorObjectOwned) -> Error {
    let data = error
        .data()
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    Error::Plugin {
        code: error.code(),
        message: error.message().to_owned(),
        data,
    }
}

impl Future for Call {
    type Output = Result<Box<RawValue>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = this.drive(cx);
        if result.is_ready() {
            this.guest = Guest::Gone;
            this.host_calls.clear();
            this.notifications.clear();
            this.timer = None;
        }
        result
    }
}
