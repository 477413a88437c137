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

use crate::byte_class::base64url_prefix_len;
use crate::constants::ID_JAG_TYP;
use crate::error::sanitize;
use crate::members::{self, Member, MembersError};

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
    /// The header or payload names a member twice (RFC 7519 section 4); the name, sanitized.
    #[error("member `{0}` appears twice in the header or payload")]
    DuplicateMember(String),
    /// An encrypted token cannot be peeked.
    #[error("the token is encrypted (JWE)")]
    Encrypted,
}

/// The shape of a compact JWT, checking only the segment structure.
pub fn shape(token: &str) -> Result<JwtShape, JwtError> {
    Segments::scan(token).map(|segments| segments.shape)
}

/// A compact JWT's segments, found and checked in one scan: at most five, each in the base64url
/// alphabet, the first two of a JWS and the first and fourth of a JWE non-empty.
struct Segments<'a> {
    shape: JwtShape,
    /// The first two segments: a JWS's header and payload.
    header: &'a str,
    payload: &'a str,
}

impl<'a> Segments<'a> {
    fn scan(token: &'a str) -> Result<Self, JwtError> {
        if token.len() > MAX_JWT_BYTES {
            return Err(JwtError::TooLong);
        }
        // No allocation and one pass: this runs on every token the client handles. The scan of
        // a segment stops at the first byte outside the alphabet, which must be a dot or the end.
        let mut bounds = [(0usize, 0usize); 5];
        let mut count = 0;
        let mut start = 0;
        loop {
            let Some(slot) = bounds.get_mut(count) else {
                return Err(JwtError::Malformed);
            };
            let end = start + base64url_prefix_len(&token.as_bytes()[start..]);
            *slot = (start, end);
            count += 1;
            match token.as_bytes().get(end) {
                None => break,
                Some(b'.') => start = end + 1,
                Some(_) => return Err(JwtError::Malformed),
            }
        }
        let empty = |index: usize| bounds[index].0 == bounds[index].1;
        let shape = match count {
            3 if !empty(0) && !empty(1) => JwtShape::Jws,
            // A JWE's encrypted key is empty for direct encryption (RFC 7516 section 7.1).
            5 if !empty(0) && !empty(3) => JwtShape::Jwe,
            _ => return Err(JwtError::Malformed),
        };
        // The bounds fall on ASCII bytes (dots, or the alphabet's), so slicing cannot fail.
        let segment = |index: usize| token.get(bounds[index].0..bounds[index].1).unwrap_or("");
        Ok(Self {
            shape,
            header: segment(0),
            payload: segment(1),
        })
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
    let (header, claims) = jws_segments(token)?;
    Ok(PeekedJwt {
        header: decode_object(header)?,
        claims: decode_object(claims)?,
    })
}

/// The header and payload segments of a compact JWS, still base64url-encoded.
pub(crate) fn jws_segments(token: &str) -> Result<(&str, &str), JwtError> {
    let segments = Segments::scan(token)?;
    if segments.shape == JwtShape::Jwe {
        return Err(JwtError::Encrypted);
    }
    Ok((segments.header, segments.payload))
}

/// The decoded claims of a JWS, unverified; `None` when the token is not one.
pub(crate) fn unverified_claims(token: &str) -> Option<Vec<u8>> {
    let (_, claims) = jws_segments(token).ok()?;
    decode_segment(claims).ok()
}

/// The `exp` of a JWS as a NumericDate, unverified; `None` when the token is not a JWS or has
/// no numeric `exp` (a repeated member counts as none).
pub(crate) fn unverified_expiry(token: &str) -> Option<u64> {
    let claims = unverified_claims(token)?;
    let [exp] = read_members(&claims, ["exp"]).ok()?;
    exp.numeric_date()
}

/// The JSON bytes of one base64url segment.
pub(crate) fn decode_segment(segment: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Base64)
}

/// Decodes one base64url segment holding a JSON object. A member name that appears twice is
/// refused (RFC 7519 section 4 allows refusing or keeping the last; see `crate::members`).
pub fn decode_object(segment: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = decode_segment(segment)?;
    crate::wire::parse_object(&bytes).map_err(|violation| match violation {
        crate::Violation::DuplicateField(name) => JwtError::DuplicateMember(name),
        _ => JwtError::Json,
    })
}

/// The members `names` of a decoded segment's JSON object, read in one pass without building
/// a map.
pub(crate) fn read_members<'a, const N: usize>(
    json: &'a [u8],
    names: [&str; N],
) -> Result<[Member<'a>; N], JwtError> {
    members::read(json, names).map_err(|error| match error {
        MembersError::Duplicate(name) => JwtError::DuplicateMember(sanitize(&name)),
        MembersError::NotAnObject => JwtError::Json,
    })
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
    seconds_from_float(value.as_f64()?)
}

/// A JSON number read as a float (a fraction, or beyond `u64`) as NumericDate seconds:
/// truncated, saturating at `u64::MAX`; `None` when negative or not finite.
pub(crate) fn seconds_from_float(value: f64) -> Option<u64> {
    (value.is_finite() && value >= 0.0).then(|| value.min(u64::MAX as f64) as u64)
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

    /// The shape by the definition: split at dots, every segment in the alphabet.
    fn reference_shape(token: &str) -> Result<JwtShape, JwtError> {
        let segments: Vec<&str> = token.split('.').collect();
        let alphabet = |s: &&str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !segments.iter().all(alphabet) {
            return Err(JwtError::Malformed);
        }
        match segments.len() {
            3 if !segments[0].is_empty() && !segments[1].is_empty() => Ok(JwtShape::Jws),
            5 if !segments[0].is_empty() && !segments[3].is_empty() => Ok(JwtShape::Jwe),
            _ => Err(JwtError::Malformed),
        }
    }

    quickcheck::quickcheck! {
        fn shape_agrees_with_the_reference(picks: Vec<(u8, u8)>) -> bool {
            const ALPHABET: [&str; 8] = ["a", "Z", "0", "-", "_", ".", "=", "é"];
            let token: String = picks
                .iter()
                .map(|&(kind, byte)| match kind % 8 {
                    0 => ALPHABET[usize::from(byte) % ALPHABET.len()],
                    1 => ".",
                    _ => ALPHABET[usize::from(byte) % 5],
                })
                .collect();
            let scanned = Segments::scan(&token);
            let expected = reference_shape(&token);
            scanned.as_ref().map(|s| s.shape).map_err(Clone::clone) == expected
                && scanned.is_ok_and(|s| {
                    let mut parts = token.split('.');
                    Some(s.header) == parts.next() && Some(s.payload) == parts.next()
                })
                    == (expected == Ok(JwtShape::Jws) || expected == Ok(JwtShape::Jwe))
        }
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
        assert_eq!(shape("a.b.c.d.e.f"), Err(JwtError::Malformed));
        assert_eq!(shape("a.b.c.d."), Ok(JwtShape::Jwe), "an empty tag segment");
        assert_eq!(
            shape("a.b.c..e"),
            Err(JwtError::Malformed),
            "empty ciphertext"
        );
        assert_eq!(shape(""), Err(JwtError::Malformed));
        assert_eq!(shape("...."), Err(JwtError::Malformed));
    }

    #[test]
    fn duplicate_members_are_refused() {
        // {"a":1,"a":2}
        let duplicated = URL_SAFE_NO_PAD.encode(br#"{"a":1,"a":2}"#);
        let token = format!("e30.{duplicated}.c2ln");
        let twice = Some(JwtError::DuplicateMember("a".into()));
        assert_eq!(peek(&token).err(), twice);
        let json = decode_segment(&duplicated).expect("base64url");
        assert_eq!(read_members(&json, ["b"]).err(), twice);
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
