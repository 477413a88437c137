//! What the authorizer keeps per principal besides tokens (decisions.md D26): the state of
//! decisions.md D18 (a refused token's one retry, the step-ups in a row, the scope a step-up
//! asked for) and, per scope, a fingerprint of the last token, so that a 401 for a token is
//! judged the same whether or not the token itself was dropped since.
//!
//! A record is *live* while one of its tokens is cached and *dormant* otherwise. Live records
//! are bounded by the cache (each holds at least one of its entries); dormant ones are kept
//! up to the same bound, the least recently touched forgotten first. Time alone forgets
//! nothing here: memory is reclaimed by the bound, so reclaiming it never changes a decision
//! before the bound is reached.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use crate::cache::{CacheKey, Principal};
use crate::{AccessToken, Scope};

/// A token's fingerprint: a keyed hash, so a record holds no token text.
pub(super) type Fingerprint = u64;

/// The scopes a record remembers: a principal asks for one, two after a step-up; the oldest
/// goes first.
const SCOPES_PER_PRINCIPAL: usize = 4;

/// Records by principal, bounded.
#[derive(Debug)]
pub(super) struct Principals {
    records: HashMap<Arc<Principal>, Record>,
    /// The dormant records, least recently touched first.
    dormant: BTreeMap<u64, Arc<Principal>>,
    touches: u64,
    fingerprints: RandomState,
    bound: usize,
}

#[derive(Debug, Default)]
struct Record {
    scopes: Vec<ScopeState>,
    required_scope: Option<Scope>,
    step_ups: u32,
    /// The record's place in the dormant order, while dormant.
    dormant: Option<u64>,
}

/// One scope of a principal: one single-flight key (decisions.md D19).
#[derive(Debug)]
struct ScopeState {
    scope: Scope,
    /// The last token cached for the scope, until a 401 drops it.
    current: Option<Current>,
    /// The server refused the current token: the next one is the one retry (decisions.md D18).
    refused: bool,
    /// The one retry: a 401 on it is final.
    retry: Option<Fingerprint>,
}

#[derive(Debug)]
struct Current {
    fingerprint: Fingerprint,
    /// Its cache entry, while it is cached.
    key: Option<Arc<CacheKey>>,
}

impl ScopeState {
    fn is_empty(&self) -> bool {
        self.current.is_none() && !self.refused && self.retry.is_none()
    }

    fn cached_key(&self) -> Option<&Arc<CacheKey>> {
        self.current
            .as_ref()
            .and_then(|current| current.key.as_ref())
    }
}

impl Record {
    fn is_live(&self) -> bool {
        self.scopes.iter().any(|s| s.cached_key().is_some())
    }

    fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.required_scope.is_none() && self.step_ups == 0
    }

    fn scope(&self, scope: &Scope) -> Option<&ScopeState> {
        self.scopes.iter().find(|s| s.scope == *scope)
    }

    /// The state of `scope`, made the most recent; a new one may push the oldest out, whose
    /// cached key (if any) is returned for the cache to drop.
    fn scope_mut(&mut self, scope: &Scope) -> (&mut ScopeState, Option<Arc<CacheKey>>) {
        let mut pushed_out = None;
        match self.scopes.iter().position(|s| s.scope == *scope) {
            Some(index) => {
                let state = self.scopes.remove(index);
                self.scopes.push(state);
            }
            None => {
                if self.scopes.len() >= SCOPES_PER_PRINCIPAL {
                    let oldest = self.scopes.remove(0);
                    pushed_out = oldest.current.and_then(|current| current.key);
                }
                // Most principals use one scope: no room for four until a second comes.
                self.scopes.reserve_exact(1);
                self.scopes.push(ScopeState {
                    scope: scope.clone(),
                    current: None,
                    refused: false,
                    retry: None,
                });
            }
        }
        let last = self.scopes.len() - 1;
        (&mut self.scopes[last], pushed_out)
    }
}

impl Principals {
    /// Records for any number of principals, at most `bound` of them dormant.
    pub(super) fn new(bound: usize) -> Self {
        Self {
            records: HashMap::new(),
            dormant: BTreeMap::new(),
            touches: 0,
            fingerprints: RandomState::new(),
            bound: bound.max(1),
        }
    }

    pub(super) fn fingerprint(&self, token: &AccessToken) -> Fingerprint {
        self.fingerprints.hash_one(token.expose_secret())
    }

    /// How many records, and how many of them dormant.
    pub(super) fn len(&self) -> (usize, usize) {
        (self.records.len(), self.dormant.len())
    }

    pub(super) fn required_scope(&self, principal: &Principal) -> Option<&Scope> {
        self.records.get(principal)?.required_scope.as_ref()
    }

    /// The token `fingerprint` was cached under `key`: it is the current one of its principal
    /// and scope. When a flight `landed` it (rather than a store), it is the one retry if the
    /// previous token was refused, and any earlier retry is over (decisions.md D18). Returns
    /// the keys the cache must drop: the previous current token's, when it was cached under
    /// another key (the discovery changed), and a scope pushed out.
    pub(super) fn cached(
        &mut self,
        key: Arc<CacheKey>,
        fingerprint: Fingerprint,
        landed: bool,
    ) -> Vec<Arc<CacheKey>> {
        let principal = key.principal().clone();
        let record = self.record_mut(&principal);
        let (state, pushed_out) = record.scope_mut(key.scope());
        if landed {
            state.retry = std::mem::take(&mut state.refused).then_some(fingerprint);
        }
        let previous = state.current.replace(Current {
            fingerprint,
            key: Some(Arc::clone(&key)),
        });
        let mut stale: Vec<_> = pushed_out.into_iter().collect();
        stale.extend(
            previous
                .and_then(|p| p.key)
                .filter(|previous| **previous != *key),
        );
        self.settle(&principal);
        stale
    }

    /// The cache dropped `key` (expired, or evicted for room): its token is no longer cached,
    /// but stays its scope's current one.
    pub(super) fn left(&mut self, key: &CacheKey) {
        let principal = key.principal();
        if let Some(record) = self.records.get_mut(principal) {
            for state in &mut record.scopes {
                if let Some(current) = &mut state.current
                    && current.key.as_deref() == Some(key)
                {
                    current.key = None;
                }
            }
            self.settle(principal);
        }
    }

    /// Takes `fingerprint` out of `principal`'s current tokens, whatever the scope: the scope,
    /// and the key it is cached under if it still is.
    pub(super) fn take_current(
        &mut self,
        principal: &Principal,
        fingerprint: Fingerprint,
    ) -> Option<(Scope, Option<Arc<CacheKey>>)> {
        let record = self.records.get_mut(principal)?;
        let state = record.scopes.iter_mut().find(|s| {
            s.current
                .as_ref()
                .is_some_and(|c| c.fingerprint == fingerprint)
        })?;
        let scope = state.scope.clone();
        let key = state.current.take().and_then(|current| current.key);
        self.settle(principal);
        Some((scope, key))
    }

    /// The server refused the current token of `principal` for `scope`.
    pub(super) fn refuse(&mut self, principal: &Principal, scope: &Scope) -> Option<Arc<CacheKey>> {
        let (state, pushed_out) = self.record_mut(principal).scope_mut(scope);
        state.refused = true;
        self.settle(principal);
        pushed_out
    }

    /// Whether `fingerprint` is the one retry of `principal` for `scope`.
    pub(super) fn is_retry(
        &self,
        principal: &Principal,
        scope: &Scope,
        fingerprint: Fingerprint,
    ) -> bool {
        self.records
            .get(principal)
            .and_then(|record| record.scope(scope))
            .is_some_and(|state| state.retry == Some(fingerprint))
    }

    /// The server took `fingerprint` for `principal` and `scope`: no step-up in a row, and a
    /// retry token that was accepted earns its own retry later (decisions.md D18).
    pub(super) fn accepted(
        &mut self,
        principal: &Principal,
        scope: &Scope,
        fingerprint: Fingerprint,
    ) {
        let Some(record) = self.records.get_mut(principal) else {
            return;
        };
        record.step_ups = 0;
        for state in &mut record.scopes {
            if state.scope == *scope && state.retry == Some(fingerprint) {
                state.retry = None;
            }
        }
        self.settle(principal);
    }

    /// One more step-up in a row for `principal`; returns the count.
    pub(super) fn step_up(&mut self, principal: &Principal) -> u32 {
        let record = self.record_mut(principal);
        record.step_ups = record.step_ups.saturating_add(1);
        let steps = record.step_ups;
        self.settle(principal);
        steps
    }

    /// Flights for `principal` ask for `scope` from now on.
    pub(super) fn require_scope(&mut self, principal: &Principal, scope: Scope) {
        self.record_mut(principal).required_scope = Some(scope);
        self.settle(principal);
    }

    fn record_mut(&mut self, principal: &Principal) -> &mut Record {
        self.records.entry(Arc::new(principal.clone())).or_default()
    }

    /// After any change to `principal`'s record: drops what is empty, and files the record as
    /// live or dormant (the most recently touched), forgetting the least recently touched
    /// dormant records beyond the bound.
    fn settle(&mut self, principal: &Principal) {
        let Some(name) = self
            .records
            .get_key_value(principal)
            .map(|(n, _)| Arc::clone(n))
        else {
            return;
        };
        let Some(record) = self.records.get_mut(principal) else {
            return;
        };
        record.scopes.retain(|state| !state.is_empty());
        if let Some(place) = record.dormant.take() {
            self.dormant.remove(&place);
        }
        if record.is_live() {
            return;
        }
        if record.is_empty() {
            self.records.remove(principal);
            return;
        }
        self.touches = self.touches.wrapping_add(1);
        record.dormant = Some(self.touches);
        self.dormant.insert(self.touches, name);
        while self.dormant.len() > self.bound {
            if let Some((_, forgotten)) = self.dormant.pop_first() {
                self.records.remove(&*forgotten);
            }
        }
    }

    /// Checks that the dormant order and the records agree, and returns every cached key the
    /// records hold.
    #[cfg(test)]
    pub(super) fn cached_keys(&self) -> Vec<Arc<CacheKey>> {
        for (place, name) in &self.dormant {
            let record = self.records.get(&**name).expect("a dormant record exists");
            assert_eq!(record.dormant, Some(*place));
            assert!(!record.is_live());
        }
        let mut keys = Vec::new();
        for record in self.records.values() {
            assert_eq!(record.dormant.is_some(), !record.is_live());
            assert!(record.scopes.len() <= SCOPES_PER_PRINCIPAL);
            keys.extend(record.scopes.iter().filter_map(|s| s.cached_key().cloned()));
        }
        keys
    }
}
