//! Checking a DPoP proof's signature with the key in its own `jwk` header, through the JOSE
//! layer's [`VerifyingKey`] (feature `jwt`).

use super::es_key::sha256;
use super::jwk::PublicJwk;
use super::signer::DpopVerifier;
use crate::jose::{Jwk, SignatureVerifier, VerifyError, VerifyingKey};

/// A [`DpopVerifier`] over `aws-lc-rs`: verifies with the proof's `jwk` as a
/// [`VerifyingKey`] (`EC` on P-256 or P-384, `RSA` of 2048 bits or more), which refuses any
/// algorithm its key is not for (RFC 8725 section 3.1), and hashes with SHA-256. An `OKP` key,
/// a malformed one, or a `jwk` whose `use` is not `sig` or whose `alg` is another algorithm
/// cannot verify ([`VerifyError::AlgorithmMismatch`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct JwkDpopVerifier;

impl DpopVerifier for JwkDpopVerifier {
    fn verify(
        &self,
        jwk: &PublicJwk,
        algorithm: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        let member = |name: &str| jwk.member(name).map(str::to_owned);
        let jwk = Jwk {
            kty: jwk.kty().to_owned(),
            kid: None,
            alg: member("alg"),
            use_: member("use"),
            crv: member("crv"),
            x: member("x"),
            y: member("y"),
            n: member("n"),
            e: member("e"),
        };
        VerifyingKey::from_jwk(&jwk)
            .map_err(|_| VerifyError::AlgorithmMismatch)?
            .verify(algorithm, signing_input, signature)
    }

    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        sha256(data)
    }
}
