//! Why a token request was refused: a precise, typed reason for the host (and tests), and the
//! OAuth error (RFC 6749 section 5.2) the client is sent.

use http::StatusCode;

use super::subject::SubjectTokenType;
use crate::error::sanitize;
use crate::{ErrorCode, OAuthError, Scope};

/// An optional value in a message: quoted, or `(absent)`.
fn shown(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "(absent)".to_owned(), |value| format!("{value:?}"))
}

/// A rule a JWT broke: an ID-JAG at the MCP authorization server, a subject ID token at the
/// IdP, or a `private_key_jwt` client assertion. [`RejectReason`] says which JWT it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFault {
    /// Not a compact JWS: wrong segment count, bad base64url, header or claims not a JSON
    /// object, or a header member of the wrong type (RFC 7515 section 7.1).
    #[error("not a well-formed compact JWS")]
    Malformed,
    /// An encrypted JWT (JWE), which this server does not decrypt (protocol.md 3.3 step 3).
    #[error("encrypted tokens are not accepted")]
    Encrypted,
    /// `typ` is not `oauth-id-jag+jwt` (decisions.md D10, RFC 8725 section 3.11).
    #[error("typ {} is not oauth-id-jag+jwt", shown(.found))]
    Type {
        /// The `typ` found, if any.
        found: Option<String>,
    },
    /// `alg` is absent, `none`, or not on the allow-list (RFC 8725 section 3.1, EMA section 7.4.1).
    #[error("alg {} is not allowed", shown(.alg))]
    AlgorithmNotAllowed {
        /// The `alg` found, if any.
        alg: Option<String>,
    },
    /// The header has `crit`, naming extensions this server does not understand
    /// (RFC 7515 section 4.1.11).
    #[error("the header has crit extensions")]
    CriticalHeader,
    /// `iss` is absent or not a configured trusted issuer, by exact match
    /// (protocol.md 3.3 step 4).
    #[error("issuer {} is not trusted", shown(.iss))]
    UntrustedIssuer {
        /// The `iss` found, if any.
        iss: Option<String>,
    },
    /// No key of the issuer has this `kid` (decisions.md D22). The host may refetch the
    /// issuer's JWKS, rate-limited, and retry the request.
    #[error("issuer {iss:?} has no key {}", shown(.kid))]
    UnknownKey {
        /// The issuer whose keys were searched.
        iss: String,
        /// The `kid` of the token, if any (absent and ambiguous when the issuer has several keys).
        kid: Option<String>,
    },
    /// The key chosen by `kid` is not for the token's `alg` (RFC 7517 section 4.4).
    #[error("the key is not for alg {alg:?}")]
    KeyAlgorithmMismatch {
        /// The token's `alg`.
        alg: String,
    },
    /// The signature does not verify (RFC 7515 section 5.2).
    #[error("the signature does not verify")]
    BadSignature,
    /// A required claim is absent (or an empty string).
    #[error("claim `{0}` is missing")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type.
    #[error("claim `{0}` has the wrong type")]
    InvalidClaim(&'static str),
    /// `exp` has passed, beyond the allowed clock skew (RFC 7519 section 4.1.4).
    #[error("expired at {exp}")]
    Expired {
        /// The `exp` claim.
        exp: u64,
    },
    /// `nbf` is in the future, beyond the allowed clock skew (RFC 7519 section 4.1.5).
    #[error("not valid before {nbf}")]
    NotYetValid {
        /// The `nbf` claim.
        nbf: u64,
    },
    /// `iat` is in the future, beyond the allowed clock skew (RFC 7523 section 3 rule 6).
    #[error("issued in the future, at {iat}")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: u64,
    },
    /// `exp - iat` exceeds the configured maximum (EMA section 7.4.2: ID-JAGs MUST be short-lived).
    #[error("lifetime of {lifetime} s is too long")]
    LifetimeTooLong {
        /// `exp - iat`, in seconds.
        lifetime: u64,
    },
    /// `aud` does not name this server: not a string or one-element array holding exactly its
    /// identifier (ID-JAG draft section 4.4.1, decisions.md D10, RFC 7523 section 3 rule 3).
    #[error("aud {found} does not name this server")]
    Audience {
        /// The `aud` found, as JSON, sanitized.
        found: String,
    },
    /// A claim names another party than the one it must: the ID-JAG's `client_id` is not the
    /// authenticated client (ID-JAG draft section 4.4.1), a client assertion's `iss` or `sub` is not the
    /// client (RFC 7523 section 3), a subject token is bound to another client
    /// (ID-JAG draft section 4.3.3), an ID token's `azp` is another client.
    #[error("claim `{claim}` is {found:?}, which is not the expected party")]
    ClaimMismatch {
        /// The claim.
        claim: &'static str,
        /// Its value, sanitized.
        found: String,
    },
    /// `resource` is not one of this server's resources (EMA section 7.6.2).
    #[error("resource {found} is not served here")]
    UnknownResource {
        /// The `resource` found, as JSON, sanitized.
        found: String,
    },
    /// This `jti` was already used (EMA section 7.4.2, decisions.md D23).
    #[error("jti {jti:?} was already used")]
    Replayed {
        /// The `jti`.
        jti: String,
    },
    /// The token carries `cnf` (DPoP binding, ID-JAG draft section 9.8), which this server cannot honour:
    /// refused rather than issuing an unbound token.
    #[error("sender-constrained (cnf) tokens are not supported")]
    ConfirmationUnsupported,
}

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
    /// Minting or issuing the token failed on the server side.
    #[error("issuing the token failed: {0}")]
    Issuance(String),
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
            Self::ReplayCacheFull => ErrorCode::TemporarilyUnavailable,
            Self::Issuance(_) => ErrorCode::ServerError,
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
}

impl Rejection {
    /// A rejection for `reason`, with the error code and status it implies.
    pub fn new(reason: RejectReason) -> Self {
        Self {
            error: OAuthError::new(reason.error_code()).with_description(reason.description()),
            status: reason.status(),
            reason,
            www_authenticate: None,
        }
    }

    /// Adds `WWW-Authenticate: Basic realm="..."`.
    pub(crate) fn set_basic_challenge(&mut self, realm: &str) {
        self.www_authenticate = Some(format!("Basic realm={}", super::response::quoted(realm)));
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
    /// `WWW-Authenticate` when set.
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        super::response::error_response(self)
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
