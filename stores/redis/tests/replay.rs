//! The shared jti replay store against a real redis-server.

mod harness;

use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness::{RedisServer, raw};
use xaa::server::{ReplayMode, TokenKind, TokenUse};
use xaa_redis::{KeyPrefix, RedisReplayStore, ReplayRefusal, StoreError};

fn store() -> RedisReplayStore {
    RedisReplayStore::new(KeyPrefix::new("test").expect("a valid prefix"))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

fn use_of(jti: &str, token: &str, retain_until: u64, mode: ReplayMode) -> TokenUse {
    TokenUse::new(
        TokenKind::IdJag,
        "https://idp.example",
        jti,
        token,
        retain_until,
        mode,
    )
}

fn replayed(result: Result<(), ReplayRefusal>) -> bool {
    matches!(result, Err(ReplayRefusal::Replayed))
}

#[test]
fn a_second_use_is_a_replay_and_other_kinds_or_issuers_are_not() {
    let Some(server) = RedisServer::start("a_second_use_is_a_replay") else {
        return;
    };
    let mut redis = server.connection();
    let store = store();
    let until = now_secs() + 600;
    let strict = ReplayMode::Strict;
    store
        .register(&mut redis, &use_of("a", "t", until, strict))
        .expect("first use");
    assert!(replayed(
        store.register(&mut redis, &use_of("a", "t", until, strict))
    ));
    assert!(replayed(store.register(
        &mut redis,
        &use_of("a", "t", until, ReplayMode::AllowIdenticalResubmission)
    )));

    let mut other_kind = use_of("a", "t", until, strict);
    other_kind.kind = TokenKind::ClientAssertion;
    store
        .register(&mut redis, &other_kind)
        .expect("another kind");
    let mut other_issuer = use_of("a", "t", until, strict);
    other_issuer.issuer = "https://other-idp.example".into();
    store
        .register(&mut redis, &other_issuer)
        .expect("another issuer");

    let names: Vec<String> = raw(&server, redis::cmd("KEYS").arg("test:jti:*"));
    assert_eq!(names.len(), 3);
    for name in &names {
        assert!(!name.contains("idp.example") && name.len() == "test:jti:".len() + 64);
        let expiry: u64 = raw(&server, redis::cmd("EXPIRETIME").arg(name));
        assert_eq!(
            expiry, until,
            "kept exactly as long as the token is acceptable"
        );
    }
}

#[test]
fn an_identical_resubmission_is_accepted_only_when_allowed_and_identical() {
    let Some(server) = RedisServer::start("an_identical_resubmission") else {
        return;
    };
    let mut redis = server.connection();
    let store = store();
    let until = now_secs() + 600;
    let allow = ReplayMode::AllowIdenticalResubmission;
    store
        .register(&mut redis, &use_of("a", "token-1", until, allow))
        .expect("first use");
    store
        .register(&mut redis, &use_of("a", "token-1", until, allow))
        .expect("identical");
    assert!(replayed(
        store.register(&mut redis, &use_of("a", "token-2", until, allow))
    ));
    assert!(replayed(store.register(
        &mut redis,
        &use_of("a", "token-1", until, ReplayMode::Strict)
    )));
    let names: Vec<String> = raw(&server, redis::cmd("KEYS").arg("test:jti:*"));
    let kept: String = raw(&server, redis::cmd("GET").arg(&names[0]));
    assert!(
        !kept.contains("token-1") && kept.len() == 64,
        "a digest, not the token"
    );
}

#[test]
fn an_entry_is_forgotten_once_its_token_can_no_longer_be_accepted() {
    let Some(server) = RedisServer::start("an_entry_is_forgotten") else {
        return;
    };
    let mut redis = server.connection();
    let store = store();
    let strict = ReplayMode::Strict;
    let until = now_secs() + 1;
    store
        .register(&mut redis, &use_of("a", "t", until, strict))
        .expect("first use");
    assert!(replayed(
        store.register(&mut redis, &use_of("a", "t", until, strict))
    ));
    std::thread::sleep(Duration::from_millis(2_100));
    store
        .register(&mut redis, &use_of("a", "t", until + 600, strict))
        .expect("forgotten");

    let past = now_secs() - 10;
    store
        .register(&mut redis, &use_of("b", "t", past, strict))
        .expect("nothing kept");
    store
        .register(&mut redis, &use_of("b", "t", past, strict))
        .expect("nothing kept");
    store
        .register(&mut redis, &use_of("b", "t", 0, strict))
        .expect("nothing kept");
    let live: Vec<String> = raw(&server, redis::cmd("KEYS").arg("test:jti:*"));
    assert_eq!(live.len(), 1, "only the live entry of a");
}

#[test]
fn of_simultaneous_uses_of_one_jti_exactly_one_passes() {
    let Some(server) = RedisServer::start("of_simultaneous_uses_exactly_one_passes") else {
        return;
    };
    const THREADS: usize = 8;
    let barrier = Arc::new(Barrier::new(THREADS));
    let until = now_secs() + 600;
    let accepted = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let barrier = Arc::clone(&barrier);
                let mut redis = server.connection();
                let mode = if thread % 2 == 0 {
                    ReplayMode::Strict
                } else {
                    ReplayMode::AllowIdenticalResubmission
                };
                scope.spawn(move || {
                    let token = format!("token-{thread}");
                    barrier.wait();
                    store().register(&mut redis, &use_of("a", &token, until, mode))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("no panic"))
            .filter(Result::is_ok)
            .count()
    });
    assert_eq!(accepted, 1);
}

#[test]
fn an_unreachable_redis_is_a_typed_refusal_and_the_store_recovers() {
    let Some(mut server) = RedisServer::start("an_unreachable_redis_is_a_typed_refusal") else {
        return;
    };
    let mut redis = server.connection();
    let store = store();
    let until = now_secs() + 600;
    store
        .register(&mut redis, &use_of("a", "t", until, ReplayMode::Strict))
        .expect("ok");
    server.stop();
    for _ in 0..2 {
        let refused = store.register(&mut redis, &use_of("b", "t", until, ReplayMode::Strict));
        match refused {
            Err(ReplayRefusal::Unavailable(StoreError::Unreachable(_))) => {}
            other => panic!("not a typed refusal: {other:?}"),
        }
    }
    let refusal = store
        .register(&mut redis, &use_of("b", "t", until, ReplayMode::Strict))
        .expect_err("refused");
    assert_eq!(refusal.to_string(), "the replay check could not be made");

    server.restart();
    store
        .register(&mut redis, &use_of("b", "t", until, ReplayMode::Strict))
        .expect("reconnected");
    assert!(replayed(store.register(
        &mut redis,
        &use_of("b", "t", until, ReplayMode::Strict)
    )));
}

#[tokio::test]
async fn the_async_register_refuses_a_replay_and_fails_closed() {
    let Some(mut server) = RedisServer::start("the_async_register") else {
        return;
    };
    let mut redis = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("a multiplexed connection");
    let store = store();
    let until = now_secs() + 600;
    let allow = ReplayMode::AllowIdenticalResubmission;
    store
        .register_async(&mut redis, &use_of("a", "t", until, allow))
        .await
        .expect("first");
    store
        .register_async(&mut redis, &use_of("a", "t", until, allow))
        .await
        .expect("same");
    let other = store
        .register_async(&mut redis, &use_of("a", "u", until, allow))
        .await;
    assert!(replayed(other));
    server.stop();
    let refused = store
        .register_async(&mut redis, &use_of("b", "t", until, ReplayMode::Strict))
        .await;
    assert!(
        matches!(refused, Err(ReplayRefusal::Unavailable(_))),
        "{refused:?}"
    );
}
