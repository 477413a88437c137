//! The MCP authorization server's jwt-bearer endpoint: one test per rule of protocol.md 3.3,
//! each with a request that breaks only that rule.
#![cfg(feature = "jwt")]

mod server_support;

use std::sync::Arc;

use serde_json::{Value, json};
use server_support::*;
use xaa::ErrorCode;
use xaa::jose::{AlgorithmAllowList, KeyRing, SharedKeyAlgorithm, sign_jwt};
use xaa::jose::{SharedKey, SigningKey};
use xaa::server::{
    AccessTokenGrant, AuthorizationServerEndpoint, RegisteredClient, RejectReason, Rejection,
    ReplayMode, ScopeFault, ServedResource, TokenFault, TrustedIssuer,
};
use xaa::{ClientSecret, Scope};

/// Runs the request, which must be refused, and checks the code, status, reason and the
/// rendered RFC 6749 section 5.2 response.
fn refused(
    server: &AuthorizationServerEndpoint,
    request: &http::Request<Vec<u8>>,
    code: ErrorCode,
    status: u16,
    reason: RejectReason,
) -> Box<Rejection> {
    let rejection = server.process(request, now()).expect_err("refused");
    assert_eq!(rejection.reason, reason);
    assert_eq!(rejection.error.code, code);
    assert_eq!(rejection.status.as_u16(), status);
    let response = rejection.to_response();
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(body_json(&response)["error"], json!(code.as_str()));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    rejection
}

/// What `request` was granted at `at`: the request must be accepted, and the test then checks
/// the grant itself, not only that there was one.
#[track_caller]
fn granted(
    server: &AuthorizationServerEndpoint,
    request: &http::Request<Vec<u8>>,
    at: std::time::SystemTime,
) -> AccessTokenGrant {
    match server.process(request, at) {
        Ok(granted) => granted.grant,
        Err(rejection) => panic!("refused: {:?}", rejection.reason),
    }
}

/// The grant is alice's, from `issuer`, for our client and the MCP server.
#[track_caller]
fn assert_alice_at_resource(grant: &AccessTokenGrant, issuer: &str) {
    assert_eq!(grant.issuer, issuer);
    assert_eq!(grant.subject, "alice");
    assert_eq!(grant.client_id, CLIENT_ID);
    assert_eq!(grant.resource, RESOURCE);
}

fn id_jag_refused(assertion: &str, fault: TokenFault) -> Box<Rejection> {
    let (server, _) = default_authorization_server();
    refused(
        &server,
        &jwt_bearer(assertion),
        ErrorCode::InvalidGrant,
        400,
        RejectReason::IdJag(fault),
    )
}

// ---------------------------------------------------------------------------------------------
// The accepted path.

#[test]
fn valid_id_jag_gets_the_exact_token_response() {
    let (server, recorder) = default_authorization_server();
    let claims = id_jag_claims();
    let response = server.handle(&jwt_bearer(&id_jag(&claims)), now());
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(header(&response, "pragma"), Some("no-cache"));
    assert_eq!(
        body_json(&response),
        json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "scope": "read write"})
    );
    let grant = recorder.last();
    assert_eq!(grant.issuer, IDP_ISSUER);
    assert_eq!(grant.subject, "alice");
    assert_eq!(grant.client_id, CLIENT_ID);
    assert_eq!(grant.resource, RESOURCE);
    assert_eq!(grant.scope, Scope::parse("read write"));
    assert_eq!(grant.id_jag_jti, claims["jti"].as_str().expect("jti"));
    assert_eq!(grant.id_jag_expires_at, NOW + 300);
}

#[test]
fn typ_with_application_prefix_in_any_case_is_accepted() {
    let (server, _) = default_authorization_server();
    let mut header = id_jag_header(idp_key());
    header.insert("typ".into(), json!("Application/OAuth-ID-JAG+JWT"));
    let token = signed_with_header(idp_key(), &header, &id_jag_claims());
    assert_alice_at_resource(&granted(&server, &jwt_bearer(&token), now()), IDP_ISSUER);
}

#[test]
fn rs256_id_jag_from_a_second_trusted_issuer_is_accepted() {
    let (server, recorder) = default_authorization_server();
    let server = server.trust(TrustedIssuer::new(
        "https://idp2.example.com",
        Arc::new(rsa_key().key_ring()),
    ));
    let claims = claims_with(|c| {
        c.insert("iss".into(), json!("https://idp2.example.com"));
    });
    let token = sign_jwt(rsa_key(), "oauth-id-jag+jwt", &claims).expect("signs");
    assert_alice_at_resource(
        &granted(&server, &jwt_bearer(&token), now()),
        "https://idp2.example.com",
    );
    assert_eq!(recorder.last().issuer, "https://idp2.example.com");
}

#[test]
fn aud_and_resource_as_one_element_arrays_are_accepted() {
    let (server, _) = default_authorization_server();
    let claims = claims_with(|c| {
        c.insert("aud".into(), json!([AS_ISSUER]));
        c.insert("resource".into(), json!([RESOURCE]));
    });
    let grant = granted(&server, &jwt_bearer(&id_jag(&claims)), now());
    assert_alice_at_resource(&grant, IDP_ISSUER);
}

#[test]
fn clock_skew_tolerates_a_just_expired_token() {
    let (server, _) = default_authorization_server();
    let claims = claims_with(|c| {
        c.insert("iat".into(), json!(NOW - 400));
        c.insert("exp".into(), json!(NOW - 59));
    });
    let grant = granted(&server, &jwt_bearer(&id_jag(&claims)), now());
    assert_alice_at_resource(&grant, IDP_ISSUER);
    assert_eq!(grant.id_jag_expires_at, NOW - 59);
}

// ---------------------------------------------------------------------------------------------
// Step 1: the request.

#[test]
fn missing_grant_type_is_invalid_request() {
    let (server, _) = default_authorization_server();
    let request = form_post(
        AS_TOKEN_ENDPOINT,
        &[("assertion", "a.b.c")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    refused(
        &server,
        &request,
        ErrorCode::InvalidRequest,
        400,
        RejectReason::MissingParameter("grant_type"),
    );
}

#[test]
fn other_grant_type_is_unsupported_grant_type() {
    let (server, _) = default_authorization_server();
    let request = form_post(
        AS_TOKEN_ENDPOINT,
        &[("grant_type", "client_credentials")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    refused(
        &server,
        &request,
        ErrorCode::UnsupportedGrantType,
        400,
        RejectReason::UnsupportedGrantType("client_credentials".into()),
    );
}

#[test]
fn missing_assertion_is_invalid_request() {
    let (server, _) = default_authorization_server();
    let request = form_post(
        AS_TOKEN_ENDPOINT,
        &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    refused(
        &server,
        &request,
        ErrorCode::InvalidRequest,
        400,
        RejectReason::MissingParameter("assertion"),
    );
}

#[test]
fn two_assertions_are_invalid_request() {
    let (server, _) = default_authorization_server();
    let token = id_jag(&id_jag_claims());
    let request = form_post(
        AS_TOKEN_ENDPOINT,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &token),
            ("assertion", &token),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    refused(
        &server,
        &request,
        ErrorCode::InvalidRequest,
        400,
        RejectReason::DuplicateParameter("assertion"),
    );
}

#[test]
fn get_and_json_bodies_are_invalid_request() {
    let (server, _) = default_authorization_server();
    let get = http::Request::get(AS_TOKEN_ENDPOINT)
        .body(Vec::new())
        .expect("request");
    refused(
        &server,
        &get,
        ErrorCode::InvalidRequest,
        400,
        RejectReason::MethodNotAllowed,
    );
    let json_body = http::Request::post(AS_TOKEN_ENDPOINT)
        .header("content-type", "application/json")
        .body(b"{}".to_vec())
        .expect("request");
    refused(
        &server,
        &json_body,
        ErrorCode::InvalidRequest,
        400,
        RejectReason::ContentType,
    );
}

#[test]
fn client_without_the_grant_is_unauthorized_client() {
    let clients = xaa::server::ClientRegistry::new().with(
        RegisteredClient::client_secret_basic(CLIENT_ID, ClientSecret::new(CLIENT_SECRET))
            .with_grant_types(&["authorization_code"]),
    );
    let (server, _) = authorization_server(as_config(), clients);
    refused(
        &server,
        &jwt_bearer(&id_jag(&id_jag_claims())),
        ErrorCode::UnauthorizedClient,
        400,
        RejectReason::UnauthorizedClient,
    );
}

// ---------------------------------------------------------------------------------------------
// Step 3: the header, before any cryptography.

#[test]
fn wrong_typ_is_invalid_grant() {
    let token = sign_jwt(idp_key(), "JWT", &id_jag_claims()).expect("signs");
    let rejection = id_jag_refused(
        &token,
        TokenFault::Type {
            found: Some("JWT".into()),
        },
    );
    // RFC 6749 section 5.2: error_description without '"' or '\'.
    assert_eq!(
        rejection.error.description.as_deref(),
        Some("ID-JAG: typ 'JWT' is not oauth-id-jag+jwt")
    );
}

#[test]
fn missing_typ_is_invalid_grant() {
    let mut header = id_jag_header(idp_key());
    header.remove("typ");
    let token = signed_with_header(idp_key(), &header, &id_jag_claims());
    let rejection = id_jag_refused(&token, TokenFault::Type { found: None });
    assert_eq!(
        rejection.error.description.as_deref(),
        Some("ID-JAG: typ (absent) is not oauth-id-jag+jwt")
    );
}

#[test]
fn alg_none_is_refused() {
    let header = json!({"typ": "oauth-id-jag+jwt", "alg": "none"});
    let token = format!(
        "{}.{}.",
        xaa::jwt::encode_segment(&header),
        xaa::jwt::encode_segment(&id_jag_claims())
    );
    id_jag_refused(
        &token,
        TokenFault::AlgorithmNotAllowed {
            alg: Some("none".into()),
        },
    );
}

/// Algorithm confusion: HS256 "signed" with the IdP's public key as the HMAC secret.
fn hs256_with_public_key() -> String {
    let jwk = serde_json::to_vec(idp_key().public_jwk()).expect("JWK JSON");
    let confused =
        SharedKey::new(&jwk, SharedKeyAlgorithm::Hs256, Some(IDP_KID)).expect("HMAC key");
    sign_jwt(&confused, "oauth-id-jag+jwt", &id_jag_claims()).expect("signs")
}

#[test]
fn hs256_signed_with_the_public_key_is_refused_by_the_allow_list() {
    id_jag_refused(
        &hs256_with_public_key(),
        TokenFault::AlgorithmNotAllowed {
            alg: Some("HS256".into()),
        },
    );
}

#[test]
fn hs256_is_refused_by_an_asymmetric_key_even_when_allowed() {
    let (server, _) = authorization_server(as_config(), as_clients());
    let algorithms = AlgorithmAllowList::default().with_shared_key(SharedKeyAlgorithm::Hs256);
    let keys = Arc::new(idp_key().key_ring());
    let careless = server.trust(
        TrustedIssuer::new("https://careless.example.com", keys).with_algorithms(algorithms),
    );
    let jwk = serde_json::to_vec(idp_key().public_jwk()).expect("JWK JSON");
    let confused =
        SharedKey::new(&jwk, SharedKeyAlgorithm::Hs256, Some(IDP_KID)).expect("HMAC key");
    let claims = claims_with(|c| {
        c.insert("iss".into(), json!("https://careless.example.com"));
    });
    let token = sign_jwt(&confused, "oauth-id-jag+jwt", &claims).expect("signs");
    refused(
        &careless,
        &jwt_bearer(&token),
        ErrorCode::InvalidGrant,
        400,
        RejectReason::IdJag(TokenFault::KeyAlgorithmMismatch {
            alg: "HS256".into(),
        }),
    );
}

#[test]
fn deliberately_shared_hs256_key_is_accepted() {
    let secret = [7u8; 32];
    let shared =
        SharedKey::new(&secret, SharedKeyAlgorithm::Hs256, Some("shared")).expect("HMAC key");
    let keys = KeyRing::new().with_key(Some("shared"), Arc::new(shared.clone()));
    let (server, _) = default_authorization_server();
    let server = server.trust(
        TrustedIssuer::new("https://partner.example.com", Arc::new(keys)).with_algorithms(
            AlgorithmAllowList::only(&[]).with_shared_key(SharedKeyAlgorithm::Hs256),
        ),
    );
    let claims = claims_with(|c| {
        c.insert("iss".into(), json!("https://partner.example.com"));
    });
    let token = sign_jwt(&shared, "oauth-id-jag+jwt", &claims).expect("signs");
    assert_alice_at_resource(
        &granted(&server, &jwt_bearer(&token), now()),
        "https://partner.example.com",
    );
}

#[test]
fn header_alg_not_matching_the_key_is_refused() {
    // The kid names the IdP's EC key; the header claims RS256 (allowed for the issuer).
    let mut header = id_jag_header(rsa_key());
    header.insert("kid".into(), json!(IDP_KID));
    let token = signed_with_header(rsa_key(), &header, &id_jag_claims());
    id_jag_refused(
        &token,
        TokenFault::KeyAlgorithmMismatch {
            alg: "RS256".into(),
        },
    );
}

#[test]
fn crit_header_is_refused() {
    let mut header = id_jag_header(idp_key());
    header.insert("crit".into(), json!(["exp"]));
    let token = signed_with_header(idp_key(), &header, &id_jag_claims());
    id_jag_refused(&token, TokenFault::CriticalHeader);
}

#[test]
fn encrypted_and_malformed_tokens_are_refused() {
    id_jag_refused("aGVhZGVy..aXY.Y2lwaGVy.dGFn", TokenFault::Encrypted);
    id_jag_refused("not-a-jwt", TokenFault::Malformed);
    id_jag_refused("e30.bm90anNvbg.c2ln", TokenFault::Malformed);
}

/// RFC 7519 section 4: claim names are unique. A signed ID-JAG naming `aud` twice, this
/// server first and another after it, is refused whole rather than read either way.
#[test]
fn duplicate_claim_names_are_refused_even_when_signed() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use xaa::jose::TokenSigner as _;
    let mut claims = serde_json::to_string(&id_jag_claims()).expect("serializes");
    claims.pop();
    claims.push_str(r#","aud":"https://other.example.com"}"#);
    let header = serde_json::to_vec(&id_jag_header(idp_key())).expect("serializes");
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = idp_key().sign(signing_input.as_bytes()).expect("signs");
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    id_jag_refused(&token, TokenFault::Malformed);
}

// ---------------------------------------------------------------------------------------------
// Steps 4 and 5: issuer, key, signature.

#[test]
fn untrusted_issuer_is_refused() {
    let claims = claims_with(|c| {
        c.insert("iss".into(), json!("https://evil.example.com"));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::UntrustedIssuer {
            iss: Some("https://evil.example.com".into()),
        },
    );
}

#[test]
fn issuer_differing_by_a_trailing_slash_is_untrusted() {
    let claims = claims_with(|c| {
        c.insert("iss".into(), json!(format!("{IDP_ISSUER}/")));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::UntrustedIssuer {
            iss: Some(format!("{IDP_ISSUER}/")),
        },
    );
}

#[test]
fn missing_issuer_is_refused() {
    let claims = claims_with(|c| {
        c.remove("iss");
    });
    id_jag_refused(&id_jag(&claims), TokenFault::UntrustedIssuer { iss: None });
}

#[test]
fn an_id_jag_issued_by_this_server_itself_is_refused() {
    let (server, _) = default_authorization_server();
    let server = server.trust(TrustedIssuer::new(
        AS_ISSUER,
        Arc::new(idp_key().key_ring()),
    ));
    let claims = claims_with(|c| {
        c.insert("iss".into(), json!(AS_ISSUER));
    });
    refused(
        &server,
        &jwt_bearer(&id_jag(&claims)),
        ErrorCode::InvalidGrant,
        400,
        RejectReason::IdJag(TokenFault::UntrustedIssuer {
            iss: Some(AS_ISSUER.into()),
        }),
    );
}

#[test]
fn unknown_kid_is_a_typed_unknown_key_and_a_refetch_then_retry_succeeds() {
    let ring = Arc::new(idp_key().key_ring());
    let (server, _) = {
        let recorder = RecordingIssuer::default();
        let server =
            AuthorizationServerEndpoint::new(as_config(), as_clients(), recorder.issuer()).trust(
                TrustedIssuer::new(IDP_ISSUER, Arc::clone(&ring) as Arc<dyn xaa::jose::KeySet>),
            );
        (server, recorder)
    };
    let rotated = SigningKey::generate_es256("idp-key-2").expect("key");
    let token = sign_jwt(&rotated, "oauth-id-jag+jwt", &id_jag_claims()).expect("signs");
    let rejection = refused(
        &server,
        &jwt_bearer(&token),
        ErrorCode::InvalidGrant,
        400,
        RejectReason::IdJag(TokenFault::UnknownKey {
            iss: IDP_ISSUER.into(),
            kid: Some("idp-key-2".into()),
        }),
    );
    assert_eq!(
        rejection.unknown_key(),
        Some((IDP_ISSUER, Some("idp-key-2")))
    );
    // decisions.md D22: the host refetches the JWKS (here: both keys) and retries.
    let mut jwks = idp_key().jwks();
    jwks.keys.push(rotated.public_jwk().clone());
    ring.replace(jwks.verifying_keys());
    assert_alice_at_resource(&granted(&server, &jwt_bearer(&token), now()), IDP_ISSUER);
}

#[test]
fn signature_by_another_key_with_the_same_kid_is_refused() {
    let token = sign_jwt(forger_key(), "oauth-id-jag+jwt", &id_jag_claims()).expect("signs");
    id_jag_refused(&token, TokenFault::BadSignature);
}

#[test]
fn tampered_claims_are_refused() {
    let token = id_jag(&id_jag_claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let tampered = xaa::jwt::encode_segment(&claims_with(|c| {
        c.insert("sub".into(), json!("mallory"));
    }));
    parts[1] = &tampered;
    id_jag_refused(&parts.join("."), TokenFault::BadSignature);
}

// ---------------------------------------------------------------------------------------------
// Step 6: times.

#[test]
fn expired_id_jag_is_refused() {
    let claims = claims_with(|c| {
        c.insert("iat".into(), json!(NOW - 400));
        c.insert("exp".into(), json!(NOW - 61));
    });
    id_jag_refused(&id_jag(&claims), TokenFault::Expired { exp: NOW - 61 });
}

#[test]
fn iat_in_the_future_is_refused() {
    let claims = claims_with(|c| {
        c.insert("iat".into(), json!(NOW + 120));
        c.insert("exp".into(), json!(NOW + 300));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::IssuedInFuture { iat: NOW + 120 },
    );
}

#[test]
fn nbf_in_the_future_is_refused() {
    let claims = claims_with(|c| {
        c.insert("nbf".into(), json!(NOW + 120));
    });
    id_jag_refused(&id_jag(&claims), TokenFault::NotYetValid { nbf: NOW + 120 });
}

#[test]
fn lifetime_too_long_is_refused() {
    let claims = claims_with(|c| {
        c.insert("exp".into(), json!(NOW + 601));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::LifetimeTooLong { lifetime: 601 },
    );
}

#[test]
fn missing_exp_and_iat_are_refused() {
    id_jag_refused(
        &id_jag(&claims_with(|c| drop(c.remove("exp")))),
        TokenFault::MissingClaim("exp"),
    );
    id_jag_refused(
        &id_jag(&claims_with(|c| drop(c.remove("iat")))),
        TokenFault::MissingClaim("iat"),
    );
}

#[test]
fn non_numeric_exp_is_refused() {
    let claims = claims_with(|c| {
        c.insert("exp".into(), json!("tomorrow"));
    });
    id_jag_refused(&id_jag(&claims), TokenFault::InvalidClaim("exp"));
}

// ---------------------------------------------------------------------------------------------
// Step 7: aud.

#[test]
fn aud_as_a_two_element_array_is_refused() {
    let claims = claims_with(|c| {
        c.insert(
            "aud".into(),
            json!([AS_ISSUER, "https://other.example.com"]),
        );
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::Audience {
            found: r#"["https://as.example.com","https://other.example.com"]"#.into(),
        },
    );
}

#[test]
fn aud_of_another_server_is_refused() {
    let claims = claims_with(|c| {
        c.insert("aud".into(), json!("https://other.example.com"));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::Audience {
            found: r#""https://other.example.com""#.into(),
        },
    );
}

#[test]
fn aud_with_a_trailing_slash_is_refused_by_default_and_accepted_when_configured() {
    let claims = claims_with(|c| {
        c.insert("aud".into(), json!(format!("{AS_ISSUER}/")));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::Audience {
            found: r#""https://as.example.com/""#.into(),
        },
    );
    let mut config = as_config();
    config.accept_audience_trailing_slash = true;
    let (lenient, _) = authorization_server(config, as_clients());
    let grant = granted(&lenient, &jwt_bearer(&id_jag(&claims)), now());
    assert_alice_at_resource(&grant, IDP_ISSUER);
}

// ---------------------------------------------------------------------------------------------
// Steps 8 to 10: client_id, sub, jti.

#[test]
fn client_id_of_another_client_is_refused() {
    let claims = claims_with(|c| {
        c.insert("client_id".into(), json!("other-client"));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::ClaimMismatch {
            claim: "client_id",
            found: "other-client".into(),
        },
    );
}

#[test]
fn missing_sub_is_refused() {
    id_jag_refused(
        &id_jag(&claims_with(|c| drop(c.remove("sub")))),
        TokenFault::MissingClaim("sub"),
    );
}

#[test]
fn missing_jti_is_refused() {
    id_jag_refused(
        &id_jag(&claims_with(|c| drop(c.remove("jti")))),
        TokenFault::MissingClaim("jti"),
    );
}

#[test]
fn replayed_jti_is_refused_in_strict_mode() {
    let (server, _) = default_authorization_server();
    let claims = id_jag_claims();
    let token = id_jag(&claims);
    let first = granted(&server, &jwt_bearer(&token), now());
    assert_eq!(first.id_jag_jti, claims["jti"].as_str().expect("jti"));
    let jti = claims["jti"].as_str().expect("jti").to_owned();
    refused(
        &server,
        &jwt_bearer(&token),
        ErrorCode::InvalidGrant,
        400,
        RejectReason::IdJag(TokenFault::Replayed { jti }),
    );
}

#[test]
fn identical_resubmission_is_accepted_when_allowed_but_not_a_different_token_with_that_jti() {
    let mut config = as_config();
    config.replay_mode = ReplayMode::AllowIdenticalResubmission;
    let (server, _) = authorization_server(config, as_clients());
    let claims = id_jag_claims();
    let token = id_jag(&claims);
    let first = granted(&server, &jwt_bearer(&token), now());
    let again = granted(&server, &jwt_bearer(&token), at(10));
    assert_eq!(
        again.id_jag_jti, first.id_jag_jti,
        "byte-identical re-submission"
    );
    assert_alice_at_resource(&again, IDP_ISSUER);
    let sibling = id_jag(&claims_with(|c| {
        c.insert("jti".into(), claims["jti"].clone());
        c.insert("scope".into(), json!("read"));
    }));
    let jti = claims["jti"].as_str().expect("jti").to_owned();
    let rejection = server
        .process(&jwt_bearer(&sibling), at(20))
        .expect_err("refused");
    assert_eq!(
        rejection.reason,
        RejectReason::IdJag(TokenFault::Replayed { jti })
    );
}

#[test]
fn a_refused_request_does_not_burn_the_id_jag() {
    let (server, _) = default_authorization_server();
    let token = id_jag(&id_jag_claims());
    let greedy = form_post(
        AS_TOKEN_ENDPOINT,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &token),
            ("scope", "admin"),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    let refusal = server
        .process(&greedy, now())
        .expect_err("a wider scope is refused");
    assert_eq!(refusal.error.code, ErrorCode::InvalidScope);
    let grant = granted(&server, &jwt_bearer(&token), now());
    assert_eq!(grant.scope, Scope::parse("read write"));
}

/// Found by fuzzing (the corpus input `regression-blank-scope-request`): a `scope` parameter
/// of blanks asks for no scope (RFC 6749 section 3.3: scope tokens are separated by spaces, and
/// there are none), so the ID-JAG's own scope is granted, as when no `scope` is sent.
#[test]
fn a_scope_of_blanks_asks_for_no_scope_and_gets_the_id_jag_scope() {
    let (server, _) = default_authorization_server();
    let token = id_jag(&id_jag_claims());
    let blank = form_post(
        AS_TOKEN_ENDPOINT,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &token),
            ("scope", "  "),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    let grant = granted(&server, &blank, now());
    assert_eq!(grant.scope, Scope::parse("read write"));
    assert_alice_at_resource(&grant, IDP_ISSUER);
}

#[test]
fn replay_entries_expire_with_the_token() {
    let (server, _) = default_authorization_server();
    let claims = id_jag_claims();
    let token = id_jag(&claims);
    assert!(server.process(&jwt_bearer(&token), now()).is_ok());
    // After exp + skew the token is refused as expired, not remembered forever.
    let rejection = server
        .process(&jwt_bearer(&token), at(361))
        .expect_err("expired");
    assert_eq!(
        rejection.reason,
        RejectReason::IdJag(TokenFault::Expired { exp: NOW + 300 })
    );
}

// ---------------------------------------------------------------------------------------------
// Step 11: resource.

#[test]
fn resource_not_served_here_is_refused() {
    let claims = claims_with(|c| {
        c.insert("resource".into(), json!("https://other.example.com/mcp"));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::UnknownResource {
            found: r#""https://other.example.com/mcp""#.into(),
        },
    );
}

#[test]
fn resource_as_a_two_element_array_is_refused() {
    let claims = claims_with(|c| {
        c.insert("resource".into(), json!([RESOURCE, RESOURCE]));
    });
    id_jag_refused(
        &id_jag(&claims),
        TokenFault::UnknownResource {
            found: r#"["https://mcp.example.com/mcp","https://mcp.example.com/mcp"]"#.into(),
        },
    );
}

#[test]
fn missing_resource_is_refused_by_default_and_defaulted_when_configured() {
    let claims = claims_with(|c| drop(c.remove("resource")));
    id_jag_refused(&id_jag(&claims), TokenFault::MissingClaim("resource"));
    let mut config = as_config();
    config.default_resource = Some(RESOURCE.into());
    let (server, recorder) = authorization_server(config, as_clients());
    let grant = granted(&server, &jwt_bearer(&id_jag(&claims)), now());
    assert_alice_at_resource(&grant, IDP_ISSUER);
    assert_eq!(recorder.last().resource, RESOURCE);
}

// ---------------------------------------------------------------------------------------------
// Step 12: scope.

fn with_scope(token: &str, scope: &str) -> http::Request<Vec<u8>> {
    form_post(
        AS_TOKEN_ENDPOINT,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", token),
            ("scope", scope),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
}

#[test]
fn request_scope_is_intersected_with_the_id_jag_scope() {
    let (server, recorder) = default_authorization_server();
    let response = server.handle(&with_scope(&id_jag(&id_jag_claims()), "read"), now());
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["scope"], json!("read"));
    assert_eq!(recorder.last().scope, Scope::parse("read"));
}

#[test]
fn request_scope_beyond_the_id_jag_is_invalid_scope() {
    let (server, _) = default_authorization_server();
    refused(
        &server,
        &with_scope(&id_jag(&id_jag_claims()), "read admin"),
        ErrorCode::InvalidScope,
        400,
        RejectReason::Scope(ScopeFault::BeyondGrant {
            extra: Scope::parse("admin"),
        }),
    );
}

#[test]
fn scope_is_narrowed_to_the_resource_allowed_set() {
    let config = xaa::server::AuthorizationServerConfig::new(AS_ISSUER, AS_TOKEN_ENDPOINT)
        .with_resource(ServedResource::new(RESOURCE).with_allowed_scopes(Scope::parse("read")));
    let (server, recorder) = authorization_server(config, as_clients());
    let response = server.handle(&jwt_bearer(&id_jag(&id_jag_claims())), now());
    assert_eq!(body_json(&response)["scope"], json!("read"));
    assert_eq!(recorder.last().scope, Scope::parse("read"));
}

#[test]
fn empty_intersection_is_invalid_scope() {
    let config = xaa::server::AuthorizationServerConfig::new(AS_ISSUER, AS_TOKEN_ENDPOINT)
        .with_resource(ServedResource::new(RESOURCE).with_allowed_scopes(Scope::parse("admin")));
    let (server, _) = authorization_server(config, as_clients());
    refused(
        &server,
        &with_scope(&id_jag(&id_jag_claims()), "write"),
        ErrorCode::InvalidScope,
        400,
        RejectReason::Scope(ScopeFault::Empty),
    );
}

// ---------------------------------------------------------------------------------------------
// Step 14 and metadata.

#[test]
fn sender_constrained_id_jag_is_refused() {
    let claims = claims_with(|c| {
        c.insert("cnf".into(), json!({"jkt": "abc"}));
    });
    id_jag_refused(&id_jag(&claims), TokenFault::ConfirmationUnsupported);
}

#[test]
fn metadata_advertises_the_profile_and_the_methods_in_use() {
    let (server, _) = default_authorization_server();
    let metadata = server
        .metadata()
        .with_jwks_uri("https://as.example.com/jwks");
    let response = metadata.to_response();
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(&response),
        json!({
            "issuer": AS_ISSUER,
            "token_endpoint": AS_TOKEN_ENDPOINT,
            "jwks_uri": "https://as.example.com/jwks",
            "grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
            "authorization_grant_profiles_supported": ["urn:ietf:params:oauth:grant-profile:id-jag"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        })
    );
    let _: Value = metadata.to_json();
}

#[test]
fn servers_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<AuthorizationServerEndpoint>();
    shared::<xaa::server::IdentityProviderEndpoint>();
    shared::<xaa::server::InMemoryReplayStore>();
    shared::<KeyRing>();
}
