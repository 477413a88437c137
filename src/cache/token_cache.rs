//! [`TokenCache`]: what is usable at a `now` the caller passes in.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::entries::{Entries, Inserted};
use super::{CacheKey, CachedToken, Principal};
use crate::{AccessToken, IdJag};

/// What [`TokenCache::lookup`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Usable, and not yet within the refresh lead of its expiry.
    Fresh(&'a CachedToken),
    /// Still usable, but its expiry is less than the refresh lead away: start getting a new one.
    /// A caller holding it never has to wait for the refresh (decisions.md D19).
    DueForRefresh(&'a CachedToken),
    /// Present but expired: unusable.
    Expired,
    /// Nothing cached under the key.
    Missing,
}

impl<'a> Lookup<'a> {
    /// The token, when it is still usable ([`Lookup::Fresh`] or [`Lookup::DueForRefresh`]).
    pub fn usable(self) -> Option<&'a CachedToken> {
        match self {
            Self::Fresh(token) | Self::DueForRefresh(token) => Some(token),
            Self::Expired | Self::Missing => None,
        }
    }
}

/// How to get the next access token for a key (decisions.md D13).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshPlan {
    /// Re-submit this cached, unexpired ID-JAG to the authorization server (one POST); on
    /// `invalid_grant`, fall back to a fresh exchange once. Only with
    /// [`TokenCache::with_resubmit_id_jag`].
    ResubmitIdJag(IdJag),
    /// Start with a fresh token exchange at the IdP: the default, since the MCP profile requires
    /// servers to reject a re-used `jti`.
    FreshExchange,
}

/// Access tokens by [`CacheKey`], bounded, judged against a caller-supplied `now`.
///
/// Defaults: a refresh lead of 60 s, ID-JAG re-submission off (decisions.md D13), 30 s of skew
/// on the ID-JAG's expiry, at most 1024 entries. A full cache evicts the entry that is dead
/// soonest (its token and the ID-JAG kept with it both expired, decisions.md D26), found
/// without walking the cache.
#[derive(Clone, Debug)]
pub struct TokenCache {
    entries: Entries,
    refresh_lead: Duration,
    resubmit_id_jag: bool,
    id_jag_skew: Duration,
    max_entries: usize,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenCache {
    /// The default refresh lead.
    pub const DEFAULT_REFRESH_LEAD: Duration = Duration::from_secs(60);
    /// The default margin an ID-JAG must have left to be re-submitted.
    pub const DEFAULT_ID_JAG_SKEW: Duration = Duration::from_secs(30);
    /// The default bound on entries.
    pub const DEFAULT_MAX_ENTRIES: usize = 1024;

    /// An empty cache with the defaults.
    pub fn new() -> Self {
        Self {
            entries: Entries::default(),
            refresh_lead: Self::DEFAULT_REFRESH_LEAD,
            resubmit_id_jag: false,
            id_jag_skew: Self::DEFAULT_ID_JAG_SKEW,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
        }
    }

    /// How long before expiry a token becomes [`Lookup::DueForRefresh`].
    pub fn with_refresh_lead(mut self, refresh_lead: Duration) -> Self {
        self.refresh_lead = refresh_lead;
        self
    }

    /// Opts in to re-submitting an unexpired ID-JAG before a fresh exchange (decisions.md D13).
    pub fn with_resubmit_id_jag(mut self, resubmit_id_jag: bool) -> Self {
        self.resubmit_id_jag = resubmit_id_jag;
        self
    }

    /// How long an ID-JAG must still be valid after `now` to be re-submitted, covering the
    /// request's latency and the servers' clock skew.
    pub fn with_id_jag_skew(mut self, id_jag_skew: Duration) -> Self {
        self.id_jag_skew = id_jag_skew;
        self
    }

    /// Bounds the number of entries (at least 1). Entries beyond the new bound are evicted,
    /// the soonest dead first.
    pub fn with_max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries.max(1);
        while self.entries.len() > self.max_entries && self.entries.evict_one().is_some() {}
        self
    }

    /// The refresh lead.
    pub fn refresh_lead(&self) -> Duration {
        self.refresh_lead
    }

    /// Whether ID-JAG re-submission is on.
    pub fn resubmit_id_jag(&self) -> bool {
        self.resubmit_id_jag
    }

    /// The bound on entries.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// What is cached under `key`, judged at `now`:
    ///
    /// * `now >= expires_at`: [`Lookup::Expired`];
    /// * `now >= expires_at - lead`: [`Lookup::DueForRefresh`], where `lead` is the refresh
    ///   lead, capped at half the token's lifetime when its issue time is known;
    /// * otherwise [`Lookup::Fresh`].
    pub fn lookup(&self, key: &CacheKey, now: SystemTime) -> Lookup<'_> {
        let Some(token) = self.entries.get(key) else {
            return Lookup::Missing;
        };
        if now >= token.expires_at {
            return Lookup::Expired;
        }
        let lead = match token.issued_at {
            Some(issued_at) => {
                let lifetime = token
                    .expires_at
                    .duration_since(issued_at)
                    .unwrap_or_default();
                self.refresh_lead.min(lifetime / 2)
            }
            None => self.refresh_lead,
        };
        match token.expires_at.checked_sub(lead) {
            Some(refresh_at) if now < refresh_at => Lookup::Fresh(token),
            _ => Lookup::DueForRefresh(token),
        }
    }

    /// Removes the entry of `principal` holding `token`, under whatever key; returns the key.
    ///
    /// Walks the cache; the authorizer keeps its own index instead.
    pub fn remove_token(&mut self, principal: &Principal, token: &AccessToken) -> Option<CacheKey> {
        let key = self
            .entries
            .iter()
            .find(|(key, cached)| key.principal() == principal && cached.access_token == *token)
            .map(|(key, _)| key.clone())?;
        self.entries.remove(&key);
        Some(key)
    }

    /// What is cached under `key`, whatever its expiry.
    pub fn peek(&self, key: &CacheKey) -> Option<&CachedToken> {
        self.entries.get(key)
    }

    /// How to obtain the next token for `key` at `now` (decisions.md D13):
    /// [`RefreshPlan::ResubmitIdJag`] only when re-submission is on and the cached ID-JAG is
    /// still valid at `now` plus the skew; otherwise [`RefreshPlan::FreshExchange`].
    pub fn refresh_plan(&self, key: &CacheKey, now: SystemTime) -> RefreshPlan {
        if !self.resubmit_id_jag {
            return RefreshPlan::FreshExchange;
        }
        let usable_until = now.checked_add(self.id_jag_skew);
        match self
            .entries
            .get(key)
            .and_then(|token| token.id_jag.as_ref())
        {
            Some((id_jag, expires_at)) if usable_until.is_some_and(|t| t < *expires_at) => {
                RefreshPlan::ResubmitIdJag(id_jag.clone())
            }
            _ => RefreshPlan::FreshExchange,
        }
    }

    /// Caches `token` under `key`, returning the token it replaces. When the cache is full and
    /// `key` is new, the entry that is dead soonest is evicted to make room (the new token
    /// itself is kept: the caller is about to use it).
    pub fn insert(&mut self, key: CacheKey, token: CachedToken) -> Option<CachedToken> {
        self.insert_tracked(key, token).replaced
    }

    /// [`TokenCache::insert`], telling which key it stored and which it evicted.
    pub(crate) fn insert_tracked(&mut self, key: CacheKey, token: CachedToken) -> Inserted {
        self.entries.insert(key, token, self.max_entries)
    }

    /// One step of the sweep: removes the entry that is dead soonest if it is dead at `now`.
    pub(crate) fn pop_dead(&mut self, now: SystemTime) -> Option<Arc<CacheKey>> {
        self.entries.pop_dead(now)
    }

    /// Removes the entry under `key` if it is dead at `now` (its token and ID-JAG expired).
    pub(crate) fn remove_if_dead(
        &mut self,
        key: &CacheKey,
        now: SystemTime,
    ) -> Option<Arc<CacheKey>> {
        self.entries.remove_if_dead(key, now)
    }

    /// Drops the token under `key`, for example after the MCP server answered 401 with it
    /// (decisions.md D18). Returns it.
    pub fn remove(&mut self, key: &CacheKey) -> Option<CachedToken> {
        self.entries.remove(key)
    }

    /// Drops every token expired at `now`, whatever its ID-JAG; returns how many. Walks the
    /// whole cache: an explicit clean-up.
    pub fn remove_expired(&mut self, now: SystemTime) -> usize {
        self.entries.retain(|token| now < token.expires_at)
    }

    /// The number of entries, expired ones included until removed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;

    fn key(principal: Principal) -> CacheKey {
        CacheKey::new(
            "https://as",
            "https://mcp",
            "c",
            &Scope::parse("b a"),
            principal,
        )
    }

    fn at(secs: u64) -> SystemTime {
        crate::json::time_from_numeric_date(secs)
    }

    #[test]
    fn lead_longer_than_lifetime_is_always_due() {
        let mut cache = TokenCache::new().with_refresh_lead(Duration::from_secs(1_000));
        let k = key(Principal::key("k"));
        cache.insert(k.clone(), CachedToken::new(AccessToken::new("t"), at(100)));
        assert!(matches!(cache.lookup(&k, at(0)), Lookup::DueForRefresh(_)));
    }

    #[test]
    fn shrinking_the_bound_evicts() {
        let mut cache = TokenCache::new();
        for (i, exp) in [(0, 30), (1, 10), (2, 20)] {
            cache.insert(
                key(Principal::key(format!("{i}"))),
                CachedToken::new(AccessToken::new("t"), at(exp)),
            );
        }
        let cache = cache.with_max_entries(2);
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.lookup(&key(Principal::key("1")), at(0)),
            Lookup::Missing
        );
        assert_eq!(TokenCache::new().with_max_entries(0).max_entries(), 1);
    }
}
