//! PKCE with `S256` (RFC 7636), and the `at_hash` of an ID token, both over SHA-256.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The only `code_challenge_method` the kit accepts (RFC 7636 section 4.2; `plain` is not
/// offered, as RFC 9700 section 2.1.1 advises).
pub(crate) const S256: &str = "S256";

/// Whether `value` is a well-formed `S256` `code_challenge`: 43 base64url characters, the
/// encoding of a SHA-256 digest (RFC 7636 section 4.2).
pub(crate) fn is_s256_challenge(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Whether `verifier` is well formed (43 to 128 unreserved characters, RFC 7636 section 4.1)
/// and `BASE64URL(SHA256(verifier))` is `challenge` (section 4.6), compared in constant time.
pub(crate) fn verifies(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte));
    well_formed
        && verify_slices_are_equal(
            URL_SAFE_NO_PAD
                .encode(digest(&SHA256, verifier.as_bytes()))
                .as_bytes(),
            challenge.as_bytes(),
        )
        .is_ok()
}

/// `at_hash` for an ES256-signed ID token: the base64url of the left half of the SHA-256 of
/// the access token (OpenID Connect Core 1.0 section 3.1.3.6).
pub(crate) fn at_hash(access_token: &str) -> String {
    let hash = digest(&SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(verifies(verifier, challenge));
        assert!(!verifies(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!verifies("short", challenge));
    }
}
