//! Waiting for an `AbortSignal`: [`Aborted`].

use std::{
    cell::RefCell,
    future::Future,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::AbortSignal;

/// Ready, with the signal's `reason`, once the signal is aborted (at once if
/// it already is). Listens for the signal's `abort` event while it waits;
/// dropping it removes the listener, so one signal may serve many calls
/// without gathering listeners.
pub(crate) struct Aborted {
    signal: AbortSignal,
    /// The waker of the task awaiting this, for the listener to wake.
    waker: Rc<RefCell<Option<Waker>>>,
    listener: Closure<dyn FnMut()>,
}

impl Aborted {
    pub(crate) fn new(signal: AbortSignal) -> Self {
        let waker: Rc<RefCell<Option<Waker>>> = Rc::default();
        let to_wake = Rc::clone(&waker);
        let listener = Closure::<dyn FnMut()>::new(move || {
            let waker = to_wake.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        // `addEventListener` with a function listener throws only on a
        // revoked proxy; the poll still sees `aborted` then.
        let _ = signal.add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
        Self {
            signal,
            waker,
            listener,
        }
    }
}

impl Future for Aborted {
    type Output = JsValue;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<JsValue> {
        if self.signal.aborted() {
            return Poll::Ready(self.signal.reason());
        }
        let mut waker = self.waker.borrow_mut();
        match waker.as_mut() {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            Some(waker) => waker.clone_from(cx.waker()),
            None => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Aborted {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.listener.as_ref().unchecked_ref());
    }
}
