//! [`SessionRenewal`]: what the enterprise flow needs to renew a signed-in person's ID token
//! with their refresh token before the token exchange (docs/signin.md, "Renewal inside the
//! flow"), and where the renewed session goes.

use std::fmt;
use std::sync::Arc;

use super::id_token_claims::IdTokenClaims;
use super::keys::IdpKeys;
use super::refresh::Renewal;
use crate::jose::AlgorithmAllowList;
use crate::{RefreshToken, Scope};

/// Where a renewed session goes: called once, the moment the IdP has answered the refresh
/// and the new ID token passed its checks, before the token exchange is sent, so a rotated
/// refresh token is kept even when a later step of the flow fails (RFC 9700 section 4.14.2:
/// the old one is void from then on).
pub type RenewalSink = Arc<dyn Fn(&Renewal) + Send + Sync>;

/// A session to renew with its refresh token (RFC 6749 section 6, OpenID Connect Core 1.0
/// section 12) at the IdP of the enterprise flow, whose metadata the flow discovers. The
/// renewed ID token is checked as the first one was (signature against the IdP's keys, the
/// same `iss`, `sub` and `aud` as `previous`: section 12.2) and becomes the subject token of
/// the exchange. An IdP that answers `invalid_grant` ends the session:
/// [`Error::ReauthenticationRequired`](crate::Error::ReauthenticationRequired).
#[derive(Clone)]
pub struct SessionRenewal {
    pub(crate) refresh_token: RefreshToken,
    pub(crate) previous: IdTokenClaims,
    pub(crate) keys: IdpKeys,
    pub(crate) scope: Option<Scope>,
    pub(crate) algorithms: Option<AlgorithmAllowList>,
    pub(crate) sink: RenewalSink,
}

impl SessionRenewal {
    /// Renews the session of `refresh_token`, whose ID token had `previous` claims, checking
    /// the new ID token against `keys`; the renewal is handed to `sink`.
    pub fn new(
        refresh_token: RefreshToken,
        previous: IdTokenClaims,
        keys: IdpKeys,
        sink: impl Fn(&Renewal) + Send + Sync + 'static,
    ) -> Self {
        Self {
            refresh_token,
            previous,
            keys,
            scope: None,
            algorithms: None,
            sink: Arc::new(sink),
        }
    }

    /// Asks for `scope` on the refresh (it must not exceed what was granted, RFC 6749
    /// section 6); without it the IdP renews the scope it granted.
    #[must_use]
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The algorithms the renewed ID token may be signed with, when not the asymmetric
    /// default of [`SignInClient`](super::SignInClient).
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: AlgorithmAllowList) -> Self {
        self.algorithms = Some(algorithms);
        self
    }
}

/// `Debug` names the person and the IdP; the refresh token prints `[redacted]`.
impl fmt::Debug for SessionRenewal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRenewal")
            .field("refresh_token", &self.refresh_token)
            .field("iss", &self.previous.iss)
            .field("sub", &self.previous.sub)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
