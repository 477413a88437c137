//! The stores over TLS (`rediss://`, feature `tls`) against a real redis-server that speaks
//! TLS only.

mod harness;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness::RedisServer;
use xaa::cache::{CacheKey, CachedToken, Principal};
use xaa::server::{ReplayMode, TokenKind, TokenUse};
use xaa_redis::{
    KeyPrefix, ReconnectingConnection, RedisReplayStore, RedisTokenStore, ReplayRefusal,
    SealingKey, SealingKeys, StoreError, Timeouts,
};

fn key() -> CacheKey {
    CacheKey::new(
        "https://as.example",
        "https://mcp.example/mcp",
        "client-at-as",
        &xaa::Scope::parse("tools:read"),
        Principal::key("alice"),
    )
}

fn store() -> RedisTokenStore {
    let keys = SealingKeys::new(SealingKey::new(1, &[7; 32]).expect("32 bytes"));
    RedisTokenStore::new(KeyPrefix::default(), keys)
}

fn token() -> CachedToken {
    let expires_at = UNIX_EPOCH
        + Duration::from_secs(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after the epoch")
                .as_secs()
                + 600,
        );
    CachedToken::new(xaa::AccessToken::new("t"), expires_at)
}

#[test]
fn the_stores_work_over_tls_with_a_trusted_ca() {
    let Some(server) = RedisServer::start_tls("the_stores_work_over_tls") else {
        return;
    };
    let mut redis = server.connection();
    let token = token();
    store()
        .put(&mut redis, &key(), &token)
        .expect("put over TLS");
    assert_eq!(
        store().get(&mut redis, &key()).expect("get"),
        Some(token.clone())
    );

    let replay = RedisReplayStore::default();
    let retain_until = token
        .expires_at
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    let use_ = TokenUse::new(
        TokenKind::IdJag,
        "https://idp.example",
        "a",
        "t",
        retain_until,
        ReplayMode::Strict,
    );
    replay.register(&mut redis, &use_).expect("first use");
    let again = replay.register(&mut redis, &use_);
    assert!(matches!(again, Err(ReplayRefusal::Replayed)), "{again:?}");
}

#[test]
fn an_untrusted_certificate_or_plain_tcp_is_refused() {
    let Some(server) = RedisServer::start_tls("an_untrusted_certificate_is_refused") else {
        return;
    };
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(1),
    };
    // The system's roots do not include the test's CA.
    let untrusted = redis::Client::open(server.url()).expect("a valid URL");
    let mut redis = ReconnectingConnection::new(untrusted, timeouts);
    let refused = store().get(&mut redis, &key());
    assert!(
        matches!(refused, Err(StoreError::Unreachable(_))),
        "{refused:?}"
    );

    let plain_url = server.url().replacen("rediss://", "redis://", 1);
    let plain = redis::Client::open(plain_url).expect("a valid URL");
    let mut redis = ReconnectingConnection::new(plain, timeouts);
    match store().get(&mut redis, &key()) {
        Err(StoreError::Unreachable(_) | StoreError::TimedOut(_) | StoreError::Client(_)) => {}
        other => panic!("plain TCP to a TLS port: {other:?}"),
    }
}

#[tokio::test]
async fn the_async_connection_manager_works_over_tls() {
    let Some(server) = RedisServer::start_tls("the_async_connection_manager_works_over_tls") else {
        return;
    };
    let mut redis = xaa_redis::connection_manager(server.client(), Timeouts::default())
        .await
        .expect("a connection manager over TLS");
    let token = token();
    store()
        .put_async(&mut redis, &key(), &token)
        .await
        .expect("put");
    assert_eq!(
        store().get_async(&mut redis, &key()).await.expect("get"),
        Some(token)
    );
}
