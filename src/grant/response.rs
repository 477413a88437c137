//! Token-endpoint success bodies (RFC 6749 section 5.1, RFC 8693 section 2.2.1), parsed
//! without judging them against a request. Public so they can be fuzzed.

use std::time::Duration;

use crate::json::Member;
use crate::wire::{expires_in, json_members, optional_str, read_members, required_str};
use crate::{HttpResponse, Policy, Scope, Violation};

/// The members of a token response this crate reads. The token is kept as a plain `String`
/// only until the caller wraps it in the right secret type.
#[non_exhaustive]
pub struct TokenResponse {
    /// `access_token` (for the exchange: the ID-JAG).
    pub access_token: zeroize::Zeroizing<String>,
    /// `token_type`.
    pub token_type: String,
    /// `issued_token_type` (RFC 8693 only).
    pub issued_token_type: Option<String>,
    /// `expires_in`, validated per decisions.md D9.
    pub expires_in: Option<Duration>,
    /// `scope`.
    pub scope: Option<Scope>,
    /// Whether a `refresh_token` was present (it is never kept, protocol.md 6 rule 9).
    pub had_refresh_token: bool,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("issued_token_type", &self.issued_token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("had_refresh_token", &self.had_refresh_token)
            .finish()
    }
}

impl TokenResponse {
    /// The members read, in the order [`TokenResponse::from_members`] takes them.
    const MEMBERS: [&'static str; 6] = [
        "access_token",
        "token_type",
        "issued_token_type",
        "expires_in",
        "scope",
        "refresh_token",
    ];

    /// Parses a success body.
    pub fn from_json(body: &[u8], policy: &Policy) -> Result<Self, Violation> {
        Self::from_members(read_members(body, Self::MEMBERS)?, policy)
    }

    /// Parses a success response: body size and `Content-Type` checked first.
    pub(crate) fn from_response(
        response: &HttpResponse,
        policy: &Policy,
    ) -> Result<Self, Violation> {
        Self::from_members(json_members(response, policy, Self::MEMBERS)?, policy)
    }

    fn from_members(members: [Member<'_>; 6], policy: &Policy) -> Result<Self, Violation> {
        let [
            access_token,
            token_type,
            issued_token_type,
            expires,
            scope,
            refresh_token,
        ] = members;
        Ok(Self {
            access_token: zeroize::Zeroizing::new(required_str(access_token, "access_token")?),
            token_type: required_str(token_type, "token_type")?,
            issued_token_type: optional_str(issued_token_type, "issued_token_type")?,
            expires_in: expires_in(&expires, policy)?,
            scope: optional_str(scope, "scope")?.as_deref().map(Scope::parse),
            had_refresh_token: refresh_token.is_given(),
        })
    }
}

/// Checks a granted scope against the requested one (decisions.md D8): with a request, the
/// grant must be a subset; a missing grant means the request (RFC 6749 section 5.1).
pub(crate) fn granted_scope(
    requested: Option<&Scope>,
    granted: Option<Scope>,
) -> Result<Option<Scope>, Violation> {
    match (requested, granted) {
        (Some(requested), Some(granted)) => {
            let extra = granted.difference(requested);
            if extra.is_empty() {
                Ok(Some(granted))
            } else {
                Err(Violation::ScopeWidened {
                    extra: extra.to_string(),
                })
            }
        }
        (Some(requested), None) => Ok(Some(requested.clone())),
        (None, granted) => Ok(granted),
    }
}
