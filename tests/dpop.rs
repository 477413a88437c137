//! DPoP proofs (RFC 9449) end to end in memory: a proof built and signed by the client side
//! validates on the server side, the RFC 7638 thumbprint vector, and one refusal per rule of
//! RFC 9449 section 4.3, each asserted by its exact `DpopError` variant.
//!
//! The crypto-free parts run in every build; the rest needs real keys (feature `jwt`).

use serde_json::json;
use xaa::SignerError;
use xaa::dpop::{DpopProofClaims, DpopProofError, DpopSigner, PublicJwk};

/// The RSA key of RFC 7638 section 3.1.
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

fn rfc7638_key() -> PublicJwk {
    PublicJwk::from_json(json!({
        "kty": "RSA",
        "n": RFC7638_N,
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }))
    .expect("the RFC 7638 key is a public key")
}

#[test]
fn thumbprint_input_is_the_rfc7638_canonical_json() {
    assert_eq!(
        rfc7638_key().thumbprint_input(),
        format!(r#"{{"e":"AQAB","kty":"RSA","n":"{RFC7638_N}"}}"#)
    );
}

/// A signer without cryptography, to check what the core builds: its "signature" is a fixed
/// byte string and its "hash" the first bytes of the input.
struct ToySigner {
    alg: &'static str,
    jwk: PublicJwk,
}

impl ToySigner {
    fn new(alg: &'static str) -> Self {
        let jwk = PublicJwk::from_json(json!({"kty": "OKP", "crv": "Ed25519", "x": "eA"}))
            .expect("public key");
        Self { alg, jwk }
    }
}

impl DpopSigner for ToySigner {
    fn algorithm(&self) -> &str {
        self.alg
    }

    fn public_jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        let mut hash = [0u8; 32];
        for (slot, byte) in hash.iter_mut().zip(data) {
            *slot = *byte;
        }
        hash
    }

    fn sign(&self, _signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(b"signature".to_vec())
    }
}

fn epoch(seconds: u64) -> std::time::SystemTime {
    std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds)
}

#[test]
fn the_core_builds_header_and_claims_without_cryptography() {
    let signer = ToySigner::new("EdDSA");
    let token = xaa::AccessToken::new("at");
    let proof = DpopProofClaims::new(
        &http::Method::GET,
        "https://MCP.example.com:443/mcp?session=1#part",
        &|| "jti-1".to_owned(),
        epoch(1_800_000_000),
    )
    .expect("claims")
    .with_nonce("n-1")
    .with_access_token(&token, &signer)
    .sign(&signer)
    .expect("proof");
    let peeked = xaa::jwt::peek(proof.as_str()).expect("a JWS");
    assert_eq!(
        serde_json::Value::Object(peeked.header),
        json!({
            "typ": "dpop+jwt",
            "alg": "EdDSA",
            "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "eA"},
        })
    );
    // ath: base64url of the toy hash of "at" (the bytes, then zeros).
    let mut hash = [0u8; 32];
    hash[..2].copy_from_slice(b"at");
    use base64::Engine as _;
    let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash);
    assert_eq!(
        serde_json::Value::Object(peeked.claims),
        json!({
            "jti": "jti-1",
            "htm": "GET",
            "htu": "https://mcp.example.com/mcp",
            "iat": 1_800_000_000u64,
            "ath": ath,
            "nonce": "n-1",
        })
    );
    assert!(
        proof.as_str().ends_with(".c2lnbmF0dXJl"),
        "the signer's bytes"
    );
    assert_eq!(
        format!("{proof:?}"),
        format!("DpopProof({} bytes)", proof.as_str().len())
    );
}

#[test]
fn the_core_refuses_unsafe_algorithms_and_unusable_targets() {
    let claims = DpopProofClaims::new(
        &http::Method::POST,
        "https://as.example.com/token",
        &|| "j".to_owned(),
        epoch(10),
    )
    .expect("claims");
    for alg in ["none", "NONE", "HS256", "hs512", ""] {
        assert_eq!(
            claims.sign(&ToySigner::new(alg)),
            Err(DpopProofError::UnsafeAlgorithm),
            "{alg}"
        );
    }
    for target in ["/token", "https://u:p@as.example.com/token", "mailto:a@b"] {
        assert_eq!(
            DpopProofClaims::new(&http::Method::POST, target, &|| "j".to_owned(), epoch(10)),
            Err(DpopProofError::InvalidTarget),
            "{target}"
        );
    }
}

#[cfg(feature = "jwt")]
mod with_keys {
    use std::sync::{Arc, OnceLock};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use http::{HeaderValue, Method};
    use quickcheck::{Gen, QuickCheck, TestResult};
    use serde_json::{Value, json};
    use url::Url;
    use xaa::dpop::{
        DpopProof, DpopProofClaims, DpopSigner, DpopVerifier, EsDpopKey, JwkDpopVerifier,
    };
    use xaa::jose::{AlgorithmAllowList, KeyError, SharedKeyAlgorithm};
    use xaa::server::{
        DpopError, DpopValidator, InMemoryReplayStore, ProofExpectations, ValidatedProof,
    };
    use xaa::{AccessToken, jwt::encode_segment};

    use super::{RFC7638_N, rfc7638_key};

    const NOW: u64 = 1_800_000_000;
    const TOKEN_ENDPOINT: &str = "https://as.example.com/token";
    const RESOURCE: &str = "https://mcp.example.com/mcp";

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn at(offset: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW.saturating_add_signed(offset))
    }

    /// The client's key, generated once per test binary.
    fn key() -> &'static EsDpopKey {
        static KEY: OnceLock<EsDpopKey> = OnceLock::new();
        KEY.get_or_init(|| EsDpopKey::generate().expect("P-256 key"))
    }

    /// Another key: a thief's.
    fn other_key() -> &'static EsDpopKey {
        static KEY: OnceLock<EsDpopKey> = OnceLock::new();
        KEY.get_or_init(|| EsDpopKey::generate().expect("P-256 key"))
    }

    fn validator() -> DpopValidator {
        DpopValidator::new(
            Arc::new(JwkDpopVerifier),
            Arc::new(InMemoryReplayStore::default()),
        )
    }

    fn unique_jti() -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// A proof for `POST` to the token endpoint, signed by `key()`.
    fn token_request_proof() -> DpopProof {
        DpopProofClaims::new(&Method::POST, TOKEN_ENDPOINT, &unique_jti, now())
            .expect("claims")
            .sign(key())
            .expect("signed")
    }

    fn header(proof: &str) -> HeaderValue {
        HeaderValue::from_str(proof).expect("visible ASCII")
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect("URL")
    }

    /// Validates `proof` as a `POST` to the token endpoint at `now()`.
    fn at_token_endpoint(proof: &str) -> Result<ValidatedProof, DpopError> {
        let uri = url(TOKEN_ENDPOINT);
        validator().validate_proof(
            [&header(proof)],
            &ProofExpectations::new(&Method::POST, &uri, now()),
        )
    }

    /// The header and claims of a valid token-endpoint proof by `key()`.
    fn parts() -> (Value, Value) {
        let header = json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": serde_json::to_value(key().public_jwk()).expect("JSON"),
        });
        let claims = json!({
            "jti": unique_jti(),
            "htm": "POST",
            "htu": TOKEN_ENDPOINT,
            "iat": NOW,
        });
        (header, claims)
    }

    /// Encodes `header` and `claims` as given, signed by `signer`.
    fn signed_raw(signer: &dyn DpopSigner, header: &[u8], claims: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = signer.sign(input.as_bytes()).expect("signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn signed(signer: &dyn DpopSigner, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", encode_segment(header), encode_segment(claims));
        let signature = signer.sign(input.as_bytes()).expect("signature");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A token-endpoint proof by `key()` after `edit` changed its header and claims.
    fn edited(edit: impl FnOnce(&mut Value, &mut Value)) -> String {
        let (mut header, mut claims) = parts();
        edit(&mut header, &mut claims);
        signed(key(), &header, &claims)
    }

    // -----------------------------------------------------------------------------------------
    // Round trips and keys.

    #[test]
    fn rfc7638_thumbprint_of_the_example_key() {
        let jkt = rfc7638_key().thumbprint(|data| JwkDpopVerifier.sha256(data));
        assert_eq!(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert!(RFC7638_N.len() > 300);
    }

    #[test]
    fn a_token_request_proof_validates() {
        let proof = token_request_proof();
        let validated = at_token_endpoint(proof.as_str()).expect("valid proof");
        assert_eq!(validated.jkt, key().jkt());
        assert_eq!(validated.alg, "ES256");
        assert_eq!(validated.iat, NOW);
        assert_eq!(validated.htu, TOKEN_ENDPOINT);
        assert_eq!(validated.nonce, None);
        assert_eq!(&validated.jwk, key().public_jwk());
    }

    #[test]
    fn a_resource_request_proof_with_token_nonce_and_binding_validates() {
        let token = AccessToken::new("access-token-1");
        let request = http::Request::builder()
            .method(Method::GET)
            .uri("https://mcp.example.com/mcp?session=abc")
            .body(())
            .expect("request");
        let proof = DpopProofClaims::for_request(&request, &unique_jti, at(-30))
            .expect("claims")
            .with_nonce("rs-nonce-1")
            .with_access_token(&token, key())
            .sign(key())
            .expect("signed");
        let jkt = key().jkt();
        let uri = url("https://MCP.example.com:443/mcp?other=query");
        let expected = ProofExpectations::new(&Method::GET, &uri, now())
            .with_nonce("rs-nonce-1")
            .with_access_token(&token)
            .with_jkt(&jkt);
        let validated = validator()
            .validate_proof([&header(proof.as_str())], &expected)
            .expect("valid proof");
        assert_eq!(validated.nonce.as_deref(), Some("rs-nonce-1"));
        assert_eq!(validated.iat, NOW - 30);
        assert_eq!(validated.htu, RESOURCE, "sent without the query");
    }

    #[test]
    fn the_es256_key_loads_from_pem_and_keeps_its_secrets() {
        let pem = key().expose_private_pem().expect("PEM");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let loaded = EsDpopKey::from_pkcs8_pem(pem.as_bytes()).expect("loads");
        assert_eq!(loaded.jkt(), key().jkt());
        assert_eq!(loaded.public_jwk(), key().public_jwk());
        let jwk = serde_json::to_value(key().public_jwk()).expect("JSON");
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk.as_object().map(|members| members.len()), Some(4));
        let debug = format!("{:?}", key());
        assert_eq!(
            debug,
            format!(
                r#"EsDpopKey {{ alg: "ES256", jkt: {:?}, .. }}"#,
                key().jkt()
            )
        );
        assert!(!debug.contains(pem.lines().nth(1).unwrap_or("-")));

        assert!(matches!(
            EsDpopKey::from_pkcs8_pem(b"not a key"),
            Err(KeyError::InvalidKey(_))
        ));
        let p384 = aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        )
        .and_then(|pair| pair.to_pkcs8v1())
        .expect("P-384 key");
        assert!(
            matches!(
                EsDpopKey::from_pkcs8_der(p384.as_ref()),
                Err(KeyError::InvalidKey(_))
            ),
            "ES256 only"
        );
    }

    // -----------------------------------------------------------------------------------------
    // One refusal per rule of RFC 9449 section 4.3.

    #[test]
    fn item_1_exactly_one_dpop_header() {
        let uri = url(TOKEN_ENDPOINT);
        let expected = ProofExpectations::new(&Method::POST, &uri, now());
        let one = header(token_request_proof().as_str());
        let two = header(token_request_proof().as_str());
        assert_eq!(
            validator().validate_proof([&one, &two], &expected),
            Err(DpopError::MultipleHeaders)
        );
        assert_eq!(
            validator().validate_proof([], &expected),
            Err(DpopError::Missing)
        );
        let mut request = http::Request::new(());
        request.headers_mut().append("dpop", one.clone());
        request.headers_mut().append("DPoP", two);
        assert_eq!(
            validator().validate_proof(request.headers().get_all("dpop"), &expected),
            Err(DpopError::MultipleHeaders)
        );
    }

    #[test]
    fn item_2_a_well_formed_jwt() {
        let valid = token_request_proof().into_string();
        let (header_and_claims, _) = valid.rsplit_once('.').expect("JWS");
        let jwe = format!("{header_and_claims}.a.b.c");
        let too_long = format!("{valid}{}", "A".repeat(8 * 1024));
        for malformed in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!.??.##",
            "e30.e30.%%",
            jwe.as_str(),
            too_long.as_str(),
        ] {
            assert_eq!(
                at_token_endpoint(malformed).map(drop),
                Err(DpopError::Malformed),
                "{malformed:.40}"
            );
        }
        let not_ascii = HeaderValue::from_bytes(b"\xe9.e30.e30").expect("obs-text");
        let uri = url(TOKEN_ENDPOINT);
        assert_eq!(
            validator().validate_proof(
                [&not_ascii],
                &ProofExpectations::new(&Method::POST, &uri, now())
            ),
            Err(DpopError::Malformed)
        );
        // Claims that are not an object.
        let (header, _) = parts();
        let proof = signed(key(), &header, &json!(["jti"]));
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::Malformed));
    }

    #[test]
    fn item_2_duplicate_json_members_are_refused() {
        let jwk = serde_json::to_string(key().public_jwk()).expect("JSON");
        let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#);
        let claims = format!(
            r#"{{"jti":"{}","htm":"POST","htu":"{TOKEN_ENDPOINT}","iat":{NOW}}}"#,
            unique_jti()
        );
        // The valid spelling passes, so each refusal below is for its repetition alone.
        let proof = signed_raw(key(), header.as_bytes(), claims.as_bytes());
        assert!(at_token_endpoint(&proof).is_ok());

        let twice_in_header = header.replace(
            r#""typ":"dpop+jwt","#,
            r#""typ":"dpop+jwt","typ":"dpop+jwt","#,
        );
        let proof = signed_raw(key(), twice_in_header.as_bytes(), claims.as_bytes());
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::Malformed));

        let twice_in_claims = claims.replace(r#""htm":"POST","#, r#""htm":"GET","htm":"POST","#);
        let proof = signed_raw(key(), header.as_bytes(), twice_in_claims.as_bytes());
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::Malformed));

        let twice_in_jwk = header.replace(r#""kty":"EC""#, r#""kty":"EC","kty":"EC""#);
        assert_ne!(twice_in_jwk, header);
        let proof = signed_raw(key(), twice_in_jwk.as_bytes(), claims.as_bytes());
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::InvalidJwk));
    }

    #[test]
    fn item_3_required_claims() {
        for claim in ["jti", "htm", "htu", "iat"] {
            let proof = edited(|_, claims| {
                claims.as_object_mut().map(|claims| claims.remove(claim));
            });
            assert_eq!(
                at_token_endpoint(&proof),
                Err(DpopError::MissingClaim { claim }),
                "{claim}"
            );
        }
        let proof = edited(|_, claims| claims["iat"] = json!("1800000000"));
        assert_eq!(
            at_token_endpoint(&proof),
            Err(DpopError::MissingClaim { claim: "iat" })
        );
        let proof = edited(|_, claims| claims["jti"] = json!(""));
        assert_eq!(
            at_token_endpoint(&proof),
            Err(DpopError::MissingClaim { claim: "jti" })
        );
        let proof = edited(|header, _| {
            header.as_object_mut().map(|header| header.remove("jwk"));
        });
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::InvalidJwk));
    }

    #[test]
    fn item_4_typ_is_dpop_jwt() {
        for typ in [
            json!("JWT"),
            json!("application/dpop+jwt"),
            json!("DPOP+JWT"),
        ] {
            let proof = edited(|header, _| header["typ"] = typ.clone());
            assert_eq!(
                at_token_endpoint(&proof),
                Err(DpopError::WrongType),
                "{typ}"
            );
        }
        let proof = edited(|header, _| {
            header.as_object_mut().map(|header| header.remove("typ"));
        });
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::WrongType));
        let proof = edited(|header, _| header["typ"] = json!(["dpop+jwt"]));
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::WrongType));
    }

    #[test]
    fn item_5_alg_none_is_refused() {
        let (mut header, claims) = parts();
        header["alg"] = json!("none");
        let unsecured = format!("{}.{}.", encode_segment(&header), encode_segment(&claims));
        assert_eq!(
            at_token_endpoint(&unsecured),
            Err(DpopError::AlgorithmNotAllowed {
                alg: Some("none".into())
            })
        );
    }

    #[test]
    fn item_5_alg_hmac_is_refused_even_when_allowed() {
        let proof = edited(|header, _| header["alg"] = json!("HS256"));
        let refused = Err(DpopError::AlgorithmNotAllowed {
            alg: Some("HS256".into()),
        });
        assert_eq!(at_token_endpoint(&proof), refused);
        let uri = url(TOKEN_ENDPOINT);
        let lenient = validator().with_algorithms(
            AlgorithmAllowList::asymmetric().with_shared_key(SharedKeyAlgorithm::Hs256),
        );
        assert_eq!(
            lenient.validate_proof(
                [&header(&proof)],
                &ProofExpectations::new(&Method::POST, &uri, now())
            ),
            refused
        );
    }

    #[test]
    fn item_5_alg_off_the_allow_list_or_absent_is_refused() {
        let uri = url(TOKEN_ENDPOINT);
        let rsa_only = validator().with_algorithms(AlgorithmAllowList::only(&["PS256"]));
        assert_eq!(
            rsa_only.validate_proof(
                [&header(token_request_proof().as_str())],
                &ProofExpectations::new(&Method::POST, &uri, now())
            ),
            Err(DpopError::AlgorithmNotAllowed {
                alg: Some("ES256".into())
            })
        );
        let proof = edited(|header, _| {
            header.as_object_mut().map(|header| header.remove("alg"));
        });
        assert_eq!(
            at_token_endpoint(&proof),
            Err(DpopError::AlgorithmNotAllowed { alg: None })
        );
        let proof = edited(|header, _| header["crit"] = json!(["exp"]));
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::CriticalHeader));
    }

    #[test]
    fn item_5_and_6_a_jwk_not_for_the_alg_is_refused() {
        let proof = edited(|header, _| header["alg"] = json!("RS256"));
        assert_eq!(
            at_token_endpoint(&proof),
            Err(DpopError::KeyAlgorithmMismatch)
        );
    }

    #[test]
    fn item_6_a_proof_signed_by_another_key_than_its_jwk() {
        let (header, claims) = parts();
        let forged = signed(other_key(), &header, &claims);
        assert_eq!(at_token_endpoint(&forged), Err(DpopError::BadSignature));
    }

    #[test]
    fn item_7_a_jwk_with_a_private_member() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            let proof = edited(|header, _| header["jwk"][private] = json!("c2VjcmV0"));
            assert_eq!(
                at_token_endpoint(&proof),
                Err(DpopError::PrivateKeyInJwk),
                "{private}"
            );
        }
        let proof = edited(|header, _| header["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"}));
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::PrivateKeyInJwk));
        let proof = edited(|header, _| header["jwk"] = json!("EC"));
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::InvalidJwk));
    }

    #[test]
    fn item_8_htm_is_the_request_method() {
        let uri = url(TOKEN_ENDPOINT);
        for method in [Method::GET, Method::PUT] {
            assert_eq!(
                validator().validate_proof(
                    [&header(token_request_proof().as_str())],
                    &ProofExpectations::new(&method, &uri, now())
                ),
                Err(DpopError::MethodMismatch)
            );
        }
        let proof = edited(|_, claims| claims["htm"] = json!("post"));
        assert_eq!(at_token_endpoint(&proof), Err(DpopError::MethodMismatch));
    }

    #[test]
    fn item_9_htu_is_the_request_uri_without_query_and_fragment() {
        let validate_at = |uri: &str, htu: &str| {
            let proof = edited(|_, claims| claims["htu"] = json!(htu));
            let uri = url(uri);
            validator().validate_proof(
                [&header(&proof)],
                &ProofExpectations::new(&Method::POST, &uri, now()),
            )
        };
        // The query and fragment are ignored on both sides; spellings normalise.
        for (uri, htu) in [
            ("https://as.example.com/token?a=1", TOKEN_ENDPOINT),
            (TOKEN_ENDPOINT, "https://as.example.com/token?b=2#f"),
            (TOKEN_ENDPOINT, "HTTPS://AS.EXAMPLE.COM:443/%74oken"),
        ] {
            assert!(validate_at(uri, htu).is_ok(), "{uri} {htu}");
        }
        for (uri, htu) in [
            ("https://as.example.com/other", TOKEN_ENDPOINT),
            ("https://evil.example.com/token", TOKEN_ENDPOINT),
            (TOKEN_ENDPOINT, "http://as.example.com/token"),
            (TOKEN_ENDPOINT, "https://as.example.com:8443/token"),
            (TOKEN_ENDPOINT, "https://as.example.com/token/"),
            (TOKEN_ENDPOINT, "/token"),
        ] {
            assert_eq!(
                validate_at(uri, htu).map(drop),
                Err(DpopError::UriMismatch),
                "{uri} {htu}"
            );
        }
    }

    #[test]
    fn item_10_the_required_nonce() {
        let uri = url(TOKEN_ENDPOINT);
        let expected = ProofExpectations::new(&Method::POST, &uri, now()).with_nonce("n-2");
        let missing =
            validator().validate_proof([&header(token_request_proof().as_str())], &expected);
        assert_eq!(missing, Err(DpopError::NonceRequired));
        let stale = DpopProofClaims::new(&Method::POST, TOKEN_ENDPOINT, &unique_jti, now())
            .expect("claims")
            .with_nonce("n-1")
            .sign(key())
            .expect("signed");
        let wrong = validator().validate_proof([&header(stale.as_str())], &expected);
        assert_eq!(wrong, Err(DpopError::NonceMismatch));
        for refusal in [missing, wrong] {
            assert_eq!(refusal.map_err(|e| e.error_code()), Err("use_dpop_nonce"));
        }
    }

    #[test]
    fn item_11_iat_within_the_window() {
        let uri = url(TOKEN_ENDPOINT);
        let at_time = |time: SystemTime| {
            validator().validate_proof(
                [&header(token_request_proof().as_str())],
                &ProofExpectations::new(&Method::POST, &uri, time),
            )
        };
        assert!(at_time(at(300)).is_ok(), "5 minutes old");
        assert!(at_time(at(-300)).is_ok(), "5 minutes ahead");
        assert_eq!(at_time(at(301)), Err(DpopError::IssuedTooLongAgo));
        assert_eq!(at_time(at(-301)), Err(DpopError::IssuedInTheFuture));
        let narrow = validator().with_iat_window(Duration::from_secs(10));
        assert_eq!(
            narrow.validate_proof(
                [&header(token_request_proof().as_str())],
                &ProofExpectations::new(&Method::POST, &uri, at(11))
            ),
            Err(DpopError::IssuedTooLongAgo)
        );
    }

    #[test]
    fn item_12_ath_is_the_hash_of_the_access_token() {
        let uri = url(RESOURCE);
        let presented = AccessToken::new("presented-token");
        let expected =
            ProofExpectations::new(&Method::POST, &uri, now()).with_access_token(&presented);
        let proof_for = |token: Option<&AccessToken>| {
            let claims =
                DpopProofClaims::new(&Method::POST, RESOURCE, &unique_jti, now()).expect("claims");
            let claims = match token {
                Some(token) => claims.with_access_token(token, key()),
                None => claims,
            };
            header(claims.sign(key()).expect("signed").as_str())
        };
        assert!(
            validator()
                .validate_proof([&proof_for(Some(&presented))], &expected)
                .is_ok()
        );
        let other = AccessToken::new("another-token");
        assert_eq!(
            validator().validate_proof([&proof_for(Some(&other))], &expected),
            Err(DpopError::AccessTokenHashMismatch)
        );
        assert_eq!(
            validator().validate_proof([&proof_for(None)], &expected),
            Err(DpopError::MissingClaim { claim: "ath" })
        );
    }

    #[test]
    fn item_12_the_key_is_the_one_the_token_is_bound_to() {
        let uri = url(TOKEN_ENDPOINT);
        let bound = other_key().jkt();
        let expected = ProofExpectations::new(&Method::POST, &uri, now()).with_jkt(&bound);
        assert_eq!(
            validator().validate_proof([&header(token_request_proof().as_str())], &expected),
            Err(DpopError::KeyMismatch)
        );
        let own = key().jkt();
        let expected = ProofExpectations::new(&Method::POST, &uri, now()).with_jkt(&own);
        assert!(
            validator()
                .validate_proof([&header(token_request_proof().as_str())], &expected)
                .is_ok()
        );
    }

    #[test]
    fn section_11_1_a_jti_is_used_once() {
        let validator = validator();
        let uri = url(TOKEN_ENDPOINT);
        let expected = ProofExpectations::new(&Method::POST, &uri, now());
        let proof = header(token_request_proof().as_str());
        assert!(validator.validate_proof([&proof], &expected).is_ok());
        assert_eq!(
            validator.validate_proof([&proof], &expected),
            Err(DpopError::Replayed)
        );
        // A new proof reusing the jti is a replay too.
        let claims =
            DpopProofClaims::new(&Method::POST, TOKEN_ENDPOINT, &|| "fixed".to_owned(), now())
                .expect("claims");
        let first = header(claims.sign(key()).expect("signed").as_str());
        let second = header(claims.sign(key()).expect("signed").as_str());
        assert_ne!(first, second, "ECDSA signatures are randomised");
        assert!(validator.validate_proof([&first], &expected).is_ok());
        assert_eq!(
            validator.validate_proof([&second], &expected),
            Err(DpopError::Replayed)
        );
        // A proof refused for another reason does not use its jti up.
        let fresh = header(token_request_proof().as_str());
        let later = ProofExpectations::new(&Method::POST, &uri, at(400));
        assert_eq!(
            validator.validate_proof([&fresh], &later),
            Err(DpopError::IssuedTooLongAgo)
        );
        assert!(validator.validate_proof([&fresh], &expected).is_ok());
    }

    #[test]
    fn a_full_replay_store_is_its_own_refusal() {
        let validator = DpopValidator::new(
            Arc::new(JwkDpopVerifier),
            Arc::new(InMemoryReplayStore::with_capacity(1)),
        );
        let uri = url(TOKEN_ENDPOINT);
        let expected = ProofExpectations::new(&Method::POST, &uri, now());
        assert!(
            validator
                .validate_proof([&header(token_request_proof().as_str())], &expected)
                .is_ok()
        );
        let full = validator.validate_proof([&header(token_request_proof().as_str())], &expected);
        assert_eq!(full, Err(DpopError::ReplayStoreFull));
        assert_eq!(
            full.map_err(|e| e.error_code()),
            Err("temporarily_unavailable")
        );
    }

    #[test]
    fn messages_state_the_rule_and_never_the_proof() {
        let proof = token_request_proof().into_string();
        let errors = [
            DpopError::Missing,
            DpopError::MultipleHeaders,
            DpopError::Malformed,
            DpopError::WrongType,
            DpopError::AlgorithmNotAllowed {
                alg: Some("HS256\u{1b}[31m".into()),
            },
            DpopError::CriticalHeader,
            DpopError::InvalidJwk,
            DpopError::PrivateKeyInJwk,
            DpopError::KeyAlgorithmMismatch,
            DpopError::BadSignature,
            DpopError::MissingClaim { claim: "jti" },
            DpopError::MethodMismatch,
            DpopError::UriMismatch,
            DpopError::NonceRequired,
            DpopError::NonceMismatch,
            DpopError::IssuedTooLongAgo,
            DpopError::IssuedInTheFuture,
            DpopError::AccessTokenHashMismatch,
            DpopError::KeyMismatch,
            DpopError::Replayed,
            DpopError::ReplayStoreFull,
        ];
        for error in errors {
            let message = error.to_string();
            assert!(message.contains("RFC "), "{message}");
            assert!(!message.contains(&proof[..20]), "{message}");
            assert!(!message.chars().any(char::is_control), "{message:?}");
            let expected_code = match error {
                DpopError::NonceRequired | DpopError::NonceMismatch => "use_dpop_nonce",
                DpopError::ReplayStoreFull => "temporarily_unavailable",
                _ => "invalid_dpop_proof",
            };
            assert_eq!(error.error_code(), expected_code, "{error:?}");
        }
        // An attacker's alg is sanitized before it reaches a message.
        let hostile = edited(|header, _| header["alg"] = json!("HS256\u{1b}[2J"));
        let refused = at_token_endpoint(&hostile).expect_err("refused");
        assert!(!refused.to_string().chars().any(char::is_control));
    }

    // -----------------------------------------------------------------------------------------
    // Hostile input never panics.

    fn qc() -> QuickCheck {
        let seed = std::env::var("QUICKCHECK_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or(0x0D90_0F5E_ED00_0001_u64);
        QuickCheck::new().rng(Gen::from_size_and_seed(100, seed))
    }

    fn validate_bytes(bytes: &[u8]) -> Option<Result<ValidatedProof, DpopError>> {
        let value = HeaderValue::from_bytes(bytes).ok()?;
        let uri = url(TOKEN_ENDPOINT);
        Some(validator().validate_proof(
            [&value],
            &ProofExpectations::new(&Method::POST, &uri, now()),
        ))
    }

    #[test]
    fn arbitrary_bytes_are_refused_without_panicking() {
        fn property(bytes: Vec<u8>, raw: bool) -> bool {
            // Mostly bytes a header value may hold (visible ASCII and obs-text), so that few
            // cases stop at `HeaderValue`; raw bytes now and then.
            let bytes: Vec<u8> = if raw {
                bytes
            } else {
                bytes
                    .iter()
                    .map(|&b| if b >= 0x80 { b } else { b'!' + b % 94 })
                    .collect()
            };
            validate_bytes(&bytes).is_none_or(|result| result.is_err())
        }
        qc().quickcheck(property as fn(Vec<u8>, bool) -> bool);
    }

    #[test]
    fn a_valid_proof_with_one_byte_changed_is_refused_without_panicking() {
        fn property(position: usize, byte: u8) -> TestResult {
            let mut proof = token_request_proof().into_string().into_bytes();
            let index = position % proof.len();
            if proof[index] == byte {
                return TestResult::discard();
            }
            proof[index] = byte;
            match validate_bytes(&proof) {
                None => TestResult::discard(),
                Some(result) => TestResult::from_bool(result.is_err()),
            }
        }
        qc().quickcheck(property as fn(usize, u8) -> TestResult);
    }

    #[test]
    fn dot_separated_json_segments_are_refused_without_panicking() {
        fn property(header: String, claims: String, signature: Vec<u8>) -> bool {
            let proof = format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(claims),
                URL_SAFE_NO_PAD.encode(signature)
            );
            validate_bytes(proof.as_bytes()).is_some_and(|result| result.is_err())
        }
        qc().quickcheck(property as fn(String, String, Vec<u8>) -> bool);
    }
}
