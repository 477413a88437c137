//! The authorizer's decisions, sans-IO, with closure-fake servers (decisions.md D13, D17 to D20):
//! tokens are acquired through the drivers' loop ([`xaa::driver`]) over a fake transport.

mod support;

use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use serde_json::json;
use support::*;
use xaa::authorizer::{
    Acquired, Authorizer, AuthorizerConfig, Landed, SubjectTokenSource, User, Verdict, Waited,
};
use xaa::cache::Principal;
use xaa::driver::{
    self, BlockingClient, BlockingTransport, ClientOptions, Limits, Refresh, Transport,
};
use xaa::grant::SubjectToken;
use xaa::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, Error, HttpRequest,
    HttpResponse, IdToken, IdentityProvider, Purpose,
};

fn config() -> AuthorizerConfig {
    AuthorizerConfig::new(
        MCP,
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
}

fn alice() -> User {
    User::from_id_token(SubjectToken::IdToken(IdToken::new(id_token())))
        .expect("ID token principal")
}

/// The fake servers as a blocking transport for the core's authorizer loop
/// ([`xaa::driver`]): each flow request is answered by `servers` (by the purpose the drive
/// tags it with), and the clock stands at `at`.
#[derive(Clone, Copy)]
struct Fake<'a> {
    servers: &'a RefCell<Servers>,
    at: SystemTime,
}

impl Transport for Fake<'_> {
    type Failure = Infallible;

    fn now(&self) -> SystemTime {
        self.at
    }
}

impl BlockingTransport for Fake<'_> {
    /// A flow's request by the purpose the drive tags it with; an MCP request (which has
    /// none) as the probe's.
    fn send(
        &self,
        request: HttpRequest,
        _limits: Limits,
    ) -> Result<HttpResponse, driver::DriverError<Self>> {
        let purpose = request.extensions().get::<Purpose>().copied();
        let purpose = purpose.unwrap_or(Purpose::ResourceProbe);
        Ok(self.servers.borrow_mut().answer(purpose, request))
    }

    /// Runs the refresh at once, so the test sees its requests.
    fn refresh_in_background(refresh: Refresh<BlockingClient<Self>>) {
        let _ = refresh.run();
    }
}

/// Acquires a token through the core's authorizer loop, running any flight against
/// `servers`; a refresh due runs before the token is returned.
fn token(
    authorizer: &Authorizer,
    user: &User,
    servers: &mut Servers,
    at: SystemTime,
) -> Result<AccessToken, Error> {
    let servers_cell = RefCell::new(std::mem::replace(servers, Servers::empty()));
    let result = {
        let client = BlockingClient::with_transport(
            Fake {
                servers: &servers_cell,
                at,
            },
            &ClientOptions::default(),
        );
        let result =
            driver::ClientAuthorizer::from_authorizer(authorizer.clone(), client).token(user);
        result.map_err(|error| match error {
            driver::DriverError::Flow(error) => error,
            other => panic!("the fake servers always answer: {other}"),
        })
    };
    *servers = servers_cell.into_inner();
    result
}

/// Sends an MCP request through the core's authorizer loop, running any flight against
/// `servers`, which answer the MCP request too.
fn send(
    authorizer: &Authorizer,
    user: &User,
    servers: &mut Servers,
    at: SystemTime,
) -> Result<HttpResponse, Error> {
    let servers_cell = RefCell::new(std::mem::replace(servers, Servers::empty()));
    let result = {
        let fake = Fake {
            servers: &servers_cell,
            at,
        };
        let client = BlockingClient::with_transport(fake, &ClientOptions::default());
        let request = http::Request::post(MCP).body(Vec::new()).expect("request");
        let result = driver::ClientAuthorizer::from_authorizer(authorizer.clone(), client)
            .send(user, request);
        result.map_err(|error| match error {
            driver::DriverError::Flow(error) => error,
            other => panic!("the fake servers always answer: {other}"),
        })
    };
    *servers = servers_cell.into_inner();
    result
}

/// The happy world, with a new access token from every jwt-bearer grant.
fn counting_servers() -> Servers {
    let counter = Arc::new(Mutex::new(0));
    Servers::happy().on("POST", AS_TOKEN, move |_| {
        let mut n = counter.lock().expect("counter");
        *n += 1;
        let mut body = bearer_response();
        body["access_token"] = json!(format!("at-{n}"));
        body["expires_in"] = json!(600);
        json_response(200, body)
    })
}

/// `servers` with an IdP that issues ID-JAGs valid at `at`: the flows run on the same clock
/// as the authorizer, and the fixtures' ID-JAGs live five minutes from [`now`].
fn issuing_at(servers: Servers, at: SystemTime) -> Servers {
    servers.on("POST", IDP_TOKEN, move |_| {
        let mut claims = id_jag_claims();
        claims["iat"] = json!(secs(at));
        claims["exp"] = json!(secs(at) + 300);
        let mut body = exchange_response();
        body["access_token"] = json!(id_jag_with(claims));
        json_response(200, body)
    })
}

fn token_requests(servers: &Servers) -> (usize, usize) {
    (
        servers.count("POST", IDP_TOKEN),
        servers.count("POST", AS_TOKEN),
    )
}

#[test]
fn cold_then_hot_then_warm_refresh() {
    let authorizer = Authorizer::new(config().refresh_lead(Duration::from_secs(600)));
    let mut servers = Servers::happy();
    let first = token(&authorizer, &alice(), &mut servers, now()).expect("cold");
    assert_eq!(first.expose_secret(), ACCESS_TOKEN);
    assert_eq!(token_requests(&servers), (1, 1));

    let hot = token(
        &authorizer,
        &alice(),
        &mut servers,
        now() + Duration::from_secs(60),
    )
    .expect("hot");
    assert_eq!(hot, first);
    assert_eq!(servers.log.len(), 7, "a hot token costs no request");

    // Within the refresh lead: the old token is handed out, the refresh runs (two POSTs).
    let due = now() + Duration::from_secs(3600 - 300);
    let mut warm = issuing_at(Servers::happy(), due);
    let still = token(&authorizer, &alice(), &mut warm, due).expect("due");
    assert_eq!(still, first, "the caller is not delayed by the refresh");
    assert_eq!(
        warm.urls(),
        vec![format!("POST {IDP_TOKEN}"), format!("POST {AS_TOKEN}")]
    );
}

#[test]
fn concurrent_callers_share_one_flight() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let Acquired::Run(mut flight) = authorizer.acquire(&user, now()).expect("acquire") else {
        panic!("the first caller runs the flow");
    };
    let waiters: Vec<_> = (0..8)
        .map(
            |_| match authorizer.acquire(&user, now()).expect("acquire") {
                Acquired::Wait(waiter) => std::thread::spawn(move || waiter.wait_blocking()),
                other => panic!("expected to wait, got {other:?}"),
            },
        )
        .collect();
    let mut servers = Servers::happy();
    let (result, _) = run(flight.take_flow().expect("flow"), &mut servers, Order::Fifo);
    assert!(matches!(flight.land(result, now()), Landed::Token(_)));
    for waiter in waiters {
        assert!(
            matches!(waiter.join().expect("thread"), Waited::Token(t) if t.expose_secret() == ACCESS_TOKEN)
        );
    }
    assert_eq!(token_requests(&servers), (1, 1));
}

#[test]
fn an_abandoned_flight_releases_its_waiters() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let Acquired::Run(flight) = authorizer.acquire(&user, now()).expect("acquire") else {
        panic!("runs");
    };
    let Acquired::Wait(waiter) = authorizer.acquire(&user, now()).expect("acquire") else {
        panic!("waits");
    };
    drop(flight);
    assert!(matches!(waiter.wait_blocking(), Waited::Again));
    assert!(matches!(
        authorizer.acquire(&user, now()).expect("acquire"),
        Acquired::Run(_)
    ));
}

#[test]
fn two_users_never_share_a_token() {
    let authorizer = Authorizer::new(config());
    let bob_token = jwt(
        json!({"alg": "ES256"}),
        json!({"iss": IDP, "sub": "bob", "aud": IDP_CLIENT, "exp": secs(now()) + 3600}),
    );
    let bob =
        User::from_id_token(SubjectToken::IdToken(IdToken::new(bob_token.clone()))).expect("bob");
    let counter = Arc::new(Mutex::new(0));
    let issued = Arc::clone(&counter);
    let mut servers = Servers::happy().on("POST", AS_TOKEN, move |_| {
        let mut n = issued.lock().expect("counter");
        *n += 1;
        let mut body = bearer_response();
        body["access_token"] = json!(format!("at-{n}"));
        json_response(200, body)
    });
    let a = token(&authorizer, &alice(), &mut servers, now()).expect("alice");
    let b = token(&authorizer, &bob, &mut servers, now()).expect("bob");
    assert_ne!(a, b);
    assert_eq!(
        token(&authorizer, &alice(), &mut servers, now()).expect("alice again"),
        a
    );
    assert_eq!(
        token(&authorizer, &bob, &mut servers, now()).expect("bob again"),
        b
    );
    let exchanges: Vec<_> = servers.log.iter().filter(|r| r.url == IDP_TOKEN).collect();
    assert_eq!(
        exchanges[1].form_value("subject_token"),
        Some(bob_token.as_str())
    );
}

#[test]
fn a_401_allows_one_fresh_exchange_per_token() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let mut servers = Servers::happy();
    let first = token(&authorizer, &user, &mut servers, now()).expect("cold");
    let refused = challenge(401, r#"Bearer error="invalid_token""#);
    assert!(matches!(
        authorizer.on_response(
            &user,
            &first,
            StatusCode::UNAUTHORIZED,
            refused.headers(),
            now()
        ),
        Verdict::Retry
    ));
    let second = token(&authorizer, &user, &mut servers, now()).expect("re-exchange");
    assert_eq!(
        token_requests(&servers),
        (2, 2),
        "one fresh exchange, from cached discovery"
    );
    match authorizer.on_response(
        &user,
        &second,
        StatusCode::UNAUTHORIZED,
        refused.headers(),
        now(),
    ) {
        Verdict::Fail(Error::ResourceServerRejected { status: 401, .. }) => {}
        other => panic!("expected a final 401, got {other:?}"),
    }
    // Later requests keep failing without an exchange storm.
    let again = token(&authorizer, &user, &mut servers, now()).expect("cached");
    assert!(matches!(
        authorizer.on_response(
            &user,
            &again,
            StatusCode::UNAUTHORIZED,
            refused.headers(),
            now()
        ),
        Verdict::Fail(_)
    ));
    assert_eq!(token_requests(&servers), (2, 2));
}

#[test]
fn a_403_insufficient_scope_steps_up_within_the_limit() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let mut servers = Servers::happy();
    let first = token(&authorizer, &user, &mut servers, now()).expect("cold");
    let forbidden = challenge(
        403,
        r#"Bearer error="insufficient_scope", scope="tools:admin""#,
    );
    for _ in 0..2 {
        assert!(matches!(
            authorizer.on_response(
                &user,
                &first,
                StatusCode::FORBIDDEN,
                forbidden.headers(),
                now()
            ),
            Verdict::Retry
        ));
    }
    assert!(matches!(
        authorizer.on_response(
            &user,
            &first,
            StatusCode::FORBIDDEN,
            forbidden.headers(),
            now()
        ),
        Verdict::Fail(Error::ResourceServerRejected { status: 403, .. })
    ));
    let mut servers = Servers::happy().on("POST", IDP_TOKEN, |_| {
        let mut body = exchange_response();
        body["scope"] = json!("tools:read tools:admin");
        let mut claims = id_jag_claims();
        claims["scope"] = json!("tools:read tools:admin");
        body["access_token"] = json!(id_jag_with(claims));
        json_response(200, body)
    });
    servers = servers.on("POST", AS_TOKEN, |_| {
        let mut body = bearer_response();
        body["scope"] = json!("tools:read tools:admin");
        json_response(200, body)
    });
    token(&authorizer, &user, &mut servers, now()).expect("stepped-up token");
    let exchange = servers.find("POST", IDP_TOKEN).expect("exchange");
    assert_eq!(
        exchange.form_value("scope"),
        Some("tools:admin tools:read"),
        "the union, canonical order"
    );
}

#[test]
fn a_new_resource_metadata_drops_cached_discovery() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let mut servers = Servers::happy();
    let first = token(&authorizer, &user, &mut servers, now()).expect("cold");
    assert!(authorizer.discovery().is_some());
    let moved = challenge(
        401,
        r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/v2""#,
    );
    assert!(matches!(
        authorizer.on_response(
            &user,
            &first,
            StatusCode::UNAUTHORIZED,
            moved.headers(),
            now()
        ),
        Verdict::Retry
    ));
    assert!(authorizer.discovery().is_none(), "decisions.md D20");
}

struct Rotating {
    fresh: Option<String>,
    refreshed: Mutex<u32>,
}

impl SubjectTokenSource for Rotating {
    fn subject_token(&self, _now: SystemTime) -> Option<SubjectToken> {
        let expired = jwt(
            json!({"alg": "ES256"}),
            json!({"iss": IDP, "sub": "alice", "exp": secs(now()) - 10}),
        );
        Some(SubjectToken::IdToken(IdToken::new(expired)))
    }

    fn refresh(&self, _now: SystemTime) -> Option<SubjectToken> {
        *self.refreshed.lock().expect("counter") += 1;
        self.fresh
            .clone()
            .map(|t| SubjectToken::IdToken(IdToken::new(t)))
    }
}

#[test]
fn an_expired_subject_token_is_refreshed_through_the_source() {
    let authorizer = Authorizer::new(config());
    let source = Arc::new(Rotating {
        fresh: Some(id_token()),
        refreshed: Mutex::new(0),
    });
    let user = User::new(Principal::key("alice"), source.clone());
    let mut servers = Servers::happy();
    token(&authorizer, &user, &mut servers, now()).expect("fresh subject");
    assert_eq!(*source.refreshed.lock().expect("counter"), 1);
    assert_eq!(
        servers
            .find("POST", IDP_TOKEN)
            .expect("exchange")
            .form_value("subject_token"),
        Some(id_token().as_str())
    );
}

#[test]
fn an_expired_subject_token_without_a_source_needs_reauthentication() {
    let authorizer = Authorizer::new(config());
    let user = User::new(
        Principal::key("alice"),
        Arc::new(Rotating {
            fresh: None,
            refreshed: Mutex::new(0),
        }),
    );
    let mut servers = Servers::happy();
    match token(&authorizer, &user, &mut servers, now()) {
        Err(Error::ReauthenticationRequired { .. }) => {}
        other => panic!("expected ReauthenticationRequired, got {other:?}"),
    }
    assert!(servers.log.is_empty(), "nothing sent");
}

#[test]
fn an_idp_refusal_retries_once_with_a_fresh_subject() {
    let authorizer = Authorizer::new(config());
    let mut servers = Servers::happy().on("POST", IDP_TOKEN, |_| {
        json_response(
            400,
            json!({"error": "invalid_grant", "error_description": "session ended"}),
        )
    });
    let user = alice();
    match token(&authorizer, &user, &mut servers, now()) {
        Err(Error::ReauthenticationRequired { status: 400, .. }) => {}
        other => panic!("expected ReauthenticationRequired, got {other:?}"),
    }
    assert_eq!(
        servers.count("POST", IDP_TOKEN),
        1,
        "no fresh subject: no second try"
    );
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
}

#[test]
fn the_loop_sends_with_the_bearer_and_returns_the_accepted_answer() {
    let authorizer = Authorizer::new(config());
    let mut servers = Servers::happy().on("POST", MCP, |request| match request.authorization() {
        Some(bearer) if bearer == format!("Bearer {ACCESS_TOKEN}") => status(200),
        Some(other) => panic!("an unexpected Authorization header: {other}"),
        None => probe_challenge(),
    });
    let response = send(&authorizer, &alice(), &mut servers, now()).expect("accepted");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(token_requests(&servers), (1, 1));
    let mcp: Vec<_> = servers.log.iter().filter(|r| r.url == MCP).collect();
    assert_eq!(mcp.len(), 2, "the probe, then the request with its token");
    assert_eq!(mcp[0].authorization(), None);
}

#[test]
fn the_loop_resends_once_after_a_401_then_fails_typed() {
    let authorizer = Authorizer::new(config());
    // The MCP server refuses every request, with or without a token.
    let mut servers = counting_servers();
    match send(&authorizer, &alice(), &mut servers, now()) {
        Err(Error::ResourceServerRejected { status: 401, .. }) => {}
        other => panic!("expected a final 401, got {other:?}"),
    }
    assert_eq!(token_requests(&servers), (2, 2), "one fresh exchange");
    let sent: Vec<_> = servers
        .log
        .iter()
        .filter(|r| r.url == MCP)
        .filter_map(|r| r.authorization())
        .collect();
    assert_eq!(sent, ["Bearer at-1", "Bearer at-2"], "each token once");
}

#[test]
fn fail_closed_errors_are_not_retried() {
    let authorizer = Authorizer::new(config());
    let mut servers = Servers::happy().on("POST", AS_TOKEN, |_| {
        json_response(401, json!({"error": "invalid_client"}))
    });
    let result = token(&authorizer, &alice(), &mut servers, now());
    assert!(matches!(result, Err(Error::OAuth { .. })));
    assert_eq!(token_requests(&servers), (1, 1));
    let _ = HeaderMap::new();
}

#[test]
fn a_late_401_for_a_replaced_token_does_not_spend_the_next_tokens_retry() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let mut servers = counting_servers();
    let refused = challenge(401, r#"Bearer error="invalid_token""#);
    let first = token(&authorizer, &user, &mut servers, now()).expect("cold");
    assert!(matches!(
        authorizer.on_response(
            &user,
            &first,
            StatusCode::UNAUTHORIZED,
            refused.headers(),
            now()
        ),
        Verdict::Retry
    ));
    token(&authorizer, &user, &mut servers, now()).expect("the one re-exchange");
    // A slow request that still carried the first token comes back refused.
    let late = authorizer.on_response(
        &user,
        &first,
        StatusCode::UNAUTHORIZED,
        refused.headers(),
        now(),
    );
    assert!(matches!(late, Verdict::Retry), "{late:?}");
    assert_eq!(
        token_requests(&servers),
        (2, 2),
        "no exchange for a token already replaced"
    );
    // After expiry, a normal refresh; a 401 on that token still gets its one re-exchange.
    let later = now() + Duration::from_secs(700);
    let mut fresh = issuing_at(counting_servers(), later);
    let third = token(&authorizer, &user, &mut fresh, later).expect("refresh after expiry");
    assert!(matches!(
        authorizer.on_response(
            &user,
            &third,
            StatusCode::UNAUTHORIZED,
            refused.headers(),
            later
        ),
        Verdict::Retry
    ));
}

#[test]
fn a_token_shorter_lived_than_the_lead_is_not_refreshed_on_every_use() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let mut servers = Servers::happy().on("POST", AS_TOKEN, |_| {
        let mut body = bearer_response();
        body["expires_in"] = json!(20);
        json_response(200, body)
    });
    token(&authorizer, &user, &mut servers, now()).expect("cold");
    // The lead (60 s) is longer than the lifetime (20 s): it is capped at half the lifetime.
    token(
        &authorizer,
        &user,
        &mut servers,
        now() + Duration::from_secs(5),
    )
    .expect("hot");
    assert_eq!(token_requests(&servers), (1, 1));
    token(
        &authorizer,
        &user,
        &mut servers,
        now() + Duration::from_secs(12),
    )
    .expect("due");
    assert_eq!(
        token_requests(&servers),
        (2, 2),
        "refreshed once past half its life"
    );
}

#[test]
fn an_accepted_replacement_token_gets_its_own_retry_later() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let mut servers = counting_servers();
    let refused = challenge(401, r#"Bearer error="invalid_token""#);
    let first = token(&authorizer, &user, &mut servers, now()).expect("cold");
    assert!(matches!(
        authorizer.on_response(
            &user,
            &first,
            StatusCode::UNAUTHORIZED,
            refused.headers(),
            now()
        ),
        Verdict::Retry
    ));
    let second = token(&authorizer, &user, &mut servers, now()).expect("re-exchange");
    assert!(matches!(
        authorizer.on_response(&user, &second, StatusCode::OK, &HeaderMap::new(), now()),
        Verdict::Accept
    ));
    // Revoked later: it was accepted, so it earns its own fresh exchange (decisions.md D18).
    assert!(matches!(
        authorizer.on_response(
            &user,
            &second,
            StatusCode::UNAUTHORIZED,
            refused.headers(),
            now()
        ),
        Verdict::Retry
    ));
    let third = token(&authorizer, &user, &mut servers, now()).expect("another re-exchange");
    assert_ne!(third, second);
    assert_eq!(token_requests(&servers), (3, 3));
}

// ---------------------------------------------------------------------------------------------
// Fuzz-found bug KB1 (the `xaa::fuzzing` module docs): a 401 handled while the authorizer had no
// cached discovery could not find the refused token. A 401 whose challenge names new resource
// metadata drops the discovery (decisions.md D20) before the token is dropped, so that is how
// the state "a valid token cached, no cached discovery" arises.

/// Where the MCP server's metadata moved to (decisions.md D20): the same resource and
/// authorization server as [`PRM_URL`], at another address.
const PRM_MOVED: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/v2";

/// The MCP server's 401 naming [`PRM_MOVED`].
fn moved_challenge() -> HttpResponse {
    challenge(
        401,
        &format!(r#"Bearer error="invalid_token", resource_metadata="{PRM_MOVED}""#),
    )
}

/// [`counting_servers`] that also serve the moved metadata.
fn moved_servers() -> Servers {
    counting_servers().on("GET", PRM_MOVED, |_| json_response(200, prm()))
}

fn bob() -> User {
    let bob_token = jwt(
        json!({"alg": "ES256"}),
        json!({"iss": IDP, "sub": "bob", "aud": IDP_CLIENT, "exp": secs(now()) + 3600}),
    );
    User::from_id_token(SubjectToken::IdToken(IdToken::new(bob_token))).expect("bob")
}

/// The requests of a flow that discovers from [`PRM_MOVED`] (the 401's pointer, no probe),
/// sorted.
fn rediscovery_requests() -> Vec<String> {
    let mut expected = vec![
        format!("GET {PRM_MOVED}"),
        format!("GET {AS_META}"),
        format!("GET {IDP_OAUTH_META}"),
        format!("GET {IDP_OIDC_META}"),
        format!("POST {IDP_TOKEN}"),
        format!("POST {AS_TOKEN}"),
    ];
    expected.sort();
    expected
}

/// The requests logged from `from` on, sorted.
fn sorted_urls_from(servers: &Servers, from: usize) -> Vec<String> {
    let mut urls = servers.urls().split_off(from);
    urls.sort();
    urls
}

/// Alice's token is refused with a 401 that names new resource metadata, which drops the
/// cached discovery (decisions.md D20); Bob's flow then discovers the same authorization server
/// and resource again from the new metadata, so Alice's cache key is back. Alice's next token
/// must be a new one, from one fresh exchange.
///
/// Pins fuzz-found bug KB1 (corpus input `regression-kb1-refused-token-handed-out-again`):
/// without the discovery the authorizer could not find the refused token, which stayed cached
/// and was handed out to Alice again once Bob's flow had restored the discovery.
#[test]
fn a_401_that_drops_the_discovery_still_drops_the_refused_token() {
    let authorizer = Authorizer::new(config());
    let (alice, bob) = (alice(), bob());
    let mut servers = moved_servers();
    let refused = token(&authorizer, &alice, &mut servers, now()).expect("cold");
    assert_eq!(refused.expose_secret(), "at-1");

    let verdict = authorizer.on_response(
        &alice,
        &refused,
        StatusCode::UNAUTHORIZED,
        moved_challenge().headers(),
        now(),
    );
    assert!(matches!(verdict, Verdict::Retry), "{verdict:?}");
    assert!(authorizer.discovery().is_none(), "decisions.md D20");

    // Bob's flow starts from the 401's pointer and finds the same server and resource.
    let before = servers.log.len();
    let bobs = token(&authorizer, &bob, &mut servers, now()).expect("bob");
    assert_eq!(bobs.expose_secret(), "at-2");
    assert_eq!(sorted_urls_from(&servers, before), rediscovery_requests());
    let discovery = authorizer.discovery().expect("discovered again");
    assert_eq!(discovery.resource_metadata_url, PRM_MOVED);
    assert_eq!(discovery.resource(), MCP);
    assert_eq!(discovery.authorization_server.issuer, AS);

    // Alice's next token: not the refused one, but one fresh exchange on that discovery.
    let before = servers.log.len();
    let next = token(&authorizer, &alice, &mut servers, now()).expect("alice again");
    assert_ne!(
        next.expose_secret(),
        refused.expose_secret(),
        "the refused token is handed out again"
    );
    assert_eq!(next.expose_secret(), "at-3");
    assert_eq!(
        servers.urls().split_off(before),
        vec![format!("POST {IDP_TOKEN}"), format!("POST {AS_TOKEN}")]
    );
    assert_eq!(token_requests(&servers), (3, 3), "one exchange per token");
}

/// Alice's token is refused with a 401 that names new resource metadata (dropping the cached
/// discovery, decisions.md D20), and a concurrent request that carried it is refused the same
/// way. Alice's next token comes from one fresh exchange, and it is the one retry of D18: when
/// the MCP server refuses it too, the loop fails with the 401 instead of buying a second fresh
/// exchange.
///
/// Pins fuzz-found bug KB1 (corpus input `regression-kb1-second-retry`): without the discovery
/// the 401 did not count as a refusal of the cached token, so the token of the fresh exchange
/// was not the one retry, and a 401 on it was retried with yet another exchange.
#[test]
fn a_401_that_drops_the_discovery_allows_only_one_fresh_exchange() {
    let authorizer = Authorizer::new(config());
    let user = alice();
    let mut servers = moved_servers();
    let refused = token(&authorizer, &user, &mut servers, now()).expect("cold");
    assert_eq!(refused.expose_secret(), "at-1");
    for request in ["the first", "a concurrent"] {
        let verdict = authorizer.on_response(
            &user,
            &refused,
            StatusCode::UNAUTHORIZED,
            moved_challenge().headers(),
            now(),
        );
        assert!(matches!(verdict, Verdict::Retry), "{request}: {verdict:?}");
    }
    assert!(authorizer.discovery().is_none(), "decisions.md D20");

    // The one fresh exchange, discovering again from the 401's pointer.
    let before = servers.log.len();
    let retry = token(&authorizer, &user, &mut servers, now()).expect("the one re-exchange");
    assert_eq!(retry.expose_secret(), "at-2");
    assert_eq!(sorted_urls_from(&servers, before), rediscovery_requests());
    assert_eq!(token_requests(&servers), (2, 2));

    // The MCP server refuses the retry token too: the loop sends it once and fails, typed.
    let mut servers = servers.on("POST", MCP, |_| {
        challenge(401, r#"Bearer error="invalid_token""#)
    });
    let before = servers.log.len();
    match send(&authorizer, &user, &mut servers, now()) {
        Err(Error::ResourceServerRejected { status: 401, .. }) => {}
        other => panic!("expected a final 401, got {other:?}"),
    }
    let sent: Vec<_> = servers.log[before..]
        .iter()
        .map(|r| (r.key(), r.authorization()))
        .collect();
    assert_eq!(
        sent,
        [(format!("POST {MCP}"), Some("Bearer at-2".to_owned()))],
        "the retry token once, and no second fresh exchange"
    );
    assert_eq!(token_requests(&servers), (2, 2));
}
