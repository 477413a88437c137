//! Compact JWT handling without cryptography: splitting, peeking at header and claims, and the
//! claim shapes of the ID-JAG profile (decisions.md D10).
//!
//! The client cannot verify an ID-JAG's signature meaningfully (the MCP authorization server
//! does that with the IdP's keys), so it *peeks*: decodes without verifying, to check that the
//! IdP issued what was asked for (protocol.md 6 rule 5).

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::constants::ID_JAG_TYP;

/// Largest token accepted for peeking, in bytes.
pub const MAX_JWT_BYTES: usize = 64 * 1024;

/// Whether a token is a signed (JWS, 3 segments) or an encrypted (JWE, 5 segments) compact JWT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtShape {
    /// `header.payload.signature`.
    Jws,
    /// `header.encrypted_key.iv.ciphertext.tag`.
    Jwe,
}

/// Why a token could not be peeked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not 3 (JWS) or 5 (JWE) non-empty base64url segments.
    #[error("not a compact JWT")]
    Malformed,
    /// Longer than [`MAX_JWT_BYTES`].
    #[error("token longer than {MAX_JWT_BYTES} bytes")]
    TooLong,
    /// A segment is not base64url.
    #[error("a segment is not base64url")]
    Base64,
    /// The header or payload is not a JSON object.
    #[error("header or payload is not a JSON object")]
    Json,
    /// An encrypted token cannot be peeked.
    #[error("the token is encrypted (JWE)")]
    Encrypted,
}

/// The shape of a compact JWT, checking only the segment structure.
pub fn shape(token: &str) -> Result<JwtShape, JwtError> {
    if token.len() > MAX_JWT_BYTES {
        return Err(JwtError::TooLong);
    }
    let segments: Vec<&str> = token.split('.').collect();
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !segments.iter().all(|s| base64url(s)) {
        return Err(JwtError::Malformed);
    }
    match segments.len() {
        3 if !segments[0].is_empty() && !segments[1].is_empty() => Ok(JwtShape::Jws),
        // A JWE's encrypted key is empty for direct encryption (RFC 7516 section 7.1).
        5 if !segments[0].is_empty() && !segments[3].is_empty() => Ok(JwtShape::Jwe),
        _ => Err(JwtError::Malformed),
    }
}

/// Header and claims of a JWS, decoded but **not verified**.
#[derive(Clone, Debug, PartialEq)]
pub struct PeekedJwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

impl PeekedJwt {
    /// A header member as a string.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim as a string.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A claim as a NumericDate (seconds since the epoch). Fractions are truncated; negative or
    /// non-numeric values are `None`.
    pub fn claim_time(&self, name: &str) -> Option<u64> {
        numeric_date(self.claims.get(name)?)
    }
}

/// Decodes the header and claims of a compact JWS without verifying it.
pub fn peek(token: &str) -> Result<PeekedJwt, JwtError> {
    if shape(token)? == JwtShape::Jwe {
        return Err(JwtError::Encrypted);
    }
    let mut segments = token.split('.');
    let header = decode_object(segments.next().unwrap_or_default())?;
    let claims = decode_object(segments.next().unwrap_or_default())?;
    Ok(PeekedJwt { header, claims })
}

/// Decodes one base64url segment holding a JSON object.
pub fn decode_object(segment: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Base64)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Json),
    }
}

/// Base64url (no padding) of a JSON value, as JWS segments are encoded.
pub fn encode_segment(value: &impl serde::Serialize) -> String {
    // Serializing a map or a struct of strings and numbers cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Seconds since the epoch from a JSON number; `None` for negative, non-finite or non-numbers.
pub fn numeric_date(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    (f.is_finite() && f >= 0.0).then(|| f.min(u64::MAX as f64) as u64)
}

/// The latest time this crate represents: far beyond any real expiry, and representable on
/// every platform's `SystemTime`.
const FAR_FUTURE: Duration = Duration::from_secs(1 << 40);

/// A NumericDate as a `SystemTime`, saturating: a hostile `exp` of `u64::MAX` becomes the far
/// future instead of an overflow.
pub fn time_from_numeric_date(seconds: u64) -> SystemTime {
    saturating_add(SystemTime::UNIX_EPOCH, Duration::from_secs(seconds))
}

/// `time + duration`, saturating at the far future instead of overflowing.
pub fn saturating_add(time: SystemTime, duration: Duration) -> SystemTime {
    let limit = SystemTime::UNIX_EPOCH + FAR_FUTURE;
    time.checked_add(duration).map_or(limit, |t| t.min(limit))
}

/// Whether a `typ` header names the ID-JAG type: `oauth-id-jag+jwt`, with or without the
/// `application/` prefix, case-insensitive (decisions.md D10, RFC 7515 section 4.1.9).
pub fn is_id_jag_typ(typ: &str) -> bool {
    let bare = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    bare.eq_ignore_ascii_case(ID_JAG_TYP)
}

/// The single string in a claim that may be a string or a one-element array (decisions.md D10;
/// `aud` and `resource`). Anything else is `None`.
pub fn single_string(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Array(items) if items.len() == 1 => items[0].as_str(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jws(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.c2ln",
            encode_segment(&header),
            encode_segment(&claims)
        )
    }

    #[test]
    fn peeks_header_and_claims() {
        let token = jws(
            json!({"typ": "oauth-id-jag+jwt", "alg": "ES256"}),
            json!({"exp": 5}),
        );
        let peeked = peek(&token).expect("valid token");
        assert_eq!(peeked.header_str("typ"), Some("oauth-id-jag+jwt"));
        assert_eq!(peeked.claim_time("exp"), Some(5));
    }

    #[test]
    fn shapes() {
        assert_eq!(shape("a.b.c"), Ok(JwtShape::Jws));
        assert_eq!(
            shape("a.b."),
            Ok(JwtShape::Jws),
            "unsecured JWS has an empty signature"
        );
        assert_eq!(shape("a..c.d.e"), Ok(JwtShape::Jwe));
        assert_eq!(shape("a.b"), Err(JwtError::Malformed));
        assert_eq!(shape("a.b.c.d"), Err(JwtError::Malformed));
        assert_eq!(shape("a.b=.c"), Err(JwtError::Malformed));
        assert_eq!(shape(".b.c"), Err(JwtError::Malformed));
        assert_eq!(peek("a..c.d.e"), Err(JwtError::Encrypted));
        assert_eq!(peek("e30.bm90anNvbg.c"), Err(JwtError::Json));
        assert_eq!(peek("e30.!!.c"), Err(JwtError::Malformed));
    }

    #[test]
    fn typ_variants() {
        assert!(is_id_jag_typ("oauth-id-jag+jwt"));
        assert!(is_id_jag_typ("application/oauth-id-jag+jwt"));
        assert!(is_id_jag_typ("Application/OAuth-ID-JAG+JWT"));
        assert!(!is_id_jag_typ("JWT"));
        assert!(!is_id_jag_typ("application/jwt"));
        assert!(!is_id_jag_typ("x-application/oauth-id-jag+jwt"));
    }

    #[test]
    fn single_string_shapes() {
        assert_eq!(single_string(&json!("a")), Some("a"));
        assert_eq!(single_string(&json!(["a"])), Some("a"));
        assert_eq!(single_string(&json!(["a", "b"])), None);
        assert_eq!(single_string(&json!([])), None);
        assert_eq!(single_string(&json!(1)), None);
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&json!(10)), Some(10));
        assert_eq!(numeric_date(&json!(10.9)), Some(10));
        assert_eq!(numeric_date(&json!(-1)), None);
        assert_eq!(numeric_date(&json!("10")), None);
    }
}
