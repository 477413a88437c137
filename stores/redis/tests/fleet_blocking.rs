//! Blocking replicas of one gateway sharing a real redis-server: each replica its own
//! `xaa-ureq` authorizer and client over [`RedisSharedStore`], all against one loopback
//! testkit, whose recorder counts the exchanges.

mod harness;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use harness::RedisServer;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::driver::{SharedStore, SharedTokenStore};
use xaa::grant::SubjectToken;
use xaa::{AccessToken, GrantSource};
use xaa_redis::{KeyPrefix, RedisSharedStore, SealingKey, SealingKeys, Timeouts};
use xaa_testkit::{Endpoint, Options, Testkit};
use xaa_ureq::{Authorizer, Client, ProxySetting};

const REPLICAS: usize = 4;
const CALLERS_PER_REPLICA: usize = 32;

fn config(kit: &Testkit) -> AuthorizerConfig {
    let enterprise = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("nobody")));
    let GrantSource::Enterprise { idp, .. } = enterprise.grant else {
        panic!("the kit's configuration is the enterprise flow");
    };
    AuthorizerConfig::new(kit.mcp_url(), idp, enterprise.authorization_server)
        .policy(enterprise.policy)
}

fn user(kit: &Testkit, name: &str) -> User {
    User::from_id_token(SubjectToken::IdToken(kit.id_token(name))).expect("a user")
}

struct Replica {
    authorizer: Authorizer,
    store: SharedStore<dyn SharedTokenStore>,
}

fn replica(kit: &Testkit, server: &RedisServer) -> Replica {
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
    let store = SharedStore::blocking(store);
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

#[test]
fn four_blocking_replicas_of_thirty_two_cold_callers_make_one_exchange() {
    let Some(server) = RedisServer::start("four_blocking_replicas") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    // Every replica discovers the MCP server first, so that its flights name their cache key.
    let replicas: Vec<Replica> = (0..REPLICAS)
        .map(|_| {
            let replica = replica(&kit, &server);
            replica
                .authorizer
                .token(&user(&kit, "bob"))
                .expect("a warm-up token");
            replica
        })
        .collect();
    kit.clear_requests();
    // A slow exchange widens the window in which the replicas meet the lease.
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));

    let barrier = Arc::new(Barrier::new(REPLICAS * CALLERS_PER_REPLICA));
    let tokens: Vec<AccessToken> = std::thread::scope(|scope| {
        let callers: Vec<_> = replicas
            .iter()
            .flat_map(|replica| (0..CALLERS_PER_REPLICA).map(move |_| replica))
            .map(|replica| {
                let (alice, barrier) = (user(&kit, "alice"), Arc::clone(&barrier));
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
    });

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
