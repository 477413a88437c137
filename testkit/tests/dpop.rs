//! DPoP in the kit (RFC 9449), over real HTTP on 127.0.0.1: off by default, bound ID-JAGs
//! and access tokens when on, each knob and each DPoP fault. Proofs are made with the core's
//! `DpopProofClaims` and a real ES256 `EsDpopKey`.

mod common;

use std::sync::OnceLock;

use serde_json::{Value, json};
use xaa::constants::{
    GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN,
};
use xaa::dpop::{DpopProofClaims, DpopSigner as _, EsDpopKey};
use xaa::jose::RandomJti;
use xaa::{AccessToken, HttpRequest, HttpResponse, Scope};
use xaa_testkit::{Endpoint, Fault, IdJagFault, Options, Server, Testkit, WRONG_JKT};

const JWT_DPOP: &str = "urn:ietf:params:oauth:grant-type:jwt-dpop";

fn key() -> &'static EsDpopKey {
    static KEY: OnceLock<EsDpopKey> = OnceLock::new();
    KEY.get_or_init(|| EsDpopKey::generate().expect("P-256 key"))
}

fn dpop_kit(options: Options) -> Testkit {
    Testkit::start(options.dpop(true)).expect("kit starts")
}

/// A proof by `key()` for `method` to `url`, now, with `nonce` and the access token's `ath`
/// when given.
fn proof(method: &str, url: &str, nonce: Option<&str>, token: Option<&AccessToken>) -> String {
    let method = http::Method::from_bytes(method.as_bytes()).expect("method");
    let mut claims = DpopProofClaims::new(&method, url, &RandomJti, std::time::SystemTime::now())
        .expect("claims");
    if let Some(nonce) = nonce {
        claims = claims.with_nonce(nonce);
    }
    if let Some(token) = token {
        claims = claims.with_access_token(token, key());
    }
    claims.sign(key()).expect("signed").into_string()
}

fn form_request(url: &str, pairs: &[(&str, &str)], proof: Option<&str>) -> HttpRequest {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(proof) = proof {
        builder = builder.header("dpop", proof);
    }
    builder
        .body(xaa_testkit::form::encode(pairs))
        .expect("request")
}

/// The token exchange at the IdP, with `proof`.
fn exchange(kit: &Testkit, proof: Option<&str>) -> HttpResponse {
    let id_token = kit.id_token("alice");
    common::send(form_request(
        kit.idp_token_endpoint(),
        &[
            ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE),
            ("requested_token_type", TOKEN_TYPE_ID_JAG),
            ("audience", kit.authorization_server_issuer()),
            ("resource", kit.mcp_url()),
            ("subject_token", id_token.expose_secret()),
            ("subject_token_type", TOKEN_TYPE_ID_TOKEN),
            ("client_id", xaa_testkit::IDP_CLIENT_ID),
        ],
        proof,
    ))
    .expect("exchange")
}

fn idp_proof(kit: &Testkit) -> String {
    proof("POST", kit.idp_token_endpoint(), None, None)
}

fn as_proof(kit: &Testkit, nonce: Option<&str>) -> String {
    proof(
        "POST",
        kit.authorization_server_token_endpoint(),
        nonce,
        None,
    )
}

/// An ID-JAG bound to `key()`, from the IdP.
fn bound_id_jag(kit: &Testkit) -> String {
    let response = exchange(kit, Some(&idp_proof(kit)));
    assert_eq!(response.status(), 200);
    body(&response)["access_token"]
        .as_str()
        .expect("ID-JAG")
        .to_owned()
}

/// The jwt-bearer (or `grant_type`) grant at the AS, with `proof`.
fn redeem(kit: &Testkit, grant_type: &str, id_jag: &str, proof: Option<&str>) -> HttpResponse {
    let secret = kit.as_client().secret().cloned().expect("basic client");
    let mut request = form_request(
        kit.authorization_server_token_endpoint(),
        &[("grant_type", grant_type), ("assertion", id_jag)],
        proof,
    );
    request.headers_mut().insert(
        "authorization",
        xaa_testkit::form::basic_authorization(xaa_testkit::AS_CLIENT_ID, &secret)
            .parse()
            .expect("header"),
    );
    common::send(request).expect("grant")
}

/// `tools/list` at the MCP server with `Authorization: <scheme> <token>` and `proof`.
fn mcp(kit: &Testkit, scheme: &str, token: &AccessToken, proof: Option<&str>) -> HttpResponse {
    let mut request = common::json_request(
        "POST",
        kit.mcp_url(),
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        format!("{scheme} {}", token.expose_secret())
            .parse()
            .expect("header"),
    );
    if let Some(proof) = proof {
        headers.insert("dpop", proof.parse().expect("header"));
    }
    common::send(request).expect("MCP")
}

fn mcp_proof(kit: &Testkit, token: &AccessToken, nonce: Option<&str>) -> String {
    proof("POST", kit.mcp_url(), nonce, Some(token))
}

fn body(response: &HttpResponse) -> Value {
    serde_json::from_slice(response.body()).expect("JSON")
}

fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("ASCII"))
}

fn cnf_of(id_jag: &str) -> Option<Value> {
    xaa::jwt::peek(id_jag)
        .expect("a JWS")
        .claims
        .get("cnf")
        .cloned()
}

fn metadata(url: &str) -> Value {
    body(&common::send(common::get(url)).expect("metadata"))
}

fn read_scope() -> Scope {
    Scope::parse("tools:read")
}

// ---------------------------------------------------------------------------------------------

#[test]
fn dpop_is_off_by_default_and_the_proof_is_ignored() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let response = exchange(&kit, Some(&idp_proof(&kit)));
    assert_eq!(response.status(), 200);
    let id_jag = body(&response)["access_token"]
        .as_str()
        .expect("ID-JAG")
        .to_owned();
    assert_eq!(cnf_of(&id_jag), None);
    let response = redeem(
        &kit,
        GRANT_TYPE_JWT_BEARER,
        &id_jag,
        Some(&as_proof(&kit, None)),
    );
    assert_eq!(body(&response)["token_type"], "Bearer");
    let as_metadata = metadata(&kit.authorization_server_metadata_url());
    assert_eq!(as_metadata.get("dpop_signing_alg_values_supported"), None);
}

#[test]
fn with_dpop_on_the_tokens_are_bound_end_to_end_and_the_recorder_notes_proofs() {
    let kit = dpop_kit(Options::default());
    let id_jag = bound_id_jag(&kit);
    assert_eq!(cnf_of(&id_jag), Some(json!({ "jkt": key().jkt() })));
    let response = redeem(
        &kit,
        GRANT_TYPE_JWT_BEARER,
        &id_jag,
        Some(&as_proof(&kit, None)),
    );
    assert_eq!(response.status(), 200);
    let granted = body(&response);
    assert_eq!(granted["token_type"], "DPoP");
    let token = AccessToken::new(granted["access_token"].as_str().expect("token"));
    let info = kit.access_token_info(token.expose_secret()).expect("known");
    assert_eq!(info.dpop_jkt, Some(key().jkt()));

    let response = mcp(&kit, "DPoP", &token, Some(&mcp_proof(&kit, &token, None)));
    assert_eq!(response.status(), 200);
    let response = mcp(&kit, "Bearer", &token, None);
    assert_eq!(response.status(), 401);
    assert!(
        header(&response, "www-authenticate")
            .expect("challenge")
            .starts_with("DPoP resource_metadata=")
    );

    let tokens = kit.token_requests();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|request| request.has_dpop_proof()));
    assert_eq!(
        tokens[0].grant_type.as_deref(),
        Some(GRANT_TYPE_TOKEN_EXCHANGE)
    );
    assert_eq!(tokens[1].grant_type.as_deref(), Some(GRANT_TYPE_JWT_BEARER));
    let mcp_requests = kit.requests_to(Endpoint::McpServer);
    assert_eq!(
        mcp_requests[0].authorization_scheme.as_deref(),
        Some("DPoP")
    );
    assert!(mcp_requests[0].has_dpop_proof());
    assert_eq!(
        mcp_requests[1].authorization_scheme.as_deref(),
        Some("Bearer")
    );
    assert!(!mcp_requests[1].has_dpop_proof());

    for url in [
        kit.authorization_server_metadata_url(),
        format!(
            "{}/.well-known/oauth-authorization-server",
            kit.idp_issuer()
        ),
    ] {
        assert_eq!(
            metadata(&url)["dpop_signing_alg_values_supported"],
            json!(["ES256"])
        );
    }
    let prm = metadata(&kit.resource_metadata_url());
    assert_eq!(prm["dpop_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(prm["dpop_bound_access_tokens_required"], json!(false));
}

#[test]
fn dpop_required_refuses_bearer_use_at_the_authorization_server_and_the_mcp_server() {
    let kit = dpop_kit(Options::default().dpop_required(true));
    let id_jag = body(&exchange(&kit, None))["access_token"]
        .as_str()
        .expect("ID-JAG")
        .to_owned();
    let response = redeem(&kit, GRANT_TYPE_JWT_BEARER, &id_jag, None);
    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["error"], "invalid_dpop_proof");

    let bearer = kit.issue_access_token("alice", &read_scope());
    let response = mcp(&kit, "Bearer", &bearer, None);
    assert_eq!(response.status(), 401);
    assert!(
        header(&response, "www-authenticate")
            .expect("challenge")
            .contains("error=\"invalid_token\"")
    );
    let prm = metadata(&kit.resource_metadata_url());
    assert_eq!(prm["dpop_bound_access_tokens_required"], json!(true));

    kit.set_dpop_required(false);
    assert_eq!(mcp(&kit, "Bearer", &bearer, None).status(), 200);
}

#[test]
fn each_server_can_require_its_nonce_and_rotate_it() {
    let kit = dpop_kit(Options::default().dpop_nonce(Server::Idp));
    // The IdP: 400 use_dpop_nonce with its nonce, then success with it.
    let response = exchange(&kit, Some(&idp_proof(&kit)));
    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["error"], "use_dpop_nonce");
    let nonce = kit.dpop_nonce(Server::Idp);
    assert_eq!(header(&response, "dpop-nonce"), Some(nonce.as_str()));
    let with_nonce = proof("POST", kit.idp_token_endpoint(), Some(&nonce), None);
    assert_eq!(exchange(&kit, Some(&with_nonce)).status(), 200);

    // The authorization server, switched on at runtime.
    kit.set_dpop_nonce_required(Server::AuthorizationServer, true);
    let id_jag = body(&exchange(
        &kit,
        Some(&proof("POST", kit.idp_token_endpoint(), Some(&nonce), None)),
    ))["access_token"]
        .as_str()
        .expect("ID-JAG")
        .to_owned();
    let response = redeem(
        &kit,
        GRANT_TYPE_JWT_BEARER,
        &id_jag,
        Some(&as_proof(&kit, None)),
    );
    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["error"], "use_dpop_nonce");
    let as_nonce = kit.dpop_nonce(Server::AuthorizationServer);
    assert_ne!(as_nonce, nonce, "each server has its own nonce");
    assert_eq!(header(&response, "dpop-nonce"), Some(as_nonce.as_str()));

    // The MCP server: 401 with the DPoP challenge and its nonce; after a rotation the
    // previous nonce still works once more and the response supplies the new one.
    kit.set_dpop_nonce_required(Server::Mcp, true);
    let token = kit.issue_dpop_access_token("alice", &read_scope(), &key().jkt());
    let response = mcp(&kit, "DPoP", &token, Some(&mcp_proof(&kit, &token, None)));
    assert_eq!(response.status(), 401);
    let mcp_nonce = kit.dpop_nonce(Server::Mcp);
    assert_eq!(header(&response, "dpop-nonce"), Some(mcp_nonce.as_str()));
    assert!(
        header(&response, "www-authenticate")
            .expect("challenge")
            .contains("error=\"use_dpop_nonce\"")
    );
    let response = mcp(
        &kit,
        "DPoP",
        &token,
        Some(&mcp_proof(&kit, &token, Some(&mcp_nonce))),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "dpop-nonce"), None);
    let rotated = kit.rotate_dpop_nonce(Server::Mcp);
    assert_ne!(rotated, mcp_nonce);
    let response = mcp(
        &kit,
        "DPoP",
        &token,
        Some(&mcp_proof(&kit, &token, Some(&mcp_nonce))),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "dpop-nonce"), Some(rotated.as_str()));
}

#[test]
fn the_idp_faults_drop_or_falsify_the_binding() {
    let kit = dpop_kit(Options::default());
    kit.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::DropCnf));
    assert_eq!(cnf_of(&bound_id_jag(&kit)), None);
    kit.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::WrongCnfJkt));
    let id_jag = bound_id_jag(&kit);
    assert_eq!(cnf_of(&id_jag), Some(json!({ "jkt": WRONG_JKT })));
    // The authorization server sees the mismatch.
    kit.clear_faults();
    let response = redeem(
        &kit,
        GRANT_TYPE_JWT_BEARER,
        &id_jag,
        Some(&as_proof(&kit, None)),
    );
    assert_eq!(response.status(), 400);
    assert_eq!(body(&response)["error"], "invalid_grant");
}

#[test]
fn the_downgrade_fault_issues_an_unbound_bearer_token() {
    let kit = dpop_kit(Options::default());
    kit.set_fault(Endpoint::AsToken, Fault::DpopDowngrade);
    let id_jag = bound_id_jag(&kit);
    let response = redeem(
        &kit,
        GRANT_TYPE_JWT_BEARER,
        &id_jag,
        Some(&as_proof(&kit, None)),
    );
    assert_eq!(response.status(), 200);
    let granted = body(&response);
    assert_eq!(granted["token_type"], "Bearer");
    let token = granted["access_token"].as_str().expect("token");
    assert_eq!(kit.access_token_info(token).expect("known").dpop_jkt, None);
}

#[test]
fn the_nonce_loop_fault_demands_a_fresh_nonce_on_every_try() {
    let kit = dpop_kit(Options::default());
    kit.set_fault(Endpoint::IdpToken, Fault::DpopNonceLoop);
    let mut seen = Vec::new();
    let mut nonce: Option<String> = None;
    for _ in 0..3 {
        let attempt = proof("POST", kit.idp_token_endpoint(), nonce.as_deref(), None);
        let response = exchange(&kit, Some(&attempt));
        assert_eq!(response.status(), 400);
        assert_eq!(body(&response)["error"], "use_dpop_nonce");
        let supplied = header(&response, "dpop-nonce").expect("a nonce").to_owned();
        assert!(!seen.contains(&supplied));
        seen.push(supplied.clone());
        nonce = Some(supplied);
    }
    kit.set_fault(Endpoint::McpServer, Fault::DpopNonceLoop);
    let token = kit.issue_dpop_access_token("alice", &read_scope(), &key().jkt());
    let response = mcp(&kit, "DPoP", &token, Some(&mcp_proof(&kit, &token, None)));
    assert_eq!(response.status(), 401);
    assert!(header(&response, "dpop-nonce").is_some());
    assert_eq!(
        header(&response, "www-authenticate"),
        Some(
            "DPoP error=\"use_dpop_nonce\", error_description=\"the proof must carry the nonce in DPoP-Nonce\", algs=\"ES256\""
        )
    );
}

#[test]
fn the_invalid_proof_fault_refuses_every_mcp_request() {
    let kit = dpop_kit(Options::default());
    let token = kit.issue_dpop_access_token("alice", &read_scope(), &key().jkt());
    kit.set_fault(Endpoint::McpServer, Fault::InvalidDpopProof);
    let response = mcp(&kit, "DPoP", &token, Some(&mcp_proof(&kit, &token, None)));
    assert_eq!(response.status(), 401);
    assert!(
        header(&response, "www-authenticate")
            .expect("challenge")
            .starts_with("DPoP error=\"invalid_dpop_proof\"")
    );
    kit.clear_faults();
    let response = mcp(&kit, "DPoP", &token, Some(&mcp_proof(&kit, &token, None)));
    assert_eq!(response.status(), 200);
}

#[test]
fn the_jwt_dpop_grant_is_offered_and_served_only_when_enabled() {
    let kit = dpop_kit(Options::default());
    let grants = |kit: &Testkit| {
        metadata(&kit.authorization_server_metadata_url())["grant_types_supported"].clone()
    };
    assert_eq!(grants(&kit), json!([GRANT_TYPE_JWT_BEARER]));
    let id_jag = bound_id_jag(&kit);
    let response = redeem(&kit, JWT_DPOP, &id_jag, Some(&as_proof(&kit, None)));
    assert_eq!(body(&response)["error"], "unsupported_grant_type");

    kit.set_jwt_dpop_grant(true);
    assert_eq!(grants(&kit), json!([GRANT_TYPE_JWT_BEARER, JWT_DPOP]));
    let response = redeem(&kit, JWT_DPOP, &id_jag, Some(&as_proof(&kit, None)));
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["token_type"], "DPoP");
    assert_eq!(
        kit.token_requests()[2].grant_type.as_deref(),
        Some(JWT_DPOP)
    );
}

#[test]
fn the_mcp_server_can_require_the_content_digest() {
    let kit = dpop_kit(Options::default().mcp_content_digest_required(true));
    let token = kit.issue_dpop_access_token("alice", &read_scope(), &key().jkt());
    let response = mcp(&kit, "DPoP", &token, Some(&mcp_proof(&kit, &token, None)));
    assert_eq!(response.status(), 401);
    assert!(
        header(&response, "www-authenticate")
            .expect("challenge")
            .contains("error=\"invalid_dpop_proof\"")
    );
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let body_bytes = serde_json::to_vec(&message).expect("JSON");
    let digest_proof = DpopProofClaims::new(
        &http::Method::POST,
        kit.mcp_url(),
        &RandomJti,
        std::time::SystemTime::now(),
    )
    .expect("claims")
    .with_access_token(&token, key())
    .with_content_digest(&body_bytes, key())
    .sign(key())
    .expect("signed");
    let response = mcp(&kit, "DPoP", &token, Some(digest_proof.as_str()));
    assert_eq!(response.status(), 200);
}

// ---------------------------------------------------------------------------------------------
// The core's client against the kit: the same wire protocol from both sides.

fn client_flow(
    kit: &Testkit,
    policy: xaa::dpop::DpopPolicy,
) -> Result<xaa::Authorization, xaa::DriveError<std::io::Error>> {
    let binding = xaa::dpop::DpopBinding::new(
        std::sync::Arc::new(key().clone()),
        std::sync::Arc::new(RandomJti),
        policy,
    );
    let config = kit
        .enterprise_config(xaa::grant::SubjectToken::IdToken(kit.id_token("alice")))
        .dpop(binding);
    let flow = xaa::EnterpriseAuth::new(config, xaa::Start::ServerUrl(kit.mcp_url().into()))
        .expect("flow");
    common::drive(flow)
}

#[test]
fn the_core_client_gets_a_bound_token_through_every_nonce_demand() {
    let kit = dpop_kit(
        Options::default()
            .dpop_nonce(Server::Idp)
            .dpop_nonce(Server::AuthorizationServer),
    );
    let authorization = client_flow(&kit, xaa::dpop::DpopPolicy::Required).expect("a bound token");
    assert_eq!(authorization.token_type, "DPoP");
    let info = kit
        .access_token_info(authorization.access_token.expose_secret())
        .expect("issued by the kit");
    assert_eq!(info.dpop_jkt, Some(key().jkt()));
    let tokens = kit.token_requests();
    let statuses: Vec<u16> = tokens
        .iter()
        .map(|request| request.status.expect("answered").as_u16())
        .collect();
    assert_eq!(
        statuses,
        [400, 200, 400, 200],
        "one nonce demand per server"
    );
    assert!(tokens.iter().all(|request| request.has_dpop_proof()));
}

#[test]
fn after_a_downgrade_the_core_client_sends_nothing_further() {
    let kit = dpop_kit(Options::default());
    kit.set_fault(Endpoint::AsToken, Fault::DpopDowngrade);
    let error = client_flow(&kit, xaa::dpop::DpopPolicy::Required).expect_err("refused");
    assert!(
        matches!(error, xaa::DriveError::Flow(xaa::Error::Dpop { .. })),
        "{error:?}"
    );
    let last = kit.requests().pop().expect("requests");
    assert_eq!(last.endpoint, Some(Endpoint::AsToken));
}
