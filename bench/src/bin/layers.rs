//! A fixed amount of the sans-IO core's work, for instruction counts under callgrind: the
//! figures behind BENCHMARKS.md's "Speed-only layers, each measured alone".
//!
//! ```text
//! cargo build -p xaa-bench --release --bin layers
//! for n in 100 500; do
//!   valgrind --tool=callgrind --callgrind-out-file=cg.cold.$n target/release/layers cold $n
//! done                                   # (total at 500 - total at 100) / 400 per flow
//! ```
//!
//! Cases (each runs `n` times, with canned responses, through `xaa::drive`; no I/O):
//!
//! * `cold`: an `EnterpriseAuth` flow from the MCP server URL (`Start::ServerUrl`), six
//!   requests;
//! * `warm`: the warm exchange, from a cached discovery (`Start::Cached`), two token requests;
//! * `cold-reqwest` and `warm-reqwest`: the same with each request turned into a
//!   `reqwest::Request` the way xaa-reqwest's driver does (the checked `RequestUrl` extension
//!   when it still names the URI, else the URI printed and parsed back);
//! * `url-extension` and `url-parse`: that conversion alone, for the two URLs of one warm
//!   exchange: the extension's URL taken (cloned, as the core clones it into the request, then
//!   compared with the URI), or the URI printed and parsed.
//!
//! The fixtures are those of `benches/core.rs`, in minimal form.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use xaa::grant::SubjectToken;
use xaa::{
    Authorization, AuthorizationServer, ClientCredentials, ClientSecret, Discovery, EnterpriseAuth,
    EnterpriseConfig, HttpRequest, HttpResponse, IdToken, IdentityProvider, RequestUrl, Start,
};

const USAGE: &str =
    "usage: layers <cold|cold-reqwest|warm|warm-reqwest|url-extension|url-parse> <n>";

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

/// 2026-11-26T00:00:00Z.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(SECS)
}

const SECS: u64 = 1_795_651_200;

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
        json!({"iss": IDP, "sub": "alice", "aud": IDP_CLIENT, "iat": SECS - 60, "exp": SECS + 3600}),
    )
}

fn id_jag() -> String {
    jwt(
        json!({"alg": "ES256", "typ": "oauth-id-jag+jwt", "kid": "idp-key"}),
        json!({
            "iss": IDP, "sub": "alice", "aud": AS, "client_id": AS_CLIENT, "jti": "jti-1",
            "iat": SECS, "exp": SECS + 300, "resource": MCP, "scope": "tools:read",
        }),
    )
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
    let prm = json!({"resource": MCP, "authorization_servers": [AS], "scopes_supported": ["tools:read", "tools:write"]});
    let as_metadata = json!({
        "issuer": AS, "token_endpoint": AS_TOKEN,
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "authorization_grant_profiles_supported": ["urn:ietf:params:oauth:grant-profile:id-jag"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    });
    let idp_metadata = json!({
        "issuer": IDP, "token_endpoint": IDP_TOKEN, "jwks_uri": "https://idp.example.com/jwks",
        "grant_types_supported": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "identity_chaining_requested_token_types_supported": ["urn:ietf:params:oauth:token-type:id-jag"],
    });
    let exchange = json!({
        "access_token": id_jag(),
        "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "token_type": "N_A", "expires_in": 300, "scope": "tools:read",
    });
    let bearer = json!({"access_token": "at-0123456789", "token_type": "Bearer", "expires_in": 3600, "scope": "tools:read"});
    vec![
        (MCP, probe),
        (PRM_URL, json_response(&prm)),
        (AS_META, json_response(&as_metadata)),
        (IDP_OAUTH_META, response(404, b"not found".to_vec())),
        (IDP_OIDC_META, json_response(&idp_metadata)),
        (IDP_TOKEN, json_response(&exchange)),
        (AS_TOKEN, json_response(&bearer)),
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

/// The canned answer for `url`.
fn answer(responses: &[(&'static str, HttpResponse)], url: &str) -> HttpResponse {
    responses
        .iter()
        .find(|(canned, _)| *canned == url)
        .map(|(_, response)| response.clone())
        .expect("a canned response")
}

/// Runs one flow to its access token through `xaa::drive`.
fn run(
    config: &EnterpriseConfig,
    start: Start,
    send: impl FnMut(HttpRequest) -> Result<HttpResponse, std::convert::Infallible>,
) -> Authorization {
    let flow = EnterpriseAuth::new(config.clone(), start).expect("config");
    xaa::drive(flow, now, send).expect("the flow succeeds")
}

/// The canned world: each request answered by its URI.
fn canned(
    responses: &[(&'static str, HttpResponse)],
) -> impl FnMut(HttpRequest) -> Result<HttpResponse, std::convert::Infallible> {
    |request| {
        let uri = request.uri();
        Ok(responses
            .iter()
            .find(|(url, _)| uri == *url)
            .map(|(_, response)| response.clone())
            .expect("a canned response"))
    }
}

/// The request turned into reqwest's as xaa-reqwest's driver does it (`to_reqwest` in
/// `transports/reqwest/src/transport.rs`), and answered by that request's URL.
fn through_reqwest(
    responses: &[(&'static str, HttpResponse)],
) -> impl FnMut(HttpRequest) -> Result<HttpResponse, std::convert::Infallible> {
    |request| {
        let (mut parts, body) = request.into_parts();
        let url = match parts.extensions.remove::<RequestUrl>() {
            Some(checked) if checked.matches(&parts.uri) => checked.into_url(),
            _ => reqwest::Url::parse(&parts.uri.to_string()).expect("an absolute URL"),
        };
        let mut out = reqwest::Request::new(parts.method, url);
        *out.headers_mut() = parts.headers;
        *out.version_mut() = parts.version;
        if xaa::driver::sends_body(out.method(), &body) {
            *out.body_mut() = Some(body.into());
        }
        let out = black_box(out);
        Ok(answer(responses, out.url().as_str()))
    }
}

/// A cold flow's discovery, for the warm cases.
fn discovery(config: &EnterpriseConfig, responses: &[(&'static str, HttpResponse)]) -> Discovery {
    let auth = run(config, Start::ServerUrl(MCP.into()), canned(responses));
    assert_eq!(auth.access_token.expose_secret(), "at-0123456789");
    auth.discovery
}

/// The (URI, extension) pairs of one warm exchange's requests.
fn warm_urls(
    config: &EnterpriseConfig,
    responses: &[(&'static str, HttpResponse)],
) -> Vec<(http::Uri, Option<RequestUrl>)> {
    let discovery = discovery(config, responses);
    let mut seen = Vec::new();
    let mut answer = canned(responses);
    run(config, Start::Cached(discovery), |request| {
        seen.push((
            request.uri().clone(),
            request.extensions().get::<RequestUrl>().cloned(),
        ));
        answer(request)
    });
    seen
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (case, n) = match args.as_slice() {
        [case, n] => match n.parse::<u32>() {
            Ok(n) => (case.as_str(), n),
            Err(_) => {
                eprintln!("{USAGE}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let config = config();
    let responses = canned_responses();
    match case {
        "cold" | "cold-reqwest" => {
            let reqwest = case == "cold-reqwest";
            for _ in 0..n {
                let start = Start::ServerUrl(MCP.into());
                let auth = if reqwest {
                    run(&config, start, through_reqwest(&responses))
                } else {
                    run(&config, start, canned(&responses))
                };
                black_box(auth);
            }
        }
        "warm" | "warm-reqwest" => {
            let discovery = discovery(&config, &responses);
            let reqwest = case == "warm-reqwest";
            for _ in 0..n {
                let start = Start::Cached(discovery.clone());
                let auth = if reqwest {
                    run(&config, start, through_reqwest(&responses))
                } else {
                    run(&config, start, canned(&responses))
                };
                black_box(auth);
            }
        }
        "url-extension" | "url-parse" => {
            let urls = warm_urls(&config, &responses);
            let extension = case == "url-extension";
            if extension && urls.iter().any(|(_, url)| url.is_none()) {
                eprintln!("the core attached no RequestUrl: nothing to measure");
                return ExitCode::FAILURE;
            }
            for _ in 0..n {
                for (uri, checked) in black_box(&urls) {
                    let url = match checked {
                        Some(checked) if extension => {
                            let checked = checked.clone();
                            assert!(checked.matches(uri), "the extension names the URI");
                            checked.into_url()
                        }
                        _ => reqwest::Url::parse(&uri.to_string()).expect("an absolute URL"),
                    };
                    black_box(url);
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!("layers: {case} x {n} done");
    ExitCode::SUCCESS
}
