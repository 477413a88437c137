//! The code exchange and the ID token's validation (OpenID Connect Core 1.0 sections 3.1.3
//! and 3.1.3.7) with real signatures: keys generated here, the JWK Set served by the fake
//! IdP, and one refusal per rule.
#![cfg(all(feature = "signin", feature = "jwt"))]

mod signin_support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use signin_support::*;
use xaa::jose::{JwsError, SharedKey, SharedKeyAlgorithm, SigningKey, TokenSigner, sign_jwt};
use xaa::signin::{
    AuthorizationRequest, CodeExchange, IdTokenError, IdpKeys, PendingSignIn, SignIn, SignInClient,
    SignInOptions, sha256,
};
use xaa::{ClientCredentials, ClientSecret, Error, Policy, Purpose, Violation};

fn key(kid: &str) -> SigningKey {
    SigningKey::generate_es256(kid).expect("a key")
}

fn jwks_response(keys: &[&SigningKey]) -> http::Response<Vec<u8>> {
    let jwks: Vec<Value> = keys
        .iter()
        .map(|k| k.jwks().to_json()["keys"][0].clone())
        .collect();
    json_response(200, json!({ "keys": jwks }))
}

fn signed(signer: &dyn TokenSigner, claims: &Value) -> String {
    sign_jwt(signer, "JWT", claims).expect("signed")
}

/// The ID token claims the happy path expects: the nonce is the third draw.
fn claims() -> Value {
    let now = secs(now());
    json!({
        "iss": IDP, "sub": "alice", "aud": CLIENT, "exp": now + 600, "iat": now - 10,
        "auth_time": now - 60, "nonce": drawn(3),
    })
}

fn with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().expect("object") {
        if value.is_null() {
            claims.as_object_mut().expect("object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn token_response(id_token: &str) -> http::Response<Vec<u8>> {
    json_response(
        200,
        json!({
            "id_token": id_token, "access_token": "at-1", "token_type": "Bearer",
            "refresh_token": "rt-1", "expires_in": 3600, "scope": "openid profile",
        }),
    )
}

fn pending(client: &SignInClient, options: &SignInOptions) -> PendingSignIn {
    AuthorizationRequest::new(client, REDIRECT, options, &counting_random(), &sha256)
        .expect("request")
        .into_parts()
        .1
}

/// Exchanges code `c-1` for `id_token`, the JWK Set holding `served`.
fn exchange_with(
    client: &SignInClient,
    options: &SignInOptions,
    keys: &IdpKeys,
    id_token: &str,
    served: &[&SigningKey],
) -> (Result<SignIn, Error>, FakeIdp) {
    let pending = pending(client, options);
    let code = pending
        .accept(&format!("state={}&code=c-1", drawn(2)))
        .expect("code");
    let mut idp = FakeIdp::default();
    idp.token_answers.push_back(token_response(id_token));
    idp.jwks_answers.push_back(jwks_response(served));
    let mut flow = CodeExchange::new(client, keys.clone(), pending, code).expect("flow");
    let outcome = idp.run(&mut flow, now());
    (outcome, idp)
}

fn exchange(id_token: &str, served: &[&SigningKey]) -> (Result<SignIn, Error>, FakeIdp) {
    exchange_with(
        &client(),
        &SignInOptions::default(),
        &IdpKeys::new(),
        id_token,
        served,
    )
}

fn refused(outcome: Result<SignIn, Error>) -> IdTokenError {
    match outcome {
        Err(Error::InvalidResponse {
            purpose: Purpose::CodeExchange,
            violation: Violation::IdToken(error),
        }) => error,
        other => panic!("not an ID token refusal: {other:?}"),
    }
}

#[test]
fn the_exchange_sends_the_exact_form_and_checks_the_id_token() {
    let k1 = key("k1");
    let token = signed(&k1, &claims());
    let (outcome, idp) = exchange(&token, &[&k1]);
    let sign_in = outcome.expect("signed in");
    assert_eq!(sign_in.id_token.expose_secret(), token);
    assert_eq!(sign_in.claims.sub, "alice");
    assert_eq!(sign_in.claims.nonce.as_deref(), Some(drawn(3).as_str()));
    let (access_token, token_type) = sign_in.access_token.as_ref().expect("access token");
    assert_eq!(
        (access_token.expose_secret(), token_type.as_str()),
        ("at-1", "Bearer")
    );
    assert_eq!(
        sign_in.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("rt-1")
    );
    assert_eq!(
        sign_in.access_token_expires_at,
        Some(now() + Duration::from_secs(3600))
    );
    assert_eq!(idp.purposes(), [Purpose::CodeExchange, Purpose::IdpKeys]);
    let post = &idp.log[0];
    assert_eq!((post.method.as_str(), post.url.as_str()), ("POST", TOKEN));
    assert_eq!(
        post.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(post.authorization, None);
    assert_eq!(
        post.form,
        pairs(&[
            ("grant_type", "authorization_code"),
            ("code", "c-1"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &drawn(1)),
            ("client_id", CLIENT),
        ])
    );
    let get = &idp.log[1];
    assert_eq!(
        (get.method.as_str(), get.url.as_str(), get.form.len()),
        ("GET", JWKS, 0)
    );
    let shown = format!("{sign_in:?}");
    for secret in [token.as_str(), "at-1", "rt-1"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn the_challenge_is_s256_of_the_verifier() {
    // RFC 7636 appendix B.
    let challenge = URL_SAFE_NO_PAD.encode(sha256(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    let request = AuthorizationRequest::new(
        &client(),
        REDIRECT,
        &SignInOptions::default(),
        &counting_random(),
        &sha256,
    )
    .expect("request");
    let sent = request
        .url()
        .query_pairs()
        .find(|(n, _)| n == "code_challenge")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        sent,
        Some(URL_SAFE_NO_PAD.encode(sha256(drawn(1).as_bytes())))
    );
}

#[test]
fn a_confidential_client_authenticates_with_basic_and_sends_no_client_id() {
    let client = SignInClient::new(
        metadata_with(json!({})),
        ClientCredentials::basic(CLIENT, ClientSecret::new("s3cret")),
        &Policy::default(),
    )
    .expect("client");
    let k1 = key("k1");
    let (outcome, idp) = exchange_with(
        &client,
        &SignInOptions::default(),
        &IdpKeys::new(),
        &signed(&k1, &claims()),
        &[&k1],
    );
    outcome.expect("signed in");
    let post = &idp.log[0];
    assert_eq!(
        post.authorization.as_deref(),
        Some("Basic eGFhLWNsaTpzM2NyZXQ=")
    );
    assert_eq!(post.form_value("client_id"), None);
    assert_eq!(post.form_value("client_secret"), None);
}

#[test]
fn known_keys_are_reused_and_a_rotated_key_is_fetched_exactly_once() {
    let (k1, k2) = (key("k1"), key("k2"));
    let keys = IdpKeys::new();
    let (first, idp) = exchange_with(
        &client(),
        &SignInOptions::default(),
        &keys,
        &signed(&k1, &claims()),
        &[&k1],
    );
    first.expect("signed in");
    assert_eq!(idp.purposes(), [Purpose::CodeExchange, Purpose::IdpKeys]);
    let (second, idp) = exchange_with(
        &client(),
        &SignInOptions::default(),
        &keys,
        &signed(&k1, &claims()),
        &[&k1],
    );
    second.expect("signed in");
    assert_eq!(
        idp.purposes(),
        [Purpose::CodeExchange],
        "the cached key serves"
    );
    let (rotated, idp) = exchange_with(
        &client(),
        &SignInOptions::default(),
        &keys,
        &signed(&k2, &claims()),
        &[&k1, &k2],
    );
    rotated.expect("signed in with the new key");
    assert_eq!(idp.purposes(), [Purpose::CodeExchange, Purpose::IdpKeys]);
}

#[test]
fn an_unknown_kid_is_refused_after_exactly_one_refetch() {
    let (k1, stranger) = (key("k1"), key("k9"));
    let keys = IdpKeys::new();
    keys.ring().replace(k1.jwks().verifying_keys());
    let (outcome, idp) = exchange_with(
        &client(),
        &SignInOptions::default(),
        &keys,
        &signed(&stranger, &claims()),
        &[&k1],
    );
    assert_eq!(
        refused(outcome),
        IdTokenError::Signature(JwsError::UnknownKey {
            kid: Some("k9".into())
        })
    );
    assert_eq!(idp.purposes(), [Purpose::CodeExchange, Purpose::IdpKeys]);
}

#[test]
fn a_bad_signature_is_refused() {
    let (k1, impostor) = (key("k1"), key("k1"));
    let (outcome, _) = exchange(&signed(&impostor, &claims()), &[&k1]);
    assert_eq!(
        refused(outcome),
        IdTokenError::Signature(JwsError::BadSignature)
    );
}

#[test]
fn alg_none_and_hs256_are_refused_without_fetching_keys() {
    let claims_segment = URL_SAFE_NO_PAD.encode(claims().to_string());
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#);
    let (outcome, idp) = exchange(&format!("{header}.{claims_segment}."), &[]);
    assert_eq!(
        refused(outcome),
        IdTokenError::Signature(JwsError::AlgorithmNotAllowed {
            alg: Some("none".into())
        })
    );
    assert_eq!(idp.purposes(), [Purpose::CodeExchange]);
    let shared = SharedKey::new(&[9u8; 32], SharedKeyAlgorithm::Hs256, Some("k1")).expect("key");
    let (outcome, idp) = exchange(&signed(&shared, &claims()), &[]);
    assert_eq!(
        refused(outcome),
        IdTokenError::Signature(JwsError::AlgorithmNotAllowed {
            alg: Some("HS256".into())
        })
    );
    assert_eq!(idp.purposes(), [Purpose::CodeExchange]);
}

#[test]
fn each_claim_rule_refuses_with_its_own_error() {
    let k1 = key("k1");
    let now = secs(now());
    let cases = [
        (
            with(json!({"iss": "https://evil.example.com"})),
            IdTokenError::Issuer {
                found: "https://evil.example.com".into(),
            },
        ),
        (
            with(json!({"iss": null})),
            IdTokenError::MissingClaim("iss"),
        ),
        (with(json!({"aud": "someone-else"})), IdTokenError::Audience),
        (
            with(json!({"aud": ["someone-else", "other"]})),
            IdTokenError::Audience,
        ),
        (
            with(json!({"aud": [CLIENT, "other"]})),
            IdTokenError::AuthorizedParty,
        ),
        (
            with(json!({"aud": [CLIENT, "other"], "azp": "other"})),
            IdTokenError::AuthorizedParty,
        ),
        (with(json!({"azp": "other"})), IdTokenError::AuthorizedParty),
        (with(json!({"nonce": drawn(9)})), IdTokenError::Nonce),
        (with(json!({"nonce": null})), IdTokenError::Nonce),
        (with(json!({"exp": now})), IdTokenError::Expired),
        (with(json!({"exp": now - 1})), IdTokenError::Expired),
        (
            with(json!({"exp": "soon"})),
            IdTokenError::MissingClaim("exp"),
        ),
        (with(json!({"iat": now + 61})), IdTokenError::IssuedInFuture),
        (
            with(json!({"iat": null})),
            IdTokenError::MissingClaim("iat"),
        ),
        (
            with(json!({"sub": null})),
            IdTokenError::MissingClaim("sub"),
        ),
        (
            with(json!({"sub": "a".repeat(256)})),
            IdTokenError::SubjectTooLong,
        ),
    ];
    for (claims, expected) in cases {
        let (outcome, _) = exchange(&signed(&k1, &claims), &[&k1]);
        assert_eq!(refused(outcome), expected, "{claims}");
    }
    for accepted in [
        with(json!({"iat": now + 60})),
        with(json!({"aud": [CLIENT, "other"], "azp": CLIENT})),
        with(json!({"aud": [CLIENT]})),
    ] {
        let (outcome, _) = exchange(&signed(&k1, &accepted), &[&k1]);
        assert!(outcome.is_ok(), "{accepted}: {outcome:?}");
    }
}

#[test]
fn max_age_requires_a_recent_auth_time() {
    let k1 = key("k1");
    let mut options = SignInOptions::default();
    options.max_age = Some(Duration::from_secs(300));
    let now = secs(now());
    let run = |claims: Value| {
        exchange_with(
            &client(),
            &options,
            &IdpKeys::new(),
            &signed(&k1, &claims),
            &[&k1],
        )
        .0
    };
    assert_eq!(
        refused(run(with(json!({"auth_time": null})))),
        IdTokenError::AuthTime
    );
    assert_eq!(
        refused(run(with(json!({"auth_time": now - 361})))),
        IdTokenError::AuthTime
    );
    assert!(
        run(with(json!({"auth_time": now - 360}))).is_ok(),
        "max_age plus the skew"
    );
    // Without max_age, auth_time may be absent.
    let (outcome, _) = exchange(&signed(&k1, &with(json!({"auth_time": null}))), &[&k1]);
    assert!(outcome.is_ok());
}

#[test]
fn a_repeated_claim_and_a_missing_id_token_are_refused() {
    let k1 = key("k1");
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k1"}"#);
    let body = claims().to_string();
    let doubled = body.replacen('{', r#"{"sub":"mallory","#, 1);
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(doubled));
    let signature = URL_SAFE_NO_PAD.encode(k1.sign(input.as_bytes()).expect("signature"));
    let (outcome, _) = exchange(&format!("{input}.{signature}"), &[&k1]);
    assert_eq!(refused(outcome), IdTokenError::Malformed);

    let pending = pending(&client(), &SignInOptions::default());
    let code = pending
        .accept(&format!("state={}&code=c-1", drawn(2)))
        .expect("code");
    let mut idp = FakeIdp::default();
    idp.token_answers.push_back(json_response(
        200,
        json!({"access_token": "at", "token_type": "Bearer"}),
    ));
    let mut flow = CodeExchange::new(&client(), IdpKeys::new(), pending, code).expect("flow");
    let outcome = idp.run(&mut flow, now());
    assert!(
        matches!(
            outcome,
            Err(Error::InvalidResponse {
                violation: Violation::MissingField("id_token"),
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_spent_code_means_signing_in_again() {
    let pending = pending(&client(), &SignInOptions::default());
    let code = pending
        .accept(&format!("state={}&code=c-1", drawn(2)))
        .expect("code");
    let mut idp = FakeIdp::default();
    idp.token_answers
        .push_back(oauth_error(400, "invalid_grant"));
    let mut flow = CodeExchange::new(&client(), IdpKeys::new(), pending, code).expect("flow");
    let outcome = idp.run(&mut flow, now());
    assert_reauthentication_required(outcome, Purpose::CodeExchange);
}

#[test]
fn an_idp_without_jwks_uri_cannot_check_id_tokens() {
    let client = client_with(metadata_with(json!({"jwks_uri": null})));
    let pending = pending(&client, &SignInOptions::default());
    let code = pending
        .accept(&format!("state={}&code=c-1", drawn(2)))
        .expect("code");
    let refused = CodeExchange::new(&client, IdpKeys::new(), pending, code);
    assert!(
        matches!(refused, Err(Error::Config(ref m)) if m.contains("jwks_uri")),
        "{refused:?}"
    );
}
