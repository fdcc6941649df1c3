//! One call, step by step: the executor that drives a fresh guest instance
//! inside a future's `poll`.

use crate::{
    Error, ErrorKind,
    platform::{self, BoxFuture, Sleep, yield_now},
    plugin::Shared,
};
use futures::{StreamExt, stream::FuturesUnordered};
use serde::Serialize;
use std::{
    collections::{BTreeMap, VecDeque, btree_map::Entry},
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use wasplug_protocol::{
    ErrorObjectOwned, Event, FrameError, LineFramer, Peer, PeerConfig, ProtocolError, RawValue,
    RequestId,
};
use wasplug_wasi::{Blocked, End, Guest, GuestLimits, Step, WasiCtx};
use web_time::Instant;

/// Bytes the guest's stdout and stderr pipes hold before a write suspends it
/// so the host can take them out.
const PIPE_CAPACITY: usize = 64 << 10;
/// A stderr "line" longer than this is cut and logged in pieces.
const MAX_LOG_LINE: usize = 16 << 10;
/// Stderr lines an error report carries.
const ERROR_TAIL_LINES: usize = 16;

/// Fuel each stderr line (or piece of an overlong one) costs: the host cuts
/// it, hands it to the logger and keeps it in the tail, work the guest's
/// `fd_write` does not pay for (it pays per byte copied, a quarter of a unit
/// each). Measured (release build, no-op logger): 23–43 ns per empty line,
/// where guest code ran at 1.6 ns per unit of fuel: 15–27 units.
const LOG_LINE_FUEL: u64 = 32;
/// Fuel each stdout line costs to frame, blank ones included. Measured as
/// above: 10 ns per blank line, 6 units.
const LINE_FUEL: u64 = 8;
/// Fuel each message costs to parse and dispatch, on top of
/// [`LINE_FUEL`]. Measured as above: 230–320 ns per 44-byte notification
/// without a handler (its bytes already pay 11 units), 145–200 units.
const MESSAGE_FUEL: u64 = 160;

type HostReply = (RequestId, Result<Box<RawValue>, ErrorObjectOwned>);

/// Options of one call ([`Plugin::call_with`](crate::Plugin::call_with)):
/// limits that override the plugin's [`Limits`](crate::Limits) for this call
/// only, and a deadline.
///
/// By-value builder; the default overrides nothing, so the call runs under
/// the plugin's limits.
///
/// ```
/// use std::time::Duration;
/// use wasplug_hdk::CallOptions;
///
/// // A tenth of a second and a million units of fuel, whatever the plugin allows.
/// let options = CallOptions::new()
///     .with_timeout(Some(Duration::from_millis(100)))
///     .with_fuel(Some(1_000_000));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    fuel: Option<Option<u64>>,
    memory: Option<Option<u64>>,
    timeout: Option<Option<Duration>>,
    deadline: Option<Instant>,
}

impl CallOptions {
    /// Options that override nothing.
    pub const fn new() -> Self {
        Self {
            fuel: None,
            memory: None,
            timeout: None,
            deadline: None,
        }
    }

    /// The fuel budget of this call (`None`: unbounded), instead of
    /// [`Limits::fuel`](crate::Limits::fuel).
    pub fn with_fuel(mut self, units: Option<u64>) -> Self {
        self.fuel = Some(units);
        self
    }

    /// The memory cap of this call in bytes (`None`: none), instead of
    /// [`Limits::memory`](crate::Limits::memory).
    pub fn with_memory(mut self, bytes: Option<u64>) -> Self {
        self.memory = Some(bytes);
        self
    }

    /// The wall-clock timeout of this call (`None`: none), instead of
    /// [`Limits::timeout`](crate::Limits::timeout). It counts from the
    /// call's first poll, as the plugin's timeout does.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// An instant the call must end by, on top of the timeout: the earlier
    /// of the two ends the call with [`ErrorKind::Timeout`], whose `limit`
    /// is then the time from the call's first poll to that instant (zero if
    /// it had passed already: then no guest code runs).
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// What one call used, from
/// [`Plugin::call_with`](crate::Plugin::call_with): there is one for every
/// call, failed or not.
///
/// Serializes to one JSON object: `{"wall_time_us":1520,"fuel_used":48211,
/// "peak_memory":1179648,"host_calls":0,"notifications":0}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CallReport {
    /// Wall-clock time from the call's first poll to its end: instantiation,
    /// guest code, and every wait (host calls, sleeps, notification
    /// handlers). Serialized as `wall_time_us`, whole microseconds.
    #[serde(rename = "wall_time_us", serialize_with = "micros")]
    pub wall_time: Duration,
    /// Fuel the call used (its start function, `_start`, the WASI work and
    /// the host's work on its output lines charged as fuel): exactly what
    /// counts against its budget.
    pub fuel_used: u64,
    /// The most linear memory plus tables the guest held, in bytes, counted
    /// as for [`Limits::memory`](crate::Limits::memory). An instance never
    /// shrinks, so this is also what it held at the end.
    pub peak_memory: u64,
    /// Requests the guest sent to host methods (one refused with
    /// [`ErrorKind::TooManyHostCalls`] is not counted).
    pub host_calls: u64,
    /// Notifications the guest sent (with a handler or not).
    pub notifications: u64,
}

fn micros<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX))
}

/// Stderr lines: each goes to the logger; the last ones are kept for errors.
struct StderrLog {
    partial: Vec<u8>,
    tail: VecDeque<String>,
    tail_bytes: usize,
    kept: usize,
    dropped: u64,
    /// Lines (and pieces of overlong ones) handed to the logger.
    logged: u64,
}

impl StderrLog {
    fn new(kept: usize) -> Self {
        Self {
            partial: Vec::new(),
            tail: VecDeque::new(),
            tail_bytes: 0,
            kept,
            dropped: 0,
            logged: 0,
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
        self.logged = self.logged.saturating_add(1);
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

/// A host call in flight: its answer, with the id it goes back under.
struct HostCall {
    /// Taken when the answer is.
    id: Option<RequestId>,
    reply: BoxFuture<Result<Box<RawValue>, ErrorObjectOwned>>,
}

impl Future for HostCall {
    type Output = HostReply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<HostReply> {
        let result = std::task::ready!(self.reply.as_mut().poll(cx));
        let id = self.id.take().unwrap_or(RequestId::Null);
        Poll::Ready((id, result))
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
    guest: Guest,
    /// The guest is over (answered, ended or failed): it runs no more.
    guest_over: bool,
    peer: Peer,
    framer: LineFramer,
    host_calls: FuturesUnordered<HostCall>,
    /// Host calls that answered as soon as they were made, in order, to be
    /// delivered with the others (no task, no allocation for them).
    answered: Vec<HostReply>,
    /// The ids of the host calls in flight (not yet answered), with the
    /// bytes each request took (counted in `held`): a request reusing one
    /// of them breaks the protocol (P-3). Ordered, not hashed: the plugin
    /// picks the ids, so no hash may be predictable, and SipHash on every
    /// host call cost more than a few comparisons (its one leaf stays
    /// allocated between calls).
    host_call_ids: BTreeMap<RequestId, usize>,
    /// Bytes of the guest's messages the host holds: host calls in flight
    /// and notifications waiting for their handlers (each counted by its
    /// line). Past [`Limits::max_line`](crate::Limits::max_line), the
    /// guest's output is left in its pipe until some are done, as with a
    /// full notification queue.
    held: usize,
    /// Notification handlers, run one after the other in arrival order, and
    /// all run before the call returns. At most
    /// [`Limits::max_notifications`](crate::Limits::max_notifications) wait:
    /// then the guest's output is left in its pipe, and a guest that writes
    /// more is suspended until they have run.
    notifications: VecDeque<(usize, BoxFuture<()>)>,
    /// The answer, once it came, while notifications still run.
    answer: Option<Result<Box<RawValue>, ErrorKind>>,
    timer: Option<Sleep>,
    deadline: Option<Instant>,
    /// The limit a timeout error names: the time from the start to
    /// `deadline`.
    timeout: Duration,
    /// The last guest deadline (ns on its clock) and the host instant it was
    /// found to fall at: polled again, the same wait keeps the same timer.
    wake: Option<(u64, Instant)>,
    stderr: StderrLog,
    /// Bytes of output (stdout and stderr) taken since this poll began: a
    /// pipe's worth ends the poll, as a fuel slice does (see `drive`).
    taken: usize,
    /// Fuel owed for taking output, charged after each drain.
    owed: u64,
    /// The line being written to the guest's stdin, kept for the next one.
    line: Vec<u8>,
    /// Host calls and notifications the guest sent, for the report.
    host_calls_made: u64,
    notifications_received: u64,
}

impl Call {
    /// Prepares a call under the plugin's limits as `options` override them:
    /// the request line waits in the guest's stdin. No guest code runs until
    /// the future is polled.
    pub(crate) fn start(
        shared: Arc<Shared>,
        method: &str,
        params: Option<&RawValue>,
        options: &CallOptions,
    ) -> Result<Self, ErrorKind> {
        let limits = &shared.limits;
        let config = PeerConfig::default()
            .with_max_line(limits.max_line())
            .with_max_depth(limits.max_depth())
            .with_max_pending(1);
        let mut peer = Peer::new(config);
        let (_, line) = peer
            .request_raw(method, params)
            .map_err(|e| ErrorKind::Engine {
                reason: format!("cannot build the request: {e}"),
            })?;
        let mut wasi = WasiCtx::builder().arg(&*shared.name).args(&shared.args);
        for (key, value) in &shared.env {
            wasi = wasi.env(key, value);
        }
        let wasi = wasi
            .stdin(line.as_bytes())
            .stdout_capacity(PIPE_CAPACITY)
            .stderr_capacity(PIPE_CAPACITY)
            .build();
        let guest_limits = GuestLimits::default()
            .with_memory(options.memory.unwrap_or(limits.memory()))
            .with_fuel(options.fuel.unwrap_or(limits.fuel()))
            .with_fuel_slice(limits.fuel_slice());
        let guest = Guest::new(&shared.program, wasi, guest_limits);
        let timeout = options.timeout.unwrap_or(limits.timeout());
        let (deadline, timeout) = deadline(timeout, options.deadline);
        let stderr = StderrLog::new(limits.stderr_kept());
        let framer = LineFramer::new(limits.max_line());
        Ok(Self {
            shared,
            guest,
            guest_over: false,
            peer,
            framer,
            host_calls: FuturesUnordered::new(),
            answered: Vec::new(),
            host_call_ids: BTreeMap::new(),
            held: 0,
            notifications: VecDeque::new(),
            answer: None,
            timer: None,
            deadline,
            timeout,
            wake: None,
            stderr,
            taken: 0,
            owed: 0,
            line: Vec::new(),
            host_calls_made: 0,
            notifications_received: 0,
        })
    }

    /// What the call used so far, with its `wall_time`.
    pub(crate) fn report(&self, wall_time: Duration) -> CallReport {
        CallReport {
            wall_time,
            fuel_used: self.guest.fuel_used(),
            peak_memory: self.guest.memory_used(),
            host_calls: self.host_calls_made,
            notifications: self.notifications_received,
        }
    }

    /// The error for how the guest ended without answering.
    fn end_error(&mut self, end: End) -> ErrorKind {
        match end {
            End::Exit(status) => ErrorKind::ExitWithoutAnswer { status },
            End::Signal(signal) => ErrorKind::Signal { signal },
            End::OutOfFuel { limit } => ErrorKind::OutOfFuel { limit },
            End::MemoryLimit { limit } => ErrorKind::MemoryLimit { limit },
            End::NoMemory => ErrorKind::MissingExport {
                name: "memory",
                expected: "a linear memory",
            },
            End::Trap { message, code } => ErrorKind::Trap {
                trap: message,
                code,
            },
            other => ErrorKind::Engine {
                reason: format!("the guest ended: {other:?}"),
            },
        }
    }

    fn stderr_flush(&mut self) {
        let pipe = self.guest.wasi_mut().stderr_mut();
        let bytes = pipe.take();
        self.stderr.take(&bytes, &self.shared);
        self.stderr.flush(&self.shared);
    }

    /// Whether the guest's output holds lines not looked at yet (left there
    /// while the notification queue is full).
    fn output_waiting(&self) -> bool {
        self.framer.has_line() || !self.guest.wasi().stdout().is_empty()
    }

    /// Takes what the guest wrote: stderr to the logger, stdout through the
    /// framer and the peer, as long as the notification queue has room.
    /// Returns the answer once it is there.
    fn drain(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Result<Option<Result<Box<RawValue>, ErrorObjectOwned>>, ErrorKind> {
        let wasi = self.guest.wasi_mut();
        if !wasi.stderr().is_empty() {
            let bytes = wasi.stderr_mut().take();
            self.taken = self.taken.saturating_add(bytes.len());
            let logged = self.stderr.logged;
            self.stderr.take(&bytes, &self.shared);
            let lines = self.stderr.logged.saturating_sub(logged);
            self.owed = self
                .owed
                .saturating_add(lines.saturating_mul(LOG_LINE_FUEL));
        }
        let max_notifications = self.shared.limits.max_notifications();
        let max_held = self.shared.limits.max_line();
        loop {
            if self.notifications.len() >= max_notifications || self.held >= max_held {
                return Ok(None);
            }
            let line = match self.framer.next_line() {
                Some(line) => line.map_err(frame_error)?,
                None => {
                    let out = self.guest.wasi_mut().stdout_mut();
                    if out.is_empty() {
                        return Ok(None);
                    }
                    self.taken = self.taken.saturating_add(out.len());
                    let ended = self.framer.lines_ended();
                    let pushed = self.framer.push(out.contents());
                    out.consume(usize::MAX);
                    let lines = self.framer.lines_ended().saturating_sub(ended);
                    self.owed = self.owed.saturating_add(lines.saturating_mul(LINE_FUEL));
                    pushed.map_err(frame_error)?;
                    continue;
                }
            };
            self.owed = self.owed.saturating_add(MESSAGE_FUEL);
            match self
                .peer
                .handle_line(&line)
                .map_err(|source| ErrorKind::Protocol { source })?
            {
                Event::Response { result, .. } => return Ok(Some(result)),
                Event::Request { id, method, params } => {
                    // Filed here, in one look-up (a failed spawn ends the call).
                    match self.host_call_ids.entry(id.clone()) {
                        Entry::Vacant(entry) => {
                            entry.insert(line.len());
                            self.held = self.held.saturating_add(line.len());
                        }
                        Entry::Occupied(_) => {
                            let source = ProtocolError::DuplicateRequestId {
                                id: serde_json::to_string(&id).unwrap_or_default(),
                                line: wasplug_protocol::excerpt(&line),
                            };
                            return Err(ErrorKind::Protocol { source });
                        }
                    }
                    self.spawn_host_call(id, &method, params, cx)?
                }
                Event::Notification { method, params } => {
                    self.notifications_received = self.notifications_received.saturating_add(1);
                    if let Some(handler) =
                        self.shared
                            .router
                            .notify(&self.shared.name, &method, params)
                    {
                        self.held = self.held.saturating_add(line.len());
                        self.notifications.push_back((line.len(), handler));
                    }
                }
            }
        }
    }

    /// Starts host call `id` (its id is filed already). One that answers at
    /// once (a host method that does not wait, the usual case) needs no
    /// task: its answer waits in `answered`, and it counts as in flight
    /// until it is delivered with the others.
    fn spawn_host_call(
        &mut self,
        id: RequestId,
        method: &str,
        params: Option<Box<RawValue>>,
        cx: &mut Context<'_>,
    ) -> Result<(), ErrorKind> {
        let limit = self.shared.limits.host_calls();
        if self.host_calls.len() + self.answered.len() >= limit {
            return Err(ErrorKind::TooManyHostCalls { limit });
        }
        self.host_calls_made = self.host_calls_made.saturating_add(1);
        let mut reply = self.shared.router.call(&self.shared.name, method, params);
        match reply.as_mut().poll(cx) {
            Poll::Ready(result) => self.answered.push((id, result)),
            Poll::Pending => self.host_calls.push(HostCall {
                id: Some(id),
                reply,
            }),
        }
        Ok(())
    }

    /// Writes a host call's answer to the guest's stdin.
    fn deliver(
        &mut self,
        id: &RequestId,
        result: &Result<Box<RawValue>, ErrorObjectOwned>,
    ) -> Result<(), ErrorKind> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        match result {
            Ok(value) => self.peer.respond_raw_to(&mut line, id, value),
            Err(error) => line.extend_from_slice(self.peer.respond_err(id, error).as_bytes()),
        }
        let limit = self.shared.limits.max_input();
        let stdin = self.guest.wasi_mut().stdin_mut();
        let fits = stdin.len().saturating_add(line.len()) <= limit;
        if fits {
            stdin.push(&line);
        }
        self.line = line;
        if fits {
            Ok(())
        } else {
            Err(ErrorKind::InputLimit { limit })
        }
    }

    /// Arms the timer for the earlier of `wake` and the call's deadline, and
    /// says whether it has already passed. The timer is kept while the
    /// instant stays the same.
    fn wait_until(
        &mut self,
        wake: Option<Instant>,
        cx: &mut Context<'_>,
    ) -> Result<Wait, ErrorKind> {
        let target = match (wake, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(target) = target else {
            self.timer = None;
            return Ok(Wait::Pending);
        };
        match &mut self.timer {
            Some(timer) if timer.deadline() != target => timer.reset(target),
            Some(_) => {}
            None => self.timer = Some(Sleep::until(target)),
        }
        match self.timer.as_mut().map(|t| Pin::new(t).poll(cx)) {
            Some(Poll::Ready(Ok(()))) => {
                self.timer = None;
                Ok(Wait::Again)
            }
            Some(Poll::Ready(Err(source))) => Err(ErrorKind::Timer { source }),
            _ => Ok(Wait::Pending),
        }
    }

    /// The host instant at which a guest deadline (ns on its monotonic
    /// clock) falls; the same one as last time for the same deadline.
    fn guest_instant(&mut self, deadline: u64) -> Instant {
        if let Some((known, at)) = self.wake
            && known == deadline
        {
            return at;
        }
        let at = wasplug_wasi::host_instant(self.guest.wasi_mut(), deadline);
        let at = self.deadline.map_or(at, |d| at.min(d));
        self.wake = Some((deadline, at));
        at
    }

    fn wait(&mut self, blocked: Blocked, cx: &mut Context<'_>) -> Result<Wait, ErrorKind> {
        match blocked {
            Blocked::Input { deadline } => {
                if self.host_calls.is_empty()
                    && self.answered.is_empty()
                    && deadline.is_none()
                    && !self.output_waiting()
                {
                    return Err(ErrorKind::Deadlock);
                }
                let wake = deadline.map(|d| self.guest_instant(d));
                self.wait_until(wake, cx)
            }
            Blocked::Sleep { deadline } => {
                let wake = self.guest_instant(deadline);
                self.wait_until(Some(wake), cx)
            }
            // Output left in the pipe for the notifications to catch up:
            // wait for them (they wake this task) or the deadline.
            Blocked::Output { .. } if self.output_waiting() => self.wait_until(None, cx),
            // The pipes were emptied after the step, so there is room again.
            _ => Ok(Wait::Again),
        }
    }

    /// Polls the host calls in flight and writes the answers that are ready
    /// to the guest's stdin; says whether there were any.
    fn poll_host_calls(&mut self, cx: &mut Context<'_>) -> Result<bool, ErrorKind> {
        let mut answered = std::mem::take(&mut self.answered);
        let mut delivered = !answered.is_empty();
        for (id, result) in answered.drain(..) {
            self.forget_host_call(&id);
            self.deliver(&id, &result)?;
        }
        // Its capacity kept for the next ones.
        self.answered = answered;
        while let Poll::Ready(Some((id, result))) = self.host_calls.poll_next_unpin(cx) {
            self.forget_host_call(&id);
            self.deliver(&id, &result)?;
            delivered = true;
        }
        Ok(delivered)
    }

    /// Takes an answered host call off the books: its id may be used again,
    /// and its request's bytes are no longer held.
    fn forget_host_call(&mut self, id: &RequestId) {
        if let Some(bytes) = self.host_call_ids.remove(id) {
            self.held = self.held.saturating_sub(bytes);
        }
    }

    /// Runs the notification handlers in order, as far as they go; says
    /// whether any finished.
    fn run_notifications(&mut self, cx: &mut Context<'_>) -> bool {
        let mut finished = false;
        while let Some((_, front)) = self.notifications.front_mut() {
            match front.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    if let Some((bytes, _)) = self.notifications.pop_front() {
                        self.held = self.held.saturating_sub(bytes);
                    }
                }
                Poll::Pending => break,
            }
            finished = true;
        }
        finished
    }

    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Box<RawValue>, ErrorKind>> {
        let mut steps = 0u32;
        self.taken = 0;
        loop {
            if let Some(deadline) = self.deadline
                && Instant::now() >= deadline
            {
                return Poll::Ready(Err(ErrorKind::Timeout {
                    limit: self.timeout,
                }));
            }
            self.run_notifications(cx);
            if self.answer.is_some() {
                if self.notifications.is_empty() {
                    return Poll::Ready(self.answer.take().unwrap_or_else(|| Err(finished())));
                }
                // Wait for the handlers, but not past the deadline.
                return match self.wait_until(None, cx)? {
                    Wait::Again => continue,
                    Wait::Pending => Poll::Pending,
                };
            }
            self.poll_host_calls(cx)?;
            if self.guest_over {
                return Poll::Ready(Err(finished()));
            }
            // Taking output costs the host far more per byte than the guest
            // pays to write it (a stderr flood of empty lines is a line a
            // byte): a pipe's worth is a poll's share, as a fuel slice is.
            if platform::poll_spent(steps) || self.taken >= PIPE_CAPACITY {
                yield_now(cx);
                return Poll::Pending;
            }
            steps += 1;
            let step = self.guest.step();
            let drained = self.drain(cx);
            if self.owed > 0 {
                self.guest.charge_fuel(std::mem::take(&mut self.owed));
            }
            if let Some(answer) = drained? {
                self.guest_over = true;
                self.answer = Some(answer.map_err(plugin_error));
                continue;
            }
            match step {
                Step::Continue if platform::YIELD_EVERY_SLICE => {
                    yield_now(cx);
                    return Poll::Pending;
                }
                // The budget of the poll, checked above, says when to yield.
                Step::Continue => {}
                // Host calls and notifications the guest just sent are
                // polled (and may be done at once) before it waits for them.
                Step::Blocked(_) if self.run_notifications(cx) | self.poll_host_calls(cx)? => {}
                Step::Blocked(blocked) => match self.wait(blocked, cx)? {
                    Wait::Again => {}
                    Wait::Pending => return Poll::Pending,
                },
                Step::End(end) => {
                    self.guest_over = true;
                    return Poll::Ready(Err(self.end_error(end)));
                }
                _ => {
                    yield_now(cx);
                    return Poll::Pending;
                }
            }
        }
    }
}

/// The deadline of a call that starts now, from its timeout and its
/// absolute deadline (the earlier wins), and the time from now to it.
fn deadline(timeout: Option<Duration>, at: Option<Instant>) -> (Option<Instant>, Duration) {
    let now = match (timeout, at) {
        (None, None) => return (None, Duration::ZERO),
        _ => Instant::now(),
    };
    let by_timeout = timeout.and_then(|t| Some((now.checked_add(t)?, t)));
    let by_instant = at.map(|at| (at, at.saturating_duration_since(now)));
    let earliest = match (by_timeout, by_instant) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, b) => a.or(b),
    };
    match earliest {
        Some((at, limit)) => (Some(at), limit),
        None => (None, Duration::ZERO),
    }
}

fn finished() -> ErrorKind {
    ErrorKind::Engine {
        reason: "the call was polled after it finished".into(),
    }
}

fn frame_error(error: FrameError) -> ErrorKind {
    match error {
        FrameError::LineTooLong { limit } => ErrorKind::LineTooLong { limit },
        other => ErrorKind::Protocol {
            source: other.into(),
        },
    }
}

fn plugin_error(error: ErrorObjectOwned) -> ErrorKind {
    ErrorKind::Plugin {
        code: error.code(),
        message: error.message().to_owned(),
        data: error.data().map(ToOwned::to_owned),
    }
}

impl Future for Call {
    type Output = Result<Box<RawValue>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Every error of the call carries the plugin's last stderr lines.
        let result = this.drive(cx).map_err(|kind| {
            this.stderr_flush();
            Error::from(kind).with_stderr(this.stderr.last_lines())
        });
        if result.is_ready() {
            this.guest_over = true;
            this.host_calls.clear();
            this.answered.clear();
            this.host_call_ids.clear();
            this.held = 0;
            this.notifications.clear();
            this.timer = None;
        }
        result
    }
}
