//! What the middleware adapters share ([`AdapterError`], the user extension, the capped body,
//! the bearer header): they build requests and map errors; every decision is the core's.

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Extensions, HeaderMap, HeaderValue};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use xaa::AccessToken;
use xaa::authorizer::User;

/// A boxed error, as tower and http-body carry them.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why an adapter (`AuthorizeMiddleware`, `AuthorizeLayer`) sent no request or returned no
/// response. It travels inside the HTTP stack's own error: `reqwest_middleware::Error::Middleware`
/// (downcast the `anyhow::Error`), or the tower service's boxed error (downcast the box).
///
/// `Display` and `Debug` never show a token, a header or a body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The request has no [`User`] in its extensions: nothing was sent, no user is guessed.
    #[error("the request carries no xaa user (an `xaa::authorizer::User` request extension)")]
    NoUser,
    /// The request body is larger than the cap (the client's
    /// [`resource_body_bytes`](crate::ClientBuilder::resource_body_bytes)), so it cannot be
    /// buffered for a resend: nothing was sent.
    #[error("the request body exceeds the limit of {limit} bytes kept for a resend")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request body could not be read: nothing was sent.
    #[error("the request body could not be read")]
    Body(#[source] BoxError),
    /// No token could be had ([`Authorizer::token`](crate::Authorizer::token)'s errors), or
    /// the server refused even a fresh token or a wider scope: [`crate::Error::Flow`] with
    /// [`xaa::Error::ResourceServerRejected`], as [`Authorizer::send`](crate::Authorizer::send)
    /// reports it.
    #[error(transparent)]
    Authorization(#[from] crate::Error),
}

/// The user the request is made for: its [`User`] extension, cloned.
pub(crate) fn user(extensions: &Extensions) -> Result<User, AdapterError> {
    extensions
        .get::<User>()
        .cloned()
        .ok_or(AdapterError::NoUser)
}

/// Reads the whole body, at most `limit` bytes.
pub(crate) async fn collect_capped<B>(body: B, limit: usize) -> Result<Bytes, AdapterError>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(AdapterError::BodyTooLarge { limit }),
        Err(error) => Err(AdapterError::Body(error)),
    }
}

/// Sets `Authorization: Bearer <token>` (RFC 6750 section 2.1), replacing any, marked sensitive
/// so HTTP libraries keep it out of their logs.
pub(crate) fn set_bearer(headers: &mut HeaderMap, token: &AccessToken) -> Result<(), AdapterError> {
    let mut value =
        HeaderValue::try_from(format!("Bearer {}", token.expose_secret())).map_err(|_| {
            crate::Error::InvalidRequest("the access token is not a valid header value")
        })?;
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    Ok(())
}
