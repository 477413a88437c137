//! Token-endpoint success bodies (RFC 6749 section 5.1, RFC 8693 section 2.2.1), parsed
//! without judging them against a request. Public so they can be fuzzed.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::wire::{expires_in, optional_str, parse_object, required_str};
use crate::{Policy, Scope, Violation};

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
    /// Parses a success body.
    pub fn from_json(body: &[u8], policy: &Policy) -> Result<Self, Violation> {
        Self::from_object(&parse_object(body)?, policy)
    }

    pub(crate) fn from_object(
        object: &Map<String, Value>,
        policy: &Policy,
    ) -> Result<Self, Violation> {
        Ok(Self {
            access_token: zeroize::Zeroizing::new(required_str(object, "access_token")?.to_owned()),
            token_type: required_str(object, "token_type")?.to_owned(),
            issued_token_type: optional_str(object, "issued_token_type")?.map(str::to_owned),
            expires_in: expires_in(object, policy)?,
            scope: optional_str(object, "scope")?.map(Scope::parse),
            had_refresh_token: object.get("refresh_token").is_some_and(|v| !v.is_null()),
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
