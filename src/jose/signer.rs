//! Signing: the one operation a private (or deliberately shared) key performs.

use crate::SignerError;

/// Signs JWS with one private (or deliberately shared) key (RFC 7515 section 5.1).
pub trait TokenSigner: Send + Sync {
    /// The JWS `alg` this key produces (RFC 7518 section 3.1): `ES256`, `RS256`, ...
    fn algorithm(&self) -> &str;

    /// The `kid` to put in the header (RFC 7515 section 4.1.4), so verifiers can pick the key
    /// from a JWKS.
    fn kid(&self) -> Option<&str>;

    /// Signs the JWS signing input, `ASCII(BASE64URL(header) '.' BASE64URL(payload))`, and
    /// returns the raw signature bytes (RFC 7515 section 5.1 step 5).
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError>;
}
