//! Redis going away and coming back: typed errors while it is away, no hang, and working
//! operations once it is back, without building a new store or connection.

mod harness;

use std::time::{Duration, Instant, SystemTime};

use harness::RedisServer;
use xaa::cache::{CacheKey, CachedToken, Principal};
use xaa::{AccessToken, Scope};
use xaa_redis::{
    Acquisition, KeyPrefix, RedisLeases, RedisTokenStore, SealingKey, SealingKeys, StoreError,
    Timeouts,
};

fn key() -> CacheKey {
    CacheKey::new(
        "https://as.example",
        "https://mcp.example/mcp",
        "client-at-as",
        &Scope::parse("tools:read"),
        Principal::key("alice"),
    )
}

fn store() -> RedisTokenStore {
    let keys = SealingKeys::new(SealingKey::new(1, &[7; 32]).expect("32 bytes"));
    RedisTokenStore::new(KeyPrefix::default(), keys)
}

fn token() -> CachedToken {
    CachedToken::new(
        AccessToken::new("t"),
        SystemTime::now() + Duration::from_secs(600),
    )
}

#[test]
fn the_blocking_operations_fail_typed_while_redis_is_down_and_recover_after() {
    let Some(mut server) = RedisServer::start("the_blocking_operations_fail_typed") else {
        return;
    };
    let mut redis = server.connection();
    let store = store();
    let leases = RedisLeases::default();
    store.put(&mut redis, &key(), &token()).expect("put");

    server.stop();
    let started = Instant::now();
    for _ in 0..2 {
        match store.get(&mut redis, &key()) {
            Err(StoreError::Unreachable(_)) => {}
            other => panic!("not unreachable: {other:?}"),
        }
    }
    let error = store.put(&mut redis, &key(), &token()).expect_err("down");
    assert_eq!(
        error.to_string(),
        "Redis could not be reached or the connection broke"
    );
    let acquire = leases.try_acquire(&mut redis, &key(), Duration::from_secs(5));
    assert!(
        matches!(acquire, Err(StoreError::Unreachable(_))),
        "{acquire:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let subscriber = server.client();
    let waited = leases.wait_for(&mut redis, &subscriber, &key(), deadline);
    assert!(
        matches!(waited, Err(StoreError::Unreachable(_))),
        "{waited:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    server.restart();
    assert_eq!(
        store.get(&mut redis, &key()).expect("reconnected"),
        None,
        "not persisted"
    );
    store.put(&mut redis, &key(), &token()).expect("put");
    assert!(store.get(&mut redis, &key()).expect("get").is_some());
    let acquired = leases.try_acquire(&mut redis, &key(), Duration::from_secs(5));
    assert!(
        matches!(acquired, Ok(Acquisition::Acquired(_))),
        "{acquired:?}"
    );
}

#[test]
fn a_blocking_command_to_a_silent_redis_times_out() {
    let Some(server) = RedisServer::start("a_blocking_command_to_a_silent_redis") else {
        return;
    };
    let mut redis = server.connection();
    // Keeps the server busy for 4 s (under the 5 s after which Redis answers BUSY): it answers
    // no one meanwhile.
    let mut sleeper = server.client().get_connection().expect("a connection");
    let busy = std::thread::spawn(move || {
        let script = "local function ms() local t = redis.call('TIME') \
                      return t[1] * 1000 + math.floor(t[2] / 1000) end \
                      local until_ = ms() + 4000 while ms() < until_ do end return 1";
        let _: redis::RedisResult<i64> = redis::cmd("EVAL").arg(script).arg(0).query(&mut sleeper);
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let outcome = store().get(&mut redis, &key());
    let elapsed = started.elapsed();
    busy.join().expect("no panic");
    // Redis answers nothing while a script runs within its time limit (5 s by default): the
    // response timeout (2 s) ends the wait.
    assert!(
        matches!(outcome, Err(StoreError::TimedOut(_))),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.map(|_| ()).map_err(|e| e.to_string()),
        Err("Redis did not answer in time".to_owned())
    );
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_800), "{elapsed:?}");
    assert_eq!(store().get(&mut redis, &key()).expect("usable again"), None);
}

#[tokio::test]
async fn the_connection_manager_reconnects_after_a_restart() {
    let Some(mut server) = RedisServer::start("the_connection_manager_reconnects") else {
        return;
    };
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        response: Duration::from_secs(1),
    };
    let mut redis = xaa_redis::connection_manager(server.client(), timeouts)
        .await
        .expect("a connection manager");
    let store = store();
    store
        .put_async(&mut redis, &key(), &token())
        .await
        .expect("put");

    server.stop();
    let started = Instant::now();
    let down = store.get_async(&mut redis, &key()).await;
    assert!(down.is_err(), "{down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    server.restart();
    let mut attempts = 0;
    let recovered = loop {
        attempts += 1;
        match store.get_async(&mut redis, &key()).await {
            Ok(found) => break found,
            Err(error) if attempts < 50 => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("no recovery after {attempts} attempts: {error:?}"),
        }
    };
    assert_eq!(recovered, None, "not persisted");
    store
        .put_async(&mut redis, &key(), &token())
        .await
        .expect("put");
    assert!(
        store
            .get_async(&mut redis, &key())
            .await
            .expect("get")
            .is_some()
    );
}
