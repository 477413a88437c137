//! The one error type of the client flows, and the OAuth error codes (RFC 6749 section 5.2).
//!
//! Every variant that comes from a server names the step ([`Purpose`]) and, where there was one,
//! the HTTP status. Text copied from a server is truncated and stripped of control characters;
//! tokens and secrets never reach an error.

use std::fmt;

use crate::Purpose;
use crate::challenge::ChallengeError;
use crate::jwt::HeaderRule;

pub(crate) use crate::display_safety::sanitize;

/// An OAuth error code (RFC 6749 section 5.2, RFC 6750 section 3.1, RFC 8693 section 2.2.2,
/// RFC 9470 section 3). Unknown codes are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the grant (subject token, ID-JAG, assertion) is invalid, expired or replayed.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the server does not implement the grant.
    UnsupportedGrantType,
    /// `invalid_scope`: the scope is unknown or wider than allowed.
    InvalidScope,
    /// `invalid_target` (RFC 8693): the server will not issue for this audience or resource.
    InvalidTarget,
    /// `insufficient_user_authentication` (RFC 9470): the user must authenticate again.
    InsufficientUserAuthentication,
    /// `access_denied`: a policy denial.
    AccessDenied,
    /// `invalid_token` (RFC 6750): the access token is invalid at the resource server.
    InvalidToken,
    /// `insufficient_scope` (RFC 6750): the access token lacks scope at the resource server.
    InsufficientScope,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `use_dpop_nonce` (RFC 9449 sections 8 and 9): the server wants a proof with the nonce
    /// it sent in `DPoP-Nonce`.
    UseDpopNonce,
    /// `invalid_dpop_proof` (RFC 9449 sections 5 and 7.1): the DPoP proof was refused.
    InvalidDpopProof,
    /// Any other code, kept verbatim (sanitized).
    Other(String),
}

impl ErrorCode {
    /// Parses a code; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "invalid_target" => Self::InvalidTarget,
            "insufficient_user_authentication" => Self::InsufficientUserAuthentication,
            "access_denied" => Self::AccessDenied,
            "invalid_token" => Self::InvalidToken,
            "insufficient_scope" => Self::InsufficientScope,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "use_dpop_nonce" => Self::UseDpopNonce,
            "invalid_dpop_proof" => Self::InvalidDpopProof,
            other => Self::Other(sanitize(other)),
        }
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
            Self::AccessDenied => "access_denied",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::Other(code) => code,
        }
    }

    /// Whether this code ends the attempt for good: no retry, no other grant (decisions.md D16).
    pub fn is_fail_closed(&self) -> bool {
        matches!(
            self,
            Self::InvalidClient
                | Self::InvalidTarget
                | Self::AccessDenied
                | Self::UnauthorizedClient
                | Self::UnsupportedGrantType
                | Self::InvalidScope
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error response (RFC 6749 section 5.2), sanitized.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthError {
    /// The `error` code.
    pub code: ErrorCode,
    /// `error_description`, truncated.
    pub description: Option<String>,
    /// `error_uri`, truncated.
    pub uri: Option<String>,
    /// `max_age` in seconds, sent with `insufficient_user_authentication` (RFC 9470 section 3).
    pub max_age: Option<u64>,
}

impl OAuthError {
    /// An error with only a code.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
            uri: None,
            max_age: None,
        }
    }

    /// Adds a description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(description) = &self.description {
            write!(f, " ({description})")?;
        }
        if let Some(max_age) = self.max_age {
            write!(f, " [max_age={max_age}]")?;
        }
        Ok(())
    }
}

/// One URL tried during discovery and what it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// The URL requested.
    pub url: String,
    /// What came back: `404`, `200 not JSON`, ...
    pub outcome: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.url, self.outcome)
    }
}

/// What exactly is wrong with a response: one that arrived with a success status, or a
/// challenge that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The body is not a JSON object.
    NotJson,
    /// The body is larger than [`Policy::max_body_bytes`](crate::Policy::max_body_bytes).
    BodyTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The `Content-Type` is not JSON.
    ContentType(String),
    /// A required member is missing or empty.
    MissingField(&'static str),
    /// A member has the wrong JSON type or an unusable value.
    InvalidField {
        /// The member.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A member appears twice in the JSON object with different values.
    DuplicateField(String),
    /// `issued_token_type` is not the one requested (RFC 8693 section 2.2.1).
    IssuedTokenType(String),
    /// `token_type` is not the one the profile requires (`N_A` on the exchange, decisions.md
    /// D12; `Bearer` on the access token).
    TokenType(String),
    /// The returned token is not a compact JWS or JWE.
    NotAJwt,
    /// A claim of the ID-JAG does not match what was asked for (protocol.md 6 rule 5).
    IdJagClaim {
        /// The claim (`aud`, `client_id`, `resource`, `exp`, `typ`, ...).
        claim: &'static str,
        /// What was found, sanitized, or why it is refused.
        found: String,
    },
    /// The granted scope includes values that were not requested (decisions.md D8).
    ScopeWidened {
        /// The values granted beyond the request.
        extra: String,
    },
    /// An encrypted ID-JAG arrived and the policy refuses them (decisions.md D11).
    EncryptedIdJag,
    /// A JOSE header member of the ID-JAG breaks a rule no signed or encrypted JWT breaks
    /// (RFC 7515 section 4.1, RFC 7516 section 4.1, RFC 8725 section 3.1).
    IdJagHeader {
        /// The member: `alg`, `enc`, `typ` or `cty`.
        member: &'static str,
        /// Its value, sanitized, when it is a string.
        found: Option<String>,
        /// The rule it breaks.
        rule: HeaderRule,
    },
    /// The `WWW-Authenticate` field could not be parsed (RFC 9110 section 11.6.1): a
    /// parameter named twice, a non-ASCII byte, more challenges than the parser's bound, ...
    MalformedChallenge(ChallengeError),
    /// The ID token the IdP issued at sign-in breaks a rule of OpenID Connect Core 1.0
    /// (sections 2, 3.1.3.7 and 12.2): the error names the rule.
    #[cfg(feature = "signin")]
    IdToken(crate::id_token_error::IdTokenError),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson => f.write_str("the body is not a JSON object"),
            Self::BodyTooLarge { limit } => write!(f, "the body exceeds {limit} bytes"),
            Self::ContentType(found) => write!(f, "Content-Type {found:?} is not JSON"),
            Self::MissingField(field) => write!(f, "required member `{field}` is missing"),
            Self::InvalidField { field, reason } => write!(f, "member `{field}`: {reason}"),
            Self::DuplicateField(field) => write!(f, "member `{field}` appears twice"),
            Self::IssuedTokenType(found) => {
                write!(f, "issued_token_type {found:?} is not the id-jag type")
            }
            Self::TokenType(found) => write!(f, "token_type {found:?} is not allowed here"),
            Self::NotAJwt => f.write_str("the token is not a compact JWS or JWE"),
            Self::IdJagClaim { claim, found } => write!(f, "ID-JAG claim `{claim}`: {found}"),
            Self::ScopeWidened { extra } => {
                write!(f, "granted scope adds {extra:?} beyond the request")
            }
            Self::EncryptedIdJag => f.write_str("encrypted ID-JAGs are refused by policy"),
            Self::IdJagHeader {
                member,
                found,
                rule,
            } => {
                write!(f, "ID-JAG header `{member}`")?;
                if let Some(found) = found {
                    write!(f, " {found:?}")?;
                }
                write!(f, " {rule}")
            }
            Self::MalformedChallenge(error) => {
                write!(f, "WWW-Authenticate cannot be parsed: {error}")
            }
            #[cfg(feature = "signin")]
            Self::IdToken(error) => write!(f, "ID token refused: {error}"),
        }
    }
}

/// What the server or configuration does not support.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// The metadata lists `grant_types_supported` without this grant (decisions.md D3).
    GrantType(&'static str),
    /// The metadata lists `authorization_grant_profiles_supported` without the id-jag profile.
    GrantProfile,
    /// The IdP lists `identity_chaining_requested_token_types_supported` without the id-jag type.
    RequestedTokenType,
    /// The metadata lists `token_endpoint_auth_methods_supported` without the configured method.
    AuthMethod(&'static str),
    /// The MCP server's challenge offers only schemes this library does not speak (decisions.md
    /// D6): the schemes offered, sanitized.
    ChallengeScheme(String),
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GrantType(grant) => write!(f, "grant_types_supported lacks {grant}"),
            Self::GrantProfile => {
                f.write_str("authorization_grant_profiles_supported lacks the id-jag profile")
            }
            Self::RequestedTokenType => f.write_str(
                "identity_chaining_requested_token_types_supported lacks the id-jag token type",
            ),
            Self::AuthMethod(method) => {
                write!(f, "token_endpoint_auth_methods_supported lacks {method}")
            }
            Self::ChallengeScheme(schemes) => write!(
                f,
                "the challenge offers {schemes} but not Bearer, the one scheme supported (RFC 6750 section 3)"
            ),
        }
    }
}

/// Everything that can end a client flow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The flow was driven against its contract (a response for an unknown id, a poll after Done).
    #[error("flow misuse: {0}")]
    Misuse(&'static str),
    /// The configuration is unusable; the message says which setting.
    #[error("configuration: {0}")]
    Config(String),
    /// A URL is not `https` and the policy does not allow plain http for this host
    /// (protocol.md 6 rule 1).
    #[error(
        "{purpose}: {url} is not https (plain http is allowed only for loopback hosts, and only when the policy allows it)"
    )]
    InsecureUrl {
        /// Which step would have used it.
        purpose: Purpose,
        /// The URL, sanitized.
        url: String,
    },
    /// A URL names a private or loopback IP literal the deployment and policy do not allow, or
    /// one never allowed (link-local, unspecified, ...: [`AddressClass::Never`]); the message
    /// says which kind (decisions.md D5).
    ///
    /// [`AddressClass::Never`]: crate::discovery::AddressClass::Never
    #[error(
        "{purpose}: refused {url}: it points at {} (RFC 9728 section 7.7: a client must not be steered to internal addresses)",
        crate::address_class::private_address_phrase(url)
    )]
    PrivateAddress {
        /// Which step would have used it.
        purpose: Purpose,
        /// The URL, sanitized.
        url: String,
    },
    /// A URL cannot be parsed or cannot be used (a fragment, no host, ...).
    #[error("{purpose}: invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// Which step would have used it.
        purpose: Purpose,
        /// The URL, sanitized.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The server answered with a redirect; redirects are never followed (decisions.md D4).
    #[error(
        "{purpose}: the server answered {status} with a redirect to {}; redirects are never followed",
        location.as_deref().unwrap_or("(no Location header)")
    )]
    Redirect {
        /// Which step.
        purpose: Purpose,
        /// The 3xx status.
        status: u16,
        /// The `Location` header, sanitized.
        location: Option<String>,
    },
    /// A token endpoint answered with an OAuth error (RFC 6749 section 5.2).
    #[error("{purpose}: the server refused with HTTP {status}: {error}")]
    OAuth {
        /// Which step.
        purpose: Purpose,
        /// The HTTP status.
        status: u16,
        /// The error the server sent.
        error: OAuthError,
    },
    /// The IdP will not accept the subject token any more: the user must sign in again
    /// (decisions.md D17). `error.max_age` carries the IdP's demand, when it gave one.
    #[error("{purpose}: the user must sign in at the IdP again (HTTP {status}: {error})")]
    ReauthenticationRequired {
        /// Which step.
        purpose: Purpose,
        /// The HTTP status (0 when the subject token was found expired before sending).
        status: u16,
        /// The error the IdP sent, or a synthetic `invalid_grant` for an expired subject token.
        error: OAuthError,
    },
    /// The ID token given as the subject token expired before it could be sent: the caller
    /// needs a fresh one, or the user must sign in again (decisions.md D17).
    #[error("the subject ID token expired at {expired_at} (seconds since the epoch)")]
    SubjectTokenExpired {
        /// Its `exp`.
        expired_at: u64,
    },
    /// The configured IdP is the authorization server: an ID-JAG must never be redeemed in the
    /// domain that issued it (ID-JAG draft section 9.3).
    #[error(
        "the IdP issuer {issuer:?} is also the authorization server; refused (ID-JAG draft section 9.3)"
    )]
    IdpIsAuthorizationServer {
        /// The shared issuer.
        issuer: String,
    },
    /// The authorization server's metadata names the IdP's token endpoint as its own: its client
    /// credentials and the ID-JAG would go to the IdP (ID-JAG draft section 9.3), whichever way
    /// the IdP was configured.
    #[error(
        "the authorization server {issuer:?} names the IdP's token endpoint {token_endpoint:?} as its own; its credentials and the ID-JAG never go to the IdP, refused (ID-JAG draft section 9.3)"
    )]
    AuthorizationServerIsIdp {
        /// The authorization server's issuer.
        issuer: String,
        /// Its token endpoint, sanitized.
        token_endpoint: String,
    },
    /// The pinned authorization server is not among the MCP server's `authorization_servers`.
    #[error(
        "the pinned authorization server {pinned:?} is not listed by the MCP server (it lists {listed:?})"
    )]
    AuthorizationServerNotListed {
        /// The pinned issuer.
        pinned: String,
        /// What the protected-resource metadata lists, sanitized.
        listed: Vec<String>,
    },
    /// The HTTP transport failed (connection, TLS, timeout, body cap); the message is the
    /// transport's, sanitized. Drivers report the original as their own transport error; this
    /// variant carries it to callers who shared the flight.
    #[error("{}transport failed: {message}", purpose.map(|p| format!("{p}: ")).unwrap_or_default())]
    Transport {
        /// The step whose request failed, when known.
        purpose: Option<Purpose>,
        /// What the transport said.
        message: String,
    },
    /// The MCP server refused a freshly issued token (decisions.md D18): a 401 after the one
    /// re-exchange, or a 403 `insufficient_scope` after the step-up limit.
    #[error("the MCP server refused the token with HTTP {status}{}", error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    ResourceServerRejected {
        /// 401 or 403.
        status: u16,
        /// The challenge's `error`, when it had one.
        error: Option<OAuthError>,
    },
    /// A status the step does not expect, without an OAuth error body.
    #[error("{purpose}: unexpected HTTP status {status}: {body}")]
    UnexpectedStatus {
        /// Which step.
        purpose: Purpose,
        /// The HTTP status.
        status: u16,
        /// The start of the body, sanitized.
        body: String,
    },
    /// A response that breaks the protocol: a success response, or the challenge of the MCP
    /// server's 401 or 403 when it cannot be parsed.
    #[error("{purpose}: invalid response: {violation}")]
    InvalidResponse {
        /// Which step.
        purpose: Purpose,
        /// What is wrong.
        violation: Violation,
    },
    /// Every discovery candidate failed (decisions.md D2).
    #[error("{purpose}: discovery failed; tried {}", attempts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    DiscoveryFailed {
        /// Which document was sought.
        purpose: Purpose,
        /// Each URL tried and what it answered.
        attempts: Vec<Attempt>,
    },
    /// The metadata's `issuer` is not identical to the issuer the URL was built from
    /// (RFC 8414 section 3.3, OpenID Connect Discovery section 4.3).
    #[error(
        "{purpose}: metadata issuer {found:?} is not the expected {expected:?} (RFC 8414 section 3.3)"
    )]
    IssuerMismatch {
        /// Which document.
        purpose: Purpose,
        /// The issuer the URL was built from.
        expected: String,
        /// The issuer the document claims, sanitized.
        found: String,
    },
    /// The protected-resource metadata names another resource (RFC 9728 section 3.3).
    #[error(
        "protected-resource metadata names resource {found:?}, expected {expected:?} (RFC 9728 section 3.3)"
    )]
    ResourceMismatch {
        /// The identifier the document was fetched for.
        expected: String,
        /// The resource it claims, sanitized.
        found: String,
    },
    /// The server does not support what the flow needs (decisions.md D3).
    #[error("{purpose}: unsupported: {what}")]
    Unsupported {
        /// Which step found out.
        purpose: Purpose,
        /// What is missing.
        what: Unsupported,
    },
    /// A client assertion could not be signed.
    #[error("{purpose}: signing the client assertion failed: {reason}")]
    Signer {
        /// The token request it was for.
        purpose: Purpose,
        /// The signer's message.
        reason: String,
    },
    /// Sender-constrained tokens (RFC 9449): a binding that was required is missing, a token is
    /// bound to another key, or a proof could not be made. Nothing further is sent.
    #[error("{}DPoP: {refusal}", purpose.map(|p| format!("{p}: ")).unwrap_or_default())]
    Dpop {
        /// Which token request found out; `None` for a request to the MCP server.
        purpose: Option<Purpose>,
        /// What was refused.
        refusal: crate::DpopRefusal,
    },
    /// The flow asked for more transmits than the driver's bound: a bug or a hostile peer,
    /// never a hang.
    #[error("the flow exceeded its bound of {limit} requests")]
    TooManyTransmits {
        /// The bound.
        limit: u32,
    },
}

impl Error {
    /// The step the error belongs to, when it came from one.
    pub fn purpose(&self) -> Option<Purpose> {
        match self {
            Self::InsecureUrl { purpose, .. }
            | Self::PrivateAddress { purpose, .. }
            | Self::InvalidUrl { purpose, .. }
            | Self::Redirect { purpose, .. }
            | Self::OAuth { purpose, .. }
            | Self::ReauthenticationRequired { purpose, .. }
            | Self::UnexpectedStatus { purpose, .. }
            | Self::InvalidResponse { purpose, .. }
            | Self::DiscoveryFailed { purpose, .. }
            | Self::IssuerMismatch { purpose, .. }
            | Self::Unsupported { purpose, .. }
            | Self::Signer { purpose, .. } => Some(*purpose),
            Self::Dpop { purpose, .. } => *purpose,
            Self::ResourceMismatch { .. } => Some(Purpose::ResourceMetadata),
            Self::SubjectTokenExpired { .. } => Some(Purpose::TokenExchange),
            Self::Transport { purpose, .. } => *purpose,
            Self::ResourceServerRejected { .. } => None,
            Self::AuthorizationServerNotListed { .. } => Some(Purpose::ResourceMetadata),
            Self::AuthorizationServerIsIdp { .. } => Some(Purpose::AuthorizationServerMetadata),
            Self::Misuse(_)
            | Self::Config(_)
            | Self::IdpIsAuthorizationServer { .. }
            | Self::TooManyTransmits { .. } => None,
        }
    }

    /// The HTTP status of the response behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Redirect { status, .. }
            | Self::OAuth { status, .. }
            | Self::UnexpectedStatus { status, .. } => Some(*status),
            Self::ReauthenticationRequired { status, .. } if *status != 0 => Some(*status),
            Self::ResourceServerRejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The OAuth error the server sent, when there was one.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        match self {
            Self::OAuth { error, .. } | Self::ReauthenticationRequired { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the error ends the attempt for good: the fail-closed codes of decisions.md D16,
    /// spec violations and refusals. A transport failure, a 5xx and the other OAuth codes may
    /// be worth a later retry.
    pub fn is_fail_closed(&self) -> bool {
        match self {
            Self::OAuth { error, .. } => error.code.is_fail_closed(),
            Self::UnexpectedStatus { status, .. } => *status < 500,
            Self::Transport { .. } => false,
            _ => true,
        }
    }
}
