//! Why a token request was refused: a precise, typed reason for the host (and tests), and the
//! OAuth error (RFC 6749 section 5.2) the client is sent.

use http::header::WWW_AUTHENTICATE;
use http::{Response, StatusCode};
use serde_json::{Map, Value};

use super::response::{header_value, no_store, quoted};
use super::subject::SubjectTokenType;
use super::token_fault::TokenFault;
use super::verdict_fault::VerdictFault;
use crate::display_safety::{quoted_or_absent as shown, sanitize};
use crate::{ErrorCode, OAuthError, Scope};

/// Why client authentication failed (RFC 6749 section 2.3, RFC 7523 section 3).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthFault {
    /// No client credentials at all: no `Authorization`, no `client_id`.
    #[error("no client authentication")]
    MissingCredentials,
    /// The `Authorization` header is not well-formed Basic (RFC 7617), or uses another scheme.
    #[error("the Authorization header is not usable Basic credentials")]
    MalformedAuthorization,
    /// More than one method was used at once (RFC 6749 section 2.3: MUST NOT).
    #[error("more than one client authentication method")]
    MultipleMethods,
    /// The `client_id` parameter disagrees with the id in the credentials.
    #[error("client_id disagrees with the credentials")]
    ClientIdMismatch,
    /// `client_assertion_type` is not `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
    /// (RFC 7523 section 2.2).
    #[error("unsupported client_assertion_type {0:?}")]
    UnsupportedAssertionType(String),
    /// The client is not registered.
    #[error("unknown client {client_id:?}")]
    UnknownClient {
        /// The id presented, sanitized.
        client_id: String,
    },
    /// The client used another method than the one it registered.
    #[error("the client registered {registered}, not {used}")]
    MethodNotAllowed {
        /// The registered method.
        registered: &'static str,
        /// The method used.
        used: &'static str,
    },
    /// The secret does not match (compared in constant time, decisions.md D24).
    #[error("the client secret does not match")]
    SecretMismatch,
}

/// Why the requested or granted scope is refused (RFC 6749 section 5.2 `invalid_scope`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeFault {
    /// The request's `scope` names values the ID-JAG does not grant (EMA section 7.2.1; the
    /// conformance suite refuses it).
    #[error("the request asks for {extra} beyond the grant")]
    BeyondGrant {
        /// The values asked for beyond the grant.
        extra: Scope,
    },
    /// Nothing is left once the scope is narrowed by the grant and the resource's allowed
    /// scopes.
    #[error("no requested scope may be granted")]
    Empty,
}

/// Which rule refused a token request. [`Rejection::error`] is derived from it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// Not a `POST` (RFC 6749 section 3.2).
    #[error("the token endpoint accepts only POST")]
    MethodNotAllowed,
    /// The body is not `application/x-www-form-urlencoded` (RFC 6749 section 3.2).
    #[error("the body must be application/x-www-form-urlencoded")]
    ContentType,
    /// The body exceeds the configured limit.
    #[error("the body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A required parameter is absent or empty.
    #[error("parameter `{0}` is missing")]
    MissingParameter(&'static str),
    /// A parameter appears more than once (RFC 6749 section 3.2).
    #[error("parameter `{0}` is repeated")]
    DuplicateParameter(&'static str),
    /// The `grant_type` is not served by this endpoint (RFC 6749 section 5.2).
    #[error("grant_type {0:?} is not supported")]
    UnsupportedGrantType(String),
    /// A `requested_token_type` or `subject_token_type` this server does not handle
    /// (RFC 8693 section 2.1).
    #[error("{parameter} {value:?} is not supported")]
    UnsupportedTokenType {
        /// The parameter.
        parameter: &'static str,
        /// Its value, sanitized.
        value: String,
    },
    /// The client's registration does not allow this grant type (RFC 6749 section 5.2).
    #[error("the client may not use this grant type")]
    UnauthorizedClient,
    /// Client authentication failed (RFC 6749 section 2.3).
    #[error("client authentication failed: {0}")]
    ClientAuthentication(ClientAuthFault),
    /// The `private_key_jwt` client assertion broke a rule (RFC 7523 section 3).
    #[error("client assertion: {0}")]
    ClientAssertion(TokenFault),
    /// The ID-JAG broke a rule (protocol.md 3.3, RFC 7523 section 3, ID-JAG draft section 4.4.1).
    #[error("ID-JAG: {0}")]
    IdJag(TokenFault),
    /// The subject ID token broke a rule (ID-JAG draft section 4.3.3).
    #[error("subject token: {0}")]
    SubjectToken(TokenFault),
    /// The caller-supplied verifier refused a SAML or refresh-token subject token.
    #[error("the {token_type} subject token was refused: {reason}")]
    SubjectTokenRefused {
        /// The subject token type.
        token_type: SubjectTokenType,
        /// The verifier's reason, sanitized.
        reason: String,
    },
    /// The IdP will not issue for this `audience` and `resource` (EMA section 7.6.1,
    /// RFC 8693 section 2.2.2).
    #[error("audience {audience:?} with resource {} is not allowed", shown(.resource))]
    TargetNotAllowed {
        /// The requested audience, sanitized.
        audience: String,
        /// The requested resource, sanitized.
        resource: Option<String>,
    },
    /// Several `audience` or `resource` values: the ID-JAG names exactly one of each
    /// (RFC 8693 section 2.2.2).
    #[error("more than one audience or resource")]
    MultipleTargets,
    /// The IdP's policy denies the request outright.
    #[error("denied by policy")]
    AccessDenied,
    /// The scope cannot be granted.
    #[error("scope: {0}")]
    Scope(ScopeFault),
    /// The IdP's policy grants none of the requested scope.
    #[error("no requested scope is allowed")]
    ScopeNotAllowed,
    /// The replay cache is full of unexpired entries: refusing is the only safe answer
    /// (decisions.md D23).
    #[error("the replay cache is full")]
    ReplayCacheFull,
    /// The replay store could not answer, so a `jti` could not be checked: the token is
    /// refused rather than risk accepting a replay (fail closed, decisions.md D29), with
    /// `temporarily_unavailable` and 503 like a full store (RFC 6749 section 5.2 lets a
    /// token endpoint answer server trouble with a 5xx status).
    #[error("the replay store could not answer: the token's jti could not be checked")]
    ReplayStoreUnavailable,
    /// The host's replay verdicts do not answer the uses it was given (decisions.md D29): a
    /// fault of the host, `server_error`.
    #[error("{0}")]
    ReplayVerdicts(VerdictFault),
    /// Minting or issuing the token failed on the server side.
    #[error("issuing the token failed: {0}")]
    Issuance(String),
    /// The request's DPoP proof was refused, or a proof this server requires is missing (RFC
    /// 9449 sections 5 and 8): `invalid_dpop_proof`, or `use_dpop_nonce` for a missing or
    /// stale nonce, which comes with the current nonce in `DPoP-Nonce`.
    #[cfg(feature = "dpop")]
    #[error("{0}")]
    DpopProof(super::DpopError),
}

impl RejectReason {
    /// The OAuth error code for this reason (RFC 6749 section 5.2, RFC 8693 section 2.2.2).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::MethodNotAllowed
            | Self::ContentType
            | Self::BodyTooLarge { .. }
            | Self::MissingParameter(_)
            | Self::DuplicateParameter(_)
            | Self::UnsupportedTokenType { .. }
            | Self::ClientAuthentication(
                ClientAuthFault::MultipleMethods | ClientAuthFault::ClientIdMismatch,
            ) => ErrorCode::InvalidRequest,
            Self::UnsupportedGrantType(_) => ErrorCode::UnsupportedGrantType,
            Self::UnauthorizedClient => ErrorCode::UnauthorizedClient,
            Self::ClientAuthentication(_) | Self::ClientAssertion(_) => ErrorCode::InvalidClient,
            Self::IdJag(_) | Self::SubjectToken(_) | Self::SubjectTokenRefused { .. } => {
                ErrorCode::InvalidGrant
            }
            Self::TargetNotAllowed { .. } | Self::MultipleTargets => ErrorCode::InvalidTarget,
            Self::AccessDenied => ErrorCode::AccessDenied,
            Self::Scope(_) | Self::ScopeNotAllowed => ErrorCode::InvalidScope,
            Self::ReplayCacheFull | Self::ReplayStoreUnavailable => {
                ErrorCode::TemporarilyUnavailable
            }
            Self::Issuance(_) | Self::ReplayVerdicts(_) => ErrorCode::ServerError,
            #[cfg(feature = "dpop")]
            Self::DpopProof(error) => ErrorCode::parse(error.error_code()),
        }
    }

    /// The HTTP status: 401 for `invalid_client`, 500 and 503 for server trouble, else 400
    /// (RFC 6749 section 5.2).
    pub fn status(&self) -> StatusCode {
        match self.error_code() {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The `error_description` sent to the client, in the characters RFC 6749 section 5.2
    /// allows (printable ASCII without `"` and `\`). Client-authentication failures all read
    /// the same, so the response does not tell unknown clients from wrong secrets.
    fn description(&self) -> String {
        let text = match self.error_code() {
            ErrorCode::InvalidClient => return "client authentication failed".to_owned(),
            ErrorCode::ServerError => return "the server could not issue the token".to_owned(),
            _ => sanitize(&self.to_string()),
        };
        text.chars()
            .map(|c| match c {
                '"' => '\'',
                '\\' => '/',
                ' '..='~' => c,
                _ => '?',
            })
            .collect()
    }
}

/// A refused token request: the typed [`reason`](Self::reason) for the host, and what the
/// client is told. Render it with [`to_response`](Self::to_response).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejection {
    /// The OAuth error sent (RFC 6749 section 5.2).
    pub error: OAuthError,
    /// The HTTP status sent.
    pub status: StatusCode,
    /// The rule that failed.
    pub reason: RejectReason,
    /// The `WWW-Authenticate` value sent, when the client authenticated with HTTP Basic and
    /// failed (RFC 6749 section 5.2: 401 with the scheme it used).
    pub www_authenticate: Option<String>,
    /// The `DPoP-Nonce` sent: the nonce a refused proof must carry on the next try (RFC 9449
    /// section 8).
    #[cfg(feature = "dpop")]
    pub dpop_nonce: Option<String>,
}

impl Rejection {
    /// A rejection for `reason`, with the error code and status it implies.
    pub fn new(reason: RejectReason) -> Self {
        Self {
            error: OAuthError::new(reason.error_code()).with_description(reason.description()),
            status: reason.status(),
            reason,
            www_authenticate: None,
            #[cfg(feature = "dpop")]
            dpop_nonce: None,
        }
    }

    /// Adds `WWW-Authenticate: Basic realm="..."`.
    pub(crate) fn set_basic_challenge(&mut self, realm: &str) {
        self.www_authenticate = Some(format!("Basic realm={}", quoted(realm)));
    }

    /// The issuer and `kid` of a token signed with a key not in the configured key set
    /// (decisions.md D22): the host may refetch that issuer's JWKS, rate-limited, then retry.
    pub fn unknown_key(&self) -> Option<(&str, Option<&str>)> {
        match &self.reason {
            RejectReason::IdJag(TokenFault::UnknownKey { iss, kid })
            | RejectReason::SubjectToken(TokenFault::UnknownKey { iss, kid })
            | RejectReason::ClientAssertion(TokenFault::UnknownKey { iss, kid }) => {
                Some((iss, kid.as_deref()))
            }
            _ => None,
        }
    }

    /// The error response: JSON per RFC 6749 section 5.2, `Cache-Control: no-store`, and
    /// `WWW-Authenticate` and `DPoP-Nonce` when set.
    pub fn to_response(&self) -> Response<Vec<u8>> {
        let mut body = Map::new();
        body.insert("error".into(), Value::from(self.error.code.as_str()));
        if let Some(description) = &self.error.description {
            body.insert(
                "error_description".into(),
                Value::from(description.as_str()),
            );
        }
        if let Some(uri) = &self.error.uri {
            body.insert("error_uri".into(), Value::from(uri.as_str()));
        }
        let mut response = no_store(self.status, &Value::Object(body));
        if let Some(challenge) = &self.www_authenticate {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, header_value(challenge));
        }
        #[cfg(feature = "dpop")]
        if let Some(nonce) = &self.dpop_nonce {
            response
                .headers_mut()
                .insert(crate::dpop::DPOP_NONCE_HEADER, header_value(nonce));
        }
        response
    }
}

impl From<RejectReason> for Rejection {
    fn from(reason: RejectReason) -> Self {
        Self::new(reason)
    }
}

impl From<RejectReason> for Box<Rejection> {
    fn from(reason: RejectReason) -> Self {
        Box::new(Rejection::new(reason))
    }
}
