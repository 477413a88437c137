//! Verifying: the one operation a public (or deliberately shared) key performs.

/// Why a [`SignatureVerifier`] refused a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The key is not for this algorithm: its `kty`, curve or `alg` does not match
    /// (RFC 7517 section 4.4, RFC 8725 section 3.1).
    #[error("the key is not for this algorithm")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    InvalidSignature,
}

/// Verifies JWS signatures with one public (or deliberately shared) key.
pub trait SignatureVerifier: Send + Sync {
    /// Checks `signature` over the exact `signing_input` with `algorithm`. The algorithm was
    /// already checked against an allow-list by the caller; implementations must still refuse
    /// one their key is not for ([`VerifyError::AlgorithmMismatch`]) rather than adapt.
    fn verify(
        &self,
        algorithm: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError>;
}
