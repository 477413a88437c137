//! Four replica processes of one gateway sharing a real redis-server
//! ([`harness::replica_process`]), 32 concurrent callers each for one user, cold: one
//! exchange for the fleet.

mod harness;

use std::time::Duration;

use harness::RedisServer;
use harness::replica_process::{CALLERS_PER_REPLICA, ReplicaProcess, child_main};
use xaa::driver::DEFAULT_LEASE_TTL;
use xaa_testkit::{Endpoint, Options, Testkit};

const REPLICAS: usize = 4;

/// A replica, when the parent started this binary as one.
#[test]
fn replica_child() {
    child_main();
}

#[test]
fn four_replica_processes_of_thirty_two_cold_callers_make_one_exchange() {
    let Some(server) = RedisServer::start("four_replica_processes") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let mut replicas: Vec<ReplicaProcess> = (0..REPLICAS)
        .map(|_| ReplicaProcess::start(&kit, &server, DEFAULT_LEASE_TTL))
        .collect();
    kit.clear_requests();
    // A slow exchange widens the window in which the replicas meet the lease.
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));

    for replica in &mut replicas {
        replica.go(&kit, "alice");
    }
    let mut digests = Vec::new();
    for replica in replicas {
        let round = replica.round(Duration::from_secs(60));
        assert!(round.failures.is_empty(), "{round:#?}");
        assert_eq!(round.fallbacks, 0, "no replica went without Redis");
        digests.extend(round.tokens);
        replica.finish();
    }

    assert_eq!(
        digests.len(),
        REPLICAS * CALLERS_PER_REPLICA,
        "every caller served"
    );
    assert!(
        digests.iter().all(|d| *d == digests[0]),
        "one token for all"
    );
    assert_eq!(
        kit.requests_to(Endpoint::IdpToken).len(),
        1,
        "{:#?}",
        kit.requests()
    );
    assert_eq!(kit.requests_to(Endpoint::AsToken).len(), 1);
}
