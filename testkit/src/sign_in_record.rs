//! What the recorder notes about each request to a sign-in endpoint.

use std::time::Instant;

use crate::endpoint::Endpoint;

/// One request to a sign-in endpoint (token endpoint sign-in grants, device authorization,
/// revocation, the sign-in form), as the IdP judged it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignInRecord {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The `grant_type`, for a token request.
    pub grant_type: Option<String>,
    /// The authenticated client, if authentication succeeded.
    pub client_id: Option<String>,
    /// The user the request concerned, once known.
    pub user: Option<String>,
    /// For an authorization-code grant: whether the `code_verifier` matched the
    /// `code_challenge` (RFC 7636 section 4.6); `None` when the request failed before.
    pub pkce_verified: Option<bool>,
    /// For a refresh-token grant: the generation of the refresh token presented (0 for the
    /// one issued with the code or device grant, 1 for its first replacement, ...).
    pub refresh_generation: Option<u32>,
    /// The OAuth error answered (`invalid_grant`, `slow_down`, ...); `None` for a success.
    pub error: Option<String>,
    /// When the request arrived (to measure a client's polling interval, RFC 8628 section
    /// 3.5).
    pub received: Instant,
}

impl SignInRecord {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            grant_type: None,
            client_id: None,
            user: None,
            pkce_verified: None,
            refresh_generation: None,
            error: None,
            received: Instant::now(),
        }
    }

    /// Whether the request succeeded.
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// Whether it was a successful refresh-token redemption.
    pub fn is_refresh_redemption(&self) -> bool {
        self.succeeded() && self.grant_type.as_deref() == Some("refresh_token")
    }
}
