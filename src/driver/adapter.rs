//! What the middleware adapters of the drivers share (reqwest-middleware, tower, ureq's
//! middleware): their error, the user a request is made for, and the bearer header. An adapter
//! only builds requests and maps errors; the loop and every decision are the core's
//! ([`ClientAuthorizer::call`](super::ClientAuthorizer::call)).

use std::fmt;

use http::header::AUTHORIZATION;
use http::{Extensions, HeaderMap};

use super::error::DriverError;
use super::transport::Transport;
use crate::AccessToken;
use crate::authorizer::Authorizer;
use crate::authorizer::User;
use crate::authorizer::bearer;

/// A boxed error, as HTTP stacks carry them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a middleware adapter sent no request or returned no response. It travels inside the
/// HTTP stack's own error (each driver's `adapter_error` finds it there).
///
/// `Display` and `Debug` never show a token, a header or a body.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError<T: Transport> {
    /// The request has no [`User`] in its extensions: nothing was sent, no user is guessed.
    #[error("the request carries no xaa user (an `xaa::authorizer::User` request extension)")]
    NoUser,
    /// The request body is larger than the cap (the client's
    /// [`resource_body_bytes`](super::ClientBuilder::resource_body_bytes)), so it cannot be
    /// buffered for a resend: nothing was sent.
    #[error("the request body exceeds the limit of {limit} bytes kept for a resend")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request body could not be read: nothing was sent.
    #[error("the request body could not be read")]
    Body(#[source] BoxError),
    /// No token could be had, or the server refused even a fresh token or a wider scope:
    /// [`DriverError::Flow`] with [`crate::Error::ResourceServerRejected`], as the
    /// authorizer's `send` reports it.
    #[error(transparent)]
    Authorization(#[from] DriverError<T>),
}

impl<T: Transport> fmt::Debug for AdapterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoUser => f.write_str("NoUser"),
            Self::BodyTooLarge { limit } => f
                .debug_struct("BodyTooLarge")
                .field("limit", limit)
                .finish(),
            Self::Body(source) => f.debug_tuple("Body").field(source).finish(),
            Self::Authorization(error) => f.debug_tuple("Authorization").field(error).finish(),
        }
    }
}

/// The user a request is made for: its [`User`] extension, cloned; none is
/// [`AdapterError::NoUser`].
///
/// # Errors
///
/// [`AdapterError::NoUser`].
pub fn request_user<T: Transport>(extensions: &Extensions) -> Result<User, AdapterError<T>> {
    extensions
        .get::<User>()
        .cloned()
        .ok_or(AdapterError::NoUser)
}

/// Sets `Authorization: Bearer <token>` (RFC 6750 section 2.1), replacing any, marked sensitive
/// so HTTP libraries keep it out of their logs. A DPoP-bound token is refused: it is never sent
/// as a bearer token; use [`set_authorization`].
///
/// # Errors
///
/// [`DriverError::Flow`] for a bound token, or a token that is not a valid header value.
pub fn set_bearer<T: Transport>(
    headers: &mut HeaderMap,
    token: &AccessToken,
) -> Result<(), AdapterError<T>> {
    if token.dpop_jkt().is_some() {
        return Err(DriverError::Flow(crate::Error::Dpop {
            purpose: None,
            refusal: crate::DpopRefusal::BoundTokenWithoutKey,
        })
        .into());
    }
    headers.insert(AUTHORIZATION, bearer(token).map_err(DriverError::Flow)?);
    Ok(())
}

/// Sets what a request with `method` to `uri` carrying exactly `body` needs for `token`:
/// `Authorization: Bearer`, or for a DPoP-bound token `Authorization: DPoP` and a fresh proof
/// ([`Authorizer::request_authorization`]), replacing what was there.
///
/// # Errors
///
/// [`DriverError::Flow`] when the headers cannot be made.
pub fn set_authorization<T: Transport>(
    headers: &mut HeaderMap,
    authorizer: &Authorizer,
    token: &AccessToken,
    target: (&http::Method, &http::Uri),
    body: &[u8],
    now: std::time::SystemTime,
) -> Result<(), AdapterError<T>> {
    let (method, uri) = target;
    authorizer
        .request_authorization(token, method, uri, body, now)
        .map_err(DriverError::Flow)?
        .apply(headers);
    Ok(())
}
