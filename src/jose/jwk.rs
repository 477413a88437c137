//! Public JSON Web Keys and JWK Sets (RFC 7517): what an IdP serves at its `jwks_uri`.

use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::key_error::KeyError;
use crate::json_response::json_response;

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
    pub fn to_response(&self) -> Response<Vec<u8>> {
        json_response(StatusCode::OK, &self.to_json())
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }
}

/// The public members of a JWK, and nothing else.
pub(super) fn public_members(jwk: &Jwk) -> Jwk {
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
