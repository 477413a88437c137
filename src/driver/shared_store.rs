//! A token store shared by many replicas, and its fleet-wide lease: steps the driver performs
//! outside any lock, blocking ([`SharedTokenStore`]) or async ([`AsyncSharedTokenStore`]).
//!
//! When the authorizer has no usable token for a cache key it hands out a flight; before
//! running it, the driver asks the shared store for the key (a token another replica obtained
//! is adopted: no exchange), and otherwise takes the key's lease, so that one replica of the
//! fleet runs the exchange while the others wait for it and then read the store (decisions.md
//! D19, one flow per principal and scope, stretched across processes; D21, the application
//! chooses where tokens persist).
//!
//! The replica holding a lease renews it every third of its time to live while its flow runs
//! (blocking: on a scoped thread of its own; async: alongside the flow, on the transport's
//! timer), so a flow longer than the time to live keeps the fleet waiting for it, while a
//! replica that dies holding the lease gives it up within one time to live. A renewal that
//! finds the lease gone is logged (`event = "lease_lost"`); the flow still completes and saves
//! its token, and the fenced release leaves the new holder alone.
//!
//! A store that cannot answer is never a caller's failure: the driver logs it
//! (`event = "store_unavailable"`), counts it ([`SharedStore::fallbacks`]) and runs the
//! exchange itself for that call; the next call tries the store again.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::adapter::BoxError;
use crate::AccessToken;
use crate::cache::{CacheKey, CachedToken};

/// The default time to live of a lease. The holder renews it every third of that while its
/// flow runs, so it bounds how long a replica that dies holding a lease delays the others,
/// not how long a flow may last ([`SharedStore::with_lease_ttl`]).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

/// The default of the longest a caller waits, in one round, for the flow of another replica
/// that holds the lease and keeps renewing it ([`SharedStore::with_longest_wait`]): above the
/// whole flow of a client with the default per-request timeout
/// ([`DEFAULT_TIMEOUT`](super::DEFAULT_TIMEOUT), 30 seconds) when the servers answer promptly.
pub const DEFAULT_LONGEST_WAIT: Duration = Duration::from_secs(60);

/// A shared store that cannot answer (unreachable, timed out, an unexpected reply). Its
/// message names no key and no token; the cause is its [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct StoreUnavailable {
    source: BoxError,
}

impl StoreUnavailable {
    /// The store failed because of `source`.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the shared token store is unavailable")
    }
}

impl std::error::Error for StoreUnavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// A lease held on one cache key: its fencing token, larger than that of every lease granted
/// before it, so that the store acts on a release only while the lease is still this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseId(u64);

impl LeaseId {
    /// The lease with fencing token `fence`.
    pub const fn new(fence: u64) -> Self {
        Self(fence)
    }

    /// The fencing token.
    pub fn fence(self) -> u64 {
        self.0
    }
}

/// What [`SharedTokenStore::try_lease`] obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Leased {
    /// The caller holds the lease: run the exchange, save the token, release the lease.
    Acquired(LeaseId),
    /// Another replica holds it: wait for it, then load the token.
    Held,
}

/// A blocking shared token store with a lease per cache key (for `xaa-ureq`).
///
/// Tokens are judged by the authorizer: [`load`](Self::load) may answer an expired one. A
/// value the store cannot read (garbage, another key's, a key it cannot open) is `Ok(None)`,
/// not an error: errors are for a store that cannot answer.
pub trait SharedTokenStore: Send + Sync {
    /// The token stored for `key`, if any.
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn load(&self, key: &CacheKey) -> Result<Option<CachedToken>, StoreUnavailable>;

    /// Stores `token` for `key`, replacing any previous one, until the token is of no use
    /// ([`CachedToken::dead_at`]).
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn save(&self, key: &CacheKey, token: &CachedToken) -> Result<(), StoreUnavailable>;

    /// Forgets the token stored for `key` if it is still `refused` (the MCP server refused it:
    /// RFC 6750 section 3.1, `invalid_token`); a newer token another replica saved meanwhile
    /// stays. Atomic: the token compared is the token deleted.
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn remove(&self, key: &CacheKey, refused: &AccessToken) -> Result<(), StoreUnavailable>;

    /// Takes the lease on `key` for `ttl`, unless another holder has it.
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn try_lease(&self, key: &CacheKey, ttl: Duration) -> Result<Leased, StoreUnavailable>;

    /// Extends `lease` on `key` to `ttl` from now, while it is still this one: `Ok(false)`
    /// when it expired (and perhaps another holder took it), which leaves the lease alone.
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn renew(
        &self,
        key: &CacheKey,
        lease: LeaseId,
        ttl: Duration,
    ) -> Result<bool, StoreUnavailable>;

    /// Lets the lease go and wakes the replicas waiting for it; a lease that expired and was
    /// taken over is left to its new holder.
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn release(&self, key: &CacheKey, lease: LeaseId) -> Result<(), StoreUnavailable>;

    /// Returns when the lease on `key` is gone (released or expired) or `timeout` has passed,
    /// whichever is first.
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn wait_for(&self, key: &CacheKey, timeout: Duration) -> Result<(), StoreUnavailable>;
}

/// What an [`AsyncSharedTokenStore`] operation returns.
pub type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, StoreUnavailable>> + Send + 'a>>;

/// The async [`SharedTokenStore`] (for `xaa-reqwest`): the same operations, as futures that
/// never block the executor's thread.
pub trait AsyncSharedTokenStore: Send + Sync {
    /// As [`SharedTokenStore::load`].
    fn load<'a>(&'a self, key: &'a CacheKey) -> StoreFuture<'a, Option<CachedToken>>;

    /// As [`SharedTokenStore::save`].
    fn save<'a>(&'a self, key: &'a CacheKey, token: &'a CachedToken) -> StoreFuture<'a, ()>;

    /// As [`SharedTokenStore::remove`].
    fn remove<'a>(&'a self, key: &'a CacheKey, refused: &'a AccessToken) -> StoreFuture<'a, ()>;

    /// As [`SharedTokenStore::try_lease`].
    fn try_lease<'a>(&'a self, key: &'a CacheKey, ttl: Duration) -> StoreFuture<'a, Leased>;

    /// As [`SharedTokenStore::renew`].
    fn renew<'a>(
        &'a self,
        key: &'a CacheKey,
        lease: LeaseId,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;

    /// As [`SharedTokenStore::release`].
    fn release<'a>(&'a self, key: &'a CacheKey, lease: LeaseId) -> StoreFuture<'a, ()>;

    /// As [`SharedTokenStore::wait_for`].
    fn wait_for<'a>(&'a self, key: &'a CacheKey, timeout: Duration) -> StoreFuture<'a, ()>;
}

/// A shared store as a client uses it: the store, the lease's time to live, the longest wait
/// for another replica's flow, and the count of calls that went on without the store.
///
/// Cheap to clone: clones share the store and the count.
pub struct SharedStore<S: ?Sized> {
    store: Arc<S>,
    lease_ttl: Duration,
    longest_wait: Duration,
    fallbacks: Arc<AtomicU64>,
}

impl<S: ?Sized> Clone for SharedStore<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            lease_ttl: self.lease_ttl,
            longest_wait: self.longest_wait,
            fallbacks: Arc::clone(&self.fallbacks),
        }
    }
}

impl<S: ?Sized> fmt::Debug for SharedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedStore")
            .field("lease_ttl", &self.lease_ttl)
            .field("longest_wait", &self.longest_wait)
            .field("fallbacks", &self.fallbacks())
            .finish_non_exhaustive()
    }
}

impl SharedStore<dyn SharedTokenStore> {
    /// A blocking client's shared `store`, with leases of [`DEFAULT_LEASE_TTL`].
    pub fn blocking(store: impl SharedTokenStore + 'static) -> Self {
        Self::new(Arc::new(store))
    }
}

impl SharedStore<dyn AsyncSharedTokenStore> {
    /// An async client's shared `store`, with leases of [`DEFAULT_LEASE_TTL`].
    pub fn non_blocking(store: impl AsyncSharedTokenStore + 'static) -> Self {
        Self::new(Arc::new(store))
    }
}

impl<S: ?Sized> SharedStore<S> {
    /// `store`, with leases of [`DEFAULT_LEASE_TTL`] and waits of at most
    /// [`DEFAULT_LONGEST_WAIT`].
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            lease_ttl: DEFAULT_LEASE_TTL,
            longest_wait: DEFAULT_LONGEST_WAIT,
            fallbacks: Arc::default(),
        }
    }

    /// Leases of `ttl` (at least three milliseconds, so that a renewal every third of it is
    /// at least a millisecond apart): a replica that dies holding one delays the others by at
    /// most `ttl`. The holder renews its lease every `ttl / 3` while its flow runs, so `ttl`
    /// may be shorter than the flow; it must stay well above one round trip to the store.
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(3));
        self
    }

    /// Waits of at most `wait` (at least a millisecond) for the flow of another replica that
    /// holds the lease: a caller waits this long, then looks at the store and the lease again,
    /// and after a few such rounds runs the flow itself. Choose it above the longest flow the
    /// client allows; a holder that dies is noticed at its lease's expiry, whatever `wait`.
    #[must_use]
    pub fn with_longest_wait(mut self, wait: Duration) -> Self {
        self.longest_wait = wait.max(Duration::from_millis(1));
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The lease's time to live.
    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
    }

    /// The longest a caller waits, in one round, for another replica's flow.
    pub fn longest_wait(&self) -> Duration {
        self.longest_wait
    }

    /// How many times the store could not answer (a lease renewal included) and a call went
    /// on without it.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// Logs and counts a failure of the store; the caller goes on without it.
    pub(super) fn unavailable(&self, error: &StoreUnavailable) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            event = "store_unavailable",
            error = %error,
            "the shared token store did not answer; this call goes on without it"
        );
    }
}
