//! Replays the committed fuzz seed corpus (`fuzz/corpus/<target>/*`) through the property
//! checks of `xaa_fuzzing`, on stable, as an ordinary test (`cargo test -p xaa-fuzzing`, and
//! so `cargo test --workspace`).
//!
//! `generate_corpus` (ignored) rewrites the seeds from the specification fixtures and
//! realistic responses: `cargo test -p xaa-fuzzing --test corpus -- --ignored
//! generate_corpus`. Crash inputs found by the fuzzer are kept as `regression-*` files next
//! to the seeds, which the generator never touches, and get a named test below.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
        .join("corpus")
}

/// The property check of a target, by directory name.
fn target(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "www_authenticate" => xaa_fuzzing::www_authenticate,
        "protected_resource_metadata" => xaa_fuzzing::protected_resource_metadata,
        "authorization_server_metadata" => xaa_fuzzing::authorization_server_metadata,
        "token_exchange_response" => xaa_fuzzing::token_exchange_response,
        "token_response" => xaa_fuzzing::token_response,
        "oauth_error" => xaa_fuzzing::oauth_error,
        "jwt_peek" => xaa_fuzzing::jwt_peek,
        "client_flow" => xaa_fuzzing::client_flow,
        "authorizer" => xaa_fuzzing::authorizer,
        "server_token_exchange" => xaa_fuzzing::server_token_exchange,
        "server_jwt_bearer" => xaa_fuzzing::server_jwt_bearer,
        "dpop_proof" => xaa_fuzzing::dpop_proof,
        "signin_callback" => xaa_fuzzing::signin_callback,
        "device_authorization" => xaa_fuzzing::device_authorization,
        "id_token_claims" => xaa_fuzzing::id_token_claims,
        "dpop_nonce" => xaa_fuzzing::dpop_nonce,
        _ => return None,
    })
}

/// Every target of `fuzz/Cargo.toml`, each of which has a corpus.
const TARGETS: [&str; 16] = [
    "www_authenticate",
    "protected_resource_metadata",
    "authorization_server_metadata",
    "token_exchange_response",
    "token_response",
    "oauth_error",
    "jwt_peek",
    "client_flow",
    "authorizer",
    "server_token_exchange",
    "server_jwt_bearer",
    "dpop_proof",
    "signin_callback",
    "device_authorization",
    "id_token_claims",
    "dpop_nonce",
];

#[test]
fn replay_corpus() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("fuzz/corpus exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no corpus directories");
    let mut replayed = Vec::new();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 directory name")
            .to_owned();
        let Some(check) = target(&name) else {
            panic!("fuzz/corpus/{name} names no target");
        };
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("a readable corpus directory")
            .map(|entry| entry.expect("readable entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "fuzz/corpus/{name} is empty");
        for file in files {
            let bytes = fs::read(&file).expect("a readable seed");
            let outcome = std::panic::catch_unwind(|| check(&bytes));
            assert!(outcome.is_ok(), "{} fails its properties", file.display());
        }
        replayed.push(name);
    }
    for name in TARGETS {
        assert!(
            replayed.iter().any(|r| r == name),
            "the target {name} has no corpus"
        );
    }
}

/// The targets listed here are the binaries of `fuzz/Cargo.toml`, no more, no fewer.
#[test]
fn every_fuzz_target_is_replayed() {
    let manifest = corpus_dir().join("..").join("Cargo.toml");
    let manifest = fs::read_to_string(&manifest).expect("fuzz/Cargo.toml is readable");
    let mut bins: Vec<&str> = manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|section| {
            let line = section
                .lines()
                .find(|l| l.trim_start().starts_with("name"))?;
            line.split('"').nth(1)
        })
        .collect();
    bins.sort_unstable();
    let mut targets = TARGETS.to_vec();
    targets.sort_unstable();
    assert_eq!(bins, targets);
    for name in TARGETS {
        assert!(target(name).is_some(), "{name} has no property check");
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: inputs the fuzzer found, replayed by name.

/// Runs a regression input of `target_name` from the corpus.
fn regression(target_name: &str, file: &str) {
    let path = corpus_dir().join(target_name).join(file);
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    target(target_name).expect("a known target")(&bytes);
}

#[test]
fn regression_url_served_as_refresh_token() {
    // A URL served as the IdP refresh token is no secret: finding it in the authorization
    // server's token endpoint URL is no leak (a wrong property, fixed in the harness).
    regression("client_flow", "regression-url-served-as-refresh-token");
}

/// A SAML exchange's refresh token that reads `https://as.example.com/`: the authorization
/// server's metadata URL begins with it because it was built from the issuer of the same name,
/// not from the token (a fuzzing property's false alarm, found by the CI fuzz stage).
#[test]
fn regression_refresh_token_that_reads_as_an_issuer_url() {
    regression(
        "client_flow",
        "regression-refresh-token-that-reads-as-an-issuer-url",
    );
}

#[test]
fn regression_blank_scope_request() {
    // `scope=%20%20` asks for no scope: the ID-JAG's scope is granted (a wrong property).
    regression("server_jwt_bearer", "regression-blank-scope-request");
}

#[test]
fn regression_kb1_refused_twice() {
    // KB1 after a second 401 on the same token: the harness forgot the first (tolerated) one.
    regression("authorizer", "regression-kb1-refused-twice");
}

#[test]
fn regression_echoed_secret_in_error() {
    // A server that echoes the client's secret in its body gets it back in the error text:
    // server text, not a leak (a wrong property).
    regression("client_flow", "regression-echoed-secret-in-error");
}

#[test]
fn regression_refusal_with_new_pointer() {
    // A fresh token refused with a 401 naming new resource metadata: the discovery is dropped
    // (D20), so the next exchange is a re-discovery, not a storm (a wrong property).
    regression("authorizer", "regression-refusal-with-new-pointer");
}

#[test]
fn regression_refused_token_replaced_after_rediscovery() {
    // A re-discovery's token (D20) replaced a refused one, then expired: no storm (wrong property).
    regression(
        "authorizer",
        "regression-refused-token-replaced-after-rediscovery",
    );
}

#[test]
fn regression_zero_expires_in() {
    // `expires_in: 0` gives a token that expires now, not before (a wrong property).
    regression("client_flow", "regression-zero-expires-in");
}

// Core bugs the targets found, now fixed (the `xaa_fuzzing` docs list them).

// Scenario: tests/authorizer.rs, a_401_that_drops_the_discovery_still_drops_the_refused_token
#[test]
fn regression_kb1_refused_token_handed_out_again() {
    regression(
        "authorizer",
        "regression-kb1-refused-token-handed-out-again",
    );
}

// Scenario: tests/authorizer.rs, a_401_that_drops_the_discovery_allows_only_one_fresh_exchange
#[test]
fn regression_kb1_second_retry() {
    regression("authorizer", "regression-kb1-second-retry");
}

// Scenario: tests/enterprise_flow.rs, a_resubmit_start_with_a_supplied_assertion_reports_no_id_jag
#[test]
fn regression_kb2_resubmitted_assertion_reports_id_jag() {
    regression(
        "client_flow",
        "regression-kb2-resubmitted-assertion-reports-id-jag",
    );
}

// Scenario: tests/enterprise_flow.rs, a_private_deployment_on_ip_literals_is_authorized
#[test]
fn regression_kb3_private_mcp_url_refused() {
    regression("client_flow", "regression-kb3-private-mcp-url-refused");
}

// ---------------------------------------------------------------------------------------------
// The generator

/// The clock of the property checks (`xaa_fuzzing`): 1_800_000_000.
const NOW: u64 = 1_800_000_000;
const AS: &str = "https://as.example.com";
const IDP: &str = "https://idp.example.com";
const MCP: &str = "https://mcp.example.com/mcp";
const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

fn jws(header: Value, claims: Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        xaa::jwt::encode_segment(&header),
        xaa::jwt::encode_segment(&claims)
    )
}

fn id_jag(claims: Value) -> String {
    jws(
        json!({"alg": "ES256", "typ": "oauth-id-jag+jwt", "kid": "idp-key"}),
        claims,
    )
}

fn valid_id_jag_claims() -> Value {
    json!({
        "iss": IDP, "sub": "alice", "aud": AS, "client_id": "mcp-client", "jti": "jti-1",
        "iat": NOW, "exp": NOW + 300, "resource": MCP, "scope": "tools:read",
    })
}

fn exchange_body(token: &str) -> Vec<u8> {
    json!({
        "access_token": token, "issued_token_type": ID_JAG_TYPE, "token_type": "N_A",
        "expires_in": 300, "scope": "tools:read",
    })
    .to_string()
    .into_bytes()
}

fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_owned(), bytes));
    };

    // WWW-Authenticate: RFC 6750, RFC 9728, the conformance suite, several fields.
    let challenges: &[(&str, &str)] = &[
        ("rfc6750-realm", r#"Bearer realm="example""#),
        (
            "rfc6750-invalid-token",
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
        ),
        (
            "rfc6750-insufficient-scope",
            r#"Bearer error="insufficient_scope", scope="tools:read tools:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", error_description="more scope""#,
        ),
        (
            "rfc9728-pointer",
            r#"Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource""#,
        ),
        (
            "conformance-401",
            r#"Bearer resource_metadata="http://localhost:3001/.well-known/oauth-protected-resource/mcp""#,
        ),
        (
            "multiple-schemes",
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
        ),
        ("token68", "Negotiate abc==, Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
        ("dpop", r#"DPoP algs="ES256 PS256", error="invalid_token""#),
        (
            "folded",
            "Bearer realm=\"example\",\r\n error=\"invalid_token\",\r\n\terror_description=\"x\"",
        ),
        (
            "max-age",
            r#"Bearer error="insufficient_user_authentication", max_age="300", scope=openid"#,
        ),
        ("empty-elements", r#"Bearer, , realm="x", , scope="a  b a""#),
        ("two-fields", "Bearer realm=\"a\"\0DPoP algs=\"ES256\""),
        ("escapes", r#"Bearer realm="a\"b\\c", error=invalid_token"#),
        ("errors-unterminated", r#"Bearer realm="abc"#),
        ("errors-param-first", r#"realm="x", Bearer"#),
        ("errors-duplicate-param", r#"Bearer realm="a", Realm="b""#),
    ];
    for (name, value) in challenges {
        add("www_authenticate", name, value.as_bytes().to_vec());
    }

    // Protected-resource metadata.
    let prms: &[(&str, String)] = &[
        (
            "rfc9728",
            r#"{"resource":"https://resource.example.com","authorization_servers":["https://as1.example.com","https://as2.example.net"],"bearer_methods_supported":["header","body"],"scopes_supported":["profile","email","phone"],"resource_documentation":"https://resource.example.com/resource_documentation.html"}"#.into(),
        ),
        (
            "conformance",
            r#"{"resource":"http://localhost:3001/mcp","authorization_servers":["http://localhost:3002"]}"#.into(),
        ),
        (
            "root",
            r#"{"resource":"https://mcp.example.com","authorization_servers":["https://as.example.com"],"scopes_supported":["tools:read"]}"#.into(),
        ),
        (
            "dpop",
            r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://as.example.com"],"dpop_bound_access_tokens_required":true,"jwks_uri":"https://mcp.example.com/jwks","resource_name":"MCP"}"#.into(),
        ),
        ("missing-resource", r#"{"authorization_servers":["https://as.example.com"]}"#.into()),
        ("empty-servers", r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":[]}"#.into()),
        (
            "duplicate-resource",
            r#"{"resource":"https://mcp.example.com/mcp","resource":"https://evil.example","authorization_servers":["https://as.example.com"]}"#.into(),
        ),
        ("wrong-types", r#"{"resource":5,"authorization_servers":"https://as.example.com"}"#.into()),
        ("html", "<html><body>Not Found</body></html>".into()),
        (
            "query-resource",
            r#"{"resource":"https://mcp.example.com/tenant/mcp?x=1","authorization_servers":["https://as.example.com/tenant1/"]}"#.into(),
        ),
        (
            "trailing-garbage",
            r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://as.example.com"]} x"#.into(),
        ),
    ];
    for (name, body) in prms {
        add(
            "protected_resource_metadata",
            name,
            body.as_bytes().to_vec(),
        );
    }

    // Authorization-server metadata.
    let metadata: &[(&str, String)] = &[
        (
            "rfc8414",
            r#"{"issuer":"https://server.example.com","authorization_endpoint":"https://server.example.com/authorize","token_endpoint":"https://server.example.com/token","token_endpoint_auth_methods_supported":["client_secret_basic","private_key_jwt"],"token_endpoint_auth_signing_alg_values_supported":["RS256","ES256"],"jwks_uri":"https://server.example.com/jwks.json","scopes_supported":["openid","profile"],"response_types_supported":["code","code token"]}"#.into(),
        ),
        (
            "conformance-as",
            r#"{"issuer":"http://localhost:3002","token_endpoint":"http://localhost:3002/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:jwt-bearer"],"token_endpoint_auth_methods_supported":["client_secret_basic"]}"#.into(),
        ),
        (
            "conformance-idp",
            r#"{"issuer":"http://localhost:3003","authorization_endpoint":"http://localhost:3003/authorize","token_endpoint":"http://localhost:3003/token","jwks_uri":"http://localhost:3003/jwks","response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256"]}"#.into(),
        ),
        (
            "mcp-as-profile",
            r#"{"issuer":"https://as.example.com","token_endpoint":"https://as.example.com/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:jwt-bearer"],"authorization_grant_profiles_supported":["urn:ietf:params:oauth:grant-profile:id-jag"],"token_endpoint_auth_methods_supported":["client_secret_basic","private_key_jwt"]}"#.into(),
        ),
        (
            "idp-chaining",
            r#"{"issuer":"https://idp.example.com","token_endpoint":"https://idp.example.com/oauth2/token","grant_types_supported":["authorization_code","urn:ietf:params:oauth:grant-type:token-exchange"],"identity_chaining_requested_token_types_supported":["urn:ietf:params:oauth:token-type:id-jag"]}"#.into(),
        ),
        (
            "lacks-jwt-bearer",
            r#"{"issuer":"https://as.example.com","token_endpoint":"https://as.example.com/token","grant_types_supported":["authorization_code"],"token_endpoint_auth_methods_supported":[]}"#.into(),
        ),
        ("missing-token-endpoint", r#"{"issuer":"https://as.example.com"}"#.into()),
        (
            "oidc-tenant",
            r#"{"issuer":"https://idp.example.com/tenant1","token_endpoint":"https://login.example.net/tenant1/oauth2/v2.0/token","jwks_uri":"https://login.example.net/tenant1/discovery/keys","grant_types_supported":["urn:ietf:params:oauth:grant-type:token-exchange"]}"#.into(),
        ),
        (
            "issuer-trailing-slash",
            r#"{"issuer":"https://as.example.com/","token_endpoint":"https://as.example.com/token","authorization_grant_profiles_supported":[]}"#.into(),
        ),
        (
            "private-key-jwt-only",
            r#"{"issuer":"https://as.example.com","token_endpoint":"https://as.example.com/token","token_endpoint_auth_methods_supported":["private_key_jwt"],"token_endpoint_auth_signing_alg_values_supported":["ES256"]}"#.into(),
        ),
        (
            "duplicate-issuer",
            r#"{"issuer":"https://as.example.com","issuer":"https://evil.example","token_endpoint":"https://as.example.com/token"}"#.into(),
        ),
    ];
    for (name, body) in metadata {
        add(
            "authorization_server_metadata",
            name,
            body.as_bytes().to_vec(),
        );
    }

    // Token-exchange answers: [mode, scope choice, status choice, body] raw (mode < 0x80),
    // or [mode >= 0x80, scope choice, mutation bytes...] structured.
    let valid = id_jag(valid_id_jag_claims());
    let mut raw = |name: &str, scope: u8, status: u8, body: Vec<u8>| {
        let mut bytes = vec![0, scope, status];
        bytes.extend(body);
        add("token_exchange_response", name, bytes);
    };
    raw("valid", 2, 0, exchange_body(&valid));
    raw("valid-no-scope-requested", 1, 0, exchange_body(&valid));
    let mut array_aud = valid_id_jag_claims();
    array_aud["aud"] = json!([AS]);
    raw("aud-array", 2, 0, exchange_body(&id_jag(array_aud)));
    let mut wrong_aud = valid_id_jag_claims();
    wrong_aud["aud"] = json!("https://evil.example");
    raw("aud-wrong", 2, 0, exchange_body(&id_jag(wrong_aud)));
    let mut expired = valid_id_jag_claims();
    expired["exp"] = json!(NOW - 1);
    raw("expired", 2, 0, exchange_body(&id_jag(expired)));
    raw(
        "jwe",
        2,
        0,
        exchange_body("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn"),
    );
    // Headers no signed or encrypted ID-JAG has (RFC 7515 4.1.1, RFC 7516 4.1, RFC 8725 3.1).
    let with_header = |header: Value, signature: &str| {
        format!(
            "{}.{}.{signature}",
            xaa::jwt::encode_segment(&header),
            xaa::jwt::encode_segment(&valid_id_jag_claims())
        )
    };
    let jwe = |header: Value, key: &str| {
        format!(
            "{}.{key}.aXY.Y2lwaGVy.dGFn",
            xaa::jwt::encode_segment(&header)
        )
    };
    let headers = [
        (
            "alg-space-none",
            with_header(json!({"alg": " none", "typ": "oauth-id-jag+jwt"}), "c2ln"),
        ),
        (
            "alg-empty",
            with_header(json!({"alg": "", "typ": "oauth-id-jag+jwt"}), "c2ln"),
        ),
        (
            "alg-without-signature",
            with_header(json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}), ""),
        ),
        (
            "jwe-with-jws-header",
            jwe(json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}), "a2V5"),
        ),
        (
            "jwe-alg-none",
            jwe(json!({"alg": "none", "enc": "A256GCM"}), ""),
        ),
        (
            "jwe-dir-with-key",
            jwe(json!({"alg": "dir", "enc": "A256GCM"}), "a2V5"),
        ),
        (
            "jwe-nested",
            jwe(
                json!({"alg": "ECDH-ES", "enc": "A256GCM", "cty": "JWT"}),
                "",
            ),
        ),
    ];
    for (name, token) in headers {
        raw(name, 2, 0, exchange_body(&token));
    }
    raw(
        "access-token-type",
        2,
        0,
        json!({"access_token": valid, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer"})
            .to_string()
            .into_bytes(),
    );
    let mut huge = valid_id_jag_claims();
    huge["exp"] = json!(1e300);
    raw("exp-huge", 1, 0, exchange_body(&id_jag(huge)));
    raw(
        "invalid-grant",
        2,
        2,
        br#"{"error":"invalid_grant","error_description":"the ID token expired"}"#.to_vec(),
    );
    raw(
        "step-up",
        2,
        2,
        br#"{"error":"insufficient_user_authentication","max_age":60}"#.to_vec(),
    );
    for (i, mutation) in [
        vec![0x80, 2, 0, 7, 0, 3],
        vec![0x80, 2, 1, 0, 1, 6],
        vec![0x80, 2, 0, 3, 4, 23],
        vec![0x81, 0, 2, 7, 3, 2, 7, 9, 5],
    ]
    .into_iter()
    .enumerate()
    {
        add(
            "token_exchange_response",
            &format!("structured-{i}"),
            mutation,
        );
    }

    // Token responses.
    let token_responses: &[(&str, &str)] = &[
        (
            "rfc6749",
            r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","example_parameter":"example_value"}"#,
        ),
        (
            "bearer",
            r#"{"access_token":"at-0123456789","token_type":"Bearer","expires_in":3600,"scope":"tools:read"}"#,
        ),
        (
            "conformance",
            r#"{"access_token":"conformance-access-token-0123","token_type":"bearer","expires_in":"3600"}"#,
        ),
        (
            "wider-scope",
            r#"{"access_token":"at","token_type":"Bearer","scope":"tools:read admin"}"#,
        ),
        (
            "dpop",
            r#"{"access_token":"at","token_type":"DPoP","expires_in":60}"#,
        ),
        (
            "absurd-expiry",
            r#"{"access_token":"at","token_type":"Bearer","expires_in":1e300}"#,
        ),
        (
            "negative-expiry",
            r#"{"access_token":"at","token_type":"Bearer","expires_in":-1}"#,
        ),
        (
            "string-expiry",
            r#"{"access_token":"at","token_type":"Bearer","expires_in":" 300 "}"#,
        ),
        ("no-token-type", r#"{"access_token":"at","expires_in":300}"#),
        (
            "empty-scope",
            r#"{"access_token":"at","token_type":"Bearer","scope":"","refresh_token":null}"#,
        ),
        (
            "rfc8693",
            r#"{"access_token":"eyJhbGciOiJFUzI1NiIsImtpZCI6IjcyIn0.eyJhdWQiOiJodHRwczovL2JhY2tlbmQuZXhhbXBsZS5jb20ifQ.c2ln","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":60}"#,
        ),
    ];
    for (name, body) in token_responses {
        add("token_response", name, body.as_bytes().to_vec());
    }

    // OAuth errors: [status choice, body].
    let errors: &[(&str, u8, &str)] = &[
        (
            "invalid-client-401",
            1,
            r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
        ),
        (
            "invalid-grant",
            0,
            r#"{"error":"invalid_grant","error_description":"jti replayed"}"#,
        ),
        ("invalid-target", 0, r#"{"error":"invalid_target"}"#),
        (
            "step-up",
            0,
            r#"{"error":"insufficient_user_authentication","max_age":"30","error_uri":"https://idp.example.com/why"}"#,
        ),
        (
            "unknown-code",
            0,
            r#"{"error":"made_up","error_description":"line\nbreak"}"#,
        ),
        (
            "server-error-html",
            3,
            "<html>503 Service Unavailable</html>",
        ),
        ("redirect", 5, ""),
        ("empty-error", 0, r#"{"error":""}"#),
        (
            "duplicate",
            0,
            r#"{"error":"invalid_grant","error":"access_denied"}"#,
        ),
        (
            "access-denied-403",
            2,
            r#"{"error":"access_denied","error_description":"policy"}"#,
        ),
        (
            "temporarily-unavailable",
            4,
            r#"{"error":"temporarily_unavailable"}"#,
        ),
    ];
    for (name, status, body) in errors {
        let mut bytes = vec![*status];
        bytes.extend_from_slice(body.as_bytes());
        add("oauth_error", name, bytes);
    }

    // JWTs to peek at.
    let draft_claims: Value = serde_json::from_str(r#"{"jti":"9e43f81b64a33f20116179","iss":"https://acme.idp.example/","sub":"U019488227","aud":"https://acme.chat.example/","client_id":"f53f191f9311af35","exp":1311281970,"iat":1311280970,"resource":"https://api.chat.example/","scope":"chat.read chat.history","auth_time":1311280970,"amr":["mfa","phrh","hwk","user"]}"#).unwrap_or_default();
    let tokens: Vec<(&str, String)> = vec![
        ("id-jag-draft", jws(json!({"typ": "oauth-id-jag+jwt", "alg": "RS256", "kid": "acme-idp-key"}), draft_claims)),
        ("id-jag-valid", valid.clone()),
        (
            "rfc8693-access-token",
            "eyJhbGciOiJFUzI1NiIsImtpZCI6IjcyIn0.eyJhdWQiOiJodHRwczovL2JhY2tlbmQuZXhhbXBsZS5jb20iLCJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUuY29tIiwiZXhwIjoxNDQxOTE3NTkzLCJpYXQiOjE0NDE5MTc1MzMsInN1YiI6ImJkY0BleGFtcGxlLmNvbSIsInNjb3BlIjoiYXBpIn0.40y3ZgQedw6rxf59WlwHDD9jryFOr0_Wh3CGozQBihNBhnXEQgU85AI9x3KmsPottVMLPIWvmDCMy5-kdXjwhw".into(),
        ),
        ("jwe", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVydGV4dA.dGFn".into()),
        ("unsecured", format!("{}.{}.", xaa::jwt::encode_segment(&json!({"alg": "none"})), xaa::jwt::encode_segment(&json!({"sub": "x"})))),
        ("float-exp", jws(json!({"alg": "ES256"}), json!({"exp": 1.8e9, "aud": ["a"], "typ": 1}))),
        ("not-json", "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln".into()),
        ("padded", "eyJhbGciOiJFUzI1NiJ9.e30=.c2ln".into()),
        (
            "id-token",
            jws(
                json!({"alg": "ES256", "typ": "JWT", "kid": "idp-key"}),
                json!({"iss": IDP, "sub": "alice", "aud": "idp-client", "iat": NOW - 60, "exp": NOW + 3600}),
            ),
        ),
        (
            "application-typ",
            jws(
                json!({"alg": "ES256", "typ": "Application/OAuth-ID-JAG+JWT"}),
                json!({"aud": [AS], "resource": [MCP, MCP], "exp": u64::MAX}),
            ),
        ),
        ("huge-exp", jws(json!({"alg": "ES256"}), json!({"exp": 1e300, "iat": -5}))),
    ];
    for (name, token) in tokens {
        add("jwt_peek", name, token.into_bytes());
    }

    // The client flow: nine configuration bytes, then (which outstanding request, which
    // answer) pairs; all zeros is the happy path against the oracle.
    let flows: &[(&str, &[u8])] = &[
        ("happy", &[]),
        ("root-url", &[1]),
        ("query-url", &[3]),
        ("loopback", &[4, 1]),
        ("speculative", &[0, 2 + 1]),
        ("jwt-bearer-resource", &[0, 4]),
        ("idp-tenant", &[0, 0, 1]),
        ("idp-token-endpoint", &[0, 0, 2]),
        ("idp-is-as", &[0, 0, 3]),
        ("basic-and-jwt", &[0, 0, 0, 1, 0, 3]),
        ("pinned", &[0, 0, 0, 0, 1]),
        ("pinned-unlisted", &[0, 0, 0, 0, 2]),
        ("saml-direct", &[0, 0, 0, 0, 0, 0, 2]),
        ("saml-exchange", &[0, 0, 0, 0, 0, 0, 3]),
        ("refresh-subject", &[0, 0, 0, 0, 0, 0, 4]),
        ("caller-assertion", &[0, 0, 0, 0, 0, 0, 5]),
        ("scoped", &[0, 0, 0, 0, 0, 0, 0, 2]),
        ("start-challenge", &[0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
        ("start-challenge-evil", &[0, 0, 0, 0, 0, 0, 0, 0, 1, 2]),
        ("start-metadata-url", &[0, 0, 0, 0, 0, 0, 0, 0, 2, 0]),
        ("cached", &[0, 0, 0, 0, 0, 0, 0, 0, 3]),
        ("resubmit", &[0, 0, 0, 0, 0, 0, 0, 0, 4]),
        // The probe answered raw with a 302 to another host.
        (
            "probe-redirect",
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 4, 1, 6, 0, 0],
        ),
        // The PRM names another resource.
        (
            "prm-mutated",
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 2, 0],
        ),
        // The exchange's ID-JAG with a claim changed.
        (
            "id-jag-mutated",
            &[
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 7, 0, 3,
            ],
        ),
        // Answers in reverse order.
        (
            "lifo",
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
        ),
        // Caller-held challenges the parser refuses: `Bearer =`, a parameter named twice.
        ("start-challenge-malformed", &[0, 0, 0, 0, 0, 0, 0, 0, 1, 4]),
        (
            "start-challenge-duplicate-param",
            &[0, 0, 0, 0, 0, 0, 0, 0, 1, 6],
        ),
        // Authorization-server metadata naming the IdP's token endpoint as its own (found by
        // the fuzzer against a flow that sent the AS secret, or the ID-JAG, there).
        (
            "as-token-endpoint-is-idp-secret",
            &[
                12, 154, 101, 245, 66, 64, 218, 117, 91, 203, 218, 67, 219, 222, 47, 97, 21, 69,
                67, 141, 30, 4, 186, 115, 133, 110, 192, 53, 85, 87, 41, 73, 145, 96, 168, 77, 125,
                227, 130,
            ],
        ),
        (
            "as-token-endpoint-is-idp-id-jag",
            &[
                161, 40, 254, 103, 181, 110, 118, 132, 235, 222, 65, 101, 255, 130, 179, 126, 82,
                156, 53, 159, 252, 135, 170, 175, 58, 60, 152, 177, 86, 188, 43, 25,
            ],
        ),
    ];
    for (name, bytes) in flows {
        add("client_flow", name, bytes.to_vec());
    }

    // The authorizer: four configuration bytes, then operations (0-1 acquire, 2-3 land,
    // 4 drop, 5-6 respond, 7 time).
    let authorizer: &[(&str, &[u8])] = &[
        ("acquire-land-acquire", &[2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]),
        (
            "two-users",
            &[2, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 2, 0, 0, 0, 1, 0, 1],
        ),
        (
            "refused-twice",
            &[
                2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 5, 0, 0, 1,
                0, 0, 0, 0,
            ],
        ),
        (
            "step-ups",
            &[
                1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 5, 0, 0, 0, 1, 0, 5, 0, 0, 0, 1,
                0,
            ],
        ),
        ("waiters", &[2, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0]),
        ("refresh-ahead", &[2, 0, 0, 0, 0, 0, 2, 0, 0, 1, 7, 5, 0, 0]),
        ("reauthentication", &[2, 0, 0, 0, 0, 0, 2, 0, 4, 2, 0, 0]),
        (
            "new-pointer",
            &[2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 5, 0, 0, 0, 0, 2, 0, 0],
        ),
        (
            "confused-caller",
            &[2, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 2, 0, 0, 5, 0, 7, 0, 0, 0],
        ),
        (
            "token-expires",
            &[2, 0, 0, 0, 0, 0, 2, 0, 3, 7, 5, 7, 5, 0, 0, 0, 0],
        ),
    ];
    for (name, bytes) in authorizer {
        add("authorizer", name, bytes.to_vec());
    }

    // The servers: configuration, then per request a baseline and edits.
    let idp: &[(&str, &[u8])] = &[
        ("basic", &[]),
        ("post", &[0, 0, 1]),
        ("public", &[0, 0, 2]),
        ("private-key-jwt", &[0, 0, 3]),
        ("saml-refresh", &[0, 0, 4]),
        ("refresh-subject", &[0, 0, 5]),
        ("resource-optional", &[1, 0, 0, 1, 3, 5]),
        ("forged-subject", &[0, 0, 0, 1, 0, 2, 0, 0, 18]),
        ("wrong-client-subject", &[0, 0, 0, 1, 0, 2, 0, 1, 0]),
        ("duplicate-audience", &[0, 0, 0, 1, 4, 4, 2]),
        ("three-requests", &[0, 2, 0, 0, 1, 0, 3, 0]),
    ];
    for (name, bytes) in idp {
        add("server_token_exchange", name, bytes.to_vec());
    }
    let bearer: &[(&str, &[u8])] = &[
        ("basic", &[]),
        ("post", &[0, 0, 1]),
        ("public", &[0, 0, 2]),
        ("private-key-jwt", &[0, 0, 3]),
        ("forged", &[0, 0, 0, 1, 0, 1, 2, 0, 18]),
        ("payload-swapped", &[0, 0, 0, 1, 0, 1, 2, 0, 20]),
        ("other-issuer-key", &[0, 0, 0, 1, 0, 1, 2, 0, 22]),
        ("alg-none", &[0, 0, 0, 1, 0, 1, 2, 0, 21]),
        ("replay", &[0, 1, 0, 0, 0, 1, 0, 1, 0]),
        ("identical-resubmission", &[2, 1, 0, 0, 0, 1, 0, 1, 0]),
        ("lenient-audience", &[1, 0, 0, 1, 0, 1, 2, 0, 9, 3]),
    ];
    for (name, bytes) in bearer {
        add("server_jwt_bearer", name, bytes.to_vec());
    }

    // DPoP proofs: a mode byte, then a raw proof (below 0x80) or `header 0x00 claims` signed by
    // the target's key, `"KEY"` standing for its JWK (see `xaa_fuzzing::dpop_proof`).
    let key_header = |alg: &str| format!(r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":"KEY"}}"#);
    let claims =
        |htu: &str, iat: u64| format!(r#"{{"jti":"j","htm":"POST","htu":"{htu}","iat":{iat}}}"#);
    let signed = |mode: u8, header: &str, claims: &str| {
        let mut bytes = vec![mode];
        bytes.extend_from_slice(header.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(claims.as_bytes());
        bytes
    };
    let token_endpoint = "https://as.example.com/token";
    let dpop: Vec<(&str, Vec<u8>)> = vec![
        ("valid", vec![0x80]),
        ("valid-nonce-ath-jkt", vec![0x87]),
        (
            "nonce-missing",
            signed(0x81, "", &claims(token_endpoint, NOW)),
        ),
        (
            "other-htu",
            signed(0x80, "", &claims("https://as.example.com/other", NOW)),
        ),
        (
            "stale",
            signed(0x80, "", &claims(token_endpoint, NOW - 301)),
        ),
        ("alg-hs256", signed(0x80, &key_header("HS256"), "")),
        ("alg-rs256", signed(0x80, &key_header("RS256"), "")),
        (
            "private-jwk",
            signed(
                0x80,
                r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"eA","y":"eQ","d":"ZA"}}"#,
                "",
            ),
        ),
        (
            "duplicate-typ",
            signed(
                0x80,
                r#"{"typ":"dpop+jwt","typ":"JWT","alg":"ES256","jwk":"KEY"}"#,
                "",
            ),
        ),
        (
            "raw-unsecured",
            [
                b"\x00".as_slice(),
                format!(
                    "{}.{}.",
                    xaa::jwt::encode_segment(&json!({"typ": "dpop+jwt", "alg": "none"})),
                    xaa::jwt::encode_segment(
                        &json!({"jti": "j", "htm": "POST", "htu": token_endpoint, "iat": NOW})
                    )
                )
                .as_bytes(),
            ]
            .concat(),
        ),
        ("raw-malformed", b"\x00a.b.c".to_vec()),
    ];
    for (name, bytes) in dpop {
        add("dpop_proof", name, bytes);
    }

    // The redirect back from the IdP: the first byte says whether `iss` is promised; the
    // state of the target's pending sign-in is base64url of 32 bytes of 2.
    let state = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI";
    let callbacks: [(&str, u8, String); 8] = [
        (
            "code",
            0,
            format!("state={state}&code=SplxlOBeZQQYbYS6WxSbIA"),
        ),
        (
            "code-with-iss",
            1,
            format!("code=c&state={state}&iss=https%3A%2F%2Fidp.example.com"),
        ),
        ("iss-missing", 1, format!("code=c&state={state}")),
        (
            "iss-mix-up",
            0,
            format!("code=c&state={state}&iss=https://evil.example.com"),
        ),
        (
            "access-denied",
            0,
            format!("error=access_denied&error_description=No%1B&state={state}"),
        ),
        (
            "login-required",
            0,
            format!("?error=login_required&state={state}"),
        ),
        ("state-mismatch", 0, "code=c&state=forged".to_owned()),
        ("repeated-code", 0, format!("code=a&code=b&state={state}")),
    ];
    for (name, flag, query) in callbacks {
        add(
            "signin_callback",
            name,
            [vec![flag], query.into_bytes()].concat(),
        );
    }

    // RFC 8628 section 3.2 example, and refusals.
    let device = json!({
        "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://example.com/device",
        "verification_uri_complete": "https://example.com/device?user_code=WDJB-MJHT",
        "expires_in": 1800,
        "interval": 5,
    });
    let device_seeds: [(&str, u8, String); 5] = [
        ("rfc8628-example", 0, device.to_string()),
        ("no-interval", 0, r#"{"device_code":"d","user_code":"U","verification_uri":"https://e/d","expires_in":60}"#.into()),
        ("loopback", 1, r#"{"device_code":"d","user_code":"U","verification_uri":"http://127.0.0.1:9/d","expires_in":60}"#.into()),
        ("escape-in-user-code", 0, r#"{"device_code":"d","user_code":"[2J","verification_uri":"https://e/d","expires_in":60}"#.into()),
        ("duplicate", 0, r#"{"device_code":"a","device_code":"b"}"#.into()),
    ];
    for (name, flag, body) in device_seeds {
        add(
            "device_authorization",
            name,
            [vec![flag], body.into_bytes()].concat(),
        );
    }

    // ID token claims: the first byte picks nonce (1), max_age (2), renewal (4), first nonce (8).
    let claims = |changes: Value| {
        let mut claims = json!({
            "iss": "https://idp.example.com", "sub": "alice", "aud": "client-1",
            "exp": NOW + 600, "iat": NOW - 5, "auth_time": NOW - 100, "nonce": "n-0S6_WzA2Mj",
        });
        for (name, value) in changes.as_object().into_iter().flatten() {
            claims[name] = value.clone();
        }
        claims.to_string()
    };
    let claim_seeds: [(&str, u8, String); 7] = [
        ("valid-all-checks", 3, claims(json!({}))),
        ("renewal", 12, claims(json!({"aud": ["client-1"]}))),
        (
            "several-audiences",
            0,
            claims(json!({"aud": ["client-1", "other"], "azp": "client-1"})),
        ),
        ("wrong-nonce", 1, claims(json!({"nonce": "other"}))),
        ("expired", 0, claims(json!({"exp": NOW}))),
        ("future-iat", 0, claims(json!({"iat": NOW + 61}))),
        ("duplicate-sub", 0, r#"{"sub":"a","sub":"b"}"#.into()),
    ];
    for (name, flag, body) in claim_seeds {
        add(
            "id_token_claims",
            name,
            [vec![flag], body.into_bytes()].concat(),
        );
    }

    // DPoP nonces: answers to the exchange (status index, a demand flag for 400, a count of
    // `DPoP-Nonce` fields, each a length and bytes), then 401s of the MCP server (status index,
    // a challenge as length and bytes, the nonce fields); see `xaa_fuzzing::dpop_nonce`.
    let field = |bytes: &[u8]| [&[bytes.len() as u8][..], bytes].concat();
    let demand = |nonces: &[&[u8]]| {
        let mut bytes = vec![0, 0, nonces.len() as u8];
        for nonce in nonces {
            bytes.extend(field(nonce));
        }
        bytes
    };
    let success = vec![2, 0];
    let challenge = field(br#"DPoP error="use_dpop_nonce", algs="ES256""#);
    let nonce_seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "demand-then-answer",
            [demand(&[b"nonce-1"]), success.clone()].concat(),
        ),
        (
            "nonce-loop",
            [demand(&[b"n-1"]), demand(&[b"n-2"])].concat(),
        ),
        ("demand-without-nonce", demand(&[])),
        ("demand-two-nonces", demand(&[b"a", b"b"])),
        ("demand-quoted-nonce", demand(&[b"a\"b"])),
        (
            "resource-retry",
            [
                success.clone(),
                vec![0],
                challenge.clone(),
                vec![1],
                field(b"rs-1"),
            ]
            .concat(),
        ),
        (
            "resource-refused",
            [
                success,
                vec![0],
                field(br#"DPoP error="invalid_dpop_proof""#),
                vec![0],
            ]
            .concat(),
        ),
    ];
    for (name, bytes) in nonce_seeds {
        add("dpop_nonce", name, bytes);
    }
    out
}

/// Rewrites the generated seeds (regression files are kept).
#[test]
#[ignore = "writes fuzz/corpus; run by hand"]
fn generate_corpus() {
    for (target_name, name, bytes) in seeds() {
        assert!(bytes.len() < 8 * 1024, "{target_name}/{name} is too large");
        let dir = corpus_dir().join(target_name);
        fs::create_dir_all(&dir).expect("create the corpus directory");
        fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
    }
}

#[test]
fn regression_first_401_after_drop() {
    regression("authorizer", "regression-first-401-after-drop");
}

#[test]
fn regression_first_401_second() {
    regression("authorizer", "regression-first-401-second");
}

#[test]
fn regression_unnormalized_verification_uri() {
    // `https:/'example.com/...` parses as a URL but is not how it reads: the device
    // authorization now keeps the parser's serialization, the URL a browser opens.
    regression(
        "device_authorization",
        "regression-unnormalized-verification-uri",
    );
}

#[test]
fn regression_nonce_and_renewal() {
    // An expected nonce and a renewal of a first ID token without one: the renewed token's
    // nonce must satisfy both rules, not only the first that applies.
    regression("id_token_claims", "regression-nonce-and-renewal");
}

#[test]
fn regression_far_future_auth_time() {
    // An `auth_time` near `u64::MAX` overflowed the harness's own arithmetic (a harness bug;
    // the core saturates).
    regression("id_token_claims", "regression-far-future-auth-time");
}

/// serde_json with its `raw_value` feature (which the fuzzing crate turns on) reads an object
/// whose first member is named by its private raw-value token as the JSON text in that
/// member's string: the independent reading must not take that for "not an object".
#[test]
fn regression_raw_value_token_member() {
    regression(
        "authorization_server_metadata",
        "regression-raw-value-token-member",
    );
}
