//! The error type of [`AuthorizedHttpClient`](crate::AuthorizedHttpClient), and the carrying of
//! the wrapped client's errors over.

use rmcp::transport::streamable_http_client::StreamableHttpError;

/// What can go wrong in an [`AuthorizedHttpClient`](crate::AuthorizedHttpClient), as rmcp's
/// [`StreamableHttpError::Client`] carries it.
///
/// The MCP server's own refusals are not here: a 401 or 403 that the authorizer gives up on
/// (a fresh token refused again, the step-up limit reached) comes back as rmcp's
/// [`StreamableHttpError::AuthRequired`] or [`StreamableHttpError::InsufficientScope`], with
/// the server's challenge, exactly as from rmcp's own client, so
/// `ClientInitializeError::is_authorization_required` and
/// `StreamableHttpError::auth_challenge` keep working.
///
/// `Display` never prints a token, a header, a body or a URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E: std::error::Error + Send + Sync + 'static = reqwest::Error> {
    /// No token could be had for the request: the enterprise flow failed (the IdP or the
    /// authorization server refused, a check failed, a token endpoint was unreachable), or
    /// the user must sign in again ([`xaa::Error::ReauthenticationRequired`] inside). Or, for
    /// a DPoP-bound token, the request could not carry a proof, or the MCP server refused its
    /// proof ([`xaa::Error::Dpop`] inside: see [`Error::dpop_refusal`]); nothing further was
    /// sent.
    #[error("authorization failed: {0}")]
    Authorization(#[source] xaa_reqwest::Error),
    /// The wrapped HTTP client failed (for rmcp's reqwest client: connect, TLS, I/O).
    #[error(transparent)]
    Http(E),
}

impl<E: std::error::Error + Send + Sync + 'static> Error<E> {
    /// The flow's error, when no token could be had.
    pub fn authorization(&self) -> Option<&xaa_reqwest::Error> {
        match self {
            Self::Authorization(error) => Some(error),
            Self::Http(_) => None,
        }
    }

    /// Why DPoP ended the request, when it did: the MCP server refused the proof
    /// ([`xaa::DpopRefusal::ProofRefused`]), demanded a nonce again after the one resend
    /// ([`xaa::DpopRefusal::NonceLoop`]) or without supplying one, or the token could not go
    /// with a proof; or the flow's own DPoP checks failed.
    pub fn dpop_refusal(&self) -> Option<&xaa::DpopRefusal> {
        match self {
            Self::Authorization(xaa_reqwest::Error::Flow(xaa::Error::Dpop { refusal, .. })) => {
                Some(refusal)
            }
            _ => None,
        }
    }

    /// Whether the user must sign in at the IdP again: their subject token is expired or was
    /// refused, and the [`SubjectTokenSource`](xaa::authorizer::SubjectTokenSource) had no
    /// fresh one.
    pub fn is_reauthentication_required(&self) -> bool {
        matches!(
            self,
            Self::Authorization(xaa_reqwest::Error::Flow(
                xaa::Error::ReauthenticationRequired { .. }
            ))
        )
    }
}

/// The DPoP refusal that ended a request of an [`AuthorizedHttpClient`] on rmcp's reqwest
/// client, found anywhere in `error`'s chain: rmcp's `ServiceError` of a call, its
/// `ClientInitializeError`, or the transport's [`StreamableHttpError`] itself. See
/// [`Error::dpop_refusal`].
///
/// [`AuthorizedHttpClient`]: crate::AuthorizedHttpClient
pub fn dpop_refusal<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a xaa::DpopRefusal> {
    let mut source = Some(error);
    while let Some(current) = source {
        let found = if let Some(StreamableHttpError::Client(error)) =
            current.downcast_ref::<StreamableHttpError<Error>>()
        {
            error.dpop_refusal()
        } else {
            current
                .downcast_ref::<Error>()
                .and_then(Error::dpop_refusal)
        };
        if found.is_some() {
            return found;
        }
        source = current.source();
    }
    None
}

/// rmcp's error from the wrapped client, as this client's: every variant kept as it is (the
/// transport's worker reacts to several of them: an expired session, no SSE support, a 401),
/// the wrapped client's own error as [`Error::Http`].
pub(crate) fn lift<E>(error: StreamableHttpError<E>) -> StreamableHttpError<Error<E>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    use StreamableHttpError as S;
    match error {
        S::Client(error) => S::Client(Error::Http(error)),
        S::Sse(error) => S::Sse(error),
        S::Io(error) => S::Io(error),
        S::HttpStatus(error) => S::HttpStatus(error),
        S::UnexpectedEndOfStream => S::UnexpectedEndOfStream,
        S::UnexpectedServerResponse(message) => S::UnexpectedServerResponse(message),
        S::ResponseBodyTooLarge { max_size } => S::ResponseBodyTooLarge { max_size },
        S::UnexpectedContentType(content_type) => S::UnexpectedContentType(content_type),
        S::ServerDoesNotSupportSse => S::ServerDoesNotSupportSse,
        S::ServerDoesNotSupportDeleteSession => S::ServerDoesNotSupportDeleteSession,
        S::TokioJoinError(error) => S::TokioJoinError(error),
        S::Deserialize(error) => S::Deserialize(error),
        S::TransportChannelClosed => S::TransportChannelClosed,
        S::MissingSessionIdInResponse => S::MissingSessionIdInResponse,
        S::AuthRequired(error) => S::AuthRequired(error),
        S::InsufficientScope(error) => S::InsufficientScope(error),
        S::ReservedHeaderConflict(name) => S::ReservedHeaderConflict(name),
        S::SessionExpired => S::SessionExpired,
        S::SessionRecoveryTimeout => S::SessionRecoveryTimeout,
        S::ReinitializationFailed(error) => S::ReinitializationFailed(error),
        S::ControlRequestTimeout => S::ControlRequestTimeout,
        // A variant newer than rmcp 3.11, or `Auth` when another crate turns on rmcp's `auth`
        // feature: its message is kept.
        other => S::UnexpectedServerResponse(other.to_string().into()),
    }
}
