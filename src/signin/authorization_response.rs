//! The authorization response: the query of the redirect back to the client (RFC 6749
//! section 4.1.2, OpenID Connect Core 1.0 section 3.1.2.5), read strictly and checked against
//! the request (docs/signin.md, "Authorization response").

use std::fmt;

use zeroize::Zeroize;

use super::authorization_request::PendingSignIn;
use super::secrets::{AuthorizationCode, State};
use crate::constant_time_eq;
use crate::display_safety::sanitize;

/// The longest redirect query read. A code, a state and an issuer fit in far less; the bound
/// keeps a hostile redirect from costing more than this.
pub const MAX_CALLBACK_QUERY_BYTES: usize = 8 * 1024;

/// Why the redirect back from the IdP was refused. Every text it holds is sanitized; neither
/// the code nor the state ever is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The query is longer than [`MAX_CALLBACK_QUERY_BYTES`].
    #[error("the redirect's query is longer than {MAX_CALLBACK_QUERY_BYTES} bytes")]
    TooLarge,
    /// A parameter appears more than once (RFC 6749 section 3.1).
    #[error("parameter `{0}` appears more than once in the redirect (RFC 6749 section 3.1)")]
    RepeatedParameter(String),
    /// Both `code` and `error`, or neither (RFC 6749 sections 4.1.2 and 4.1.2.1).
    #[error("the redirect must carry either `code` or `error` (RFC 6749 section 4.1.2)")]
    CodeOrError,
    /// `state` is absent: the redirect cannot be tied to this sign-in (RFC 6749 section 10.12).
    #[error("the redirect has no `state` (RFC 6749 sections 4.1.2 and 10.12)")]
    StateMissing,
    /// `state` is not the one sent: a forged or crossed redirect (RFC 6749 section 10.12).
    #[error("the redirect's `state` is not the one sent (RFC 6749 section 10.12)")]
    StateMismatch,
    /// The IdP advertises `authorization_response_iss_parameter_supported` and `iss` is absent
    /// (RFC 9207 section 2.4).
    #[error("the redirect has no `iss` although the IdP promises one (RFC 9207 section 2.4)")]
    IssuerMissing,
    /// `iss` is not the IdP's issuer: a mix-up attack (RFC 9207 section 2.4).
    #[error("the redirect's `iss` {0:?} is not the IdP's issuer (RFC 9207 section 2.4)")]
    IssuerMismatch(String),
    /// The IdP refused the sign-in (RFC 6749 section 4.1.2.1).
    #[error("the IdP refused the sign-in: {0}")]
    Refused(AuthorizationError),
}

/// An error code of an authorization response (RFC 6749 section 4.1.2.1, OpenID Connect
/// Core 1.0 section 3.1.2.6). Unknown codes are kept, sanitized.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthorizationErrorCode {
    /// `access_denied`: the person or the IdP's policy said no.
    AccessDenied,
    /// `login_required`: `prompt=none` and nobody is signed in.
    LoginRequired,
    /// `interaction_required`: `prompt=none` and the IdP needs the person.
    InteractionRequired,
    /// `consent_required`: `prompt=none` and consent is needed.
    ConsentRequired,
    /// `account_selection_required`: `prompt=none` and several accounts could be meant.
    AccountSelectionRequired,
    /// `invalid_request`.
    InvalidRequest,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_scope`.
    InvalidScope,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// Any other code, sanitized.
    Other(String),
}

impl AuthorizationErrorCode {
    /// Reads a code; unknown codes become [`Other`](Self::Other).
    pub fn parse(code: &str) -> Self {
        match code {
            "access_denied" => Self::AccessDenied,
            "login_required" => Self::LoginRequired,
            "interaction_required" => Self::InteractionRequired,
            "consent_required" => Self::ConsentRequired,
            "account_selection_required" => Self::AccountSelectionRequired,
            "invalid_request" => Self::InvalidRequest,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "invalid_scope" => Self::InvalidScope,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(sanitize(other)),
        }
    }

    /// The code as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::ConsentRequired => "consent_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(code) => code,
        }
    }
}

/// The IdP's refusal, as the redirect carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationError {
    /// `error`.
    pub code: AuthorizationErrorCode,
    /// `error_description`, sanitized.
    pub description: Option<String>,
    /// `error_uri`, sanitized.
    pub uri: Option<String>,
}

impl fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(description) = &self.description {
            write!(f, " ({description})")?;
        }
        Ok(())
    }
}

/// The redirect's parameters, read but not yet checked against the request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizationResponse {
    /// What the redirect carried: a code, or the IdP's refusal.
    pub outcome: Result<AuthorizationCode, AuthorizationError>,
    state: Option<State>,
    /// `iss` (RFC 9207 section 2), verbatim: compared, never shown unsanitized.
    pub iss: Option<String>,
}

impl AuthorizationResponse {
    /// Reads a redirect's query (a leading `?` is skipped): at most
    /// [`MAX_CALLBACK_QUERY_BYTES`], no parameter twice (RFC 6749 section 3.1), exactly one
    /// of `code` and `error`. Unknown parameters are ignored (RFC 6749 section 4.1.2).
    pub fn parse(query: &str) -> Result<Self, CallbackError> {
        if query.len() > MAX_CALLBACK_QUERY_BYTES {
            return Err(CallbackError::TooLarge);
        }
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut pairs = Pairs(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        );
        let pairs = &mut pairs.0;
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(window) = pairs.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(CallbackError::RepeatedParameter(sanitize(&window[0].0)));
        }
        let take = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let outcome = match (take("code"), take("error")) {
            (Some(code), None) if !code.is_empty() => Ok(AuthorizationCode::new(code)),
            (None, Some(error)) if !error.is_empty() => Err(AuthorizationError {
                code: AuthorizationErrorCode::parse(&error),
                description: take("error_description").as_deref().map(sanitize),
                uri: take("error_uri").as_deref().map(sanitize),
            }),
            _ => return Err(CallbackError::CodeOrError),
        };
        Ok(Self {
            outcome,
            state: take("state").map(State::new),
            iss: take("iss"),
        })
    }
}

/// The decoded parameters, zeroized when dropped: the code and the state are among them.
struct Pairs(Vec<(String, String)>);

impl Drop for Pairs {
    fn drop(&mut self) {
        for (_, value) in &mut self.0 {
            value.zeroize();
        }
    }
}

impl PendingSignIn {
    /// Checks the redirect's query against this request and yields the code: `state` exactly
    /// the one sent (compared in constant time, RFC 6749 section 10.12), `iss` the IdP's
    /// issuer when present and required when the IdP advertises it (RFC 9207 section 2.4),
    /// then the code or the IdP's refusal as [`CallbackError::Refused`].
    pub fn accept(&self, query: &str) -> Result<AuthorizationCode, CallbackError> {
        let response = AuthorizationResponse::parse(query)?;
        let state = response.state.as_ref().ok_or(CallbackError::StateMissing)?;
        if !constant_time_eq(
            state.expose_secret().as_bytes(),
            self.state.expose_secret().as_bytes(),
        ) {
            return Err(CallbackError::StateMismatch);
        }
        match response.iss.as_deref() {
            Some(iss) if iss != self.issuer => {
                return Err(CallbackError::IssuerMismatch(sanitize(iss)));
            }
            None if self.iss_required => return Err(CallbackError::IssuerMissing),
            _ => {}
        }
        response.outcome.map_err(CallbackError::Refused)
    }
}
