//! The authorizer under a gateway's load (decisions.md D26): tens of thousands of distinct
//! users through one authorizer, on a simulated clock, against canned servers that mint a
//! token naming its user. What it holds stays within its bounds, what expired goes as
//! operations pass, and a user whose token was evicted is served again with one exchange.

mod support;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use support::*;
use xaa::authorizer::{
    Acquired, Authorizer, AuthorizerConfig, AuthorizerStats, Landed, User, Verdict,
};
use xaa::cache::{CacheKey, CachedToken, MemoryTokenStore, TokenStore};
use xaa::grant::SubjectToken;
use xaa::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, DriveError, HttpRequest,
    HttpResponse, IdToken, IdentityProvider, Scope,
};

/// How many entries one operation's sweep may leave behind: a few per operation (the cache
/// and the store each sweep at most 4 per call).
const SWEEP_SLACK: usize = 8;

/// Canned servers on the test's clock. Each user's subject token is signed "by" the user:
/// its signature segment names them. The IdP carries that name into the ID-JAG's signature
/// segment and the authorization server into the access token, so a token handed out names
/// the user whose flow obtained it.
struct World {
    token_lifetime: Duration,
    exchanges: usize,
    grants: usize,
    /// The ID-JAG's header and claims, minted once per second of the clock.
    id_jag: (u64, String),
}

impl World {
    fn new(token_lifetime: Duration) -> Self {
        Self {
            token_lifetime,
            exchanges: 0,
            grants: 0,
            id_jag: (0, String::new()),
        }
    }

    fn answer(&mut self, request: &HttpRequest, now: SystemTime) -> HttpResponse {
        let url = request.uri().to_string();
        let signer = |name: &str| {
            let form = form::decode(request.body());
            let (_, token) = form.into_iter().find(|(k, _)| k == name).expect("a token");
            let (_, signature) = token.rsplit_once('.').expect("a JWS");
            signature.to_owned()
        };
        match (request.method().as_str(), url.as_str()) {
            ("POST", MCP) => probe_challenge(),
            ("GET", PRM_URL) => json_response(200, prm()),
            ("GET", AS_META) => json_response(200, as_metadata()),
            ("GET", IDP_OIDC_META) => json_response(200, idp_metadata()),
            ("POST", IDP_TOKEN) => {
                self.exchanges += 1;
                let id_jag = format!("{}.{}", self.id_jag(now), signer("subject_token"));
                let body = format!(
                    r#"{{"access_token":"{id_jag}","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A","expires_in":30}}"#
                );
                raw_response(200, Some("application/json"), body.as_bytes())
            }
            ("POST", AS_TOKEN) => {
                self.grants += 1;
                let body = format!(
                    r#"{{"access_token":"at-{}-{}","token_type":"Bearer","expires_in":{}}}"#,
                    signer("assertion"),
                    self.grants,
                    self.token_lifetime.as_secs()
                );
                raw_response(200, Some("application/json"), body.as_bytes())
            }
            _ => status(404),
        }
    }

    /// The ID-JAG's header and claims at `now`: valid for 30 s.
    fn id_jag(&mut self, now: SystemTime) -> &str {
        if self.id_jag.0 != secs(now) {
            let mut claims = id_jag_claims();
            claims["iat"] = json!(secs(now));
            claims["exp"] = json!(secs(now) + 30);
            let jws = id_jag_with(claims);
            let signed = jws
                .rsplit_once('.')
                .map_or(jws.as_str(), |(signed, _)| signed);
            self.id_jag = (secs(now), signed.to_owned());
        }
        &self.id_jag.1
    }

    /// Exchanges and grants so far.
    fn calls(&self) -> (usize, usize) {
        (self.exchanges, self.grants)
    }
}

fn config(max_entries: usize) -> AuthorizerConfig {
    AuthorizerConfig::new(
        MCP,
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
    .max_entries(max_entries)
}

/// The signature segment of user `n`'s tokens.
fn signature(n: usize) -> String {
    xaa::jwt::encode_segment(&n)
}

/// User `n`, with an ID token valid for the whole run and "signed" by the user.
fn user(n: usize) -> User {
    let claims = json!({
        "iss": IDP, "sub": format!("user-{n}"), "aud": IDP_CLIENT,
        "iat": secs(now()), "exp": secs(now()) + 90 * 86_400,
    });
    let unsigned = jwt(json!({"alg": "ES256", "typ": "JWT"}), claims);
    let (signed, _) = unsigned.rsplit_once('.').expect("a JWS");
    let id_token = format!("{signed}.{}", signature(n));
    User::from_id_token(SubjectToken::IdToken(IdToken::new(id_token))).expect("a principal")
}

fn run(mut flight: xaa::authorizer::Flight, world: &mut World, now: SystemTime) -> Landed {
    let flow = flight.take_flow().expect("a flight's flow");
    let result = xaa::drive(
        flow,
        || now,
        |request| Ok::<_, Infallible>(world.answer(&request, now)),
    )
    .map_err(|error| match error {
        DriveError::Flow(error) => error,
        other => panic!("the canned world always answers: {other}"),
    });
    flight.land(result, now)
}

/// `n`'s token at `now`, running the flow when one is needed; the token must name `n`.
fn token(
    authorizer: &Authorizer,
    (n, user): (usize, &User),
    world: &mut World,
    now: SystemTime,
) -> AccessToken {
    let token = match authorizer.acquire(user, now).expect("acquire") {
        Acquired::Token(token) => token,
        Acquired::TokenAndRefresh(token, flight) => {
            let _ = run(flight, world, now);
            token
        }
        Acquired::Run(flight) => match run(flight, world, now) {
            Landed::Token(token) => token,
            other => panic!("the canned world always issues: {other:?}"),
        },
        Acquired::Wait(_) => panic!("one thread: nobody else runs a flight"),
    };
    let prefix = format!("at-{}-", signature(n));
    assert!(
        token.expose_secret().starts_with(&prefix),
        "user {n} was handed another user's token"
    );
    token
}

fn answer(
    authorizer: &Authorizer,
    user: &User,
    token: &AccessToken,
    response: &HttpResponse,
    now: SystemTime,
) -> Verdict {
    authorizer.on_response(user, token, response.status(), response.headers(), now)
}

fn within_bounds(stats: AuthorizerStats, max_entries: usize) {
    assert!(stats.cached_tokens <= max_entries, "{stats:?}");
    assert!(stats.dormant_principals <= max_entries, "{stats:?}");
    assert!(stats.principals <= 2 * max_entries, "{stats:?}");
    assert!(stats.dormant_principals <= stats.principals, "{stats:?}");
    assert_eq!(stats.flights, 0, "{stats:?}");
}

/// Another replica of the gateway, sharing the store: it obtained user `n`'s token at `now`
/// and saved it where this authorizer looks first. (A flow costs a few hundred microseconds in
/// a debug build; most users arrive this way so that tens of thousands fit in seconds.)
fn replica_saves(
    store: &MemoryTokenStore,
    (n, user): (usize, &User),
    now: SystemTime,
    lifetime: Duration,
) {
    let key = CacheKey::new(
        AS,
        MCP,
        AS_CLIENT,
        &Scope::default(),
        user.principal().clone(),
    );
    let token = AccessToken::new(format!("at-{}-replica", signature(n)));
    store.save(
        &key,
        &CachedToken::new(token, now + lifetime).with_issued_at(now),
    );
}

/// 30,000 users, one every 20 ms of the simulated clock, with one-minute tokens: about 3,000
/// are live at a time, well under the bound of 8,192. One user in eight runs the flow here
/// (and of those, one in five has its first token refused with a 401, one in five steps up
/// after a 403 `insufficient_scope`); the others find the token another replica saved in
/// the shared store. The cache and the store hold the live tokens and hardly more, and the
/// principals without a token stay within the bound.
#[test]
fn expired_tokens_go_as_operations_pass() {
    const USERS: usize = 30_000;
    const MAX_ENTRIES: usize = 8_192;
    let step = Duration::from_millis(20);
    let lifetime = Duration::from_secs(60);
    let store = Arc::new(MemoryTokenStore::with_capacity(MAX_ENTRIES));
    let authorizer = Authorizer::with_store(config(MAX_ENTRIES), store.clone());
    let mut world = World::new(lifetime);
    let refused = challenge(401, r#"Bearer error="invalid_token""#);
    let step_up = challenge(
        403,
        r#"Bearer error="insufficient_scope", scope="tools:read tools:write""#,
    );
    let accepted = status(200);
    // When each cached token expires, oldest first: what the cache should hold.
    let mut live: VecDeque<SystemTime> = VecDeque::new();
    let mut most_cached = 0;
    for n in 0..USERS {
        let u = user(n);
        let now = now() + step * n as u32;
        let expires = now + lifetime;
        if n % 8 != 0 {
            replica_saves(&store, (n, &u), now, lifetime);
        }
        let before = world.calls();
        let first = token(&authorizer, (n, &u), &mut world, now);
        assert_eq!(world.calls() != before, n % 8 == 0, "user {n}");
        live.push_back(expires);
        let second = match n % 40 {
            8 => {
                assert!(matches!(
                    answer(&authorizer, &u, &first, &refused, now),
                    Verdict::Retry
                ));
                live.pop_back();
                Some(token(&authorizer, (n, &u), &mut world, now))
            }
            16 => {
                assert!(matches!(
                    answer(&authorizer, &u, &first, &step_up, now),
                    Verdict::Retry
                ));
                Some(token(&authorizer, (n, &u), &mut world, now))
            }
            _ => None,
        };
        if let Some(second) = second {
            assert_ne!(second, first);
            live.push_back(expires);
            assert!(matches!(
                answer(&authorizer, &u, &second, &accepted, now),
                Verdict::Accept
            ));
        }
        while live.front().is_some_and(|expiry| *expiry <= now) {
            live.pop_front();
        }
        let stats = authorizer.stats();
        within_bounds(stats, MAX_ENTRIES);
        assert!(
            (live.len()..=live.len() + SWEEP_SLACK).contains(&stats.cached_tokens),
            "user {n}: {} live tokens, {stats:?}",
            live.len()
        );
        assert!(
            (live.len()..=live.len() + SWEEP_SLACK).contains(&store.len()),
            "user {n}: {} live tokens, {} in the store",
            live.len(),
            store.len()
        );
        most_cached = most_cached.max(stats.cached_tokens);
    }
    // A flow for one user in eight, one more for one in forty (the 401) and another one in
    // forty (the step-up).
    let flows = USERS / 8 + 2 * USERS / 40;
    assert_eq!(world.calls(), (flows, flows));
    assert!(most_cached < 3_300, "the cache peaked at {most_cached}");
    // Thirty thousand principals passed; those without a token are held to the bound.
    assert_eq!(authorizer.stats().dormant_principals, MAX_ENTRIES);
    // An hour later, a thousand new users: their operations sweep what is left, a few
    // entries each, and nothing but their tokens remains.
    let later = now() + step * USERS as u32 + Duration::from_secs(3600);
    for n in USERS..USERS + 1_000 {
        let u = user(n);
        replica_saves(&store, (n, &u), later, lifetime);
        token(&authorizer, (n, &u), &mut world, later);
    }
    assert_eq!(authorizer.stats().cached_tokens, 1_000);
    assert!(store.len() <= 1_000 + SWEEP_SLACK);
}

/// 20,000 users with day-long tokens through a bound of 1,000, on a cache and a shared store
/// of that size: the cache holds the 1,000 latest, the principals without a token stay within
/// the bound, and a user whose token was evicted is served again with exactly one exchange,
/// while one still cached costs none.
#[test]
fn an_evicted_user_is_served_again_with_one_exchange() {
    const USERS: usize = 20_000;
    const MAX_ENTRIES: usize = 1_000;
    let lifetime = Duration::from_secs(86_400);
    let store = Arc::new(MemoryTokenStore::with_capacity(MAX_ENTRIES));
    let authorizer = Authorizer::with_store(config(MAX_ENTRIES), store.clone());
    let mut world = World::new(lifetime);
    let accepted = status(200);
    let mut tokens = Vec::with_capacity(USERS);
    for n in 0..USERS {
        let u = user(n);
        let now = now() + Duration::from_secs(n as u64);
        // The first user discovers the servers here; the others come through the store.
        if n > 0 {
            replica_saves(&store, (n, &u), now, lifetime);
        }
        let token = token(&authorizer, (n, &u), &mut world, now);
        assert!(matches!(
            answer(&authorizer, &u, &token, &accepted, now),
            Verdict::Accept
        ));
        tokens.push(token);
        let stats = authorizer.stats();
        within_bounds(stats, MAX_ENTRIES);
        assert_eq!(stats.cached_tokens, (n + 1).min(MAX_ENTRIES));
        assert_eq!(store.len(), (n + 1).min(MAX_ENTRIES));
    }
    assert_eq!(world.calls(), (1, 1));
    let now = now() + Duration::from_secs(USERS as u64);
    // Still cached: no exchange, the same token.
    for (n, cached) in tokens.iter().enumerate().skip(USERS - MAX_ENTRIES / 2) {
        let u = user(n);
        assert_eq!(token(&authorizer, (n, &u), &mut world, now), *cached);
        assert_eq!(world.calls(), (1, 1), "user {n} was cached");
    }
    // Evicted long ago, and recently: one exchange each, a new token of their own.
    for n in (0..USERS - MAX_ENTRIES).step_by(37) {
        let u = user(n);
        let before = world.calls();
        let again = token(&authorizer, (n, &u), &mut world, now);
        assert_ne!(again, tokens[n]);
        assert_eq!(world.calls(), (before.0 + 1, before.1 + 1), "user {n}");
        within_bounds(authorizer.stats(), MAX_ENTRIES);
    }
}
