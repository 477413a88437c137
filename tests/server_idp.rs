//! The IdP's token-exchange endpoint: minting ID-JAGs from ID tokens, SAML assertions and
//! refresh tokens, and the SAML-to-refresh-token exchange.
#![cfg(feature = "jwt")]

mod server_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use server_support::*;
use xaa::jose::SigningKey;
use xaa::jose::sign_jwt;
use xaa::server::{
    ApprovedTarget, ClientRegistry, ExchangeOutcome, IdentityProviderConfig,
    IdentityProviderEndpoint, IssueError, MintedRefreshToken, RefreshTokenGrant, RegisteredClient,
    RejectReason, Rejection, StaticExchangePolicy, SubjectRefusal, SubjectTokenType, TokenFault,
    VerifiedSubject,
};
use xaa::{ClientSecret, ErrorCode, RefreshToken, Scope};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const SAML2: &str = "urn:ietf:params:oauth:token-type:saml2";
const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";

/// `jti-1`, `jti-2`, ... per IdP.
fn counter_jti() -> Arc<dyn xaa::JtiSource> {
    let counter = AtomicU64::new(0);
    Arc::new(move || format!("idjag-{}", counter.fetch_add(1, Ordering::Relaxed) + 1))
}

fn policy() -> StaticExchangePolicy {
    StaticExchangePolicy::new().with(
        ApprovedTarget::new(AS_ISSUER, RESOURCE)
            .for_client(IDP_CLIENT_ID, CLIENT_ID)
            .with_allowed_scopes(Scope::parse("read write")),
    )
}

fn clients() -> ClientRegistry {
    ClientRegistry::new()
        .with(RegisteredClient::client_secret_basic(
            IDP_CLIENT_ID,
            ClientSecret::new(IDP_CLIENT_SECRET),
        ))
        .with(RegisteredClient::client_secret_basic(
            "other-idp-client",
            ClientSecret::new("other"),
        ))
}

fn idp_with(config: IdentityProviderConfig) -> IdentityProviderEndpoint {
    IdentityProviderEndpoint::new(
        config,
        clients(),
        Arc::new(idp_key().clone()),
        Arc::new(idp_key().key_ring()),
        counter_jti(),
        Arc::new(policy()),
    )
}

fn idp() -> IdentityProviderEndpoint {
    idp_with(IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT))
}

fn id_token_claims() -> Map<String, Value> {
    let Value::Object(claims) = json!({
        "iss": IDP_ISSUER,
        "sub": "alice",
        "aud": IDP_CLIENT_ID,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "auth_time": NOW - 120,
        "amr": ["pwd", "mfa"],
        "email": "alice@example.com",
        "nonce": "n-1",
    }) else {
        unreachable!()
    };
    claims
}

fn id_token_with(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut claims = id_token_claims();
    edit(&mut claims);
    sign_jwt(idp_key(), "JWT", &claims).expect("signs")
}

fn exchange(
    subject_token: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> http::Request<Vec<u8>> {
    let mut pairs = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("requested_token_type", ID_JAG),
        ("subject_token", subject_token),
        ("subject_token_type", subject_type),
    ];
    pairs.extend_from_slice(extra);
    form_post(
        IDP_TOKEN_ENDPOINT,
        &pairs,
        Some((IDP_CLIENT_ID, IDP_CLIENT_SECRET)),
    )
}

fn id_jag_request(subject_token: &str, extra: &[(&str, &str)]) -> http::Request<Vec<u8>> {
    let mut pairs = vec![("audience", AS_ISSUER), ("resource", RESOURCE)];
    pairs.extend_from_slice(extra);
    exchange(subject_token, ID_TOKEN, &pairs)
}

fn refused(
    idp: &IdentityProviderEndpoint,
    request: &http::Request<Vec<u8>>,
    code: ErrorCode,
    reason: RejectReason,
) -> Box<Rejection> {
    let rejection = idp.process(request, now()).expect_err("refused");
    assert_eq!(rejection.reason, reason);
    assert_eq!(rejection.error.code, code);
    let response = rejection.to_response();
    assert_eq!(response.status(), rejection.status);
    assert_eq!(body_json(&response)["error"], json!(code.as_str()));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    rejection
}

fn minted(outcome: ExchangeOutcome) -> xaa::server::MintedIdJag {
    match outcome {
        ExchangeOutcome::IdJag(minted) => minted,
        other => panic!("expected an ID-JAG, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The ID token exchange.

#[test]
fn valid_exchange_mints_the_exact_id_jag_and_response() {
    let response = idp().handle(
        &id_jag_request(&id_token_with(|_| {}), &[("scope", "read write")]),
        now(),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let body = body_json(&response);
    let token = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        body,
        json!({
            "access_token": token,
            "issued_token_type": ID_JAG,
            "token_type": "N_A",
            "expires_in": 300,
        })
    );
    let peeked = xaa::jwt::peek(&token).expect("a JWS");
    assert_eq!(
        Value::Object(peeked.header),
        json!({"typ": "oauth-id-jag+jwt", "alg": "ES256", "kid": IDP_KID})
    );
    assert_eq!(
        Value::Object(peeked.claims),
        json!({
            "iss": IDP_ISSUER,
            "sub": "alice",
            "aud": AS_ISSUER,
            "client_id": CLIENT_ID,
            "jti": "idjag-1",
            "iat": NOW,
            "exp": NOW + 300,
            "resource": RESOURCE,
            "scope": "read write",
            "auth_time": NOW - 120,
            "amr": ["pwd", "mfa"],
            "email": "alice@example.com",
        })
    );
}

#[test]
fn minted_id_jag_is_accepted_by_the_authorization_server() {
    let outcome = idp()
        .process(
            &id_jag_request(&id_token_with(|_| {}), &[("scope", "read")]),
            now(),
        )
        .expect("minted");
    let minted = minted(outcome);
    let (server, recorder) = default_authorization_server();
    let granted = server
        .process(&jwt_bearer(minted.id_jag.expose_secret()), now())
        .expect("the authorization server accepts the minted ID-JAG");
    assert_eq!(granted.grant.resource, RESOURCE);
    assert_eq!(granted.grant.client_id, CLIENT_ID);
    assert_eq!(recorder.last().scope, Scope::parse("read"));
    assert_eq!(recorder.last().subject, "alice");
}

#[test]
fn configured_tenant_is_added() {
    let mut config = IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT);
    config.tenant = Some("acme".into());
    let outcome = idp_with(config)
        .process(&id_jag_request(&id_token_with(|_| {}), &[]), now())
        .expect("minted");
    assert_eq!(minted(outcome).claims["tenant"], json!("acme"));
}

#[test]
fn scope_is_narrowed_by_policy_and_reported() {
    let request = id_jag_request(&id_token_with(|_| {}), &[("scope", "read admin")]);
    let outcome = idp().process(&request, now()).expect("minted");
    let minted = minted(outcome.clone());
    assert_eq!(minted.claims["scope"], json!("read"));
    assert_eq!(minted.response_scope, Some(Scope::parse("read")));
    assert_eq!(body_json(&outcome.to_response())["scope"], json!("read"));
}

#[test]
fn scope_entirely_outside_policy_is_invalid_scope() {
    let request = id_jag_request(&id_token_with(|_| {}), &[("scope", "admin")]);
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidScope,
        RejectReason::ScopeNotAllowed,
    );
}

#[test]
fn id_token_for_another_client_is_invalid_grant() {
    let token = id_token_with(|c| {
        c.insert("aud".into(), json!("other-idp-client"));
    });
    refused(
        &idp(),
        &id_jag_request(&token, &[]),
        ErrorCode::InvalidGrant,
        RejectReason::SubjectToken(TokenFault::Audience {
            found: r#""other-idp-client""#.into(),
        }),
    );
}

#[test]
fn expired_id_token_is_invalid_grant() {
    let token = id_token_with(|c| {
        c.insert("exp".into(), json!(NOW - 61));
    });
    refused(
        &idp(),
        &id_jag_request(&token, &[]),
        ErrorCode::InvalidGrant,
        RejectReason::SubjectToken(TokenFault::Expired { exp: NOW - 61 }),
    );
}

#[test]
fn id_token_signed_by_another_key_is_invalid_grant() {
    let token = sign_jwt(forger_key(), "JWT", &id_token_claims()).expect("signs");
    refused(
        &idp(),
        &id_jag_request(&token, &[]),
        ErrorCode::InvalidGrant,
        RejectReason::SubjectToken(TokenFault::BadSignature),
    );
    let stranger = SigningKey::generate_es256("stranger").expect("key");
    let token = sign_jwt(&stranger, "JWT", &id_token_claims()).expect("signs");
    refused(
        &idp(),
        &id_jag_request(&token, &[]),
        ErrorCode::InvalidGrant,
        RejectReason::SubjectToken(TokenFault::UnknownKey {
            iss: IDP_ISSUER.into(),
            kid: Some("stranger".into()),
        }),
    );
}

#[test]
fn id_token_of_another_issuer_is_invalid_grant() {
    let token = id_token_with(|c| {
        c.insert("iss".into(), json!("https://other-idp.example.com"));
    });
    refused(
        &idp(),
        &id_jag_request(&token, &[]),
        ErrorCode::InvalidGrant,
        RejectReason::SubjectToken(TokenFault::UntrustedIssuer {
            iss: Some("https://other-idp.example.com".into()),
        }),
    );
}

#[test]
fn audience_resource_pair_not_approved_is_invalid_target() {
    let token = id_token_with(|_| {});
    let request = exchange(
        &token,
        ID_TOKEN,
        &[
            ("audience", AS_ISSUER),
            ("resource", "https://other.example.com/mcp"),
        ],
    );
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidTarget,
        RejectReason::TargetNotAllowed {
            audience: AS_ISSUER.into(),
            resource: Some("https://other.example.com/mcp".into()),
        },
    );
    let request = exchange(
        &token,
        ID_TOKEN,
        &[
            ("audience", "https://evil.example.com"),
            ("resource", RESOURCE),
        ],
    );
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidTarget,
        RejectReason::TargetNotAllowed {
            audience: "https://evil.example.com".into(),
            resource: Some(RESOURCE.into()),
        },
    );
}

#[test]
fn client_not_approved_for_the_target_is_invalid_target() {
    let token = id_token_with(|c| {
        c.insert("aud".into(), json!("other-idp-client"));
    });
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("subject_token", &token),
            ("subject_token_type", ID_TOKEN),
            ("audience", AS_ISSUER),
            ("resource", RESOURCE),
        ],
        Some(("other-idp-client", "other")),
    );
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidTarget,
        RejectReason::TargetNotAllowed {
            audience: AS_ISSUER.into(),
            resource: Some(RESOURCE.into()),
        },
    );
}

#[test]
fn missing_resource_is_invalid_request_by_default_and_chosen_by_policy_when_optional() {
    let token = id_token_with(|_| {});
    let request = exchange(&token, ID_TOKEN, &[("audience", AS_ISSUER)]);
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidRequest,
        RejectReason::MissingParameter("resource"),
    );
    let mut config = IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT);
    config.require_resource = false;
    let outcome = idp_with(config).process(&request, now()).expect("minted");
    assert_eq!(minted(outcome).claims["resource"], json!(RESOURCE));
}

#[test]
fn missing_audience_is_invalid_request() {
    let request = exchange(&id_token_with(|_| {}), ID_TOKEN, &[("resource", RESOURCE)]);
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidRequest,
        RejectReason::MissingParameter("audience"),
    );
}

#[test]
fn duplicated_parameter_is_invalid_request() {
    let token = id_token_with(|_| {});
    let request = id_jag_request(&token, &[("subject_token", &token)]);
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidRequest,
        RejectReason::DuplicateParameter("subject_token"),
    );
}

#[test]
fn two_resources_are_invalid_target() {
    let request = id_jag_request(
        &id_token_with(|_| {}),
        &[("resource", "https://mcp.example.com/other")],
    );
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidTarget,
        RejectReason::MultipleTargets,
    );
}

#[test]
fn wrong_grant_and_token_types_are_refused() {
    let token = id_token_with(|_| {});
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[("grant_type", "password")],
        Some((IDP_CLIENT_ID, IDP_CLIENT_SECRET)),
    );
    refused(
        &idp(),
        &request,
        ErrorCode::UnsupportedGrantType,
        RejectReason::UnsupportedGrantType("password".into()),
    );
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("subject_token", &token),
            ("subject_token_type", ID_TOKEN),
        ],
        Some((IDP_CLIENT_ID, IDP_CLIENT_SECRET)),
    );
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidRequest,
        RejectReason::UnsupportedTokenType {
            parameter: "requested_token_type",
            value: "urn:ietf:params:oauth:token-type:access_token".into(),
        },
    );
    let request = exchange(
        &token,
        "urn:ietf:params:oauth:token-type:jwt",
        &[("audience", AS_ISSUER), ("resource", RESOURCE)],
    );
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidRequest,
        RejectReason::UnsupportedTokenType {
            parameter: "subject_token_type",
            value: "urn:ietf:params:oauth:token-type:jwt".into(),
        },
    );
}

#[test]
fn client_authentication_is_enforced() {
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("subject_token", &id_token_with(|_| {})),
            ("subject_token_type", ID_TOKEN),
            ("audience", AS_ISSUER),
            ("resource", RESOURCE),
        ],
        Some((IDP_CLIENT_ID, "wrong")),
    );
    let rejection = refused(
        &idp(),
        &request,
        ErrorCode::InvalidClient,
        RejectReason::ClientAuthentication(xaa::server::ClientAuthFault::SecretMismatch),
    );
    assert_eq!(rejection.status, 401);
    assert_eq!(
        rejection.www_authenticate.as_deref(),
        Some(r#"Basic realm="https://idp.example.com""#)
    );
}

#[test]
fn private_key_jwt_client_at_the_idp() {
    let clients = ClientRegistry::new().with(RegisteredClient::private_key_jwt(
        IDP_CLIENT_ID,
        Arc::new(client_key().key_ring()),
    ));
    let idp = IdentityProviderEndpoint::new(
        IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT),
        clients,
        Arc::new(idp_key().clone()),
        Arc::new(idp_key().key_ring()),
        counter_jti(),
        Arc::new(policy()),
    );
    let assertion = sign_jwt(
        client_key(),
        "JWT",
        &json!({"iss": IDP_CLIENT_ID, "sub": IDP_CLIENT_ID, "aud": IDP_ISSUER, "jti": fresh_jti(), "iat": NOW, "exp": NOW + 60}),
    )
    .expect("signs");
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("subject_token", &id_token_with(|_| {})),
            ("subject_token_type", ID_TOKEN),
            ("audience", AS_ISSUER),
            ("resource", RESOURCE),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ],
        None,
    );
    let first = minted(
        idp.process(&request, now())
            .expect("the first use is accepted"),
    );
    assert_eq!(first.claims.get("aud"), Some(&json!(AS_ISSUER)));
    assert_eq!(first.claims.get("resource"), Some(&json!(RESOURCE)));
    let replay = idp
        .process(&request, now())
        .expect_err("replayed assertion");
    assert!(matches!(
        replay.reason,
        RejectReason::ClientAssertion(TokenFault::Replayed { .. })
    ));
}

#[test]
fn metadata_advertises_identity_chaining() {
    let metadata = idp().metadata();
    assert_eq!(
        metadata.to_json(),
        json!({
            "issuer": IDP_ISSUER,
            "token_endpoint": IDP_TOKEN_ENDPOINT,
            "grant_types_supported": [TOKEN_EXCHANGE],
            "identity_chaining_requested_token_types_supported": [ID_JAG],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        })
    );
}

// ---------------------------------------------------------------------------------------------
// SAML and refresh-token subjects, and the SAML-to-refresh-token exchange.

/// A test double: SAML assertions `saml:<sub>:<audience>`; refresh tokens it issued, by value.
#[derive(Clone, Default)]
struct SubjectStore {
    refresh_tokens: Arc<Mutex<HashMap<String, VerifiedSubject>>>,
}

impl SubjectStore {
    fn verify(
        &self,
        token_type: SubjectTokenType,
        token: &str,
    ) -> Result<VerifiedSubject, SubjectRefusal> {
        match token_type {
            SubjectTokenType::Saml2 => {
                let mut parts = token.split(':');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("saml"), Some(sub), Some(audience)) => {
                        Ok(VerifiedSubject::new(sub, audience)
                            .with_claim("email", format!("{sub}@example.com")))
                    }
                    _ => Err(SubjectRefusal("the SAML signature does not verify".into())),
                }
            }
            _ => self
                .refresh_tokens
                .lock()
                .expect("lock")
                .get(token)
                .cloned()
                .ok_or_else(|| SubjectRefusal("unknown refresh token".into())),
        }
    }

    fn idp(&self) -> IdentityProviderEndpoint {
        let verifier = self.clone();
        let issuer = self.clone();
        idp()
            .with_subject_verifier(Arc::new(
                move |token_type: SubjectTokenType, token: &str, _now: SystemTime| {
                    verifier.verify(token_type, token)
                },
            ))
            .with_refresh_token_issuer(Arc::new(
                move |grant: &RefreshTokenGrant,
                      _now: SystemTime|
                      -> Result<MintedRefreshToken, IssueError> {
                    let mut tokens = issuer.refresh_tokens.lock().expect("lock");
                    let token = format!("rt-{}", tokens.len() + 1);
                    let mut subject = grant.subject.clone();
                    subject.client_id = grant.client_id.clone();
                    tokens.insert(token.clone(), subject);
                    Ok(MintedRefreshToken::new(
                        RefreshToken::new(token),
                        grant.scope.clone(),
                    ))
                },
            ))
    }
}

#[test]
fn saml_subject_is_checked_by_the_verifier() {
    let idp = SubjectStore::default().idp();
    let request = exchange(
        &format!("saml:bob:{IDP_CLIENT_ID}"),
        SAML2,
        &[("audience", AS_ISSUER), ("resource", RESOURCE)],
    );
    let minted = minted(idp.process(&request, now()).expect("minted"));
    assert_eq!(minted.claims["sub"], json!("bob"));
    assert_eq!(minted.claims["email"], json!("bob@example.com"));
    assert_eq!(minted.claims["client_id"], json!(CLIENT_ID));
}

#[test]
fn saml_refused_by_the_verifier_is_invalid_grant() {
    let idp = SubjectStore::default().idp();
    let request = exchange(
        "forged",
        SAML2,
        &[("audience", AS_ISSUER), ("resource", RESOURCE)],
    );
    refused(
        &idp,
        &request,
        ErrorCode::InvalidGrant,
        RejectReason::SubjectTokenRefused {
            token_type: SubjectTokenType::Saml2,
            reason: "the SAML signature does not verify".into(),
        },
    );
}

#[test]
fn saml_for_another_client_is_invalid_grant() {
    let idp = SubjectStore::default().idp();
    let request = exchange(
        "saml:bob:other-idp-client",
        SAML2,
        &[("audience", AS_ISSUER), ("resource", RESOURCE)],
    );
    refused(
        &idp,
        &request,
        ErrorCode::InvalidGrant,
        RejectReason::SubjectToken(TokenFault::ClaimMismatch {
            claim: "client_id",
            found: "other-idp-client".into(),
        }),
    );
}

#[test]
fn saml_without_a_verifier_is_unsupported() {
    let request = exchange(
        "saml:bob:idp-client",
        SAML2,
        &[("audience", AS_ISSUER), ("resource", RESOURCE)],
    );
    refused(
        &idp(),
        &request,
        ErrorCode::InvalidRequest,
        RejectReason::UnsupportedTokenType {
            parameter: "subject_token_type",
            value: SAML2.into(),
        },
    );
}

fn saml_for_refresh_token(store: &SubjectStore) -> String {
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", REFRESH_TOKEN),
            ("subject_token", &format!("saml:carol:{IDP_CLIENT_ID}")),
            ("subject_token_type", SAML2),
            ("scope", "openid offline_access"),
        ],
        Some((IDP_CLIENT_ID, IDP_CLIENT_SECRET)),
    );
    let response = store.idp().handle(&request, now());
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let body = body_json(&response);
    assert_eq!(
        body,
        json!({"access_token": "rt-1", "issued_token_type": REFRESH_TOKEN, "token_type": "N_A"})
    );
    "rt-1".to_owned()
}

#[test]
fn saml_is_exchanged_for_a_refresh_token_which_then_yields_an_id_jag() {
    let store = SubjectStore::default();
    let refresh_token = saml_for_refresh_token(&store);
    let request = exchange(
        &refresh_token,
        REFRESH_TOKEN,
        &[("audience", AS_ISSUER), ("resource", RESOURCE)],
    );
    let minted = minted(store.idp().process(&request, now()).expect("minted"));
    assert_eq!(minted.claims["sub"], json!("carol"));
}

#[test]
fn refresh_token_of_another_client_is_invalid_grant() {
    let store = SubjectStore::default();
    let refresh_token = saml_for_refresh_token(&store);
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("subject_token", &refresh_token),
            ("subject_token_type", REFRESH_TOKEN),
            ("audience", AS_ISSUER),
            ("resource", RESOURCE),
        ],
        Some(("other-idp-client", "other")),
    );
    refused(
        &store.idp(),
        &request,
        ErrorCode::InvalidGrant,
        RejectReason::SubjectToken(TokenFault::ClaimMismatch {
            claim: "client_id",
            found: IDP_CLIENT_ID.into(),
        }),
    );
}

#[test]
fn refresh_token_exchange_needs_a_saml_subject() {
    let store = SubjectStore::default();
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", REFRESH_TOKEN),
            ("subject_token", &id_token_with(|_| {})),
            ("subject_token_type", ID_TOKEN),
        ],
        Some((IDP_CLIENT_ID, IDP_CLIENT_SECRET)),
    );
    refused(
        &store.idp(),
        &request,
        ErrorCode::InvalidRequest,
        RejectReason::UnsupportedTokenType {
            parameter: "subject_token_type",
            value: ID_TOKEN.into(),
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The replay step (decisions.md D29)

#[test]
fn a_secret_client_without_a_proof_has_nothing_to_register_and_finishes_with_no_verdict() {
    let idp = idp();
    let pending = idp
        .begin(&id_jag_request(&id_token_with(|_| {}), &[]), now())
        .expect("every check passes");
    assert!(pending.checks().uses().is_empty());
    let minted = minted(idp.finish(pending, &[]).expect("minted"));
    assert_eq!(minted.claims.get("jti"), Some(&json!("idjag-1")));
}

#[test]
fn the_idp_step_lists_the_assertion_and_fails_closed_on_an_unavailable_store() {
    let clients = ClientRegistry::new().with(RegisteredClient::private_key_jwt(
        IDP_CLIENT_ID,
        Arc::new(client_key().key_ring()),
    ));
    let idp = IdentityProviderEndpoint::new(
        IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT),
        clients,
        Arc::new(idp_key().clone()),
        Arc::new(idp_key().key_ring()),
        counter_jti(),
        Arc::new(policy()),
    );
    let assertion = sign_jwt(
        client_key(),
        "JWT",
        &json!({"iss": IDP_CLIENT_ID, "sub": IDP_CLIENT_ID, "aud": IDP_ISSUER, "jti": "assertion-x", "iat": NOW, "exp": NOW + 60}),
    )
    .expect("signs");
    let request = form_post(
        IDP_TOKEN_ENDPOINT,
        &[
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("subject_token", &id_token_with(|_| {})),
            ("subject_token_type", ID_TOKEN),
            ("audience", AS_ISSUER),
            ("resource", RESOURCE),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ],
        None,
    );
    let pending = idp.begin(&request, now()).expect("every check but replay");
    let [assertion_use] = pending.checks().uses() else {
        panic!("one use");
    };
    assert_eq!(
        (
            assertion_use.kind,
            assertion_use.issuer.as_str(),
            assertion_use.jti.as_str(),
            assertion_use.retain_until,
        ),
        (
            xaa::server::TokenKind::ClientAssertion,
            IDP_CLIENT_ID,
            "assertion-x",
            NOW + 60 + 60
        )
    );
    let verdicts = pending
        .checks()
        .check_with(|_| Err(xaa::server::ReplayError::Unavailable));
    let response = idp.finish_response(pending, &verdicts);
    assert_eq!(response.status(), 503);
    assert_eq!(
        body_json(&response)["error"],
        json!("temporarily_unavailable")
    );

    // Nothing was registered: the same request is accepted by a store that answers.
    let pending = idp.begin(&request, now()).expect("every check but replay");
    let verdicts = pending.checks().check_with(|_| Ok(()));
    minted(idp.finish(pending, &verdicts).expect("minted"));
}
