//! Why a sender-constrained (DPoP) step was refused on the client side: the variants of
//! [`Error::Dpop`](crate::Error::Dpop). Compiled without the `dpop` feature too, so the error
//! type is the same whatever features are on.

use std::fmt;

/// What [`Error::Dpop`](crate::Error::Dpop) refused. Each is final for the flow: nothing
/// further is sent with the token concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopRefusal {
    /// DPoP is required and the IdP returned an ID-JAG without `cnf.jkt`: a downgrade to a
    /// bearer ID-JAG (ID-JAG draft section 9.8; RFC 9449 section 6.1).
    IdJagNotBound,
    /// The ID-JAG names another key in `cnf.jkt` than the client's (RFC 9449 section 6.1).
    IdJagBoundToAnotherKey,
    /// The ID-JAG's `cnf` is not an object with a string `jkt` (RFC 7800 section 3.1).
    MalformedConfirmation,
    /// DPoP is required and the authorization server answered `token_type` other than `DPoP`
    /// to a request with a proof: a downgrade to a bearer token (RFC 9449 section 5).
    AccessTokenNotBound {
        /// The `token_type` sent, sanitized.
        token_type: String,
    },
    /// `token_type` `DPoP` came back for a request that carried no proof (RFC 9449 section 5).
    UnrequestedBinding,
    /// DPoP is required and the server's `dpop_signing_alg_values_supported` lacks the
    /// client key's algorithm (RFC 9449 section 5.1).
    AlgorithmNotAccepted {
        /// The client key's algorithm.
        algorithm: String,
    },
    /// The server answered `use_dpop_nonce` without a usable `DPoP-Nonce` header (RFC 9449
    /// section 8.1: one or more visible ASCII characters, no quote or backslash).
    NonceMissing,
    /// The server asked for a fresh nonce again after the one retry with its nonce (RFC 9449
    /// sections 8 and 9): a nonce loop.
    NonceLoop,
    /// A token is bound to a key this client does not hold (none configured, or another one):
    /// it is never sent as a bearer token (RFC 9449 section 7.1).
    BoundTokenWithoutKey,
    /// The MCP server refused the proof (`invalid_dpop_proof`, RFC 9449 section 7.1).
    ProofRefused {
        /// The challenge's `error_description`, sanitized, when it had one.
        description: Option<String>,
    },
    /// The proof could not be made: the key's algorithm is not asymmetric, the target URI is
    /// unusable, or the signer failed (the reason, sanitized).
    ProofNotMade {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for DpopRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IdJagNotBound => f.write_str(
                "the ID-JAG is not bound to the client's key (no cnf.jkt) although DPoP is required",
            ),
            Self::IdJagBoundToAnotherKey => {
                f.write_str("the ID-JAG's cnf.jkt names another key than the client's")
            }
            Self::MalformedConfirmation => {
                f.write_str("the ID-JAG's cnf must be an object with a string jkt")
            }
            Self::AccessTokenNotBound { token_type } => write!(
                f,
                "the access token came back with token_type {token_type:?}, not DPoP, although DPoP is required"
            ),
            Self::UnrequestedBinding => {
                f.write_str("token_type DPoP came back for a request sent without a proof")
            }
            Self::AlgorithmNotAccepted { algorithm } => write!(
                f,
                "the server's dpop_signing_alg_values_supported does not list the key's algorithm {algorithm}"
            ),
            Self::NonceMissing => f.write_str(
                "the server asked for a DPoP nonce without sending a usable DPoP-Nonce header",
            ),
            Self::NonceLoop => f.write_str(
                "the server asked for a fresh DPoP nonce again after the one retry with its nonce",
            ),
            Self::BoundTokenWithoutKey => f.write_str(
                "the token is bound to a key this client does not hold; a bound token is never sent as a bearer token",
            ),
            Self::ProofRefused { description } => {
                f.write_str("the MCP server refused the DPoP proof")?;
                match description {
                    Some(description) => write!(f, ": {description}"),
                    None => Ok(()),
                }
            }
            Self::ProofNotMade { reason } => write!(f, "the proof could not be made: {reason}"),
        }
    }
}
