//! What differs between native hosts and a host running inside a browser:
//! whether futures must be `Send`, how to sleep, and how to yield.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use web_time::Instant;

/// `Send` on native targets; nothing inside a browser, where everything runs
/// on the page's one thread.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub trait MaybeSend: Send {}
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl<T: Send + ?Sized> MaybeSend for T {}

/// `Send` on native targets; nothing inside a browser, where everything runs
/// on the page's one thread.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub trait MaybeSend {}
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
impl<T: ?Sized> MaybeSend for T {}

/// `Sync` on native targets; nothing inside a browser.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub trait MaybeSync: Sync {}
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl<T: Sync + ?Sized> MaybeSync for T {}

/// `Sync` on native targets; nothing inside a browser.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub trait MaybeSync {}
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
impl<T: ?Sized> MaybeSync for T {}

/// A boxed future that is `Send` where the platform needs it.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) type BoxFuture<T> = futures::future::BoxFuture<'static, T>;
/// A boxed future that is `Send` where the platform needs it.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub(crate) type BoxFuture<T> = futures::future::LocalBoxFuture<'static, T>;

/// A future that is ready at `deadline`, without busy waiting and without a
/// thread of its own.
///
/// Nothing is armed until the first poll; re-polling with the deadline
/// unchanged arms nothing new; [`Sleep::reset`] moves the one timer; dropping
/// the future disarms it. Natively every `Sleep` of the process shares one
/// timer thread, started on first use; in a browser each is a `setTimeout`.
pub(crate) struct Sleep {
    deadline: Instant,
    timer: imp::Timer,
}

impl Sleep {
    pub(crate) fn until(deadline: Instant) -> Self {
        Self {
            deadline,
            timer: imp::Timer::new(),
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline, reusing this timer: the old deadline is disarmed
    /// at once, the new one armed by the next poll.
    pub(crate) fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.timer.disarm();
    }
}

impl Future for Sleep {
    /// `Err` when no timer could be armed (natively: the OS refused to start
    /// the timer thread, say at the process's thread limit). The next poll
    /// tries again.
    type Output = Result<(), TimerError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            this.timer.disarm();
            return Poll::Ready(Ok(()));
        }
        this.timer.poll_at(this.deadline, cx)
    }
}

/// Why a timer could not be armed: the OS error of starting the timer thread.
pub(crate) type TimerError = std::io::Error;

/// Whether a call yields to the executor each time its guest uses up a fuel
/// slice. Natively it does, so one thread shares its time between calls
/// slice by slice. In a browser it yields when [`poll_spent`] says so: a
/// yield there is a macrotask (tens of microseconds), and what must be
/// bounded is the time between two of them, so the page keeps painting.
pub(crate) const YIELD_EVERY_SLICE: bool = imp::YIELD_EVERY_SLICE;

/// Whether a poll of a call that has run `steps` guest steps has had its
/// share of the thread and must yield before the next step.
///
/// Natively: after [`imp::STEPS_PER_POLL`] steps. A step ends at the latest
/// when a fuel slice is used up (and then the poll yields at once); a guest
/// that keeps filling its output pipe uses almost no fuel per step, so
/// without this bound it would hold the thread until its budget or timeout
/// ends the call. In a browser: once [`imp::YIELD_AFTER`] has passed since
/// the thread last yielded to the event loop, however many steps, calls or
/// (microtask) host-method answers that took.
pub(crate) fn poll_spent(steps: u32) -> bool {
    imp::poll_spent(steps)
}

/// Lets the executor run other tasks, then polls the caller again.
///
/// Natively the task wakes itself at once. In a browser the wake-up is a
/// macrotask, so the page can paint and handle input between fuel slices.
pub(crate) fn yield_now(cx: &mut Context<'_>) {
    imp::yield_now(cx);
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod imp {
    //! One timer thread for the whole process, started by the first timer
    //! armed and then kept (idle, blocked on a condition variable, when no
    //! timer is armed). Each armed timer is one entry in an ordered map; the
    //! thread sleeps until the earliest, wakes its task and removes it.
    //!
    //! Why not the `futures-timer` crate, which works the same way: when its
    //! helper thread cannot start, every `Delay` is inert and panics when
    //! polled ("timer has gone away"), and nothing tells beforehand. Here the
    //! failure is an `io::Error` the call reports, and the next timer tries
    //! to start the thread again.

    use super::TimerError;
    use std::{
        collections::BTreeMap,
        sync::{
            Condvar, Mutex, MutexGuard, PoisonError,
            atomic::{AtomicU64, Ordering},
        },
        task::{Context, Poll, Waker},
        time::Instant,
    };

    /// The timers the thread watches.
    struct Armed {
        /// Each armed timer's task, keyed by `(deadline, timer id)`: the
        /// first entry is the next to fire.
        wakers: BTreeMap<(Instant, u64), Waker>,
        /// Whether the timer thread runs.
        started: bool,
    }

    static ARMED: Mutex<Armed> = Mutex::new(Armed {
        wakers: BTreeMap::new(),
        started: false,
    });
    /// Tells the timer thread a new earliest deadline was armed.
    static EARLIER: Condvar = Condvar::new();
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);

    /// The map is consistent after every statement that touches it, so a
    /// panic elsewhere while it was locked (a waker's clone) does not spoil it.
    fn armed() -> MutexGuard<'static, Armed> {
        ARMED.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One task's timer: at most one entry in [`ARMED`].
    pub(super) struct Timer {
        id: u64,
        /// The deadline of this timer's entry, if it has one.
        armed: Option<Instant>,
    }

    impl Timer {
        pub(super) fn new() -> Self {
            Self {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                armed: None,
            }
        }

        /// Arms the timer to wake `cx`'s task at `deadline` (or only updates
        /// the waker when it is armed there already). Never `Ready(Ok)`: the
        /// thread fires only once the clock has passed the deadline, and the
        /// caller reads the clock.
        pub(super) fn poll_at(
            &mut self,
            deadline: Instant,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), TimerError>> {
            // Dropped after the lock (declared first): dropping a waker may
            // drop a task, and with it a `Sleep` that locks to disarm.
            let mut replaced = None;
            let mut state = armed();
            if let Some(old) = self.armed.take()
                && old != deadline
            {
                replaced = state.wakers.remove(&(old, self.id));
            }
            if let Some(waker) = state.wakers.get_mut(&(deadline, self.id)) {
                if !waker.will_wake(cx.waker()) {
                    replaced = Some(std::mem::replace(waker, cx.waker().clone()));
                }
            } else {
                if !state.started {
                    // ok: the one timer thread of the process, started once.
                    std::thread::Builder::new()
                        .name("wasplug-timer".into())
                        .spawn(run)
                        .map_err(|error| {
                            tracing::warn!(%error, "cannot start the timer thread");
                            error
                        })?;
                    state.started = true;
                }
                let earliest = state
                    .wakers
                    .first_key_value()
                    .is_none_or(|(&(first, _), _)| deadline < first);
                state.wakers.insert((deadline, self.id), cx.waker().clone());
                if earliest {
                    EARLIER.notify_one();
                }
            }
            self.armed = Some(deadline);
            drop(state);
            drop(replaced);
            Poll::Pending
        }

        /// Removes this timer's entry, if any.
        pub(super) fn disarm(&mut self) {
            if let Some(deadline) = self.armed.take() {
                // The lock is released at the end of this statement, before
                // the waker is dropped (see `poll_at`).
                let removed = armed().wakers.remove(&(deadline, self.id));
                drop(removed);
            }
        }

        /// This timer's identity in [`ARMED`].
        #[cfg(test)]
        pub(super) fn id(&self) -> u64 {
            self.id
        }
    }

    impl Drop for Timer {
        fn drop(&mut self) {
            self.disarm();
        }
    }

    /// How many entries the timer `id` has armed (0 or 1).
    #[cfg(test)]
    pub(super) fn entries(id: u64) -> usize {
        armed().wakers.keys().filter(|(_, of)| *of == id).count()
    }

    /// The timer thread: wakes the tasks whose deadline passed, then sleeps
    /// until the next deadline or until an earlier one is armed.
    fn run() {
        let mut state = armed();
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(entry) = state.wakers.first_entry()
                && entry.key().0 <= now
            {
                due.push(entry.remove());
            }
            if !due.is_empty() {
                // Wake without the lock: a waker may poll (and re-arm) inline.
                drop(state);
                due.into_iter().for_each(Waker::wake);
                state = armed();
                continue;
            }
            state = match state.wakers.first_key_value() {
                Some((&(next, _), _)) => {
                    EARLIER
                        .wait_timeout(state, next.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => EARLIER.wait(state).unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    pub(super) fn yield_now(cx: &mut Context<'_>) {
        cx.waker().wake_by_ref();
    }

    pub(super) const YIELD_EVERY_SLICE: bool = true;

    /// Steps of the guest one poll runs before yielding to the executor.
    pub(super) const STEPS_PER_POLL: u32 = 16;

    pub(super) fn poll_spent(steps: u32) -> bool {
        steps >= STEPS_PER_POLL
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod imp {
    //! Timers and yields through the JavaScript event loop. Everything here
    //! runs on the one thread of the page (or worker), so the state is
    //! thread-local and nothing needs `Send`.
    //!
    //! A yield must be a macrotask, so the page can paint and handle input
    //! between fuel slices; a microtask (a resolved promise) would starve
    //! rendering. `setTimeout(0)` is a macrotask but browsers clamp nested
    //! ones to 4 ms, which would make compute-heavy calls crawl (a slice runs
    //! for about a millisecond). So a yield posts a message on a
    //! `MessageChannel` (browsers, workers, Deno), or calls `setImmediate`
    //! where it exists (Node, where an open message port would keep the
    //! process alive); `setTimeout(0)` is only the fallback.
    //!
    //! Timers are this module's own `setTimeout`, not `futures-timer`'s
    //! `wasm-bindgen` backend (gloo-timers): that one casts the delay to `u32`
    //! and then to `i32` milliseconds, so a deadline 25 days or more away (a
    //! call without a timeout whose guest sleeps long) fires at once and the
    //! call would spin; here the delay is capped at what `setTimeout` takes.
    //! Both clear the timeout when dropped.

    use super::TimerError;
    use std::{
        cell::{Cell, RefCell},
        future::Future,
        pin::Pin,
        task::{Context, Poll, Waker},
        time::Duration,
    };
    use wasm_bindgen::{JsCast, JsValue, closure::Closure, prelude::wasm_bindgen};
    use wasm_bindgen_futures::JsFuture;
    use web_time::Instant;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_name = setTimeout)]
        fn set_timeout(handler: &js_sys::Function, millis: i32) -> JsValue;
        #[wasm_bindgen(js_name = clearTimeout)]
        fn clear_timeout(handle: &JsValue);

        type MessageChannel;
        #[wasm_bindgen(constructor, catch)]
        fn new() -> Result<MessageChannel, JsValue>;
        #[wasm_bindgen(method, getter)]
        fn port1(this: &MessageChannel) -> MessagePort;
        #[wasm_bindgen(method, getter)]
        fn port2(this: &MessageChannel) -> MessagePort;

        type MessagePort;
        #[wasm_bindgen(method, setter)]
        fn set_onmessage(this: &MessagePort, handler: &js_sys::Function);
        #[wasm_bindgen(method, js_name = postMessage)]
        fn post_message(this: &MessagePort, message: &JsValue);
    }

    /// A `setTimeout` whose promise the call awaits; cleared when the call
    /// stops waiting (a dropped call leaves no timer behind).
    struct Waiter {
        promise: JsFuture,
        handle: JsValue,
    }

    impl Waiter {
        fn start(delay: Duration) -> Self {
            // Rounded up, so the timeout does not fire before the deadline;
            // setTimeout takes a signed 32-bit delay (a longer one fires at once).
            let millis = i32::try_from(delay.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
            let mut handle = JsValue::UNDEFINED;
            let promise = js_sys::Promise::new(&mut |resolve, _reject| {
                handle = set_timeout(&resolve, millis);
            });
            Self {
                promise: JsFuture::from(promise),
                handle,
            }
        }
    }

    impl Drop for Waiter {
        fn drop(&mut self) {
            clear_timeout(&self.handle);
        }
    }

    /// One task's timer: at most one pending `setTimeout`.
    pub(super) struct Timer {
        /// The deadline the pending timeout was set for, and the timeout.
        armed: Option<(Instant, Waiter)>,
    }

    impl Timer {
        pub(super) fn new() -> Self {
            Self { armed: None }
        }

        /// Sets a timeout for `deadline` unless one is set for it already,
        /// and polls it. `Ready` when it fired: the event loop's timer is
        /// trusted over a clock read a hair early.
        pub(super) fn poll_at(
            &mut self,
            deadline: Instant,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), TimerError>> {
            let waiter = match &mut self.armed {
                Some((at, waiter)) if *at == deadline => waiter,
                armed => {
                    let delay = deadline.saturating_duration_since(Instant::now());
                    &mut armed.insert((deadline, Waiter::start(delay))).1
                }
            };
            match Pin::new(&mut waiter.promise).poll(cx) {
                Poll::Ready(_) => {
                    self.armed = None;
                    Poll::Ready(Ok(()))
                }
                Poll::Pending => Poll::Pending,
            }
        }

        /// Clears the pending timeout, if any.
        pub(super) fn disarm(&mut self) {
            self.armed = None;
        }
    }

    /// How a macrotask is queued on this platform.
    enum Post {
        /// `port.postMessage()`; the other port's `onmessage` runs the wake-ups.
        Channel(MessagePort),
        /// `setImmediate(run)`.
        Immediate(js_sys::Function),
        /// `setTimeout(run, 0)`.
        Timeout,
    }

    /// The tasks waiting for the next macrotask, and how to queue it.
    struct Yielder {
        waiting: RefCell<Vec<Waker>>,
        post: Post,
        /// Wakes every waiting task; kept alive as long as the thread.
        run: Closure<dyn FnMut()>,
    }

    impl Yielder {
        fn new() -> Self {
            let run = Closure::<dyn FnMut()>::new(|| {
                LAST_YIELD.with(|last| last.set(Some(Instant::now())));
                let waiting = YIELDER.with(|y| std::mem::take(&mut *y.waiting.borrow_mut()));
                for waker in waiting {
                    waker.wake();
                }
            });
            let global = js_sys::global();
            let immediate = js_sys::Reflect::get(&global, &JsValue::from_str("setImmediate"))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            let post = match (immediate, MessageChannel::new()) {
                (Some(set_immediate), _) => Post::Immediate(set_immediate),
                (None, Ok(channel)) => {
                    channel.port1().set_onmessage(run.as_ref().unchecked_ref());
                    Post::Channel(channel.port2())
                }
                (None, Err(_)) => Post::Timeout,
            };
            Self {
                waiting: RefCell::new(Vec::new()),
                post,
                run,
            }
        }

        /// Queues `waker` for the next macrotask; queues that macrotask if
        /// none is queued yet (one wakes every task that yielded meanwhile).
        fn push(&self, waker: Waker) {
            let first = {
                let mut waiting = self.waiting.borrow_mut();
                waiting.push(waker);
                waiting.len() == 1
            };
            if !first {
                return;
            }
            let run: &js_sys::Function = self.run.as_ref().unchecked_ref();
            match &self.post {
                Post::Channel(port) => port.post_message(&JsValue::UNDEFINED),
                Post::Immediate(set_immediate) => {
                    if set_immediate.call1(&JsValue::UNDEFINED, run).is_err() {
                        set_timeout(run, 0);
                    }
                }
                Post::Timeout => {
                    set_timeout(run, 0);
                }
            }
        }
    }

    thread_local! {
        static YIELDER: Yielder = Yielder::new();
        /// When the thread last yielded to the event loop: when the last
        /// macrotask of the [`Yielder`] ran (or this thread first asked).
        static LAST_YIELD: Cell<Option<Instant>> = const { Cell::new(None) };
    }

    pub(super) fn yield_now(cx: &mut Context<'_>) {
        let waker = cx.waker().clone();
        YIELDER.with(|y| y.push(waker));
    }

    pub(super) const YIELD_EVERY_SLICE: bool = false;

    /// The longest the plugins of a page run between two yields to the event
    /// loop (plus at most one step: a fuel slice, or a host method's answer).
    /// A quarter of a 60 Hz frame: the longest gap between two frames stays
    /// well under two frames, and a yield (a `MessageChannel` message, tens
    /// of microseconds) costs about 1% of the time.
    pub(super) const YIELD_AFTER: Duration = Duration::from_millis(4);

    pub(super) fn poll_spent(_steps: u32) -> bool {
        let now = Instant::now();
        LAST_YIELD.with(|last| match last.get() {
            Some(at) => now.saturating_duration_since(at) >= YIELD_AFTER,
            None => {
                last.set(Some(now));
                false
            }
        })
    }
}

#[cfg(all(test, not(all(target_arch = "wasm32", target_os = "unknown"))))]
mod tests {
    use super::{Sleep, imp};
    use futures::{executor::block_on, future::join_all};
    use std::{
        future::Future,
        pin::Pin,
        task::{Context, Poll},
        time::Duration,
    };
    use web_time::Instant;

    /// Polls `sleep` once with a waker that does nothing.
    fn poll_once(sleep: &mut Sleep) -> Poll<Result<(), super::TimerError>> {
        let waker = futures::task::noop_waker();
        Pin::new(sleep).poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_sleep_is_ready_once_its_deadline_passed() {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(50);
        block_on(Sleep::until(deadline)).unwrap();
        assert!(Instant::now() >= deadline);
        // A generous bound that still catches a timer that never fires.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn repolls_keep_one_entry_reset_moves_it_and_drop_removes_it() {
        let mut sleep = Sleep::until(Instant::now() + Duration::from_secs(60));
        let id = sleep.timer.id();
        assert_eq!(
            imp::entries(id),
            0,
            "nothing is armed before the first poll"
        );
        for _ in 0..100 {
            assert!(poll_once(&mut sleep).is_pending());
        }
        assert_eq!(imp::entries(id), 1);
        sleep.reset(Instant::now() + Duration::from_secs(120));
        assert_eq!(
            imp::entries(id),
            0,
            "reset disarms the old deadline at once"
        );
        assert!(poll_once(&mut sleep).is_pending());
        assert_eq!(imp::entries(id), 1);
        drop(sleep);
        assert_eq!(
            imp::entries(id),
            0,
            "a dropped sleep leaves no timer behind"
        );
    }

    #[test]
    fn a_fired_sleep_leaves_no_entry() {
        let mut sleep = Sleep::until(Instant::now() + Duration::from_millis(10));
        let id = sleep.timer.id();
        block_on(&mut sleep).unwrap();
        assert_eq!(imp::entries(id), 0);
        assert!(poll_once(&mut sleep).is_ready());
        assert_eq!(imp::entries(id), 0);
    }

    #[test]
    fn an_earlier_deadline_armed_later_still_fires_first() {
        // The thread waits for the far deadline; arming a near one must
        // wake it, or the near sleep would take the far one's 5 s.
        let mut far = Sleep::until(Instant::now() + Duration::from_secs(5));
        assert!(poll_once(&mut far).is_pending());
        // Let the thread start (if this is the first test) and wait for `far`.
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        block_on(Sleep::until(started + Duration::from_millis(20))).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    /// A task that owns a `Sleep`: dropping its last waker drops the sleep.
    struct Owner {
        _sleep: Sleep,
    }

    impl std::task::Wake for Owner {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    /// Arms a sleep with a waker that is the last reference to a task owning
    /// another armed sleep.
    fn armed_with_owner_waker() -> Sleep {
        let mut owned = Sleep::until(Instant::now() + Duration::from_secs(60));
        assert!(poll_once(&mut owned).is_pending());
        let waker = std::task::Waker::from(std::sync::Arc::new(Owner { _sleep: owned }));
        let mut sleep = Sleep::until(Instant::now() + Duration::from_secs(60));
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        sleep
    }

    #[test]
    fn dropping_the_last_waker_of_a_task_holding_a_sleep_does_not_deadlock() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Re-armed: the old entry's waker is dropped.
            let mut sleep = armed_with_owner_waker();
            sleep.reset(Instant::now() + Duration::from_secs(30));
            // Polled by another task: the stored waker is replaced.
            let mut sleep = armed_with_owner_waker();
            assert!(poll_once(&mut sleep).is_pending());
            // Dropped while armed.
            drop(armed_with_owner_waker());
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(Duration::from_secs(30))
            .expect("the timer's lock was taken twice");
    }

    /// Names of this process's threads, from `/proc/self/task/*/comm`.
    #[cfg(target_os = "linux")]
    fn thread_names() -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim_end().to_owned())
            .collect()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_thousand_sleeps_share_one_timer_thread() {
        let now = Instant::now();
        let sleeps = (0..1000u64).map(|i| Sleep::until(now + Duration::from_millis(100 + i % 50)));
        let mut waiting = Box::pin(join_all(sleeps));
        let waker = futures::task::noop_waker();
        assert!(
            waiting
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        let timers = thread_names()
            .iter()
            .filter(|n| *n == "wasplug-timer")
            .count();
        assert_eq!(timers, 1);
        for result in block_on(waiting) {
            result.unwrap();
        }
        let timers = thread_names()
            .iter()
            .filter(|n| *n == "wasplug-timer")
            .count();
        assert_eq!(timers, 1);
    }
}
