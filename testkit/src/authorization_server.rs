//! The MCP authorization server: RFC 8414 metadata at the path-inserted URL of its issuer, and
//! the jwt-bearer token endpoint, the core's [`xaa::server::AuthorizationServerEndpoint`] behind it.

use std::time::SystemTime;

use http::{Method, Request, Response, StatusCode};
use serde_json::Value;

use crate::endpoint::{Endpoint, Server};
use crate::faults::{EVIL_ORIGIN, Fault, edit_json, invalid_grant};
use crate::http_util::{metadata_response, method_not_allowed, not_found};
use crate::state::Shared;

/// Answers a request routed to one of the authorization server's endpoints.
pub(crate) fn handle(
    shared: &Shared,
    endpoint: Endpoint,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    match endpoint {
        Endpoint::AsMetadata if request.method() != Method::GET => method_not_allowed("GET"),
        Endpoint::AsMetadata => {
            let scopes = shared.settings().all_scopes();
            let mut document = shared.servers().authorization_server.metadata();
            if !scopes.is_empty() {
                document.scopes_supported = Some(scopes.iter().map(str::to_owned).collect());
            }
            if fault == Some(&Fault::WrongIssuer) {
                document = document.with_member("issuer", Value::from(EVIL_ORIGIN));
            }
            metadata_response(document.to_json())
        }
        Endpoint::AsToken => {
            if fault == Some(&Fault::DpopNonceLoop) {
                let nonces = shared.dpop_nonces.of(Server::AuthorizationServer);
                return crate::dpop::token_nonce_demand(nonces, now);
            }
            let response = shared.servers().authorization_server.handle(request, now);
            match fault {
                Some(Fault::DpopDowngrade) if response.status() == StatusCode::OK => {
                    edit_json(response, |body| {
                        if let Some(token) = body.get("access_token").and_then(Value::as_str) {
                            shared.tokens.unbind(token);
                        }
                        body.insert("token_type".into(), Value::from("Bearer"));
                    })
                }
                Some(Fault::RefreshToken) if response.status() == StatusCode::OK => {
                    edit_json(response, |body| {
                        body.insert(
                            "refresh_token".into(),
                            Value::from("rt-that-does-not-belong"),
                        );
                    })
                }
                Some(Fault::AccessToken(text)) if response.status() == StatusCode::OK => {
                    edit_json(response, |body| {
                        body.insert("access_token".into(), Value::from(text.as_str()));
                    })
                }
                Some(Fault::ErrorDescription(text)) => invalid_grant(text),
                _ => response,
            }
        }
        _ => not_found(),
    }
}
