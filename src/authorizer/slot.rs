//! A one-shot result shared by every caller waiting on one flight (decisions.md D19
//! single-flight), with a blocking wait and an async wait, on std alone: no runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::{AccessToken, Error};

/// How a flight ended, as its waiters see it.
#[derive(Clone, Debug)]
pub(crate) enum Landing {
    /// The flight finished: its token or its error.
    Finished(Result<AccessToken, Error>),
    /// The flight was dropped unfinished (its runner was cancelled): try again.
    Abandoned,
}

#[derive(Default)]
struct SlotState {
    landing: Option<Landing>,
    wakers: Vec<Waker>,
}

/// Where a flight's outcome lands.
#[derive(Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    landed: Condvar,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("landed", &self.lock().landing.is_some())
            .finish()
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // The state is a plain value; a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the outcome once; later calls are ignored. Wakes every waiter.
    pub(crate) fn land(&self, landing: Landing) {
        let wakers = {
            let mut state = self.lock();
            if state.landing.is_some() {
                return;
            }
            state.landing = Some(landing);
            std::mem::take(&mut state.wakers)
        };
        self.landed.notify_all();
        for waker in wakers {
            waker.wake();
        }
    }

    /// Blocks the thread until the outcome lands.
    pub(crate) fn wait_blocking(&self) -> Landing {
        let mut state = self.lock();
        loop {
            if let Some(landing) = &state.landing {
                return landing.clone();
            }
            state = self
                .landed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn poll_landing(&self, cx: &mut Context<'_>) -> Poll<Landing> {
        let mut state = self.lock();
        match &state.landing {
            Some(landing) => Poll::Ready(landing.clone()),
            None => {
                if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    state.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// Waits for a flight to land, on any executor.
#[derive(Debug)]
pub(crate) struct SlotFuture<'a>(pub(crate) &'a Slot);

impl Future for SlotFuture<'_> {
    type Output = Landing;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Landing> {
        self.0.poll_landing(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn blocking_waiters_see_the_one_landing() {
        let slot = Arc::new(Slot::default());
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let slot = Arc::clone(&slot);
                std::thread::spawn(move || slot.wait_blocking())
            })
            .collect();
        slot.land(Landing::Finished(Ok(AccessToken::new("t"))));
        slot.land(Landing::Abandoned);
        for waiter in waiters {
            let landing = waiter.join().expect("waiter thread");
            assert!(matches!(landing, Landing::Finished(Ok(_))));
        }
    }
}
