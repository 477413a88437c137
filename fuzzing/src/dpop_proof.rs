//! The `dpop_proof` target: `xaa::server::DpopValidator` fed hostile DPoP proofs (RFC 9449
//! section 4.3).
//!
//! Input: a mode byte, then the proof. Below 0x80 the rest is the `DPoP` header's value as it
//! is. From 0x80 the rest is `header JSON 0x00 claims JSON`, encoded and signed with this
//! target's ES256 key, so the checks behind the signature are reached: an empty part is the
//! valid default, and the text `"KEY"` in the header stands for the key's public JWK. The low
//! bits of the mode choose what the server expects: bit 0 a nonce, bit 1 an access token (its
//! `ath`), bit 2 the key's thumbprint as the token's binding.

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, Method};
use url::Url;
use xaa::AccessToken;
use xaa::dpop::{DpopSigner, EsDpopKey, JwkDpopVerifier};
use xaa::server::{
    DpopError, DpopValidator, InMemoryReplayStore, ProofExpectations, ValidatedProof,
};

use crate::checks::{NOW_SECS, assert_single_line, now};

/// The URI every proof is checked against.
const TOKEN_ENDPOINT: &str = "https://as.example.com/token";
/// The nonce required under mode bit 0.
const NONCE: &str = "nonce-1";
/// The access token presented under mode bit 1.
const ACCESS_TOKEN: &str = "access-token-1";

/// The target's key, generated once per process.
fn key() -> &'static EsDpopKey {
    static KEY: OnceLock<EsDpopKey> = OnceLock::new();
    KEY.get_or_init(|| EsDpopKey::generate().expect("a P-256 key"))
}

/// Hostile proofs: validating never panics; a refusal's message is one line naming its RFC
/// section, and leaves the proof usable (the same proof is refused the same way again); an
/// accepted proof is for this request (`iat` in the window, the nonce when required), names
/// the thumbprint of its own `jwk`, is by this target's key whenever this target signed it,
/// and is refused as a replay the second time.
pub fn dpop_proof(data: &[u8]) {
    let (mode, rest) = data.split_first().map_or((0, &[][..]), |(m, r)| (*m, r));
    let signed_here = mode >= 0x80;
    let proof = if signed_here {
        signed_proof(mode, rest)
    } else {
        rest.to_vec()
    };
    let Ok(header) = HeaderValue::from_bytes(&proof) else {
        return;
    };
    let uri = Url::parse(TOKEN_ENDPOINT).expect("the token endpoint");
    let token = AccessToken::new(ACCESS_TOKEN);
    let jkt = key().jkt();
    let mut expected = ProofExpectations::new(&Method::POST, &uri, now());
    if mode & 1 != 0 {
        expected = expected.with_nonce(NONCE);
    }
    if mode & 2 != 0 {
        expected = expected.with_access_token(&token);
    }
    if mode & 4 != 0 {
        expected = expected.with_jkt(&jkt);
    }
    let validator = DpopValidator::new(
        Arc::new(JwkDpopVerifier),
        Arc::new(InMemoryReplayStore::default()),
    );
    let first = validator.validate_proof([&header], &expected);
    crate::trace!("dpop_proof mode {mode:#04x}: {first:?}");
    let second = validator.validate_proof([&header], &expected);
    match first {
        Ok(validated) => {
            check_accepted(&validated, mode, signed_here);
            assert_eq!(second, Err(DpopError::Replayed), "a replay was accepted");
        }
        Err(error) => {
            check_refusal(&error);
            assert_eq!(second, Err(error), "a refused proof was used up");
        }
    }
}

fn check_accepted(validated: &ValidatedProof, mode: u8, signed_here: bool) {
    let own = validated
        .jwk
        .thumbprint(|data| xaa::dpop::DpopVerifier::sha256(&JwkDpopVerifier, data));
    assert_eq!(validated.jkt, own, "the thumbprint is not the jwk's");
    if signed_here || mode & 4 != 0 {
        assert_eq!(
            validated.jkt,
            key().jkt(),
            "accepted for a key that did not sign"
        );
    }
    assert!(
        validated.iat.abs_diff(NOW_SECS) <= 300,
        "accepted outside the iat window"
    );
    if mode & 1 != 0 {
        assert_eq!(validated.nonce.as_deref(), Some(NONCE));
    }
    assert!(!validated.jti.is_empty());
}

fn check_refusal(error: &DpopError) {
    let shown = error.to_string();
    assert_single_line(&shown);
    assert!(
        shown.contains("RFC "),
        "a refusal without its rule: {shown}"
    );
    assert!(shown.len() < 1024, "an unbounded refusal");
    assert!(matches!(
        error.error_code(),
        "invalid_dpop_proof" | "use_dpop_nonce" | "temporarily_unavailable"
    ));
}

/// `header JSON 0x00 claims JSON`, each part defaulted when empty, signed by [`key`].
fn signed_proof(mode: u8, rest: &[u8]) -> Vec<u8> {
    let (header, claims) = match rest.iter().position(|byte| *byte == 0) {
        Some(index) => (&rest[..index], &rest[index + 1..]),
        None => (rest, &[][..]),
    };
    let jwk = serde_json::to_vec(key().public_jwk()).expect("a JWK is JSON");
    let header = if header.is_empty() {
        br#"{"typ":"dpop+jwt","alg":"ES256","jwk":"KEY"}"#
    } else {
        header
    };
    let header = replace(header, br#""KEY""#, &jwk);
    let claims = if claims.is_empty() {
        let mut claims = serde_json::json!({
            "jti": "jti-1", "htm": "POST", "htu": TOKEN_ENDPOINT, "iat": NOW_SECS,
        });
        if mode & 1 != 0 {
            claims["nonce"] = NONCE.into();
        }
        if mode & 2 != 0 {
            let hash = key().sha256(ACCESS_TOKEN.as_bytes());
            claims["ath"] = URL_SAFE_NO_PAD.encode(hash).into();
        }
        serde_json::to_vec(&claims).expect("claims are JSON")
    } else {
        claims.to_vec()
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = key().sign(input.as_bytes()).expect("ES256 signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)).into_bytes()
}

/// `haystack` with every `needle` replaced by `with`.
fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut index = 0;
    while index < haystack.len() {
        if haystack[index..].starts_with(needle) {
            out.extend_from_slice(with);
            index += needle.len();
        } else {
            out.push(haystack[index]);
            index += 1;
        }
    }
    out
}
