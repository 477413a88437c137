//! The `id_token_claims` target: `signin::check_id_token_claims` (OpenID Connect Core 1.0
//! sections 2, 3.1.3.7 and 12.2) against the rules restated here over serde_json's reading.

use std::time::Duration;

use serde_json::Value;
use xaa::signin::{IdTokenClaims, IdTokenExpectations, Nonce, check_id_token_claims};

use crate::checks::{NOW_SECS, assert_single_line, json_object, now};
use crate::input::Input;

const ISSUER: &str = "https://idp.example.com";
const CLIENT: &str = "client-1";
const NONCE: &str = "n-0S6_WzA2Mj";
const SKEW: u64 = 60;
const MAX_AGE: u64 = 600;

/// The first byte chooses what is expected: a nonce, a max_age, a renewal of a first ID
/// token. The rest is the claims. Accepted claims must satisfy every rule, read the same by
/// serde_json, and be what the check returns; refusals are one line naming their section.
pub fn id_token_claims(data: &[u8]) {
    let mut input = Input::new(data);
    let choices = input.byte();
    let claims = input.rest();
    let mut expected = IdTokenExpectations::new(ISSUER, CLIENT, Duration::from_secs(SKEW));
    if choices & 1 == 1 {
        expected = expected.with_nonce(Nonce::new(NONCE));
    }
    if choices & 2 == 2 {
        expected = expected.with_max_age(Some(Duration::from_secs(MAX_AGE)));
    }
    let first: Option<IdTokenClaims> = (choices & 4 == 4).then(|| {
        serde_json::from_value(serde_json::json!({
            "iss": ISSUER, "sub": "alice", "aud": [CLIENT], "azp": null, "exp": NOW_SECS,
            "iat": NOW_SECS - 3600, "auth_time": null, "nonce": if choices & 8 == 8 { Some(NONCE) } else { None },
        }))
        .unwrap_or_else(|e| panic!("fixture claims: {e}"))
    });
    if let Some(first) = first.clone() {
        expected = expected.renewing(first);
    }
    let outcome = check_id_token_claims(claims, &expected, now());
    crate::trace!("check: {outcome:?}");
    let accepted = match outcome {
        Ok(accepted) => accepted,
        Err(error) => {
            let shown = error.to_string();
            assert_single_line(&shown);
            assert!(shown.contains("OpenID Connect Core 1.0 section"), "{shown}");
            return;
        }
    };
    let Some(object) = json_object(claims) else {
        panic!("accepted claims serde_json does not read as an object");
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    let number = |name: &str| object.get(name).and_then(Value::as_f64);
    assert_eq!(text("iss"), Some(ISSUER));
    assert_eq!(accepted.iss, ISSUER);
    assert_eq!(text("sub"), Some(accepted.sub.as_str()));
    assert!(!accepted.sub.is_empty() && accepted.sub.len() <= 255);
    assert!(accepted.aud.iter().any(|aud| aud == CLIENT));
    if accepted.aud.len() > 1 || accepted.azp.is_some() {
        assert_eq!(accepted.azp.as_deref(), Some(CLIENT));
    }
    assert_eq!(text("azp"), accepted.azp.as_deref());
    let exp = number("exp").unwrap_or_else(|| panic!("accepted without a numeric exp"));
    assert!(exp > NOW_SECS as f64 && accepted.exp > NOW_SECS);
    let iat = number("iat").unwrap_or_else(|| panic!("accepted without a numeric iat"));
    assert!(iat < (NOW_SECS + SKEW + 1) as f64 && accepted.iat <= NOW_SECS + SKEW);
    if choices & 1 == 1 {
        assert_eq!(text("nonce"), Some(NONCE));
    }
    if choices & 2 == 2 {
        let auth_time = accepted
            .auth_time
            .unwrap_or_else(|| panic!("max_age without auth_time"));
        assert!(auth_time.saturating_add(MAX_AGE + SKEW) >= NOW_SECS);
    }
    if let Some(first) = first {
        assert_eq!(accepted.sub, first.sub);
        assert_eq!(accepted.aud, first.aud);
        assert_eq!(accepted.azp, None);
        if let Some(nonce) = &accepted.nonce {
            assert_eq!(Some(nonce), first.nonce.as_ref());
        }
    }
}
