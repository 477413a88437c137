//! HMAC keys shared on purpose (RFC 7518 section 3.2).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use super::algorithms::SharedKeyAlgorithm;
use super::key_error::KeyError;
use super::key_family::install_crypto_provider;
use super::signer::TokenSigner;
use super::verifier::{SignatureVerifier, VerifyError};
use crate::SignerError;

/// An HMAC key shared with one issuer or client on purpose (RFC 7518 section 3.2). It signs
/// and verifies only its own algorithm; `Debug` never shows the secret.
#[derive(Clone)]
pub struct SharedKey {
    algorithm: SharedKeyAlgorithm,
    kid: Option<String>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SharedKey {
    /// A key over `secret`, which must be at least as long as the hash output
    /// (RFC 7518 section 3.2: 32, 48 or 64 bytes).
    pub fn new(
        secret: &[u8],
        algorithm: SharedKeyAlgorithm,
        kid: Option<&str>,
    ) -> Result<Self, KeyError> {
        install_crypto_provider();
        let minimum = match algorithm {
            SharedKeyAlgorithm::Hs384 => 48,
            SharedKeyAlgorithm::Hs512 => 64,
            _ => 32,
        };
        if secret.len() < minimum {
            return Err(KeyError::InvalidKey(format!(
                "{} needs at least {minimum} bytes",
                algorithm.as_str()
            )));
        }
        Ok(Self {
            algorithm,
            kid: kid.map(str::to_owned),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    fn jsonwebtoken_algorithm(&self) -> Result<Algorithm, SignerError> {
        Algorithm::from_str(self.algorithm.as_str()).map_err(|error| SignerError(error.to_string()))
    }
}

impl TokenSigner for SharedKey {
    fn algorithm(&self) -> &str {
        self.algorithm.as_str()
    }

    fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        let signature = jsonwebtoken::crypto::sign(
            signing_input,
            &self.encoding,
            self.jsonwebtoken_algorithm()?,
        )
        .map_err(|error| SignerError(error.to_string()))?;
        URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|error| SignerError(error.to_string()))
    }
}

impl SignatureVerifier for SharedKey {
    fn verify(
        &self,
        algorithm: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        if algorithm != self.algorithm.as_str() {
            return Err(VerifyError::AlgorithmMismatch);
        }
        let alg = self
            .jsonwebtoken_algorithm()
            .map_err(|_| VerifyError::AlgorithmMismatch)?;
        let signature = URL_SAFE_NO_PAD.encode(signature);
        match jsonwebtoken::crypto::verify(&signature, signing_input, &self.decoding, alg) {
            Ok(true) => Ok(()),
            _ => Err(VerifyError::InvalidSignature),
        }
    }
}

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm.as_str())
            .finish_non_exhaustive()
    }
}
