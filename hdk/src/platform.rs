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
    use std::{future::Future, pin::Pin, task::Context, time::Duration};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure, prelude::wasm_bindgen};
    use wasm_bindgen_futures::JsFuture;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_name = setTimeout)]
        fn set_timeout(handler: &js_sys::Function, millis: i32) -> JsValue;
    }

    /// A promise resolved by `setTimeout`.
    pub(super) struct Waiter {
        promise: JsFuture,
    }

    impl Waiter {
        pub(super) fn start(delay: Duration) -> Self {
            let millis = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
            let promise = js_sys::Promise::new(&mut |resolve, _reject| {
                set_timeout(&resolve, millis);
            });
            Self {
                promise: JsFuture::from(promise),
            }
        }

        pub(super) fn poll_fired(&mut self, cx: &mut Context<'_>) -> bool {
            Pin::new(&mut self.promise).poll(cx).is_ready()
        }
    }

    pub(super) fn yield_now(cx: &mut Context<'_>) {
        let waker = cx.waker().clone();
        let closure = Closure::once_into_js(move || waker.wake());
        set_timeout(closure.unchecked_ref(), 0);
    }
}
