//! An ES256 DPoP key pair over `aws-lc-rs` (feature `jwt`): generated in memory or loaded from
//! PKCS#8, with its public JWK and thumbprint.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::jwk::PublicJwk;
use super::signer::DpopSigner;
use crate::SignerError;
use crate::jose::{KeyError, pkcs8_pem};

/// The PEM label of a PKCS#8 private key (RFC 7468 section 10).
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// An ES256 (ECDSA on P-256 with SHA-256, RFC 7518 section 3.4) key pair that signs DPoP
/// proofs: a [`DpopSigner`]. Its `jwk` is `{"kty":"EC","crv":"P-256","x":..,"y":..}`, the
/// public members only (RFC 9449 section 4.2). `Debug` shows the algorithm and the
/// thumbprint, never key material.
#[derive(Clone)]
pub struct EsDpopKey {
    pair: EcdsaKeyPair,
    public: PublicJwk,
    jkt: String,
}

impl EsDpopKey {
    /// A fresh key pair from the system's random generator. It lives in memory only; keep it
    /// with [`expose_private_pem`](Self::expose_private_pem) to reuse a binding later.
    pub fn generate() -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| KeyError::Generation)?;
        Self::from_pair(pair)
    }

    /// Loads a P-256 private key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 7468
    /// section 10; RFC 5208).
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let text = std::str::from_utf8(pem)
            .map_err(|_| KeyError::InvalidKey("the PEM is not text".into()))?;
        let body = text
            .split_once(PEM_BEGIN)
            .and_then(|(_, rest)| rest.split_once(PEM_END))
            .map(|(body, _)| body)
            .ok_or_else(|| KeyError::InvalidKey("no PKCS#8 PRIVATE KEY block".into()))?;
        let base64: Zeroizing<Vec<u8>> = Zeroizing::new(
            body.bytes()
                .filter(|byte| !byte.is_ascii_whitespace())
                .collect(),
        );
        let der = Zeroizing::new(
            STANDARD
                .decode(base64.as_slice())
                .map_err(|_| KeyError::InvalidKey("the PEM body is not base64".into()))?,
        );
        Self::from_pkcs8_der(&der)
    }

    /// Loads a P-256 private key from PKCS#8 DER (RFC 5208).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| KeyError::InvalidKey("not a PKCS#8 P-256 private key".into()))?;
        Self::from_pair(pair)
    }

    /// The private key as PKCS#8 PEM, to store it for a later run. It is the secret itself:
    /// never log it.
    pub fn expose_private_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = self
            .pair
            .to_pkcs8v1()
            .map_err(|_| KeyError::InvalidKey("the key cannot be serialized".into()))?;
        Ok(Zeroizing::new(pkcs8_pem(der.as_ref())))
    }

    fn from_pair(pair: EcdsaKeyPair) -> Result<Self, KeyError> {
        // An uncompressed point: 0x04, then x and y of 32 bytes each (SEC 1 section 2.3.3).
        let point = pair.public_key().as_ref();
        let (x, y) = match point {
            [0x04, coordinates @ ..] if coordinates.len() == 64 => coordinates.split_at(32),
            _ => {
                return Err(KeyError::InvalidKey(
                    "not an uncompressed P-256 point".into(),
                ));
            }
        };
        let mut members = Map::new();
        members.insert("kty".into(), Value::from("EC"));
        members.insert("crv".into(), Value::from("P-256"));
        members.insert("x".into(), Value::from(URL_SAFE_NO_PAD.encode(x)));
        members.insert("y".into(), Value::from(URL_SAFE_NO_PAD.encode(y)));
        let public = PublicJwk::from_object(members)
            .map_err(|error| KeyError::InvalidKey(error.to_string()))?;
        let jkt = public.thumbprint(sha256);
        Ok(Self { pair, public, jkt })
    }
}

impl DpopSigner for EsDpopKey {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    fn jkt(&self) -> String {
        self.jkt.clone()
    }

    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        sha256(data)
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.pair
            .sign(&SystemRandom::new(), signing_input)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| SignerError("ES256 signing failed".into()))
    }
}

impl fmt::Debug for EsDpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsDpopKey")
            .field("alg", &"ES256")
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

/// SHA-256 through `aws-lc-rs` (FIPS 180-4).
pub(super) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut hash = [0u8; 32];
    if let Some(bytes) = digest(&SHA256, data).as_ref().get(..32) {
        hash.copy_from_slice(bytes);
    }
    hash
}
