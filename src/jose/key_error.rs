//! Why a key could not be made or used.

/// Why a key could not be made or used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The algorithm is not one this module signs or verifies with.
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The key type (`kty`, curve) is not supported.
    #[error("unsupported key type {0:?}")]
    UnsupportedKeyType(String),
    /// The key material is unusable, or does not fit the algorithm.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Key generation failed.
    #[error("key generation failed")]
    Generation,
}
