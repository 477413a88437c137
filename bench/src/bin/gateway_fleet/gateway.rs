//! A gateway's authorizer as the children build it: `xaa-reqwest` on the kit, with or without
//! the Redis store shared by the fleet.

use std::time::Duration;

use xaa::driver::{AsyncSharedTokenStore, SharedStore};
use xaa_redis::{AsyncRedisSharedStore, Timeouts};

use crate::BoxError;
use crate::job::{Kit, Store};

/// The store every replica shares: sealed tokens and leases in Redis, under the job's prefix.
pub(crate) async fn shared_store(
    store: &Store,
) -> Result<SharedStore<dyn AsyncSharedTokenStore>, BoxError> {
    let client = redis::Client::open(store.redis_url.as_str())?;
    let redis =
        AsyncRedisSharedStore::connect(client, Timeouts::default(), store.prefix()?, store.keys()?)
            .await?;
    Ok(SharedStore::non_blocking(redis))
}

/// A client on the loopback kit, sharing `store` when given.
pub(crate) fn client(
    store: Option<SharedStore<dyn AsyncSharedTokenStore>>,
) -> Result<xaa_reqwest::Client, BoxError> {
    let client = xaa_reqwest::Client::builder()
        .proxy(xaa_reqwest::ProxySetting::None)
        .build()?;
    Ok(match store {
        Some(store) => client.with_shared_store(store),
        None => client,
    })
}

/// An authorizer for the kit's MCP server over `client`, refreshing `lead` before expiry.
pub(crate) fn authorizer(
    kit: &Kit,
    lead: Duration,
    client: xaa_reqwest::Client,
) -> xaa_reqwest::Authorizer {
    xaa_reqwest::Authorizer::with_client(
        kit.config(lead, xaa::cache::TokenCache::DEFAULT_MAX_ENTRIES),
        client,
    )
}

/// The runtime of a child: one thread, every task and the client's connections on it.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
