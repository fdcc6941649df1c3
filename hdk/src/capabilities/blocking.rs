//! Blocking work (an HTTP fetch, a write to the key-value file) off the
//! executor's thread, natively.
//!
//! Each job runs on a thread of its own, at most [`MAX_THREADS`] at once;
//! more jobs wait in a queue (at most [`MAX_QUEUED`]) and run as threads
//! free up. A thread ends when the queue is empty, so none are kept while
//! nothing blocks. The result comes back through a
//! `futures::channel::oneshot`, which any executor can await; a job whose
//! receiver is gone (the call was cancelled) is skipped.

use futures::channel::oneshot;
use std::{
    collections::VecDeque,
    panic::AssertUnwindSafe,
    sync::{Mutex, MutexGuard, PoisonError},
};

/// Most threads running blocking jobs at once, in the whole process.
pub(crate) const MAX_THREADS: usize = 16;
/// Most jobs waiting for a thread.
pub(crate) const MAX_QUEUED: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    running: usize,
    queue: VecDeque<Job>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    running: 0,
    queue: VecDeque::new(),
});

fn pool() -> MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a job could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Busy {
    /// Every thread is busy and the queue is full.
    #[error("too much blocking work in flight ({MAX_THREADS} running, {MAX_QUEUED} waiting)")]
    Full,
    /// The OS refused to start a thread.
    #[error("cannot start a thread for blocking work: {0}")]
    Spawn(std::io::Error),
}

/// Runs `work` on a blocking thread; the receiver gets its result.
///
/// # Errors
/// [`Busy`] when the queue is full or no thread can be started.
pub(crate) fn run<T, F>(work: F) -> Result<oneshot::Receiver<T>, Busy>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (sender, receiver) = oneshot::channel();
    let job: Job = Box::new(move || {
        if !sender.is_canceled() {
            let _ = sender.send(work());
        }
    });
    let mut state = pool();
    if state.running >= MAX_THREADS {
        if state.queue.len() >= MAX_QUEUED {
            return Err(Busy::Full);
        }
        state.queue.push_back(job);
        return Ok(receiver);
    }
    state.running += 1;
    drop(state);
    let spawned = std::thread::Builder::new()
        .name("wasplug-blocking".into())
        .spawn(move || worker(job));
    match spawned {
        Ok(_) => Ok(receiver),
        Err(error) => {
            let mut state = pool();
            state.running = state.running.saturating_sub(1);
            Err(Busy::Spawn(error))
        }
    }
}

/// Runs `job`, then the queued ones, until the queue is empty.
fn worker(mut job: Job) {
    loop {
        // A panicking job drops its sender (its call gets an error); the
        // thread goes on with the queue.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        let mut state = pool();
        match state.queue.pop_front() {
            Some(next) => job = next,
            None => {
                state.running = state.running.saturating_sub(1);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    #[test]
    fn jobs_run_on_at_most_max_threads_and_all_finish() {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let receivers: Vec<_> = (0..MAX_THREADS * 3)
            .map(|i| {
                let (now, most) = (Arc::clone(&now), Arc::clone(&most));
                run(move || {
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(running, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                    i
                })
                .unwrap()
            })
            .collect();
        let results: Vec<usize> = receivers
            .into_iter()
            .map(|r| futures::executor::block_on(r).unwrap())
            .collect();
        assert_eq!(results, (0..MAX_THREADS * 3).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!((1..=MAX_THREADS).contains(&most), "{most}");
    }

    #[test]
    fn a_panicking_job_drops_its_answer_and_the_pool_goes_on() {
        let receiver = run(|| -> u8 { panic!("deliberate") }).unwrap();
        assert!(futures::executor::block_on(receiver).is_err());
        let receiver = run(|| 7).unwrap();
        assert_eq!(futures::executor::block_on(receiver).unwrap(), 7);
    }
}
