//! What one attempt hands the wrapped client for its token: a bearer token goes through rmcp's
//! own `auth_token` (its reqwest client sends `Authorization: Bearer`, RFC 6750 section 2.1); a
//! DPoP-bound token never does. Its `Authorization: DPoP` and fresh `DPoP` proof (RFC 9449
//! section 7.1) go among the custom headers, which rmcp's reqwest client sends as they are.

use std::collections::HashMap;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use xaa::AccessToken;
use xaa::driver::Transport;

/// The header name of a DPoP proof (RFC 9449 section 4.1).
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");

/// The two authorization arguments of one call to the wrapped client.
pub(crate) struct Credentials {
    /// rmcp's `auth_token`: the bearer token, or `None` for a bound token.
    pub(crate) auth_token: Option<String>,
    /// The caller's custom headers without any `Authorization` or `DPoP` of theirs, and for a
    /// bound token with the authorizer's.
    pub(crate) custom_headers: HashMap<HeaderName, HeaderValue>,
    /// Whether the request carries a DPoP proof.
    pub(crate) bound: bool,
}

/// The credentials of a request with `method` to `uri` whose body is `body` (the exact bytes
/// the wrapped client sends), for `token`, made at the authorizer's clock: see the
/// [module](self) docs.
///
/// # Errors
///
/// [`xaa::Error::Dpop`] when a bound token cannot go with a proof
/// ([`Authorizer::request_authorization`](xaa::authorizer::Authorizer::request_authorization));
/// [`xaa::Error::Misuse`] when `uri` is not a URI.
pub(crate) fn credentials(
    authorizer: &xaa_reqwest::Authorizer,
    token: &AccessToken,
    (method, uri): (Method, &str),
    body: impl FnOnce() -> Vec<u8>,
    custom_headers: &HashMap<HeaderName, HeaderValue>,
) -> Result<Credentials, xaa::Error> {
    let mut custom_headers = custom_headers.clone();
    custom_headers.retain(|name, _| *name != AUTHORIZATION && *name != DPOP);
    if token.dpop_jkt().is_none() {
        return Ok(Credentials {
            auth_token: Some(token.expose_secret().to_owned()),
            custom_headers,
            bound: false,
        });
    }
    let uri = http::Uri::try_from(uri)
        .map_err(|_| xaa::Error::Misuse("the MCP server's URI is not a valid URI"))?;
    let now = authorizer.client().transport().now();
    let mut headers = HeaderMap::new();
    authorizer
        .authorizer()
        .request_authorization(token, &method, &uri, &body(), now)?
        .apply(&mut headers);
    for name in [AUTHORIZATION, DPOP] {
        if let Some(value) = headers.remove(&name) {
            custom_headers.insert(name, value);
        }
    }
    Ok(Credentials {
        auth_token: None,
        custom_headers,
        bound: true,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use xaa::authorizer::AuthorizerConfig;
    use xaa::dpop::{DpopBinding, DpopPolicy, EsDpopKey};
    use xaa::{AuthorizationServer, ClientCredentials, IdentityProvider};

    use super::*;

    const MCP: &str = "https://mcp.example.com/mcp";

    fn authorizer(binding: &DpopBinding) -> xaa_reqwest::Authorizer {
        let config = AuthorizerConfig::new(
            MCP,
            IdentityProvider::issuer("https://idp.example.com", ClientCredentials::public("i")),
            AuthorizationServer::discovered(ClientCredentials::public("m")),
        )
        .dpop(binding.clone());
        let client = xaa_reqwest::Client::new().expect("client");
        xaa_reqwest::Authorizer::with_client(config, client)
    }

    fn binding() -> DpopBinding {
        let key = EsDpopKey::generate().expect("key");
        DpopBinding::new(
            Arc::new(key),
            Arc::new(xaa::jose::RandomJti),
            DpopPolicy::Required,
        )
    }

    /// The caller's custom headers: one to keep, and an `Authorization` and a `DPoP` of theirs.
    fn custom() -> HashMap<HeaderName, HeaderValue> {
        [
            ("x-trace", "kept"),
            ("authorization", "Bearer theirs"),
            ("dpop", "theirs"),
        ]
        .into_iter()
        .map(|(name, value)| {
            (
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            )
        })
        .collect()
    }

    #[tokio::test]
    async fn a_bearer_token_goes_through_rmcps_bearer_path_alone() {
        let binding = binding();
        let token = AccessToken::new("bearer-token");
        let made = credentials(
            &authorizer(&binding),
            &token,
            (Method::POST, MCP),
            Vec::new,
            &custom(),
        )
        .expect("credentials");
        assert_eq!(made.auth_token.as_deref(), Some("bearer-token"));
        assert!(!made.bound);
        assert_eq!(
            made.custom_headers.len(),
            1,
            "{:?}",
            made.custom_headers.keys()
        );
        assert_eq!(
            made.custom_headers[&HeaderName::from_static("x-trace")],
            "kept"
        );
    }

    #[tokio::test]
    async fn a_bound_token_goes_only_among_the_custom_headers_with_a_proof() {
        let binding = binding();
        let token = AccessToken::new("bound-token").bound_to(binding.jkt());
        let made = credentials(
            &authorizer(&binding.clone().with_content_digest(true)),
            &token,
            (Method::POST, MCP),
            || b"{}".to_vec(),
            &custom(),
        )
        .expect("credentials");
        assert_eq!(made.auth_token, None, "never rmcp's bearer path");
        assert!(made.bound);
        assert_eq!(made.custom_headers.len(), 3);
        assert_eq!(made.custom_headers[&AUTHORIZATION], "DPoP bound-token");
        assert!(made.custom_headers[&AUTHORIZATION].is_sensitive());
        assert_ne!(made.custom_headers[&DPOP], "theirs");
    }

    #[tokio::test]
    async fn a_bound_token_without_its_key_is_refused() {
        let token = AccessToken::new("bound-token").bound_to("another-key");
        let refused = credentials(
            &authorizer(&binding()),
            &token,
            (Method::GET, MCP),
            Vec::new,
            &custom(),
        );
        assert!(matches!(
            refused,
            Err(xaa::Error::Dpop {
                refusal: xaa::DpopRefusal::BoundTokenWithoutKey,
                ..
            })
        ));
    }
}
