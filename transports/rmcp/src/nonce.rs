//! The MCP server's DPoP nonce (RFC 9449 section 9), which rmcp's reqwest client does not hand
//! over.
//!
//! rmcp reports a `401` as [`StreamableHttpError::AuthRequired`] with the value of its
//! `WWW-Authenticate` field alone: the `DPoP-Nonce` field of that answer is dropped (as are the
//! header fields of every successful answer), and none of reqwest's hooks (redirect policy,
//! retry classifier, cookie store, connector layers) sees a response's header fields. So when
//! the server's `DPoP` challenge is `use_dpop_nonce`, the nonce is learnt from a probe: a
//! JSON-RPC `ping` (harmless if a server took it) with the same token and a fresh proof, sent
//! to the same URI through the authorizer's own [`xaa_reqwest::Client`], whose answer's
//! `DPoP-Nonce` is judged with the 401 it stands for.
//!
//! [`StreamableHttpError::AuthRequired`]: rmcp::transport::streamable_http_client::StreamableHttpError::AuthRequired

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, Method};
use xaa::AccessToken;
use xaa::challenge::{AuthScheme, BearerChallenge, parse};
use xaa::driver::Transport;

/// The header name of a server's nonce (RFC 9449 section 8.1).
const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The probe's body: a ping, which asks the server for nothing (MCP's `ping` utility).
const PROBE: &[u8] = br#"{"jsonrpc":"2.0","id":"xaa-dpop-nonce","method":"ping"}"#;

/// Whether a `WWW-Authenticate` value carries a `DPoP` challenge whose error is
/// `use_dpop_nonce` (RFC 9449 section 9).
pub(crate) fn demands_nonce(www_authenticate: &str) -> bool {
    parse(www_authenticate).is_ok_and(|challenges| {
        challenges
            .iter()
            .filter_map(BearerChallenge::from_challenge)
            .any(|challenge| {
                challenge.scheme == AuthScheme::DPoP
                    && challenge.error == Some(xaa::ErrorCode::UseDpopNonce)
            })
    })
}

/// The `DPoP-Nonce` fields of the server's answer to a probe sent to `uri` with `token`: none
/// when the probe could not be made or sent, or its answer had none (the core then reads the
/// demand as one without a nonce).
pub(crate) async fn probe(
    authorizer: &xaa_reqwest::Authorizer,
    token: &AccessToken,
    uri: &str,
) -> HeaderMap {
    let mut nonces = HeaderMap::new();
    let Ok(uri) = http::Uri::try_from(uri) else {
        return nonces;
    };
    let client = authorizer.client();
    let authorization = authorizer.authorizer().request_authorization(
        token,
        &Method::POST,
        &uri,
        PROBE,
        client.transport().now(),
    );
    let Ok(authorization) = authorization else {
        return nonces;
    };
    let mut request = http::Request::new(PROBE.to_vec());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        ACCEPT,
        http::HeaderValue::from_static("application/json, text/event-stream"),
    );
    authorization.apply(headers);
    tracing::debug!(
        event = "dpop_nonce_probe",
        "the MCP server demands a DPoP nonce: asking for it with a ping"
    );
    match client.send(request).await {
        Ok(answer) => {
            for value in answer.headers().get_all(DPOP_NONCE) {
                nonces.append(DPOP_NONCE, value.clone());
            }
        }
        Err(error) => {
            tracing::debug!(event = "dpop_nonce_probe_failed", error = %error, "no answer to the nonce probe");
        }
    }
    nonces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dpop_nonce_demand_is_one() {
        assert!(demands_nonce(
            r#"DPoP error="use_dpop_nonce", algs="ES256""#
        ));
        assert!(demands_nonce(
            r#"Bearer realm="mcp", DPoP error="use_dpop_nonce""#
        ));
        assert!(!demands_nonce(r#"DPoP error="invalid_dpop_proof""#));
        assert!(!demands_nonce(r#"Bearer error="use_dpop_nonce""#));
        assert!(!demands_nonce(r#"DPoP algs="ES256""#));
        assert!(!demands_nonce("not a challenge \u{7f}"));
    }
}
