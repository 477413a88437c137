//! The sealed token store against a real redis-server: sealed values under digest names, their
//! expiry, values that do not open or parse read as absent, rotation, and the removal of a
//! refused token that spares a newer one.

mod harness;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness::{RedisServer, raw};
use xaa::cache::{CacheKey, CachedToken, Principal};
use xaa::driver::{AsyncSharedTokenStore, SharedTokenStore};
use xaa::{AccessToken, IdJag, Scope};
use xaa_redis::{
    AsyncRedisSharedStore, KeyPrefix, RedisSharedStore, RedisTokenStore, SealingKey, SealingKeys,
};

fn key(user: &str) -> CacheKey {
    CacheKey::new(
        "https://as.example",
        "https://mcp.example/mcp",
        "client-at-as",
        &Scope::parse("tools:read files:write"),
        Principal::subject("https://idp.example", user),
    )
}

fn ring(id: u16, byte: u8) -> SealingKeys {
    SealingKeys::new(SealingKey::new(id, &[byte; 32]).expect("32 bytes"))
}

fn store(keys: SealingKeys) -> RedisTokenStore {
    RedisTokenStore::new(KeyPrefix::new("test").expect("a valid prefix"), keys)
}

/// Whole seconds, as the stored form keeps them.
fn in_secs(secs: u64) -> SystemTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(now + secs)
}

fn full_token() -> CachedToken {
    CachedToken::new(AccessToken::new("access-token-text"), in_secs(3600))
        .with_token_type("DPoP")
        .with_scope(Scope::parse("tools:read"))
        .with_id_jag(IdJag::new("id-jag-text"), in_secs(7200))
        .with_issued_at(in_secs(0))
}

#[test]
fn a_token_round_trips_sealed_under_a_digest_name() {
    let Some(server) = RedisServer::start("a_token_round_trips_sealed_under_a_digest_name") else {
        return;
    };
    let mut redis = server.connection();
    let store = store(ring(1, 7));
    let token = full_token();
    assert_eq!(store.get(&mut redis, &key("alice")).expect("get"), None);
    store.put(&mut redis, &key("alice"), &token).expect("put");
    assert_eq!(
        store.get(&mut redis, &key("alice")).expect("get"),
        Some(token)
    );
    assert_eq!(store.get(&mut redis, &key("bob")).expect("get"), None);

    let name = store.key_name(&key("alice"));
    let digest = name.strip_prefix("test:tok:").expect("the prefix and kind");
    assert!(
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    let keys: Vec<String> = raw(&server, redis::cmd("KEYS").arg("*"));
    assert_eq!(keys, vec![name.clone()]);
    let stored: Vec<u8> = raw(&server, redis::cmd("GET").arg(&name));
    for secret in [
        &b"access-token-text"[..],
        b"id-jag-text",
        b"alice",
        b"idp.example",
    ] {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret),
            "clear text in the value"
        );
    }
    assert_eq!(stored.first(), Some(&1), "the version byte");
    assert_eq!(stored.get(1..3), Some(&[0, 1][..]), "the key id");

    assert!(store.delete(&mut redis, &key("alice")).expect("delete"));
    assert!(!store.delete(&mut redis, &key("alice")).expect("delete"));
    assert_eq!(store.get(&mut redis, &key("alice")).expect("get"), None);
}

#[test]
fn redis_expires_the_entry_when_its_token_and_id_jag_are_dead() {
    let Some(server) = RedisServer::start("redis_expires_the_entry") else {
        return;
    };
    let mut redis = server.connection();
    let store = store(ring(1, 7));
    let name = store.key_name(&key("alice"));

    let expires_at = SystemTime::now() + Duration::from_millis(400);
    let token = CachedToken::new(AccessToken::new("short"), expires_at);
    store.put(&mut redis, &key("alice"), &token).expect("put");
    let expiry_ms: i64 = raw(&server, redis::cmd("PEXPIRETIME").arg(&name));
    let expected = expires_at
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_millis();
    assert_eq!(expiry_ms as u128, expected, "PXAT is the token's expiry");
    assert!(store.get(&mut redis, &key("alice")).expect("get").is_some());
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(store.get(&mut redis, &key("alice")).expect("get"), None);

    let id_jag_expires_at = in_secs(600);
    let kept_for_its_id_jag = CachedToken::new(AccessToken::new("t"), in_secs(60))
        .with_id_jag(IdJag::new("j"), id_jag_expires_at);
    store
        .put(&mut redis, &key("alice"), &kept_for_its_id_jag)
        .expect("put");
    let expiry_s: i64 = raw(&server, redis::cmd("EXPIRETIME").arg(&name));
    let id_jag_expiry = id_jag_expires_at
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch");
    assert_eq!(
        expiry_s as u64,
        id_jag_expiry.as_secs(),
        "the later of the two expiries"
    );

    let dead = CachedToken::new(
        AccessToken::new("dead"),
        in_secs(0) - Duration::from_secs(5),
    );
    store.put(&mut redis, &key("alice"), &dead).expect("put");
    let exists: i64 = raw(&server, redis::cmd("EXISTS").arg(&name));
    assert_eq!(exists, 0, "a dead token replaces and removes the entry");
}

#[test]
fn garbage_foreign_truncated_and_wrongly_keyed_values_read_as_absent() {
    let Some(server) = RedisServer::start("garbage_foreign_truncated_values") else {
        return;
    };
    let mut redis = server.connection();
    let store = store(ring(1, 7));
    let alice = store.key_name(&key("alice"));
    let bob = store.key_name(&key("bob"));
    store
        .put(&mut redis, &key("bob"), &full_token())
        .expect("put");
    let sealed: Vec<u8> = raw(&server, redis::cmd("GET").arg(&bob));

    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "garbage",
            b"not a sealed value at all, not even close".to_vec(),
        ),
        ("foreign: bob's value under alice's name", sealed.clone()),
        ("unknown version", [&[2u8][..], &sealed[1..]].concat()),
        ("unknown key id", [&[1u8, 0, 9][..], &sealed[3..]].concat()),
    ];
    for cut in [1, 3, 15, 31, sealed.len() - 1] {
        cases.push(("truncated", sealed[..cut].to_vec()));
    }
    for (case, value) in cases {
        let _: () = raw(&server, redis::cmd("SET").arg(&alice).arg(value));
        assert_eq!(
            store.get(&mut redis, &key("alice")).expect("get"),
            None,
            "{case}"
        );
    }

    let truncated_bob = &sealed[..sealed.len() - 1];
    let _: () = raw(&server, redis::cmd("SET").arg(&bob).arg(truncated_bob));
    assert_eq!(
        store.get(&mut redis, &key("bob")).expect("get"),
        None,
        "truncated in place"
    );

    store
        .put(&mut redis, &key("bob"), &full_token())
        .expect("put");
    let other_material = self::store(ring(1, 8));
    assert_eq!(
        other_material.get(&mut redis, &key("bob")).expect("get"),
        None,
        "wrong key"
    );
    assert!(
        store.get(&mut redis, &key("bob")).expect("get").is_some(),
        "the right key"
    );

    let _: i64 = raw(&server, redis::cmd("DEL").arg(&alice));
    let _: i64 = raw(&server, redis::cmd("HSET").arg(&alice).arg("f").arg("v"));
    let error = store
        .get(&mut redis, &key("alice"))
        .expect_err("a hash is no token");
    assert!(
        matches!(error, xaa_redis::StoreError::Refused(_)),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "Redis refused the command");
}

#[test]
fn rotation_keeps_old_values_readable_and_seals_new_ones_with_the_new_key() {
    let Some(server) = RedisServer::start("rotation_keeps_old_values_readable") else {
        return;
    };
    let mut redis = server.connection();
    let before = store(ring(1, 7));
    let token = full_token();
    before.put(&mut redis, &key("alice"), &token).expect("put");

    let rotated_ring = ring(2, 9)
        .with_previous(SealingKey::new(1, &[7; 32]).expect("32 bytes"))
        .expect("distinct ids");
    let rotated = store(rotated_ring);
    assert_eq!(
        rotated.get(&mut redis, &key("alice")).expect("get"),
        Some(token.clone())
    );

    rotated.put(&mut redis, &key("bob"), &token).expect("put");
    let stored: Vec<u8> = raw(
        &server,
        redis::cmd("GET").arg(rotated.key_name(&key("bob"))),
    );
    assert_eq!(stored.get(..3), Some(&[1, 0, 2][..]), "sealed with key 2");
    assert_eq!(
        rotated.get(&mut redis, &key("bob")).expect("get"),
        Some(token)
    );
    assert_eq!(
        before.get(&mut redis, &key("bob")).expect("get"),
        None,
        "old ring lacks key 2"
    );
}

#[tokio::test]
async fn the_async_operations_share_the_format_with_the_blocking_ones() {
    let Some(server) = RedisServer::start("the_async_operations_share_the_format") else {
        return;
    };
    let client = server.client();
    let mut multiplexed = client
        .get_multiplexed_async_connection()
        .await
        .expect("a multiplexed connection");
    let mut manager = xaa_redis::connection_manager(client, xaa_redis::Timeouts::default())
        .await
        .expect("a connection manager");
    let mut blocking = server.connection();
    let store = store(ring(1, 7));
    let token = full_token();

    store
        .put_async(&mut multiplexed, &key("alice"), &token)
        .await
        .expect("put");
    assert_eq!(
        store.get(&mut blocking, &key("alice")).expect("get"),
        Some(token.clone())
    );
    assert_eq!(
        store
            .get_async(&mut manager, &key("alice"))
            .await
            .expect("get"),
        Some(token.clone())
    );
    store.put(&mut blocking, &key("bob"), &token).expect("put");
    assert_eq!(
        store
            .get_async(&mut multiplexed, &key("bob"))
            .await
            .expect("get"),
        Some(token)
    );
    assert!(
        store
            .delete_async(&mut manager, &key("bob"))
            .await
            .expect("delete")
    );
    assert_eq!(
        store
            .get_async(&mut manager, &key("bob"))
            .await
            .expect("get"),
        None
    );
}

fn shared(server: &RedisServer) -> RedisSharedStore {
    RedisSharedStore::new(
        server.client(),
        xaa_redis::Timeouts::default(),
        KeyPrefix::new("test").expect("a valid prefix"),
        ring(1, 7),
    )
}

fn token(text: &str) -> CachedToken {
    CachedToken::new(AccessToken::new(text), in_secs(3600))
}

#[test]
fn a_refused_token_is_removed_and_a_newer_one_another_replica_saved_survives() {
    let Some(server) = RedisServer::start("a_refused_token_is_removed") else {
        return;
    };
    let (replica_a, replica_b) = (shared(&server), shared(&server));
    let alice = key("alice");
    let refused = token("refused by the MCP server");
    let newer = token("newer, saved by replica B");

    SharedTokenStore::save(&replica_a, &alice, &refused).expect("save");
    SharedTokenStore::remove(&replica_a, &alice, &refused.access_token).expect("remove");
    assert_eq!(
        SharedTokenStore::load(&replica_b, &alice).expect("load"),
        None
    );

    SharedTokenStore::save(&replica_a, &alice, &refused).expect("save");
    SharedTokenStore::save(&replica_b, &alice, &newer).expect("save");
    SharedTokenStore::remove(&replica_a, &alice, &refused.access_token).expect("remove");
    assert_eq!(
        SharedTokenStore::load(&replica_a, &alice).expect("load"),
        Some(newer.clone()),
        "B's newer token survives A's removal"
    );

    // The same token saved again is a new sealed value, and still the refused token: removed.
    SharedTokenStore::save(&replica_b, &alice, &refused).expect("save");
    SharedTokenStore::remove(&replica_a, &alice, &refused.access_token).expect("remove");
    assert_eq!(
        SharedTokenStore::load(&replica_b, &alice).expect("load"),
        None
    );

    // A value that does not open is not the refused token: left alone (it reads as absent).
    let name = store(ring(1, 7)).key_name(&alice);
    let _: () = raw(&server, redis::cmd("SET").arg(&name).arg("garbage"));
    SharedTokenStore::remove(&replica_a, &alice, &refused.access_token).expect("remove");
    let left: Vec<u8> = raw(&server, redis::cmd("GET").arg(&name));
    assert_eq!(left, b"garbage");
}

#[test]
fn the_store_level_removal_says_whether_it_removed() {
    let Some(server) = RedisServer::start("the_store_level_removal_says") else {
        return;
    };
    let mut redis = server.connection();
    let store = store(ring(1, 7));
    let refused = token("refused");
    assert!(
        !store
            .delete_if(&mut redis, &key("alice"), &refused.access_token)
            .expect("nothing stored")
    );
    store
        .put(&mut redis, &key("alice"), &token("other"))
        .expect("put");
    assert!(
        !store
            .delete_if(&mut redis, &key("alice"), &refused.access_token)
            .expect("another token")
    );
    store.put(&mut redis, &key("alice"), &refused).expect("put");
    assert!(
        store
            .delete_if(&mut redis, &key("alice"), &refused.access_token)
            .expect("the refused token")
    );
    assert_eq!(store.get(&mut redis, &key("alice")).expect("get"), None);
}

#[tokio::test]
async fn the_async_removal_also_spares_a_newer_token() {
    let Some(server) = RedisServer::start("the_async_removal_also_spares") else {
        return;
    };
    let connect = || {
        AsyncRedisSharedStore::connect(
            server.client(),
            xaa_redis::Timeouts::default(),
            KeyPrefix::new("test").expect("a valid prefix"),
            ring(1, 7),
        )
    };
    let (replica_a, replica_b) = (
        connect().await.expect("connected"),
        connect().await.expect("connected"),
    );
    let alice = key("alice");
    let (refused, newer) = (token("refused"), token("newer"));

    AsyncSharedTokenStore::save(&replica_a, &alice, &refused)
        .await
        .expect("save");
    AsyncSharedTokenStore::save(&replica_b, &alice, &newer)
        .await
        .expect("save");
    AsyncSharedTokenStore::remove(&replica_a, &alice, &refused.access_token)
        .await
        .expect("remove");
    assert_eq!(
        AsyncSharedTokenStore::load(&replica_a, &alice)
            .await
            .expect("load"),
        Some(newer.clone())
    );
    AsyncSharedTokenStore::remove(&replica_a, &alice, &newer.access_token)
        .await
        .expect("remove");
    assert_eq!(
        AsyncSharedTokenStore::load(&replica_b, &alice)
            .await
            .expect("load"),
        None
    );
}
