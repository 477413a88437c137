//! The client's sender-constrained flow (RFC 9449; ID-JAG draft section 9.8) against closure
//! fakes that check each exact request: proofs on both token requests, the ID-JAG's `cnf.jkt`
//! and the access token's `token_type` judged under the policy, the one retry a nonce demand
//! gets, and the authorizer's headers for a request to the MCP server.
//!
//! The key is a fake signer (a fixed public key, a toy hash, a constant signature): these tests
//! are about what is sent and refused, and run without cryptography. The signatures themselves
//! are checked in `tests/dpop.rs` and the server tests.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use support::*;
use xaa::dpop::{DpopBinding, DpopPolicy, DpopSigner, PublicJwk};
use xaa::grant::SubjectToken;
use xaa::jwt::peek;
use xaa::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, DpopRefusal, EnterpriseAuth,
    EnterpriseConfig, Error, IdToken, IdentityProvider, Purpose, SignerError, Start,
};

/// A P-256 public key that signs nothing: the proofs it makes carry a constant signature.
struct FakeKey(PublicJwk);

impl FakeKey {
    fn new(x: char) -> Self {
        let coordinate = |c: char| std::iter::repeat_n(c, 43).collect::<String>();
        Self(
            PublicJwk::from_json(json!({
                "kty": "EC", "crv": "P-256", "x": coordinate(x), "y": coordinate('B'),
            }))
            .expect("a public JWK"),
        )
    }
}

impl DpopSigner for FakeKey {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn public_jwk(&self) -> &PublicJwk {
        &self.0
    }

    /// Not SHA-256: a fold of the bytes, deterministic and different for different inputs of
    /// these tests, which is all they need.
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        let mut digest = [0u8; 32];
        for (index, byte) in data.iter().enumerate() {
            digest[index % 32] = digest[index % 32].wrapping_mul(31).wrapping_add(*byte);
        }
        digest
    }

    fn sign(&self, _signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(vec![7; 64])
    }
}

fn binding(policy: DpopPolicy) -> DpopBinding {
    let counter = Arc::new(AtomicU32::new(0));
    let jti = move || format!("proof-{}", counter.fetch_add(1, Ordering::Relaxed));
    DpopBinding::new(Arc::new(FakeKey::new('A')), Arc::new(jti), policy)
}

fn config(binding: &DpopBinding) -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
    .dpop(binding.clone())
}

/// An ID-JAG bound to `jkt`, or a bearer one.
fn exchange_response_bound(jkt: Option<&str>) -> Value {
    let mut claims = id_jag_claims();
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({"jkt": jkt});
    }
    let mut response = exchange_response();
    response["access_token"] = json!(id_jag_with(claims));
    response
}

fn dpop_bearer_response() -> Value {
    let mut response = bearer_response();
    response["token_type"] = json!("DPoP");
    response
}

/// The world of `Servers::happy`, with both token endpoints binding to `jkt`.
fn bound_servers(jkt: &str) -> Servers {
    let jkt = jkt.to_owned();
    Servers::happy()
        .on("POST", IDP_TOKEN, move |_| {
            json_response(200, exchange_response_bound(Some(&jkt)))
        })
        .on("POST", AS_TOKEN, |_| {
            json_response(200, dpop_bearer_response())
        })
}

fn run_flow(config: EnterpriseConfig, servers: &mut Servers) -> Result<xaa::Authorization, Error> {
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    run(flow, servers, Order::Fifo).0
}

/// The claims of the `DPoP` header of `request`, after checking its header.
fn proof_claims(request: &Recorded, key: &DpopBinding) -> serde_json::Map<String, Value> {
    let proof = request
        .headers
        .get("dpop")
        .unwrap_or_else(|| panic!("{} carries no DPoP proof", request.key()))
        .to_str()
        .expect("ascii");
    let peeked = peek(proof).expect("a compact JWS");
    assert_eq!(peeked.header_str("typ"), Some("dpop+jwt"));
    assert_eq!(peeked.header_str("alg"), Some(key.algorithm()));
    let jwk = peeked.header.get("jwk").expect("jwk").clone();
    let jwk = PublicJwk::from_json(jwk).expect("a public jwk");
    assert_eq!(jwk.thumbprint(|d| FakeKey::new('A').sha256(d)), key.jkt());
    peeked.claims
}

fn proofs_to(servers: &Servers, url: &str) -> Vec<Recorded> {
    servers
        .log
        .iter()
        .filter(|r| r.method == "POST" && r.url == url)
        .cloned()
        .collect()
}

fn dpop_error(result: Result<xaa::Authorization, Error>) -> (Option<Purpose>, DpopRefusal) {
    match result {
        Err(Error::Dpop { purpose, refusal }) => (purpose, refusal),
        other => panic!("expected a DPoP refusal, got {other:?}"),
    }
}

#[test]
fn a_bound_flow_sends_a_proof_to_each_token_endpoint_and_keeps_the_binding() {
    let key = binding(DpopPolicy::Required);
    let mut servers = bound_servers(key.jkt());
    let auth = run_flow(config(&key), &mut servers).expect("the bound flow succeeds");
    assert_eq!(auth.access_token.dpop_jkt(), Some(key.jkt()));
    assert_eq!(auth.token_type, "DPoP");
    assert_eq!(
        auth.id_jag.as_ref().and_then(|j| j.dpop_jkt.as_deref()),
        Some(key.jkt())
    );
    for (url, request) in [
        (IDP_TOKEN, &proofs_to(&servers, IDP_TOKEN)[0]),
        (AS_TOKEN, &proofs_to(&servers, AS_TOKEN)[0]),
    ] {
        let claims = proof_claims(request, &key);
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], url);
        assert_eq!(claims["iat"], secs(now()));
        assert!(
            claims["jti"]
                .as_str()
                .is_some_and(|j| j.starts_with("proof-"))
        );
        assert!(!claims.contains_key("ath"), "a token request has no ath");
        assert!(!claims.contains_key("nonce"));
    }
    // The AS does not list jwt-dpop: the ID-JAG draft's own grant type.
    let grant = proofs_to(&servers, AS_TOKEN)[0]
        .form_value("grant_type")
        .map(str::to_owned);
    assert_eq!(
        grant.as_deref(),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    // Discovery requests carry no proof.
    for request in &servers.log {
        if request.method == "GET" {
            assert!(request.headers.get("dpop").is_none(), "{}", request.key());
        }
    }
}

#[test]
fn the_jwt_dpop_grant_is_used_when_the_server_lists_it() {
    let key = binding(DpopPolicy::Required);
    let mut metadata = as_metadata();
    metadata["grant_types_supported"] = json!(["urn:ietf:params:oauth:grant-type:jwt-dpop"]);
    let mut servers = bound_servers(key.jkt()).on("GET", AS_META, move |_| {
        json_response(200, metadata.clone())
    });
    run_flow(config(&key), &mut servers).expect("the bound flow succeeds");
    let request = &proofs_to(&servers, AS_TOKEN)[0];
    assert_eq!(
        request.form_value("grant_type"),
        Some("urn:ietf:params:oauth:grant-type:jwt-dpop")
    );
    proof_claims(request, &key);
}

#[test]
fn a_downgrade_at_the_idp_is_refused_under_required_and_nothing_goes_further() {
    let key = binding(DpopPolicy::Required);
    let mut servers = bound_servers(key.jkt()).on("POST", IDP_TOKEN, |_| {
        json_response(200, exchange_response_bound(None))
    });
    let (purpose, refusal) = dpop_error(run_flow(config(&key), &mut servers));
    assert_eq!(purpose, Some(Purpose::TokenExchange));
    assert_eq!(refusal, DpopRefusal::IdJagNotBound);
    assert_eq!(
        servers.count("POST", AS_TOKEN),
        0,
        "nothing was sent further"
    );
}

#[test]
fn a_bearer_id_jag_is_used_as_one_under_preferred() {
    let key = binding(DpopPolicy::Preferred);
    let mut servers = Servers::happy();
    let auth = run_flow(config(&key), &mut servers).expect("the flow succeeds");
    assert_eq!(auth.access_token.dpop_jkt(), None, "a bearer token");
    // The proof still went to the AS (the policy prefers binding), which answered Bearer.
    proof_claims(&proofs_to(&servers, AS_TOKEN)[0], &key);
}

#[test]
fn an_id_jag_bound_to_another_key_is_refused_whatever_the_policy() {
    for policy in [DpopPolicy::Preferred, DpopPolicy::Required] {
        let key = binding(policy);
        let other = DpopBinding::new(
            Arc::new(FakeKey::new('C')),
            Arc::new(|| "x".to_owned()),
            policy,
        );
        let mut servers = bound_servers(other.jkt());
        let (purpose, refusal) = dpop_error(run_flow(config(&key), &mut servers));
        assert_eq!(purpose, Some(Purpose::TokenExchange), "{policy:?}");
        assert_eq!(refusal, DpopRefusal::IdJagBoundToAnotherKey);
        assert_eq!(servers.count("POST", AS_TOKEN), 0);
    }
}

#[test]
fn a_downgrade_at_the_authorization_server_is_refused_under_required() {
    let key = binding(DpopPolicy::Required);
    let mut servers =
        bound_servers(key.jkt()).on("POST", AS_TOKEN, |_| json_response(200, bearer_response()));
    let (purpose, refusal) = dpop_error(run_flow(config(&key), &mut servers));
    assert_eq!(purpose, Some(Purpose::JwtBearer));
    assert_eq!(
        refusal,
        DpopRefusal::AccessTokenNotBound {
            token_type: "Bearer".into()
        }
    );
}

#[test]
fn a_nonce_demand_gets_exactly_one_retry_carrying_the_nonce() {
    for url in [IDP_TOKEN, AS_TOKEN] {
        let key = binding(DpopPolicy::Required);
        let jkt = key.jkt().to_owned();
        let calls = Arc::new(AtomicU32::new(0));
        let seen = calls.clone();
        let answer = move |_: &Recorded| {
            if seen.fetch_add(1, Ordering::Relaxed) == 0 {
                let mut response = oauth_error(400, "use_dpop_nonce");
                response
                    .headers_mut()
                    .insert("dpop-nonce", "nonce-1".parse().expect("header"));
                return response;
            }
            if url == IDP_TOKEN {
                json_response(200, exchange_response_bound(Some(&jkt)))
            } else {
                json_response(200, dpop_bearer_response())
            }
        };
        let mut servers = bound_servers(key.jkt()).on("POST", url, answer);
        run_flow(config(&key), &mut servers).expect("the retried flow succeeds");
        let sent = proofs_to(&servers, url);
        assert_eq!(sent.len(), 2, "{url}: one retry");
        assert!(!proof_claims(&sent[0], &key).contains_key("nonce"));
        let retried = proof_claims(&sent[1], &key);
        assert_eq!(retried["nonce"], "nonce-1", "{url}");
        assert_ne!(
            proof_claims(&sent[0], &key)["jti"],
            retried["jti"],
            "a fresh jti"
        );
    }
}

#[test]
fn a_nonce_loop_ends_after_the_one_retry() {
    let key = binding(DpopPolicy::Required);
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let mut servers = bound_servers(key.jkt()).on("POST", IDP_TOKEN, move |_| {
        let n = seen.fetch_add(1, Ordering::Relaxed);
        let mut response = oauth_error(400, "use_dpop_nonce");
        response
            .headers_mut()
            .insert("dpop-nonce", format!("nonce-{n}").parse().expect("header"));
        response
    });
    let (purpose, refusal) = dpop_error(run_flow(config(&key), &mut servers));
    assert_eq!(purpose, Some(Purpose::TokenExchange));
    assert_eq!(refusal, DpopRefusal::NonceLoop);
    assert_eq!(servers.count("POST", IDP_TOKEN), 2);
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
}

#[test]
fn a_nonce_demand_without_a_usable_nonce_is_refused() {
    for nonce in [None, Some("has space"), Some("quote\"d")] {
        let key = binding(DpopPolicy::Required);
        let mut servers = bound_servers(key.jkt()).on("POST", AS_TOKEN, move |_| {
            let mut response = oauth_error(400, "use_dpop_nonce");
            if let Some(nonce) = nonce {
                response
                    .headers_mut()
                    .insert("dpop-nonce", nonce.parse().expect("header"));
            }
            response
        });
        let (purpose, refusal) = dpop_error(run_flow(config(&key), &mut servers));
        assert_eq!(purpose, Some(Purpose::JwtBearer), "{nonce:?}");
        assert_eq!(refusal, DpopRefusal::NonceMissing);
        assert_eq!(servers.count("POST", AS_TOKEN), 1);
    }
}

#[test]
fn a_server_that_rules_the_algorithm_out_gets_no_proof() {
    let mut metadata = as_metadata();
    metadata["dpop_signing_alg_values_supported"] = json!(["RS256", "EdDSA"]);
    // Required: refused before anything is sent to that server.
    let key = binding(DpopPolicy::Required);
    let meta = metadata.clone();
    let mut servers =
        bound_servers(key.jkt()).on("GET", AS_META, move |_| json_response(200, meta.clone()));
    let (purpose, refusal) = dpop_error(run_flow(config(&key), &mut servers));
    assert_eq!(purpose, Some(Purpose::JwtBearer));
    assert_eq!(
        refusal,
        DpopRefusal::AlgorithmNotAccepted {
            algorithm: "ES256".into()
        }
    );
    // Known before the exchange: no ID-JAG is minted for a server that cannot take it.
    assert_eq!(servers.count("POST", IDP_TOKEN), 0);
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
    // Preferred: a bearer flow with that server.
    let key = binding(DpopPolicy::Preferred);
    let mut servers = Servers::happy().on("GET", AS_META, move |_| {
        json_response(200, metadata.clone())
    });
    let auth = run_flow(config(&key), &mut servers).expect("a bearer flow");
    assert_eq!(auth.access_token.dpop_jkt(), None);
    assert!(
        proofs_to(&servers, AS_TOKEN)[0]
            .headers
            .get("dpop")
            .is_none()
    );
}

#[test]
fn an_unbound_flow_sends_no_proof_and_refuses_an_unrequested_binding() {
    let key = binding(DpopPolicy::Off);
    let mut servers = Servers::happy();
    let auth = run_flow(config(&key), &mut servers).expect("a bearer flow");
    assert_eq!(auth.access_token.dpop_jkt(), None);
    assert!(servers.log.iter().all(|r| r.headers.get("dpop").is_none()));
    let mut servers = Servers::happy().on("POST", AS_TOKEN, |_| {
        json_response(200, dpop_bearer_response())
    });
    let (purpose, refusal) = dpop_error(run_flow(config(&key), &mut servers));
    assert_eq!(purpose, Some(Purpose::JwtBearer));
    assert_eq!(refusal, DpopRefusal::UnrequestedBinding);
}

#[test]
fn resource_headers_carry_the_scheme_ath_and_optionally_the_content_digest() {
    let key = binding(DpopPolicy::Required);
    let token = AccessToken::new(ACCESS_TOKEN).bound_to(key.jkt());
    let uri: http::Uri = "https://mcp.example.com/mcp?session=1"
        .parse()
        .expect("uri");
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let headers = key
        .resource_headers(&http::Method::POST, &uri, body, &token, now())
        .expect("headers");
    assert_eq!(
        headers.authorization.to_str().expect("ascii"),
        format!("DPoP {ACCESS_TOKEN}")
    );
    assert!(headers.authorization.is_sensitive());
    assert_eq!(format!("{headers:?}"), "ResourceHeaders([redacted])");
    let claims = peek(headers.dpop.to_str().expect("ascii"))
        .expect("jws")
        .claims;
    assert_eq!(claims["htu"], "https://mcp.example.com/mcp");
    let fake = FakeKey::new('A');
    let ath = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        fake.sha256(ACCESS_TOKEN.as_bytes()),
    );
    assert_eq!(claims["ath"], ath.as_str());
    assert!(!claims.contains_key("content_digest"), "off by default");
    let with_digest = key.clone().with_content_digest(true);
    let headers = with_digest
        .resource_headers(&http::Method::POST, &uri, body, &token, now())
        .expect("headers");
    let claims = peek(headers.dpop.to_str().expect("ascii"))
        .expect("jws")
        .claims;
    assert_eq!(
        claims["content_digest"],
        xaa::dpop::content_digest(body, |d| fake.sha256(d)).as_str()
    );
}

#[test]
fn the_resource_answer_tells_a_nonce_demand_from_a_refused_proof() {
    use xaa::dpop::ResourceAnswer;
    let key = binding(DpopPolicy::Required);
    let uri: http::Uri = MCP.parse().expect("uri");
    let answer = |challenge: &str, nonce: Option<&str>| {
        let mut headers = http::HeaderMap::new();
        headers.insert("www-authenticate", challenge.parse().expect("header"));
        if let Some(nonce) = nonce {
            headers.insert("dpop-nonce", nonce.parse().expect("header"));
        }
        key.resource_answer(&uri, http::StatusCode::UNAUTHORIZED, &headers)
    };
    assert_eq!(
        answer(
            r#"DPoP error="use_dpop_nonce", algs="ES256""#,
            Some("rs-nonce")
        ),
        ResourceAnswer::RetryWithNonce
    );
    // The nonce is used by the next proof to that server.
    let token = AccessToken::new(ACCESS_TOKEN).bound_to(key.jkt());
    let headers = key
        .resource_headers(&http::Method::POST, &uri, b"{}", &token, now())
        .expect("headers");
    let claims = peek(headers.dpop.to_str().expect("ascii"))
        .expect("jws")
        .claims;
    assert_eq!(claims["nonce"], "rs-nonce");
    assert_eq!(
        answer(r#"DPoP error="use_dpop_nonce""#, None),
        ResourceAnswer::Refused(DpopRefusal::NonceMissing)
    );
    assert_eq!(
        answer(
            r#"DPoP error="invalid_dpop_proof", error_description="ath does not match""#,
            None
        ),
        ResourceAnswer::Refused(DpopRefusal::ProofRefused {
            description: Some("ath does not match".into())
        })
    );
    assert_eq!(
        answer(r#"Bearer error="invalid_token""#, None),
        ResourceAnswer::Other
    );
}

fn authorizer(binding: Option<DpopBinding>) -> xaa::authorizer::Authorizer {
    let mut config = xaa::authorizer::AuthorizerConfig::new(
        MCP,
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    );
    if let Some(binding) = binding {
        config = config.dpop(binding);
    }
    xaa::authorizer::Authorizer::new(config)
}

#[test]
fn the_authorizer_sends_a_bound_token_only_with_a_proof_by_its_key() {
    let key = binding(DpopPolicy::Required);
    let uri: http::Uri = MCP.parse().expect("uri");
    let bound = AccessToken::new(ACCESS_TOKEN).bound_to(key.jkt());
    let bearer = AccessToken::new(ACCESS_TOKEN);
    let with_key = authorizer(Some(key.clone()));
    let mut headers = http::HeaderMap::new();
    headers.insert("dpop", "stale".parse().expect("header"));
    let authorization = with_key
        .request_authorization(&bound, &http::Method::POST, &uri, b"{}", now())
        .expect("headers");
    assert!(authorization.is_dpop());
    authorization.apply(&mut headers);
    assert!(
        headers["authorization"]
            .to_str()
            .expect("ascii")
            .starts_with("DPoP ")
    );
    assert_ne!(headers["dpop"], "stale");
    // A bearer token goes as one, and a proof left from an earlier attempt is removed.
    with_key
        .request_authorization(&bearer, &http::Method::POST, &uri, b"{}", now())
        .expect("headers")
        .apply(&mut headers);
    assert_eq!(
        headers["authorization"].to_str().expect("ascii"),
        format!("Bearer {ACCESS_TOKEN}")
    );
    assert!(headers.get("dpop").is_none());
    // Without the key, or with another one, a bound token is never sent as a bearer token.
    let other = DpopBinding::new(
        Arc::new(FakeKey::new('C')),
        Arc::new(|| "x".to_owned()),
        DpopPolicy::Required,
    );
    for authorizer in [authorizer(None), authorizer(Some(other))] {
        let refused = authorizer
            .request_authorization(&bound, &http::Method::POST, &uri, b"{}", now())
            .expect_err("refused");
        assert!(matches!(
            refused,
            Error::Dpop {
                purpose: None,
                refusal: DpopRefusal::BoundTokenWithoutKey
            }
        ));
    }
}

#[test]
fn the_authorizer_reads_the_servers_answer_about_a_proof() {
    use xaa::authorizer::DpopVerdict;
    let key = binding(DpopPolicy::Required);
    let authorizer = authorizer(Some(key.clone()));
    let bound = AccessToken::new(ACCESS_TOKEN).bound_to(key.jkt());
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "www-authenticate",
        r#"DPoP error="use_dpop_nonce""#.parse().expect("header"),
    );
    headers.insert("dpop-nonce", "n-9".parse().expect("header"));
    let unauthorized = http::StatusCode::UNAUTHORIZED;
    assert!(matches!(
        authorizer.dpop_verdict(&bound, unauthorized, &headers),
        DpopVerdict::RetryWithNonce
    ));
    // A bearer token's answer is not about a proof.
    assert!(matches!(
        authorizer.dpop_verdict(&AccessToken::new(ACCESS_TOKEN), unauthorized, &headers),
        DpopVerdict::NotAboutTheProof
    ));
    headers.insert(
        "www-authenticate",
        r#"DPoP error="invalid_dpop_proof""#.parse().expect("header"),
    );
    assert!(matches!(
        authorizer.dpop_verdict(&bound, unauthorized, &headers),
        DpopVerdict::Refused(Error::Dpop {
            refusal: DpopRefusal::ProofRefused { .. },
            ..
        })
    ));
}

#[test]
fn a_cached_bound_token_keeps_its_binding_through_a_store() {
    let token =
        xaa::cache::CachedToken::new(AccessToken::new(ACCESS_TOKEN).bound_to("jkt-value"), now())
            .with_token_type("DPoP");
    let stored = serde_json::to_value(&token).expect("serialize");
    assert_eq!(stored["dpop_jkt"], "jkt-value");
    let restored: xaa::cache::CachedToken = serde_json::from_value(stored).expect("deserialize");
    assert_eq!(restored.access_token.dpop_jkt(), Some("jkt-value"));
    // A bearer entry is stored as before, without the member.
    let bearer = xaa::cache::CachedToken::new(AccessToken::new(ACCESS_TOKEN), now());
    let stored = serde_json::to_value(&bearer).expect("serialize");
    assert!(stored.get("dpop_jkt").is_none());
}

#[test]
fn set_bearer_refuses_a_bound_token() {
    struct NoTransport;
    impl xaa::driver::Transport for NoTransport {
        type Failure = std::io::Error;
        fn now(&self) -> std::time::SystemTime {
            now()
        }
    }
    let mut headers = http::HeaderMap::new();
    let bound = AccessToken::new(ACCESS_TOKEN).bound_to("jkt");
    let refused = xaa::driver::set_bearer::<NoTransport>(&mut headers, &bound);
    assert!(refused.is_err());
    assert!(headers.get("authorization").is_none());
}
