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
use crate::cache::{CacheKey, CachedToken};

/// The default time to live of a lease: above the whole flow of a client with the default
/// per-request timeout ([`DEFAULT_TIMEOUT`](super::DEFAULT_TIMEOUT), 30 seconds) when the
/// servers answer promptly. The lease is not renewed while the flow runs: choose a time to
/// live above the longest flow you allow ([`SharedStore::with_lease_ttl`]).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(60);

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

    /// Forgets the token stored for `key` (the MCP server refused it).
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn remove(&self, key: &CacheKey) -> Result<(), StoreUnavailable>;

    /// Takes the lease on `key` for `ttl`, unless another holder has it.
    ///
    /// # Errors
    ///
    /// The store cannot answer.
    fn try_lease(&self, key: &CacheKey, ttl: Duration) -> Result<Leased, StoreUnavailable>;

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
    fn remove<'a>(&'a self, key: &'a CacheKey) -> StoreFuture<'a, ()>;

    /// As [`SharedTokenStore::try_lease`].
    fn try_lease<'a>(&'a self, key: &'a CacheKey, ttl: Duration) -> StoreFuture<'a, Leased>;

    /// As [`SharedTokenStore::release`].
    fn release<'a>(&'a self, key: &'a CacheKey, lease: LeaseId) -> StoreFuture<'a, ()>;

    /// As [`SharedTokenStore::wait_for`].
    fn wait_for<'a>(&'a self, key: &'a CacheKey, timeout: Duration) -> StoreFuture<'a, ()>;
}

/// A shared store as a client uses it: the store, the lease's time to live, and the count of
/// calls that went on without it.
///
/// Cheap to clone: clones share the store and the count.
pub struct SharedStore<S: ?Sized> {
    store: Arc<S>,
    lease_ttl: Duration,
    fallbacks: Arc<AtomicU64>,
}

impl<S: ?Sized> Clone for SharedStore<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            lease_ttl: self.lease_ttl,
            fallbacks: Arc::clone(&self.fallbacks),
        }
    }
}

impl<S: ?Sized> fmt::Debug for SharedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedStore")
            .field("lease_ttl", &self.lease_ttl)
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
    /// `store`, with leases of [`DEFAULT_LEASE_TTL`].
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            lease_ttl: DEFAULT_LEASE_TTL,
            fallbacks: Arc::default(),
        }
    }

    /// Leases of `ttl` (at least a millisecond): longer than the longest flow the client
    /// allows, since a lease is not renewed while its flow runs; a replica that dies holding
    /// one delays the others by at most `ttl`.
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(1));
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

    /// How many times the store could not answer and a call went on without it.
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
