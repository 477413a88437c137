//! Replica processes of one gateway ([`harness::replica_process`]) when things fail: the
//! lease holder killed (SIGKILL) in the middle of its exchange, and Redis stopped in the
//! middle of a run and started again. The tests run one at a time: their times are asserted.

mod harness;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::RedisServer;
use harness::replica_process::{CALLERS_PER_REPLICA, ReplicaProcess, Round, child_main};
use xaa::driver::DEFAULT_LEASE_TTL;
use xaa_redis::LONGEST_POLL;
use xaa_testkit::{Endpoint, Fault, Options, Testkit};

/// Held by each test, so that one's processes do not slow the other's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A replica, when the parent started this binary as one.
#[test]
fn replica_child() {
    child_main();
}

fn count(kit: &Testkit, endpoint: Endpoint) -> usize {
    kit.requests_to(endpoint).len()
}

/// Every caller of `round` served, all with one token.
fn assert_one_token(rounds: &[&Round]) {
    let digests: Vec<&String> = rounds.iter().flat_map(|round| &round.tokens).collect();
    assert!(
        rounds.iter().all(|round| round.failures.is_empty()),
        "{rounds:#?}"
    );
    assert_eq!(digests.len(), rounds.len() * CALLERS_PER_REPLICA);
    assert!(
        digests.iter().all(|d| *d == digests[0]),
        "one token for all"
    );
}

#[test]
fn a_holder_killed_mid_exchange_is_taken_over_at_its_leases_expiry() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(server) = RedisServer::start("a_holder_killed_mid_exchange") else {
        return;
    };
    let lease_ttl = Duration::from_secs(2);
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let mut holder = ReplicaProcess::start(&kit, &server, lease_ttl);
    let mut survivors: Vec<ReplicaProcess> = (0..2)
        .map(|_| ReplicaProcess::start(&kit, &server, lease_ttl))
        .collect();
    kit.clear_requests();
    // The holder's exchange hangs; the survivors' exchange, later, is prompt.
    kit.set_fault_times(Endpoint::IdpToken, Fault::Slow(Duration::from_secs(20)), 1);

    holder.go(&kit, "alice");
    holder.expect("leased", Duration::from_secs(10));
    for survivor in &mut survivors {
        survivor.go(&kit, "alice");
        survivor.expect("held", Duration::from_secs(10));
    }
    // The holder has renewed its lease (every 667 ms) while its exchange hangs.
    std::thread::sleep(lease_ttl);
    let exchanges_before = count(&kit, Endpoint::IdpToken);
    holder.kill();
    let killed_at = Instant::now();

    let rounds: Vec<Round> = survivors
        .iter()
        .map(|survivor| survivor.round(Duration::from_secs(30)))
        .collect();

    assert_eq!(
        exchanges_before, 1,
        "the holder's exchange only, while it lived"
    );
    assert_one_token(&rounds.iter().collect::<Vec<_>>());
    // The lease outlived its holder by at most its time to live (less the time since the last
    // renewal), then the waiters' next look found it gone (at most LONGEST_POLL later) and one
    // of them ran one prompt exchange.
    let exchange_allowance = Duration::from_secs(1);
    for round in &rounds {
        let taken = round.ended_at.duration_since(killed_at);
        assert!(
            taken >= lease_ttl / 2,
            "no survivor went on before the lease expired: {taken:?}"
        );
        assert!(
            taken <= lease_ttl + LONGEST_POLL + exchange_allowance,
            "served within the lease's time to live and one exchange: {taken:?}"
        );
        assert_eq!(round.fallbacks, 0);
    }
    assert_eq!(count(&kit, Endpoint::IdpToken), 2, "{:#?}", kit.requests());
    assert_eq!(
        count(&kit, Endpoint::AsToken),
        1,
        "the holder never got there"
    );
    for survivor in survivors {
        survivor.finish();
    }
}

#[test]
fn redis_stopped_mid_run_costs_exchanges_not_callers_and_its_return_shares_again() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut server) = RedisServer::start("redis_stopped_mid_run") else {
        return;
    };
    const REPLICAS: usize = 4;
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let mut replicas: Vec<ReplicaProcess> = (0..REPLICAS)
        .map(|_| ReplicaProcess::start(&kit, &server, DEFAULT_LEASE_TTL))
        .collect();
    kit.clear_requests();
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(1500));

    // One replica holds the lease and exchanges, three wait for it: then Redis goes.
    for replica in &mut replicas {
        replica.go(&kit, "alice");
    }
    let mut states: Vec<Option<String>> = vec![None; REPLICAS];
    let deadline = Instant::now() + Duration::from_secs(10);
    while states.iter().any(Option::is_none) {
        assert!(
            Instant::now() < deadline,
            "every replica met the lease: {states:?}"
        );
        for (state, replica) in states.iter_mut().zip(&replicas) {
            if state.is_none() {
                *state = replica.next_line(Duration::from_millis(20));
            }
        }
    }
    let mut met: Vec<&str> = states.iter().flatten().map(String::as_str).collect();
    met.sort_unstable();
    assert_eq!(met, ["held", "held", "held", "leased"]);
    server.stop();

    let outage: Vec<Round> = replicas
        .iter()
        .map(|replica| replica.round(Duration::from_secs(30)))
        .collect();
    for round in &outage {
        assert_one_token(&[round]);
        assert!(
            round.fallbacks >= 1,
            "each replica counted going without Redis"
        );
    }
    // The holder's exchange, and one of each waiting replica's own.
    assert_eq!(
        count(&kit, Endpoint::IdpToken),
        REPLICAS,
        "{:#?}",
        kit.requests()
    );
    assert_eq!(count(&kit, Endpoint::AsToken), REPLICAS);

    server.restart();
    kit.clear_requests();
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));
    for replica in &mut replicas {
        replica.go(&kit, "carol");
    }
    let back: Vec<Round> = replicas
        .iter()
        .map(|replica| replica.round(Duration::from_secs(30)))
        .collect();
    assert_one_token(&back.iter().collect::<Vec<_>>());
    assert_eq!(count(&kit, Endpoint::IdpToken), 1, "{:#?}", kit.requests());
    assert_eq!(count(&kit, Endpoint::AsToken), 1);
    for (before, after) in outage.iter().zip(&back) {
        assert_eq!(
            after.fallbacks, before.fallbacks,
            "no fallback once Redis is back"
        );
    }
    for replica in replicas {
        replica.finish();
    }
}
