//! A rule a JWT broke at a server: an ID-JAG, a subject ID token or a client assertion.

use crate::display_safety::{quoted_or_absent as shown, sanitize};
use crate::jose::JwsError;

/// A rule a JWT broke: an ID-JAG at the MCP authorization server, a subject ID token at the
/// IdP, or a `private_key_jwt` client assertion. [`RejectReason`](super::RejectReason) says
/// which JWT it was.
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
    /// authenticated client (ID-JAG draft section 4.4.1), a client assertion's `iss` or `sub` is
    /// not the client (RFC 7523 section 3), a subject token is bound to another client
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
    /// The token carries `cnf` (DPoP binding, ID-JAG draft section 9.8), which this server
    /// cannot honour: refused rather than issuing an unbound token.
    #[error("sender-constrained (cnf) tokens are not supported")]
    ConfirmationUnsupported,
    /// The token's `cnf` is not an object with a non-empty string `jkt` (RFC 7800 section
    /// 3.1, RFC 9449 section 6.1).
    #[cfg(feature = "dpop")]
    #[error("cnf must be an object naming the key thumbprint in jkt")]
    ConfirmationMalformed,
    /// The token is bound to a key (`cnf.jkt`) and the request carries no DPoP proof of it
    /// (ID-JAG draft section 9.8, RFC 9449 section 6.1): redeeming it needs that key.
    #[cfg(feature = "dpop")]
    #[error("it is bound to a key (cnf.jkt) and the request carries no DPoP proof")]
    ConfirmationWithoutProof,
    /// The DPoP proof was signed by another key than the one the token is bound to: the
    /// thumbprints differ (ID-JAG draft section 9.8, RFC 9449 section 6.1).
    #[cfg(feature = "dpop")]
    #[error("it is bound to another key than the one that signed the DPoP proof")]
    ConfirmationKeyMismatch,
    /// The `jwt-dpop` grant is for assertions bound to a key, and this one names none in
    /// `cnf.jkt` (draft-parecki-oauth-jwt-dpop-grant).
    #[cfg(feature = "dpop")]
    #[error("the jwt-dpop grant needs an assertion bound to a key (cnf.jkt)")]
    ConfirmationRequired,
}

impl TokenFault {
    /// The fault for a JWS refused by the JOSE layer; `issuer` names the party whose keys were
    /// searched, for [`TokenFault::UnknownKey`] (decisions.md D22).
    pub(crate) fn from_jws(error: JwsError, issuer: &str) -> Self {
        match error {
            JwsError::Malformed => Self::Malformed,
            JwsError::Encrypted => Self::Encrypted,
            JwsError::AlgorithmNotAllowed { alg } => Self::AlgorithmNotAllowed { alg },
            JwsError::CriticalHeader => Self::CriticalHeader,
            JwsError::UnknownKey { kid } => Self::UnknownKey {
                iss: sanitize(issuer),
                kid,
            },
            JwsError::KeyAlgorithmMismatch { alg } => Self::KeyAlgorithmMismatch { alg },
            JwsError::BadSignature => Self::BadSignature,
        }
    }
}

/// A refusal before any key was looked up: its shape or its header.
impl From<JwsError> for TokenFault {
    fn from(error: JwsError) -> Self {
        Self::from_jws(error, "")
    }
}
