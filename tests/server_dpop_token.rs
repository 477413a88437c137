//! DPoP at the token endpoints (RFC 9449 sections 5, 6 and 8; ID-JAG draft section 9.8;
//! draft-parecki-oauth-jwt-dpop-grant): the IdP binds the ID-JAG it mints to the proof's key,
//! the MCP authorization server honours that binding and binds its access token, and both
//! supply and require nonces. Proofs are real ES256 signatures; the checks of the proof
//! itself are in `tests/dpop.rs`, here each rule is seen through the endpoint's answer.
#![cfg(feature = "jwt")]

mod server_support;

use std::sync::Arc;

use http::Request;
use serde_json::{Map, Value, json};
use server_support::dpop::{
    Proof, broken_token_proofs, counting_nonces, other_key, proof_key, validator,
};
use server_support::*;
use xaa::dpop::DpopSigner as _;
use xaa::jose::sign_jwt;
use xaa::server::{
    ApprovedTarget, AuthorizationServerConfig, AuthorizationServerEndpoint, ClientRegistry,
    DpopError, DpopNonces, ExchangeOutcome, IdentityProviderConfig, IdentityProviderEndpoint,
    InMemoryReplayStore, RegisteredClient, RejectReason, StaticExchangePolicy, TokenFault,
};
use xaa::{ClientSecret, Scope};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const JWT_DPOP: &str = "urn:ietf:params:oauth:grant-type:jwt-dpop";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn idp_with(
    config: IdentityProviderConfig,
    nonces: Option<Arc<DpopNonces>>,
) -> IdentityProviderEndpoint {
    let replay = Arc::new(InMemoryReplayStore::default());
    let policy = StaticExchangePolicy::new().with(
        ApprovedTarget::new(AS_ISSUER, RESOURCE)
            .for_client(IDP_CLIENT_ID, CLIENT_ID)
            .with_allowed_scopes(Scope::parse("read write")),
    );
    let clients = ClientRegistry::new().with(RegisteredClient::client_secret_basic(
        IDP_CLIENT_ID,
        ClientSecret::new(IDP_CLIENT_SECRET),
    ));
    let idp = IdentityProviderEndpoint::new(
        config,
        clients,
        Arc::new(idp_key().clone()),
        Arc::new(idp_key().key_ring()),
        Arc::new(fresh_jti),
        Arc::new(policy),
    )
    .with_replay_store(replay.clone())
    .with_dpop(validator(replay));
    match nonces {
        Some(nonces) => idp.with_dpop_nonces(nonces),
        None => idp,
    }
}

fn dpop_idp() -> IdentityProviderEndpoint {
    idp_with(
        IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT),
        None,
    )
}

fn id_token() -> String {
    let Value::Object(claims) = json!({
        "iss": IDP_ISSUER,
        "sub": "alice",
        "aud": IDP_CLIENT_ID,
        "iat": NOW - 60,
        "exp": NOW + 3600,
    }) else {
        unreachable!()
    };
    sign_jwt(idp_key(), "JWT", &claims).expect("signs")
}

/// An ID-JAG request at the IdP, with `proof` in `DPoP` when given.
fn exchange(proof: Option<&str>) -> Request<Vec<u8>> {
    let token = id_token();
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
        Some((IDP_CLIENT_ID, IDP_CLIENT_SECRET)),
    );
    with_proof(request, proof)
}

fn with_proof(mut request: Request<Vec<u8>>, proof: Option<&str>) -> Request<Vec<u8>> {
    if let Some(proof) = proof {
        request
            .headers_mut()
            .insert("dpop", proof.parse().expect("visible ASCII"));
    }
    request
}

fn dpop_as_with(
    config: AuthorizationServerConfig,
    nonces: Option<Arc<DpopNonces>>,
) -> (AuthorizationServerEndpoint, RecordingIssuer) {
    let replay = Arc::new(InMemoryReplayStore::default());
    let (server, recorder) = authorization_server(config, as_clients());
    let server = server
        .with_replay_store(replay.clone())
        .with_dpop(validator(replay));
    let server = match nonces {
        Some(nonces) => server.with_dpop_nonces(nonces),
        None => server,
    };
    (server, recorder)
}

fn dpop_as() -> (AuthorizationServerEndpoint, RecordingIssuer) {
    dpop_as_with(as_config(), None)
}

/// A grant request at the AS with `grant_type`, `assertion` and `proof` when given.
fn grant(grant_type: &str, assertion: &str, proof: Option<&str>) -> Request<Vec<u8>> {
    let request = form_post(
        AS_TOKEN_ENDPOINT,
        &[("grant_type", grant_type), ("assertion", assertion)],
        Some((CLIENT_ID, CLIENT_SECRET)),
    );
    with_proof(request, proof)
}

/// An ID-JAG bound to `jkt`.
fn bound_id_jag(jkt: &str) -> String {
    id_jag(&claims_with(|claims| {
        claims.insert("cnf".into(), json!({ "jkt": jkt }));
    }))
}

fn as_proof() -> String {
    Proof::new("POST", AS_TOKEN_ENDPOINT).sign()
}

/// Asserts a `400` with `error` and `Cache-Control: no-store`.
fn assert_refused(response: &http::Response<Vec<u8>>, error: &str, case: &str) {
    assert_eq!(response.status(), 400, "{case}");
    assert_eq!(body_json(response)["error"], json!(error), "{case}");
    assert_eq!(
        header(response, "cache-control"),
        Some("no-store"),
        "{case}"
    );
}

fn claims_of(token: &str) -> Map<String, Value> {
    xaa::jwt::peek(token).expect("a JWS").claims
}

// ---------------------------------------------------------------------------------------------
// The IdP.

#[test]
fn the_idp_binds_the_id_jag_to_the_proofs_key() {
    let response = dpop_idp().handle(
        &exchange(Some(&Proof::new("POST", IDP_TOKEN_ENDPOINT).sign())),
        now(),
    );
    assert_eq!(response.status(), 200);
    let body = body_json(&response);
    assert_eq!(body["token_type"], json!("N_A"));
    assert_eq!(header(&response, "dpop-nonce"), None);
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["cnf"], json!({ "jkt": proof_key().jkt() }));
}

#[test]
fn the_idp_without_a_proof_mints_an_unbound_id_jag_unless_it_requires_dpop() {
    let response = dpop_idp().handle(&exchange(None), now());
    assert_eq!(response.status(), 200);
    let claims = claims_of(
        body_json(&response)["access_token"]
            .as_str()
            .expect("token"),
    );
    assert!(!claims.contains_key("cnf"));

    let mut config = IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT);
    config.require_dpop = true;
    let rejection = idp_with(config, None)
        .process(&exchange(None), now())
        .expect_err("a proof is required");
    assert_eq!(
        rejection.reason,
        RejectReason::DpopProof(DpopError::Missing)
    );
    assert_refused(&rejection.to_response(), "invalid_dpop_proof", "required");
}

#[test]
fn the_idp_without_a_validator_ignores_the_dpop_header() {
    let idp =
        IdentityProviderEndpoint::new(
            IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT),
            ClientRegistry::new().with(RegisteredClient::client_secret_basic(
                IDP_CLIENT_ID,
                ClientSecret::new(IDP_CLIENT_SECRET),
            )),
            Arc::new(idp_key().clone()),
            Arc::new(idp_key().key_ring()),
            Arc::new(fresh_jti),
            Arc::new(StaticExchangePolicy::new().with(
                ApprovedTarget::new(AS_ISSUER, RESOURCE).for_client(IDP_CLIENT_ID, CLIENT_ID),
            )),
        );
    let response = idp.handle(&exchange(Some("not even a JWT")), now());
    assert_eq!(response.status(), 200);
    let claims = claims_of(
        body_json(&response)["access_token"]
            .as_str()
            .expect("token"),
    );
    assert!(!claims.contains_key("cnf"));
    assert!(
        !idp.metadata()
            .to_json()
            .as_object()
            .expect("object")
            .contains_key("dpop_signing_alg_values_supported")
    );
}

#[test]
fn the_idp_refuses_each_broken_proof_with_invalid_dpop_proof() {
    let idp = dpop_idp();
    for (case, proof) in broken_token_proofs(IDP_TOKEN_ENDPOINT) {
        let response = idp.handle(&exchange(Some(&proof)), now());
        assert_refused(&response, "invalid_dpop_proof", case);
        assert_eq!(header(&response, "dpop-nonce"), None, "{case}");
    }
}

#[test]
fn the_idp_refuses_a_replayed_proof() {
    let idp = dpop_idp();
    let proof = Proof::new("POST", IDP_TOKEN_ENDPOINT).sign();
    assert_eq!(idp.handle(&exchange(Some(&proof)), now()).status(), 200);
    let rejection = idp
        .process(&exchange(Some(&proof)), now())
        .expect_err("replayed");
    assert_eq!(
        rejection.reason,
        RejectReason::DpopProof(DpopError::Replayed)
    );
    assert_refused(&rejection.to_response(), "invalid_dpop_proof", "replay");
}

#[test]
fn the_idp_demands_its_nonce_and_supplies_the_new_one_after_a_rotation() {
    let nonces = counting_nonces("idp");
    let idp = idp_with(
        IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT),
        Some(nonces.clone()),
    );
    // No nonce: use_dpop_nonce with the current one.
    let response = idp.handle(
        &exchange(Some(&Proof::new("POST", IDP_TOKEN_ENDPOINT).sign())),
        now(),
    );
    assert_refused(&response, "use_dpop_nonce", "missing nonce");
    assert_eq!(header(&response, "dpop-nonce"), Some("idp-0"));
    // A nonce that was never supplied: the same answer.
    let stale = Proof::new("POST", IDP_TOKEN_ENDPOINT)
        .claim("nonce", json!("idp-stale"))
        .sign();
    let response = idp.handle(&exchange(Some(&stale)), now());
    assert_refused(&response, "use_dpop_nonce", "stale nonce");
    assert_eq!(header(&response, "dpop-nonce"), Some("idp-0"));
    // The current nonce: success, and nothing new to supply.
    let fresh = Proof::new("POST", IDP_TOKEN_ENDPOINT)
        .claim("nonce", json!("idp-0"))
        .sign();
    let response = idp.handle(&exchange(Some(&fresh)), now());
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "dpop-nonce"), None);
    // After a rotation the previous nonce is accepted for its grace period, and the
    // response supplies the new one (RFC 9449 section 8.2).
    assert_eq!(nonces.rotate(now()), "idp-1");
    let previous = Proof::new("POST", IDP_TOKEN_ENDPOINT)
        .claim("nonce", json!("idp-0"))
        .sign();
    let response = idp.handle(&exchange(Some(&previous)), now());
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "dpop-nonce"), Some("idp-1"));
    // Past the grace period it is stale.
    let late = at(61);
    let previous = Proof::new("POST", IDP_TOKEN_ENDPOINT)
        .claim("nonce", json!("idp-0"))
        .claim("iat", json!(NOW + 61))
        .sign();
    let response = idp.handle(&exchange(Some(&previous)), late);
    assert_refused(
        &response,
        "use_dpop_nonce",
        "previous nonce after its grace",
    );
    assert_eq!(header(&response, "dpop-nonce"), Some("idp-1"));
}

#[test]
fn a_required_proof_that_is_missing_comes_back_with_the_nonce_to_use() {
    let mut config = IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT);
    config.require_dpop = true;
    let idp = idp_with(config, Some(counting_nonces("idp")));
    let response = idp.handle(&exchange(None), now());
    assert_refused(&response, "invalid_dpop_proof", "missing proof");
    assert_eq!(header(&response, "dpop-nonce"), Some("idp-0"));
}

#[test]
fn the_idp_metadata_advertises_the_dpop_algorithms() {
    let metadata = dpop_idp().metadata().to_json();
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!([
            "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"
        ])
    );
    assert_eq!(metadata["grant_types_supported"], json!([TOKEN_EXCHANGE]));
}

// ---------------------------------------------------------------------------------------------
// The MCP authorization server.

#[test]
fn a_bound_id_jag_redeemed_with_a_proof_by_its_key_gives_a_dpop_token() {
    let (server, recorder) = dpop_as();
    let jkt = proof_key().jkt();
    let response = server.handle(
        &grant(JWT_BEARER, &bound_id_jag(&jkt), Some(&as_proof())),
        now(),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(&response),
        json!({
            "access_token": "at-1",
            "token_type": "DPoP",
            "expires_in": 3600,
            "scope": "read write",
        })
    );
    assert_eq!(recorder.last().dpop_jkt, Some(jkt));
}

#[test]
fn an_unbound_id_jag_with_a_proof_gives_a_token_bound_to_the_proofs_key() {
    let (server, recorder) = dpop_as();
    let response = server.handle(
        &grant(JWT_BEARER, &id_jag(&id_jag_claims()), Some(&as_proof())),
        now(),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["token_type"], json!("DPoP"));
    assert_eq!(recorder.last().dpop_jkt, Some(proof_key().jkt()));
}

#[test]
fn without_proof_or_binding_the_token_stays_a_bearer_token() {
    let (server, recorder) = dpop_as();
    let response = server.handle(&grant(JWT_BEARER, &id_jag(&id_jag_claims()), None), now());
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["token_type"], json!("Bearer"));
    assert_eq!(recorder.last().dpop_jkt, None);
}

#[test]
fn a_bound_id_jag_without_a_proof_is_invalid_grant() {
    let (server, recorder) = dpop_as();
    let rejection = server
        .process(
            &grant(JWT_BEARER, &bound_id_jag(&proof_key().jkt()), None),
            now(),
        )
        .expect_err("no proof");
    assert_eq!(
        rejection.reason,
        RejectReason::IdJag(TokenFault::ConfirmationWithoutProof)
    );
    assert_refused(
        &rejection.to_response(),
        "invalid_grant",
        "cnf without proof",
    );
    assert!(recorder.grants.lock().expect("lock").is_empty());
}

#[test]
fn a_bound_id_jag_with_a_proof_by_another_key_is_invalid_grant() {
    let (server, _) = dpop_as();
    let thief = Proof::by(other_key(), "POST", AS_TOKEN_ENDPOINT).sign_with(other_key());
    let rejection = server
        .process(
            &grant(JWT_BEARER, &bound_id_jag(&proof_key().jkt()), Some(&thief)),
            now(),
        )
        .expect_err("another key");
    assert_eq!(
        rejection.reason,
        RejectReason::IdJag(TokenFault::ConfirmationKeyMismatch)
    );
    assert_refused(
        &rejection.to_response(),
        "invalid_grant",
        "cnf of another key",
    );
}

#[test]
fn a_refused_binding_does_not_use_the_id_jag_up() {
    let (server, _) = dpop_as();
    let assertion = bound_id_jag(&proof_key().jkt());
    let response = server.handle(&grant(JWT_BEARER, &assertion, None), now());
    assert_refused(&response, "invalid_grant", "no proof");
    let response = server.handle(&grant(JWT_BEARER, &assertion, Some(&as_proof())), now());
    assert_eq!(response.status(), 200);
}

#[test]
fn a_cnf_that_names_no_jkt_is_refused() {
    let (server, _) = dpop_as();
    for (case, cnf, fault) in [
        ("string", json!("jkt"), TokenFault::ConfirmationMalformed),
        (
            "number jkt",
            json!({"jkt": 7}),
            TokenFault::ConfirmationMalformed,
        ),
        (
            "mTLS only",
            json!({"x5t#S256": "abc"}),
            TokenFault::ConfirmationUnsupported,
        ),
    ] {
        let assertion = id_jag(&claims_with(|claims| {
            claims.insert("cnf".into(), cnf);
        }));
        let rejection = server
            .process(&grant(JWT_BEARER, &assertion, Some(&as_proof())), now())
            .expect_err(case);
        assert_eq!(rejection.reason, RejectReason::IdJag(fault), "{case}");
    }
}

#[test]
fn a_server_without_a_validator_still_refuses_a_bound_id_jag() {
    let (server, _) = default_authorization_server();
    let rejection = server
        .process(
            &grant(
                JWT_BEARER,
                &bound_id_jag(&proof_key().jkt()),
                Some(&as_proof()),
            ),
            now(),
        )
        .expect_err("cannot honour cnf");
    assert_eq!(
        rejection.reason,
        RejectReason::IdJag(TokenFault::ConfirmationUnsupported)
    );
    let metadata = server.metadata().to_json();
    assert!(
        !metadata
            .as_object()
            .expect("object")
            .contains_key("dpop_signing_alg_values_supported")
    );
}

#[test]
fn a_server_told_to_require_proofs_but_given_no_validator_refuses_everything() {
    let mut config = as_config();
    config.require_dpop_bound_tokens = true;
    let (server, recorder) = authorization_server(config, as_clients());
    let response = server.handle(
        &grant(JWT_BEARER, &id_jag(&id_jag_claims()), Some(&as_proof())),
        now(),
    );
    assert_eq!(response.status(), 500);
    assert_eq!(body_json(&response)["error"], json!("server_error"));
    assert!(recorder.grants.lock().expect("lock").is_empty());

    let mut config = IdentityProviderConfig::new(IDP_ISSUER, IDP_TOKEN_ENDPOINT);
    config.require_dpop = true;
    let idp = IdentityProviderEndpoint::new(
        config,
        ClientRegistry::new().with(RegisteredClient::client_secret_basic(
            IDP_CLIENT_ID,
            ClientSecret::new(IDP_CLIENT_SECRET),
        )),
        Arc::new(idp_key().clone()),
        Arc::new(idp_key().key_ring()),
        Arc::new(fresh_jti),
        Arc::new(StaticExchangePolicy::new()),
    );
    let proof = Proof::new("POST", IDP_TOKEN_ENDPOINT).sign();
    assert_eq!(idp.handle(&exchange(Some(&proof)), now()).status(), 500);
}

#[test]
fn a_server_that_requires_bound_tokens_refuses_a_request_without_a_proof() {
    let mut config = as_config();
    config.require_dpop_bound_tokens = true;
    let (server, _) = dpop_as_with(config, None);
    let rejection = server
        .process(&grant(JWT_BEARER, &id_jag(&id_jag_claims()), None), now())
        .expect_err("proof required");
    assert_eq!(
        rejection.reason,
        RejectReason::DpopProof(DpopError::Missing)
    );
    assert_refused(&rejection.to_response(), "invalid_dpop_proof", "required");
}

#[test]
fn the_authorization_server_refuses_each_broken_proof_with_invalid_dpop_proof() {
    let (server, recorder) = dpop_as();
    for (case, proof) in broken_token_proofs(AS_TOKEN_ENDPOINT) {
        let response = server.handle(
            &grant(JWT_BEARER, &bound_id_jag(&proof_key().jkt()), Some(&proof)),
            now(),
        );
        assert_refused(&response, "invalid_dpop_proof", case);
    }
    assert!(recorder.grants.lock().expect("lock").is_empty());
}

#[test]
fn the_authorization_server_refuses_a_replayed_proof() {
    let (server, _) = dpop_as();
    let proof = as_proof();
    let first = server.handle(
        &grant(JWT_BEARER, &id_jag(&id_jag_claims()), Some(&proof)),
        now(),
    );
    assert_eq!(first.status(), 200);
    let again = server.handle(
        &grant(JWT_BEARER, &id_jag(&id_jag_claims()), Some(&proof)),
        now(),
    );
    assert_refused(&again, "invalid_dpop_proof", "replayed proof");
}

#[test]
fn the_authorization_server_demands_its_nonce_before_the_client_authenticates() {
    let (server, recorder) = dpop_as_with(as_config(), Some(counting_nonces("as")));
    let assertion = id_jag(&id_jag_claims());
    let mut wrong_secret = grant(JWT_BEARER, &assertion, Some(&as_proof()));
    wrong_secret.headers_mut().remove("authorization");
    let response = server.handle(&wrong_secret, now());
    assert_refused(
        &response,
        "use_dpop_nonce",
        "missing nonce, even unauthenticated",
    );
    assert_eq!(header(&response, "dpop-nonce"), Some("as-0"));
    let stale = Proof::new("POST", AS_TOKEN_ENDPOINT)
        .claim("nonce", json!("as-9"))
        .sign();
    let response = server.handle(&grant(JWT_BEARER, &assertion, Some(&stale)), now());
    assert_refused(&response, "use_dpop_nonce", "stale nonce");
    assert_eq!(header(&response, "dpop-nonce"), Some("as-0"));
    // The ID-JAG was not used up by the nonce demands.
    let fresh = Proof::new("POST", AS_TOKEN_ENDPOINT)
        .claim("nonce", json!("as-0"))
        .sign();
    let response = server.handle(&grant(JWT_BEARER, &assertion, Some(&fresh)), now());
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "dpop-nonce"), None);
    assert_eq!(recorder.grants.lock().expect("lock").len(), 1);
}

#[test]
fn after_a_rotation_the_authorization_server_supplies_the_new_nonce_on_success() {
    let nonces = counting_nonces("as");
    let (server, _) = dpop_as_with(as_config(), Some(nonces.clone()));
    assert_eq!(nonces.current(now()), "as-0");
    assert_eq!(nonces.rotate(now()), "as-1");
    let proof = Proof::new("POST", AS_TOKEN_ENDPOINT)
        .claim("nonce", json!("as-0"))
        .sign();
    let response = server.handle(
        &grant(JWT_BEARER, &id_jag(&id_jag_claims()), Some(&proof)),
        now(),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "dpop-nonce"), Some("as-1"));
}

// ---------------------------------------------------------------------------------------------
// The jwt-dpop grant.

fn jwt_dpop_server() -> (AuthorizationServerEndpoint, RecordingIssuer) {
    let mut config = as_config();
    config.accept_jwt_dpop_grant = true;
    dpop_as_with(config, None)
}

#[test]
fn the_jwt_dpop_grant_redeems_a_bound_id_jag_with_a_proof_by_its_key() {
    let (server, recorder) = jwt_dpop_server();
    let jkt = proof_key().jkt();
    let response = server.handle(
        &grant(JWT_DPOP, &bound_id_jag(&jkt), Some(&as_proof())),
        now(),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["token_type"], json!("DPoP"));
    assert_eq!(recorder.last().dpop_jkt, Some(jkt));
    let metadata = server.metadata().to_json();
    assert_eq!(
        metadata["grant_types_supported"],
        json!([JWT_BEARER, JWT_DPOP])
    );
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"][0],
        json!("ES256")
    );
}

#[test]
fn the_jwt_dpop_grant_requires_a_proof_and_a_bound_assertion() {
    let (server, _) = jwt_dpop_server();
    let rejection = server
        .process(
            &grant(JWT_DPOP, &bound_id_jag(&proof_key().jkt()), None),
            now(),
        )
        .expect_err("no proof");
    assert_eq!(
        rejection.reason,
        RejectReason::DpopProof(DpopError::Missing)
    );
    assert_refused(&rejection.to_response(), "invalid_dpop_proof", "no proof");

    let rejection = server
        .process(
            &grant(JWT_DPOP, &id_jag(&id_jag_claims()), Some(&as_proof())),
            now(),
        )
        .expect_err("unbound assertion");
    assert_eq!(
        rejection.reason,
        RejectReason::IdJag(TokenFault::ConfirmationRequired)
    );
    assert_refused(&rejection.to_response(), "invalid_grant", "unbound");
}

#[test]
fn the_jwt_dpop_grant_is_unsupported_unless_enabled() {
    let (server, _) = dpop_as();
    let response = server.handle(
        &grant(
            JWT_DPOP,
            &bound_id_jag(&proof_key().jkt()),
            Some(&as_proof()),
        ),
        now(),
    );
    assert_refused(&response, "unsupported_grant_type", "not enabled");
    assert_eq!(
        server.metadata().to_json()["grant_types_supported"],
        json!([JWT_BEARER])
    );
}

// ---------------------------------------------------------------------------------------------
// End to end.

#[test]
fn a_bound_id_jag_from_the_idp_becomes_a_dpop_token_at_the_authorization_server() {
    let outcome = dpop_idp()
        .process(
            &exchange(Some(&Proof::new("POST", IDP_TOKEN_ENDPOINT).sign())),
            now(),
        )
        .expect("minted");
    let ExchangeOutcome::IdJag(minted) = outcome else {
        panic!("an ID-JAG")
    };
    assert_eq!(minted.claims["cnf"], json!({ "jkt": proof_key().jkt() }));
    let (server, recorder) = dpop_as();
    let response = server.handle(
        &grant(JWT_BEARER, minted.id_jag.expose_secret(), Some(&as_proof())),
        now(),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["token_type"], json!("DPoP"));
    assert_eq!(recorder.last().dpop_jkt, Some(proof_key().jkt()));
}
