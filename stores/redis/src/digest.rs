//! SHA-256 digests of canonical byte strings: what key names and the sealed values' associated
//! data are made of.
//!
//! The canonical bytes of a thing are a domain label followed by its fields, each as an 8-byte
//! big-endian length and the bytes themselves: two different things never share their bytes,
//! whatever characters their fields hold, and a cache key never shares them with a `jti`.

use std::fmt::Write;

use aws_lc_rs::digest::{SHA256, SHA256_OUTPUT_LEN, digest};
use xaa::cache::{CacheKey, Principal};
use xaa::server::TokenKind;

/// A SHA-256 digest of canonical bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Digest([u8; SHA256_OUTPUT_LEN]);

impl Digest {
    /// The digest of `label` and `parts`, each length-prefixed.
    pub(crate) fn of_parts(label: &str, parts: &[&[u8]]) -> Self {
        let mut bytes = Vec::new();
        for part in std::iter::once(label.as_bytes()).chain(parts.iter().copied()) {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part);
        }
        let mut out = [0; SHA256_OUTPUT_LEN];
        out.copy_from_slice(digest(&SHA256, &bytes).as_ref());
        Self(out)
    }

    /// The digest of a token cache key: the authorization server, the resource, the client
    /// id, each scope value in canonical order, and the principal.
    pub(crate) fn of_cache_key(key: &CacheKey) -> Self {
        let scope: Vec<&str> = key.scope().iter().collect();
        let principal = principal_parts(key.principal());
        let count = (scope.len() as u64).to_be_bytes();
        let mut parts: Vec<&[u8]> = vec![
            key.authorization_server().as_bytes(),
            key.resource().as_bytes(),
            key.client_id().as_bytes(),
            &count,
        ];
        parts.extend(scope.iter().map(|value| value.as_bytes()));
        parts.extend(principal.iter().map(String::as_bytes));
        Self::of_parts("xaa-redis cache key v1", &parts)
    }

    /// The digest of one token's replay identity: its kind, its issuer and its `jti`.
    pub(crate) fn of_jti(kind: TokenKind, issuer: &str, jti: &str) -> Self {
        let kind = kind_label(kind);
        Self::of_parts(
            "xaa-redis jti v1",
            &[kind.as_bytes(), issuer.as_bytes(), jti.as_bytes()],
        )
    }

    /// The digest of a whole compact token, kept to recognise a byte-identical re-submission
    /// without storing the token.
    pub(crate) fn of_token(token: &str) -> Self {
        Self::of_parts("xaa-redis token v1", &[token.as_bytes()])
    }

    /// The digest's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8; SHA256_OUTPUT_LEN] {
        &self.0
    }

    /// The digest in lowercase hexadecimal.
    pub(crate) fn to_hex(self) -> String {
        self.0.iter().fold(
            String::with_capacity(2 * SHA256_OUTPUT_LEN),
            |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            },
        )
    }
}

/// The principal as a tag and its fields. A variant this crate does not know yet is tagged
/// with its JSON form, which serde writes the same way every time.
fn principal_parts(principal: &Principal) -> Vec<String> {
    match principal {
        Principal::Subject { issuer, subject } => {
            vec!["subject".to_owned(), issuer.clone(), subject.clone()]
        }
        Principal::Key(key) => vec!["key".to_owned(), key.clone()],
        other => vec![
            "other".to_owned(),
            serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
        ],
    }
}

/// A stable name for each kind of token, so the digest does not depend on `Debug`.
fn kind_label(kind: TokenKind) -> String {
    match kind {
        TokenKind::IdJag => "id-jag".to_owned(),
        TokenKind::ClientAssertion => "client-assertion".to_owned(),
        TokenKind::DpopProof => "dpop-proof".to_owned(),
        other => format!("other {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use xaa::Scope;

    use super::*;

    fn key(scope: &str, principal: Principal) -> CacheKey {
        CacheKey::new(
            "https://as",
            "https://mcp",
            "c",
            &Scope::parse(scope),
            principal,
        )
    }

    #[test]
    fn the_sha256_of_known_bytes() {
        // SHA-256 of the 8-byte length 0 followed by nothing else (an empty label).
        let digest = Digest::of_parts("", &[]);
        assert_eq!(
            digest.to_hex(),
            "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"
        );
    }

    #[test]
    fn scope_order_does_not_matter_and_every_field_does() {
        let alice = Principal::subject("https://idp", "alice");
        let base = Digest::of_cache_key(&key("a b", alice.clone()));
        assert_eq!(base, Digest::of_cache_key(&key("b a", alice.clone())));
        assert_ne!(base, Digest::of_cache_key(&key("a", alice.clone())));
        assert_ne!(
            base,
            Digest::of_cache_key(&key("a b", Principal::key("alice")))
        );
        assert_ne!(
            base,
            Digest::of_cache_key(&key("a b", Principal::subject("https://idp2", "alice")))
        );
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        let split = |issuer: &str, subject: &str| {
            Digest::of_cache_key(&key("", Principal::subject(issuer, subject)))
        };
        assert_ne!(split("ab", "c"), split("a", "bc"));
        assert_ne!(
            Digest::of_jti(TokenKind::IdJag, "i", "j"),
            Digest::of_jti(TokenKind::ClientAssertion, "i", "j")
        );
        assert_ne!(
            Digest::of_parts("l", &[b"ab", b"c"]),
            Digest::of_parts("l", &[b"a", b"bc"])
        );
    }
}
