//! DPoP fixtures for the `server_dpop*` tests: real ES256 proof keys, proofs built from JSON
//! so that a test can break one rule at a time, nonce sources that count.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use xaa::dpop::{DpopSigner, EsDpopKey, JwkDpopVerifier};
use xaa::jwt::encode_segment;
use xaa::server::{DpopNonces, DpopValidator, ReplayStore};

use super::NOW;

/// The client's proof key, generated once per test binary.
pub fn proof_key() -> &'static EsDpopKey {
    static KEY: OnceLock<EsDpopKey> = OnceLock::new();
    KEY.get_or_init(|| EsDpopKey::generate().expect("P-256 key"))
}

/// Another key: a thief's.
pub fn other_key() -> &'static EsDpopKey {
    static KEY: OnceLock<EsDpopKey> = OnceLock::new();
    KEY.get_or_init(|| EsDpopKey::generate().expect("P-256 key"))
}

/// A validator over `replay` with the real verifier.
pub fn validator(replay: Arc<dyn ReplayStore>) -> DpopValidator {
    DpopValidator::new(Arc::new(JwkDpopVerifier), replay)
}

/// A unique proof `jti` per call.
pub fn proof_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("proof-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Nonces `<prefix>-0`, `<prefix>-1`, ... rotated every 5 minutes, the previous one accepted
/// for 1 minute.
pub fn counting_nonces(prefix: &'static str) -> Arc<DpopNonces> {
    let next = AtomicU64::new(0);
    Arc::new(DpopNonces::new(Arc::new(move || {
        format!("{prefix}-{}", next.fetch_add(1, Ordering::Relaxed))
    })))
}

/// A proof's header and claims as JSON, before signing: edit either, then [`Proof::sign`].
pub struct Proof {
    pub header: Value,
    pub claims: Value,
}

impl Proof {
    /// A valid proof by `proof_key()` for `method` to `htu`, made at `NOW`.
    pub fn new(method: &str, htu: &str) -> Self {
        Self::by(proof_key(), method, htu)
    }

    /// A valid proof by `key` for `method` to `htu`, made at `NOW`.
    pub fn by(key: &EsDpopKey, method: &str, htu: &str) -> Self {
        Self {
            header: json!({
                "typ": "dpop+jwt",
                "alg": "ES256",
                "jwk": serde_json::to_value(key.public_jwk()).expect("JSON"),
            }),
            claims: json!({
                "jti": proof_jti(),
                "htm": method,
                "htu": htu,
                "iat": NOW,
            }),
        }
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims[name] = value;
        self
    }

    /// Sets a header member.
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header[name] = value;
        self
    }

    /// `ath` for `token` (RFC 9449 section 4.2).
    pub fn ath(self, token: &str) -> Self {
        let hash = proof_key().sha256(token.as_bytes());
        self.claim("ath", json!(URL_SAFE_NO_PAD.encode(hash)))
    }

    /// `content_digest` for `body`.
    pub fn content_digest(self, body: &[u8]) -> Self {
        let digest = xaa::dpop::content_digest(body, |data| proof_key().sha256(data));
        self.claim("content_digest", json!(digest))
    }

    /// Signed by `proof_key()`.
    pub fn sign(&self) -> String {
        self.sign_with(proof_key())
    }

    /// Signed by `signer`, whatever the header says.
    pub fn sign_with(&self, signer: &dyn DpopSigner) -> String {
        let input = format!(
            "{}.{}",
            encode_segment(&self.header),
            encode_segment(&self.claims)
        );
        let signature = signer.sign(input.as_bytes()).expect("signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Unsigned: an empty signature segment, as `alg` `none` has.
    pub fn unsigned(&self) -> String {
        format!(
            "{}.{}.",
            encode_segment(&self.header),
            encode_segment(&self.claims)
        )
    }
}

/// The ways to break one rule of a proof at a token endpoint (`POST` to `htu`), each named;
/// every one must be refused with `invalid_dpop_proof`.
pub fn broken_token_proofs(htu: &str) -> Vec<(&'static str, String)> {
    let mut private_jwk = serde_json::to_value(proof_key().public_jwk()).expect("JSON");
    private_jwk["d"] = json!("AAAA");
    vec![
        (
            "wrong htu",
            Proof::new("POST", "https://elsewhere.example.com/token").sign(),
        ),
        ("wrong htm", Proof::new("GET", htu).sign()),
        (
            "content_digest of another body",
            Proof::new("POST", htu)
                .content_digest(b"grant_type=another")
                .sign(),
        ),
        (
            "stale iat",
            Proof::new("POST", htu)
                .claim("iat", json!(NOW - 301))
                .sign(),
        ),
        (
            "future iat",
            Proof::new("POST", htu)
                .claim("iat", json!(NOW + 301))
                .sign(),
        ),
        (
            "alg none",
            Proof::new("POST", htu)
                .header("alg", json!("none"))
                .unsigned(),
        ),
        (
            "alg HS256",
            Proof::new("POST", htu).header("alg", json!("HS256")).sign(),
        ),
        (
            "private member in jwk",
            Proof::new("POST", htu).header("jwk", private_jwk).sign(),
        ),
        (
            "signed by another key than its jwk",
            Proof::new("POST", htu).sign_with(other_key()),
        ),
    ]
}
