//! The whole enterprise-managed authorization flow, driven against canned answers: the MCP
//! server's challenge, its protected-resource metadata, the authorization server's metadata,
//! the IdP's token exchange and the authorization server's jwt-bearer grant. Nothing here
//! reads a clock, a socket or a random source: time is a constant, and every answer comes from
//! [`answer`]. Built for `wasm32-wasip1`, it shows that the core runs where nothing but
//! computation is available.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use xaa::{
    AuthorizationServer, ClientAuth, ClientCredentials, ClientSecret, EnterpriseAuth,
    EnterpriseConfig, HttpRequest, HttpResponse, IdToken, IdentityProvider, Start,
};

const MCP: &str = "https://mcp.example.com/mcp";
const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
const AS: &str = "https://as.example.com";
const AS_METADATA: &str = "https://as.example.com/.well-known/oauth-authorization-server";
const AS_TOKEN: &str = "https://as.example.com/token";
const IDP: &str = "https://idp.example.com";
const IDP_TOKEN: &str = "https://idp.example.com/token";
const AS_CLIENT: &str = "mcp-client";

/// The fixed time of the run: 2026-11-26T00:00:00Z.
pub const NOW_SECONDS: u64 = 1_795_651_200;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECONDS)
}

/// An unsigned compact JWS: the client only reads its claims (the signature is for the
/// authorization server to check).
fn jws(header: &Value, claims: &Value) -> String {
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!("{}.{}.c2lnbmF0dXJl", encode(header), encode(claims))
}

fn json_answer(status: u16, body: &Value) -> HttpResponse {
    let mut response = HttpResponse::new(body.to_string().into_bytes());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// What the canned servers answer to `request`.
pub fn answer(request: &HttpRequest) -> HttpResponse {
    let target = format!("{} {}", request.method(), request.uri());
    match target.as_str() {
        t if t == format!("POST {MCP}") => {
            let mut response = json_answer(401, &json!({}));
            let challenge = format!(r#"Bearer resource_metadata="{PRM}", scope="tools:read""#);
            if let Ok(value) = http::HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(http::header::WWW_AUTHENTICATE, value);
            }
            response
        }
        t if t == format!("GET {PRM}") => json_answer(
            200,
            &json!({"resource": MCP, "authorization_servers": [AS]}),
        ),
        t if t == format!("GET {AS_METADATA}") => json_answer(
            200,
            &json!({
                "issuer": AS, "token_endpoint": AS_TOKEN,
                "grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }),
        ),
        t if t == format!("POST {IDP_TOKEN}") => {
            let claims = json!({
                "iss": IDP, "sub": "alice", "aud": AS, "client_id": AS_CLIENT, "jti": "jti-1",
                "iat": NOW_SECONDS, "exp": NOW_SECONDS + 300, "resource": MCP, "scope": "tools:read",
            });
            let id_jag = jws(&json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}), &claims);
            json_answer(
                200,
                &json!({
                    "access_token": id_jag,
                    "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                    "token_type": "N_A", "expires_in": 300,
                }),
            )
        }
        t if t == format!("POST {AS_TOKEN}") => json_answer(
            200,
            &json!({"access_token": "at-canned", "token_type": "Bearer", "expires_in": 3600}),
        ),
        _ => json_answer(404, &json!({"error": "not_found"})),
    }
}

/// What the run found, without the token itself.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    /// The MCP server the token is for.
    pub resource: String,
    /// The authorization server that issued it.
    pub authorization_server: String,
    /// The token's lifetime in seconds.
    pub lifetime_seconds: u64,
    /// How many requests the flow made.
    pub requests: usize,
}

/// Runs the whole flow against [`answer`].
pub fn run() -> Result<Summary, String> {
    let id_token = jws(
        &json!({"alg": "ES256", "typ": "JWT"}),
        &json!({"iss": IDP, "sub": "alice", "aud": "idp-client", "exp": NOW_SECONDS + 3600}),
    );
    let config = EnterpriseConfig::new(
        IdentityProvider::token_endpoint(
            IDP_TOKEN,
            ClientCredentials::new("idp-client", ClientAuth::None),
        ),
        xaa::grant::SubjectToken::IdToken(IdToken::new(id_token)),
        AuthorizationServer::discovered(ClientCredentials::new(
            AS_CLIENT,
            ClientAuth::ClientSecretBasic(ClientSecret::new("canned-secret")),
        )),
    );
    let flow =
        EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).map_err(|e| e.to_string())?;
    let mut requests = 0;
    let authorization = xaa::drive(flow, now, |request| {
        requests += 1;
        Ok::<_, std::convert::Infallible>(answer(&request))
    })
    .map_err(|e| e.to_string())?;
    Ok(Summary {
        resource: authorization.resource,
        authorization_server: authorization.authorization_server,
        lifetime_seconds: authorization
            .expires_at
            .duration_since(now())
            .map_or(0, |d| d.as_secs()),
        requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canned_flow_ends_with_a_token_for_the_mcp_server() {
        assert_eq!(
            run(),
            Ok(Summary {
                resource: MCP.into(),
                authorization_server: AS.into(),
                lifetime_seconds: 3600,
                requests: 5,
            })
        );
    }
}
