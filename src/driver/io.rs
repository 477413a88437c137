//! [`Io`]: what the authorizer's loop needs done, by a blocking client (every future ready
//! when made: the work is done on the calling thread) or an async one.

use std::future::{Future, ready};
use std::time::SystemTime;

use super::block_on::block_on;
use super::client::{AsyncClient, AsyncTransport, BlockingClient, BlockingTransport};
use super::error::DriverError;
use super::refresh::Refresh;
use super::shared_store::{LeaseId, Leased, StoreUnavailable};
use super::transport::Transport;
use crate::authorizer::{Authorizer, Flight, Waited, Waiter};
use crate::cache::{CacheKey, CachedToken};
use crate::{AccessToken, Authorization, EnterpriseAuth, HttpRequest, HttpResponse};

/// The I/O of the loop: what a blocking or an async client does for it.
pub(super) trait Io {
    /// The driver's transport, whose errors the loop returns.
    type Transport: Transport;

    /// The time now, from the transport.
    fn now(&self) -> SystemTime;

    /// Runs a flight's flow, bodies capped at `max_body_bytes`.
    fn run(
        &self,
        flow: EnterpriseAuth,
        max_body_bytes: usize,
    ) -> impl Future<Output = Result<Authorization, DriverError<Self::Transport>>> + Send;

    /// Sends the MCP request, body capped at the client's resource cap.
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<Self::Transport>>> + Send;

    /// Waits for another caller's flight.
    fn wait(&self, waiter: Waiter) -> impl Future<Output = Waited> + Send;

    /// Hands a refresh flight to the transport, to run in the background.
    fn refresh_in_background(&self, authorizer: &Authorizer, flight: Flight);

    /// The shared store's token for `key`; without a shared store, none.
    fn store_load(
        &self,
        key: &CacheKey,
    ) -> impl Future<Output = Result<Option<CachedToken>, StoreUnavailable>> + Send;

    /// Saves `token` in the shared store; without one, nothing.
    fn store_save(
        &self,
        key: &CacheKey,
        token: &CachedToken,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send;

    /// Forgets the shared store's token for `key` if it is still `refused`; without a shared
    /// store, nothing.
    fn store_remove(
        &self,
        key: &CacheKey,
        refused: &AccessToken,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send;

    /// Takes the shared store's lease on `key`; without a shared store, the caller's own
    /// single flight is the only one: acquired.
    fn store_lease(
        &self,
        key: &CacheKey,
    ) -> impl Future<Output = Result<Leased, StoreUnavailable>> + Send;

    /// Runs `flow` while renewing `lease` on `key` every third of its time to live (blocking:
    /// on a scoped thread; async: alongside `flow`, on the transport's timer); without a
    /// shared store, runs `flow`. Send when `flow` is, which a blocking client's need not be
    /// (its transport may hold what cannot cross threads: it runs on the calling thread).
    fn holding<F: Future>(
        &self,
        key: &CacheKey,
        lease: LeaseId,
        flow: F,
    ) -> impl Future<Output = F::Output>;

    /// Releases the lease; without a shared store, nothing.
    fn store_release(
        &self,
        key: &CacheKey,
        lease: LeaseId,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send;

    /// Waits, at most the shared store's longest wait, for another replica's lease on `key` to
    /// go.
    fn store_wait(
        &self,
        key: &CacheKey,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send;

    /// Logs and counts a shared store that did not answer.
    fn store_unavailable(&self, error: &StoreUnavailable);
}

/// The lease a client without a shared store "holds": its process is the whole fleet.
const NO_LEASE: Leased = Leased::Acquired(LeaseId::new(0));

impl<T: BlockingTransport> Io for BlockingClient<T> {
    type Transport = T;

    fn now(&self) -> SystemTime {
        self.transport().now()
    }

    fn run(
        &self,
        flow: EnterpriseAuth,
        max_body_bytes: usize,
    ) -> impl Future<Output = Result<Authorization, DriverError<T>>> + Send {
        ready(self.run_flow(flow, max_body_bytes))
    }

    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<T>>> + Send {
        ready(self.send_resource(request))
    }

    fn wait(&self, waiter: Waiter) -> impl Future<Output = Waited> + Send {
        ready(waiter.wait_blocking())
    }

    fn refresh_in_background(&self, authorizer: &Authorizer, flight: Flight) {
        T::refresh_in_background(Refresh::new(authorizer.clone(), self.clone(), flight));
    }

    fn store_load(
        &self,
        key: &CacheKey,
    ) -> impl Future<Output = Result<Option<CachedToken>, StoreUnavailable>> + Send {
        ready(
            self.shared_store()
                .map_or(Ok(None), |s| s.store().load(key)),
        )
    }

    fn store_save(
        &self,
        key: &CacheKey,
        token: &CachedToken,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send {
        ready(
            self.shared_store()
                .map_or(Ok(()), |s| s.store().save(key, token)),
        )
    }

    fn store_remove(
        &self,
        key: &CacheKey,
        refused: &AccessToken,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send {
        ready(
            self.shared_store()
                .map_or(Ok(()), |s| s.store().remove(key, refused)),
        )
    }

    fn store_lease(
        &self,
        key: &CacheKey,
    ) -> impl Future<Output = Result<Leased, StoreUnavailable>> + Send {
        ready(
            self.shared_store()
                .map_or(Ok(NO_LEASE), |s| s.store().try_lease(key, s.lease_ttl())),
        )
    }

    fn holding<F: Future>(
        &self,
        key: &CacheKey,
        lease: LeaseId,
        flow: F,
    ) -> impl Future<Output = F::Output> {
        // The flow's futures are ready when made: it runs here, to its end.
        ready(match self.shared_store() {
            Some(shared) => shared.renewing(key, lease, || block_on(flow)),
            None => block_on(flow),
        })
    }

    fn store_release(
        &self,
        key: &CacheKey,
        lease: LeaseId,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send {
        ready(
            self.shared_store()
                .map_or(Ok(()), |s| s.store().release(key, lease)),
        )
    }

    fn store_wait(
        &self,
        key: &CacheKey,
    ) -> impl Future<Output = Result<(), StoreUnavailable>> + Send {
        ready(
            self.shared_store()
                .map_or(Ok(()), |s| s.store().wait_for(key, s.longest_wait())),
        )
    }

    fn store_unavailable(&self, error: &StoreUnavailable) {
        if let Some(shared) = self.shared_store() {
            shared.unavailable(error);
        }
    }
}

impl<T: AsyncTransport> Io for AsyncClient<T> {
    type Transport = T;

    fn now(&self) -> SystemTime {
        self.transport().now()
    }

    fn run(
        &self,
        flow: EnterpriseAuth,
        max_body_bytes: usize,
    ) -> impl Future<Output = Result<Authorization, DriverError<T>>> + Send {
        self.run_flow(flow, max_body_bytes)
    }

    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<T>>> + Send {
        self.send_resource(request)
    }

    fn wait(&self, waiter: Waiter) -> impl Future<Output = Waited> + Send {
        waiter.wait()
    }

    fn refresh_in_background(&self, authorizer: &Authorizer, flight: Flight) {
        T::refresh_in_background(Refresh::new(authorizer.clone(), self.clone(), flight));
    }

    async fn store_load(&self, key: &CacheKey) -> Result<Option<CachedToken>, StoreUnavailable> {
        match self.shared_store() {
            Some(s) => s.store().load(key).await,
            None => Ok(None),
        }
    }

    async fn store_save(
        &self,
        key: &CacheKey,
        token: &CachedToken,
    ) -> Result<(), StoreUnavailable> {
        match self.shared_store() {
            Some(s) => s.store().save(key, token).await,
            None => Ok(()),
        }
    }

    async fn store_remove(
        &self,
        key: &CacheKey,
        refused: &AccessToken,
    ) -> Result<(), StoreUnavailable> {
        match self.shared_store() {
            Some(s) => s.store().remove(key, refused).await,
            None => Ok(()),
        }
    }

    async fn store_lease(&self, key: &CacheKey) -> Result<Leased, StoreUnavailable> {
        match self.shared_store() {
            Some(s) => s.store().try_lease(key, s.lease_ttl()).await,
            None => Ok(NO_LEASE),
        }
    }

    async fn holding<F: Future>(&self, key: &CacheKey, lease: LeaseId, flow: F) -> F::Output {
        match self.shared_store() {
            Some(shared) => {
                let sleep = |duration| self.transport().sleep(duration);
                shared.renewing(key, lease, flow, sleep).await
            }
            None => flow.await,
        }
    }

    async fn store_release(&self, key: &CacheKey, lease: LeaseId) -> Result<(), StoreUnavailable> {
        match self.shared_store() {
            Some(s) => s.store().release(key, lease).await,
            None => Ok(()),
        }
    }

    async fn store_wait(&self, key: &CacheKey) -> Result<(), StoreUnavailable> {
        match self.shared_store() {
            Some(s) => s.store().wait_for(key, s.longest_wait()).await,
            None => Ok(()),
        }
    }

    fn store_unavailable(&self, error: &StoreUnavailable) {
        if let Some(shared) = self.shared_store() {
            shared.unavailable(error);
        }
    }
}
