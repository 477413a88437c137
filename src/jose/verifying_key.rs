//! Public keys that verify signatures, made from JWKs (RFC 7517 section 4, RFC 7518 section 6).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;

use super::jwk::{Jwk, public_members};
use super::key_error::KeyError;
use super::key_family::{KeyFamily, asymmetric, install_crypto_provider};
use super::verifier::{SignatureVerifier, VerifyError};

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
