//! JWK thumbprints (RFC 7638): the `jkt` a DPoP-bound token names in `cnf` (RFC 9449 section
//! 6.1) and a resource server compares with the key of each proof (RFC 9449 section 4.3
//! item 12).
//!
//! The core has no cryptography, so the SHA-256 function is passed in: a
//! [`DpopSigner`](super::DpopSigner) or a [`DpopVerifier`](super::DpopVerifier) supplies it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::jwk::PublicJwk;

impl PublicJwk {
    /// The JSON the thumbprint hashes (RFC 7638 section 3.3): an object of only the members
    /// the key type requires (section 3.2: `crv`, `kty`, `x`, `y` for `EC`; `e`, `kty`, `n` for
    /// `RSA`; `crv`, `kty`, `x` for `OKP`, RFC 8037 section 2), in lexicographic order of their
    /// names, without whitespace, each value a JSON string.
    pub fn thumbprint_input(&self) -> String {
        let mut json = String::from("{");
        for (index, name) in self.required_members().iter().enumerate() {
            if index > 0 {
                json.push(',');
            }
            json.push_str(&json_string(name));
            json.push(':');
            json.push_str(&json_string(self.member(name).unwrap_or_default()));
        }
        json.push('}');
        json
    }

    /// The RFC 7638 thumbprint with SHA-256 (section 3.1), base64url without padding (RFC 7515
    /// section 2): the `jkt` of RFC 9449 section 6.1. `sha256` must be SHA-256.
    pub fn thumbprint(&self, sha256: impl Fn(&[u8]) -> [u8; 32]) -> String {
        URL_SAFE_NO_PAD.encode(sha256(self.thumbprint_input().as_bytes()))
    }
}

/// `value` as a JSON string, escaped as `serde_json` does: only `"`, `\` and control
/// characters (RFC 8259 section 7), so the UTF-8 of every other character is hashed as it is.
fn json_string(value: &str) -> String {
    // Serializing a string cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_required_members_in_order_without_whitespace() {
        let ec = PublicJwk::from_json(json!({
            "y": "Y", "x": "X", "kid": "k", "kty": "EC", "crv": "P-256", "use": "sig"
        }))
        .expect("EC key");
        assert_eq!(
            ec.thumbprint_input(),
            r#"{"crv":"P-256","kty":"EC","x":"X","y":"Y"}"#
        );
        let okp = PublicJwk::from_json(json!({"x": "X", "crv": "Ed25519", "kty": "OKP"}))
            .expect("OKP key");
        assert_eq!(
            okp.thumbprint_input(),
            r#"{"crv":"Ed25519","kty":"OKP","x":"X"}"#
        );
        let escaped =
            PublicJwk::from_json(json!({"kty": "RSA", "n": "a\"b", "e": "é"})).expect("RSA key");
        assert_eq!(
            escaped.thumbprint_input(),
            r#"{"e":"é","kty":"RSA","n":"a\"b"}"#
        );
    }
}
