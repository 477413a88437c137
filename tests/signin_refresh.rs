//! Renewal with a refresh token (RFC 6749 section 6, OpenID Connect Core 1.0 section 12) and
//! revocation (RFC 7009): the exact requests, rotation, the renewed ID token's section 12.2
//! checks with real signatures, and `invalid_grant` ending the session.
#![cfg(all(feature = "signin", feature = "jwt"))]

mod signin_support;

use serde_json::{Value, json};
use signin_support::*;
use xaa::jose::{SigningKey, sign_jwt};
use xaa::signin::{
    IdTokenClaims, IdTokenError, IdpKeys, Refresh, Renewal, Revocation, SignInClient,
};
use xaa::{
    ClientCredentials, ClientSecret, Error, Policy, Purpose, RefreshToken, Scope, Violation,
};

fn first_claims() -> IdTokenClaims {
    let now = secs(now());
    serde_json::from_value(json!({
        "iss": IDP, "sub": "alice", "aud": [CLIENT], "azp": null, "exp": now - 100,
        "iat": now - 3700, "auth_time": now - 3800, "nonce": "n-0",
    }))
    .expect("claims")
}

fn renewed(changes: Value) -> Value {
    let now = secs(now());
    let mut claims = json!({"iss": IDP, "sub": "alice", "aud": CLIENT, "exp": now + 3600, "iat": now, "auth_time": now - 3800});
    for (name, value) in changes.as_object().expect("object") {
        if value.is_null() {
            claims.as_object_mut().expect("object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn refresh_with(
    client: &SignInClient,
    scope: Option<&Scope>,
    answer: http::Response<Vec<u8>>,
    key: &SigningKey,
) -> (Result<Renewal, Error>, FakeIdp) {
    let mut idp = FakeIdp::default();
    idp.token_answers.push_back(answer);
    idp.jwks_answers
        .push_back(json_response(200, key.jwks().to_json()));
    let mut flow = Refresh::new(
        client,
        IdpKeys::new(),
        RefreshToken::new("rt-old"),
        first_claims(),
        scope,
    )
    .expect("flow");
    let outcome = idp.run(&mut flow, now());
    (outcome, idp)
}

fn key() -> SigningKey {
    SigningKey::generate_es256("r1").expect("key")
}

#[test]
fn a_rotated_refresh_token_replaces_the_old_one() {
    let key = key();
    let token = sign_jwt(&key, "JWT", &renewed(json!({}))).expect("signed");
    let answer = json_response(
        200,
        json!({"id_token": token, "access_token": "at-2", "token_type": "Bearer", "refresh_token": "rt-new", "expires_in": 600}),
    );
    let (outcome, idp) = refresh_with(
        &client(),
        Some(&Scope::parse("openid offline_access")),
        answer,
        &key,
    );
    let renewal = outcome.expect("renewed");
    assert!(renewal.rotated);
    assert_eq!(renewal.refresh_token.expose_secret(), "rt-new");
    let (id_token, claims) = renewal.id_token.as_ref().expect("a new ID token");
    assert_eq!(
        (id_token.expose_secret(), claims.sub.as_str()),
        (token.as_str(), "alice")
    );
    assert_eq!(idp.purposes(), [Purpose::Refresh, Purpose::IdpKeys]);
    let post = &idp.log[0];
    assert_eq!((post.method.as_str(), post.url.as_str()), ("POST", TOKEN));
    assert_eq!(
        post.form,
        pairs(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-old"),
            ("scope", "openid offline_access"),
            ("client_id", CLIENT),
        ])
    );
    assert!(!format!("{renewal:?}").contains("rt-new"));
}

#[test]
fn without_rotation_the_old_token_is_kept_and_no_id_token_is_fine() {
    let key = key();
    let answer = json_response(200, json!({"access_token": "at-2", "token_type": "Bearer"}));
    let (outcome, idp) = refresh_with(&client(), None, answer, &key);
    let renewal = outcome.expect("renewed");
    assert!(!renewal.rotated);
    assert_eq!(renewal.refresh_token.expose_secret(), "rt-old");
    assert!(renewal.id_token.is_none());
    assert_eq!(idp.purposes(), [Purpose::Refresh], "no ID token, no keys");
    assert_eq!(idp.log[0].form_value("scope"), None);
    let same = json_response(200, json!({"refresh_token": "rt-old"}));
    assert!(
        !refresh_with(&client(), None, same, &key)
            .0
            .expect("renewed")
            .rotated
    );
}

#[test]
fn offline_access_is_dropped_from_the_scope_when_the_idp_does_not_list_it() {
    let key = key();
    let client = client_with(metadata_with(json!({"scopes_supported": ["openid"]})));
    let answer = json_response(200, json!({}));
    let (_, idp) = refresh_with(
        &client,
        Some(&Scope::parse("openid offline_access")),
        answer,
        &key,
    );
    assert_eq!(idp.log[0].form_value("scope"), Some("openid"));
}

#[test]
fn invalid_grant_ends_the_session() {
    let (outcome, _) = refresh_with(
        &client(),
        None,
        json_response(
            400,
            json!({"error": "invalid_grant", "error_description": "revoked"}),
        ),
        &key(),
    );
    assert_reauthentication_required(outcome, Purpose::Refresh);
    let (outcome, _) = refresh_with(&client(), None, oauth_error(401, "invalid_client"), &key());
    assert!(
        matches!(
            outcome,
            Err(Error::OAuth {
                purpose: Purpose::Refresh,
                status: 401,
                ..
            })
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_renewed_id_token_must_name_the_same_person_for_the_same_client() {
    let key = key();
    let cases = [
        (
            renewed(json!({"sub": "mallory"})),
            IdTokenError::ChangedOnRenewal("sub"),
        ),
        (
            renewed(json!({"aud": [CLIENT, "x"], "azp": CLIENT})),
            IdTokenError::ChangedOnRenewal("aud"),
        ),
        (
            renewed(json!({"azp": CLIENT})),
            IdTokenError::ChangedOnRenewal("azp"),
        ),
        (
            renewed(json!({"auth_time": secs(now())})),
            IdTokenError::ChangedOnRenewal("auth_time"),
        ),
        (renewed(json!({"nonce": "n-other"})), IdTokenError::Nonce),
        (
            renewed(json!({"iss": "https://other.example.com"})),
            IdTokenError::Issuer {
                found: "https://other.example.com".into(),
            },
        ),
        (renewed(json!({"exp": secs(now())})), IdTokenError::Expired),
    ];
    for (claims, expected) in cases {
        let token = sign_jwt(&key, "JWT", &claims).expect("signed");
        let (outcome, _) = refresh_with(
            &client(),
            None,
            json_response(200, json!({"id_token": token})),
            &key,
        );
        match outcome {
            Err(Error::InvalidResponse {
                purpose: Purpose::Refresh,
                violation: Violation::IdToken(error),
            }) => {
                assert_eq!(error, expected, "{claims}");
            }
            other => panic!("{claims}: {other:?}"),
        }
    }
    for accepted in [
        renewed(json!({"nonce": "n-0"})),
        renewed(json!({"auth_time": null})),
    ] {
        let token = sign_jwt(&key, "JWT", &accepted).expect("signed");
        let (outcome, _) = refresh_with(
            &client(),
            None,
            json_response(200, json!({"id_token": token})),
            &key,
        );
        assert!(outcome.is_ok(), "{accepted}: {outcome:?}");
    }
}

#[test]
fn revocation_posts_the_token_with_its_hint_and_client_authentication() {
    let client = SignInClient::new(
        metadata_with(json!({})),
        ClientCredentials::post(CLIENT, ClientSecret::new("pw")),
        &Policy::default(),
    )
    .expect("client");
    let mut idp = FakeIdp::default();
    idp.revoke_answers.push_back(json_response(200, json!({})));
    let mut flow = Revocation::new(&client, RefreshToken::new("rt-9")).expect("flow");
    idp.run(&mut flow, now()).expect("revoked");
    let post = &idp.log[0];
    assert_eq!(
        (post.purpose, post.method.as_str(), post.url.as_str()),
        (Purpose::Revocation, "POST", REVOKE)
    );
    assert_eq!(
        post.form,
        pairs(&[
            ("token", "rt-9"),
            ("token_type_hint", "refresh_token"),
            ("client_id", CLIENT),
            ("client_secret", "pw"),
        ])
    );
    idp.revoke_answers
        .push_back(oauth_error(503, "unsupported_token_type"));
    let mut flow = Revocation::new(&client, RefreshToken::new("rt-9")).expect("flow");
    let refused = idp.run(&mut flow, now());
    assert!(
        matches!(
            refused,
            Err(Error::OAuth {
                purpose: Purpose::Revocation,
                status: 503,
                ..
            })
        ),
        "{refused:?}"
    );
    let without = client_with(metadata_with(json!({"revocation_endpoint": null})));
    assert!(matches!(
        Revocation::new(&without, RefreshToken::new("x")),
        Err(Error::Config(_))
    ));
}
