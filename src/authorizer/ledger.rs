//! The authorizer's memory (decisions.md D26): its token cache and its per-principal records,
//! kept in step and bounded together by `AuthorizerConfig::max_entries`.
//!
//! The invariant: every cached token is the current token of its principal and scope, so the
//! records find a token without walking the cache, and a principal with a cached token has a
//! live record. Every change to the cache goes through here.

use std::sync::Arc;
use std::time::SystemTime;

use super::principals::Principals;
use crate::cache::{CacheKey, CachedToken, Principal, SWEEP_BUDGET, TokenCache, TokenStore};
use crate::{AccessToken, Scope};

/// What an authorizer holds in memory, and so what its bounds govern (decisions.md D26):
/// [`Authorizer::stats`](super::Authorizer::stats).
///
/// With `max_entries` the bound of [`AuthorizerConfig`](super::AuthorizerConfig): at most
/// `max_entries` cached tokens, at most `max_entries` dormant principals, at most twice that
/// many principals in all (a live principal holds at least one cached token).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizerStats {
    /// Tokens in the cache, dead ones included until swept.
    pub cached_tokens: usize,
    /// Principals with a record: the one-retry and step-up state of decisions.md D18 and a
    /// fingerprint of their last token per scope.
    pub principals: usize,
    /// Of those, the ones with no cached token.
    pub dormant_principals: usize,
    /// Flights in progress: each belongs to a caller running it.
    pub flights: usize,
}

/// The store of [`Authorizer::new`](super::Authorizer::new): none. The authorizer's own cache
/// is the in-memory store; a second copy of every token would only double the memory
/// (decisions.md D26).
pub(super) struct NoStore;

impl TokenStore for NoStore {
    fn load(&self, _key: &CacheKey) -> Option<CachedToken> {
        None
    }

    fn save(&self, _key: &CacheKey, _token: &CachedToken) {}

    fn remove(&self, _key: &CacheKey) {}
}

/// The token cache and the per-principal records.
#[derive(Debug)]
pub(super) struct Ledger {
    cache: TokenCache,
    principals: Principals,
}

impl Ledger {
    /// A ledger over `cache`, whose bound also bounds the dormant records.
    pub(super) fn new(cache: TokenCache) -> Self {
        let bound = cache.max_entries();
        Self {
            cache,
            principals: Principals::new(bound),
        }
    }

    pub(super) fn cache(&self) -> &TokenCache {
        &self.cache
    }

    pub(super) fn stats(&self, flights: usize) -> AuthorizerStats {
        let (principals, dormant_principals) = self.principals.len();
        AuthorizerStats {
            cached_tokens: self.cache.len(),
            principals,
            dormant_principals,
            flights,
        }
    }

    /// One operation's share of the sweep: drops the cache entries that are dead soonest, a
    /// few at most, if they are dead at `now`.
    pub(super) fn sweep(&mut self, now: SystemTime) {
        for _ in 0..SWEEP_BUDGET {
            match self.cache.pop_dead(now) {
                Some(key) => self.principals.left(&key),
                None => break,
            }
        }
    }

    /// Drops the entry under `key` if it is dead at `now`: on access.
    pub(super) fn drop_if_dead(&mut self, key: &CacheKey, now: SystemTime) {
        if let Some(key) = self.cache.remove_if_dead(key, now) {
            self.principals.left(&key);
        }
    }

    /// Caches `token`, loaded from the store, under `key`: it becomes the current token of its
    /// principal and scope.
    pub(super) fn cache_token(&mut self, key: CacheKey, token: CachedToken) {
        self.insert(key, token, false);
    }

    /// A flight landed `token`, cached under `key` (whose principal and scope are the flight's):
    /// the one retry if the previous token was refused (decisions.md D18).
    pub(super) fn land(&mut self, key: CacheKey, token: CachedToken) {
        self.insert(key, token, true);
    }

    fn insert(&mut self, key: CacheKey, token: CachedToken, landed: bool) {
        let fingerprint = self.principals.fingerprint(&token.access_token);
        let inserted = self.cache.insert_tracked(key, token);
        if let Some(evicted) = inserted.evicted {
            self.principals.left(&evicted);
        }
        for stale in self.principals.cached(inserted.key, fingerprint, landed) {
            self.cache.remove(&stale);
        }
    }

    /// Drops `used` if it is one of `principal`'s current tokens, cached or not: its scope,
    /// and the key it was cached under if it still was.
    pub(super) fn drop_token(
        &mut self,
        principal: &Principal,
        used: &AccessToken,
    ) -> Option<(Scope, Option<Arc<CacheKey>>)> {
        let fingerprint = self.principals.fingerprint(used);
        let (scope, key) = self.principals.take_current(principal, fingerprint)?;
        if let Some(key) = &key {
            self.cache.remove(key);
        }
        Some((scope, key))
    }

    /// The server refused `principal`'s current token for `scope`: the next is the one retry.
    pub(super) fn refuse(&mut self, principal: &Principal, scope: &Scope) {
        if let Some(stale) = self.principals.refuse(principal, scope) {
            self.cache.remove(&stale);
        }
    }

    /// Whether `used` is `principal`'s one retry for `scope`: a 401 on it is final.
    pub(super) fn is_retry(
        &self,
        principal: &Principal,
        scope: &Scope,
        used: &AccessToken,
    ) -> bool {
        let fingerprint = self.principals.fingerprint(used);
        self.principals.is_retry(principal, scope, fingerprint)
    }

    /// The server took `used`: the step-ups in a row end, and an accepted retry token earns
    /// its own retry later.
    pub(super) fn accepted(&mut self, principal: &Principal, scope: &Scope, used: &AccessToken) {
        let fingerprint = self.principals.fingerprint(used);
        self.principals.accepted(principal, scope, fingerprint);
    }

    /// One more step-up in a row for `principal`; returns the count.
    pub(super) fn step_up(&mut self, principal: &Principal) -> u32 {
        self.principals.step_up(principal)
    }

    pub(super) fn require_scope(&mut self, principal: &Principal, scope: Scope) {
        self.principals.require_scope(principal, scope);
    }

    pub(super) fn required_scope(&self, principal: &Principal) -> Option<&Scope> {
        self.principals.required_scope(principal)
    }

    /// Checks the invariant: the records' cached keys are exactly the cache's entries, each
    /// once.
    #[cfg(test)]
    fn check(&self) {
        let keys = self.principals.cached_keys();
        assert_eq!(
            keys.len(),
            self.cache.len(),
            "one record key per cache entry"
        );
        for key in &keys {
            assert!(
                self.cache.peek(key).is_some(),
                "a record key not in the cache"
            );
        }
        let mut distinct: Vec<_> = keys.iter().map(|k| format!("{k:?}")).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), keys.len(), "a cache entry held twice");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdJag;

    fn at(secs: u64) -> SystemTime {
        crate::json::time_from_numeric_date(secs)
    }

    fn key(issuer: &str, scope: &Scope, user: usize) -> CacheKey {
        CacheKey::new(
            issuer,
            "https://mcp",
            "c",
            scope,
            Principal::key(format!("u{user}")),
        )
    }

    /// A deterministic walk through every operation, with the invariant checked after each.
    #[test]
    fn every_operation_keeps_cache_and_records_in_step() {
        let scopes: Vec<Scope> = ["a", "a b", "c", "d", "e", "f"]
            .iter()
            .map(|s| Scope::parse(s))
            .collect();
        let mut ledger = Ledger::new(TokenCache::new().with_max_entries(6));
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let mut now = 1_000u64;
        let mut issued = 0u64;
        for _ in 0..20_000 {
            let user = next(9) as usize;
            let principal = Principal::key(format!("u{user}"));
            let scope = &scopes[next(scopes.len() as u64) as usize];
            let issuer = if next(8) == 0 {
                "https://as2"
            } else {
                "https://as"
            };
            let used = AccessToken::new(format!("t{}", next(issued + 1)));
            match next(9) {
                0 => now += next(120),
                1 => ledger.sweep(at(now)),
                2 => ledger.drop_if_dead(&key(issuer, scope, user), at(now)),
                3 | 4 => {
                    issued += 1;
                    let mut token = CachedToken::new(
                        AccessToken::new(format!("t{issued}")),
                        at(now + next(90)),
                    );
                    if next(3) == 0 {
                        token = token.with_id_jag(IdJag::new("j"), at(now + next(200)));
                    }
                    ledger.land(key(issuer, scope, user), token);
                }
                5 => {
                    if let Some((dropped, _)) = ledger.drop_token(&principal, &used) {
                        ledger.refuse(&principal, &dropped);
                    }
                }
                6 => ledger.accepted(&principal, scope, &used),
                7 => {
                    ledger.step_up(&principal);
                    ledger.require_scope(&principal, scope.clone());
                }
                _ => {
                    let _ = ledger.is_retry(&principal, scope, &used);
                }
            }
            ledger.check();
            let stats = ledger.stats(0);
            assert!(stats.cached_tokens <= 6 && stats.dormant_principals <= 6);
        }
        // Time passes: the sweep empties the cache, the records stay (dormant, bounded).
        for _ in 0..10 {
            ledger.sweep(at(now + 1_000));
        }
        ledger.check();
        assert_eq!(ledger.stats(0).cached_tokens, 0);
        assert_eq!(
            ledger.stats(0).principals,
            ledger.stats(0).dormant_principals
        );
    }

    #[test]
    fn a_401_after_the_token_expired_is_still_judged_by_it() {
        let scope = Scope::parse("a");
        let principal = Principal::key("u0");
        let mut ledger = Ledger::new(TokenCache::new());
        let token = AccessToken::new("t1");
        ledger.land(
            key("https://as", &scope, 0),
            CachedToken::new(token.clone(), at(100)),
        );
        ledger.sweep(at(200));
        assert_eq!(ledger.stats(0).cached_tokens, 0);
        assert_eq!(ledger.stats(0).dormant_principals, 1);
        let (dropped, cached) = ledger.drop_token(&principal, &token).expect("current");
        assert_eq!((dropped, cached), (scope.clone(), None));
        ledger.refuse(&principal, &scope);
        let retry = AccessToken::new("t2");
        ledger.land(
            key("https://as", &scope, 0),
            CachedToken::new(retry.clone(), at(300)),
        );
        assert!(ledger.is_retry(&principal, &scope, &retry));
        ledger.check();
    }
}
