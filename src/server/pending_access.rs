//! A request at a resource server whose DPoP proof passed every check but replay
//! (decisions.md D29): the proof's use to register, and the access that awaits it.

use super::replay_step::ReplayChecks;
use super::resource_dpop::DpopAccess;

/// A request that passed every check but replay, from
/// [`DpopResourceGuard::begin`](super::resource::DpopResourceGuard::begin): the use to
/// register ([`checks`](Self::checks), empty for a bearer token), and the access that awaits it.
#[derive(Debug)]
pub struct PendingAccess {
    pub(crate) checks: ReplayChecks,
    pub(crate) access: DpopAccess,
    /// The server's current nonce, supplied with a refused proof (RFC 9449 section 9).
    pub(crate) current_nonce: Option<String>,
}

impl PendingAccess {
    /// The `jti` uses to register, in order, before
    /// [`finish`](super::resource::DpopResourceGuard::finish).
    pub fn checks(&self) -> &ReplayChecks {
        &self.checks
    }
}
