//! The plugin's side of the connection: one per process, on its one thread.
//!
//! Handlers run as futures on a tiny single-threaded loop: poll every task,
//! write what they produced to stdout, then block reading the next line from
//! stdin. The guest never polls in a loop; while it waits, the host has it
//! suspended inside `fd_read`.

use serde_json::value::RawValue;
use std::{
    cell::RefCell,
    collections::VecDeque,
    future::Future,
    io::{BufRead, Write},
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};
use wasplug_protocol::{ErrorObjectOwned, Peer, PeerConfig, ProtocolError};

/// Host calls one plugin may have in flight at once.
const MAX_PENDING: usize = 1 << 16;

pub(crate) type Task = Pin<Box<dyn Future<Output = ()>>>;
/// A host call's answer: its result's JSON text (in a buffer that goes back
/// to [`recycle`] once read), or the error object.
pub(crate) type Reply = Result<String, ErrorObjectOwned>;
/// A handler's future: its result, or the error to answer with.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<Box<RawValue>, crate::Error>>>>;

/// Where a host call stands.
enum HostCall {
    /// Sent; the waker of its future once that was polled, so that
    /// combinators that poll only woken futures (`join_all`,
    /// `FuturesUnordered`) see the answer arrive.
    Waiting(Option<Waker>),
    /// Answered, waiting for its future to take the answer.
    Answered(Reply),
}

/// The connection state shared by the loop and the host-call futures.
pub(crate) struct Connection {
    pub(crate) peer: Peer,
    /// Lines waiting to be written to stdout.
    pub(crate) out: Vec<u8>,
    /// The host calls in flight, by id: one table, one lookup per step.
    calls: Calls,
    /// Emptied answer buffers, for the next answers: a result is copied out
    /// of the input line into one of these, not into a fresh allocation.
    spare: Vec<String>,
}

/// Answer buffers kept for reuse, and the largest capacity kept: enough for
/// the answers in flight at once in the usual case, never much memory.
const SPARE_BUFFERS: usize = 4;
const SPARE_CAPACITY: usize = 4096;

/// The host calls in flight, in the order of their ids. The peer allocates
/// ids in increasing order, so a new call goes at the back, and the host
/// mostly answers in order, so the call settled is mostly at the front: a
/// deque does both without allocating, and finds the others by binary
/// search (a tree allocated and rebalanced on every round trip).
#[derive(Default)]
struct Calls(VecDeque<(u64, HostCall)>);

impl Calls {
    // `#[inline(always)]` here and on the other small functions of every
    // round trip: inside an interpreted plugin a call and its return cost
    // more than these bodies (together ~2,500 instructions a round trip).
    #[inline(always)]
    fn insert(&mut self, id: u64, call: HostCall) {
        match self.0.back() {
            Some((last, _)) if *last >= id => {
                // After the ids wrapped around: keep the order.
                let at = self.0.partition_point(|(other, _)| *other < id);
                self.0.insert(at, (id, call));
            }
            _ => self.0.push_back((id, call)),
        }
    }

    #[inline(always)]
    fn position(&self, id: u64) -> Option<usize> {
        match self.0.front() {
            Some((first, _)) if *first == id => Some(0),
            _ => self.0.binary_search_by_key(&id, |(other, _)| *other).ok(),
        }
    }

    #[inline(always)]
    fn get_mut(&mut self, id: u64) -> Option<&mut HostCall> {
        let at = self.position(id)?;
        self.0.get_mut(at).map(|(_, call)| call)
    }

    #[inline(always)]
    fn remove(&mut self, id: u64) -> Option<HostCall> {
        let at = self.position(id)?;
        // The front, mostly: `remove(0)` would still call the deque's copy.
        let removed = if at == 0 {
            self.0.pop_front()
        } else {
            self.0.remove(at)
        };
        removed.map(|(_, call)| call)
    }
}

impl Connection {
    /// Queues a request to host method `method` (written with the next
    /// flush); `waker` is woken when its answer comes.
    #[inline(always)]
    pub(crate) fn call<P: serde::Serialize + ?Sized>(
        &mut self,
        method: &str,
        params: &P,
        waker: &Waker,
    ) -> Result<u64, wasplug_protocol::PeerError> {
        let id = self.peer.request_to(&mut self.out, method, params)?;
        self.calls
            .insert(id, HostCall::Waiting(Some(waker.clone())));
        Ok(id)
    }

    /// Files the answer to host call `id` and wakes its future.
    #[inline(always)]
    pub(crate) fn reply(&mut self, id: u64, result: Result<&str, ErrorObjectOwned>) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let reply = result.map(|json| {
            let mut text = self.spare.pop().unwrap_or_default();
            text.push_str(json);
            text
        });
        if let HostCall::Waiting(waker) = std::mem::replace(call, HostCall::Answered(reply))
            && let Some(waker) = waker
        {
            waker.wake();
        }
    }
}

thread_local! {
    pub(crate) static CONNECTION: RefCell<Connection> = RefCell::new(Connection {
        peer: Peer::new(PeerConfig::default().with_max_pending(MAX_PENDING).with_max_line(usize::MAX)),
        out: Vec::new(),
        calls: Calls(VecDeque::new()),
        spare: Vec::new(),
    });
}

#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&mut Connection) -> R) -> R {
    CONNECTION.with(|c| f(&mut c.borrow_mut()))
}

/// Gives an answer's buffer back once its result was read.
#[inline(always)]
pub(crate) fn recycle(mut text: String) {
    if text.capacity() > SPARE_CAPACITY {
        return;
    }
    text.clear();
    with(|c| {
        if c.spare.len() < SPARE_BUFFERS {
            c.spare.push(text);
        }
    });
}

/// Queues a line for stdout.
pub(crate) fn send(line: &str) {
    with(|c| c.out.extend_from_slice(line.as_bytes()));
}

/// Writes the queued lines in one go (the buffer keeps its capacity).
fn flush() {
    // Written from where it lies: writing to stdout runs no plugin code.
    with(|c| {
        if c.out.is_empty() {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        // The host reading our stdout is gone if this fails: nothing to tell.
        let _ = stdout.write_all(&c.out).and_then(|()| stdout.flush());
        c.out.clear();
    });
}

/// Set when a task is woken: the loop polls again.
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Polls the tasks until none is woken, then flushes. The caller has
/// something new for them (a task, an answer), so they are polled once at
/// least; a task woken while they are polled (an answer filed, a channel
/// fed by another task) gets another round.
fn poll_all(tasks: &mut Vec<Task>, woken: &Woken, waker: &Waker) {
    let mut cx = Context::from_waker(waker);
    loop {
        woken.0.store(false, Ordering::Relaxed);
        tasks.retain_mut(|task| task.as_mut().poll(&mut cx).is_pending());
        if !woken.0.load(Ordering::Relaxed) || tasks.is_empty() {
            break;
        }
    }
    flush();
}

/// Runs the loop until stdin ends; `dispatch` turns each incoming line into
/// a task (or handles it and returns `None`).
pub(crate) fn run(mut dispatch: impl FnMut(&str) -> Option<Task>) {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut tasks: Vec<Task> = Vec::new();
    let woken = Arc::new(Woken(AtomicBool::new(false)));
    // One waker for the whole loop, not one a round.
    let waker = Waker::from(Arc::clone(&woken));
    let mut line = Vec::new();
    loop {
        poll_all(&mut tasks, &woken, &waker);
        // A whole line in the input buffer (the usual case: the host writes
        // one message per read) is handled where it lies; one that arrives
        // in pieces is gathered in `line` first.
        let buffered = match input.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(buffered) => buffered,
        };
        let consumed = match find_newline(buffered) {
            Some(end) => {
                let whole = buffered.get(..=end).unwrap_or_default();
                if let Some(task) = handle(whole, &mut dispatch) {
                    tasks.push(task);
                }
                end + 1
            }
            None => {
                line.clear();
                match input.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if let Some(task) = handle(&line, &mut dispatch) {
                    tasks.push(task);
                }
                continue;
            }
        };
        input.consume(consumed);
    }
    poll_all(&mut tasks, &woken, &waker);
}

/// Where the first `\n` in `bytes` is: eight bytes at a time, as a byte
/// loop costs an interpreted plugin several instructions a byte.
#[inline(always)]
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // A zero byte in `word ^ NEWLINES` is a `\n` in the chunk.
        let x = word ^ NEWLINES;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        at += 8;
    }
    let rest = bytes.get(at..)?;
    rest.iter().position(|&b| b == b'\n').map(|i| at + i)
}

/// One line as read (its `\n` included, if any): an answer to a host call
/// is settled; any other line is checked to be UTF-8 and not blank, then
/// dispatched.
#[inline(always)]
fn handle(line: &[u8], dispatch: &mut impl FnMut(&str) -> Option<Task>) -> Option<Task> {
    let mut body = line;
    while let [rest @ .., b'\n' | b'\r'] = body {
        body = rest;
    }
    // An answer to a host call, the commonest line, takes the peer's fast
    // path before the whole line is checked to be UTF-8 (its result is).
    let answered = with(|c| match c.peer.handle_answer(body) {
        Some((id, result)) => {
            c.reply(id, Ok(result));
            true
        }
        None => false,
    });
    if answered {
        return None;
    }
    let text = match std::str::from_utf8(line) {
        Ok(text) => text,
        // Not UTF-8: answered -32700, and the next line served (P-8).
        Err(error) => {
            let error = ProtocolError::InvalidUtf8 {
                valid_up_to: error.valid_up_to(),
                len: line.len(),
            };
            if let Some(answer) = error.error_response() {
                send(&answer);
            }
            return None;
        }
    };
    let mut text = text;
    while let Some(rest) = text.strip_suffix(['\n', '\r']) {
        text = rest;
    }
    // A message starts with `{`: only another line can be blank.
    if !text.starts_with('{') && text.trim().is_empty() {
        return None;
    }
    dispatch(text)
}

/// The future of one host call: it sends the request when first polled,
/// filing the waker with it, then waits for the answer.
pub(crate) struct Request<'a, P: ?Sized> {
    state: RequestState<'a, P>,
}

enum RequestState<'a, P: ?Sized> {
    Unsent {
        method: &'a str,
        params: &'a P,
    },
    Sent(u64),
    /// Answered, or the request could not be built: nothing to forget on drop.
    Done,
}

impl<'a, P: serde::Serialize + ?Sized> Request<'a, P> {
    /// A call of host method `method` with `params`, sent when first polled.
    pub(crate) fn new(method: &'a str, params: &'a P) -> Self {
        Self {
            state: RequestState::Unsent { method, params },
        }
    }
}

impl<P: serde::Serialize + ?Sized> Future for Request<'_, P> {
    type Output = Result<String, crate::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.state {
            RequestState::Unsent { method, params } => {
                // No answer can come before the request is written, after
                // this poll: wait at once.
                match with(|c| c.call(method, params, cx.waker())) {
                    Ok(id) => {
                        this.state = RequestState::Sent(id);
                        Poll::Pending
                    }
                    Err(error) => {
                        this.state = RequestState::Done;
                        Poll::Ready(Err(error.into()))
                    }
                }
            }
            RequestState::Sent(id) => {
                let poll = with(|c| match c.calls.get_mut(id) {
                    Some(HostCall::Waiting(waker)) => {
                        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            *waker = Some(cx.waker().clone());
                        }
                        Poll::Pending
                    }
                    Some(HostCall::Answered(_)) => match c.calls.remove(id) {
                        Some(HostCall::Answered(reply)) => Poll::Ready(reply),
                        _ => Poll::Pending,
                    },
                    None => Poll::Pending,
                });
                match poll {
                    Poll::Ready(reply) => {
                        this.state = RequestState::Done;
                        Poll::Ready(reply.map_err(crate::Error::from_object))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
            // Polled after it was ready.
            RequestState::Done => Poll::Pending,
        }
    }
}

impl<P: ?Sized> Drop for Request<'_, P> {
    fn drop(&mut self) {
        // Dropped before its answer: the host's answer, if it comes, is
        // dropped unread.
        if let RequestState::Sent(id) = self.state {
            with(|c| {
                c.calls.remove(id);
                c.peer.cancel(id);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_reuse_a_bounded_number_of_small_buffers() {
        let raw = RawValue::from_string("[1]".to_owned()).unwrap();
        let take = |id: u64| {
            with(|c| {
                c.calls.insert(id, HostCall::Waiting(None));
                c.reply(id, Ok(raw.get()));
                match c.calls.remove(id) {
                    Some(HostCall::Answered(Ok(text))) => text,
                    _ => panic!("call {id} was not answered"),
                }
            })
        };
        let first = take(1);
        assert_eq!(first, "[1]");
        let at = first.as_ptr();
        recycle(first);
        // The next answer lands in the buffer given back.
        let second = take(2);
        assert_eq!((second.as_str(), second.as_ptr()), ("[1]", at));
        recycle(second);
        for _ in 0..2 * SPARE_BUFFERS {
            recycle(String::with_capacity(8));
        }
        recycle(String::with_capacity(SPARE_CAPACITY + 1));
        let kept = with(|c| c.spare.iter().map(String::capacity).collect::<Vec<_>>());
        assert_eq!(kept.len(), SPARE_BUFFERS);
        assert!(kept.iter().all(|&capacity| capacity <= SPARE_CAPACITY));
    }

    #[test]
    fn newlines_are_found_wherever_they_are() {
        for len in 0..40 {
            let mut bytes: Vec<u8> = (0..len).map(|i| [b'a', 0x8a, 0x0b, 0xff][i % 4]).collect();
            assert_eq!(find_newline(&bytes), None, "{len}");
            for at in 0..len {
                bytes[at] = b'\n';
                assert_eq!(find_newline(&bytes), Some(at), "{len} {at}");
                bytes.push(b'\n');
                assert_eq!(find_newline(&bytes), Some(at), "{len} {at}");
                bytes.pop();
                bytes[at] = b'x';
            }
        }
    }

    #[test]
    fn calls_are_found_whatever_the_order_of_answers() {
        let mut calls = Calls::default();
        for id in [3, 5, 9, 1, u64::MAX] {
            calls.insert(id, HostCall::Waiting(None));
        }
        let ids = |calls: &Calls| calls.0.iter().map(|(id, _)| *id).collect::<Vec<u64>>();
        assert_eq!(ids(&calls), [1, 3, 5, 9, u64::MAX]);
        assert!(calls.get_mut(5).is_some() && calls.get_mut(4).is_none());
        assert!(calls.remove(1).is_some() && calls.remove(1).is_none());
        assert!(calls.remove(u64::MAX).is_some() && calls.remove(9).is_some());
        assert_eq!(ids(&calls), [3, 5]);
    }
}
