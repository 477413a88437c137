//! A signed-in session as the authorizer's subject-token source (`SignInSession`): an ID
//! token about to expire, or refused by the IdP, is renewed with the refresh token inside the
//! enterprise flow, before the token exchange, against closure fakes that check each request
//! (OpenID Connect Core 1.0 section 12, RFC 6749 section 6, RFC 9700 section 4.14.2).
#![cfg(all(feature = "signin", feature = "jwt"))]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Value, json};
use support::*;
use xaa::authorizer::{Acquired, Authorizer, AuthorizerConfig, Landed, User};
use xaa::cache::Principal;
use xaa::jose::{SigningKey, sign_jwt};
use xaa::signin::{IdTokenClaims, IdpKeys, SignInSession};
use xaa::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, Error, HttpResponse,
    IdToken, IdentityProvider, Purpose, RefreshToken,
};

const JWKS: &str = "https://idp.example.com/jwks";
const OLD_REFRESH: &str = "rt-old-0123456789abcdef";
const NEW_REFRESH: &str = "rt-new-fedcba9876543210";
const REFRESH_GRANT: &str = "refresh_token";
const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

fn config(idp: IdentityProvider) -> AuthorizerConfig {
    AuthorizerConfig::new(
        MCP,
        idp,
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
}

fn by_issuer() -> AuthorizerConfig {
    config(IdentityProvider::issuer(
        IDP,
        ClientCredentials::public(IDP_CLIENT),
    ))
}

/// The claims of an ID token for `sub` expiring at `exp`.
fn claims(sub: &str, exp: u64) -> Value {
    json!({
        "iss": IDP, "sub": sub, "aud": IDP_CLIENT, "exp": exp, "iat": secs(now()) - 5,
    })
}

fn signed(key: &SigningKey, claims: &Value) -> String {
    sign_jwt(key, "JWT", claims).expect("signed")
}

/// A session whose ID token (for alice) expires at `exp`, with the old refresh token, and a
/// count of the renewals the application was told of.
fn session(key: &SigningKey, exp: u64) -> (SignInSession, Arc<AtomicUsize>) {
    let first: IdTokenClaims = serde_json::from_value(json!({
        "iss": IDP, "sub": "alice", "aud": [IDP_CLIENT], "azp": null, "exp": exp,
        "iat": secs(now()) - 3600, "auth_time": null, "nonce": null,
    }))
    .expect("claims");
    let told = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&told);
    let session = SignInSession::from_parts(
        IdToken::new(signed(key, &claims("alice", exp))),
        first,
        Some(RefreshToken::new(OLD_REFRESH)),
        IdpKeys::new(),
    )
    .on_renewed(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (session, told)
}

/// The IdP's token endpoint serving both grants: the refresh answered by `refresh`, the token
/// exchange by `exchange`; the key set holds `key`.
fn world(
    key: &SigningKey,
    refresh: impl FnMut(&Recorded) -> HttpResponse + 'static,
    exchange: impl FnMut(&Recorded) -> HttpResponse + 'static,
) -> Servers {
    let refresh = Mutex::new(refresh);
    let exchange = Mutex::new(exchange);
    let jwks = key.jwks().to_json();
    Servers::happy()
        .on("GET", JWKS, move |_| json_response(200, jwks.clone()))
        .on("POST", IDP_TOKEN, move |request| {
            match request.form_value("grant_type") {
                Some(REFRESH_GRANT) => (refresh.lock().expect("refresh"))(request),
                Some(EXCHANGE_GRANT) => (exchange.lock().expect("exchange"))(request),
                other => panic!("an unexpected grant at the IdP: {other:?}"),
            }
        })
}

/// The refresh answer: a new ID token for `sub`, the rotated refresh token.
fn renewed(key: &SigningKey, sub: &str) -> HttpResponse {
    json_response(
        200,
        json!({
            "id_token": signed(key, &claims(sub, secs(now()) + 600)),
            "access_token": "idp-at", "token_type": "Bearer", "expires_in": 600,
            "refresh_token": NEW_REFRESH,
        }),
    )
}

/// Runs flights for `user` until one lands with a token or fails, retrying as the
/// authorizer asks; every request answered by `servers`.
fn token(
    authorizer: &Authorizer,
    user: &User,
    servers: &mut Servers,
    at: SystemTime,
) -> Result<AccessToken, Error> {
    let mut flight = match authorizer.acquire(user, at)? {
        Acquired::Run(flight) => flight,
        other => panic!("a cold authorizer runs a flight: {other:?}"),
    };
    for _ in 0..2 {
        let flow = flight.take_flow().expect("a flow");
        let (result, _) = run(flow, servers, Order::Fifo);
        match flight.land(result, at) {
            Landed::Token(token) => return Ok(token),
            Landed::Failed(error) => return Err(error),
            Landed::Retry(next) => flight = *next,
        }
    }
    panic!("more than one retry")
}

fn grants(servers: &Servers) -> Vec<String> {
    servers
        .log
        .iter()
        .filter(|r| r.url == IDP_TOKEN)
        .map(|r| r.form_value("grant_type").unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn an_expiring_id_token_is_renewed_before_the_exchange_which_sends_the_new_one() {
    let key = SigningKey::generate_es256("k1").expect("key");
    // Thirty seconds left: inside the renewal margin.
    let (session, told) = session(&key, secs(now()) + 30);
    let mut servers = world(
        &key,
        {
            let key = key.clone();
            move |_| renewed(&key, "alice")
        },
        |_| json_response(200, exchange_response()),
    );
    let user = User::new(Principal::key("alice"), Arc::new(session.clone()));
    let token = token(&Authorizer::new(by_issuer()), &user, &mut servers, now()).expect("a token");
    assert_eq!(token.expose_secret(), ACCESS_TOKEN);
    assert_eq!(grants(&servers), [REFRESH_GRANT, EXCHANGE_GRANT]);
    let refresh = servers
        .log
        .iter()
        .find(|r| r.form_value("grant_type") == Some(REFRESH_GRANT))
        .expect("the refresh");
    assert_eq!(
        refresh.sorted_form(),
        pairs(&[
            ("grant_type", REFRESH_GRANT),
            ("refresh_token", OLD_REFRESH),
            ("client_id", IDP_CLIENT),
        ])
    );
    let exchange = servers
        .log
        .iter()
        .find(|r| r.form_value("grant_type") == Some(EXCHANGE_GRANT))
        .expect("the exchange");
    assert_eq!(
        exchange.form_value("subject_token"),
        Some(session.id_token().expose_secret()),
        "the renewed ID token is the subject"
    );
    assert_eq!(session.claims().exp, secs(now()) + 600);
    assert_eq!(
        session
            .refresh_token()
            .map(|t| t.expose_secret().to_owned()),
        Some(NEW_REFRESH.to_owned())
    );
    assert_eq!(
        told.load(Ordering::SeqCst),
        1,
        "the application was told once"
    );
    assert_eq!(servers.count("GET", JWKS), 1, "the keys fetched once");
}

#[test]
fn a_rotated_refresh_token_is_kept_even_when_the_exchange_then_fails() {
    let key = SigningKey::generate_es256("k1").expect("key");
    let (session, told) = session(&key, secs(now()) - 10);
    let mut servers = world(
        &key,
        {
            let key = key.clone();
            move |_| renewed(&key, "alice")
        },
        |_| oauth_error(400, "invalid_target"),
    );
    let user = User::new(Principal::key("alice"), Arc::new(session.clone()));
    let outcome = token(&Authorizer::new(by_issuer()), &user, &mut servers, now());
    assert!(
        matches!(
            &outcome,
            Err(Error::OAuth {
                purpose: Purpose::TokenExchange,
                ..
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(
        session
            .refresh_token()
            .map(|t| t.expose_secret().to_owned()),
        Some(NEW_REFRESH.to_owned()),
        "the old refresh token is void once rotated"
    );
    assert_eq!(told.load(Ordering::SeqCst), 1);
}

#[test]
fn invalid_grant_on_the_refresh_means_signing_in_again_and_nothing_goes_further() {
    let key = SigningKey::generate_es256("k1").expect("key");
    let (session, told) = session(&key, secs(now()) - 10);
    let mut servers = world(
        &key,
        |_| oauth_error(400, "invalid_grant"),
        |_| panic!("no exchange after a refused refresh"),
    );
    let user = User::new(Principal::key("alice"), Arc::new(session.clone()));
    let outcome = token(&Authorizer::new(by_issuer()), &user, &mut servers, now());
    assert_reauthentication(outcome);
    assert_eq!(grants(&servers), [REFRESH_GRANT]);
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
    assert_eq!(told.load(Ordering::SeqCst), 0);
    assert_eq!(
        session
            .refresh_token()
            .map(|t| t.expose_secret().to_owned()),
        Some(OLD_REFRESH.to_owned())
    );
}

fn assert_reauthentication(outcome: Result<AccessToken, Error>) {
    assert!(
        matches!(
            &outcome,
            Err(Error::ReauthenticationRequired {
                purpose: Purpose::Refresh,
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[test]
fn an_id_token_the_idp_refuses_is_renewed_once_then_the_exchange_retried() {
    let key = SigningKey::generate_es256("k1").expect("key");
    // Still valid for ten minutes, but the IdP ended it.
    let (session, told) = session(&key, secs(now()) + 600);
    let mut exchanges = 0;
    let mut servers = world(
        &key,
        {
            let key = key.clone();
            move |_| renewed(&key, "alice")
        },
        move |_| {
            exchanges += 1;
            if exchanges == 1 {
                oauth_error(400, "invalid_grant")
            } else {
                json_response(200, exchange_response())
            }
        },
    );
    let user = User::new(Principal::key("alice"), Arc::new(session.clone()));
    token(&Authorizer::new(by_issuer()), &user, &mut servers, now()).expect("a token");
    assert_eq!(
        grants(&servers),
        [EXCHANGE_GRANT, REFRESH_GRANT, EXCHANGE_GRANT]
    );
    assert_eq!(told.load(Ordering::SeqCst), 1);
}

#[test]
fn a_renewed_id_token_for_another_person_is_refused_before_the_exchange() {
    let key = SigningKey::generate_es256("k1").expect("key");
    let (session, told) = session(&key, secs(now()) - 10);
    let mut servers = world(
        &key,
        {
            let key = key.clone();
            move |_| renewed(&key, "mallory")
        },
        |_| panic!("no exchange with another person's ID token"),
    );
    let user = User::new(Principal::key("alice"), Arc::new(session.clone()));
    let outcome = token(&Authorizer::new(by_issuer()), &user, &mut servers, now());
    assert!(
        matches!(
            &outcome,
            Err(Error::InvalidResponse {
                purpose: Purpose::Refresh,
                ..
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(told.load(Ordering::SeqCst), 0, "nothing taken");
    assert_eq!(session.claims().sub, "alice");
}

#[test]
fn without_a_refresh_token_an_expired_session_sends_nothing() {
    let key = SigningKey::generate_es256("k1").expect("key");
    let exp = secs(now()) - 10;
    let (with_token, _) = session(&key, exp);
    let session = SignInSession::from_parts(
        with_token.id_token(),
        with_token.claims(),
        None,
        IdpKeys::new(),
    );
    let mut servers = Servers::empty();
    let user = User::new(Principal::key("alice"), Arc::new(session));
    let outcome = token(&Authorizer::new(by_issuer()), &user, &mut servers, now());
    assert!(
        matches!(&outcome, Err(Error::ReauthenticationRequired { .. })),
        "{outcome:?}"
    );
    assert!(servers.log.is_empty(), "nothing sent");
}

#[test]
fn an_idp_known_only_by_its_token_endpoint_cannot_renew() {
    let key = SigningKey::generate_es256("k1").expect("key");
    let (session, _) = session(&key, secs(now()) - 10);
    let authorizer = Authorizer::new(config(IdentityProvider::token_endpoint(
        IDP_TOKEN,
        ClientCredentials::public(IDP_CLIENT),
    )));
    let user = User::new(Principal::key("alice"), Arc::new(session));
    let mut servers = Servers::empty();
    let outcome = token(&authorizer, &user, &mut servers, now());
    assert!(matches!(&outcome, Err(Error::Config(_))), "{outcome:?}");
    assert!(servers.log.is_empty(), "nothing sent");
}
