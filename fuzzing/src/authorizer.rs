//! The `authorizer` target: an `Authorizer` for two users, driven through an arbitrary
//! interleaving of `acquire`, landing or dropping flights, the MCP server's answers to
//! `on_response`, waiting, and the clock moving on; a model kept beside it checks
//! decisions.md D18 and D19. Flights run with [`xaa::drive()`] against the oracle, and the
//! target ends with one MCP request per user through the drivers' loop ([`xaa::driver`]).
//!
//! Input layout: four configuration bytes (step-up limit, re-submission, refresh lead, trust),
//! then operations, each a byte choosing the operation and the bytes it reads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use xaa::authorizer::{
    Acquired, Authorizer, AuthorizerConfig, Flight, Landed, SubjectTokenSource, User, Verdict,
    Waited, Waiter,
};
use xaa::cache::Principal;
use xaa::driver::{
    self, BlockingClient, BlockingTransport, ClientOptions, Limits, Refresh, Transport,
};
use xaa::grant::SubjectToken;
use xaa::{
    AccessToken, Authorization, AuthorizationServer, ClientCredentials, ClientSecret, Discovery,
    DriveError, Error, ErrorCode, HttpRequest, HttpResponse, IdToken, IdentityProvider, OAuthError,
    Purpose,
};

use crate::checks::now;
use crate::input::Input;
use crate::world::{self, AS_ISSUER, IDP_CLIENT, IDP_ISSUER, World};

const MCP_URL: &str = "https://mcp.example.com/mcp";
const AS_CLIENT_ID: &str = "mcp-client";
const MAX_OPERATIONS: usize = 96;

/// A user's subject tokens: a fresh ID token every time one is asked for.
struct Source {
    sub: &'static str,
    issued: AtomicU32,
    refreshes: bool,
}

impl Source {
    fn token(&self, now: SystemTime) -> SubjectToken {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        SubjectToken::IdToken(IdToken::new(world::jws(
            &serde_json::json!({"alg": "ES256", "kid": "idp-key"}),
            &serde_json::json!({
                "iss": IDP_ISSUER, "sub": self.sub, "aud": IDP_CLIENT, "n": n,
                "iat": world::unix(now), "exp": world::unix(now) + 36_000,
            }),
        )))
    }
}

impl SubjectTokenSource for Source {
    fn subject_token(&self, now: SystemTime) -> Option<SubjectToken> {
        Some(self.token(now))
    }

    fn refresh(&self, now: SystemTime) -> Option<SubjectToken> {
        self.refreshes.then(|| self.token(now))
    }
}

/// What the model knows about an access token it saw landed.
#[derive(Debug, Clone)]
struct Issued {
    user: usize,
    expires_at: SystemTime,
}

/// A chain of 401 refusals for one user and scope: the first refusal of the cached token
/// earns one fresh exchange; a 401 on the token that exchange issued fails. `kb1`: the chain
/// started with a 401 that also dropped the discovery (known bug KB1: the token was not
/// dropped, so the chain is not counted by the authorizer).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Chain {
    Refused { kb1: bool },
    RetryToken { token: String, kb1: bool },
}

struct Pending {
    flight: Flight,
    user: usize,
    epoch: u32,
}

/// A refusal of a fresh token (decisions.md D18): no exchange while it is the cached token,
/// that is until it is due for refresh or a token landed under its key replaces it.
struct Refusal {
    epoch: u32,
    refresh_at: SystemTime,
    /// The authorization server and resource the refused token was for (the cache key's).
    target: Option<(String, String)>,
}

fn target(discovery: Option<Discovery>) -> Option<(String, String)> {
    discovery.map(|d| {
        (
            d.authorization_server.issuer.clone(),
            d.resource().to_owned(),
        )
    })
}

struct Model {
    authorizer: Authorizer,
    users: Vec<User>,
    world: World,
    now: SystemTime,
    refresh_lead: Duration,
    max_step_ups: u32,
    pending: Vec<Pending>,
    waiters: Vec<(Waiter, usize)>,
    issued: HashMap<String, Issued>,
    /// Tokens each user acquired (and so may send).
    held: Vec<Vec<AccessToken>>,
    /// Per user: the step-up generation, which names the scope key.
    epoch: Vec<u32>,
    step_ups: Vec<u32>,
    /// Per user and epoch (one scope key): the cached token, the one a 401 can drop.
    current: HashMap<(usize, u32), String>,
    /// Per user and epoch: where the chain of 401 refusals stands (decisions.md D18).
    chain: HashMap<(usize, u32), Chain>,
    /// Tokens that got a 401 `Retry`: they must never be handed out again. The flag: the
    /// authorizer had no discovery after that 401, so it could not drop them (known bug KB1).
    dropped: HashMap<String, bool>,
    refusals: Vec<Option<Refusal>>,
    step_scope: u32,
}

impl Model {
    fn new(input: &mut Input<'_>) -> Self {
        let max_step_ups = input.below(4) as u32;
        let resubmit = input.flag();
        let refresh_lead = Duration::from_secs(*input.pick(&[60, 0, 600, 3599]));
        let pinned = input.flag();
        let idp = IdentityProvider::issuer(
            IDP_ISSUER,
            ClientCredentials::post(IDP_CLIENT, ClientSecret::new("idp-secret")),
        );
        let credentials = ClientCredentials::basic(AS_CLIENT_ID, ClientSecret::new("as-secret"));
        let authorization_server = if pinned {
            AuthorizationServer::pinned(AS_ISSUER, credentials)
        } else {
            AuthorizationServer::discovered(credentials)
        };
        let mut config = AuthorizerConfig::new(MCP_URL, idp, authorization_server)
            .refresh_lead(refresh_lead)
            .resubmit_id_jag(resubmit);
        config.max_step_ups = max_step_ups;
        let authorizer = Authorizer::new(config);
        let users = vec![
            User::new(
                Principal::subject(IDP_ISSUER, "alice"),
                Arc::new(Source {
                    sub: "alice",
                    issued: AtomicU32::new(0),
                    refreshes: true,
                }),
            ),
            User::new(
                Principal::key("bob"),
                Arc::new(Source {
                    sub: "bob",
                    issued: AtomicU32::new(0),
                    refreshes: false,
                }),
            ),
        ];
        let mut world = World::new(MCP_URL, AS_CLIENT_ID);
        world.issuers.insert(0, IDP_ISSUER.to_owned());
        Self {
            authorizer,
            users,
            world,
            now: now(),
            refresh_lead,
            max_step_ups,
            pending: Vec::new(),
            waiters: Vec::new(),
            issued: HashMap::new(),
            held: vec![Vec::new(), Vec::new()],
            epoch: vec![0, 0],
            step_ups: vec![0, 0],
            current: HashMap::new(),
            chain: HashMap::new(),
            dropped: HashMap::new(),
            refusals: vec![None, None],
            step_scope: 0,
        }
    }

    /// A token handed to `user`: theirs (D19), unexpired, never one refused with a retry.
    fn check_handed(&self, user: usize, token: &AccessToken) {
        let Some(issued) = self.issued.get(token.expose_secret()) else {
            panic!("acquire handed out a token that never landed");
        };
        assert_eq!(
            issued.user, user,
            "one user's token handed to another (D19)"
        );
        assert!(
            issued.expires_at > self.now,
            "acquire handed out an expired token"
        );
        assert!(
            !self.dropped.contains_key(token.expose_secret()),
            "a token refused with 401 was handed out again"
        );
    }

    /// A new flight for `user`: no other for the same key in flight (D19 single-flight), and
    /// none during a refusal's quiet period (D18).
    fn check_new_flight(&self, user: usize) {
        let epoch = self.epoch[user];
        assert!(
            !self
                .pending
                .iter()
                .any(|p| p.user == user && p.epoch == epoch),
            "two flights for one user and scope"
        );
        if let Some(refusal) = &self.refusals[user]
            && refusal.epoch == epoch
            && self.now < refusal.refresh_at
            && target(self.authorizer.discovery()) == refusal.target
        {
            panic!("a new exchange after the MCP server refused a fresh token (exchange storm)");
        }
    }

    fn acquire(&mut self, user: usize) {
        let acquired = self.authorizer.acquire(&self.users[user], self.now);
        crate::trace!(
            "t={} acquire user={user}: {acquired:?}",
            world::unix(self.now)
        );
        match acquired {
            Ok(Acquired::Token(token)) => {
                self.check_handed(user, &token);
                self.held[user].push(token);
            }
            Ok(Acquired::TokenAndRefresh(token, flight)) => {
                self.check_handed(user, &token);
                self.check_new_flight(user);
                self.held[user].push(token);
                self.pending.push(Pending {
                    flight,
                    user,
                    epoch: self.epoch[user],
                });
            }
            Ok(Acquired::Run(flight)) => {
                self.check_new_flight(user);
                self.pending.push(Pending {
                    flight,
                    user,
                    epoch: self.epoch[user],
                });
            }
            Ok(Acquired::Wait(waiter)) => {
                assert!(
                    self.pending.iter().any(|p| p.user == user),
                    "told to wait for a flight nobody runs"
                );
                self.waiters.push((waiter, user));
            }
            Err(error) => {
                assert!(!matches!(error, Error::Misuse(_)), "{error}");
            }
        }
    }

    /// Runs a flight's flow against the oracle, or substitutes a failure.
    fn outcome(
        &mut self,
        flight: &mut Flight,
        input: &mut Input<'_>,
    ) -> Result<Authorization, Error> {
        let Some(flow) = flight.take_flow() else {
            panic!("a flight without its flow");
        };
        match input.below(6) {
            3 => Err(Error::OAuth {
                purpose: Purpose::JwtBearer,
                status: 401,
                error: OAuthError::new(ErrorCode::InvalidClient),
            }),
            4 => Err(Error::ReauthenticationRequired {
                purpose: Purpose::TokenExchange,
                status: 400,
                error: OAuthError::new(ErrorCode::InvalidGrant),
            }),
            5 => Err(Error::Transport {
                purpose: Some(Purpose::TokenExchange),
                message: "connection reset".into(),
            }),
            _ => {
                self.world.access_token_lifetime = *input.pick(&[3600, 120, 30, 61, 7200]);
                let now = self.now;
                let world = &mut self.world;
                xaa::drive(
                    flow,
                    || now,
                    |request| Ok::<_, Infallible>(answer(world, request, now)),
                )
                .map_err(|error| match error {
                    DriveError::Flow(error) => error,
                    DriveError::Transport { source, .. } => match source {},
                    other => panic!("a drive error the harness does not know: {other}"),
                })
            }
        }
    }

    fn land(&mut self, input: &mut Input<'_>) {
        if self.pending.is_empty() {
            return;
        }
        let index = input.below(self.pending.len());
        let Pending {
            mut flight,
            user,
            epoch,
        } = self.pending.remove(index);
        let result = self.outcome(&mut flight, input);
        let expires_at = result.as_ref().ok().map(|a| a.expires_at);
        crate::trace!(
            "t={} land user={user} epoch={epoch}: {:?}",
            world::unix(self.now),
            result.as_ref().map(|a| (
                a.access_token.expose_secret().to_owned(),
                world::unix(a.expires_at)
            ))
        );
        let landed = flight.land(result, self.now);
        crate::trace!("  -> {landed:?}");
        match landed {
            Landed::Token(token) => {
                let Some(expires_at) = expires_at else {
                    panic!("a failed flow landed as a token");
                };
                let key = (user, epoch);
                // The quiet period of D18 is the refused token staying in the cache: a token
                // landed under the same key (user, scope and target) replaced it, so it ends.
                if let Some(refusal) = &self.refusals[user]
                    && refusal.epoch == epoch
                    && target(self.authorizer.discovery()) == refusal.target
                {
                    self.refusals[user] = None;
                }
                let landed = token.expose_secret().to_owned();
                if let Some(Chain::Refused { kb1 }) = self.chain.remove(&key) {
                    let token = landed.clone();
                    self.chain.insert(key, Chain::RetryToken { token, kb1 });
                }
                self.current.insert(key, landed);
                self.issued.insert(
                    token.expose_secret().to_owned(),
                    Issued { user, expires_at },
                );
            }
            Landed::Retry(flight) => {
                self.pending.push(Pending {
                    flight: *flight,
                    user,
                    epoch,
                });
            }
            Landed::Failed(error) => {
                assert!(!matches!(error, Error::Misuse(_)), "{error}");
            }
        }
        self.check_waiters(false);
    }

    fn drop_flight(&mut self, input: &mut Input<'_>) {
        if !self.pending.is_empty() {
            let index = input.below(self.pending.len());
            crate::trace!("drop flight {index}");
            drop(self.pending.remove(index));
            self.check_waiters(false);
        }
    }

    /// Waiters whose user has no flight left must have their answer; every answer is
    /// consistent with what landed.
    fn check_waiters(&mut self, all_gone: bool) {
        let waiters = std::mem::take(&mut self.waiters);
        for (waiter, user) in waiters {
            let running = self.pending.iter().any(|p| p.user == user);
            if running && !all_gone {
                self.waiters.push((waiter, user));
                continue;
            }
            let mut future = Box::pin(waiter.wait());
            let mut context = Context::from_waker(Waker::noop());
            match future.as_mut().poll(&mut context) {
                Poll::Ready(Waited::Token(token)) => {
                    let issued = self.issued.get(token.expose_secret());
                    assert!(
                        issued.is_some_and(|i| i.user == user),
                        "a waiter got a token that is not its user's"
                    );
                }
                Poll::Ready(Waited::Failed(_) | Waited::Again) => {}
                Poll::Pending => panic!("a waiter still waits after its flight is gone"),
            }
        }
    }

    fn respond(&mut self, input: &mut Input<'_>) {
        let user = input.below(self.users.len());
        // Usually a token of this user; sometimes another user's (a confused caller).
        let owner = if input.below(8) == 7 { 1 - user } else { user };
        if self.held[owner].is_empty() {
            return;
        }
        let index = input.below(self.held[owner].len());
        let token = self.held[owner][index].clone();
        let status = *input.pick(&[401u16, 403, 200, 500, 404, 403]);
        let mut headers = HeaderMap::new();
        let challenge = match (status, input.below(5)) {
            (401, 0) => Some(r#"Bearer error="invalid_token""#.to_owned()),
            (401, 1) => Some(format!(
                r#"Bearer error="invalid_token", resource_metadata="{}""#,
                self.world.pointer().unwrap_or_default()
            )),
            (401, 2) => Some(
                r#"Bearer error="invalid_token", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/other""#
                    .to_owned(),
            ),
            (401, 3) => Some(r#"DPoP algs="ES256""#.to_owned()),
            (403, 0..=2) => {
                self.step_scope += 1;
                Some(format!(
                    r#"Bearer error="insufficient_scope", scope="tools:step{}""#,
                    self.step_scope
                ))
            }
            (403, 3) => Some(r#"Bearer error="invalid_token""#.to_owned()),
            _ => None,
        };
        if let Some(value) = &challenge
            && let Ok(value) = HeaderValue::from_str(value)
        {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        let mut learnt = HttpResponse::new(Vec::new());
        *learnt.headers_mut() = headers.clone();
        self.world.learn(&learnt);
        let step_up = status == 403
            && challenge
                .as_deref()
                .is_some_and(|c| c.contains("insufficient_scope"));
        let Ok(code) = StatusCode::from_u16(status) else {
            return;
        };
        let verdict =
            self.authorizer
                .on_response(&self.users[user], &token, code, &headers, self.now);
        let epoch = self.epoch[user];
        crate::trace!(
            "t={} respond user={user} token={} (of user {owner}) {status} {challenge:?}: {verdict:?}",
            world::unix(self.now),
            token.expose_secret()
        );
        match status {
            401 => {
                let issued = self.issued.get(token.expose_secret()).cloned();
                let Some(issued) = issued else {
                    panic!("a response for a token that never landed");
                };
                // The one retry of D18: a 401 on the retry token fails, any other is retried.
                let key = (user, epoch);
                let used = token.expose_secret().to_owned();
                let chain = self.chain.get(&key).cloned();
                let retry_token =
                    matches!(&chain, Some(Chain::RetryToken { token, .. }) if *token == used);
                // Without a discovery the authorizer cannot find the cached token (KB1).
                let no_discovery = self.authorizer.discovery().is_none();
                let is_current = self.current.get(&key) == Some(&used);
                match verdict {
                    Verdict::Retry => {
                        assert!(!retry_token, "a 401 on the retry token was retried (D18)");
                        if is_current {
                            // The cached token is refused: a chain starts, one fresh exchange.
                            if !no_discovery {
                                self.current.remove(&key);
                            }
                            self.chain.insert(key, Chain::Refused { kb1: no_discovery });
                            self.refusals[user] = None;
                        }
                        if owner == user {
                            *self.dropped.entry(used).or_default() |= no_discovery;
                        }
                    }
                    Verdict::Fail(error) => {
                        assert!(
                            matches!(error, Error::ResourceServerRejected { status: 401, .. }),
                            "{error}"
                        );
                        assert!(
                            retry_token,
                            "a first 401 failed without its one retry (D18)"
                        );
                        // A 401 that also named new resource metadata dropped the discovery (D20): the
                        // next flight re-discovers, which is no storm.
                        let target = target(self.authorizer.discovery());
                        self.refusals[user] = target.is_some().then(|| Refusal {
                            epoch,
                            refresh_at: issued
                                .expires_at
                                .checked_sub(self.refresh_lead)
                                .unwrap_or(SystemTime::UNIX_EPOCH),
                            target,
                        });
                    }
                    Verdict::Accept => panic!("a 401 accepted"),
                }
            }
            403 if step_up => {
                self.step_ups[user] += 1;
                let limit_reached = self.step_ups[user] > self.max_step_ups;
                match verdict {
                    Verdict::Retry => {
                        assert!(!limit_reached, "more step-ups than max_step_ups (D18)");
                        self.epoch[user] += 1;
                    }
                    Verdict::Fail(error) => {
                        assert!(limit_reached, "a step-up refused below the limit: {error}");
                        assert!(matches!(
                            error,
                            Error::ResourceServerRejected { status: 403, .. }
                        ));
                    }
                    Verdict::Accept => panic!("an insufficient_scope 403 accepted"),
                }
            }
            _ => {
                assert!(
                    matches!(verdict, Verdict::Accept),
                    "{verdict:?} for {status}"
                );
                if (200..300).contains(&status) {
                    self.step_ups[user] = 0;
                    // The server took the retry token: a later 401 on it (a revocation)
                    // starts a chain of its own.
                    let key = (user, self.epoch[user]);
                    if matches!(self.chain.get(&key), Some(Chain::RetryToken { token: t, .. }) if *t == *token.expose_secret())
                    {
                        self.chain.remove(&key);
                    }
                }
            }
        }
    }
}

/// The oracle's answer to a flow's request, by the purpose the drive tags it with; the world
/// learns from it.
fn answer(world: &mut World, request: HttpRequest, now: SystemTime) -> HttpResponse {
    let Some(purpose) = request.extensions().get::<Purpose>().copied() else {
        panic!("a flow's request without its purpose");
    };
    let response = world.oracle(purpose, &request, now).to_response();
    world.learn(&response);
    response
}

/// The world as a blocking transport for the drivers' loop ([`xaa::driver`]): flows are
/// answered by the oracle, the MCP server accepts every request, and the bearer tokens it
/// received are kept.
#[derive(Clone, Copy)]
struct Oracle<'a> {
    world: &'a RefCell<World>,
    sent: &'a RefCell<Vec<String>>,
    now: SystemTime,
}

impl Transport for Oracle<'_> {
    type Failure = Infallible;

    fn now(&self) -> SystemTime {
        self.now
    }
}

impl BlockingTransport for Oracle<'_> {
    fn send(
        &self,
        request: HttpRequest,
        _limits: Limits,
    ) -> Result<HttpResponse, driver::DriverError<Self>> {
        if request.extensions().get::<Purpose>().is_some() {
            return Ok(answer(&mut self.world.borrow_mut(), request, self.now));
        }
        let bearer = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let Some(bearer) = bearer else {
            panic!("an MCP request sent without a bearer token");
        };
        self.sent.borrow_mut().push(bearer.to_owned());
        Ok(HttpResponse::new(Vec::new()))
    }

    /// Runs the refresh at once: the target has one thread.
    fn refresh_in_background(refresh: Refresh<BlockingClient<Self>>) {
        let _ = refresh.run();
    }
}

impl Model {
    /// One MCP request per user through the drivers' loop, on whatever state the operations
    /// left: it is accepted with a token of the user's, or fails with a typed error; the loop
    /// never reports a misuse.
    fn call_through_the_loop(&mut self) {
        let world = RefCell::new(std::mem::replace(
            &mut self.world,
            World::new(MCP_URL, AS_CLIENT_ID),
        ));
        for (index, user) in self.users.iter().enumerate() {
            let sent = RefCell::new(Vec::new());
            let oracle = Oracle {
                world: &world,
                sent: &sent,
                now: self.now,
            };
            let client = BlockingClient::with_transport(oracle, &ClientOptions::default());
            let authorizer =
                driver::ClientAuthorizer::from_authorizer(self.authorizer.clone(), client);
            let Ok(request) = http::Request::post(MCP_URL).body(Vec::new()) else {
                panic!("the MCP request is well formed");
            };
            let result = authorizer.send(user, request).map_err(|error| match error {
                driver::DriverError::Flow(error) => error,
                other => panic!("the oracle always answers: {other}"),
            });
            crate::trace!("t={} call user={index}: {result:?}", world::unix(self.now));
            match result {
                Ok(response) => {
                    assert!(response.status().is_success());
                    let sent = sent.borrow();
                    assert_eq!(sent.len(), 1, "an accepted request is sent once");
                    if let Some(issued) = self.issued.get(&sent[0]) {
                        assert_eq!(
                            issued.user, index,
                            "one user's token sent for another (D19)"
                        );
                    }
                }
                Err(error) => assert!(!matches!(error, Error::Misuse(_)), "{error}"),
            }
        }
        self.world = world.into_inner();
    }
}

/// The authorizer (decisions.md D13, D16 to D20) under an arbitrary interleaving of callers.
///
/// Properties: never two flights in flight for one user and scope (D19 single-flight); a
/// token handed out belongs to the user asking, is unexpired and was never refused with a
/// retry; waiters never outlive their flight and only see their user's token. A 401 on the
/// cached token is retried and starts a chain: the token issued next is the one retry, and a
/// 401 on it fails (D18) unless the server accepted it in between (a later revocation starts
/// a new chain); a 401 on any other token is retried without starting one. After that failure
/// no exchange starts for the user and scope until the refused token is due for refresh or
/// replaced in the cache by a token that landed for the same user, scope and target, unless
/// the discovery changed (D20): no exchange storm. A 403 `insufficient_scope` is
/// retried at most `max_step_ups` times between successes, then fails; every other status is
/// accepted.
pub fn authorizer(data: &[u8]) {
    let mut input = Input::new(data);
    let mut model = Model::new(&mut input);
    for _ in 0..MAX_OPERATIONS {
        if input.is_empty() {
            break;
        }
        match input.below(8) {
            0 | 1 => {
                let user = input.below(model.users.len());
                model.acquire(user);
            }
            2 | 3 => model.land(&mut input),
            4 => model.drop_flight(&mut input),
            5 | 6 => model.respond(&mut input),
            _ => {
                let seconds = *input.pick(&[1u64, 30, 59, 300, 3000, 3600, 86_400]);
                model.now += Duration::from_secs(seconds);
                crate::trace!("time +{seconds}s");
            }
        }
    }
    model.pending.clear();
    model.check_waiters(true);
    model.call_through_the_loop();
}
