//! Runs the authorizer's async loop on the calling thread, for blocking clients: their futures
//! are ready when made, so the first poll completes; a future that is not ready parks the
//! thread until its waker unparks it. No runtime, std only.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes the blocked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` to completion, parking the thread while it is pending.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        // A spurious wake-up only polls once more.
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::Poll;

    #[test]
    fn a_ready_future_completes_at_once_and_a_pending_one_when_woken() {
        assert_eq!(block_on(std::future::ready(7)), 7);
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let mut spawned = false;
        let pending = std::future::poll_fn(move |cx| {
            if flag.load(Ordering::SeqCst) {
                return Poll::Ready("woken");
            }
            if !spawned {
                spawned = true;
                let (flag, waker) = (Arc::clone(&flag), cx.waker().clone());
                thread::spawn(move || {
                    thread::sleep(std::time::Duration::from_millis(20));
                    flag.store(true, Ordering::SeqCst);
                    waker.wake();
                });
            }
            Poll::Pending
        });
        assert_eq!(block_on(pending), "woken");
        assert!(done.load(Ordering::SeqCst));
    }
}
