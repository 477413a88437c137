//! The `Authorization` request header of a resource request (RFC 9110 section 11.6.2), read
//! once for the `Bearer` (RFC 6750 section 2.1) and `DPoP` (RFC 9449 section 7.1) schemes.

use http::Request;
use http::header::AUTHORIZATION;

/// The scheme and the non-empty credentials of the request's single `Authorization` header
/// (RFC 9110 section 11.6.2); `None` without exactly one such header.
pub(crate) fn authorization_credentials<B>(request: &Request<B>) -> Option<(&str, &str)> {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, credentials) = value.to_str().ok()?.trim().split_once(' ')?;
    let credentials = credentials.trim();
    (!credentials.is_empty()).then_some((scheme, credentials))
}
