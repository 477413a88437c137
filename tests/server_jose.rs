//! The `jwt` feature's keys: generation, PEM, JWK and JWKS, and verification that never lets a
//! token's header choose the key type.
#![cfg(feature = "jwt")]

mod server_support;

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use server_support::*;
use xaa::JtiSource;
use xaa::jose::{Jwk, Jwks, KeyError, RandomJti, SharedKey, SigningKey, VerifyingKey, random_jti};
use xaa::jose::{
    KeySet, SharedKeyAlgorithm, SignatureVerifier, TokenSigner, VerifyError, sign_jwt,
};

fn signing_input_and_signature(token: &str) -> (String, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').expect("JWS");
    (
        input.to_owned(),
        URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
    )
}

#[test]
fn generated_es256_key_has_a_public_p256_jwk() {
    let jwk = idp_key().public_jwk();
    assert_eq!(jwk.kty, "EC");
    assert_eq!(jwk.crv.as_deref(), Some("P-256"));
    assert_eq!(jwk.kid.as_deref(), Some(IDP_KID));
    assert_eq!(jwk.alg.as_deref(), Some("ES256"));
    assert_eq!(jwk.use_.as_deref(), Some("sig"));
    for coordinate in [&jwk.x, &jwk.y] {
        let bytes = URL_SAFE_NO_PAD
            .decode(coordinate.as_deref().expect("coordinate"))
            .expect("base64url");
        assert_eq!(bytes.len(), 32);
    }
    let json = serde_json::to_value(jwk).expect("JSON");
    assert!(json.get("d").is_none(), "never the private part");
    assert_eq!(
        format!("{:?}", idp_key()),
        r#"SigningKey { kid: "idp-key-1", alg: "ES256", .. }"#
    );
}

#[test]
fn generated_rs256_key_has_a_2048_bit_modulus() {
    let jwk = rsa_key().public_jwk();
    assert_eq!(jwk.kty, "RSA");
    let n = URL_SAFE_NO_PAD
        .decode(jwk.n.as_deref().expect("n"))
        .expect("base64url");
    assert_eq!(n.len(), 256);
    assert_eq!(jwk.e.as_deref(), Some("AQAB"));
}

#[test]
fn signatures_verify_with_the_matching_key_only() {
    for key in [idp_key(), rsa_key()] {
        let token = sign_jwt(key, "JWT", &json!({"a": 1})).expect("signs");
        let (input, signature) = signing_input_and_signature(&token);
        let verifier = key.verifying_key().expect("verifying key");
        assert_eq!(
            verifier.verify(key.algorithm(), input.as_bytes(), &signature),
            Ok(())
        );
        let mut tampered = input.clone().into_bytes();
        tampered[0] ^= 1;
        assert_eq!(
            verifier.verify(key.algorithm(), &tampered, &signature),
            Err(VerifyError::InvalidSignature)
        );
    }
    let token = sign_jwt(forger_key(), "JWT", &json!({"a": 1})).expect("signs");
    let (input, signature) = signing_input_and_signature(&token);
    let verifier = idp_key().verifying_key().expect("verifying key");
    assert_eq!(
        verifier.verify("ES256", input.as_bytes(), &signature),
        Err(VerifyError::InvalidSignature)
    );
}

#[test]
fn a_key_refuses_algorithms_it_is_not_for() {
    let ec = idp_key().verifying_key().expect("EC");
    for alg in ["RS256", "PS256", "ES384", "HS256", "none", "EdDSA"] {
        assert_eq!(
            ec.verify(alg, b"x", b"y"),
            Err(VerifyError::AlgorithmMismatch),
            "{alg}"
        );
    }
    let rsa = rsa_key().verifying_key().expect("RSA");
    // The JWK names RS256: PS256 fits the key type but not the JWK's alg.
    for alg in ["ES256", "HS256", "PS256"] {
        assert_eq!(
            rsa.verify(alg, b"x", b"y"),
            Err(VerifyError::AlgorithmMismatch),
            "{alg}"
        );
    }
    let mut without_alg = rsa_key().public_jwk().clone();
    without_alg.alg = None;
    let rsa_any = VerifyingKey::from_jwk(&without_alg).expect("RSA without alg");
    assert_eq!(
        rsa_any.verify("PS256", b"x", b"y"),
        Err(VerifyError::InvalidSignature)
    );
}

#[test]
fn jwks_round_trips_and_ignores_private_and_unknown_keys() {
    let mut document = serde_json::to_value(idp_key().jwks()).expect("JSON");
    let keys = document["keys"].as_array_mut().expect("keys");
    keys[0]["d"] = json!("cHJpdmF0ZQ");
    keys.push(
        json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}),
    );
    keys.push(json!({"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "abc"}));
    let mut encryption = serde_json::to_value(rsa_key().public_jwk()).expect("JSON");
    encryption["use"] = json!("enc");
    keys.push(encryption);
    let jwks = Jwks::from_json(&serde_json::to_vec(&document).expect("bytes")).expect("parses");
    assert_eq!(jwks.keys.len(), 4);
    assert_eq!(jwks.find(IDP_KID), Some(idp_key().public_jwk()));
    let ring = jwks.key_ring();
    assert_eq!(ring.len(), 1, "only the EC signature key is usable");
    assert!(ring.select(Some(IDP_KID)).is_some());
    assert!(
        ring.select(Some("hmac")).is_none(),
        "never an HMAC key from a JWKS"
    );
    let response = idp_key().jwks().to_response();
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(&response),
        serde_json::to_value(idp_key().jwks()).expect("JSON")
    );
}

#[test]
fn unusable_jwks_are_refused() {
    let mut short_rsa = Jwk::default();
    short_rsa.kty = "RSA".into();
    short_rsa.n = Some(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
    short_rsa.e = Some("AQAB".into());
    assert!(matches!(
        VerifyingKey::from_jwk(&short_rsa),
        Err(KeyError::InvalidKey(_))
    ));
    let mut wrong_alg = idp_key().public_jwk().clone();
    wrong_alg.alg = Some("RS256".into());
    assert!(matches!(
        VerifyingKey::from_jwk(&wrong_alg),
        Err(KeyError::InvalidKey(_))
    ));
    let mut bad_point = idp_key().public_jwk().clone();
    bad_point.x = Some(URL_SAFE_NO_PAD.encode([1u8; 31]));
    assert!(matches!(
        VerifyingKey::from_jwk(&bad_point),
        Err(KeyError::InvalidKey(_))
    ));
    let mut oct = Jwk::default();
    oct.kty = "oct".into();
    assert_eq!(
        VerifyingKey::from_jwk(&oct).err(),
        Some(KeyError::UnsupportedKeyType("oct".into()))
    );
    assert!(Jwks::from_json(b"{\"keys\": 1}").is_err());
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
    .into_bytes()
}

#[test]
fn keys_load_from_pkcs8_pem() {
    let ec = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .expect("EC key");
    let ec_pem = pem("PRIVATE KEY", ec.as_ref());
    let key = SigningKey::from_pem(&ec_pem, "ES256", "pem-ec").expect("loads");
    let token = sign_jwt(&key, "JWT", &json!({"a": 1})).expect("signs");
    let (input, signature) = signing_input_and_signature(&token);
    assert_eq!(
        key.verifying_key()
            .expect("EC")
            .verify("ES256", input.as_bytes(), &signature),
        Ok(())
    );
    assert!(
        SigningKey::from_pem(&ec_pem, "RS256", "wrong").is_err(),
        "an EC key is not an RSA key"
    );
    assert!(
        SigningKey::from_pem(&ec_pem, "ES384", "wrong").is_err(),
        "a P-256 key is not for ES384"
    );

    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key");
    let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = rsa.as_der().expect("DER");
    let key =
        SigningKey::from_pem(&pem("PRIVATE KEY", der.as_ref()), "PS256", "pem-rsa").expect("loads");
    let token = sign_jwt(&key, "JWT", &json!({"a": 1})).expect("signs");
    let (input, signature) = signing_input_and_signature(&token);
    assert_eq!(
        key.verifying_key()
            .expect("RSA")
            .verify("PS256", input.as_bytes(), &signature),
        Ok(())
    );
    assert_eq!(
        SigningKey::from_pem(b"junk", "ES512", "x").err(),
        Some(KeyError::UnsupportedAlgorithm("ES512".into()))
    );
}

#[test]
fn shared_keys_are_long_enough_and_single_algorithm() {
    assert!(SharedKey::new(&[1u8; 31], SharedKeyAlgorithm::Hs256, None).is_err());
    assert!(SharedKey::new(&[1u8; 47], SharedKeyAlgorithm::Hs384, None).is_err());
    let key = SharedKey::new(&[1u8; 32], SharedKeyAlgorithm::Hs256, Some("k")).expect("key");
    let token = sign_jwt(&key, "JWT", &json!({"a": 1})).expect("signs");
    let (input, signature) = signing_input_and_signature(&token);
    assert_eq!(key.verify("HS256", input.as_bytes(), &signature), Ok(()));
    assert_eq!(
        key.verify("HS512", input.as_bytes(), &signature),
        Err(VerifyError::AlgorithmMismatch)
    );
    assert_eq!(
        key.verify("HS256", b"other", &signature),
        Err(VerifyError::InvalidSignature)
    );
    assert!(
        !format!("{key:?}").contains("1, 1"),
        "the secret never prints"
    );
}

#[test]
fn sign_jwt_builds_the_header_from_the_signer() {
    let token = sign_jwt(idp_key(), "oauth-id-jag+jwt", &json!({"sub": "alice"})).expect("signs");
    let peeked = xaa::jwt::peek(&token).expect("JWS");
    assert_eq!(peeked.claim_str("sub"), Some("alice"));
    assert_eq!(
        serde_json::Value::Object(peeked.header),
        json!({"alg": "ES256", "typ": "oauth-id-jag+jwt", "kid": IDP_KID})
    );
}

#[test]
fn random_jtis_are_128_bit_and_distinct() {
    let a = random_jti();
    let b = RandomJti.next_jti();
    assert_eq!(a.len(), 22);
    assert_ne!(a, b);
    let _: Arc<dyn JtiSource> = Arc::new(RandomJti);
}
