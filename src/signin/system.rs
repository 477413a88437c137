//! What the `jwt` feature adds to signing in: random bytes and SHA-256 from `aws-lc-rs`, and
//! JWK Sets read into real verification keys.

use std::sync::Arc;

use super::keys::{IdpKeys, JwksKeys, JwksReader};
use super::random::{RandomSource, RandomUnavailable};
use crate::jose::Jwks;

/// Random bytes from the operating system's generator, through `aws-lc-rs`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRandom;

impl RandomSource for SystemRandom {
    fn fill(&self, destination: &mut [u8]) -> Result<(), RandomUnavailable> {
        aws_lc_rs::rand::fill(destination).map_err(|_| RandomUnavailable)
    }
}

/// SHA-256 through `aws-lc-rs`, for the PKCE challenge (RFC 7636 section 4.2).
pub fn sha256(input: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Reads a JWK Set into real keys; keys of a type or use not understood are skipped
/// (RFC 7517 section 5).
#[derive(Clone, Copy, Debug, Default)]
pub struct JwksDocument;

impl JwksReader for JwksDocument {
    fn read(&self, document: &[u8]) -> Result<JwksKeys, String> {
        let jwks = Jwks::from_json(document).map_err(|error| error.to_string())?;
        Ok(jwks.verifying_keys())
    }
}

impl IdpKeys {
    /// An empty ring filled from the IdP's JWK Set into real keys.
    pub fn new() -> Self {
        Self::with_reader(Arc::new(JwksDocument))
    }
}

impl Default for IdpKeys {
    fn default() -> Self {
        Self::new()
    }
}
