//! Compact JWT handling without cryptography: splitting, peeking at header and claims, and the
//! claim shapes of the ID-JAG profile (decisions.md D10).
//!
//! The client cannot verify an ID-JAG's signature meaningfully (the MCP authorization server
//! does that with the IdP's keys), so it *peeks*: decodes without verifying, to check that the
//! IdP issued what was asked for (protocol.md 6 rule 5).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::byte_class::base64url_prefix_len;
use crate::constants::ID_JAG_TYP;
use crate::display_safety::sanitize;
use crate::json::{self, Member, ObjectError};

pub use crate::json::numeric_date;
/// Kept at this path for the authorizer, which reads it from here.
pub(crate) use crate::json::saturating_add;

/// Largest token accepted for peeking, in bytes.
pub(crate) const MAX_JWT_BYTES: usize = 64 * 1024;

/// Whether a token is a signed (JWS, 3 segments) or an encrypted (JWE, 5 segments) compact JWT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JwtShape {
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
    /// Longer than 64 KiB, more than any token this profile carries.
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
pub(crate) fn shape(token: &str) -> Result<JwtShape, JwtError> {
    Segments::scan(token).map(|segments| segments.shape)
}

/// A compact JWT's segments, found and checked in one scan: at most five, each in the base64url
/// alphabet, the first two of a JWS and the first and fourth of a JWE non-empty.
struct Segments<'a> {
    shape: JwtShape,
    token: &'a str,
    /// Start and end of each segment; those past the shape's count are `(0, 0)`.
    bounds: [(usize, usize); 5],
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
        Ok(Self {
            shape,
            token,
            bounds,
        })
    }

    /// Segment `index` (0-based), still base64url-encoded; empty past the shape's count.
    fn segment(&self, index: usize) -> &'a str {
        let (start, end) = self.bounds.get(index).copied().unwrap_or_default();
        // The bounds fall on ASCII bytes (dots, or the alphabet's), so slicing cannot fail.
        self.token.get(start..end).unwrap_or("")
    }

    /// The first segment: the (protected) header of a JWS or a JWE.
    fn header(&self) -> &'a str {
        self.segment(0)
    }

    /// The second segment: a JWS's payload.
    fn payload(&self) -> &'a str {
        self.segment(1)
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
    Ok((segments.header(), segments.payload()))
}

/// The signature segment of a compact JWS, still base64url-encoded (empty for an unsecured
/// JWS, RFC 7519 section 6.1).
pub(crate) fn jws_signature(token: &str) -> Result<&str, JwtError> {
    let segments = Segments::scan(token)?;
    if segments.shape == JwtShape::Jwe {
        return Err(JwtError::Encrypted);
    }
    Ok(segments.segment(2))
}

/// The five segments of a compact JWE (RFC 7516 section 7.1), still base64url-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct JweSegments<'a> {
    /// The JWE Protected Header.
    pub(crate) header: &'a str,
    /// The JWE Encrypted Key: empty for direct encryption or direct key agreement.
    pub(crate) encrypted_key: &'a str,
    /// The JWE Initialization Vector.
    pub(crate) initialization_vector: &'a str,
    /// The JWE Ciphertext.
    pub(crate) ciphertext: &'a str,
    /// The JWE Authentication Tag.
    pub(crate) tag: &'a str,
}

/// The segments of a compact JWE; a JWS is [`JwtError::Malformed`] here.
pub(crate) fn jwe_segments(token: &str) -> Result<JweSegments<'_>, JwtError> {
    let segments = Segments::scan(token)?;
    if segments.shape != JwtShape::Jwe {
        return Err(JwtError::Malformed);
    }
    Ok(JweSegments {
        header: segments.header(),
        encrypted_key: segments.segment(1),
        initialization_vector: segments.segment(2),
        ciphertext: segments.segment(3),
        tag: segments.segment(4),
    })
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
/// refused (RFC 7519 section 4 allows refusing or keeping the last; see `crate::json`).
pub(crate) fn decode_object(segment: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = decode_segment(segment)?;
    json::parse_object(&bytes).map_err(object_error)
}

/// The members `names` of a decoded segment's JSON object, read in one pass without building
/// a map.
pub(crate) fn read_members<'a, const N: usize>(
    json: &'a [u8],
    names: [&str; N],
) -> Result<[Member<'a>; N], JwtError> {
    json::read_members(json, names).map_err(object_error)
}

/// The error for a header or payload that could not be read as an object.
fn object_error(error: ObjectError) -> JwtError {
    match error {
        ObjectError::DuplicateMember(name) => JwtError::DuplicateMember(sanitize(&name)),
        ObjectError::NotAnObject => JwtError::Json,
    }
}

/// Base64url (no padding) of a JSON value, as JWS segments are encoded.
pub fn encode_segment(value: &impl serde::Serialize) -> String {
    // Serializing a map or a struct of strings and numbers cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Whether a `typ` header names the ID-JAG type: `oauth-id-jag+jwt`, with or without the
/// `application/` prefix, case-insensitive (decisions.md D10, RFC 7515 section 4.1.9).
pub(crate) fn is_id_jag_typ(typ: &str) -> bool {
    names_media_type(typ, ID_JAG_TYP)
}

/// Whether a `typ` or `cty` header names the media type `JWT` (RFC 7519 sections 5.1 and 5.2),
/// with or without the `application/` prefix, case-insensitive (RFC 7515 sections 4.1.9 and
/// 4.1.10).
pub(crate) fn is_jwt_media_type(value: &str) -> bool {
    names_media_type(value, "JWT")
}

/// Whether a `typ` or `cty` value names the media type `application/{subtype}`: the prefix may
/// be left out, and media types compare case-insensitively (RFC 7515 section 4.1.9).
fn names_media_type(value: &str, subtype: &str) -> bool {
    let bare = match value.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &value[12..],
        _ => value,
    };
    bare.eq_ignore_ascii_case(subtype)
}

/// The longest `alg` or `enc` value accepted, in bytes. The longest registered name
/// (`PBES2-HS512+A256KW`, RFC 7518 section 4.8) has 18; the bound leaves room for a
/// collision-resistant name (RFC 7515 section 4.1.1) and keeps what an error echoes short.
pub(crate) const MAX_ALGORITHM_NAME_BYTES: usize = 64;

/// A rule of a JOSE header (RFC 7515 section 4.1, RFC 7516 section 4.1) that a token the client
/// forwards must keep. The client cannot verify or decrypt an ID-JAG (that is the authorization
/// server's work), but it refuses one that cannot be a signed or an encrypted JWT at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderRule {
    /// `alg` or `enc` is absent or not a string.
    #[error(
        "must be present as a string: a signed or encrypted JWT names its algorithms (RFC 7515 section 4.1.1, RFC 7516 section 4.1.2)"
    )]
    AlgorithmMissing,
    /// `alg` or `enc` is the empty string.
    #[error("must not be empty: it names an algorithm (RFC 7515 section 4.1.1)")]
    AlgorithmEmpty,
    /// `alg` or `enc` is longer than 64 bytes: no algorithm name is (the longest registered
    /// one has 18).
    #[error("must be at most {MAX_ALGORITHM_NAME_BYTES} bytes long: no algorithm name is longer")]
    AlgorithmTooLong,
    /// `alg` or `enc` holds whitespace, a control character or a non-ASCII character.
    #[error(
        "must be printable ASCII without whitespace or control characters (RFC 7515 section 4.1.1: a case-sensitive ASCII name)"
    )]
    AlgorithmNotPrintable,
    /// `alg` or `enc` is `none` in some letter case: an unsecured JWT.
    #[error(
        "must not be `none` in any letter case: an unsecured token is never forwarded (RFC 8725 sections 2.1 and 3.1)"
    )]
    Unsecured,
    /// A signing `alg` with an empty or undecodable signature segment.
    #[error(
        "names a signature algorithm, so the signature segment must be non-empty base64url (RFC 7515 section 7.1)"
    )]
    MissingSignature,
    /// `enc` in the header of a three-segment token: it makes the token a JWE.
    #[error(
        "must be absent from a signed token: `enc` marks an encrypted one (RFC 7516 section 9)"
    )]
    EncryptionInSignedToken,
    /// `typ` of an encrypted ID-JAG is neither the ID-JAG type nor `JWT`.
    #[error(
        "must be `oauth-id-jag+jwt` or `JWT` when present on an encrypted ID-JAG (RFC 7519 section 5.1, RFC 8725 section 3.11)"
    )]
    EncryptedType,
    /// `cty` of an encrypted ID-JAG is not `JWT`: its plaintext would not be a signed JWT.
    #[error(
        "must be `JWT` when present: an encrypted ID-JAG carries a signed one (RFC 7519 section 5.2)"
    )]
    NotNestedJwt,
    /// Direct encryption or direct key agreement (`dir`, `ECDH-ES`) with an encrypted key.
    #[error(
        "is direct encryption or direct key agreement, so the encrypted key must be empty (RFC 7516 sections 5.1 and 5.2, RFC 7518 sections 4.5 and 4.6)"
    )]
    EncryptedKeyNotEmpty,
    /// Key wrapping, key encryption or key agreement with wrapping, without an encrypted key.
    #[error(
        "wraps or encrypts the content key, so the encrypted key must not be empty (RFC 7516 section 5.1)"
    )]
    EncryptedKeyEmpty,
}

/// The `alg` or `enc` of a JOSE header, held to what every real algorithm name is: a string of
/// 1 to [`MAX_ALGORITHM_NAME_BYTES`] printable ASCII bytes without whitespace (RFC 7515 section
/// 4.1.1, RFC 7516 sections 4.1.1 and 4.1.2), and never `none` in any letter case (RFC 8725
/// sections 2.1 and 3.1). `value` is `None` when the member is absent or not a string.
pub(crate) fn check_algorithm_name(value: Option<&str>) -> Result<&str, HeaderRule> {
    let name = value.ok_or(HeaderRule::AlgorithmMissing)?;
    if name.is_empty() {
        return Err(HeaderRule::AlgorithmEmpty);
    }
    if name.len() > MAX_ALGORITHM_NAME_BYTES {
        return Err(HeaderRule::AlgorithmTooLong);
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(HeaderRule::AlgorithmNotPrintable);
    }
    if name.eq_ignore_ascii_case("none") {
        return Err(HeaderRule::Unsecured);
    }
    Ok(name)
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
                    Some(s.header()) == parts.next() && Some(s.payload()) == parts.next()
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
    fn jwe_and_signature_segments() {
        let jwe = jwe_segments("aGVhZA..aXY.Y2lwaGVy.dGFn").expect("a JWE");
        assert_eq!(
            jwe,
            JweSegments {
                header: "aGVhZA",
                encrypted_key: "",
                initialization_vector: "aXY",
                ciphertext: "Y2lwaGVy",
                tag: "dGFn",
            }
        );
        assert_eq!(jwe_segments("a.b.c"), Err(JwtError::Malformed));
        assert_eq!(jws_signature("a.b.c2ln"), Ok("c2ln"));
        assert_eq!(jws_signature("a.b."), Ok(""));
        assert_eq!(jws_signature("a.b.c.d.e"), Err(JwtError::Encrypted));
    }

    #[test]
    fn algorithm_names() {
        for real in [
            "ES256",
            "RS256",
            "dir",
            "ECDH-ES+A256KW",
            "A128CBC-HS256",
            "x:y/z",
        ] {
            assert_eq!(check_algorithm_name(Some(real)), Ok(real));
        }
        let longest = "A".repeat(MAX_ALGORITHM_NAME_BYTES);
        assert!(check_algorithm_name(Some(&longest)).is_ok());
        let refused = [
            (None, HeaderRule::AlgorithmMissing),
            (Some(""), HeaderRule::AlgorithmEmpty),
            (Some(" none"), HeaderRule::AlgorithmNotPrintable),
            (Some("none "), HeaderRule::AlgorithmNotPrintable),
            (Some("ES 256"), HeaderRule::AlgorithmNotPrintable),
            (Some("ES256\n"), HeaderRule::AlgorithmNotPrintable),
            (Some("ES256\u{7f}"), HeaderRule::AlgorithmNotPrintable),
            (Some("ÉS256"), HeaderRule::AlgorithmNotPrintable),
            (Some("none"), HeaderRule::Unsecured),
            (Some("NONE"), HeaderRule::Unsecured),
            (Some("nOnE"), HeaderRule::Unsecured),
        ];
        for (value, rule) in refused {
            assert_eq!(check_algorithm_name(value), Err(rule), "{value:?}");
        }
        let too_long = "A".repeat(MAX_ALGORITHM_NAME_BYTES + 1);
        assert_eq!(
            check_algorithm_name(Some(&too_long)),
            Err(HeaderRule::AlgorithmTooLong)
        );
    }

    #[test]
    fn jwt_media_types() {
        assert!(is_jwt_media_type("JWT"));
        assert!(is_jwt_media_type("jwt"));
        assert!(is_jwt_media_type("application/JWT"));
        assert!(!is_jwt_media_type("JOSE"));
        assert!(!is_jwt_media_type("application/jwt+json"));
        assert!(!is_jwt_media_type("x-application/jwt"));
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
}
