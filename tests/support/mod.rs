//! Closure fakes for the sans-IO core: a scripted set of servers that answer the flow's
//! requests, record them, and let each test break exactly one answer.
#![allow(dead_code, unreachable_pub)]

pub mod form;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use xaa::{Flow, HttpRequest, HttpResponse, Output, Purpose, TransmitId};

pub const MCP: &str = "https://mcp.example.com/mcp";
pub const PRM_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
pub const AS: &str = "https://as.example.com";
pub const AS_META: &str = "https://as.example.com/.well-known/oauth-authorization-server";
pub const AS_TOKEN: &str = "https://as.example.com/token";
pub const IDP: &str = "https://idp.example.com";
pub const IDP_OAUTH_META: &str = "https://idp.example.com/.well-known/oauth-authorization-server";
pub const IDP_OIDC_META: &str = "https://idp.example.com/.well-known/openid-configuration";
pub const IDP_TOKEN: &str = "https://idp.example.com/oauth2/token";
pub const AS_CLIENT: &str = "mcp-client";
pub const AS_SECRET: &str = "as-secret-value";
pub const IDP_CLIENT: &str = "idp-client";
pub const ACCESS_TOKEN: &str = "at-0123456789";

/// The fixed "now" of every test: 2026-11-26T00:00:00Z.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_651_200)
}

pub fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs()
}

/// An unsigned compact JWS (the client only peeks).
pub fn jwt(header: impl serde::Serialize, claims: impl serde::Serialize) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        xaa::jwt::encode_segment(&header),
        xaa::jwt::encode_segment(&claims)
    )
}

pub fn id_token() -> String {
    jwt(
        json!({"alg": "ES256", "typ": "JWT", "kid": "idp-key"}),
        json!({"iss": IDP, "sub": "alice", "aud": IDP_CLIENT, "iat": secs(now()) - 60, "exp": secs(now()) + 3600}),
    )
}

pub fn id_jag_claims() -> Value {
    json!({
        "iss": IDP, "sub": "alice", "aud": AS, "client_id": AS_CLIENT, "jti": "jti-1",
        "iat": secs(now()), "exp": secs(now()) + 300, "resource": MCP, "scope": "tools:read",
    })
}

pub fn id_jag_with(claims: Value) -> String {
    jwt(
        json!({"alg": "ES256", "typ": "oauth-id-jag+jwt", "kid": "idp-key"}),
        claims,
    )
}

pub fn id_jag() -> String {
    id_jag_with(id_jag_claims())
}

pub fn json_response(status: u16, body: Value) -> HttpResponse {
    let mut response = HttpResponse::new(body.to_string().into_bytes());
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    response
        .headers_mut()
        .insert(CONTENT_TYPE, "application/json".parse().expect("header"));
    response
}

pub fn status(status: u16) -> HttpResponse {
    let mut response = HttpResponse::new(b"not found".to_vec());
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    response
}

pub fn challenge(status_code: u16, value: &str) -> HttpResponse {
    let mut response = status(status_code);
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, value.parse().expect("header"));
    response
}

pub fn probe_challenge() -> HttpResponse {
    challenge(
        401,
        &format!(
            r#"Bearer error="invalid_token", resource_metadata="{PRM_URL}", scope="tools:read""#
        ),
    )
}

pub fn prm() -> Value {
    json!({"resource": MCP, "authorization_servers": [AS], "scopes_supported": ["tools:read", "tools:write"]})
}

pub fn as_metadata() -> Value {
    json!({
        "issuer": AS, "token_endpoint": AS_TOKEN,
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "authorization_grant_profiles_supported": ["urn:ietf:params:oauth:grant-profile:id-jag"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    })
}

pub fn idp_metadata() -> Value {
    json!({
        "issuer": IDP, "token_endpoint": IDP_TOKEN, "jwks_uri": "https://idp.example.com/jwks",
        "grant_types_supported": ["authorization_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
        "identity_chaining_requested_token_types_supported": ["urn:ietf:params:oauth:token-type:id-jag"],
    })
}

pub fn exchange_response() -> Value {
    json!({
        "access_token": id_jag(),
        "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
        "token_type": "N_A", "expires_in": 300, "scope": "tools:read",
    })
}

pub fn bearer_response() -> Value {
    json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600, "scope": "tools:read"})
}

/// One request the flow sent, as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub purpose: Purpose,
    pub method: String,
    pub url: String,
    pub headers: http::HeaderMap,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.url)
    }

    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The form as sorted pairs, for exact comparison.
    pub fn sorted_form(&self) -> Vec<(String, String)> {
        let mut form = self.form.clone();
        form.sort();
        form
    }

    pub fn authorization(&self) -> Option<String> {
        self.headers
            .get(AUTHORIZATION)
            .map(|v| v.to_str().expect("ascii").to_owned())
    }
}

pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

type Handler = Box<dyn FnMut(&Recorded) -> HttpResponse>;

/// A set of fake servers keyed by `METHOD URL`.
pub struct Servers {
    handlers: HashMap<String, Handler>,
    pub log: Vec<Recorded>,
}

impl Servers {
    pub fn empty() -> Self {
        Self {
            handlers: HashMap::new(),
            log: Vec::new(),
        }
    }

    /// The happy conformance-shaped world: MCP server with a pointer challenge, PRM, AS
    /// metadata (RFC 8414), IdP publishing only openid-configuration, both token endpoints.
    pub fn happy() -> Self {
        Self::empty()
            .on("POST", MCP, |_| probe_challenge())
            .on("GET", PRM_URL, |_| json_response(200, prm()))
            .on("GET", AS_META, |_| json_response(200, as_metadata()))
            .on("GET", IDP_OAUTH_META, |_| status(404))
            .on("GET", IDP_OIDC_META, |_| json_response(200, idp_metadata()))
            .on("POST", IDP_TOKEN, |_| {
                json_response(200, exchange_response())
            })
            .on("POST", AS_TOKEN, |_| json_response(200, bearer_response()))
    }

    pub fn on(
        mut self,
        method: &str,
        url: &str,
        handler: impl FnMut(&Recorded) -> HttpResponse + 'static,
    ) -> Self {
        self.handlers
            .insert(format!("{method} {url}"), Box::new(handler));
        self
    }

    pub fn answer(&mut self, purpose: Purpose, request: HttpRequest) -> HttpResponse {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let form = if content_type.as_deref() == Some("application/x-www-form-urlencoded") {
            form::decode(request.body())
        } else {
            Vec::new()
        };
        let recorded = Recorded {
            purpose,
            method: request.method().to_string(),
            url: request.uri().to_string(),
            headers: request.headers().clone(),
            form,
        };
        let key = recorded.key();
        self.log.push(recorded.clone());
        match self.handlers.get_mut(&key) {
            Some(handler) => handler(&recorded),
            None => panic!("the flow sent an unexpected request: {key}"),
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.log.iter().map(Recorded::key).collect()
    }

    pub fn find(&self, method: &str, url: &str) -> Option<&Recorded> {
        self.log.iter().find(|r| r.method == method && r.url == url)
    }

    pub fn count(&self, method: &str, url: &str) -> usize {
        self.log
            .iter()
            .filter(|r| r.method == method && r.url == url)
            .count()
    }
}

/// In which order outstanding requests are answered.
#[derive(Clone, Copy, Debug)]
pub enum Order {
    /// First emitted, first answered.
    Fifo,
    /// Last emitted, first answered.
    Lifo,
}

/// Steps a flow to its end, answering outstanding transmits in `order`. Also returns the
/// number of sequential rounds (the critical path in round trips). Fails the test on a hang.
pub fn run<F: Flow>(
    mut flow: F,
    servers: &mut Servers,
    order: Order,
) -> (Result<F::Output, xaa::Error>, usize) {
    let mut rounds = 0;
    for _ in 0..64 {
        let mut outstanding: Vec<(TransmitId, Purpose, HttpRequest)> = Vec::new();
        loop {
            match flow.poll_output(now()) {
                Ok(Output::Transmit(t)) => outstanding.push((t.id, t.purpose, t.request)),
                Ok(Output::Wait) => break,
                Ok(Output::Done(value)) => return (Ok(value), rounds),
                Err(error) => return (Err(error), rounds),
            }
        }
        assert!(
            !outstanding.is_empty(),
            "the flow waits with nothing outstanding"
        );
        rounds += 1;
        if let Order::Lifo = order {
            outstanding.reverse();
        }
        for (id, purpose, request) in outstanding {
            let response = servers.answer(purpose, request);
            if let Err(error) = flow.handle_response(now(), id, response) {
                return (Err(error), rounds);
            }
        }
    }
    panic!("the flow did not finish within 64 rounds");
}

// ---------------------------------------------------------------------------------------------
// Helpers for the rejection, client-authentication and fixture tests.

/// The IdP client secret of the tests that authenticate at the IdP.
pub const IDP_SECRET: &str = "idp-secret-value";
/// The root protected-resource metadata URL of [`MCP`].
pub const PRM_ROOT: &str = "https://mcp.example.com/.well-known/oauth-protected-resource";
/// The OpenID Connect metadata URL of [`AS`].
pub const AS_OIDC_META: &str = "https://as.example.com/.well-known/openid-configuration";

/// A response with a raw body and an optional `Content-Type`.
pub fn raw_response(status: u16, content_type: Option<&str>, body: &[u8]) -> HttpResponse {
    let mut response = HttpResponse::new(body.to_vec());
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, content_type.parse().expect("header"));
    }
    response
}

/// A redirect to `location`.
pub fn redirect_to(status_code: u16, location: &str) -> HttpResponse {
    let mut response = status(status_code);
    response
        .headers_mut()
        .insert(http::header::LOCATION, location.parse().expect("header"));
    response
}

/// An OAuth error body (RFC 6749 section 5.2).
pub fn oauth_error(status_code: u16, code: &str) -> HttpResponse {
    json_response(
        status_code,
        json!({"error": code, "error_description": format!("the server says {code}")}),
    )
}

/// Like [`run`], and also returns the requests of each round, in the order they were answered.
/// The last round holds the request whose answer ended the flow: nothing was sent after it.
pub fn run_by_round<F: Flow>(
    mut flow: F,
    servers: &mut Servers,
    order: Order,
) -> (Result<F::Output, xaa::Error>, Vec<Vec<Recorded>>) {
    let mut rounds: Vec<Vec<Recorded>> = Vec::new();
    for _ in 0..64 {
        let mut outstanding: Vec<(TransmitId, Purpose, HttpRequest)> = Vec::new();
        loop {
            match flow.poll_output(now()) {
                Ok(Output::Transmit(t)) => outstanding.push((t.id, t.purpose, t.request)),
                Ok(Output::Wait) => break,
                Ok(Output::Done(value)) => return (Ok(value), rounds),
                Err(error) => return (Err(error), rounds),
            }
        }
        assert!(
            !outstanding.is_empty(),
            "the flow waits with nothing outstanding"
        );
        if let Order::Lifo = order {
            outstanding.reverse();
        }
        let start = servers.log.len();
        for (id, purpose, request) in outstanding {
            let response = servers.answer(purpose, request);
            if let Err(error) = flow.handle_response(now(), id, response) {
                rounds.push(servers.log[start..].to_vec());
                return (Err(error), rounds);
            }
        }
        rounds.push(servers.log[start..].to_vec());
    }
    panic!("the flow did not finish within 64 rounds");
}

/// Every string a request carries: its URL, header values (Basic credentials decoded too) and
/// form names and values.
pub fn request_strings(request: &Recorded) -> Vec<String> {
    let mut strings = vec![request.url.clone()];
    for value in request.headers.values() {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if let Some((id, secret)) = form::parse_basic_authorization(&text) {
            strings.push(id);
            strings.push(secret.expose_secret().to_owned());
        }
        strings.push(text);
    }
    for (name, value) in &request.form {
        strings.push(name.clone());
        strings.push(value.clone());
    }
    strings
}

/// Whether `secret` appears anywhere in the request (raw, or form-urlencoded).
pub fn request_contains(request: &Recorded, secret: &str) -> bool {
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    request_strings(request)
        .iter()
        .any(|s| s.contains(secret) || s.contains(&encoded))
}
