//! Real signatures (feature `jwt`): signing keys, public JWKs and JWK Sets (RFC 7517), and the
//! implementations of the crate's crypto traits over `jsonwebtoken` with the `aws-lc-rs`
//! backend:
//!
//! * [`SigningKey`] (ES256, ES384, RS256, RS384, RS512, PS256, PS384, PS512): a
//!   [`TokenSigner`] for the IdP's ID-JAGs and ID tokens, generated or loaded from PEM;
//! * [`VerifyingKey`], from a [`Jwk`]: a [`SignatureVerifier`] that refuses any algorithm its
//!   key is not for, whatever a token's header says (RFC 8725 section 3.1);
//! * [`Jwks`]: the `jwks_uri` document, and the [`KeyRing`] built from it;
//! * [`SharedKey`]: HMAC, only for an issuer or client with which a secret was deliberately
//!   agreed;
//! * [`JwtAssertionSigner`]: an [`AssertionSigner`] for `private_key_jwt`;
//! * [`RandomJti`]: random `jti` values.
//!
//! The server core ([`crate::server`]) builds every header and signing input and enforces the
//! algorithm allow-lists; this module only signs and verifies bytes. `jsonwebtoken` needs a
//! process-wide crypto provider: the constructors here install the `aws-lc-rs` one, and an
//! already installed provider is left alone. That is the only global state.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::server::{
    KeyRing, SharedKeyAlgorithm, SignatureVerifier, TokenSigner, VerifyError, sign_jwt,
};
use crate::{Assertion, AssertionSigner, ClientAssertionClaims, JtiSource, SignerError};

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

/// Installs the `aws-lc-rs` provider for `jsonwebtoken`, once per process; a provider already
/// installed (by us or the application) stays.
fn install_crypto_provider() {
    // Err only means a provider is already installed.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

/// The asymmetric algorithms, what key each needs, and the `jsonwebtoken` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyFamily {
    /// ECDSA on the named curve, with coordinates of this many bytes (RFC 7518 section 3.4).
    Ec {
        crv: &'static str,
        coordinate_len: usize,
    },
    /// RSA, at least 2048 bits (RFC 7518 sections 3.3 and 3.5).
    Rsa,
}

fn asymmetric(alg: &str) -> Option<(&'static str, Algorithm, KeyFamily)> {
    let p256 = KeyFamily::Ec {
        crv: "P-256",
        coordinate_len: 32,
    };
    let p384 = KeyFamily::Ec {
        crv: "P-384",
        coordinate_len: 48,
    };
    Some(match alg {
        "ES256" => ("ES256", Algorithm::ES256, p256),
        "ES384" => ("ES384", Algorithm::ES384, p384),
        "RS256" => ("RS256", Algorithm::RS256, KeyFamily::Rsa),
        "RS384" => ("RS384", Algorithm::RS384, KeyFamily::Rsa),
        "RS512" => ("RS512", Algorithm::RS512, KeyFamily::Rsa),
        "PS256" => ("PS256", Algorithm::PS256, KeyFamily::Rsa),
        "PS384" => ("PS384", Algorithm::PS384, KeyFamily::Rsa),
        "PS512" => ("PS512", Algorithm::PS512, KeyFamily::Rsa),
        _ => return None,
    })
}

/// A public JSON Web Key (RFC 7517 section 4, RFC 7518 section 6). Only public members are
/// modelled; private members of a received document are ignored, never kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// `kty`: `EC` or `RSA` here (RFC 7517 section 4.1).
    pub kty: String,
    /// `kid` (RFC 7517 section 4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `alg`: when present, the only algorithm the key may be used with (RFC 7517 section 4.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `use`: `sig` for signing keys (RFC 7517 section 4.2).
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// `crv` of an EC key (RFC 7518 section 6.2.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// `x` of an EC key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// `y` of an EC key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// `n`, the modulus of an RSA key, base64url (RFC 7518 section 6.3.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// `e`, the exponent of an RSA key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A JWK Set (RFC 7517 section 5): what an IdP serves at its `jwks_uri`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// A set of these keys.
    pub fn new(keys: Vec<Jwk>) -> Self {
        Self { keys }
    }

    /// Parses a JWKS document.
    pub fn from_json(document: &[u8]) -> Result<Self, KeyError> {
        serde_json::from_slice(document).map_err(|error| KeyError::InvalidKey(error.to_string()))
    }

    /// The document.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// A `200` JSON response carrying the document.
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        crate::server::json_response(http::StatusCode::OK, &self.to_json())
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }

    /// The usable signature keys, for [`KeyRing::replace`]. Keys of a type or use not
    /// understood are skipped (RFC 7517 section 5: "SHOULD ignore").
    pub fn verifying_keys(&self) -> Vec<(Option<String>, Arc<dyn SignatureVerifier>)> {
        self.keys
            .iter()
            .filter_map(|jwk| VerifyingKey::from_jwk(jwk).ok())
            .map(|key| {
                (
                    key.jwk.kid.clone(),
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

/// A public key that verifies signatures, made from a [`Jwk`]. It accepts only the
/// algorithms its key type is for, and only the JWK's `alg` when the JWK names one.
#[derive(Clone)]
pub struct VerifyingKey {
    jwk: Jwk,
    family: KeyFamily,
    key: DecodingKey,
}

impl VerifyingKey {
    /// Reads an `EC` (P-256, P-384) or `RSA` (2048 bits or more) public key. A `use` other
    /// than `sig`, an `alg` that does not fit the key, or malformed coordinates are refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        install_crypto_provider();
        if jwk.use_.as_deref().is_some_and(|use_| use_ != "sig") {
            return Err(KeyError::InvalidKey("not a signature key (use)".into()));
        }
        let (family, key) = match jwk.kty.as_str() {
            "EC" => ec_key(jwk)?,
            "RSA" => rsa_key(jwk)?,
            other => return Err(KeyError::UnsupportedKeyType(other.to_owned())),
        };
        let verifying = Self {
            jwk: public_members(jwk),
            family,
            key,
        };
        if let Some(alg) = &jwk.alg
            && !verifying.fits(alg)
        {
            return Err(KeyError::InvalidKey(format!(
                "alg {alg} does not fit the key"
            )));
        }
        Ok(verifying)
    }

    /// The key's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.jwk.kid.as_deref()
    }

    /// The JWK it was made from (public members only).
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Whether the key type is for `alg`, whatever the JWK's own `alg` says.
    fn fits(&self, alg: &str) -> bool {
        asymmetric(alg).is_some_and(|(_, _, family)| family == self.family)
    }

    /// Whether this key may verify `alg`: the key type fits, and the JWK's `alg`, if any, is it.
    fn accepts(&self, alg: &str) -> bool {
        self.fits(alg) && self.jwk.alg.as_deref().is_none_or(|own| own == alg)
    }
}

impl SignatureVerifier for VerifyingKey {
    fn verify(
        &self,
        algorithm: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        let Some((_, alg, _)) = asymmetric(algorithm).filter(|_| self.accepts(algorithm)) else {
            return Err(VerifyError::AlgorithmMismatch);
        };
        let signature = URL_SAFE_NO_PAD.encode(signature);
        match jsonwebtoken::crypto::verify(&signature, signing_input, &self.key, alg) {
            Ok(true) => Ok(()),
            _ => Err(VerifyError::InvalidSignature),
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.jwk.kid)
            .field("kty", &self.jwk.kty)
            .field("alg", &self.jwk.alg)
            .finish_non_exhaustive()
    }
}

fn member<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, KeyError> {
    value
        .as_deref()
        .ok_or_else(|| KeyError::InvalidKey(format!("member {name} is missing")))
}

fn ec_key(jwk: &Jwk) -> Result<(KeyFamily, DecodingKey), KeyError> {
    let crv = member(&jwk.crv, "crv")?;
    let family = match crv {
        "P-256" => asymmetric("ES256"),
        "P-384" => asymmetric("ES384"),
        _ => None,
    }
    .map(|(_, _, family)| family)
    .ok_or_else(|| KeyError::UnsupportedKeyType(format!("EC {crv}")))?;
    let KeyFamily::Ec { coordinate_len, .. } = family else {
        return Err(KeyError::UnsupportedKeyType(crv.to_owned()));
    };
    let (x, y) = (member(&jwk.x, "x")?, member(&jwk.y, "y")?);
    for coordinate in [x, y] {
        let decoded = URL_SAFE_NO_PAD
            .decode(coordinate)
            .map_err(|_| KeyError::InvalidKey("a coordinate is not base64url".into()))?;
        if decoded.len() != coordinate_len {
            return Err(KeyError::InvalidKey(
                "a coordinate has the wrong length".into(),
            ));
        }
    }
    let key = DecodingKey::from_ec_components(x, y)
        .map_err(|error| KeyError::InvalidKey(error.to_string()))?;
    Ok((family, key))
}

fn rsa_key(jwk: &Jwk) -> Result<(KeyFamily, DecodingKey), KeyError> {
    let (n, e) = (member(&jwk.n, "n")?, member(&jwk.e, "e")?);
    let modulus = URL_SAFE_NO_PAD
        .decode(n)
        .map_err(|_| KeyError::InvalidKey("n is not base64url".into()))?;
    let significant = modulus.iter().skip_while(|byte| **byte == 0).count();
    if significant < 256 {
        return Err(KeyError::InvalidKey(
            "RSA keys must have at least 2048 bits".into(),
        ));
    }
    let key = DecodingKey::from_rsa_components(n, e)
        .map_err(|error| KeyError::InvalidKey(error.to_string()))?;
    Ok((KeyFamily::Rsa, key))
}

/// The public members of a JWK, and nothing else.
fn public_members(jwk: &Jwk) -> Jwk {
    Jwk {
        kty: jwk.kty.clone(),
        kid: jwk.kid.clone(),
        alg: jwk.alg.clone(),
        use_: jwk.use_.clone(),
        crv: jwk.crv.clone(),
        x: jwk.x.clone(),
        y: jwk.y.clone(),
        n: jwk.n.clone(),
        e: jwk.e.clone(),
    }
}

/// A private signing key with its `kid` and algorithm. `Debug` shows only those two.
#[derive(Clone)]
pub struct SigningKey {
    alg: &'static str,
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
fn pkcs8_pem(der: &[u8]) -> String {
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

/// Signs `private_key_jwt` client assertions (RFC 7523 section 2.2) with a [`SigningKey`]:
/// header `alg`, `kid`, `typ` `JWT`.
#[derive(Clone, Debug)]
pub struct JwtAssertionSigner {
    key: SigningKey,
}

impl JwtAssertionSigner {
    /// A signer over `key`.
    pub fn new(key: SigningKey) -> Self {
        Self { key }
    }

    /// The key, whose [`public_jwk`](SigningKey::public_jwk) the server registers.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

impl AssertionSigner for JwtAssertionSigner {
    fn algorithm(&self) -> &str {
        self.key.alg
    }

    fn sign(&self, claims: &ClientAssertionClaims) -> Result<Assertion, SignerError> {
        sign_jwt(&self.key, "JWT", claims).map(Assertion::new)
    }
}

/// `jti` values of 128 random bits, base64url (RFC 7519 section 4.1.7), from the `aws-lc-rs`
/// system generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomJti;

impl JtiSource for RandomJti {
    fn next_jti(&self) -> String {
        random_jti()
    }
}

/// 128 random bits, base64url. Should the system generator ever fail, a value from the clock
/// and a process-wide counter keeps `jti`s unique (though guessable) rather than panicking.
pub fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&(nanos as u64).to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertion_signer_signs_client_assertions_that_verify() {
        let key = SigningKey::generate_es256("client-key").expect("key");
        let verifier = key.verifying_key().expect("verifying key");
        let signer = JwtAssertionSigner::new(key);
        assert_eq!(AssertionSigner::algorithm(&signer), "ES256");
        let claims = ClientAssertionClaims {
            iss: "client".into(),
            sub: "client".into(),
            aud: "https://as.example.com/token".into(),
            jti: "j-1".into(),
            iat: 10,
            exp: 70,
        };
        let assertion = signer.sign(&claims).expect("signs");
        let token = assertion.expose_secret();
        let peeked = crate::jwt::peek(token).expect("JWS");
        assert_eq!(peeked.header_str("typ"), Some("JWT"));
        assert_eq!(peeked.header_str("kid"), Some("client-key"));
        assert_eq!(
            peeked.claim_str("aud"),
            Some("https://as.example.com/token")
        );
        let (input, signature) = token.rsplit_once('.').expect("three segments");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        assert_eq!(
            verifier.verify("ES256", input.as_bytes(), &signature),
            Ok(())
        );
    }
}
