//! The token cache (decisions.md D13, D19, D21) through the public API.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use xaa::cache::{
    CacheKey, CachedToken, Lookup, MemoryTokenStore, Principal, RefreshPlan, TokenCache, TokenStore,
};
use xaa::{AccessToken, IdJag, Scope};

const ISSUER: &str = "https://as.example";
const RESOURCE: &str = "https://mcp.example/mcp";
const CLIENT: &str = "client-at-as";
const SECRET_AT: &str = "at-7f3c9e-very-secret";
const SECRET_JAG: &str = "eyJhbGciOiJFUzI1NiJ9.jag-very-secret.sig";

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn alice() -> Principal {
    Principal::subject("https://idp.example", "alice")
}

fn key_for(principal: Principal) -> CacheKey {
    CacheKey::new(
        ISSUER,
        RESOURCE,
        CLIENT,
        &Scope::parse("tools:read files:write"),
        principal,
    )
}

fn token(secret: &str, expires_at: SystemTime) -> CachedToken {
    CachedToken::new(AccessToken::new(secret), expires_at)
}

fn is_fresh(lookup: Lookup<'_>) -> bool {
    matches!(lookup, Lookup::Fresh(_))
}

fn is_due(lookup: Lookup<'_>) -> bool {
    matches!(lookup, Lookup::DueForRefresh(_))
}

#[test]
fn fresh_due_expired_boundaries() {
    let expiry = at(10_000);
    let key = key_for(alice());
    let mut cache = TokenCache::new();
    assert_eq!(cache.refresh_lead(), Duration::from_secs(60));
    assert_eq!(cache.lookup(&key, at(0)), Lookup::Missing);
    cache.insert(key.clone(), token(SECRET_AT, expiry));

    let lead_start = expiry - Duration::from_secs(60);
    assert!(is_fresh(cache.lookup(&key, at(0))));
    assert!(is_fresh(
        cache.lookup(&key, lead_start - Duration::from_nanos(1))
    ));
    // Exactly at the lead: due, still usable.
    assert!(is_due(cache.lookup(&key, lead_start)));
    assert!(is_due(cache.lookup(&key, expiry - Duration::from_nanos(1))));
    assert_eq!(
        cache
            .lookup(&key, expiry - Duration::from_nanos(1))
            .usable()
            .map(|t| t.access_token.expose_secret()),
        Some(SECRET_AT)
    );
    // Exactly at expiry: expired.
    assert_eq!(cache.lookup(&key, expiry), Lookup::Expired);
    assert_eq!(
        cache.lookup(&key, expiry + Duration::from_secs(1)),
        Lookup::Expired
    );
    assert_eq!(cache.lookup(&key, expiry).usable(), None);
}

#[test]
fn custom_refresh_lead() {
    let key = key_for(alice());
    let mut cache = TokenCache::new().with_refresh_lead(Duration::from_secs(300));
    cache.insert(key.clone(), token(SECRET_AT, at(1_000)));
    assert!(is_fresh(cache.lookup(&key, at(699))));
    assert!(is_due(cache.lookup(&key, at(700))));
    let mut zero = TokenCache::new().with_refresh_lead(Duration::ZERO);
    zero.insert(key.clone(), token(SECRET_AT, at(1_000)));
    assert!(is_fresh(zero.lookup(&key, at(999))));
    assert_eq!(zero.lookup(&key, at(1_000)), Lookup::Expired);
}

#[test]
fn refresh_plan_defaults_to_a_fresh_exchange() {
    // decisions.md D13: off by default, even with an unexpired ID-JAG cached.
    let key = key_for(alice());
    let mut cache = TokenCache::new();
    assert!(!cache.resubmit_id_jag());
    cache.insert(
        key.clone(),
        token(SECRET_AT, at(1_000)).with_id_jag(IdJag::new(SECRET_JAG), at(2_000)),
    );
    assert_eq!(
        cache.refresh_plan(&key, at(900)),
        RefreshPlan::FreshExchange
    );
}

#[test]
fn refresh_plan_opt_in_resubmits_only_an_unexpired_id_jag() {
    let key = key_for(alice());
    let mut cache = TokenCache::new().with_resubmit_id_jag(true);
    assert_eq!(cache.refresh_plan(&key, at(0)), RefreshPlan::FreshExchange);

    cache.insert(key.clone(), token(SECRET_AT, at(1_000)));
    assert_eq!(
        cache.refresh_plan(&key, at(900)),
        RefreshPlan::FreshExchange,
        "no ID-JAG kept"
    );

    let jag_expiry = at(1_300);
    cache.insert(
        key.clone(),
        token(SECRET_AT, at(1_000)).with_id_jag(IdJag::new(SECRET_JAG), jag_expiry),
    );
    assert_eq!(
        cache.refresh_plan(&key, at(900)),
        RefreshPlan::ResubmitIdJag(IdJag::new(SECRET_JAG))
    );
    // The ID-JAG must outlive now + 30 s of skew.
    assert_eq!(
        cache.refresh_plan(&key, at(1_269)),
        RefreshPlan::ResubmitIdJag(IdJag::new(SECRET_JAG))
    );
    assert_eq!(
        cache.refresh_plan(&key, at(1_270)),
        RefreshPlan::FreshExchange
    );
    assert_eq!(
        cache.refresh_plan(&key, at(5_000)),
        RefreshPlan::FreshExchange
    );
    // Works after the access token expired: that is when it is needed.
    assert_eq!(cache.lookup(&key, at(1_100)), Lookup::Expired);
    assert!(matches!(
        cache.refresh_plan(&key, at(1_100)),
        RefreshPlan::ResubmitIdJag(_)
    ));

    let mut strict = TokenCache::new()
        .with_resubmit_id_jag(true)
        .with_id_jag_skew(Duration::from_secs(200));
    strict.insert(
        key.clone(),
        token(SECRET_AT, at(1_000)).with_id_jag(IdJag::new(SECRET_JAG), jag_expiry),
    );
    assert_eq!(
        strict.refresh_plan(&key, at(1_100)),
        RefreshPlan::FreshExchange
    );
}

#[test]
fn two_users_through_one_cache_never_share_a_token() {
    let bob = Principal::subject("https://idp.example", "bob");
    let (key_alice, key_bob) = (key_for(alice()), key_for(bob));
    assert_ne!(key_alice, key_bob);

    let mut cache = TokenCache::new();
    cache.insert(key_alice.clone(), token("alice-token", at(1_000)));
    assert_eq!(cache.lookup(&key_bob, at(0)), Lookup::Missing);

    cache.insert(key_bob.clone(), token("bob-token", at(1_000)));
    let secret = |key: &CacheKey| {
        cache
            .lookup(key, at(0))
            .usable()
            .map(|t| t.access_token.expose_secret().to_owned())
    };
    assert_eq!(secret(&key_alice).as_deref(), Some("alice-token"));
    assert_eq!(secret(&key_bob).as_deref(), Some("bob-token"));

    // The same `sub` at another IdP is another user; a caller key is never a subject.
    let other_idp = key_for(Principal::subject("https://other-idp.example", "alice"));
    assert_eq!(cache.lookup(&other_idp, at(0)), Lookup::Missing);
    assert_eq!(
        cache.lookup(&key_for(Principal::key("alice")), at(0)),
        Lookup::Missing
    );

    cache.remove(&key_alice);
    assert_eq!(cache.lookup(&key_alice, at(0)), Lookup::Missing);
    assert!(is_fresh(cache.lookup(&key_bob, at(0))));
}

#[test]
fn every_key_component_separates_entries() {
    let scope = Scope::parse("a");
    let base = CacheKey::new(ISSUER, RESOURCE, CLIENT, &scope, alice());
    let variants = [
        CacheKey::new("https://as2.example", RESOURCE, CLIENT, &scope, alice()),
        CacheKey::new(ISSUER, "https://mcp2.example", CLIENT, &scope, alice()),
        CacheKey::new(ISSUER, RESOURCE, "other-client", &scope, alice()),
        CacheKey::new(ISSUER, RESOURCE, CLIENT, &Scope::parse("a b"), alice()),
    ];
    let mut cache = TokenCache::new();
    cache.insert(base.clone(), token(SECRET_AT, at(1_000)));
    for key in &variants {
        assert_ne!(key, &base);
        assert_eq!(cache.lookup(key, at(0)), Lookup::Missing);
    }
    assert_eq!(base.authorization_server(), ISSUER);
    assert_eq!(base.resource(), RESOURCE);
    assert_eq!(base.client_id(), CLIENT);
    assert_eq!(base.principal(), &alice());
}

#[test]
fn scope_order_does_not_matter() {
    let ab = CacheKey::new(ISSUER, RESOURCE, CLIENT, &Scope::parse("b a"), alice());
    let ba = CacheKey::new(ISSUER, RESOURCE, CLIENT, &Scope::parse("a  b a"), alice());
    assert_eq!(ab, ba);
    assert_eq!(ab.scope().to_string(), "a b");
    let mut cache = TokenCache::new();
    cache.insert(ab, token(SECRET_AT, at(1_000)));
    assert!(is_fresh(cache.lookup(&ba, at(0))));

    // A store written by hand with another order still yields the same key.
    let json = serde_json::to_string(&ba).expect("serializes");
    let reordered = json.replace("\"a b\"", "\"b a\"");
    assert_ne!(json, reordered);
    let parsed: CacheKey = serde_json::from_str(&reordered).expect("deserializes");
    assert_eq!(parsed, ba);
}

#[test]
fn bounded_evicting_the_soonest_expiry() {
    // decisions.md D26: found in the expiry order, without a walk over the cache.
    let mut cache = TokenCache::new().with_max_entries(2);
    let (k1, k2, k3) = (
        key_for(Principal::key("1")),
        key_for(Principal::key("2")),
        key_for(Principal::key("3")),
    );
    cache.insert(k1.clone(), token("1", at(300)));
    cache.insert(k2.clone(), token("2", at(100)));
    // Replacing an existing key never evicts.
    assert!(cache.insert(k2.clone(), token("2b", at(200))).is_some());
    assert_eq!(cache.len(), 2);

    // Full: the entry that expires first (k2 at 200) makes room, even for a shorter-lived token.
    assert!(cache.insert(k3.clone(), token("3", at(50))).is_none());
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.lookup(&k2, at(0)), Lookup::Missing);
    assert!(is_fresh(cache.lookup(&k1, at(0))));
    assert!(matches!(
        cache.lookup(&k3, at(0)),
        Lookup::Fresh(_) | Lookup::DueForRefresh(_)
    ));

    // Bounded however many keys come through.
    for i in 0..100 {
        cache.insert(
            key_for(Principal::key(format!("many-{i}"))),
            token("t", at(i)),
        );
        assert!(cache.len() <= 2);
    }
}

#[test]
fn remove_and_remove_expired() {
    let mut cache = TokenCache::new();
    assert!(cache.is_empty());
    let (k1, k2) = (key_for(Principal::key("1")), key_for(Principal::key("2")));
    cache.insert(k1.clone(), token("1", at(100)));
    cache.insert(k2.clone(), token("2", at(200)));
    assert_eq!(cache.remove_expired(at(99)), 0);
    assert_eq!(cache.remove_expired(at(100)), 1);
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.lookup(&k1, at(0)), Lookup::Missing);
    // decisions.md D18: after a 401 the token is dropped.
    assert_eq!(
        cache
            .remove(&k2)
            .map(|t| t.access_token.expose_secret().to_owned()),
        Some("2".to_owned())
    );
    assert!(cache.remove(&k2).is_none());
    assert!(cache.is_empty());
}

#[test]
fn memory_store_round_trip() {
    let store = MemoryTokenStore::new();
    let key = key_for(alice());
    let saved = token(SECRET_AT, at(1_000))
        .with_scope(Scope::parse("tools:read"))
        .with_id_jag(IdJag::new(SECRET_JAG), at(400));
    assert!(store.load(&key).is_none());
    store.save(&key, &saved);
    assert_eq!(store.load(&key), Some(saved.clone()));
    assert_eq!(store.len(), 1);
    assert!(store.load(&key_for(Principal::key("bob"))).is_none());
    store.remove(&key);
    assert!(store.load(&key).is_none());
    assert!(store.is_empty());

    // Send + Sync: shared across threads as a trait object.
    let shared: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let writer = Arc::clone(&shared);
    let (k, t) = (key.clone(), saved.clone());
    thread::spawn(move || writer.save(&k, &t))
        .join()
        .expect("the writer thread");
    assert_eq!(shared.load(&key), Some(saved));
}

#[test]
fn memory_store_is_bounded_and_expires() {
    // decisions.md D26: the default store holds as many tokens as the cache's default bound.
    let default = MemoryTokenStore::new();
    for i in 0..=TokenCache::DEFAULT_MAX_ENTRIES {
        default.save(
            &key_for(Principal::key(format!("{i}"))),
            &token("t", at(100)),
        );
    }
    assert_eq!(default.len(), TokenCache::DEFAULT_MAX_ENTRIES);
    let one = MemoryTokenStore::with_capacity(0);
    one.save(&key_for(Principal::key("a")), &token("a", at(100)));
    one.save(&key_for(Principal::key("b")), &token("b", at(100)));
    assert_eq!(one.len(), 1);

    let store = MemoryTokenStore::with_capacity(3);
    let key = |name: &str| key_for(Principal::key(name));
    store.save(&key("late"), &token("late", at(300)));
    store.save(&key("soon"), &token("soon", at(100)));
    // The access token expires first, the ID-JAG kept for re-submission later: the entry
    // lives as long as either does.
    let with_jag = token("jag", at(50)).with_id_jag(IdJag::new(SECRET_JAG), at(200));
    store.save(&key("jag"), &with_jag);
    // Full: a new key evicts the entry dead soonest.
    store.save(&key("new"), &token("new", at(400)));
    assert_eq!(store.len(), 3);
    assert!(store.load(&key("soon")).is_none());
    // Replacing a key evicts nothing.
    store.save(&key("new"), &token("newer", at(500)));
    assert_eq!(store.len(), 3);

    // The store reads no clock: until told the time, nothing is dead.
    assert!(store.load(&key("jag")).is_some());
    store.expire(at(150));
    assert_eq!(
        store.load(&key("jag")),
        Some(with_jag),
        "its ID-JAG still lives"
    );
    // Told the time, a load of a dead entry drops it; each call sweeps a few more.
    store.expire(at(250));
    assert_eq!(store.len(), 2);
    assert!(store.load(&key("jag")).is_none());
    store.expire(at(1_000));
    assert!(store.is_empty());

    // A store written elsewhere keeps the default: `expire` does nothing.
    struct Elsewhere;
    impl TokenStore for Elsewhere {
        fn load(&self, _key: &CacheKey) -> Option<CachedToken> {
            None
        }
        fn save(&self, _key: &CacheKey, _token: &CachedToken) {}
        fn remove(&self, _key: &CacheKey) {}
    }
    Elsewhere.expire(at(0));
}

#[test]
fn serde_round_trip_with_times_in_seconds() {
    let key = key_for(alice());
    let cached = token(SECRET_AT, at(1_700_000_000) + Duration::from_millis(900))
        .with_token_type("Bearer")
        .with_scope(Scope::parse("tools:read"))
        .with_id_jag(IdJag::new(SECRET_JAG), at(1_699_999_000));
    let json = serde_json::to_value((&key, &cached)).expect("serializes");
    assert_eq!(json[1]["expires_at"], 1_700_000_000u64);
    assert_eq!(json[1]["id_jag"]["expires_at"], 1_699_999_000u64);
    assert_eq!(json[1]["id_jag"]["token"], SECRET_JAG);
    assert_eq!(json[0]["principal"]["subject"]["subject"], "alice");

    let (key_back, token_back): (CacheKey, CachedToken) =
        serde_json::from_value(json).expect("deserializes");
    assert_eq!(key_back, key);
    // Rounded down to the second: a restored token never outlives the original.
    assert_eq!(token_back.expires_at, at(1_700_000_000));
    assert_eq!(token_back.access_token, cached.access_token);
    assert_eq!(token_back.scope, cached.scope);
    assert_eq!(token_back.id_jag, cached.id_jag);

    // No ID-JAG, and a caller key.
    let plain = token(SECRET_AT, at(5));
    let json = serde_json::to_string(&plain).expect("serializes");
    let back: CachedToken = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, plain);
    let key = key_for(Principal::key("session-42"));
    let json = serde_json::to_string(&key).expect("serializes");
    assert!(
        json.contains(r#""principal":{"key":"session-42"}"#),
        "{json}"
    );
    assert_eq!(
        serde_json::from_str::<CacheKey>(&json).expect("deserializes"),
        key
    );
}

#[test]
fn debug_shows_no_token_text() {
    let key = key_for(alice());
    let cached = token(SECRET_AT, at(1_000)).with_id_jag(IdJag::new(SECRET_JAG), at(2_000));
    let mut cache = TokenCache::new().with_resubmit_id_jag(true);
    cache.insert(key.clone(), cached.clone());
    let store = MemoryTokenStore::new();
    store.save(&key, &cached);

    let texts = [
        format!("{cached:?}"),
        format!("{cached:#?}"),
        format!("{:?}", cache.lookup(&key, at(0))),
        format!("{:?}", cache.refresh_plan(&key, at(0))),
        format!("{cache:?}"),
        format!("{store:?}"),
    ];
    for text in &texts {
        assert!(!text.contains(SECRET_AT), "{text}");
        assert!(!text.contains("very-secret"), "{text}");
        assert!(!text.contains(SECRET_JAG), "{text}");
    }
    assert!(texts[0].contains("AccessToken([redacted])"));
    assert!(texts[0].contains("IdJag([redacted])"));
}
