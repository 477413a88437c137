//! Client authentication at a token endpoint (RFC 6749 section 2.3, RFC 7523 sections 2.2
//! and 3): each method's success and failures, run against the MCP authorization server.
#![cfg(feature = "jwt")]

mod server_support;

use std::sync::Arc;

use serde_json::{Map, Value, json};
use server_support::*;
use xaa::ClientSecret;
use xaa::ErrorCode;
use xaa::jose::SigningKey;
use xaa::jose::sign_jwt;
use xaa::server::{
    AuthorizationServerEndpoint, ClientAuthFault, ClientRegistry, RegisteredClient, RejectReason,
    Rejection, TokenFault,
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const PUBLIC_ID: &str = "public-client";
const POST_ID: &str = "post-client";
const JWT_ID: &str = "jwt-client";

/// Clients of every method; each may present an ID-JAG naming it.
fn server() -> AuthorizationServerEndpoint {
    let clients = ClientRegistry::new()
        .with(RegisteredClient::client_secret_basic(
            CLIENT_ID,
            ClientSecret::new(CLIENT_SECRET),
        ))
        .with(RegisteredClient::client_secret_post(
            POST_ID,
            ClientSecret::new("post-secret"),
        ))
        .with(RegisteredClient::public(PUBLIC_ID))
        .with(RegisteredClient::private_key_jwt(
            JWT_ID,
            Arc::new(client_key().key_ring()),
        ));
    authorization_server(as_config(), clients).0
}

fn id_jag_for(client_id: &str) -> String {
    id_jag(&claims_with(|c| {
        c.insert("client_id".into(), json!(client_id));
    }))
}

fn post(pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> http::Request<Vec<u8>> {
    form_post(AS_TOKEN_ENDPOINT, pairs, basic)
}

fn refused(
    request: &http::Request<Vec<u8>>,
    code: ErrorCode,
    status: u16,
    reason: RejectReason,
) -> (Box<Rejection>, http::Response<Vec<u8>>) {
    let rejection = server().process(request, now()).expect_err("refused");
    assert_eq!(rejection.reason, reason);
    assert_eq!(rejection.error.code, code);
    assert_eq!(rejection.status.as_u16(), status);
    let response = rejection.to_response();
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(body_json(&response)["error"], json!(code.as_str()));
    (rejection, response)
}

/// A Basic failure: 401 invalid_client with `WWW-Authenticate: Basic`.
fn basic_refused(request: &http::Request<Vec<u8>>, fault: ClientAuthFault) {
    let (_, response) = refused(
        request,
        ErrorCode::InvalidClient,
        401,
        RejectReason::ClientAuthentication(fault),
    );
    assert_eq!(
        header(&response, "www-authenticate"),
        Some(r#"Basic realm="https://as.example.com""#)
    );
    assert_eq!(
        body_json(&response)["error_description"],
        json!("client authentication failed")
    );
}

/// A failure without the Authorization header: 401 invalid_client, no challenge.
fn body_auth_refused(request: &http::Request<Vec<u8>>, reason: RejectReason) {
    let (_, response) = refused(request, ErrorCode::InvalidClient, 401, reason);
    assert_eq!(header(&response, "www-authenticate"), None);
}

// ---------------------------------------------------------------------------------------------
// client_secret_basic

#[test]
fn basic_with_the_right_secret_is_accepted() {
    let granted = server()
        .process(&jwt_bearer(&id_jag(&id_jag_claims())), now())
        .expect("accepted");
    assert_eq!(granted.grant.client_id, CLIENT_ID);
}

#[test]
fn basic_form_decodes_id_and_secret() {
    let id = "client with:colon";
    let secret = "s&cr=t:%";
    let clients = ClientRegistry::new().with(RegisteredClient::client_secret_basic(
        id,
        ClientSecret::new(secret),
    ));
    let (server, _) = authorization_server(as_config(), clients);
    let request = post(
        &[("grant_type", JWT_BEARER), ("assertion", &id_jag_for(id))],
        Some((id, secret)),
    );
    let granted = server.process(&request, now()).expect("accepted");
    assert_eq!(granted.grant.client_id, id);
}

#[test]
fn basic_with_a_wrong_secret_is_401_with_a_basic_challenge() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_for(CLIENT_ID)),
        ],
        Some((CLIENT_ID, "wrong")),
    );
    basic_refused(&request, ClientAuthFault::SecretMismatch);
}

#[test]
fn basic_with_an_unknown_client_is_401_with_a_basic_challenge() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_for("nobody")),
        ],
        Some(("nobody", "x")),
    );
    basic_refused(
        &request,
        ClientAuthFault::UnknownClient {
            client_id: "nobody".into(),
        },
    );
}

#[test]
fn malformed_basic_and_other_schemes_are_401_with_a_basic_challenge() {
    for value in ["Basic !!!", "Basic bm9jb2xvbg", "Bearer abc"] {
        let request = http::Request::post(AS_TOKEN_ENDPOINT)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", value)
            .body(form::encode(&[
                ("grant_type", JWT_BEARER),
                ("assertion", "a.b.c"),
            ]))
            .expect("request");
        basic_refused(&request, ClientAuthFault::MalformedAuthorization);
    }
}

#[test]
fn basic_used_by_a_post_client_is_method_not_allowed() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_for(POST_ID)),
        ],
        Some((POST_ID, "post-secret")),
    );
    basic_refused(
        &request,
        ClientAuthFault::MethodNotAllowed {
            registered: "client_secret_post",
            used: "client_secret_basic",
        },
    );
}

#[test]
fn body_client_id_disagreeing_with_basic_is_invalid_request() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", "a.b.c"),
            ("client_id", "other"),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    let (_, response) = refused(
        &request,
        ErrorCode::InvalidRequest,
        400,
        RejectReason::ClientAuthentication(ClientAuthFault::ClientIdMismatch),
    );
    assert_eq!(header(&response, "www-authenticate"), None);
}

#[test]
fn basic_and_post_together_are_invalid_request() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", "a.b.c"),
            ("client_secret", CLIENT_SECRET),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    refused(
        &request,
        ErrorCode::InvalidRequest,
        400,
        RejectReason::ClientAuthentication(ClientAuthFault::MultipleMethods),
    );
}

// ---------------------------------------------------------------------------------------------
// client_secret_post

#[test]
fn post_with_the_right_secret_is_accepted() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_for(POST_ID)),
            ("client_id", POST_ID),
            ("client_secret", "post-secret"),
        ],
        None,
    );
    let granted = server().process(&request, now()).expect("accepted");
    assert_eq!(granted.grant.client_id, POST_ID);
}

#[test]
fn post_with_a_wrong_secret_is_401_without_a_challenge() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", "a.b.c"),
            ("client_id", POST_ID),
            ("client_secret", "nope"),
        ],
        None,
    );
    body_auth_refused(
        &request,
        RejectReason::ClientAuthentication(ClientAuthFault::SecretMismatch),
    );
}

#[test]
fn post_used_by_a_basic_client_is_method_not_allowed() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", "a.b.c"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ],
        None,
    );
    body_auth_refused(
        &request,
        RejectReason::ClientAuthentication(ClientAuthFault::MethodNotAllowed {
            registered: "client_secret_basic",
            used: "client_secret_post",
        }),
    );
}

#[test]
fn post_without_client_id_is_missing_credentials() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", "a.b.c"),
            ("client_secret", "x"),
        ],
        None,
    );
    body_auth_refused(
        &request,
        RejectReason::ClientAuthentication(ClientAuthFault::MissingCredentials),
    );
}

// ---------------------------------------------------------------------------------------------
// none

#[test]
fn public_client_with_only_its_id_is_accepted() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_for(PUBLIC_ID)),
            ("client_id", PUBLIC_ID),
        ],
        None,
    );
    let granted = server().process(&request, now()).expect("accepted");
    assert_eq!(granted.grant.client_id, PUBLIC_ID);
}

#[test]
fn confidential_client_without_its_secret_is_refused() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", "a.b.c"),
            ("client_id", CLIENT_ID),
        ],
        None,
    );
    body_auth_refused(
        &request,
        RejectReason::ClientAuthentication(ClientAuthFault::MethodNotAllowed {
            registered: "client_secret_basic",
            used: "none",
        }),
    );
}

#[test]
fn no_client_at_all_is_missing_credentials() {
    let request = post(&[("grant_type", JWT_BEARER), ("assertion", "a.b.c")], None);
    body_auth_refused(
        &request,
        RejectReason::ClientAuthentication(ClientAuthFault::MissingCredentials),
    );
}

// ---------------------------------------------------------------------------------------------
// private_key_jwt

fn assertion_claims() -> Map<String, Value> {
    let Value::Object(claims) = json!({
        "iss": JWT_ID,
        "sub": JWT_ID,
        "aud": AS_TOKEN_ENDPOINT,
        "jti": fresh_jti(),
        "iat": NOW,
        "exp": NOW + 60,
    }) else {
        unreachable!()
    };
    claims
}

fn assertion_with(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut claims = assertion_claims();
    edit(&mut claims);
    sign_jwt(client_key(), "JWT", &claims).expect("signs")
}

fn with_assertion(assertion: &str) -> http::Request<Vec<u8>> {
    post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_for(JWT_ID)),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
        None,
    )
}

fn assertion_refused(assertion: &str, fault: TokenFault) {
    body_auth_refused(
        &with_assertion(assertion),
        RejectReason::ClientAssertion(fault),
    );
}

#[test]
fn private_key_jwt_is_accepted_with_either_audience() {
    let server = server();
    let granted = server
        .process(&with_assertion(&assertion_with(|_| {})), now())
        .expect("accepted");
    assert_eq!(granted.grant.client_id, JWT_ID);
    let to_issuer = assertion_with(|c| {
        c.insert("aud".into(), json!(AS_ISSUER));
    });
    let granted = server
        .process(&with_assertion(&to_issuer), now())
        .expect("an assertion to the issuer is accepted too");
    assert_eq!(granted.grant.client_id, JWT_ID);
}

#[test]
fn private_key_jwt_signed_by_another_key_is_refused() {
    let other = SigningKey::generate_es256("client-key-1").expect("key");
    let token = sign_jwt(&other, "JWT", &assertion_claims()).expect("signs");
    assertion_refused(&token, TokenFault::BadSignature);
}

#[test]
fn private_key_jwt_with_an_unknown_kid_is_unknown_key() {
    let other = SigningKey::generate_es256("client-key-9").expect("key");
    let token = sign_jwt(&other, "JWT", &assertion_claims()).expect("signs");
    assertion_refused(
        &token,
        TokenFault::UnknownKey {
            iss: JWT_ID.into(),
            kid: Some("client-key-9".into()),
        },
    );
}

#[test]
fn private_key_jwt_with_a_wrong_audience_is_refused() {
    let token = assertion_with(|c| {
        c.insert("aud".into(), json!("https://idp.example.com/token"));
    });
    assertion_refused(
        &token,
        TokenFault::Audience {
            found: r#""https://idp.example.com/token""#.into(),
        },
    );
}

#[test]
fn private_key_jwt_expired_is_refused() {
    let token = assertion_with(|c| {
        c.insert("iat".into(), json!(NOW - 200));
        c.insert("exp".into(), json!(NOW - 100));
    });
    assertion_refused(&token, TokenFault::Expired { exp: NOW - 100 });
}

#[test]
fn private_key_jwt_replayed_jti_is_refused() {
    let server = server();
    let token = assertion_with(|_| {});
    let granted = server
        .process(&with_assertion(&token), now())
        .expect("the first use is accepted");
    assert_eq!(granted.grant.client_id, JWT_ID);
    let jti = xaa::jwt::peek(&token)
        .expect("peek")
        .claim_str("jti")
        .expect("jti")
        .to_owned();
    let rejection = server
        .process(&with_assertion(&token), now())
        .expect_err("replay");
    assert_eq!(
        rejection.reason,
        RejectReason::ClientAssertion(TokenFault::Replayed { jti })
    );
    assert_eq!(rejection.status, 401);
}

#[test]
fn private_key_jwt_with_iss_not_the_client_is_refused() {
    let token = assertion_with(|c| {
        c.insert("iss".into(), json!("someone-else"));
    });
    assertion_refused(
        &token,
        TokenFault::ClaimMismatch {
            claim: "iss",
            found: "someone-else".into(),
        },
    );
}

#[test]
fn private_key_jwt_without_jti_is_refused() {
    assertion_refused(
        &assertion_with(|c| drop(c.remove("jti"))),
        TokenFault::MissingClaim("jti"),
    );
}

#[test]
fn private_key_jwt_with_alg_none_is_refused() {
    let header = json!({"alg": "none", "typ": "JWT"});
    let token = format!(
        "{}.{}.",
        xaa::jwt::encode_segment(&header),
        xaa::jwt::encode_segment(&assertion_claims())
    );
    assertion_refused(
        &token,
        TokenFault::AlgorithmNotAllowed {
            alg: Some("none".into()),
        },
    );
}

#[test]
fn unsupported_assertion_type_is_refused() {
    let request = post(
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", "a.b.c"),
            ("client_assertion_type", "urn:example:saml"),
            ("client_assertion", &assertion_with(|_| {})),
        ],
        None,
    );
    body_auth_refused(
        &request,
        RejectReason::ClientAuthentication(ClientAuthFault::UnsupportedAssertionType(
            "urn:example:saml".into(),
        )),
    );
}

#[test]
fn private_key_jwt_by_a_secret_client_is_method_not_allowed() {
    let token = sign_jwt(
        client_key(),
        "JWT",
        &json!({"iss": POST_ID, "sub": POST_ID, "aud": AS_TOKEN_ENDPOINT, "jti": "x", "iat": NOW, "exp": NOW + 60}),
    )
    .expect("signs");
    body_auth_refused(
        &with_assertion(&token),
        RejectReason::ClientAuthentication(ClientAuthFault::MethodNotAllowed {
            registered: "client_secret_post",
            used: "private_key_jwt",
        }),
    );
}
