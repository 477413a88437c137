//! Fleet-wide single flight: one replica at a time obtains the token for a cache key, the
//! others wait for it.
//!
//! A lease is a Redis key, `<prefix>:lease:<digest>`, set with `NX` and a time to live; its
//! value is a fencing token drawn from the counter `<prefix>:fence` (`INCR`), so every lease
//! ever granted has its own number. Renewing and releasing are scripts that act only while the
//! lease still holds the caller's number: a holder whose lease expired and was taken over
//! cannot extend or delete its successor's. Releasing publishes on
//! `<prefix>:released:<digest>`, which [`RedisLeases::wait_for`] listens to.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{ConnectionLike, Script, Value, aio};
use xaa::cache::CacheKey;

use crate::digest::Digest;
use crate::error::StoreError;
use crate::prefix::KeyPrefix;
use crate::request::{Request, ScriptCall};

/// `KEYS[1]` the lease, `KEYS[2]` the fence counter, `ARGV[1]` the time to live in
/// milliseconds. Returns the new fencing token, or false when the lease is held.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
if redis.call('SET', KEYS[1], fence, 'NX', 'PX', ARGV[1]) then return fence end
return false
",
    )
});

/// `KEYS[1]` the lease, `ARGV[1]` the fencing token, `ARGV[2]` the time to live in
/// milliseconds. Returns 1 when renewed, 0 when the lease is another's or gone.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});

/// `KEYS[1]` the lease, `ARGV[1]` the fencing token, `ARGV[2]` the channel. Returns 1 when
/// released (and announced), 0 when the lease is another's or gone.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[1])
  return 1
end
return 0
",
    )
});

/// The right to obtain the token for one cache key, until its time to live runs out.
///
/// Holds no secret. The [fencing token](Lease::fence) may be passed along to whatever the
/// holder writes, so a writer can refuse a stale holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    key: String,
    channel: String,
    fence: u64,
}

impl Lease {
    /// The fencing token: larger than that of every lease granted before under the prefix.
    pub fn fence(&self) -> u64 {
        self.fence
    }
}

/// What [`RedisLeases::try_acquire`] obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Acquisition {
    /// The lease is the caller's: obtain the token, store it, then
    /// [release](RedisLeases::release) the lease.
    Acquired(Lease),
    /// Another holder has the lease: [wait](RedisLeases::wait_for) for it, then read the
    /// token from the store.
    Held,
}

/// Leases on cache keys, for a fleet-wide single flight.
///
/// The expected use, for a cache key whose token is missing or due:
/// [`try_acquire`](Self::try_acquire); when acquired, obtain the token,
/// [`put`](crate::RedisTokenStore::put) it, [`release`](Self::release) (which wakes the
/// waiters), and [`renew`](Self::renew) meanwhile when obtaining it can outlast the time to
/// live; when held, [`wait_for`](Self::wait_for) and read the store again.
#[derive(Clone, Debug, Default)]
pub struct RedisLeases {
    pub(crate) prefix: KeyPrefix,
}

impl RedisLeases {
    /// Leases under `prefix`.
    pub fn new(prefix: KeyPrefix) -> Self {
        Self { prefix }
    }

    /// The Redis key of the lease on `key`. Carries no secret.
    pub fn lease_name(&self, key: &CacheKey) -> String {
        self.prefix.lease_key(&Digest::of_cache_key(key))
    }

    /// The channel a release of the lease on `key` is announced on.
    pub fn channel_name(&self, key: &CacheKey) -> String {
        self.prefix.released_channel(&Digest::of_cache_key(key))
    }

    /// The lease on `key` with fencing token `fence`, as [`RedisLeases::try_acquire`] granted
    /// it: what a holder that kept only the number releases.
    pub fn lease(&self, key: &CacheKey, fence: u64) -> Lease {
        let digest = Digest::of_cache_key(key);
        Lease {
            key: self.prefix.lease_key(&digest),
            channel: self.prefix.released_channel(&digest),
            fence,
        }
    }

    /// Takes the lease on `key` for `ttl` (at least a millisecond) unless another holder has
    /// it.
    pub fn try_acquire(
        &self,
        connection: &mut impl ConnectionLike,
        key: &CacheKey,
        ttl: Duration,
    ) -> Result<Acquisition, StoreError> {
        let digest = Digest::of_cache_key(key);
        let reply = self.acquire_request(&digest, ttl).run(connection)?;
        self.read_acquisition(&digest, reply)
    }

    /// [`RedisLeases::try_acquire`] over an async connection.
    pub async fn try_acquire_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        key: &CacheKey,
        ttl: Duration,
    ) -> Result<Acquisition, StoreError> {
        let digest = Digest::of_cache_key(key);
        let reply = self
            .acquire_request(&digest, ttl)
            .run_async(connection)
            .await?;
        self.read_acquisition(&digest, reply)
    }

    /// Extends `lease` to `ttl` from now; `false` when it is no longer the caller's (it
    /// expired, and perhaps another holder took it): stop, the token is someone else's to
    /// obtain.
    pub fn renew(
        &self,
        connection: &mut impl ConnectionLike,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        read_flag(
            renew_request(lease, ttl).run(connection)?,
            "the renew script",
        )
    }

    /// [`RedisLeases::renew`] over an async connection.
    pub async fn renew_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let reply = renew_request(lease, ttl).run_async(connection).await?;
        read_flag(reply, "the renew script")
    }

    /// Lets `lease` go and wakes the waiters; `false` when it was no longer the caller's
    /// (nothing is deleted then).
    pub fn release(
        &self,
        connection: &mut impl ConnectionLike,
        lease: &Lease,
    ) -> Result<bool, StoreError> {
        read_flag(
            release_request(lease).run(connection)?,
            "the release script",
        )
    }

    /// [`RedisLeases::release`] over an async connection.
    pub async fn release_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        lease: &Lease,
    ) -> Result<bool, StoreError> {
        let reply = release_request(lease).run_async(connection).await?;
        read_flag(reply, "the release script")
    }

    fn acquire_request(&self, digest: &Digest, ttl: Duration) -> Request {
        Request::Script(ScriptCall {
            script: &ACQUIRE,
            keys: vec![self.prefix.lease_key(digest), self.prefix.fence_counter()],
            args: vec![millis(ttl).to_string().into()],
        })
    }

    fn read_acquisition(&self, digest: &Digest, reply: Value) -> Result<Acquisition, StoreError> {
        match reply {
            Value::Nil => Ok(Acquisition::Held),
            Value::Int(fence) => match u64::try_from(fence) {
                Ok(fence) if fence > 0 => Ok(Acquisition::Acquired(Lease {
                    key: self.prefix.lease_key(digest),
                    channel: self.prefix.released_channel(digest),
                    fence,
                })),
                _ => Err(StoreError::UnexpectedReply {
                    command: "the acquire script",
                }),
            },
            _ => Err(StoreError::UnexpectedReply {
                command: "the acquire script",
            }),
        }
    }
}

fn renew_request(lease: &Lease, ttl: Duration) -> Request {
    Request::Script(ScriptCall {
        script: &RENEW,
        keys: vec![lease.key.clone()],
        args: vec![
            lease.fence.to_string().into(),
            millis(ttl).to_string().into(),
        ],
    })
}

fn release_request(lease: &Lease) -> Request {
    Request::Script(ScriptCall {
        script: &RELEASE,
        keys: vec![lease.key.clone()],
        args: vec![lease.fence.to_string().into(), lease.channel.clone().into()],
    })
}

/// A time to live in whole milliseconds, at least 1 (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn read_flag(reply: Value, command: &'static str) -> Result<bool, StoreError> {
    match reply {
        Value::Int(1) => Ok(true),
        Value::Int(0) => Ok(false),
        _ => Err(StoreError::UnexpectedReply { command }),
    }
}
