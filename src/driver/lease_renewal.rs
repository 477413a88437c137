//! Keeping a fleet-wide lease while its holder's flow runs: a renewal every third of the
//! lease's time to live, fenced by the store ([`SharedTokenStore::renew`]), on a scoped thread
//! of its own for a blocking client and alongside the flow, on the transport's timer, for an
//! async one. The rules (when to renew, what a renewal's outcome means) are written once here;
//! only the waiting between renewals differs.

use std::future::{Future, poll_fn};
use std::ops::ControlFlow;
use std::pin::pin;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use super::shared_store::{
    AsyncSharedTokenStore, LeaseId, SharedStore, SharedTokenStore, StoreUnavailable,
};
use crate::cache::CacheKey;

impl<S: ?Sized> SharedStore<S> {
    /// The time between two renewals: a third of the lease's time to live, so that a renewal
    /// that is late or fails once still lands before the lease expires.
    fn renewal_interval(&self) -> Duration {
        (self.lease_ttl() / 3).max(Duration::from_millis(1))
    }

    /// Whether to go on renewing after `outcome`: a lease found gone is logged and no longer
    /// renewed (the flow goes on, and its fenced release leaves any new holder alone); a store
    /// that did not answer is logged and counted, and the next renewal tries again.
    fn after_renewal(&self, outcome: Result<bool, StoreUnavailable>) -> ControlFlow<()> {
        match outcome {
            Ok(true) => ControlFlow::Continue(()),
            Ok(false) => {
                tracing::warn!(
                    event = "lease_lost",
                    "the lease of a running flow expired before its renewal; the flow goes on \
                     and saves its token, another replica may be running the same flow"
                );
                ControlFlow::Break(())
            }
            Err(error) => {
                self.unavailable(&error);
                ControlFlow::Continue(())
            }
        }
    }
}

impl SharedStore<dyn SharedTokenStore> {
    /// Runs `flow` on the calling thread while a scoped thread renews `lease` on `key`. The
    /// renewer waits on a channel that closes when `flow` returns (or unwinds), so it stops
    /// at once, or after the renewal it is sending, if any. When no thread can be started the
    /// flow runs unrenewed, and that is logged.
    pub(super) fn renewing<R>(
        &self,
        key: &CacheKey,
        lease: LeaseId,
        flow: impl FnOnce() -> R,
    ) -> R {
        let (stop, stopped) = mpsc::channel::<()>();
        thread::scope(|scope| {
            let renewer = thread::Builder::new()
                .name("xaa-lease-renewal".to_owned())
                .spawn_scoped(scope, move || {
                    while let Err(RecvTimeoutError::Timeout) =
                        stopped.recv_timeout(self.renewal_interval())
                    {
                        let outcome = self.store().renew(key, lease, self.lease_ttl());
                        if self.after_renewal(outcome).is_break() {
                            return;
                        }
                    }
                });
            if let Err(error) = renewer {
                tracing::warn!(
                    event = "lease_not_renewed",
                    error = %error,
                    "no thread could be started to renew the lease; it may expire before the \
                     flow ends"
                );
            }
            let output = flow();
            drop(stop);
            output
        })
    }
}

impl SharedStore<dyn AsyncSharedTokenStore> {
    /// Runs `flow` while renewing `lease` on `key`, waiting between renewals with `sleep`
    /// (the transport's timer: the core has none). The renewals end when `flow` does.
    pub(super) async fn renewing<F, T>(
        &self,
        key: &CacheKey,
        lease: LeaseId,
        flow: F,
        sleep: impl Fn(Duration) -> T,
    ) -> F::Output
    where
        F: Future,
        T: Future<Output = ()>,
    {
        let renewals = async {
            loop {
                sleep(self.renewal_interval()).await;
                let outcome = self.store().renew(key, lease, self.lease_ttl()).await;
                if self.after_renewal(outcome).is_break() {
                    return;
                }
            }
        };
        alongside(flow, renewals).await
    }
}

/// `main`'s output, with `side` polled alongside it until either ends: `side`'s end leaves
/// `main` running, `main`'s end drops `side` wherever it is. No runtime: both are polled
/// with the caller's waker.
async fn alongside<F: Future>(main: F, side: impl Future<Output = ()>) -> F::Output {
    let mut main = pin!(main);
    let mut side = pin!(side);
    let mut side_ended = false;
    poll_fn(|context| {
        if let Poll::Ready(output) = main.as_mut().poll(context) {
            return Poll::Ready(output);
        }
        if !side_ended {
            side_ended = side.as_mut().poll(context).is_ready();
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use super::super::block_on::block_on;
    use super::super::shared_store::{Leased, StoreFuture};
    use super::*;
    use crate::AccessToken;
    use crate::Scope;
    use crate::cache::{CachedToken, Principal};

    /// A store whose renewals answer from a script (then `Ok(true)`), recording the time to
    /// live each asked for; every other step is unused here.
    #[derive(Default)]
    struct Renewals {
        script: Mutex<VecDeque<Result<bool, StoreUnavailable>>>,
        asked: Mutex<Vec<(LeaseId, Duration)>>,
    }

    impl Renewals {
        fn answering(script: Vec<Result<bool, StoreUnavailable>>) -> Arc<Self> {
            Arc::new(Self {
                script: Mutex::new(script.into()),
                asked: Mutex::default(),
            })
        }

        fn answer(&self, lease: LeaseId, ttl: Duration) -> Result<bool, StoreUnavailable> {
            self.asked.lock().expect("asked").push((lease, ttl));
            self.script
                .lock()
                .expect("script")
                .pop_front()
                .unwrap_or(Ok(true))
        }

        fn count(&self) -> usize {
            self.asked.lock().expect("asked").len()
        }
    }

    impl SharedTokenStore for Renewals {
        fn load(&self, _: &CacheKey) -> Result<Option<CachedToken>, StoreUnavailable> {
            unreachable!("not a step of a renewal")
        }
        fn save(&self, _: &CacheKey, _: &CachedToken) -> Result<(), StoreUnavailable> {
            unreachable!("not a step of a renewal")
        }
        fn remove(&self, _: &CacheKey, _: &AccessToken) -> Result<(), StoreUnavailable> {
            unreachable!("not a step of a renewal")
        }
        fn try_lease(&self, _: &CacheKey, _: Duration) -> Result<Leased, StoreUnavailable> {
            unreachable!("not a step of a renewal")
        }
        fn renew(
            &self,
            _: &CacheKey,
            lease: LeaseId,
            ttl: Duration,
        ) -> Result<bool, StoreUnavailable> {
            self.answer(lease, ttl)
        }
        fn release(&self, _: &CacheKey, _: LeaseId) -> Result<(), StoreUnavailable> {
            unreachable!("not a step of a renewal")
        }
        fn wait_for(&self, _: &CacheKey, _: Duration) -> Result<(), StoreUnavailable> {
            unreachable!("not a step of a renewal")
        }
    }

    impl AsyncSharedTokenStore for Renewals {
        fn load<'a>(&'a self, _: &'a CacheKey) -> StoreFuture<'a, Option<CachedToken>> {
            unreachable!("not a step of a renewal")
        }
        fn save<'a>(&'a self, _: &'a CacheKey, _: &'a CachedToken) -> StoreFuture<'a, ()> {
            unreachable!("not a step of a renewal")
        }
        fn remove<'a>(&'a self, _: &'a CacheKey, _: &'a AccessToken) -> StoreFuture<'a, ()> {
            unreachable!("not a step of a renewal")
        }
        fn try_lease<'a>(&'a self, _: &'a CacheKey, _: Duration) -> StoreFuture<'a, Leased> {
            unreachable!("not a step of a renewal")
        }
        fn renew<'a>(
            &'a self,
            _: &'a CacheKey,
            lease: LeaseId,
            ttl: Duration,
        ) -> StoreFuture<'a, bool> {
            let outcome = self.answer(lease, ttl);
            Box::pin(std::future::ready(outcome))
        }
        fn release<'a>(&'a self, _: &'a CacheKey, _: LeaseId) -> StoreFuture<'a, ()> {
            unreachable!("not a step of a renewal")
        }
        fn wait_for<'a>(&'a self, _: &'a CacheKey, _: Duration) -> StoreFuture<'a, ()> {
            unreachable!("not a step of a renewal")
        }
    }

    fn key() -> CacheKey {
        CacheKey::new(
            "as",
            "mcp",
            "client",
            &Scope::default(),
            Principal::key("k"),
        )
    }

    fn blocking(store: &Arc<Renewals>, ttl: Duration) -> SharedStore<dyn SharedTokenStore> {
        SharedStore::new(Arc::clone(store) as Arc<dyn SharedTokenStore>).with_lease_ttl(ttl)
    }

    fn non_blocking(
        store: &Arc<Renewals>,
        ttl: Duration,
    ) -> SharedStore<dyn AsyncSharedTokenStore> {
        SharedStore::new(Arc::clone(store) as Arc<dyn AsyncSharedTokenStore>).with_lease_ttl(ttl)
    }

    #[test]
    fn a_blocking_flow_is_renewed_every_third_of_the_ttl_and_no_more_once_it_ends() {
        let store = Renewals::answering(Vec::new());
        let shared = blocking(&store, Duration::from_millis(90));
        let output = shared.renewing(&key(), LeaseId::new(4), || {
            thread::sleep(Duration::from_millis(200));
            "landed"
        });
        assert_eq!(output, "landed");
        let renewed = store.count();
        // Every 30 ms over 200 ms: 6, fewer when the scheduler is late, never more.
        assert!((2..=6).contains(&renewed), "{renewed} renewals");
        assert!(
            store
                .asked
                .lock()
                .expect("asked")
                .iter()
                .all(|asked| *asked == (LeaseId::new(4), Duration::from_millis(90))),
            "the lease held, for the full time to live"
        );
        thread::sleep(Duration::from_millis(100));
        assert_eq!(store.count(), renewed, "no renewal after the flow");
    }

    #[test]
    fn a_short_blocking_flow_returns_at_once_without_a_renewal() {
        let store = Renewals::answering(Vec::new());
        let shared = blocking(&store, Duration::from_secs(30));
        let started = Instant::now();
        assert_eq!(shared.renewing(&key(), LeaseId::new(1), || 7), 7);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the renewer stops when the flow ends, not at its next renewal"
        );
        assert_eq!(store.count(), 0);
    }

    #[test]
    fn a_lost_lease_stops_the_renewals_and_not_the_flow() {
        let store = Renewals::answering(vec![
            Err(StoreUnavailable::new("down for one renewal")),
            Ok(false),
        ]);
        let shared = blocking(&store, Duration::from_millis(30));
        let output = shared.renewing(&key(), LeaseId::new(2), || {
            thread::sleep(Duration::from_millis(150));
            "completed"
        });
        assert_eq!(output, "completed");
        assert_eq!(store.count(), 2, "a failure retried, a loss final");
        assert_eq!(shared.fallbacks(), 1, "the failed renewal is counted");
    }

    /// A timer that is pending on its first poll (waking itself) and ready on its second,
    /// counting the sleeps asked for.
    fn yield_once(sleeps: &AtomicUsize) -> impl Future<Output = ()> + '_ {
        sleeps.fetch_add(1, Ordering::SeqCst);
        let mut polled = false;
        poll_fn(move |context| {
            if polled {
                return Poll::Ready(());
            }
            polled = true;
            context.waker().wake_by_ref();
            Poll::Pending
        })
    }

    /// A flow ready on its `polls`-th poll.
    fn ready_after(polls: usize, output: &'static str) -> impl Future<Output = &'static str> {
        let mut left = polls;
        poll_fn(move |context| {
            left -= 1;
            if left == 0 {
                return Poll::Ready(output);
            }
            context.waker().wake_by_ref();
            Poll::Pending
        })
    }

    #[test]
    fn an_async_flow_is_renewed_on_the_given_timer_until_it_ends() {
        let store = Renewals::answering(Vec::new());
        let shared = non_blocking(&store, Duration::from_millis(600));
        let sleeps = AtomicUsize::new(0);
        let output = block_on(shared.renewing(
            &key(),
            LeaseId::new(9),
            ready_after(5, "landed"),
            |interval| {
                assert_eq!(interval, Duration::from_millis(200), "a third of the ttl");
                yield_once(&sleeps)
            },
        ));
        assert_eq!(output, "landed");
        // Polls 1 to 4 of the flow pend: the first starts the timer, each next one ends a
        // sleep, renews and starts the next sleep.
        assert_eq!(store.count(), 3);
        assert_eq!(sleeps.load(Ordering::SeqCst), 4);
        assert_eq!(
            store.asked.lock().expect("asked").first(),
            Some(&(LeaseId::new(9), Duration::from_millis(600)))
        );
    }

    #[test]
    fn an_async_lost_lease_stops_the_renewals_and_not_the_flow() {
        let store = Renewals::answering(vec![Ok(false)]);
        let shared = non_blocking(&store, Duration::from_millis(600));
        let sleeps = AtomicUsize::new(0);
        let output = block_on(shared.renewing(
            &key(),
            LeaseId::new(9),
            ready_after(20, "completed"),
            |_| yield_once(&sleeps),
        ));
        assert_eq!(output, "completed");
        assert_eq!(store.count(), 1);
        assert_eq!(sleeps.load(Ordering::SeqCst), 1, "no sleep after the loss");
    }

    #[test]
    fn a_flow_ready_at_once_ends_before_any_renewal() {
        let store = Renewals::answering(Vec::new());
        let shared = non_blocking(&store, Duration::from_millis(600));
        let sleeps = AtomicUsize::new(0);
        let output = block_on(shared.renewing(
            &key(),
            LeaseId::new(9),
            std::future::ready("cached"),
            |_| yield_once(&sleeps),
        ));
        assert_eq!(output, "cached");
        assert_eq!(store.count(), 0);
        assert_eq!(sleeps.load(Ordering::SeqCst), 0, "the side never started");
    }
}
