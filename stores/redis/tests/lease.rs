//! The fleet-wide single flight against a real redis-server.

mod harness;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use harness::{RedisServer, raw};
use xaa::Scope;
use xaa::cache::{CacheKey, Principal};
use xaa_redis::{Acquisition, KeyPrefix, Lease, RedisLeases, Waited};

fn key(user: &str) -> CacheKey {
    CacheKey::new(
        "https://as.example",
        "https://mcp.example/mcp",
        "client-at-as",
        &Scope::parse("tools:read"),
        Principal::key(user),
    )
}

fn leases() -> RedisLeases {
    RedisLeases::new(KeyPrefix::new("test").expect("a valid prefix"))
}

fn acquired(acquisition: Acquisition) -> Lease {
    match acquisition {
        Acquisition::Acquired(lease) => lease,
        Acquisition::Held => panic!("the lease was held"),
    }
}

fn lease_keys(server: &RedisServer) -> Vec<String> {
    raw(server, redis::cmd("KEYS").arg("test:lease:*"))
}

#[test]
fn one_thread_of_many_acquires_the_lease() {
    let Some(server) = RedisServer::start("one_thread_of_many_acquires_the_lease") else {
        return;
    };
    const THREADS: usize = 8;
    let barrier = Arc::new(Barrier::new(THREADS));
    let outcomes: Vec<Acquisition> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let mut redis = server.connection();
                scope.spawn(move || {
                    barrier.wait();
                    leases()
                        .try_acquire(&mut redis, &key("alice"), Duration::from_secs(30))
                        .expect("try_acquire")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let winners: Vec<&Lease> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Acquisition::Acquired(lease) => Some(lease),
            Acquisition::Held => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(winners[0].fence(), 1, "no number is drawn for a held lease");
    let fence: u64 = raw(&server, redis::cmd("GET").arg("test:fence"));
    assert_eq!(fence, 1);

    let mut redis = server.connection();
    let other = acquired(
        leases()
            .try_acquire(&mut redis, &key("bob"), Duration::from_secs(30))
            .expect("try_acquire"),
    );
    assert_eq!(
        other.fence(),
        2,
        "another key has its own lease, a later number"
    );
}

#[test]
fn a_stale_holder_can_neither_renew_nor_release_its_successors_lease() {
    let Some(server) = RedisServer::start("a_stale_holder_can_neither_renew_nor_release") else {
        return;
    };
    let mut redis = server.connection();
    let leases = leases();
    let stale = acquired(
        leases
            .try_acquire(&mut redis, &key("alice"), Duration::from_millis(200))
            .expect("try_acquire"),
    );
    assert_eq!(
        leases
            .try_acquire(&mut redis, &key("alice"), Duration::from_secs(30))
            .expect("try"),
        Acquisition::Held
    );
    std::thread::sleep(Duration::from_millis(350));

    let current = acquired(
        leases
            .try_acquire(&mut redis, &key("alice"), Duration::from_secs(30))
            .expect("the expired lease is taken over"),
    );
    assert!(current.fence() > stale.fence());
    assert!(
        !leases
            .renew(&mut redis, &stale, Duration::from_secs(60))
            .expect("renew")
    );
    assert!(!leases.release(&mut redis, &stale).expect("release"));
    let name = leases.lease_name(&key("alice"));
    assert_eq!(lease_keys(&server), vec![name.clone()]);
    let value: u64 = raw(&server, redis::cmd("GET").arg(&name));
    assert_eq!(value, current.fence(), "the successor's lease is untouched");
    let ttl: i64 = raw(&server, redis::cmd("PTTL").arg(&name));
    assert!(ttl > 20_000 && ttl <= 30_000, "not extended to 60 s: {ttl}");

    assert!(
        leases
            .renew(&mut redis, &current, Duration::from_secs(60))
            .expect("renew")
    );
    let ttl: i64 = raw(&server, redis::cmd("PTTL").arg(&name));
    assert!(ttl > 50_000, "renewed to 60 s: {ttl}");
    assert!(leases.release(&mut redis, &current).expect("release"));
    assert!(lease_keys(&server).is_empty());
    assert!(
        !leases
            .release(&mut redis, &current)
            .expect("a second release")
    );
}

#[test]
fn release_announces_on_the_keys_channel() {
    let Some(server) = RedisServer::start("release_announces_on_the_keys_channel") else {
        return;
    };
    let mut redis = server.connection();
    let leases = leases();
    let lease = acquired(
        leases
            .try_acquire(&mut redis, &key("alice"), Duration::from_secs(30))
            .expect("try_acquire"),
    );
    let mut listener = server.client().get_connection().expect("a connection");
    listener
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("a read timeout");
    let mut listener = listener.as_pubsub();
    listener.psubscribe("test:released:*").expect("psubscribe");
    assert!(leases.release(&mut redis, &lease).expect("release"));
    let message = listener.get_message().expect("the announcement");
    assert_eq!(
        message.get_channel_name(),
        leases.channel_name(&key("alice"))
    );
    let digest = leases.lease_name(&key("alice"))["test:lease:".len()..].to_owned();
    assert_eq!(
        message.get_channel_name(),
        format!("test:released:{digest}")
    );
    let payload: String = message.get_payload().expect("a text payload");
    assert_eq!(payload, lease.fence().to_string());
}

#[test]
fn a_waiter_is_woken_by_the_release_well_before_its_deadline() {
    let Some(server) = RedisServer::start("a_waiter_is_woken_by_the_release") else {
        return;
    };
    let mut holder = server.connection();
    let leases = leases();
    let lease = acquired(
        leases
            .try_acquire(&mut holder, &key("alice"), Duration::from_secs(30))
            .expect("try_acquire"),
    );
    let started = Instant::now();
    let waited = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let mut redis = server.connection();
            let deadline = Instant::now() + Duration::from_secs(20);
            leases.wait_for(&mut redis, &server.client(), &key("alice"), deadline)
        });
        // Between two looks of the poll (at about 1.12 s and 1.62 s), so only the
        // announcement can wake the waiter before 1.6 s.
        std::thread::sleep(Duration::from_millis(1_300));
        assert!(leases.release(&mut holder, &lease).expect("release"));
        waiter.join().expect("no panic")
    });
    assert_eq!(waited.expect("wait_for"), Waited::Released);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1_300), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(1_550),
        "woken by the poll: {elapsed:?}"
    );
}

#[test]
fn a_waiter_notices_an_expired_lease_and_gives_up_at_its_deadline() {
    let Some(server) = RedisServer::start("a_waiter_notices_an_expired_lease") else {
        return;
    };
    let mut redis = server.connection();
    let leases = leases();
    let client = server.client();
    let _dead_holder = acquired(
        leases
            .try_acquire(&mut redis, &key("alice"), Duration::from_millis(300))
            .expect("try_acquire"),
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    let waited = leases.wait_for(&mut redis, &client, &key("alice"), deadline);
    assert_eq!(waited.expect("wait_for"), Waited::Released);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let _held = acquired(
        leases
            .try_acquire(&mut redis, &key("alice"), Duration::from_secs(30))
            .expect("try_acquire"),
    );
    let started = Instant::now();
    let deadline = started + Duration::from_millis(300);
    let waited = leases.wait_for(&mut redis, &client, &key("alice"), deadline);
    assert_eq!(waited.expect("wait_for"), Waited::TimedOut);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(1),
        "{elapsed:?}"
    );

    // Decided by the first look, before any subscription: a subscriber that cannot connect
    // (nothing listens on port 1) is never used.
    let nowhere = redis::Client::open("redis://127.0.0.1:1/").expect("a valid URL");
    let later = Instant::now() + Duration::from_secs(5);
    let waited = leases.wait_for(&mut redis, &nowhere, &key("bob"), later);
    assert_eq!(
        waited.expect("wait_for"),
        Waited::Released,
        "no lease: nothing to wait for"
    );
    let waited = leases.wait_for(&mut redis, &nowhere, &key("alice"), Instant::now());
    assert_eq!(
        waited.expect("wait_for"),
        Waited::TimedOut,
        "held, and no time to wait"
    );
    let waited = leases.wait_for(&mut redis, &nowhere, &key("alice"), later);
    assert!(
        matches!(waited, Err(xaa_redis::StoreError::Unreachable(_))),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_lease_excludes_fences_and_wakes_like_the_blocking_one() {
    let Some(server) = RedisServer::start("the_async_lease") else {
        return;
    };
    let client = server.client();
    let mut redis = xaa_redis::connection_manager(client.clone(), xaa_redis::Timeouts::default())
        .await
        .expect("a connection manager");
    let leases = leases();
    let ttl = Duration::from_secs(30);
    let lease = match leases
        .try_acquire_async(&mut redis, &key("alice"), ttl)
        .await
    {
        Ok(Acquisition::Acquired(lease)) => lease,
        other => panic!("not acquired: {other:?}"),
    };
    assert_eq!(
        leases
            .try_acquire_async(&mut redis, &key("alice"), ttl)
            .await
            .expect("try"),
        Acquisition::Held
    );
    assert!(
        leases
            .renew_async(&mut redis, &lease, ttl)
            .await
            .expect("renew")
    );

    let waiter = {
        let (leases, client, mut redis) = (leases.clone(), client.clone(), redis.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            let waited = leases
                .wait_for_async(&mut redis, &client, &key("alice"), deadline)
                .await;
            (waited, Instant::now())
        })
    };
    // Between two looks of the poll (at about 1.12 s and 1.62 s).
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let released_at = Instant::now();
    assert!(
        leases
            .release_async(&mut redis, &lease)
            .await
            .expect("release")
    );
    let (waited, woken_at) = waiter.await.expect("no panic");
    assert_eq!(waited.expect("wait_for_async"), Waited::Released);
    let delay = woken_at.saturating_duration_since(released_at);
    assert!(
        delay < Duration::from_millis(200),
        "woken by the poll: {delay:?}"
    );
    assert!(
        !leases
            .release_async(&mut redis, &lease)
            .await
            .expect("release")
    );

    let _held = leases
        .try_acquire_async(&mut redis, &key("alice"), ttl)
        .await
        .expect("try");
    let deadline = Instant::now() + Duration::from_millis(200);
    let waited = leases
        .wait_for_async(&mut redis, &client, &key("alice"), deadline)
        .await;
    assert_eq!(waited.expect("wait_for_async"), Waited::TimedOut);
}
