//! The driver kit's shared-store traits over Redis: [`RedisSharedStore`] for blocking clients
//! (`xaa-ureq`), [`AsyncRedisSharedStore`] for async ones (`xaa-reqwest`), each a
//! [`RedisTokenStore`] and [`RedisLeases`] under one prefix, over connections of its own.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::Client;
use redis::aio::ConnectionManager;
use xaa::AccessToken;
use xaa::cache::{CacheKey, CachedToken};
use xaa::driver::{
    AsyncSharedTokenStore, LeaseId, Leased, SharedTokenStore, StoreFuture, StoreUnavailable,
};

use crate::error::StoreError;
use crate::lease::{Acquisition, RedisLeases};
use crate::manager::connection_manager;
use crate::prefix::KeyPrefix;
use crate::reconnecting::{ReconnectingConnection, Timeouts};
use crate::sealing::SealingKeys;
use crate::tokens::RedisTokenStore;

/// The most idle blocking connections a [`RedisSharedStore`] keeps for reuse; more callers at
/// once open more, which close when done.
const IDLE_CONNECTIONS: usize = 16;

/// The time a wait may last: `timeout` from now, or as far as the clock goes.
fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or(now)
}

fn unavailable(error: StoreError) -> StoreUnavailable {
    StoreUnavailable::new(error)
}

fn leased(acquisition: Acquisition) -> Leased {
    match acquisition {
        Acquisition::Acquired(lease) => Leased::Acquired(LeaseId::new(lease.fence())),
        Acquisition::Held => Leased::Held,
    }
}

/// A token store shared by the replicas of a blocking client, with the fleet-wide lease:
/// give it to `xaa_ureq::Client::with_shared_store` through
/// [`SharedStore`](xaa::driver::SharedStore).
///
/// Each operation runs on a [`ReconnectingConnection`] taken from a small pool (at most 16
/// idle), so a caller waiting for a lease holds no connection another caller needs.
pub struct RedisSharedStore {
    tokens: RedisTokenStore,
    leases: RedisLeases,
    client: Client,
    timeouts: Timeouts,
    idle: Mutex<Vec<ReconnectingConnection>>,
}

impl fmt::Debug for RedisSharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSharedStore")
            .field("tokens", &self.tokens)
            .field("leases", &self.leases)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl RedisSharedStore {
    /// Tokens sealed with `keys` and leases, both under `prefix`, on the server `client`
    /// names; every connection step waits at most `timeouts`. Connects on first use.
    pub fn new(client: Client, timeouts: Timeouts, prefix: KeyPrefix, keys: SealingKeys) -> Self {
        Self {
            tokens: RedisTokenStore::new(prefix.clone(), keys),
            leases: RedisLeases::new(prefix),
            client,
            timeouts,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `operation` on a pooled connection, returned to the pool afterwards. When the
    /// server could not be reached or did not answer, every idle connection is dropped with
    /// this one: they are to the same server, and one kept across a restart of Redis would
    /// fail its next command (a call counted as going without the store) instead of
    /// reconnecting.
    fn with_connection<T>(
        &self,
        operation: impl FnOnce(&mut ReconnectingConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreUnavailable> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut connection = pooled
            .unwrap_or_else(|| ReconnectingConnection::new(self.client.clone(), self.timeouts));
        let result = operation(&mut connection);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(
            result,
            Err(StoreError::Unreachable(_) | StoreError::TimedOut(_))
        ) {
            idle.clear();
        } else if idle.len() < IDLE_CONNECTIONS {
            idle.push(connection);
        }
        result.map_err(unavailable)
    }
}

impl SharedTokenStore for RedisSharedStore {
    fn load(&self, key: &CacheKey) -> Result<Option<CachedToken>, StoreUnavailable> {
        self.with_connection(|connection| self.tokens.get(connection, key))
    }

    fn save(&self, key: &CacheKey, token: &CachedToken) -> Result<(), StoreUnavailable> {
        self.with_connection(|connection| self.tokens.put(connection, key, token))
    }

    fn remove(&self, key: &CacheKey, refused: &AccessToken) -> Result<(), StoreUnavailable> {
        self.with_connection(|connection| self.tokens.delete_if(connection, key, refused).map(drop))
    }

    fn try_lease(&self, key: &CacheKey, ttl: Duration) -> Result<Leased, StoreUnavailable> {
        self.with_connection(|connection| self.leases.try_acquire(connection, key, ttl))
            .map(leased)
    }

    fn renew(
        &self,
        key: &CacheKey,
        lease: LeaseId,
        ttl: Duration,
    ) -> Result<bool, StoreUnavailable> {
        let lease = self.leases.lease(key, lease.fence());
        self.with_connection(|connection| self.leases.renew(connection, &lease, ttl))
    }

    fn release(&self, key: &CacheKey, lease: LeaseId) -> Result<(), StoreUnavailable> {
        let lease = self.leases.lease(key, lease.fence());
        self.with_connection(|connection| self.leases.release(connection, &lease).map(drop))
    }

    fn wait_for(&self, key: &CacheKey, timeout: Duration) -> Result<(), StoreUnavailable> {
        let deadline = deadline(timeout);
        self.with_connection(|connection| {
            self.leases
                .wait_for(connection, &self.client, key, deadline)
                .map(drop)
        })
    }
}

/// The async [`RedisSharedStore`], for `xaa_reqwest::Client::with_shared_store`: every
/// operation on one reconnecting multiplexed connection ([`connection_manager`]), a wait on a
/// subscription of its own; nothing blocks the executor.
///
/// ```no_run
/// use std::time::Duration;
/// use xaa::authorizer::AuthorizerConfig;
/// use xaa::driver::SharedStore;
/// use xaa_redis::{AsyncRedisSharedStore, KeyPrefix, SealingKey, SealingKeys, Timeouts};
///
/// # async fn gateway(config: AuthorizerConfig, key_material: [u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
/// let keys = SealingKeys::new(SealingKey::new(1, &key_material)?);
/// let redis = redis::Client::open("redis://10.0.0.5:6379/")?;
/// let prefix = KeyPrefix::new("gateway")?;
/// let store = AsyncRedisSharedStore::connect(redis, Timeouts::default(), prefix, keys).await?;
/// let store = SharedStore::non_blocking(store).with_lease_ttl(Duration::from_secs(60));
/// let client = xaa_reqwest::Client::new()?.with_shared_store(store.clone());
/// let authorizer = xaa_reqwest::Authorizer::with_client(config, client);
/// // authorizer.send(&user, request).await, as with one process; store.fallbacks() to monitor.
/// # Ok(()) }
/// ```
pub struct AsyncRedisSharedStore {
    tokens: RedisTokenStore,
    leases: RedisLeases,
    client: Client,
    connection: ConnectionManager,
}

impl fmt::Debug for AsyncRedisSharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncRedisSharedStore")
            .field("tokens", &self.tokens)
            .field("leases", &self.leases)
            .finish_non_exhaustive()
    }
}

impl AsyncRedisSharedStore {
    /// As [`RedisSharedStore::new`], connected now.
    ///
    /// # Errors
    ///
    /// The first connection cannot be made.
    pub async fn connect(
        client: Client,
        timeouts: Timeouts,
        prefix: KeyPrefix,
        keys: SealingKeys,
    ) -> Result<Self, StoreError> {
        let connection = connection_manager(client.clone(), timeouts).await?;
        Ok(Self {
            tokens: RedisTokenStore::new(prefix.clone(), keys),
            leases: RedisLeases::new(prefix),
            client,
            connection,
        })
    }
}

impl AsyncSharedTokenStore for AsyncRedisSharedStore {
    fn load<'a>(&'a self, key: &'a CacheKey) -> StoreFuture<'a, Option<CachedToken>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            self.tokens
                .get_async(&mut connection, key)
                .await
                .map_err(unavailable)
        })
    }

    fn save<'a>(&'a self, key: &'a CacheKey, token: &'a CachedToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            self.tokens
                .put_async(&mut connection, key, token)
                .await
                .map_err(unavailable)
        })
    }

    fn remove<'a>(&'a self, key: &'a CacheKey, refused: &'a AccessToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            self.tokens
                .delete_if_async(&mut connection, key, refused)
                .await
                .map(drop)
                .map_err(unavailable)
        })
    }

    fn renew<'a>(
        &'a self,
        key: &'a CacheKey,
        lease: LeaseId,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let lease = self.leases.lease(key, lease.fence());
            self.leases
                .renew_async(&mut connection, &lease, ttl)
                .await
                .map_err(unavailable)
        })
    }

    fn try_lease<'a>(&'a self, key: &'a CacheKey, ttl: Duration) -> StoreFuture<'a, Leased> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            self.leases
                .try_acquire_async(&mut connection, key, ttl)
                .await
                .map(leased)
                .map_err(unavailable)
        })
    }

    fn release<'a>(&'a self, key: &'a CacheKey, lease: LeaseId) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let lease = self.leases.lease(key, lease.fence());
            self.leases
                .release_async(&mut connection, &lease)
                .await
                .map(drop)
                .map_err(unavailable)
        })
    }

    fn wait_for<'a>(&'a self, key: &'a CacheKey, timeout: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            self.leases
                .wait_for_async(&mut connection, &self.client, key, deadline(timeout))
                .await
                .map(drop)
                .map_err(unavailable)
        })
    }
}
