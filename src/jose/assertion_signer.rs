//! `private_key_jwt` client assertions signed with a real key (RFC 7523 section 2.2).

use super::jws::sign_jwt;
use super::signing_key::SigningKey;
use crate::{Assertion, AssertionSigner, ClientAssertionClaims, SignerError};

/// Signs `private_key_jwt` client assertions (RFC 7523 section 2.2) with a [`SigningKey`]:
/// header `alg`, `kid`, `typ` `JWT`.
#[derive(Clone, Debug)]
pub struct JwtAssertionSigner {
    key: SigningKey,
}

impl JwtAssertionSigner {
    /// A signer over `key`.
    pub fn new(key: SigningKey) -> Self {
        Self { key }
    }

    /// The key, whose [`public_jwk`](SigningKey::public_jwk) the server registers.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

impl AssertionSigner for JwtAssertionSigner {
    fn algorithm(&self) -> &str {
        self.key.alg
    }

    fn sign(&self, claims: &ClientAssertionClaims) -> Result<Assertion, SignerError> {
        sign_jwt(&self.key, "JWT", claims).map(Assertion::new)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::jose::SignatureVerifier;

    #[test]
    fn assertion_signer_signs_client_assertions_that_verify() {
        let key = SigningKey::generate_es256("client-key").expect("key");
        let verifier = key.verifying_key().expect("verifying key");
        let signer = JwtAssertionSigner::new(key);
        assert_eq!(AssertionSigner::algorithm(&signer), "ES256");
        let claims = ClientAssertionClaims {
            iss: "client".into(),
            sub: "client".into(),
            aud: "https://as.example.com/token".into(),
            jti: "j-1".into(),
            iat: 10,
            exp: 70,
        };
        let assertion = signer.sign(&claims).expect("signs");
        let token = assertion.expose_secret();
        let peeked = crate::jwt::peek(token).expect("JWS");
        assert_eq!(peeked.header_str("typ"), Some("JWT"));
        assert_eq!(peeked.header_str("kid"), Some("client-key"));
        assert_eq!(
            peeked.claim_str("aud"),
            Some("https://as.example.com/token")
        );
        let (input, signature) = token.rsplit_once('.').expect("three segments");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        assert_eq!(
            verifier.verify("ES256", input.as_bytes(), &signature),
            Ok(())
        );
    }
}
