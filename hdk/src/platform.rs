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

/// A future that is ready at `deadline`, without busy waiting.
pub(crate) struct Sleep {
    deadline: Instant,
    waiter: Option<imp::Waiter>,
}

impl Sleep {
    pub(crate) fn until(deadline: Instant) -> Self {
        Self {
            deadline,
            waiter: None,
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let now = Instant::now();
        if now >= this.deadline {
            return Poll::Ready(());
        }
        let deadline = this.deadline;
        let waiter = this
            .waiter
            .get_or_insert_with(|| imp::Waiter::start(deadline - now));
        if waiter.poll_fired(cx) {
            // The platform timer fired; trust it over a clock read a hair early.
            return Poll::Ready(());
        }
        Poll::Pending
    }
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
    use std::{
        sync::{Arc, Mutex},
        task::{Context, Waker},
        time::Duration,
    };

    /// The waker to call, and whether the timer has fired.
    type Shared = Mutex<(Option<Waker>, bool)>;

    /// A sleeping thread that wakes the task once; dropped with the future.
    /// Sleeps are rare (a guest sleeping, a call's timeout while suspended),
    /// so a short-lived thread each costs less than a process-wide timer.
    pub(super) struct Waiter {
        shared: Arc<Shared>,
    }

    impl Waiter {
        pub(super) fn start(delay: Duration) -> Self {
            let shared: Arc<Shared> = Arc::new(Mutex::new((None, false)));
            let weak = Arc::downgrade(&shared);
            let spawned = std::thread::Builder::new()
                .name("wasplug-sleep".into())
                .spawn(move || {
                    std::thread::sleep(delay);
                    let Some(shared) = weak.upgrade() else { return };
                    let waker = shared.lock().ok().and_then(|mut state| {
                        state.1 = true;
                        state.0.take()
                    });
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "cannot start a timer thread; the call polls again at once");
                if let Ok(mut state) = shared.lock() {
                    state.1 = true;
                }
            }
            Self { shared }
        }

        pub(super) fn poll_fired(&mut self, cx: &mut Context<'_>) -> bool {
            match self.shared.lock() {
                Ok(mut state) if !state.1 => {
                    state.0 = Some(cx.waker().clone());
                    false
                }
                _ => true,
            }
        }
    }

    pub(super) fn yield_now(cx: &mut Context<'_>) {
        cx.waker().wake_by_ref();
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

    use std::{
        cell::RefCell,
        future::Future,
        pin::Pin,
        task::{Context, Waker},
        time::Duration,
    };
    use wasm_bindgen::{JsCast, JsValue, closure::Closure, prelude::wasm_bindgen};
    use wasm_bindgen_futures::JsFuture;

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
    pub(super) struct Waiter {
        promise: JsFuture,
        handle: JsValue,
    }

    impl Waiter {
        pub(super) fn start(delay: Duration) -> Self {
            let millis = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
            let mut handle = JsValue::UNDEFINED;
            let promise = js_sys::Promise::new(&mut |resolve, _reject| {
                handle = set_timeout(&resolve, millis);
            });
            Self {
                promise: JsFuture::from(promise),
                handle,
            }
        }

        pub(super) fn poll_fired(&mut self, cx: &mut Context<'_>) -> bool {
            Pin::new(&mut self.promise).poll(cx).is_ready()
        }
    }

    impl Drop for Waiter {
        fn drop(&mut self) {
            clear_timeout(&self.handle);
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
    }

    pub(super) fn yield_now(cx: &mut Context<'_>) {
        let waker = cx.waker().clone();
        YIELDER.with(|y| y.push(waker));
    }
}
