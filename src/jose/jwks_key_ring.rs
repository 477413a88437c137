//! The verification keys a JWK Set holds (RFC 7517 section 5), as a [`KeyRing`].

use std::sync::Arc;

use super::jwk::Jwks;
use super::key_set::KeyRing;
use super::verifier::SignatureVerifier;
use super::verifying_key::VerifyingKey;

impl Jwks {
    /// The usable signature keys, for [`KeyRing::replace`]. Keys of a type or use not
    /// understood are skipped (RFC 7517 section 5: "SHOULD ignore").
    pub fn verifying_keys(&self) -> Vec<(Option<String>, Arc<dyn SignatureVerifier>)> {
        self.keys
            .iter()
            .filter_map(|jwk| VerifyingKey::from_jwk(jwk).ok())
            .map(|key| {
                (
                    key.kid().map(str::to_owned),
                    Arc::new(key) as Arc<dyn SignatureVerifier>,
                )
            })
            .collect()
    }

    /// A [`KeyRing`] holding the usable keys.
    pub fn key_ring(&self) -> KeyRing {
        let ring = KeyRing::new();
        ring.replace(self.verifying_keys());
        ring
    }
}
