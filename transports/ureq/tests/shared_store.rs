//! The shared-store steps of the authorizer's loop, against the testkit with a fake store that
//! records every step: a stored token adopted without an exchange, a held lease waited for, a
//! store that does not answer counted and bypassed, a refused token removed (and a newer one
//! kept), a lease renewed while a slow exchange runs, the store read again once the lease is
//! granted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::StatusCode;
use xaa::AccessToken;
use xaa::cache::{CacheKey, CachedToken};
use xaa::driver::{LeaseId, Leased, SharedStore, SharedTokenStore, StoreUnavailable};
use xaa_testkit::{Endpoint, Testkit};
use xaa_ureq::Authorizer;

mod common;

use common::{client, config, count, tools_list, user};

/// A store in memory that records its steps; `down` makes every step fail, `held_until_wait`
/// makes the lease another replica's until the first wait, which stores that token.
#[derive(Default)]
struct FakeStore {
    tokens: Mutex<HashMap<CacheKey, CachedToken>>,
    steps: Mutex<Vec<&'static str>>,
    down: AtomicBool,
    held_until_wait: Mutex<Option<CachedToken>>,
    /// A token another replica saves just before this one's lease is granted.
    saved_before_lease: Mutex<Option<CachedToken>>,
}

impl FakeStore {
    fn step(&self, name: &'static str) -> Result<(), StoreUnavailable> {
        self.steps.lock().expect("steps").push(name);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreUnavailable::new("the fake store is down"));
        }
        Ok(())
    }

    fn take_steps(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.steps.lock().expect("steps"))
    }
}

impl SharedTokenStore for FakeStore {
    fn load(&self, key: &CacheKey) -> Result<Option<CachedToken>, StoreUnavailable> {
        self.step("load")?;
        Ok(self.tokens.lock().expect("tokens").get(key).cloned())
    }

    fn save(&self, key: &CacheKey, token: &CachedToken) -> Result<(), StoreUnavailable> {
        self.step("save")?;
        self.tokens
            .lock()
            .expect("tokens")
            .insert(key.clone(), token.clone());
        Ok(())
    }

    fn remove(&self, key: &CacheKey, refused: &AccessToken) -> Result<(), StoreUnavailable> {
        self.step("remove")?;
        let mut tokens = self.tokens.lock().expect("tokens");
        if tokens
            .get(key)
            .is_some_and(|stored| stored.access_token == *refused)
        {
            tokens.remove(key);
        }
        Ok(())
    }

    fn try_lease(&self, key: &CacheKey, _: Duration) -> Result<Leased, StoreUnavailable> {
        self.step("try_lease")?;
        if self.held_until_wait.lock().expect("held").is_some() {
            return Ok(Leased::Held);
        }
        if let Some(token) = self.saved_before_lease.lock().expect("saved").take() {
            self.tokens
                .lock()
                .expect("tokens")
                .insert(key.clone(), token);
        }
        Ok(Leased::Acquired(LeaseId::new(7)))
    }

    fn renew(&self, _: &CacheKey, lease: LeaseId, _: Duration) -> Result<bool, StoreUnavailable> {
        self.step("renew")?;
        assert_eq!(lease.fence(), 7, "the lease acquired is the one renewed");
        Ok(true)
    }

    fn release(&self, _: &CacheKey, lease: LeaseId) -> Result<(), StoreUnavailable> {
        self.step("release")?;
        assert_eq!(lease.fence(), 7, "the lease acquired is the one released");
        Ok(())
    }

    fn wait_for(&self, key: &CacheKey, _: Duration) -> Result<(), StoreUnavailable> {
        self.step("wait_for")?;
        if let Some(token) = self.held_until_wait.lock().expect("held").take() {
            self.tokens
                .lock()
                .expect("tokens")
                .insert(key.clone(), token);
        }
        Ok(())
    }
}

/// A replica over `store` that has discovered the MCP server (a token for bob), its steps and
/// the kit's recorder cleared.
fn replica(
    kit: &Testkit,
    store: &Arc<FakeStore>,
) -> (Authorizer, SharedStore<dyn SharedTokenStore>) {
    let shared: SharedStore<dyn SharedTokenStore> =
        SharedStore::new(Arc::clone(store) as Arc<dyn SharedTokenStore>);
    let authorizer =
        Authorizer::with_client(config(kit), client().with_shared_store(shared.clone()));
    authorizer
        .token(&user(kit, "bob"))
        .expect("a warm-up token");
    store.take_steps();
    kit.clear_requests();
    (authorizer, shared)
}

/// The race of a fleet refreshing together: this replica finds the store empty, the holder
/// before it saves its token and lets the lease go, then this replica is granted the lease.
/// It reads the store once more under the lease and adopts that token: no second exchange.
#[test]
fn a_token_saved_just_before_the_lease_is_granted_is_adopted_not_exchanged_again() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (first, _) = replica(&kit, &store);
    let (second, _) = replica(&kit, &store);
    let token = first.token(&user(&kit, "alice")).expect("a token");
    // Out of the store again: the second replica's first read finds nothing.
    let saved = store
        .tokens
        .lock()
        .expect("tokens")
        .drain()
        .map(|(_, token)| token)
        .find(|stored| stored.access_token == token)
        .expect("the first replica saved its token");
    *store.saved_before_lease.lock().expect("saved") = Some(saved);
    store.take_steps();
    kit.clear_requests();

    assert_eq!(second.token(&user(&kit, "alice")).expect("adopted"), token);
    assert_eq!(store.take_steps(), ["load", "try_lease", "load", "release"]);
    assert_eq!(count(&kit, Endpoint::IdpToken), 0, "no second exchange");
    assert_eq!(count(&kit, Endpoint::AsToken), 0);
}

#[test]
fn a_token_one_replica_stored_is_adopted_by_another_without_an_exchange() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (first, _) = replica(&kit, &store);
    let (second, _) = replica(&kit, &store);

    let token = first.token(&user(&kit, "alice")).expect("a token");
    assert_eq!(
        store.take_steps(),
        ["load", "try_lease", "load", "save", "release"]
    );
    assert_eq!(count(&kit, Endpoint::IdpToken), 1);

    assert_eq!(second.token(&user(&kit, "alice")).expect("adopted"), token);
    assert_eq!(store.take_steps(), ["load"]);
    assert_eq!(count(&kit, Endpoint::IdpToken), 1, "no second exchange");
    assert_eq!(count(&kit, Endpoint::AsToken), 1);
    // Adopted into the local cache: the next call asks nobody.
    assert_eq!(second.token(&user(&kit, "alice")).expect("cached"), token);
    assert!(store.take_steps().is_empty());
}

#[test]
fn a_held_lease_is_waited_for_and_the_holders_token_adopted() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (replica, _) = replica(&kit, &store);
    let theirs = AccessToken::new("obtained by the replica holding the lease");
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    *store.held_until_wait.lock().expect("held") =
        Some(CachedToken::new(theirs.clone(), expires_at));

    assert_eq!(
        replica.token(&user(&kit, "alice")).expect("a token"),
        theirs
    );
    assert_eq!(
        store.take_steps(),
        ["load", "try_lease", "wait_for", "load"]
    );
    assert_eq!(count(&kit, Endpoint::IdpToken), 0);
    assert_eq!(count(&kit, Endpoint::AsToken), 0);
}

#[test]
fn a_first_flight_shares_its_token_once_discovery_named_its_key() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let shared: SharedStore<dyn SharedTokenStore> =
        SharedStore::new(Arc::clone(&store) as Arc<dyn SharedTokenStore>);
    let cold = Authorizer::with_client(config(&kit), client().with_shared_store(shared));

    let token = cold.token(&user(&kit, "alice")).expect("a token");
    // No key before discovery: nothing to load or lease, but the token is shared.
    assert_eq!(store.take_steps(), ["save"]);
    let stored: Vec<CachedToken> = store
        .tokens
        .lock()
        .expect("tokens")
        .values()
        .cloned()
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].access_token, token);
}

#[test]
fn a_stored_token_due_for_refresh_is_not_adopted() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (replica, _) = replica(&kit, &store);
    let stale = AccessToken::new("due for refresh");
    // Within the default refresh lead of its expiry.
    let expires_at = SystemTime::now() + Duration::from_secs(5);
    *store.held_until_wait.lock().expect("held") =
        Some(CachedToken::new(stale.clone(), expires_at));

    let token = replica.token(&user(&kit, "alice")).expect("a token");
    assert_ne!(token, stale);
    assert_eq!(
        store.take_steps(),
        [
            "load",
            "try_lease",
            "wait_for",
            "load",
            "try_lease",
            "load",
            "save",
            "release"
        ]
    );
    assert_eq!(count(&kit, Endpoint::IdpToken), 1);
}

#[test]
fn a_stored_token_bound_to_a_dpop_key_is_not_adopted_by_a_bearer_replica() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (replica, _) = replica(&kit, &store);
    let bound = AccessToken::new("bound to another replica's key").bound_to("another-jkt");
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    *store.held_until_wait.lock().expect("held") =
        Some(CachedToken::new(bound.clone(), expires_at));

    let token = replica.token(&user(&kit, "alice")).expect("a token");
    assert_ne!(token, bound);
    assert_eq!(token.dpop_jkt(), None);
    assert_eq!(count(&kit, Endpoint::IdpToken), 1, "its own exchange");
}

#[test]
fn a_store_that_does_not_answer_is_counted_and_the_exchange_runs_here() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (replica, shared) = replica(&kit, &store);
    store.down.store(true, Ordering::SeqCst);

    replica
        .token(&user(&kit, "alice"))
        .expect("served without the store");
    assert_eq!(store.take_steps(), ["load"]);
    assert_eq!(shared.fallbacks(), 1);
    assert_eq!(count(&kit, Endpoint::IdpToken), 1);

    // The next flight asks the store again.
    store.down.store(false, Ordering::SeqCst);
    replica.token(&user(&kit, "carol")).expect("a token");
    assert_eq!(
        store.take_steps(),
        ["load", "try_lease", "load", "save", "release"]
    );
    assert_eq!(shared.fallbacks(), 1);
}

#[test]
fn a_token_the_server_refused_is_removed_from_the_shared_store() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (replica, _) = replica(&kit, &store);
    let alice = user(&kit, "alice");
    let refused = replica.token(&alice).expect("a token");
    store.take_steps();
    assert!(kit.revoke(refused.expose_secret()));

    let response = replica.send(&alice, tools_list(&kit)).expect("resent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        store.take_steps(),
        ["remove", "load", "try_lease", "load", "save", "release"]
    );
    assert_eq!(count(&kit, Endpoint::IdpToken), 2, "one fresh exchange");
    let stored: Vec<CachedToken> = store
        .tokens
        .lock()
        .expect("tokens")
        .values()
        .cloned()
        .collect();
    assert!(
        stored.iter().all(|t| t.access_token != refused),
        "the refused token is gone"
    );
}

#[test]
fn a_newer_token_another_replica_saved_survives_the_removal_of_the_refused_one() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let (replica, _) = replica(&kit, &store);
    let alice = user(&kit, "alice");
    let refused = replica.token(&alice).expect("a token");
    let scope = kit
        .access_token_info(refused.expose_secret())
        .expect("a kit token")
        .scope;
    assert!(kit.revoke(refused.expose_secret()));
    // Meanwhile another replica saved a newer token for the key.
    let newer = kit.issue_access_token("alice", &scope);
    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    for stored in store.tokens.lock().expect("tokens").values_mut() {
        *stored = CachedToken::new(newer.clone(), expires_at);
    }
    store.take_steps();

    let response = replica.send(&alice, tools_list(&kit)).expect("resent");
    assert_eq!(response.status(), StatusCode::OK);
    // The newer token survived the removal and was adopted: no exchange.
    assert_eq!(store.take_steps(), ["remove", "load"]);
    assert_eq!(
        count(&kit, Endpoint::IdpToken),
        1,
        "only the first exchange"
    );
    assert_eq!(replica.token(&alice).expect("cached"), newer);
}

#[test]
fn a_lease_is_renewed_while_a_slow_exchange_runs_then_released() {
    let kit = common::kit();
    let store = Arc::new(FakeStore::default());
    let shared: SharedStore<dyn SharedTokenStore> =
        SharedStore::new(Arc::clone(&store) as Arc<dyn SharedTokenStore>)
            .with_lease_ttl(Duration::from_millis(150));
    let replica = Authorizer::with_client(config(&kit), client().with_shared_store(shared));
    replica.token(&user(&kit, "bob")).expect("a warm-up token");
    store.take_steps();
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(400));

    let started = std::time::Instant::now();
    replica.token(&user(&kit, "alice")).expect("a token");
    let elapsed = started.elapsed();
    let steps = store.take_steps();
    let renewals = steps.iter().filter(|step| **step == "renew").count();
    // Every 50 ms while the flow runs: about 8 over the 400 ms exchange, never more than the
    // flow's time allows.
    let most = usize::try_from(elapsed.as_millis() / 50).expect("a short test");
    assert!((4..=most).contains(&renewals), "{elapsed:?}: {steps:?}");
    let others: Vec<&str> = steps.into_iter().filter(|step| *step != "renew").collect();
    assert_eq!(others, ["load", "try_lease", "load", "save", "release"]);
}
