//! Catching a panic in a future, as `std::panic::catch_unwind` does for a closure.
//!
//! A connection's task runs on an IO thread. If it panicked (a bug in hamux), tokio would
//! end the task quietly, and the connection it served would never run again: whatever the
//! host sent to it afterwards would wait in its outbox for ever, its callbacks never
//! called. The task's owner catches the panic instead, and starts it again.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// `inner`'s output, or the payload of a panic in one of its polls. After a panic the
/// inner future is not polled again (it is dropped with this one).
pub struct CatchPanic<F> {
    inner: F,
    panicked: bool,
}

impl<F> CatchPanic<F> {
    pub fn new(inner: F) -> CatchPanic<F> {
        CatchPanic { inner, panicked: false }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self` (nor
        // is `self` moved), so pinning it again is sound; `panicked` is a plain flag,
        // not pinned.
        let (inner, panicked) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.inner), &mut this.panicked)
        };
        if *panicked {
            return Poll::Pending;
        }
        // The inner future is never polled again after a panic, so whatever state the
        // panic left it in is only dropped, which is what tokio would do.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                *panicked = true;
                Poll::Ready(Err(payload))
            }
        }
    }
}

/// The message a panic carried, for the log.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_poll_is_the_output_and_a_future_that_ends_gives_its_own() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let ok = CatchPanic::new(async { 7 }).await;
            assert_eq!(ok.unwrap(), 7);
            let panicked = CatchPanic::new(async {
                tokio::task::yield_now().await;
                if std::hint::black_box(true) {
                    panic!("a bug after the first poll");
                }
                7
            })
            .await;
            assert_eq!(panic_message(&*panicked.unwrap_err()), "a bug after the first poll");
        });
    }
}
