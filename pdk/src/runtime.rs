//! The plugin's side of the connection: one per process, on its one thread.
//!
//! Handlers run as futures on a tiny single-threaded loop: poll every task,
//! write what they produced to stdout, then block reading the next line from
//! stdin. The guest never polls in a loop; while it waits, the host has it
//! suspended inside `fd_read`.

use serde_json::value::RawValue;
use std::{
    cell::RefCell,
    collections::BTreeMap,
    future::Future,
    io::{BufRead, Write},
    pin::Pin,
    task::{Context, Poll, Waker},
};
use wasplug_protocol::{ErrorObjectOwned, Peer, PeerConfig, ProtocolError};

/// Host calls one plugin may have in flight at once.
const MAX_PENDING: usize = 1 << 16;

pub(crate) type Task = Pin<Box<dyn Future<Output = ()>>>;
pub(crate) type Reply = Result<Box<RawValue>, ErrorObjectOwned>;
/// A handler's future: its result, or the error to answer with.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<Box<RawValue>, crate::Error>>>>;

/// The connection state shared by the loop and the host-call futures.
pub(crate) struct Connection {
    pub(crate) peer: Peer,
    /// Lines waiting to be written to stdout.
    pub(crate) out: Vec<u8>,
    /// Answers to host calls, waiting for their futures to take them.
    pub(crate) replies: BTreeMap<u64, Reply>,
    /// Wakers of host-call futures still waiting for their answer, so that
    /// combinators that poll only woken futures (`join_all`, `FuturesUnordered`)
    /// see the answer arrive.
    pub(crate) waiting: BTreeMap<u64, Waker>,
}

impl Connection {
    /// Files the answer to host call `id` and wakes its future.
    pub(crate) fn reply(&mut self, id: u64, reply: Reply) {
        self.replies.insert(id, reply);
        if let Some(waker) = self.waiting.remove(&id) {
            waker.wake();
        }
    }
}

thread_local! {
    pub(crate) static CONNECTION: RefCell<Connection> = RefCell::new(Connection {
        peer: Peer::new(PeerConfig::default().with_max_pending(MAX_PENDING).with_max_line(usize::MAX)),
        out: Vec::new(),
        replies: BTreeMap::new(),
        waiting: BTreeMap::new(),
    });
}

pub(crate) fn with<R>(f: impl FnOnce(&mut Connection) -> R) -> R {
    CONNECTION.with(|c| f(&mut c.borrow_mut()))
}

/// Queues a line for stdout.
pub(crate) fn send(line: &str) {
    with(|c| c.out.extend_from_slice(line.as_bytes()));
}

/// Writes the queued lines in one go.
fn flush() {
    let out = with(|c| std::mem::take(&mut c.out));
    if out.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    // The host reading our stdout is gone if this fails: nothing to tell.
    let _ = stdout.write_all(&out).and_then(|()| stdout.flush());
}

/// Polls the tasks until none makes progress, then flushes.
fn poll_all(tasks: &mut Vec<Task>) {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        let before = tasks.len();
        let queued = with(|c| c.out.len());
        tasks.retain_mut(|task| task.as_mut().poll(&mut cx).is_pending());
        // A task that finished, or sent something, may have unblocked another.
        if tasks.len() == before && with(|c| c.out.len()) == queued {
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
    let mut line = Vec::new();
    loop {
        poll_all(&mut tasks);
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = match std::str::from_utf8(&line) {
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
                continue;
            }
        };
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        if let Some(task) = dispatch(text) {
            tasks.push(task);
        }
    }
    poll_all(&mut tasks);
}

/// The future of one host call's answer.
pub(crate) struct ReplyFuture {
    pub(crate) id: u64,
}

impl Future for ReplyFuture {
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        with(|c| match c.replies.remove(&self.id) {
            Some(reply) => Poll::Ready(reply),
            None => {
                c.waiting.insert(self.id, cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

impl Drop for ReplyFuture {
    fn drop(&mut self) {
        let id = self.id;
        with(|c| {
            c.replies.remove(&id);
            c.waiting.remove(&id);
            c.peer.cancel(id);
        });
    }
}
