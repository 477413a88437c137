//! [`SignInSession`]: a signed-in person as the authorizer's subject-token source, renewed
//! with the refresh token inside the enterprise flow when the ID token is about to expire or
//! the IdP refused it (docs/signin.md, "Renewal inside the flow").

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::id_token_claims::IdTokenClaims;
use super::keys::IdpKeys;
use super::refresh::Renewal;
use super::session::SignIn;
use super::session_renewal::{RenewalSink, SessionRenewal};
use crate::authorizer::SubjectTokenSource;
use crate::grant::SubjectToken;
use crate::{IdToken, RefreshToken};

/// How long before its `exp` an ID token is renewed rather than sent: the exchange at the IdP
/// must still find it valid.
pub const RENEWAL_MARGIN: Duration = Duration::from_secs(60);

/// What the session holds now.
#[derive(Clone)]
struct Current {
    id_token: IdToken,
    claims: IdTokenClaims,
    refresh_token: Option<RefreshToken>,
}

/// A person signed in at the enterprise IdP, as a [`SubjectTokenSource`]: the ID token is the
/// subject token while it has more than [`RENEWAL_MARGIN`] left; after that, or when the IdP
/// refused it, the authorizer's flow renews it with the refresh token first (one refresh per
/// flight: the authorizer runs one flow per person and scope at a time). A rotated refresh
/// token replaces the old one at once, under the session's lock, and is handed to the
/// application's callback ([`on_renewed`](Self::on_renewed)) to persist.
///
/// Without a refresh token, an expired ID token means signing in again
/// ([`Error::ReauthenticationRequired`](crate::Error::ReauthenticationRequired)).
///
/// Cheap to clone: clones share the session.
#[derive(Clone)]
pub struct SignInSession {
    current: Arc<Mutex<Current>>,
    keys: IdpKeys,
    on_renewed: Option<RenewalSink>,
}

impl SignInSession {
    /// The session of `sign_in`, whose renewed ID tokens are checked against `keys` (the
    /// same IdP's: share the ring with the sign-in).
    pub fn new(sign_in: &SignIn, keys: IdpKeys) -> Self {
        Self::from_parts(
            sign_in.id_token.clone(),
            sign_in.claims.clone(),
            sign_in.refresh_token.clone(),
            keys,
        )
    }

    /// A session kept from an earlier run: its ID token, the claims checked when it was
    /// issued, and its refresh token.
    pub fn from_parts(
        id_token: IdToken,
        claims: IdTokenClaims,
        refresh_token: Option<RefreshToken>,
        keys: IdpKeys,
    ) -> Self {
        Self {
            current: Arc::new(Mutex::new(Current {
                id_token,
                claims,
                refresh_token,
            })),
            keys,
            on_renewed: None,
        }
    }

    /// Calls `callback` with every renewal, after the session took it, to persist the new
    /// refresh token and ID token.
    #[must_use]
    pub fn on_renewed(mut self, callback: impl Fn(&Renewal) + Send + Sync + 'static) -> Self {
        self.on_renewed = Some(Arc::new(callback));
        self
    }

    /// The current ID token's claims.
    pub fn claims(&self) -> IdTokenClaims {
        self.lock().claims.clone()
    }

    /// The current refresh token, if any.
    pub fn refresh_token(&self) -> Option<RefreshToken> {
        self.lock().refresh_token.clone()
    }

    /// The current ID token.
    pub fn id_token(&self) -> IdToken {
        self.lock().id_token.clone()
    }

    /// Takes `renewal`: the new refresh token always (the old one when the IdP did not rotate
    /// it), the new ID token and its claims when the IdP issued one.
    fn take(&self, renewal: &Renewal) {
        {
            let mut current = self.lock();
            current.refresh_token = Some(renewal.refresh_token.clone());
            if let Some((id_token, claims)) = &renewal.id_token {
                current.id_token = id_token.clone();
                current.claims = claims.clone();
            }
        }
        if let Some(callback) = &self.on_renewed {
            callback(renewal);
        }
    }

    /// Nothing here panics while holding the lock; a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SubjectTokenSource for SignInSession {
    fn subject_token(&self, now: SystemTime) -> Option<SubjectToken> {
        let current = self.lock();
        let renew_at = SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_secs(current.claims.exp))
            .and_then(|exp| exp.checked_sub(RENEWAL_MARGIN))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        (now < renew_at).then(|| SubjectToken::IdToken(current.id_token.clone()))
    }

    fn renewal(&self, _now: SystemTime) -> Option<SessionRenewal> {
        let current = self.lock().clone();
        let session = self.clone();
        Some(SessionRenewal::new(
            current.refresh_token?,
            current.claims,
            self.keys.clone(),
            move |renewal| session.take(renewal),
        ))
    }
}

/// `Debug` names the person and the IdP; no token.
impl fmt::Debug for SignInSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.lock();
        f.debug_struct("SignInSession")
            .field("iss", &current.claims.iss)
            .field("sub", &current.claims.sub)
            .field("exp", &current.claims.exp)
            .field("has_refresh_token", &current.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}
