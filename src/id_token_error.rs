//! Why an ID token was refused at sign-in: one variant per rule of OpenID Connect Core 1.0,
//! each message naming the rule and its section (docs/signin.md, "ID token validation").
//! Published as `xaa::signin::IdTokenError`; a leaf module of its own, so that the crate's
//! error type can carry it without depending on the sign-in flows.

use crate::jose::JwsError;

/// Why an ID token was refused. Every text it holds is sanitized; the token itself never is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not a signed JWT whose claims are one JSON object without a repeated member
    /// (OpenID Connect Core 1.0 section 2, RFC 7519 section 7.2).
    #[error(
        "it is not a signed JWT with a JSON object of claims (OpenID Connect Core 1.0 section 2)"
    )]
    Malformed,
    /// The signature check failed: `alg` not allowed (never `none`, RFC 8725 section 3.1), no
    /// key of the IdP's key set with its `kid` after one refetch, or a bad signature
    /// (OpenID Connect Core 1.0 section 3.1.3.7 item 6).
    #[error(
        "its signature cannot be accepted: {0} (OpenID Connect Core 1.0 section 3.1.3.7 item 6)"
    )]
    Signature(JwsError),
    /// A required claim is absent or of the wrong type (OpenID Connect Core 1.0 section 2).
    #[error("claim `{0}` is missing or not of its type (OpenID Connect Core 1.0 section 2)")]
    MissingClaim(&'static str),
    /// `iss` is not identical to the IdP's issuer (section 3.1.3.7 item 2).
    #[error(
        "iss {found:?} is not the IdP's issuer (OpenID Connect Core 1.0 section 3.1.3.7 item 2)"
    )]
    Issuer {
        /// The `iss` found, sanitized.
        found: String,
    },
    /// `aud` does not contain the client id (section 3.1.3.7 item 3).
    #[error(
        "aud does not contain this client's id (OpenID Connect Core 1.0 section 3.1.3.7 item 3)"
    )]
    Audience,
    /// `azp` is absent although there are several audiences, or is not the client id
    /// (section 3.1.3.7 items 4 and 5).
    #[error(
        "azp must be present with several audiences and must be this client's id (OpenID Connect Core 1.0 section 3.1.3.7 items 4 and 5)"
    )]
    AuthorizedParty,
    /// `exp` is not in the future (section 3.1.3.7 item 9).
    #[error("it has expired (exp; OpenID Connect Core 1.0 section 3.1.3.7 item 9)")]
    Expired,
    /// `iat` is later than now plus the allowed clock skew (section 3.1.3.7 item 10).
    #[error("it was issued in the future (iat; OpenID Connect Core 1.0 section 3.1.3.7 item 10)")]
    IssuedInFuture,
    /// `nonce` is absent or not the one the request sent (section 3.1.3.7 item 11), or on
    /// renewal differs from the first ID token's (section 12.2).
    #[error(
        "nonce is missing or not the one sent (OpenID Connect Core 1.0 sections 3.1.3.7 item 11 and 12.2)"
    )]
    Nonce,
    /// `max_age` was requested and `auth_time` is absent or too old (section 3.1.3.7 item 13).
    #[error(
        "auth_time is missing or older than the max_age requested (OpenID Connect Core 1.0 section 3.1.3.7 item 13)"
    )]
    AuthTime,
    /// `sub` is longer than 255 ASCII characters (section 2).
    #[error("sub exceeds 255 ASCII characters (OpenID Connect Core 1.0 section 2)")]
    SubjectTooLong,
    /// A renewed ID token names another `iss`, `sub`, `aud`, `azp` or `auth_time` than the one
    /// it renews (section 12.2).
    #[error(
        "the renewed ID token's `{0}` differs from the first ID token's (OpenID Connect Core 1.0 section 12.2)"
    )]
    ChangedOnRenewal(&'static str),
}
