//! A pure token cache (decisions.md D13, D19, D21).
//!
//! [`TokenCache`] decides what is usable at a `now` the caller passes in: it never reads a clock,
//! takes no lock and does no I/O. Concurrency (single-flight per key, decisions.md D19) belongs
//! to the authorizer that owns the cache; persistence belongs to the application, through a
//! [`TokenStore`] (decisions.md D21).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use xaa::cache::{CacheKey, CachedToken, Lookup, Principal, RefreshPlan, TokenCache};
//! use xaa::{AccessToken, Scope};
//!
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let key = CacheKey::new(
//!     "https://as.example",
//!     "https://mcp.example/mcp",
//!     "client-at-as",
//!     &Scope::parse("tools:read files:write"),
//!     Principal::subject("https://idp.example", "alice"),
//! );
//! let mut cache = TokenCache::new();
//! cache.insert(
//!     key.clone(),
//!     CachedToken::new(AccessToken::new("at"), now + Duration::from_secs(3600)),
//! );
//! assert!(matches!(cache.lookup(&key, now), Lookup::Fresh(_)));
//! // Due within the refresh lead (60 s by default), still usable until it expires.
//! let due = now + Duration::from_secs(3600 - 60);
//! assert!(matches!(cache.lookup(&key, due), Lookup::DueForRefresh(_)));
//! // decisions.md D13: by default a new access token starts with a fresh token exchange.
//! assert_eq!(cache.refresh_plan(&key, due), RefreshPlan::FreshExchange);
//! ```

use std::collections::HashMap;
use std::mem;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize};

use crate::{AccessToken, IdJag, Scope};

/// Who a cached token acts for (decisions.md D19): two principals never share a token, so a
/// gateway serving many users never hands one user's token to another.
///
/// Serialized externally tagged: `{"subject":{"issuer":..,"subject":..}}` or `{"key":..}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Principal {
    /// A user of the enterprise IdP: its issuer and the subject's `sub` (as peeked from the ID
    /// token). The issuer is part of the identity: `sub` is unique only per issuer.
    Subject {
        /// The IdP's issuer identifier.
        issuer: String,
        /// The subject's `sub` at that IdP.
        subject: String,
    },
    /// A key the caller chose (a session id, a workload name, ...).
    Key(String),
}

impl Principal {
    /// The user `subject` (`sub`) of the IdP `issuer`.
    pub fn subject(issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        Self::Subject {
            issuer: issuer.into(),
            subject: subject.into(),
        }
    }

    /// A caller-chosen key.
    pub fn key(key: impl Into<String>) -> Self {
        Self::Key(key.into())
    }
}

/// What an access token is cached under (decisions.md D19): the authorization server that
/// issued it, the resource it is for, the client id at that server, the scope and the
/// principal.
///
/// The scope is kept in canonical (sorted) order, so `"b a"` and `"a b"` make the same key. No
/// field is a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CacheKey {
    authorization_server: String,
    resource: String,
    client_id: String,
    #[serde(deserialize_with = "canonical_scope")]
    scope: Scope,
    principal: Principal,
}

impl CacheKey {
    /// The key of the token `authorization_server` (its issuer identifier) issues to
    /// `client_id` for `resource`, with `scope`, on behalf of `principal`.
    pub fn new(
        authorization_server: impl Into<String>,
        resource: impl Into<String>,
        client_id: impl Into<String>,
        scope: &Scope,
        principal: Principal,
    ) -> Self {
        Self {
            authorization_server: authorization_server.into(),
            resource: resource.into(),
            client_id: client_id.into(),
            scope: scope.canonical(),
            principal,
        }
    }

    /// The authorization server's issuer identifier.
    pub fn authorization_server(&self) -> &str {
        &self.authorization_server
    }

    /// The resource identifier (RFC 9728) of the MCP server.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The client id at the authorization server.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The requested scope, in canonical order.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Who the token acts for.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

/// An access token and what is known about it. `Debug` shows no token text: the secrets are
/// redacted newtypes.
///
/// Serializable for a [`TokenStore`]; times are whole seconds since the Unix epoch (rounded
/// down, so a restored token never lives longer than it did).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CachedToken {
    /// The access token.
    pub access_token: AccessToken,
    /// The `token_type` it was issued with (`Bearer`).
    pub token_type: String,
    /// When it expires.
    #[serde(with = "epoch_seconds")]
    pub expires_at: SystemTime,
    /// The scope granted, when the server said or it was inferred (decisions.md D8).
    pub scope: Option<Scope>,
    /// The ID-JAG it was obtained with and the ID-JAG's own expiry, kept only for the opt-in
    /// re-submission of decisions.md D13.
    #[serde(with = "id_jag_with_expiry", default)]
    pub id_jag: Option<(IdJag, SystemTime)>,
    /// When it was issued, when known: the refresh lead is then at most half its lifetime, so
    /// a token shorter-lived than the lead is not refreshed on every use.
    #[serde(with = "optional_epoch_seconds", default)]
    pub issued_at: Option<SystemTime>,
}

impl CachedToken {
    /// A `Bearer` token expiring at `expires_at`, without scope or ID-JAG.
    pub fn new(access_token: AccessToken, expires_at: SystemTime) -> Self {
        Self {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_at,
            scope: None,
            id_jag: None,
            issued_at: None,
        }
    }

    /// Sets when the token was issued.
    pub fn with_issued_at(mut self, issued_at: SystemTime) -> Self {
        self.issued_at = Some(issued_at);
        self
    }

    /// Sets the `token_type`.
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = token_type.into();
        self
    }

    /// Sets the granted scope.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Keeps the ID-JAG the token was obtained with, and when the ID-JAG expires.
    pub fn with_id_jag(mut self, id_jag: IdJag, expires_at: SystemTime) -> Self {
        self.id_jag = Some((id_jag, expires_at));
        self
    }
}

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
/// on the ID-JAG's expiry, at most 1024 entries.
#[derive(Clone, Debug)]
pub struct TokenCache {
    entries: HashMap<CacheKey, CachedToken>,
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
            entries: HashMap::new(),
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
    /// soonest expiry first.
    pub fn with_max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries.max(1);
        while self.entries.len() > self.max_entries {
            self.evict_one();
        }
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
    /// `key` is new, the entry that expires first is evicted to make room (the new token itself
    /// is kept: the caller is about to use it).
    pub fn insert(&mut self, key: CacheKey, token: CachedToken) -> Option<CachedToken> {
        if let Some(slot) = self.entries.get_mut(&key) {
            return Some(mem::replace(slot, token));
        }
        if self.entries.len() >= self.max_entries {
            self.evict_one();
        }
        self.entries.insert(key, token);
        None
    }

    /// Drops the token under `key`, for example after the MCP server answered 401 with it
    /// (decisions.md D18). Returns it.
    pub fn remove(&mut self, key: &CacheKey) -> Option<CachedToken> {
        self.entries.remove(key)
    }

    /// Drops every token expired at `now`; returns how many.
    pub fn remove_expired(&mut self, now: SystemTime) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, token| now < token.expires_at);
        before - self.entries.len()
    }

    /// The number of entries, expired ones included until removed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Evicts the entry that expires first.
    fn evict_one(&mut self) {
        let first = self
            .entries
            .iter()
            .min_by_key(|(_, token)| token.expires_at)
            .map(|(key, _)| key.clone());
        if let Some(key) = first {
            self.entries.remove(&key);
        }
    }
}

/// Where cached tokens persist (decisions.md D21): the application's choice. The in-memory
/// default is [`MemoryTokenStore`]; [`CacheKey`] and [`CachedToken`] implement serde for stores
/// that write elsewhere (files with 0600 permissions, a keychain, a database).
///
/// The methods are infallible: a store that cannot load or save should behave as if the token
/// were absent, and report the failure through its own logging.
pub trait TokenStore: Send + Sync {
    /// The token saved under `key`, if any. It may be expired: judge it with a [`TokenCache`].
    fn load(&self, key: &CacheKey) -> Option<CachedToken>;

    /// Saves `token` under `key`, replacing any previous one.
    fn save(&self, key: &CacheKey, token: &CachedToken);

    /// Forgets the token under `key`.
    fn remove(&self, key: &CacheKey);
}

/// A [`TokenStore`] in process memory: a map behind a mutex, not a global. Unbounded: pair it
/// with a [`TokenCache`] for the bound.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    entries: Mutex<HashMap<CacheKey, CachedToken>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of saved tokens.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is saved.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The map; a panic while it was held cannot leave it half-updated, so a poisoned lock is
    /// taken over.
    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, CachedToken>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, key: &CacheKey) -> Option<CachedToken> {
        self.lock().get(key).cloned()
    }

    fn save(&self, key: &CacheKey, token: &CachedToken) {
        self.lock().insert(key.clone(), token.clone());
    }

    fn remove(&self, key: &CacheKey) {
        self.lock().remove(key);
    }
}

/// Re-canonicalizes a deserialized scope, so a hand-edited store cannot split one key in two.
fn canonical_scope<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Scope, D::Error> {
    Scope::deserialize(deserializer).map(|scope| scope.canonical())
}

/// `SystemTime` as whole seconds since the Unix epoch, rounded down (0 before the epoch).
mod epoch_seconds {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn to_secs(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }

    pub(super) fn from_secs<E: serde::de::Error>(secs: u64) -> Result<SystemTime, E> {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(|| E::custom("time out of range"))
    }

    pub(super) fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(to_secs(*time))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        from_secs(u64::deserialize(d)?)
    }
}

/// `Option<SystemTime>` as `null` or whole seconds since the epoch.
mod optional_epoch_seconds {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => s.serialize_some(&super::epoch_seconds::to_secs(*time)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Option::<u64>::deserialize(d)?
            .map(super::epoch_seconds::from_secs)
            .transpose()
    }
}

/// `Option<(IdJag, SystemTime)>` as `null` or `{"token": .., "expires_at": secs}`.
mod id_jag_with_expiry {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::epoch_seconds;
    use crate::IdJag;

    #[derive(Serialize)]
    struct Borrowed<'a> {
        token: &'a IdJag,
        expires_at: u64,
    }

    #[derive(Deserialize)]
    struct Owned {
        token: IdJag,
        expires_at: u64,
    }

    pub(super) fn serialize<S: Serializer>(
        value: &Option<(IdJag, SystemTime)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .as_ref()
            .map(|(token, expires_at)| Borrowed {
                token,
                expires_at: epoch_seconds::to_secs(*expires_at),
            })
            .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(IdJag, SystemTime)>, D::Error> {
        Option::<Owned>::deserialize(d)?
            .map(|Owned { token, expires_at }| Ok((token, epoch_seconds::from_secs(expires_at)?)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn epoch_seconds_round_down_and_clamp() {
        assert_eq!(
            epoch_seconds::to_secs(at(5) + Duration::from_millis(999)),
            5
        );
        assert_eq!(
            epoch_seconds::to_secs(SystemTime::UNIX_EPOCH - Duration::from_secs(1)),
            0
        );
    }
}
