//! Replicas of one gateway sharing a real redis-server: each replica its own `xaa-reqwest`
//! authorizer and client, all against one loopback testkit, whose recorder counts the
//! exchanges. One exchange for a user across the fleet, even when it outlasts the lease's time
//! to live (the holder renews it); a stopped Redis costs exchanges, never a caller.

mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::RedisServer;
use harness::gateway::{config, user};
use tokio::sync::Barrier;
use xaa::cache::{CacheKey, Principal};
use xaa::driver::{AsyncSharedTokenStore, DEFAULT_LEASE_TTL, SharedStore};
use xaa::{AccessToken, Scope};
use xaa_redis::{AsyncRedisSharedStore, KeyPrefix, SealingKey, SealingKeys, Timeouts};
use xaa_reqwest::{Authorizer, Client, ProxySetting};
use xaa_testkit::{Endpoint, Fault, Options, Testkit};

const REPLICAS: usize = 4;
const CALLERS_PER_REPLICA: usize = 32;

/// Short, so that a stopped Redis costs each call well under a second.
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_millis(300),
    response: Duration::from_millis(500),
};

struct Replica {
    authorizer: Authorizer,
    store: SharedStore<dyn AsyncSharedTokenStore>,
}

async fn replica(kit: &Testkit, server: &RedisServer, lease_ttl: Duration) -> Replica {
    let keys = SealingKeys::new(SealingKey::new(1, &[7; 32]).expect("a 32-byte key"));
    let store = AsyncRedisSharedStore::connect(
        server.client(),
        TIMEOUTS,
        KeyPrefix::new("fleet").expect("a valid prefix"),
        keys,
    )
    .await
    .expect("connected");
    let store = SharedStore::non_blocking(store).with_lease_ttl(lease_ttl);
    let client = Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client")
        .with_shared_store(store.clone());
    Replica {
        authorizer: Authorizer::with_client(config(kit), client),
        store,
    }
}

/// `REPLICAS` replicas with leases of the default time to live, as [`fleet_of`].
async fn fleet(kit: &Testkit, server: &RedisServer, warm_user: &str) -> Vec<Replica> {
    fleet_of(REPLICAS, DEFAULT_LEASE_TTL, kit, server, warm_user).await
}

/// `size` replicas with leases of `lease_ttl`: each discovers the MCP server (a token for
/// `warm_user`), so that its flights name their cache key; then the kit's recorder is cleared.
async fn fleet_of(
    size: usize,
    lease_ttl: Duration,
    kit: &Testkit,
    server: &RedisServer,
    warm_user: &str,
) -> Vec<Replica> {
    let mut replicas = Vec::new();
    for _ in 0..size {
        let replica = replica(kit, server, lease_ttl).await;
        replica
            .authorizer
            .token(&user(kit, warm_user))
            .await
            .expect("a warm-up token");
        replicas.push(replica);
    }
    kit.clear_requests();
    replicas
}

/// `CALLERS_PER_REPLICA` concurrent callers on every replica, released together, all asking
/// a token for `name`.
async fn every_caller(replicas: &[Replica], kit: &Testkit, name: &str) -> Vec<AccessToken> {
    let barrier = Arc::new(Barrier::new(replicas.len() * CALLERS_PER_REPLICA));
    let mut callers = Vec::new();
    for replica in replicas {
        for _ in 0..CALLERS_PER_REPLICA {
            let (authorizer, user, barrier) = (
                replica.authorizer.clone(),
                user(kit, name),
                Arc::clone(&barrier),
            );
            callers.push(tokio::spawn(async move {
                barrier.wait().await;
                authorizer.token(&user).await
            }));
        }
    }
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(
            caller
                .await
                .expect("no panic")
                .expect("every caller is served"),
        );
    }
    tokens
}

fn count(kit: &Testkit, endpoint: Endpoint) -> usize {
    kit.requests_to(endpoint).len()
}

fn fallbacks(replicas: &[Replica]) -> u64 {
    replicas.iter().map(|r| r.store.fallbacks()).sum()
}

fn slow_kit() -> Testkit {
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    // A slow exchange widens the window in which the replicas meet the lease.
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));
    kit
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_replicas_of_thirty_two_cold_callers_make_one_exchange() {
    let Some(server) = RedisServer::start("four_replicas_of_thirty_two_cold_callers") else {
        return;
    };
    let kit = slow_kit();
    let replicas = fleet(&kit, &server, "bob").await;

    let tokens = every_caller(&replicas, &kit, "alice").await;

    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(count(&kit, Endpoint::IdpToken), 1, "{:#?}", kit.requests());
    assert_eq!(count(&kit, Endpoint::AsToken), 1);
    assert_eq!(fallbacks(&replicas), 0);
    let info = kit
        .access_token_info(tokens[0].expose_secret())
        .expect("a kit token");
    assert_eq!(info.subject, "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exchange_three_times_longer_than_the_lease_stays_one_exchange() {
    let Some(server) = RedisServer::start("an_exchange_three_times_longer_than_the_lease") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let replicas = fleet_of(2, Duration::from_secs(1), &kit, &server, "bob").await;
    // The first token exchange takes 3 s: three lease lifetimes.
    kit.set_fault_times(Endpoint::IdpToken, Fault::Slow(Duration::from_secs(3)), 1);

    let started = Instant::now();
    let tokens = every_caller(&replicas, &kit, "alice").await;

    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the slow exchange served them"
    );
    assert_eq!(tokens.len(), 2 * CALLERS_PER_REPLICA);
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(count(&kit, Endpoint::IdpToken), 1, "{:#?}", kit.requests());
    assert_eq!(count(&kit, Endpoint::AsToken), 1);
    assert_eq!(fallbacks(&replicas), 0);
    let leases: Vec<String> = harness::raw(&server, redis::cmd("KEYS").arg("fleet:lease:*"));
    assert!(leases.is_empty(), "released: {leases:?}");
}

/// The store's `load` until it answers again (the connection manager reconnects on its own).
async fn until_answering(store: &SharedStore<dyn AsyncSharedTokenStore>) {
    let probe = CacheKey::new("a", "b", "c", &Scope::default(), Principal::key("probe"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.store().load(&probe).await.is_err() {
        assert!(Instant::now() < deadline, "Redis answers again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_redis_costs_exchanges_not_callers_and_its_return_shares_again() {
    let Some(mut server) = RedisServer::start("a_stopped_redis_costs_exchanges") else {
        return;
    };
    let kit = slow_kit();
    let replicas = fleet(&kit, &server, "bob").await;

    server.stop();
    let tokens = every_caller(&replicas, &kit, "alice").await;
    assert_eq!(
        tokens.len(),
        REPLICAS * CALLERS_PER_REPLICA,
        "every caller served"
    );
    // Each replica's own single flight still holds: one exchange per replica.
    assert_eq!(
        count(&kit, Endpoint::IdpToken),
        REPLICAS,
        "{:#?}",
        kit.requests()
    );
    assert_eq!(count(&kit, Endpoint::AsToken), REPLICAS);
    assert!(
        fallbacks(&replicas) >= REPLICAS as u64,
        "each replica counted its fallback: {}",
        fallbacks(&replicas)
    );

    server.restart();
    for replica in &replicas {
        until_answering(&replica.store).await;
    }
    kit.clear_requests();
    let before = fallbacks(&replicas);
    let tokens = every_caller(&replicas, &kit, "carol").await;
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(count(&kit, Endpoint::IdpToken), 1, "{:#?}", kit.requests());
    assert_eq!(count(&kit, Endpoint::AsToken), 1);
    assert_eq!(
        fallbacks(&replicas),
        before,
        "no fallback once Redis is back"
    );
}
