//! [`TokenStore`], the persistence hook (decisions.md D21), and its in-memory default,
//! bounded and expiring (decisions.md D26).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::entries::{Entries, SWEEP_BUDGET};
use super::{CacheKey, CachedToken, TokenCache};

/// Where cached tokens persist (decisions.md D21): the application's choice. The in-memory
/// default is [`MemoryTokenStore`]; [`CacheKey`] and [`CachedToken`] implement serde for stores
/// that write elsewhere (files with 0600 permissions, a keychain, a database).
///
/// The methods are infallible: a store that cannot load or save should behave as if the token
/// were absent, and report the failure through its own logging.
///
/// The authorizer calls the store while it holds its lock, so an implementation must not do
/// I/O or wait: it is for in-process stores (decisions.md D30). A store reached over the
/// network (shared by replicas) implements the driver's steps instead,
/// `xaa::driver::SharedTokenStore` or `AsyncSharedTokenStore` (feature `driver`), which the
/// drivers perform outside any lock.
pub trait TokenStore: Send + Sync {
    /// The token saved under `key`, if any. It may be expired: judge it with a [`TokenCache`].
    fn load(&self, key: &CacheKey) -> Option<CachedToken>;

    /// Saves `token` under `key`, replacing any previous one.
    fn save(&self, key: &CacheKey, token: &CachedToken);

    /// Forgets the token under `key`.
    fn remove(&self, key: &CacheKey);

    /// Tells the store the time. The authorizer calls it with its `now` on every operation,
    /// before it loads or saves anything: a store that reads no clock of its own (the core
    /// reads none) learns here when its entries die. [`MemoryTokenStore`] drops a few dead
    /// entries on each call (decisions.md D26); the default does nothing, for stores that
    /// prune on their own terms.
    fn expire(&self, now: SystemTime) {
        let _ = now;
    }
}

/// A [`TokenStore`] in process memory: a map behind a mutex, not a global.
///
/// Bounded and expiring (decisions.md D26): at most the capacity it was made with
/// ([`MemoryTokenStore::with_capacity`]; 1024 by default, the same default as [`TokenCache`]
/// and the authorizer's `AuthorizerConfig::max_entries`); a new key in a full store evicts the entry that is dead
/// soonest (its token and the ID-JAG kept with it both expired). The store reads no clock: it
/// learns the time from [`TokenStore::expire`], which drops a few dead entries per call, and a
/// [`TokenStore::load`] of an entry dead at that time drops it and answers `None`. No operation
/// walks the whole store.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use xaa::AccessToken;
/// use xaa::cache::{CacheKey, CachedToken, MemoryTokenStore, Principal, TokenStore};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let store = MemoryTokenStore::with_capacity(2);
/// for user in ["alice", "bob", "carol"] {
///     let key = CacheKey::new("https://as", "https://mcp", "c", &Default::default(), Principal::key(user));
///     store.save(&key, &CachedToken::new(AccessToken::new(user), now + Duration::from_secs(60)));
/// }
/// assert_eq!(store.len(), 2, "the bound evicted one");
/// store.expire(now + Duration::from_secs(60));
/// assert!(store.is_empty(), "both expired, and each call sweeps a few");
/// ```
#[derive(Debug)]
pub struct MemoryTokenStore {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    entries: Entries,
    capacity: usize,
    /// The time [`TokenStore::expire`] last told.
    now: Option<SystemTime>,
}

impl Inner {
    fn sweep(&mut self) {
        if let Some(now) = self.now {
            for _ in 0..SWEEP_BUDGET {
                if self.entries.pop_dead(now).is_none() {
                    break;
                }
            }
        }
    }
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTokenStore {
    /// An empty store holding at most [`TokenCache::DEFAULT_MAX_ENTRIES`] tokens.
    pub fn new() -> Self {
        Self::with_capacity(TokenCache::DEFAULT_MAX_ENTRIES)
    }

    /// An empty store holding at most `capacity` tokens (at least 1). A store shared by
    /// several authorizers wants room for what all of them cache.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: Entries::default(),
                capacity: capacity.max(1),
                now: None,
            }),
        }
    }

    /// The number of saved tokens, dead ones included until swept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is saved.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The map; no operation on it panics, so a poisoned lock (a panic elsewhere on a thread
    /// that held it) is taken over.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, key: &CacheKey) -> Option<CachedToken> {
        let mut inner = self.lock();
        inner.sweep();
        if let Some(now) = inner.now
            && inner.entries.remove_if_dead(key, now).is_some()
        {
            return None;
        }
        inner.entries.get(key).cloned()
    }

    fn save(&self, key: &CacheKey, token: &CachedToken) {
        let mut inner = self.lock();
        let capacity = inner.capacity;
        inner.entries.insert(key.clone(), token.clone(), capacity);
        inner.sweep();
    }

    fn remove(&self, key: &CacheKey) {
        let mut inner = self.lock();
        inner.entries.remove(key);
        inner.sweep();
    }

    fn expire(&self, now: SystemTime) {
        let mut inner = self.lock();
        inner.now = Some(now);
        inner.sweep();
    }
}
