//! Cancelling calls from the app: [`CancelToken`].

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll, Waker},
};

/// Cancels the calls it is given to: `cancel()` ends each at its next
/// fuel slice (well under a millisecond of guest work) with
/// [`crate::ErrorKind::Cancelled`], and any later call given it at once.
/// One token may serve many calls, from any thread.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    cancelled: bool,
    /// The waker of each call waiting on the token, by the call's number.
    waiting: HashMap<u64, Waker>,
    next: u64,
}

#[uniffi::export]
impl CancelToken {
    /// A token not cancelled yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Cancels every call given this token, now and later.
    pub fn cancel(&self) {
        let waiting = {
            let mut state = self.lock();
            state.cancelled = true;
            std::mem::take(&mut state.waiting)
        };
        for waker in waiting.into_values() {
            waker.wake();
        }
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }
}

impl CancelToken {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A future ready once the token is cancelled.
    pub(crate) fn cancelled(self: &Arc<Self>) -> Cancelled {
        let id = {
            let mut state = self.lock();
            state.next += 1;
            state.next
        };
        Cancelled {
            token: Arc::clone(self),
            id,
        }
    }
}

/// Ready once its token is cancelled; forgets its waker when dropped.
pub(crate) struct Cancelled {
    token: Arc<CancelToken>,
    id: u64,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.token.lock();
        if state.cancelled {
            return Poll::Ready(());
        }
        match state.waiting.get_mut(&self.id) {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            Some(waker) => waker.clone_from(cx.waker()),
            None => {
                state.waiting.insert(self.id, cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        self.token.lock().waiting.remove(&self.id);
    }
}
