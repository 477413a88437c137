//! Private signing keys: generated, or loaded from PEM (RFC 7468), with their public JWK.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
use jsonwebtoken::{Algorithm, EncodingKey};
use zeroize::Zeroize;

use super::jwk::{Jwk, Jwks};
use super::key_error::KeyError;
use super::key_family::{KeyFamily, asymmetric, install_crypto_provider};
use super::key_set::KeyRing;
use super::signer::TokenSigner;
use super::verifying_key::VerifyingKey;
use crate::SignerError;

/// A private signing key with its `kid` and algorithm. `Debug` shows only those two.
#[derive(Clone)]
pub struct SigningKey {
    pub(super) alg: &'static str,
    algorithm: Algorithm,
    kid: String,
    key: EncodingKey,
    public: Jwk,
    pem: zeroize::Zeroizing<String>,
}

impl SigningKey {
    /// A fresh ES256 (P-256) key.
    pub fn generate_es256(kid: impl Into<String>) -> Result<Self, KeyError> {
        Self::generate("ES256", kid)
    }

    /// A fresh RS256 key of 2048 bits.
    pub fn generate_rs256(kid: impl Into<String>) -> Result<Self, KeyError> {
        Self::generate("RS256", kid)
    }

    /// A fresh key for `alg`: a P-256 or P-384 key for ES256 or ES384, a 2048-bit RSA key for
    /// RS* and PS*.
    pub fn generate(alg: &str, kid: impl Into<String>) -> Result<Self, KeyError> {
        install_crypto_provider();
        let (alg, algorithm, family) =
            asymmetric(alg).ok_or_else(|| KeyError::UnsupportedAlgorithm(alg.to_owned()))?;
        let key = match family {
            KeyFamily::Ec { crv, .. } => {
                let curve: &'static EcdsaSigningAlgorithm = if crv == "P-256" {
                    &ECDSA_P256_SHA256_FIXED_SIGNING
                } else {
                    &ECDSA_P384_SHA384_FIXED_SIGNING
                };
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(curve, &SystemRandom::new())
                    .map_err(|_| KeyError::Generation)?;
                (
                    EncodingKey::from_ec_der(pkcs8.as_ref()),
                    zeroize::Zeroizing::new(pkcs8_pem(pkcs8.as_ref())),
                )
            }
            KeyFamily::Rsa => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| KeyError::Generation)?;
                let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| KeyError::Generation)?;
                // jsonwebtoken signs RSA from PKCS#1; its PEM reader unwraps PKCS#8.
                let pem = zeroize::Zeroizing::new(pkcs8_pem(pkcs8.as_ref()));
                let key = EncodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|error| KeyError::InvalidKey(error.to_string()))?;
                (key, pem)
            }
        };
        let (key, pem) = key;
        Self::from_encoding_key(alg, algorithm, kid.into(), key, pem)
    }

    /// Loads a private key from PEM: PKCS#8 (`PRIVATE KEY`) for ES256 and ES384; PKCS#8 or
    /// PKCS#1 (`RSA PRIVATE KEY`) for RS* and PS*. The key must fit `alg`.
    pub fn from_pem(pem: &[u8], alg: &str, kid: impl Into<String>) -> Result<Self, KeyError> {
        install_crypto_provider();
        let (alg, algorithm, family) =
            asymmetric(alg).ok_or_else(|| KeyError::UnsupportedAlgorithm(alg.to_owned()))?;
        let key = match family {
            KeyFamily::Ec { .. } => EncodingKey::from_ec_pem(pem),
            KeyFamily::Rsa => EncodingKey::from_rsa_pem(pem),
        }
        .map_err(|error| KeyError::InvalidKey(error.to_string()))?;
        let pem = zeroize::Zeroizing::new(String::from_utf8_lossy(pem).into_owned());
        Self::from_encoding_key(alg, algorithm, kid.into(), key, pem)
    }

    /// The private key as PEM (PKCS#8 for generated keys, as given for loaded ones), to hand
    /// to a program that signs with it. It is the secret itself: never log it.
    pub fn expose_private_pem(&self) -> &str {
        &self.pem
    }

    /// Derives the public JWK, which also proves the key fits the algorithm.
    fn from_encoding_key(
        alg: &'static str,
        algorithm: Algorithm,
        kid: String,
        key: EncodingKey,
        pem: zeroize::Zeroizing<String>,
    ) -> Result<Self, KeyError> {
        let derived = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, algorithm)
            .map_err(|error| KeyError::InvalidKey(error.to_string()))?;
        let mut public = Jwk {
            kid: Some(kid.clone()),
            alg: Some(alg.to_owned()),
            use_: Some("sig".to_owned()),
            ..Jwk::default()
        };
        match derived.algorithm {
            AlgorithmParameters::EllipticCurve(params) => {
                public.kty = "EC".into();
                public.crv = Some(
                    match params.curve {
                        EllipticCurve::P256 => "P-256",
                        EllipticCurve::P384 => "P-384",
                        _ => return Err(KeyError::UnsupportedKeyType("EC curve".into())),
                    }
                    .into(),
                );
                public.x = Some(params.x);
                public.y = Some(params.y);
            }
            AlgorithmParameters::RSA(params) => {
                public.kty = "RSA".into();
                public.n = Some(params.n);
                public.e = Some(params.e);
            }
            _ => return Err(KeyError::UnsupportedKeyType("not EC or RSA".into())),
        }
        Ok(Self {
            alg,
            algorithm,
            kid,
            key,
            public,
            pem,
        })
    }

    /// The public key as a JWK, with `kid`, `alg` and `use` `sig`.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// A JWKS holding only this key's public half.
    pub fn jwks(&self) -> Jwks {
        Jwks::new(vec![self.public.clone()])
    }

    /// The matching [`VerifyingKey`].
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_jwk(&self.public)
    }

    /// A [`KeyRing`] holding only the matching [`VerifyingKey`].
    pub fn key_ring(&self) -> KeyRing {
        self.jwks().key_ring()
    }
}

impl TokenSigner for SigningKey {
    fn algorithm(&self) -> &str {
        self.alg
    }

    fn kid(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        let signature = jsonwebtoken::crypto::sign(signing_input, &self.key, self.algorithm)
            .map_err(|error| SignerError(error.to_string()))?;
        URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|error| SignerError(error.to_string()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// PEM armour (RFC 7468) around a PKCS#8 DER private key.
pub(crate) fn pkcs8_pem(der: &[u8]) -> String {
    let mut encoded = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    encoded.zeroize();
    pem
}
