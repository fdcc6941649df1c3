//! Blocking work (an HTTP fetch, a write to the key-value file) off the
//! executor's thread, natively.
//!
//! Each capability has a [`Pool`] of its own, so one cannot starve the
//! other: [`HTTP`] for `http.fetch`, [`KV`] for the file-backed store. A job
//! runs on a thread of the pool, at most its `max_threads` at once; more
//! jobs wait in its queue (at most `max_queued`) and run as threads free up.
//! A thread ends when the queue is empty, so none are kept while nothing
//! blocks. The result comes back through a `futures::channel::oneshot`,
//! which any executor can await; a job whose receiver is gone (the call was
//! cancelled) is skipped.

use super::RawResult;
use crate::platform::BoxFuture;
use futures::channel::oneshot;
use std::{
    collections::VecDeque,
    panic::AssertUnwindSafe,
    sync::{Mutex, MutexGuard, PoisonError},
};

type Job = Box<dyn FnOnce() + Send>;

struct State {
    running: usize,
    queue: VecDeque<Job>,
}

/// Threads for one kind of blocking work, started as needed.
pub(crate) struct Pool {
    /// The threads' name.
    name: &'static str,
    /// Most threads running its jobs at once, in the whole process.
    max_threads: usize,
    /// Most jobs waiting for a thread.
    max_queued: usize,
    state: Mutex<State>,
}

/// The pool of `http.fetch`: 16 threads, 1024 fetches waiting.
pub(crate) static HTTP: Pool = Pool::new("wasplug-http", 16, 1024);
/// The pool of the file-backed key-value store: 2 threads (its writes are
/// one at a time anyway), 1024 operations waiting.
#[cfg(feature = "kv-file")]
pub(crate) static KV: Pool = Pool::new("wasplug-kv", 2, 1024);

/// Why a job could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Busy {
    /// Every thread is busy and the queue is full.
    #[error("{capability} is busy: {threads} running and {queued} waiting, the most it takes")]
    Full {
        /// The capability whose pool is full.
        capability: &'static str,
        /// Its threads.
        threads: usize,
        /// Its queue's length.
        queued: usize,
    },
    /// The OS refused to start a thread.
    #[error("{capability}: cannot start a thread for its blocking work: {error}")]
    Spawn {
        /// The capability that needed the thread.
        capability: &'static str,
        /// Why the OS refused.
        error: std::io::Error,
    },
}

impl Pool {
    const fn new(name: &'static str, max_threads: usize, max_queued: usize) -> Self {
        Self {
            name,
            max_threads,
            max_queued,
            state: Mutex::new(State {
                running: 0,
                queue: VecDeque::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` on a thread of this pool; the receiver gets its result.
    ///
    /// # Errors
    /// [`Busy`] (naming `capability`) when the queue is full or no thread
    /// can be started.
    pub(crate) fn run<T, F>(
        &'static self,
        capability: &'static str,
        work: F,
    ) -> Result<oneshot::Receiver<T>, Busy>
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
        let mut state = self.state();
        if state.running >= self.max_threads {
            if state.queue.len() >= self.max_queued {
                return Err(Busy::Full {
                    capability,
                    threads: self.max_threads,
                    queued: self.max_queued,
                });
            }
            state.queue.push_back(job);
            return Ok(receiver);
        }
        state.running += 1;
        drop(state);
        let spawned = std::thread::Builder::new()
            .name(self.name.into())
            .spawn(move || self.worker(job));
        match spawned {
            Ok(_) => Ok(receiver),
            Err(error) => {
                let mut state = self.state();
                state.running = state.running.saturating_sub(1);
                Err(Busy::Spawn { capability, error })
            }
        }
    }

    /// Answers host call `capability` with `work`, run on a thread of this
    /// pool: `-32603` naming the capability when the pool is busy or the
    /// job ends without an answer (it panicked).
    pub(crate) fn answer<F>(
        &'static self,
        capability: &'static str,
        work: F,
    ) -> BoxFuture<RawResult>
    where
        F: FnOnce() -> RawResult + Send + 'static,
    {
        let receiver = self.run(capability, work);
        Box::pin(async move {
            let receiver = receiver
                .map_err(|busy| wasplug_protocol::codes::internal_error(busy.to_string()))?;
            receiver.await.unwrap_or_else(|_| {
                Err(wasplug_protocol::codes::internal_error(format!(
                    "{capability}: the work ended without an answer"
                )))
            })
        })
    }

    /// Runs `job`, then the queued ones, until the queue is empty.
    fn worker(&self, mut job: Job) {
        loop {
            // A panicking job drops its sender (its call gets an error); the
            // thread goes on with the queue.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
            let mut state = self.state();
            match state.queue.pop_front() {
                Some(next) => job = next,
                None => {
                    state.running = state.running.saturating_sub(1);
                    return;
                }
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

    static TEST: Pool = Pool::new("wasplug-test", 4, 8);

    #[test]
    fn jobs_run_on_at_most_max_threads_and_all_finish() {
        static MANY: Pool = Pool::new("wasplug-test-many", 4, 1024);
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let receivers: Vec<_> = (0..MANY.max_threads * 3)
            .map(|i| {
                let (now, most) = (Arc::clone(&now), Arc::clone(&most));
                MANY.run("test", move || {
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
        assert_eq!(results, (0..MANY.max_threads * 3).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!((1..=MANY.max_threads).contains(&most), "{most}");
    }

    #[test]
    fn a_panicking_job_drops_its_answer_and_the_pool_goes_on() {
        let receiver = TEST.run("test", || -> u8 { panic!("deliberate") }).unwrap();
        assert!(futures::executor::block_on(receiver).is_err());
        let receiver = TEST.run("test", || 7).unwrap();
        assert_eq!(futures::executor::block_on(receiver).unwrap(), 7);
    }

    #[test]
    fn a_full_pool_says_which_capability_is_busy_and_others_still_run() {
        static FULL: Pool = Pool::new("wasplug-test-full", 1, 1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = FULL.run("kv.set", move || wait.recv().is_ok()).unwrap();
        let second = FULL.run("kv.set", || true).unwrap();
        let error = futures::executor::block_on(FULL.answer("kv.set", || {
            Err(wasplug_protocol::codes::internal_error("never run"))
        }))
        .unwrap_err();
        assert_eq!(error.code(), wasplug_protocol::codes::INTERNAL_ERROR);
        let data = error.data().map(|d| d.get().to_owned()).unwrap_or_default();
        assert!(data.contains("kv.set is busy"), "{data}");
        // Another pool is not held up by this one.
        assert_eq!(
            futures::executor::block_on(TEST.run("test", || 3).unwrap()).unwrap(),
            3
        );
        release.send(()).unwrap();
        assert!(futures::executor::block_on(first).unwrap());
        assert!(futures::executor::block_on(second).unwrap());
    }
}
