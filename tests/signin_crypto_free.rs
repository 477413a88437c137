//! The sign-in flows without the `jwt` feature: the caller supplies the key-set reader and the
//! signature verifier (the `jose` traits), SHA-256 and randomness. Closure fakes only: the
//! verifier is handed exactly the JWS signing input and the algorithm the allow-list admitted.
#![cfg(feature = "signin")]

mod signin_support;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use signin_support::*;
use xaa::jose::{JwsError, SignatureVerifier, VerifyError};
use xaa::signin::{
    AuthorizationRequest, CodeExchange, IdTokenError, IdpKeys, JwksKeys, SignIn, SignInOptions,
};
use xaa::{Error, Purpose, Violation};

/// What the fake verifier was asked: the algorithm and the signing input.
type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Accepts the signature `ok` and records what it was asked to verify.
struct Fake {
    seen: Seen,
}

impl SignatureVerifier for Fake {
    fn verify(&self, algorithm: &str, input: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((algorithm.to_owned(), input.to_vec()));
        }
        if signature == b"ok" {
            Ok(())
        } else {
            Err(VerifyError::InvalidSignature)
        }
    }
}

/// Reads `{"keys": [{"kid": ...}, ...]}` into fake keys.
fn keys(seen: &Seen) -> IdpKeys {
    let seen = Arc::clone(seen);
    let reader = move |document: &[u8]| -> Result<JwksKeys, String> {
        let value: Value = serde_json::from_slice(document).map_err(|e| e.to_string())?;
        let kids = value["keys"].as_array().ok_or("no keys")?;
        Ok(kids
            .iter()
            .map(|key| {
                let verifier: Arc<dyn SignatureVerifier> = Arc::new(Fake {
                    seen: Arc::clone(&seen),
                });
                (key["kid"].as_str().map(str::to_owned), verifier)
            })
            .collect())
    };
    IdpKeys::with_reader(Arc::new(reader))
}

fn token(header: Value, signature: &[u8]) -> (String, String) {
    let now = secs(now());
    let claims = json!({"iss": IDP, "sub": "alice", "aud": CLIENT, "exp": now + 60, "iat": now, "nonce": drawn(3)});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    (
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)),
        input,
    )
}

fn exchange(id_token: &str, keys: &IdpKeys, served: Value) -> (Result<SignIn, Error>, FakeIdp) {
    let client = client();
    let sha256 = |_: &[u8]| [1u8; 32];
    let pending = AuthorizationRequest::new(
        &client,
        REDIRECT,
        &SignInOptions::default(),
        &counting_random(),
        &sha256,
    )
    .expect("request")
    .into_parts()
    .1;
    let code = pending
        .accept(&format!("state={}&code=c", drawn(2)))
        .expect("code");
    let mut idp = FakeIdp::default();
    idp.token_answers
        .push_back(json_response(200, json!({"id_token": id_token})));
    idp.jwks_answers.push_back(json_response(200, served));
    let mut flow = CodeExchange::new(&client, keys.clone(), pending, code).expect("flow");
    (idp.run(&mut flow, now()), idp)
}

#[test]
fn a_caller_supplied_verifier_checks_the_exact_signing_input() {
    let seen = Seen::default();
    let keys = keys(&seen);
    let (id_token, input) = token(json!({"alg": "ES256", "kid": "k1"}), b"ok");
    let (outcome, idp) = exchange(&id_token, &keys, json!({"keys": [{"kid": "k1"}]}));
    assert_eq!(outcome.expect("signed in").claims.sub, "alice");
    assert_eq!(idp.purposes(), [Purpose::CodeExchange, Purpose::IdpKeys]);
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen, [("ES256".to_owned(), input.into_bytes())]);
}

#[test]
fn a_forged_signature_or_an_unknown_kid_is_refused() {
    let seen = Seen::default();
    let (forged, _) = token(json!({"alg": "ES256", "kid": "k1"}), b"no");
    let (outcome, _) = exchange(&forged, &keys(&seen), json!({"keys": [{"kid": "k1"}]}));
    assert!(
        matches!(
            outcome,
            Err(Error::InvalidResponse {
                violation: Violation::IdToken(IdTokenError::Signature(JwsError::BadSignature)),
                ..
            })
        ),
        "{outcome:?}"
    );
    let (stranger, _) = token(json!({"alg": "ES256", "kid": "k2"}), b"ok");
    let (outcome, idp) = exchange(&stranger, &keys(&seen), json!({"keys": [{"kid": "k1"}]}));
    assert!(
        matches!(
            outcome,
            Err(Error::InvalidResponse {
                violation: Violation::IdToken(IdTokenError::Signature(JwsError::UnknownKey { .. })),
                ..
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(
        idp.purposes(),
        [Purpose::CodeExchange, Purpose::IdpKeys],
        "one fetch, no more"
    );
}

#[test]
fn an_unreadable_key_set_is_a_typed_error() {
    let seen = Seen::default();
    let (id_token, _) = token(json!({"alg": "ES256", "kid": "k1"}), b"ok");
    let (outcome, _) = exchange(&id_token, &keys(&seen), json!({"nokeys": true}));
    assert!(
        matches!(
            outcome,
            Err(Error::InvalidResponse {
                purpose: Purpose::IdpKeys,
                violation: Violation::InvalidField { field: "keys", .. }
            })
        ),
        "{outcome:?}"
    );
}
