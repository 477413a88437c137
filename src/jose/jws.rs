//! JWS compact serialization (RFC 7515 section 7.1): building signed tokens through a
//! [`TokenSigner`], and taking received ones apart and checking their signature with an
//! explicit algorithm allow-list and a key chosen by `kid`.
//!
//! The header and the signing input are built here (RFC 7515 section 5.1), the algorithm is
//! decided here, and the key is chosen here; a [`SignatureVerifier`](super::SignatureVerifier)
//! is handed the exact signing input and the algorithm *this* code decided on. A token's header
//! can therefore never pick a key type (RFC 8725 section 3.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::algorithms::AlgorithmAllowList;
use super::jws_error::JwsError;
use super::key_set::KeySet;
use super::signer::TokenSigner;
use super::verifier::VerifyError;
use crate::SignerError;
use crate::display_safety::sanitize;
use crate::jwt::{JwtShape, decode_object, encode_segment, shape};

/// Signs `claims` into a compact JWS whose header is `{"alg", "typ", "kid"}`, with `alg` and
/// `kid` taken from the signer (RFC 7515 section 5.1).
pub fn sign_jwt(
    signer: &dyn TokenSigner,
    typ: &str,
    claims: &impl serde::Serialize,
) -> Result<String, SignerError> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(signer.algorithm()));
    header.insert("typ".into(), Value::from(typ));
    if let Some(kid) = signer.kid() {
        header.insert("kid".into(), Value::from(kid));
    }
    let mut token = encode_segment(&header);
    token.push('.');
    token.push_str(&encode_segment(claims));
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// Verifies a compact JWS's signature with the key its `kid` names in `keys`, under an
/// allowed algorithm (never `none`; RFC 8725 section 3.1). Checks no claim: the caller decides
/// what the claims must say. For tools that inspect tokens (`xaa decode --verify-jwks`).
pub fn verify_jws(
    token: &str,
    keys: &dyn KeySet,
    algorithms: &AlgorithmAllowList,
) -> Result<(), JwsError> {
    UnverifiedJws::parse(token)?.verify(keys, algorithms)
}

/// A compact JWS taken apart but not yet verified.
pub(crate) struct UnverifiedJws<'a> {
    /// The JOSE header.
    pub(crate) header: Map<String, Value>,
    /// The claims: parsed here so that a token whose payload is no JSON object is refused
    /// before its signature is checked; judged by the server.
    #[cfg_attr(
        not(feature = "server"),
        expect(dead_code, reason = "only the server judges claims")
    )]
    pub(crate) claims: Map<String, Value>,
    /// `BASE64URL(header) '.' BASE64URL(payload)`, exactly as received.
    signing_input: &'a str,
    /// The decoded signature.
    signature: Vec<u8>,
}

impl<'a> UnverifiedJws<'a> {
    /// Splits and decodes a compact JWS. A JWE is [`JwsError::Encrypted`]; anything else
    /// unusable is [`JwsError::Malformed`].
    pub(crate) fn parse(token: &'a str) -> Result<Self, JwsError> {
        match shape(token) {
            Ok(JwtShape::Jws) => {}
            Ok(JwtShape::Jwe) => return Err(JwsError::Encrypted),
            Err(_) => return Err(JwsError::Malformed),
        }
        let (signing_input, signature) = token.rsplit_once('.').ok_or(JwsError::Malformed)?;
        let (header, claims) = signing_input.split_once('.').ok_or(JwsError::Malformed)?;
        Ok(Self {
            header: decode_object(header).map_err(|_| JwsError::Malformed)?,
            claims: decode_object(claims).map_err(|_| JwsError::Malformed)?,
            signing_input,
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .map_err(|_| JwsError::Malformed)?,
        })
    }

    /// A header member as a string: `Ok(None)` when absent, [`JwsError::Malformed`] when not
    /// a string.
    pub(crate) fn header_str(&self, name: &str) -> Result<Option<&str>, JwsError> {
        match self.header.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(JwsError::Malformed),
        }
    }

    /// The checked `alg`: present, never `none`, and on the allow-list (RFC 8725 section 3.1,
    /// EMA section 7.4.1). Also refuses any `crit` header: no extension is understood here
    /// (RFC 7515 section 4.1.11).
    pub(crate) fn allowed_algorithm(
        &self,
        algorithms: &AlgorithmAllowList,
    ) -> Result<&str, JwsError> {
        let alg = self.header_str("alg")?;
        match alg {
            Some(alg) if !alg.eq_ignore_ascii_case("none") && algorithms.allows(alg) => {
                if self.header.contains_key("crit") {
                    return Err(JwsError::CriticalHeader);
                }
                Ok(alg)
            }
            _ => Err(JwsError::AlgorithmNotAllowed {
                alg: alg.map(sanitize),
            }),
        }
    }

    /// Verifies the signature with the key named by the header's `kid` in `keys`, under an
    /// allowed algorithm. Header members that point at keys elsewhere (`jku`, `x5u`, `jwk`,
    /// `x5c`) are ignored: keys come only from the given set (RFC 8725 section 3.10).
    pub(crate) fn verify(
        &self,
        keys: &dyn KeySet,
        algorithms: &AlgorithmAllowList,
    ) -> Result<(), JwsError> {
        let alg = self.allowed_algorithm(algorithms)?;
        let kid = self.header_str("kid")?;
        let key = keys.select(kid).ok_or_else(|| JwsError::UnknownKey {
            kid: kid.map(sanitize),
        })?;
        key.verify(alg, self.signing_input.as_bytes(), &self.signature)
            .map_err(|error| match error {
                VerifyError::AlgorithmMismatch => {
                    JwsError::KeyAlgorithmMismatch { alg: sanitize(alg) }
                }
                VerifyError::InvalidSignature => JwsError::BadSignature,
            })
    }
}
