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
