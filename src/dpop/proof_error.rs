//! Why a client could not make a DPoP proof.

use crate::SignerError;

/// Why a DPoP proof could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopProofError {
    /// The request's target URI is not an absolute `http` or `https` URI without user
    /// information, so it has no `htu` (RFC 9449 section 4.2, RFC 9110 section 7.1).
    #[error(
        "cannot make a DPoP proof: its htu must be an absolute http or https target URI without user information (RFC 9449 section 4.2)"
    )]
    InvalidTarget,
    /// The signer's algorithm is `none` or an HMAC one: a DPoP proof is signed with an
    /// asymmetric key (RFC 9449 section 4.2).
    #[error(
        "cannot make a DPoP proof: it must be signed with an asymmetric algorithm, never none or HMAC (RFC 9449 section 4.2)"
    )]
    UnsafeAlgorithm,
    /// The signer failed.
    #[error("the DPoP signer failed: {0}")]
    Signer(#[from] SignerError),
}
