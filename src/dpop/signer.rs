//! The two operations a DPoP key pair performs, without cryptography in the core: signing
//! proofs (the client's [`DpopSigner`]) and checking them with the key a proof carries (the
//! server's [`DpopVerifier`]). Both also hash with SHA-256, for the thumbprint (RFC 7638
//! section 3.1) and `ath` (RFC 9449 section 4.2), so the core stays free of a hash function.

use super::jwk::PublicJwk;
use crate::SignerError;
use crate::jose::VerifyError;

/// Signs DPoP proofs with one asymmetric key pair, the one a DPoP-bound token is bound to (RFC
/// 9449 section 4.2). The core has no cryptography: implement this over any crypto library
/// (the `jwt` feature provides `EsDpopKey`). Like [`AssertionSigner`](crate::AssertionSigner),
/// it never sees claims it could change: the proof's header and claims are built by
/// [`DpopProofClaims::sign`](super::DpopProofClaims::sign), which hands over only the exact
/// JWS signing input.
pub trait DpopSigner: Send + Sync {
    /// The JWS `alg` the key signs with (RFC 7518 section 3.1): an asymmetric algorithm such as
    /// `ES256`, never `none` or an HMAC one (RFC 9449 section 4.2).
    fn algorithm(&self) -> &str;

    /// The public key, as the proof's `jwk` header carries it (RFC 9449 section 4.2). A
    /// [`PublicJwk`] holds no private member, so no private key can leave this way (RFC 9449
    /// section 4.3 item 7).
    fn public_jwk(&self) -> &PublicJwk;

    /// The key's JWK SHA-256 thumbprint (RFC 7638 section 3.1), the `jkt` of RFC 9449 section
    /// 6.1 that a bound token names in `cnf`. By default computed from
    /// [`public_jwk`](Self::public_jwk) with [`sha256`](Self::sha256).
    fn jkt(&self) -> String {
        self.public_jwk().thumbprint(|data| self.sha256(data))
    }

    /// SHA-256 of `data` (FIPS 180-4): the hash of the thumbprint (RFC 7638 section 3.1) and of
    /// `ath` (RFC 9449 section 4.2).
    fn sha256(&self, data: &[u8]) -> [u8; 32];

    /// Signs the JWS signing input, `ASCII(BASE64URL(header) '.' BASE64URL(claims))`, with
    /// [`algorithm`](Self::algorithm) and returns the raw signature bytes (RFC 7515 section 5.1
    /// step 5; for ECDSA the fixed-length `R || S` of RFC 7518 section 3.4).
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// Checks the signature of a DPoP proof with the public key its own `jwk` header carries (RFC
/// 9449 section 4.3 item 6), and hashes with SHA-256 for the thumbprint and `ath`. The core
/// has no cryptography: the `jwt` feature implements this as `JwkDpopVerifier`.
pub trait DpopVerifier: Send + Sync {
    /// Checks `signature` over the exact `signing_input` with the key `jwk` under `algorithm`.
    /// The algorithm was already checked against the validator's allow-list and is never
    /// `none` or HMAC; an implementation must still refuse one the key is not for, and a key
    /// it cannot use, with [`VerifyError::AlgorithmMismatch`] rather than adapt (RFC 8725
    /// section 3.1).
    fn verify(
        &self,
        jwk: &PublicJwk,
        algorithm: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError>;

    /// SHA-256 of `data` (FIPS 180-4).
    fn sha256(&self, data: &[u8]) -> [u8; 32];
}
