//! DPoP (RFC 9449) in the kit: each server's nonces, the proof validator the servers share
//! (ES256 only), and the answers of the DPoP faults.

use std::sync::Arc;
use std::time::SystemTime;

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;
use xaa::dpop::{DPOP_NONCE_HEADER, JwkDpopVerifier};
use xaa::jose::{AlgorithmAllowList, RandomJti};
use xaa::server::{DpopNonces, DpopValidator, ReplayStore};

use crate::endpoint::Server;
use crate::faults::plain;

/// The one proof algorithm the kit accepts and advertises.
pub(crate) const DPOP_ALGORITHM: &str = "ES256";

/// Each server's nonces, random, kept across rebuilds of the servers.
pub(crate) struct NonceSet {
    idp: Arc<DpopNonces>,
    authorization_server: Arc<DpopNonces>,
    mcp: Arc<DpopNonces>,
}

impl NonceSet {
    pub(crate) fn new() -> Self {
        let random = || Arc::new(DpopNonces::new(Arc::new(RandomJti)));
        Self {
            idp: random(),
            authorization_server: random(),
            mcp: random(),
        }
    }

    /// `server`'s nonces.
    pub(crate) fn of(&self, server: Server) -> &Arc<DpopNonces> {
        match server {
            Server::Idp => &self.idp,
            Server::AuthorizationServer => &self.authorization_server,
            Server::Mcp => &self.mcp,
        }
    }
}

/// A validator accepting ES256 proofs, remembering their `jti`s in `replay`.
pub(crate) fn validator(replay: Arc<dyn ReplayStore>) -> DpopValidator {
    DpopValidator::new(Arc::new(JwkDpopVerifier), replay)
        .with_algorithms(AlgorithmAllowList::only(&[DPOP_ALGORITHM]))
}

/// [`Fault::DpopNonceLoop`](crate::Fault::DpopNonceLoop) at a token endpoint: `400
/// use_dpop_nonce` with a nonce never supplied before (RFC 9449 section 8).
pub(crate) fn token_nonce_demand(nonces: &DpopNonces, now: SystemTime) -> Response<Vec<u8>> {
    let body = json!({
        "error": "use_dpop_nonce",
        "error_description": "the proof must carry the nonce in DPoP-Nonce",
    });
    let mut response = plain(
        StatusCode::BAD_REQUEST,
        "application/json",
        body.to_string().into_bytes(),
    );
    insert_nonce(&mut response, &nonces.rotate(now));
    response
}

/// [`Fault::DpopNonceLoop`](crate::Fault::DpopNonceLoop) at the MCP server: `401` with
/// `DPoP error="use_dpop_nonce"` and a nonce never supplied before (RFC 9449 section 9).
pub(crate) fn resource_nonce_demand(nonces: &DpopNonces, now: SystemTime) -> Response<Vec<u8>> {
    let mut response = resource_refusal(
        "use_dpop_nonce",
        "the proof must carry the nonce in DPoP-Nonce",
    );
    insert_nonce(&mut response, &nonces.rotate(now));
    response
}

/// A `401` with a `DPoP` challenge naming `error` (RFC 9449 section 7.1).
pub(crate) fn resource_refusal(error: &str, description: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let challenge = format!(
        "DPoP error=\"{error}\", error_description=\"{description}\", algs=\"{DPOP_ALGORITHM}\""
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

fn insert_nonce(response: &mut Response<Vec<u8>>, nonce: &str) {
    if let Ok(value) = HeaderValue::from_str(nonce) {
        response.headers_mut().insert(DPOP_NONCE_HEADER, value);
    }
}
