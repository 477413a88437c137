//! Blocking replicas of one gateway sharing a real redis-server: each replica its own
//! `xaa-ureq` authorizer and client over [`RedisSharedStore`], all against one loopback
//! testkit, whose recorder counts the exchanges: one exchange for a user across the fleet, even
//! when it outlasts the lease's time to live (the holder renews it on a thread of its own); a
//! holder whose lease was taken over still saves its token and leaves the new lease alone.

mod harness;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use harness::RedisServer;
use harness::gateway::{config, user};
use xaa::AccessToken;
use xaa::driver::{DEFAULT_LEASE_TTL, SharedStore, SharedTokenStore};
use xaa_redis::{KeyPrefix, RedisSharedStore, SealingKey, SealingKeys, Timeouts};
use xaa_testkit::{Endpoint, Fault, Options, Testkit};
use xaa_ureq::{Authorizer, Client, ProxySetting};

const REPLICAS: usize = 4;
const CALLERS_PER_REPLICA: usize = 32;

struct Replica {
    authorizer: Authorizer,
    store: SharedStore<dyn SharedTokenStore>,
}

fn replica(kit: &Testkit, server: &RedisServer, lease_ttl: Duration) -> Replica {
    let keys = SealingKeys::new(SealingKey::new(1, &[7; 32]).expect("a 32-byte key"));
    let timeouts = Timeouts {
        connect: Duration::from_millis(300),
        response: Duration::from_millis(500),
    };
    let store = RedisSharedStore::new(
        server.client(),
        timeouts,
        KeyPrefix::new("fleet").expect("a valid prefix"),
        keys,
    );
    let store = SharedStore::blocking(store).with_lease_ttl(lease_ttl);
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

/// `size` replicas with leases of `lease_ttl`, each having discovered the MCP server (a token
/// for bob) so that its flights name their cache key; the kit's recorder cleared.
fn fleet(size: usize, lease_ttl: Duration, kit: &Testkit, server: &RedisServer) -> Vec<Replica> {
    let replicas = (0..size)
        .map(|_| {
            let replica = replica(kit, server, lease_ttl);
            replica
                .authorizer
                .token(&user(kit, "bob"))
                .expect("a warm-up token");
            replica
        })
        .collect();
    kit.clear_requests();
    replicas
}

/// `CALLERS_PER_REPLICA` threads on every replica, released together, each asking a token for
/// alice.
fn every_caller(replicas: &[Replica], kit: &Testkit) -> Vec<AccessToken> {
    let barrier = Arc::new(Barrier::new(replicas.len() * CALLERS_PER_REPLICA));
    std::thread::scope(|scope| {
        let callers: Vec<_> = replicas
            .iter()
            .flat_map(|replica| (0..CALLERS_PER_REPLICA).map(move |_| replica))
            .map(|replica| {
                let (alice, barrier) = (user(kit, "alice"), Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    replica.authorizer.token(&alice)
                })
            })
            .collect();
        callers
            .into_iter()
            .map(|caller| {
                caller
                    .join()
                    .expect("no panic")
                    .expect("every caller is served")
            })
            .collect()
    })
}

fn assert_one_exchange_for_all(kit: &Testkit, replicas: &[Replica], tokens: &[AccessToken]) {
    assert_eq!(tokens.len(), replicas.len() * CALLERS_PER_REPLICA);
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(
        kit.requests_to(Endpoint::IdpToken).len(),
        1,
        "{:#?}",
        kit.requests()
    );
    assert_eq!(kit.requests_to(Endpoint::AsToken).len(), 1);
    let fallbacks: u64 = replicas.iter().map(|r| r.store.fallbacks()).sum();
    assert_eq!(fallbacks, 0);
}

#[test]
fn four_blocking_replicas_of_thirty_two_cold_callers_make_one_exchange() {
    let Some(server) = RedisServer::start("four_blocking_replicas") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let replicas = fleet(REPLICAS, DEFAULT_LEASE_TTL, &kit, &server);
    // A slow exchange widens the window in which the replicas meet the lease.
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));

    let tokens = every_caller(&replicas, &kit);

    assert_one_exchange_for_all(&kit, &replicas, &tokens);
}

#[test]
fn a_blocking_exchange_three_times_longer_than_the_lease_stays_one_exchange() {
    let Some(server) = RedisServer::start("a_blocking_exchange_three_times_longer") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let replicas = fleet(2, Duration::from_secs(1), &kit, &server);
    // The first token exchange takes 3 s: three lease lifetimes.
    kit.set_fault_times(Endpoint::IdpToken, Fault::Slow(Duration::from_secs(3)), 1);

    let started = Instant::now();
    let tokens = every_caller(&replicas, &kit);

    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the slow exchange served them"
    );
    assert_one_exchange_for_all(&kit, &replicas, &tokens);
    let leases: Vec<String> = harness::raw(&server, redis::cmd("KEYS").arg("fleet:lease:*"));
    assert!(leases.is_empty(), "released: {leases:?}");
}

#[test]
fn a_holder_whose_lease_was_taken_over_still_saves_and_leaves_the_new_lease_alone() {
    let Some(server) = RedisServer::start("a_holder_whose_lease_was_taken_over") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let replicas = fleet(1, Duration::from_millis(600), &kit, &server);
    kit.set_fault_times(
        Endpoint::IdpToken,
        Fault::Slow(Duration::from_millis(1500)),
        1,
    );

    let (served, lease) = std::thread::scope(|scope| {
        let caller = scope.spawn(|| replicas[0].authorizer.token(&user(&kit, "alice")));
        let deadline = Instant::now() + Duration::from_secs(5);
        let lease = loop {
            let leases: Vec<String> =
                harness::raw(&server, redis::cmd("KEYS").arg("fleet:lease:*"));
            if let Some(lease) = leases.into_iter().next() {
                break lease;
            }
            assert!(Instant::now() < deadline, "the replica took the lease");
            std::thread::sleep(Duration::from_millis(10));
        };
        // Another holder, with a later fencing token, takes the lease over mid-exchange.
        let _: () = harness::raw(
            &server,
            redis::cmd("SET")
                .arg(&lease)
                .arg("999999")
                .arg("PX")
                .arg(10_000),
        );
        (caller.join().expect("no panic"), lease)
    });

    let token = served.expect("the flow completed though its lease was lost");
    let holder: String = harness::raw(&server, redis::cmd("GET").arg(&lease));
    assert_eq!(
        holder, "999999",
        "the fenced release left the new holder alone"
    );
    let left: i64 = harness::raw(&server, redis::cmd("PTTL").arg(&lease));
    assert!(
        left > 5_000,
        "no renewal touched the new holder's lease after the loss: {left} ms left"
    );
    let stored: Vec<String> = harness::raw(&server, redis::cmd("KEYS").arg("fleet:tok:*"));
    assert_eq!(
        stored.len(),
        2,
        "alice's token saved beside bob's: {stored:?}"
    );
    assert_eq!(
        replicas[0].store.fallbacks(),
        0,
        "a lost lease is no fallback"
    );
    assert_eq!(
        replicas[0]
            .authorizer
            .token(&user(&kit, "alice"))
            .expect("cached"),
        token
    );
}
