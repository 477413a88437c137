//! The shape of a compact JWT by its definition (RFC 7515 section 7.1, RFC 7516 section 7.1),
//! written here apart from the core's one-pass scan: split at the dots, every segment in the
//! base64url alphabet; three segments, the first two non-empty, are a JWS; five, the first
//! and the fourth non-empty (a JWE's encrypted key is empty for direct encryption), a JWE.

use xaa::jwt::{JwtError, PeekedJwt};

/// The longest token the core peeks at: 64 KiB, as `JwtError::TooLong` documents.
pub(crate) const MAX_JWT_BYTES: usize = 64 * 1024;

/// What a token is, before any segment is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `header.payload.signature`.
    Jws,
    /// `header.encrypted_key.iv.ciphertext.tag`.
    Jwe,
    /// Longer than [`MAX_JWT_BYTES`].
    TooLong,
    /// Neither.
    Malformed,
}

/// Whether `segment` holds only base64url characters (no padding).
pub(crate) fn is_base64url(segment: &str) -> bool {
    segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The shape of `token` by the definition.
pub(crate) fn shape(token: &str) -> Shape {
    if token.len() > MAX_JWT_BYTES {
        return Shape::TooLong;
    }
    let segments: Vec<&str> = token.split('.').collect();
    if !segments.iter().all(|s| is_base64url(s)) {
        return Shape::Malformed;
    }
    match segments.as_slice() {
        [header, payload, _] if !header.is_empty() && !payload.is_empty() => Shape::Jws,
        [header, _, _, ciphertext, _] if !header.is_empty() && !ciphertext.is_empty() => Shape::Jwe,
        _ => Shape::Malformed,
    }
}

/// The shape `xaa::jwt::peek` found: it checks the shape first, refusing a JWE as encrypted,
/// and only then decodes the segments of a JWS.
pub(crate) fn peeked_shape(peeked: &Result<PeekedJwt, JwtError>) -> Shape {
    match peeked {
        Ok(_) | Err(JwtError::Base64 | JwtError::Json | JwtError::DuplicateMember(_)) => Shape::Jws,
        Err(JwtError::Encrypted) => Shape::Jwe,
        Err(JwtError::TooLong) => Shape::TooLong,
        Err(JwtError::Malformed) => Shape::Malformed,
        Err(other) => panic!("a peek error the harness does not know: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape("a.b.c"), Shape::Jws);
        assert_eq!(shape("a.b."), Shape::Jws);
        assert_eq!(shape("a..c.d.e"), Shape::Jwe);
        assert_eq!(shape("a.b.c..e"), Shape::Malformed);
        assert_eq!(shape(".b.c"), Shape::Malformed);
        assert_eq!(shape("a.b=.c"), Shape::Malformed);
        assert_eq!(shape(""), Shape::Malformed);
        assert_eq!(shape(&"a".repeat(MAX_JWT_BYTES + 1)), Shape::TooLong);
    }
}
