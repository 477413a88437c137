//! Why a compact JWS was refused before or at its signature.

use crate::display_safety::quoted_or_absent as shown;

/// Why a compact JWS was refused: its shape, its header, its key or its signature. Claims are
/// never judged here. Every text it holds is sanitized.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Not a compact JWS: wrong segment count, bad base64url, header or claims not a JSON
    /// object, or a header member of the wrong type (RFC 7515 section 7.1).
    #[error("not a well-formed compact JWS")]
    Malformed,
    /// An encrypted JWT (JWE, RFC 7516), which is not decrypted here.
    #[error("encrypted tokens are not accepted")]
    Encrypted,
    /// `alg` is absent, `none`, or not on the allow-list (RFC 8725 section 3.1).
    #[error("alg {} is not allowed", shown(.alg))]
    AlgorithmNotAllowed {
        /// The `alg` found, if any.
        alg: Option<String>,
    },
    /// The header has `crit`, naming extensions that are not understood here
    /// (RFC 7515 section 4.1.11).
    #[error("the header has crit extensions")]
    CriticalHeader,
    /// No key of the key set has this `kid` (RFC 7515 section 4.1.4; decisions.md D22).
    #[error("no key {}", shown(.kid))]
    UnknownKey {
        /// The `kid` of the token, if any (absent and ambiguous when the set has several keys).
        kid: Option<String>,
    },
    /// The key chosen by `kid` is not for the token's `alg` (RFC 7517 section 4.4).
    #[error("the key is not for alg {alg:?}")]
    KeyAlgorithmMismatch {
        /// The token's `alg`.
        alg: String,
    },
    /// The signature does not verify (RFC 7515 section 5.2).
    #[error("the signature does not verify")]
    BadSignature,
}
