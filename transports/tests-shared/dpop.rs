//! DPoP set-up shared by the drivers' tests against the testkit: a bound authorizer, the kit's
//! MCP requests with their proofs, and the claims of a proof. Included as a module beside
//! `kit.rs` (`common`).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde_json::Value;
use xaa::authorizer::AuthorizerConfig;
use xaa::dpop::{DpopBinding, DpopPolicy, DpopSigner, EsDpopKey};
use xaa::jose::RandomJti;
use xaa_testkit::{Endpoint, Options, RecordedRequest, Testkit};

/// A kit with DPoP on and required on all three servers.
pub fn options() -> Options {
    Options::default().dpop(true).dpop_required(true)
}

/// A fresh ES256 key under `DpopPolicy::Required`, its proofs to the MCP server with
/// `content_digest`.
pub fn digest_binding() -> DpopBinding {
    binding().with_content_digest(true)
}

/// A fresh ES256 key under `DpopPolicy::Required`.
pub fn binding() -> DpopBinding {
    let key = EsDpopKey::generate().expect("a P-256 key");
    DpopBinding::new(Arc::new(key), Arc::new(RandomJti), DpopPolicy::Required)
}

/// `config` binding its tokens to `binding`'s key.
pub fn bound(config: AuthorizerConfig, binding: &DpopBinding) -> AuthorizerConfig {
    config.dpop(binding.clone())
}

/// The MCP requests that carried a token (the discovery's unauthenticated probe left out).
pub fn authorized_mcp_requests(kit: &Testkit) -> Vec<RecordedRequest> {
    kit.requests_to(Endpoint::McpServer)
        .into_iter()
        .filter(|request| request.header("authorization").is_some())
        .collect()
}

/// The claims of a compact JWS (its payload, not verified: the kit verified it).
pub fn jws_claims(jws: &str) -> Value {
    let payload = jws.split('.').nth(1).expect("a compact JWS");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Asserts that `request` carried `token` as `Authorization: DPoP` with a proof for it: the
/// request's method and the kit's MCP URL, `ath`, and `nonce` as given; returns the proof's
/// claims.
pub fn assert_bound_request(
    kit: &Testkit,
    request: &RecordedRequest,
    token: &str,
    nonce: Option<&str>,
) -> Value {
    assert_eq!(request.authorization_scheme.as_deref(), Some("DPoP"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("DPoP {token}").as_str())
    );
    let proof = request.dpop_proof.as_deref().expect("a DPoP proof");
    let claims = jws_claims(proof);
    assert_eq!(claims["htm"], request.method.as_str());
    assert_eq!(claims["htu"], kit.mcp_url());
    let ath = URL_SAFE_NO_PAD.encode(sha256(token.as_bytes()));
    assert_eq!(claims["ath"], ath.as_str());
    assert_eq!(claims["nonce"].as_str(), nonce, "{claims}");
    claims
}

/// The statuses of `requests`.
pub fn statuses(requests: &[RecordedRequest]) -> Vec<Option<StatusCode>> {
    requests.iter().map(|request| request.status).collect()
}

/// SHA-256, as a DPoP key computes it for `ath` and `content_digest`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    EsDpopKey::generate().expect("a P-256 key").sha256(data)
}

/// What the adapters' DPoP tests run against: DPoP required, the MCP server's nonce required
/// and `content_digest` required in its proofs.
pub fn strict_options() -> Options {
    options()
        .dpop_nonce(xaa_testkit::Server::Mcp)
        .mcp_content_digest_required(true)
}

/// The DPoP refusal inside an adapter's error, if it is one.
pub fn adapter_refusal<T: xaa::driver::Transport>(
    error: &xaa::driver::AdapterError<T>,
) -> Option<&xaa::DpopRefusal> {
    match error {
        xaa::driver::AdapterError::Authorization(xaa::driver::DriverError::Flow(
            xaa::Error::Dpop { refusal, .. },
        )) => Some(refusal),
        _ => None,
    }
}

/// Asserts what an adapter sent for one `tools/list` against [`strict_options`]: the request
/// with `token` and a proof without a nonce (401), then once more with the kit's nonce (200),
/// each proof with its own `jti` and the `content_digest` of the exact body the kit received.
pub fn assert_nonce_demand_met_once(kit: &Testkit, token: &str) {
    let nonce = kit.dpop_nonce(xaa_testkit::Server::Mcp);
    let mcp = authorized_mcp_requests(kit);
    assert_eq!(
        statuses(&mcp),
        [Some(StatusCode::UNAUTHORIZED), Some(StatusCode::OK)],
        "{mcp:#?}"
    );
    let first = assert_bound_request(kit, &mcp[0], token, None);
    let second = assert_bound_request(kit, &mcp[1], token, Some(&nonce));
    assert_ne!(first["jti"], second["jti"]);
    assert_eq!(mcp[0].body, mcp[1].body, "the same body");
    for (request, claims) in [(&mcp[0], &first), (&mcp[1], &second)] {
        let digest = xaa::dpop::content_digest(&request.body, sha256);
        assert_eq!(claims["content_digest"], digest.as_str());
    }
}

/// Asserts that the kit saw exactly `count` requests since it was cleared, all to the MCP
/// server with a proof: nothing else was sent.
pub fn assert_only_mcp_requests(kit: &Testkit, count: usize) {
    let requests = kit.requests();
    assert_eq!(requests.len(), count, "{requests:#?}");
    assert!(
        requests
            .iter()
            .all(|r| r.endpoint == Some(Endpoint::McpServer) && r.has_dpop_proof())
    );
}
