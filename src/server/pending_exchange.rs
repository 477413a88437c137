//! A token-exchange request at the IdP that passed every check but replay (decisions.md D29):
//! the uses to register, and what issuing needs once they are.

use std::time::SystemTime;

use super::exchange_policy::ExchangeDecision;
use super::issuers::RefreshTokenGrant;
use super::replay_step::ReplayChecks;
use super::subject::VerifiedSubject;
use crate::Scope;

/// A token-exchange request that passed every check but replay, from
/// [`IdentityProviderEndpoint::begin`](super::IdentityProviderEndpoint::begin): the uses to
/// register ([`checks`](Self::checks)), and what awaits them.
pub struct PendingExchange {
    pub(crate) checks: ReplayChecks,
    pub(crate) issuance: Issuance,
    pub(crate) now: SystemTime,
    /// The server's current nonce, supplied with a refused DPoP proof (RFC 9449 section 8).
    pub(crate) refusal_nonce: Option<String>,
}

/// What is issued once every use is registered.
pub(crate) enum Issuance {
    /// An ID-JAG for `subject`, as the policy decided, bound to `jkt` if given.
    IdJag {
        subject: VerifiedSubject,
        decision: ExchangeDecision,
        jkt: Option<String>,
        requested_scope: Scope,
        /// The nonce to supply with the response (RFC 9449 section 8.2).
        #[cfg(feature = "dpop")]
        dpop_nonce: Option<String>,
    },
    /// An IdP refresh token for a SAML assertion (protocol.md 2.7 option B).
    RefreshToken {
        grant: RefreshTokenGrant,
        requested_scope: Scope,
    },
}

impl PendingExchange {
    /// The `jti` uses to register, in order, before
    /// [`finish`](super::IdentityProviderEndpoint::finish).
    pub fn checks(&self) -> &ReplayChecks {
        &self.checks
    }
}

impl std::fmt::Debug for PendingExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issues = match self.issuance {
            Issuance::IdJag { .. } => "an ID-JAG",
            Issuance::RefreshToken { .. } => "a refresh token",
        };
        f.debug_struct("PendingExchange")
            .field("checks", &self.checks)
            .field("issues", &issues)
            .finish_non_exhaustive()
    }
}
