//! The authorizer's decisions, sans-IO: which token a request carries, when a flow runs, who
//! waits for whom, and what an MCP server's 401 or 403 means (decisions.md D13, D16 to D20);
//! what it keeps meanwhile is bounded (D26, `ledger.rs`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use http::{HeaderMap, StatusCode};

use super::config::{AuthorizerConfig, AuthorizerGrant, User};
use super::ledger::{AuthorizerStats, Ledger, NoStore};
use super::slot::{Landing, Slot, SlotFuture};
use crate::cache::{CacheKey, CachedToken, Lookup, Principal, RefreshPlan, TokenCache, TokenStore};
use crate::challenge::{AuthScheme, bearer_challenges};
use crate::grant::SubjectToken;
use crate::renewal_hook::{Renewing, renewal_of};
use crate::{
    AccessToken, Authorization, Discovery, EnterpriseAuth, EnterpriseConfig, Error, ErrorCode,
    GrantSource, OAuthError, Purpose, Scope, Start,
};

/// Single-flight key: one flow at a time per principal and requested scope.
type FlightKey = (Principal, Scope);

struct State {
    /// The tokens and the per-principal records, bounded together (decisions.md D26).
    ledger: Ledger,
    discovery: Option<Discovery>,
    /// The last challenge of the MCP server, to start the next cold flow from (no second probe).
    challenge: Option<HeaderMap>,
    /// The flights in progress: each entry goes when its flight lands or is dropped.
    flights: HashMap<FlightKey, Arc<Slot>>,
}

impl State {
    /// Every operation's first step: a share of the sweep, and the time for the store
    /// (decisions.md D26).
    fn sweep(&mut self, store: &dyn TokenStore, now: SystemTime) {
        self.ledger.sweep(now);
        store.expire(now);
    }
}

struct Shared {
    config: AuthorizerConfig,
    store: Arc<dyn TokenStore>,
    state: Mutex<State>,
}

/// Attaches valid tokens to MCP requests, for one MCP server and any number of users.
///
/// The decisions live here; a driver (`xaa-ureq`, `xaa-reqwest`, or your own) runs the flows
/// it is handed and sends the requests. Cheap to clone: clones share the cache.
///
/// * [`Authorizer::acquire`] answers with a token, a flow to run, or a flight to wait for:
///   callers needing a token for the same principal and scope share one flow
///   (decisions.md D19), and a caller holding a still-valid token never waits for a refresh.
/// * A token within [`AuthorizerConfig::refresh_lead`] of expiry is handed out together with a
///   refresh flow, so it is replaced before it expires, not after a failed call.
/// * [`Authorizer::on_response`] reads the MCP server's answer: a 401 drops the token and
///   allows one fresh exchange per token; a 403 `insufficient_scope` widens the scope, at most
///   [`AuthorizerConfig::max_step_ups`] times (decisions.md D18); a new `resource_metadata`
///   drops the cached discovery (D20).
#[derive(Clone)]
pub struct Authorizer {
    shared: Arc<Shared>,
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorizer")
            .field("server_url", &self.shared.config.server_url)
            .finish_non_exhaustive()
    }
}

/// What [`Authorizer::acquire`] decided.
#[derive(Debug)]
#[must_use]
pub enum Acquired {
    /// Attach this token.
    Token(AccessToken),
    /// Attach this token now, and run this flight in the background: the token is due for
    /// refresh but still valid.
    TokenAndRefresh(AccessToken, Flight),
    /// Run this flight, then land it; its token is yours.
    Run(Flight),
    /// Another caller runs the flight for this user and scope: wait for it.
    Wait(Waiter),
}

/// A flow to run on behalf of the authorizer. Land it with [`Flight::land`]; dropping it
/// unlanded releases its waiters, who then try again.
#[must_use = "run the flow and land the flight"]
pub struct Flight {
    flow: Option<EnterpriseAuth>,
    /// The cache key its token is for, when the authorizer knows it (it has a discovery).
    cache_key: Option<CacheKey>,
    ticket: Ticket,
}

impl fmt::Debug for Flight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flight")
            .field("principal", &self.ticket.key.0)
            .finish_non_exhaustive()
    }
}

struct Ticket {
    shared: Arc<Shared>,
    key: FlightKey,
    slot: Arc<Slot>,
    user: User,
    subject_refreshed: bool,
    landed: bool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.landed {
            let mut state = lock(&self.shared.state);
            remove_flight(&mut state, &self.key, &self.slot);
            drop(state);
            self.slot.land(Landing::Abandoned);
        }
    }
}

fn remove_flight(state: &mut State, key: &FlightKey, slot: &Arc<Slot>) {
    if state.flights.get(key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
        state.flights.remove(key);
    }
}

/// How a landed flight ended.
#[derive(Debug)]
#[must_use]
pub enum Landed {
    /// The new token.
    Token(AccessToken),
    /// The IdP refused the subject token and the user's [`SubjectTokenSource`] supplied a
    /// fresh one: run this flight too (once).
    ///
    /// [`SubjectTokenSource`]: super::SubjectTokenSource
    Retry(Box<Flight>),
    /// The flow failed.
    Failed(Error),
}

/// Waits for a flight another caller runs.
#[derive(Debug)]
pub struct Waiter {
    slot: Arc<Slot>,
}

/// What a [`Waiter`] learns.
#[derive(Debug)]
pub enum Waited {
    /// The flight's token.
    Token(AccessToken),
    /// The flight's error.
    Failed(Error),
    /// The flight was abandoned: call [`Authorizer::acquire`] again.
    Again,
}

impl From<Landing> for Waited {
    fn from(landing: Landing) -> Self {
        match landing {
            Landing::Finished(Ok(token)) => Waited::Token(token),
            Landing::Finished(Err(error)) => Waited::Failed(error),
            Landing::Abandoned => Waited::Again,
        }
    }
}

impl Waiter {
    /// Blocks the thread until the flight lands.
    pub fn wait_blocking(self) -> Waited {
        self.slot.wait_blocking().into()
    }

    /// Waits on any executor until the flight lands.
    pub async fn wait(self) -> Waited {
        SlotFuture(&self.slot).await.into()
    }
}

/// What to do with the MCP server's answer (decisions.md D18).
#[derive(Debug)]
#[must_use]
pub enum Verdict {
    /// Hand the response to the application.
    Accept,
    /// Acquire a token again and resend the request.
    Retry,
    /// Stop: the server refuses even a fresh token.
    Fail(Error),
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every update of State is a single assignment or map operation: no torn invariants.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Authorizer {
    /// An authorizer keeping its tokens in memory only: in its cache, bounded by
    /// [`AuthorizerConfig::max_entries`] (decisions.md D26). Nothing is persisted.
    pub fn new(config: AuthorizerConfig) -> Self {
        Self::with_store(config, Arc::new(NoStore))
    }

    /// An authorizer persisting tokens through `store` (decisions.md D21). Its cache is bounded
    /// by [`AuthorizerConfig::max_entries`]; the store keeps its own bound (a
    /// [`MemoryTokenStore`](crate::cache::MemoryTokenStore)'s capacity, 1024 by default like
    /// the cache's).
    pub fn with_store(config: AuthorizerConfig, store: Arc<dyn TokenStore>) -> Self {
        let cache = TokenCache::new()
            .with_refresh_lead(config.refresh_lead)
            .with_resubmit_id_jag(config.resubmit_id_jag)
            .with_max_entries(config.max_entries);
        Self {
            shared: Arc::new(Shared {
                config,
                store,
                state: Mutex::new(State {
                    ledger: Ledger::new(cache),
                    discovery: None,
                    challenge: None,
                    flights: HashMap::new(),
                }),
            }),
        }
    }

    /// What the authorizer holds in memory now, against the bounds of decisions.md D26: for
    /// monitoring, and for tests that hold it to its bounds.
    #[must_use]
    pub fn stats(&self) -> AuthorizerStats {
        let state = lock(&self.shared.state);
        state.ledger.stats(state.flights.len())
    }

    /// The configuration.
    pub fn config(&self) -> &AuthorizerConfig {
        &self.shared.config
    }

    /// The cached discovery, when there is one.
    pub fn discovery(&self) -> Option<Discovery> {
        lock(&self.shared.state).discovery.clone()
    }

    /// Seeds the authorizer with the MCP server's 401 or 403 received without a token, so the
    /// first flow starts from it instead of probing (decisions.md D6).
    pub fn seed_challenge(&self, headers: &HeaderMap) {
        lock(&self.shared.state).challenge = Some(headers.clone());
    }

    /// Decides how `user` gets a token at `now`.
    pub fn acquire(&self, user: &User, now: SystemTime) -> Result<Acquired, Error> {
        let mut state = lock(&self.shared.state);
        state.sweep(&*self.shared.store, now);
        let key = self.flight_key(&state, user);
        if let Some(cache_key) = self.cache_key(&state, &key) {
            if !matches!(
                state.ledger.cache().lookup(&cache_key, now),
                Lookup::Fresh(_) | Lookup::DueForRefresh(_)
            ) {
                // On access: an entry whose token and ID-JAG are both expired goes now.
                state.ledger.drop_if_dead(&cache_key, now);
                if let Some(stored) = self.shared.store.load(&cache_key)
                    && stored.dead_at() > now
                {
                    state.ledger.cache_token(cache_key.clone(), stored);
                }
            }
            match state.ledger.cache().lookup(&cache_key, now) {
                Lookup::Fresh(token) => {
                    tracing::trace!(event = "cache_hit", "token reused");
                    return Ok(Acquired::Token(token.access_token.clone()));
                }
                Lookup::DueForRefresh(token) => {
                    let token = token.access_token.clone();
                    if state.flights.contains_key(&key) {
                        return Ok(Acquired::Token(token));
                    }
                    tracing::debug!(
                        event = "refresh",
                        "token due for refresh; refreshing ahead of expiry"
                    );
                    return Ok(match self.start_flight(&mut state, key, user, now) {
                        Ok(flight) => Acquired::TokenAndRefresh(token, flight),
                        Err(error) => {
                            // The token is still valid: use it; the error returns at expiry.
                            tracing::debug!(event = "refresh_failed", error = %error, "cannot refresh yet");
                            Acquired::Token(token)
                        }
                    });
                }
                Lookup::Expired | Lookup::Missing => {}
            }
        }
        if let Some(slot) = state.flights.get(&key) {
            return Ok(Acquired::Wait(Waiter {
                slot: Arc::clone(slot),
            }));
        }
        self.start_flight(&mut state, key, user, now)
            .map(Acquired::Run)
    }

    /// The cache key of `user`'s token for the scope now required, when the authorizer knows
    /// it (it has discovered the MCP server): what a driver removes from a shared store when
    /// the MCP server refuses that token.
    pub fn cache_key_for(&self, user: &User) -> Option<CacheKey> {
        let state = lock(&self.shared.state);
        let key = self.flight_key(&state, user);
        self.cache_key(&state, &key)
    }

    /// The cached token under `key` while it is usable at `now`: what a driver saves in a
    /// shared store once a flight landed.
    pub fn cached_token(&self, key: &CacheKey, now: SystemTime) -> Option<CachedToken> {
        let state = lock(&self.shared.state);
        state.ledger.cache().lookup(key, now).usable().cloned()
    }

    fn flight_key(&self, state: &State, user: &User) -> FlightKey {
        let scope = state
            .ledger
            .required_scope(&user.principal)
            .cloned()
            .or_else(|| self.shared.config.scope.clone())
            .unwrap_or_default()
            .canonical();
        (user.principal.clone(), scope)
    }

    fn cache_key(&self, state: &State, key: &FlightKey) -> Option<CacheKey> {
        let discovery = state.discovery.as_ref()?;
        Some(CacheKey::new(
            discovery.authorization_server.issuer.clone(),
            discovery.resource(),
            self.shared
                .config
                .authorization_server
                .credentials
                .client_id
                .clone(),
            &key.1,
            key.0.clone(),
        ))
    }

    fn start_flight(
        &self,
        state: &mut State,
        key: FlightKey,
        user: &User,
        now: SystemTime,
    ) -> Result<Flight, Error> {
        let flow = self.build_flow(state, &key, user, now, false)?;
        let cache_key = self.cache_key(state, &key);
        let slot = Arc::new(Slot::default());
        state.flights.insert(key.clone(), Arc::clone(&slot));
        Ok(Flight {
            flow: Some(flow),
            cache_key,
            ticket: Ticket {
                shared: Arc::clone(&self.shared),
                key,
                slot,
                user: user.clone(),
                subject_refreshed: false,
                landed: false,
            },
        })
    }

    fn build_flow(
        &self,
        state: &State,
        key: &FlightKey,
        user: &User,
        now: SystemTime,
        force_fresh_subject: bool,
    ) -> Result<EnterpriseAuth, Error> {
        let config = &self.shared.config;
        let mut renewal = None;
        let grant = match &config.grant {
            AuthorizerGrant::Enterprise(idp) => {
                let (subject, renewing) =
                    fresh_subject(user, now, &config.policy, force_fresh_subject)?;
                renewal = renewing;
                GrantSource::Enterprise {
                    idp: idp.clone(),
                    subject,
                }
            }
            AuthorizerGrant::Assertion(source) => GrantSource::Assertion(
                source
                    .assertion(now)
                    .ok_or_else(|| Error::Config("the assertion source has no assertion".into()))?,
            ),
        };
        let enterprise = EnterpriseConfig {
            grant,
            authorization_server: config.authorization_server.clone(),
            scope: (!key.1.is_empty()).then(|| key.1.clone()),
            policy: config.policy.clone(),
            dpop: config.dpop.clone(),
            renewal,
        };
        let start = match state.discovery.clone().filter(|d| d.is_fresh(now)) {
            Some(discovery) => {
                let resubmit = self.cache_key(state, key).map(|cache_key| {
                    (
                        state.ledger.cache().refresh_plan(&cache_key, now),
                        cache_key,
                    )
                });
                match resubmit {
                    Some((RefreshPlan::ResubmitIdJag(id_jag), cache_key)) => {
                        let expires_at = state
                            .ledger
                            .cache()
                            .lookup(&cache_key, now)
                            .usable()
                            .and_then(|t| t.id_jag.as_ref().map(|(_, at)| *at))
                            .unwrap_or(now);
                        Start::Resubmit {
                            discovery,
                            id_jag: crate::grant::IssuedIdJag::resubmitted(id_jag, expires_at),
                        }
                    }
                    _ => Start::Cached(discovery),
                }
            }
            None => match &state.challenge {
                Some(headers) => Start::Challenge {
                    server_url: config.server_url.clone(),
                    headers: headers.clone(),
                },
                None => Start::ServerUrl(config.server_url.clone()),
            },
        };
        EnterpriseAuth::new(enterprise, start)
    }

    /// Reads the MCP server's answer to a request that carried `used` (decisions.md D18, D20).
    pub fn on_response(
        &self,
        user: &User,
        used: &AccessToken,
        status: StatusCode,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Verdict {
        let mut state = lock(&self.shared.state);
        state.sweep(&*self.shared.store, now);
        let key = self.flight_key(&state, user);
        let challenge = bearer_challenges(headers)
            .ok()
            .and_then(|cs| cs.into_iter().find(|c| c.scheme == AuthScheme::Bearer));
        match status {
            StatusCode::UNAUTHORIZED => {
                if let Some(pointer) = challenge
                    .as_ref()
                    .and_then(|c| c.resource_metadata.as_deref())
                    && state
                        .discovery
                        .as_ref()
                        .is_some_and(|d| d.resource_metadata_url != pointer)
                {
                    tracing::debug!(
                        event = "discovery_dropped",
                        "challenge names new resource metadata; discovering again"
                    );
                    state.discovery = None;
                }
                if state.discovery.is_none() {
                    state.challenge = Some(headers.clone());
                }
                if state.ledger.is_retry(&key.0, &key.1, used) {
                    tracing::debug!(
                        event = "rejected",
                        status = 401,
                        "a token fresh from the exchange was refused; not retrying, at most one fresh exchange per refused token"
                    );
                    return Verdict::Fail(Error::ResourceServerRejected {
                        status: 401,
                        error: challenge.and_then(|c| c.error.map(OAuthError::new)),
                    });
                }
                if self.drop_token(&mut state, &key, used) {
                    state.ledger.refuse(&key.0, &key.1);
                }
                tracing::debug!(
                    event = "rejected",
                    status = 401,
                    "token refused; one fresh exchange"
                );
                Verdict::Retry
            }
            StatusCode::FORBIDDEN
                if challenge
                    .as_ref()
                    .is_some_and(|c| c.error == Some(ErrorCode::InsufficientScope)) =>
            {
                let steps = state.ledger.step_up(&user.principal);
                if steps > self.shared.config.max_step_ups {
                    tracing::debug!(
                        event = "rejected",
                        status = 403,
                        "step-up limit reached; the scope is not widened further"
                    );
                    return Verdict::Fail(Error::ResourceServerRejected {
                        status: 403,
                        error: Some(OAuthError::new(ErrorCode::InsufficientScope)),
                    });
                }
                let granted = self
                    .cache_key(&state, &key)
                    .and_then(|k| {
                        state
                            .ledger
                            .cache()
                            .lookup(&k, now)
                            .usable()
                            .and_then(|t| t.scope.clone())
                    })
                    .unwrap_or_default();
                let wanted = challenge.and_then(|c| c.scope).unwrap_or_default();
                let scope = key.1.union(&granted).union(&wanted);
                tracing::debug!(event = "step_up", scope = %scope, "insufficient_scope; asking for the wider scope (RFC 6750 section 3.1)");
                state.ledger.require_scope(&user.principal, scope);
                Verdict::Retry
            }
            _ => {
                if status.is_success() {
                    // The step-ups in a row end; the server took this token: a later 401 on it
                    // (a revocation) earns its own fresh exchange (decisions.md D18).
                    state.ledger.accepted(&key.0, &key.1, used);
                }
                Verdict::Accept
            }
        }
    }

    /// Drops `used` from the user's tokens, under whatever key (the discovery that keyed it
    /// may be gone already), from the cache and the store; a token the cache already let go
    /// (expired, or evicted for room) still counts (decisions.md D26). Returns whether it was
    /// the user's current token for the scope now required: a 401 for a token already
    /// replaced (by a refresh, a concurrent 401 or a step-up to another scope), or not the
    /// user's, must not mark the user's next token as the one retry (decisions.md D18).
    fn drop_token(&self, state: &mut State, key: &FlightKey, used: &AccessToken) -> bool {
        let Some((scope, cached)) = state.ledger.drop_token(&key.0, used) else {
            return false;
        };
        let stored = match cached {
            Some(cache_key) => Some((*cache_key).clone()),
            None => self.cache_key(state, &(key.0.clone(), scope.clone())),
        };
        if let Some(stored) = stored {
            self.shared.store.remove(&stored);
        }
        scope == key.1
    }
}

/// The user's subject token, fresh: an expired ID token (peeked, with the policy's skew) is
/// replaced through the source, or renewed inside the flow when the source offers a session
/// renewal (then the token returned is only a placeholder the flow replaces with the renewed
/// ID token), or the user must sign in again (decisions.md D17).
fn fresh_subject(
    user: &User,
    now: SystemTime,
    policy: &crate::Policy,
    force_fresh: bool,
) -> Result<(SubjectToken, Option<Renewing>), Error> {
    let expired = |subject: &SubjectToken| {
        subject
            .expires_at()
            .is_some_and(|exp| exp <= crate::jwt::saturating_add(now, policy.clock_skew))
    };
    let current = if force_fresh {
        None
    } else {
        user.subject.subject_token(now).filter(|s| !expired(s))
    };
    if let Some(subject) = current {
        return Ok((subject, None));
    }
    if let Some(subject) = user.subject.refresh(now).filter(|s| !expired(s)) {
        return Ok((subject, None));
    }
    match renewal_of(&*user.subject, now) {
        Some(renewal) => Ok((renewal.placeholder_subject(), Some(renewal))),
        None => Err(reauthentication("no fresh subject token is available")),
    }
}

fn reauthentication(description: &str) -> Error {
    Error::ReauthenticationRequired {
        purpose: Purpose::TokenExchange,
        status: 0,
        error: OAuthError::new(ErrorCode::InvalidGrant).with_description(description),
    }
}

impl Flight {
    /// The flow to run. Call once, then land the flight with its result.
    pub fn take_flow(&mut self) -> Option<EnterpriseAuth> {
        self.flow.take()
    }

    /// The cache key of the token this flight obtains, when the authorizer knows it (it has
    /// discovered the MCP server): the key a store shared by several replicas is asked for,
    /// and its lease taken on, before the flow runs. A first flight, before any discovery,
    /// has none.
    pub fn cache_key(&self) -> Option<&CacheKey> {
        self.cache_key.as_ref()
    }

    /// The user the flight obtains a token for.
    #[cfg(feature = "driver")]
    pub(crate) fn user(&self) -> &User {
        &self.ticket.user
    }

    /// Lands the flight with a token found in a shared store at `now`, without running its
    /// flow: the token is cached and the waiters get it. Only a token that is fresh (not
    /// within [`AuthorizerConfig::refresh_lead`] of its expiry) and bound to this authorizer's
    /// DPoP key if it has one, unbound otherwise, is adopted; otherwise, or when the flight
    /// has no cache key, the flight comes back to be run.
    ///
    /// # Errors
    ///
    /// The flight itself, unlanded, when the token is not adopted.
    pub fn adopt(mut self, token: CachedToken, now: SystemTime) -> Result<AccessToken, Box<Self>> {
        let Some(cache_key) = self.cache_key.clone() else {
            return Err(Box::new(self));
        };
        let shared = Arc::clone(&self.ticket.shared);
        let fresh_until = crate::jwt::saturating_add(now, shared.config.refresh_lead);
        // A token bound to another replica's DPoP key is of no use here (RFC 9449 section 6).
        let key_here = shared.config.dpop.as_ref().map(|binding| binding.jkt());
        if token.expires_at <= fresh_until || token.access_token.dpop_jkt() != key_here {
            return Err(Box::new(self));
        }
        let access_token = token.access_token.clone();
        let mut state = lock(&shared.state);
        state.ledger.cache_token(cache_key, token);
        drop(state);
        tracing::debug!(event = "store_hit", "token adopted from the shared store");
        self.finish(Ok(access_token.clone()));
        Ok(access_token)
    }

    /// Lands the flight with the flow's result at `now`: caches the token, wakes the waiters.
    pub fn land(mut self, result: Result<Authorization, Error>, now: SystemTime) -> Landed {
        let shared = Arc::clone(&self.ticket.shared);
        let authorizer = Authorizer { shared };
        match result {
            Ok(authorization) => {
                let token = authorization.access_token.clone();
                authorizer.store(&self.ticket, authorization, now);
                self.finish(Ok(token.clone()));
                Landed::Token(token)
            }
            Err(error) => {
                // The IdP refused the subject token at the exchange (not a refused refresh
                // token, which ends the session): one more flow with a fresh subject.
                let refused = matches!(
                    &error,
                    Error::ReauthenticationRequired { status, purpose, .. }
                        if *status != 0
                            && matches!(purpose, Purpose::TokenExchange | Purpose::SamlRefreshExchange)
                );
                if refused && !self.ticket.subject_refreshed {
                    let state = lock(&authorizer.shared.state);
                    let rebuilt = authorizer.build_flow(
                        &state,
                        &self.ticket.key,
                        &self.ticket.user,
                        now,
                        true,
                    );
                    drop(state);
                    if let Ok(flow) = rebuilt {
                        tracing::debug!(
                            event = "subject_refreshed",
                            "IdP refused the subject token; retrying with a fresh one"
                        );
                        self.flow = Some(flow);
                        self.ticket.subject_refreshed = true;
                        return Landed::Retry(Box::new(self));
                    }
                }
                self.finish(Err(error.clone()));
                Landed::Failed(error)
            }
        }
    }

    fn finish(&mut self, outcome: Result<AccessToken, Error>) {
        let ticket = &mut self.ticket;
        ticket.landed = true;
        let mut state = lock(&ticket.shared.state);
        remove_flight(&mut state, &ticket.key, &ticket.slot);
        drop(state);
        ticket.slot.land(Landing::Finished(outcome));
    }
}

impl Authorizer {
    fn store(&self, ticket: &Ticket, authorization: Authorization, now: SystemTime) {
        let mut state = lock(&self.shared.state);
        state.sweep(&*self.shared.store, now);
        if let Some(refresh_token) = authorization.idp_refresh_token.clone() {
            ticket.user.subject.refresh_token_rotated(refresh_token);
        }
        state.discovery = Some(authorization.discovery.clone());
        state.challenge = None;
        let key = ticket.key.clone();
        let Some(cache_key) = self.cache_key(&state, &key) else {
            return;
        };
        let mut cached =
            CachedToken::new(authorization.access_token.clone(), authorization.expires_at)
                .with_token_type(authorization.token_type.clone())
                .with_issued_at(now);
        if let Some(scope) = authorization.scope.clone() {
            cached = cached.with_scope(scope);
        }
        // The ID-JAG is kept only for its re-submission (decisions.md D13): without it, an
        // ID-JAG in memory is a credential and a kilobyte that serve nothing (D26).
        if let Some(issued) = &authorization.id_jag
            && self.shared.config.resubmit_id_jag
        {
            cached = cached.with_id_jag(issued.id_jag.clone(), issued.expires_at);
        }
        self.shared.store.save(&cache_key, &cached);
        state.ledger.land(cache_key, cached);
    }
}
