//! The session the enterprise flow may renew before its exchange, as the flows see it, with
//! or without the `signin` feature.
//!
//! With the feature this is [`crate::signin::SessionRenewal`]. Without it, an uninhabited
//! type: an `Option<Renewing>` is then always `None`, and the authorizer and the flow's
//! configuration carry it with no `cfg` of their own.

use std::time::SystemTime;

use crate::authorizer::SubjectTokenSource;
use crate::grant::SubjectToken;

#[cfg(feature = "signin")]
pub(crate) use crate::signin::SessionRenewal as Renewing;

/// No session can be renewed without the feature: the field cannot be made.
#[cfg(not(feature = "signin"))]
#[derive(Clone, Debug)]
pub(crate) struct Renewing {
    pub(crate) never: std::convert::Infallible,
}

/// The renewal `source` offers at `now`: none without the feature.
pub(crate) fn renewal_of(source: &dyn SubjectTokenSource, now: SystemTime) -> Option<Renewing> {
    #[cfg(feature = "signin")]
    return source.renewal(now);
    #[cfg(not(feature = "signin"))]
    {
        let _ = (source, now);
        None
    }
}

impl Renewing {
    /// The subject token the configuration carries while the flow renews the session: the
    /// refresh token the renewal spends. The flow never sends it as a subject token: the
    /// exchange waits for the renewed ID token.
    pub(crate) fn placeholder_subject(&self) -> SubjectToken {
        #[cfg(feature = "signin")]
        return SubjectToken::RefreshToken(self.refresh_token.clone());
        #[cfg(not(feature = "signin"))]
        match self.never {}
    }
}
