//! Redis building blocks for many replicas of one `xaa` deployment: a shared token store, a
//! fleet-wide single flight, and a shared `jti` replay store.
//!
//! - [`RedisTokenStore`]: the cached tokens of every replica, sealed with AES-256-GCM under
//!   keys the application supplies ([`SealingKeys`], with rotation), each under a key name
//!   that is a digest of its [`CacheKey`](xaa::cache::CacheKey) and expiring with it.
//! - [`RedisLeases`]: one replica at a time obtains the token for a cache key
//!   ([`RedisLeases::try_acquire`]); the others [wait](RedisLeases::wait_for) for the
//!   holder's announcement, then read the store.
//! - [`RedisReplayStore`]: each `jti` accepted once across the fleet (decisions.md D23); it
//!   performs a server handler's replay step ([`RedisReplayStore::check`], decisions.md D29).
//! - [`RedisSharedStore`] and [`AsyncRedisSharedStore`]: the token store and the leases as
//!   the driver kit's `SharedTokenStore` and `AsyncSharedTokenStore`, which `xaa-ureq` and
//!   `xaa-reqwest` clients call before running an exchange.
//!
//! Every operation exists blocking (over a [`redis::ConnectionLike`], such as
//! [`ReconnectingConnection`]) and async (over a [`redis::aio::ConnectionLike`], such as the
//! [`connection_manager`]); both build the same request and read the same reply. An
//! unreachable Redis is a [`StoreError`], never a panic or an endless wait: a token read or
//! write may then go on without the store, a replay check must refuse the token
//! ([`ReplayRefusal::Unavailable`], the verdict `xaa::server::ReplayError::Unavailable`).
//!
//! With the feature `tls`, `rediss://` URLs connect over TLS (rustls with aws-lc-rs).
//!
//! ```no_run
//! use std::time::{Duration, Instant, SystemTime};
//! use xaa::cache::{CacheKey, CachedToken, Principal};
//! use xaa::{AccessToken, Scope};
//! use xaa_redis::{
//!     Acquisition, KeyPrefix, ReconnectingConnection, RedisLeases, RedisTokenStore,
//!     SealingKey, SealingKeys, Timeouts,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let material = [0u8; 32];
//! let keys = SealingKeys::new(SealingKey::new(1, &material)?);
//! let store = RedisTokenStore::new(KeyPrefix::new("my-gateway")?, keys);
//! let leases = RedisLeases::new(KeyPrefix::new("my-gateway")?);
//! let client = redis::Client::open("redis://127.0.0.1:6379/")?;
//! let mut redis = ReconnectingConnection::new(client, Timeouts::default());
//!
//! let key = CacheKey::new(
//!     "https://as.example",
//!     "https://mcp.example/mcp",
//!     "client-at-as",
//!     &Scope::parse("tools:read"),
//!     Principal::subject("https://idp.example", "alice"),
//! );
//! if store.get(&mut redis, &key)?.is_none() {
//!     match leases.try_acquire(&mut redis, &key, Duration::from_secs(10))? {
//!         Acquisition::Acquired(lease) => {
//!             let expires_at = SystemTime::now() + Duration::from_secs(3600);
//!             let token = CachedToken::new(AccessToken::new("from the exchange"), expires_at);
//!             store.put(&mut redis, &key, &token)?;
//!             leases.release(&mut redis, &lease)?;
//!         }
//!         Acquisition::Held => {
//!             let subscriber = redis.client().clone();
//!             let deadline = Instant::now() + Duration::from_secs(10);
//!             let _ = leases.wait_for(&mut redis, &subscriber, &key, deadline)?;
//!             let _token = store.get(&mut redis, &key)?;
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod digest;
mod error;
mod lease;
mod manager;
mod prefix;
mod reconnecting;
mod replay;
mod request;
mod sealing;
mod shared;
mod tokens;
mod wait;

pub use error::{ConfigError, StoreError};
pub use lease::{Acquisition, Lease, RedisLeases};
pub use manager::connection_manager;
pub use prefix::KeyPrefix;
pub use reconnecting::{ReconnectingConnection, Timeouts};
pub use replay::{RedisReplayStore, ReplayRefusal};
pub use sealing::{SealingKey, SealingKeys};
pub use shared::{AsyncRedisSharedStore, RedisSharedStore};
pub use tokens::RedisTokenStore;
pub use wait::{FIRST_POLL, LONGEST_POLL, Waited};
