//! Benchmarks of the sans-IO core: each public parser on the conformance-shaped documents, and a
//! whole cold `EnterpriseAuth` flow from the MCP server URL and a warm one from a cached
//! discovery (the two token requests), with canned responses (no I/O).
//!
//! ```text
//! cargo bench --bench core -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Self-contained: benches cannot use `tests/support`, so the few fixtures needed are copied
//! here in minimal form.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use xaa::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use xaa::grant::{SubjectToken, TokenResponse};
use xaa::{
    AuthorizationServer, ClientCredentials, ClientSecret, EnterpriseAuth, EnterpriseConfig, Flow,
    HttpResponse, IdToken, IdentityProvider, Output, Policy, Start, TransmitId,
};

const MCP: &str = "https://mcp.example.com/mcp";
const PRM_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
const AS: &str = "https://as.example.com";
const AS_META: &str = "https://as.example.com/.well-known/oauth-authorization-server";
const AS_TOKEN: &str = "https://as.example.com/token";
const IDP: &str = "https://idp.example.com";
const IDP_OAUTH_META: &str = "https://idp.example.com/.well-known/oauth-authorization-server";
const IDP_OIDC_META: &str = "https://idp.example.com/.well-known/openid-configuration";
const IDP_TOKEN: &str = "https://idp.example.com/oauth2/token";
const AS_CLIENT: &str = "mcp-client";
const IDP_CLIENT: &str = "idp-client";

/// The MCP conformance suite's 401.
const CONFORMANCE_401: &str = r#"Bearer error="invalid_token", error_description="Missing Authorization header", resource_metadata="http://localhost:1234/.well-known/oauth-protected-resource/mcp""#;

/// Three challenges in one field.
const THREE_CHALLENGES: &str = r#"Basic realm="mcp", Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", DPoP algs="ES256 PS256", error="invalid_token""#;

/// 2026-11-26T00:00:00Z.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_651_200)
}

fn secs() -> u64 {
    1_795_651_200
}

fn jwt(header: Value, claims: Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        xaa::jwt::encode_segment(&header),
        xaa::jwt::encode_segment(&claims)
    )
}

fn id_token() -> String {
    jwt(
        json!({"alg": "ES256", "typ": "JWT", "kid": "idp-key"}),
        json!({"iss": IDP, "sub": "alice", "aud": IDP_CLIENT, "iat": secs() - 60, "exp": secs() + 3600}),
    )
}

fn id_jag() -> String {
    jwt(
        json!({"alg": "ES256", "typ": "oauth-id-jag+jwt", "kid": "idp-key"}),
        json!({
            "iss": IDP, "sub": "alice", "aud": AS, "client_id": AS_CLIENT, "jti": "jti-1",
            "iat": secs(), "exp": secs() + 300, "resource": MCP, "scope": "tools:read",
        }),
    )
}

fn prm() -> Value {
    json!({"resource": MCP, "authorization_servers": [AS], "scopes_supported": ["tools:read", "tools:write"]})
}

fn as_metadata() -> Value {
    json!({
        "issuer": AS, "token_endpoint": AS_TOKEN,
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "authorization_grant_profiles_supported": ["urn:ietf:params:oauth:grant-profile:id-jag"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    })
}

fn idp_metadata() -> Value {
    json!({
        "issuer": IDP, "token_endpoint": IDP_TOKEN, "jwks_uri": "https://idp.example.com/jwks",
        "grant_types_supported": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "identity_chaining_requested_token_types_supported": ["urn:ietf:params:oauth:token-type:id-jag"],
    })
}

fn exchange_response() -> Value {
    json!({
        "access_token": id_jag(),
        "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "token_type": "N_A", "expires_in": 300, "scope": "tools:read",
    })
}

fn bearer_response() -> Value {
    json!({"access_token": "at-0123456789", "token_type": "Bearer", "expires_in": 3600, "scope": "tools:read"})
}

fn response(status: u16, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    response
}

fn json_response(body: &Value) -> HttpResponse {
    let mut response = response(200, body.to_string().into_bytes());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, "application/json".parse().expect("header"));
    response
}

/// Every answer of the cold flow, keyed by URL (each URL has one method).
fn canned_responses() -> Vec<(&'static str, HttpResponse)> {
    let mut probe = response(401, Vec::new());
    probe.headers_mut().insert(
        WWW_AUTHENTICATE,
        format!(
            r#"Bearer error="invalid_token", resource_metadata="{PRM_URL}", scope="tools:read""#
        )
        .parse()
        .expect("header"),
    );
    vec![
        (MCP, probe),
        (PRM_URL, json_response(&prm())),
        (AS_META, json_response(&as_metadata())),
        (IDP_OAUTH_META, response(404, b"not found".to_vec())),
        (IDP_OIDC_META, json_response(&idp_metadata())),
        (IDP_TOKEN, json_response(&exchange_response())),
        (AS_TOKEN, json_response(&bearer_response())),
    ]
}

fn config() -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new("as-secret-value"),
        )),
    )
}

/// Runs one cold flow to its access token.
fn cold_flow(
    config: EnterpriseConfig,
    responses: &[(&'static str, HttpResponse)],
    outstanding: &mut Vec<(TransmitId, usize)>,
) -> xaa::Authorization {
    run_flow(config, Start::ServerUrl(MCP.into()), responses, outstanding)
}

/// Runs one flow to its access token, answering outstanding requests first in, first out.
fn run_flow(
    config: EnterpriseConfig,
    start: Start,
    responses: &[(&'static str, HttpResponse)],
    outstanding: &mut Vec<(TransmitId, usize)>,
) -> xaa::Authorization {
    let mut flow = EnterpriseAuth::new(config, start).expect("config");
    outstanding.clear();
    let mut next = 0;
    loop {
        loop {
            match flow.poll_output(now()).expect("the flow succeeds") {
                Output::Transmit(t) => {
                    let uri = t.request.uri();
                    let index = responses
                        .iter()
                        .position(|(url, _)| uri == *url)
                        .expect("a canned response");
                    outstanding.push((t.id, index));
                }
                Output::Wait => break,
                Output::Done(auth) => return auth,
            }
        }
        let (id, index) = *outstanding.get(next).expect("a request is outstanding");
        next += 1;
        flow.handle_response(now(), id, responses[index].1.clone())
            .expect("the response is accepted");
    }
}

fn parsers(c: &mut Criterion) {
    let prm = prm().to_string().into_bytes();
    let as_meta = as_metadata().to_string().into_bytes();
    let exchange = exchange_response().to_string().into_bytes();
    let bearer = bearer_response().to_string().into_bytes();
    let token = id_jag();
    let policy = Policy::default();

    let mut group = c.benchmark_group("parse");
    group.bench_function("challenge/conformance_401", |b| {
        b.iter(|| xaa::challenge::parse(black_box(CONFORMANCE_401)).expect("parses"))
    });
    group.bench_function("challenge/three_challenges", |b| {
        b.iter(|| xaa::challenge::parse(black_box(THREE_CHALLENGES)).expect("parses"))
    });
    group.bench_function("protected_resource_metadata", |b| {
        b.iter(|| ProtectedResourceMetadata::from_json(black_box(&prm)).expect("parses"))
    });
    group.bench_function("authorization_server_metadata", |b| {
        b.iter(|| AuthorizationServerMetadata::from_json(black_box(&as_meta)).expect("parses"))
    });
    group.bench_function("token_response/exchange", |b| {
        b.iter(|| TokenResponse::from_json(black_box(&exchange), &policy).expect("parses"))
    });
    group.bench_function("token_response/bearer", |b| {
        b.iter(|| TokenResponse::from_json(black_box(&bearer), &policy).expect("parses"))
    });
    group.bench_function("jwt_peek/id_jag", |b| {
        b.iter(|| xaa::jwt::peek(black_box(&token)).expect("peeks"))
    });
    group.finish();
}

fn flows(c: &mut Criterion) {
    let config = config();
    let responses = canned_responses();
    let mut outstanding = Vec::with_capacity(16);
    // Sanity: the canned world ends in the expected token.
    let auth = cold_flow(config.clone(), &responses, &mut outstanding);
    assert_eq!(auth.access_token.expose_secret(), "at-0123456789");

    c.bench_function("flow/cold_from_server_url", |b| {
        b.iter(|| cold_flow(config.clone(), black_box(&responses), &mut outstanding))
    });

    // The warm exchange: both token requests from a cached discovery (design: Starting points).
    let discovery = auth.discovery;
    let warm = || Start::Cached(discovery.clone());
    let again = run_flow(config.clone(), warm(), &responses, &mut outstanding);
    assert_eq!(again.access_token.expose_secret(), "at-0123456789");
    c.bench_function("flow/warm_from_cached_discovery", |b| {
        b.iter(|| {
            run_flow(
                config.clone(),
                warm(),
                black_box(&responses),
                &mut outstanding,
            )
        })
    });
}

criterion_group!(benches, parsers, flows);
criterion_main!(benches);
