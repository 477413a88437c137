//! Proof Key for Code Exchange with the `S256` method only (RFC 7636 sections 4.1 to 4.3;
//! docs/signin.md, "PKCE").

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::random::{RandomSource, RandomUnavailable, random_value};
use super::secrets::CodeVerifier;

/// The one challenge method sent: `plain` would hand the verifier to anyone who sees the
/// authorization request (RFC 7636 section 7.2).
pub const CODE_CHALLENGE_METHOD: &str = "S256";

/// A code verifier and its `S256` challenge.
#[derive(Clone, Debug)]
pub(crate) struct Pkce {
    /// Kept until the code exchange.
    pub(crate) verifier: CodeVerifier,
    /// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 section 4.2).
    pub(crate) challenge: String,
}

impl Pkce {
    /// A fresh verifier of 43 characters from `random`, and its challenge through `sha256`,
    /// which must be SHA-256 (the core has no cryptography).
    pub(crate) fn generate(
        random: &dyn RandomSource,
        sha256: &dyn Fn(&[u8]) -> [u8; 32],
    ) -> Result<Self, RandomUnavailable> {
        let verifier = random_value(random)?;
        let challenge = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
        Ok(Self {
            verifier: CodeVerifier::new(verifier.as_str()),
            challenge,
        })
    }
}
