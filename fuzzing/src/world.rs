//! The scripted servers of the client targets: an oracle that answers every request of the
//! flow as a conformant deployment would, and structured mutations of those answers (a member
//! replaced by an interesting value, a duplicated member, a status, a header, a claim of the
//! ID-JAG), so the fuzzer reaches both the deep end of the flow and its error paths.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::HeaderName;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};
use url::Url;
use xaa::constants::{
    GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ID_JAG,
    TOKEN_TYPE_REFRESH_TOKEN,
};
use xaa::{HttpRequest, HttpResponse, Purpose, Scope, jwt};

use crate::form;
use crate::input::Input;
use crate::well_known::{
    ResourceCandidate, authorization_server_metadata_candidates, resource_metadata_candidates,
};

pub(crate) const AS_ISSUER: &str = "https://as.example.com";
pub(crate) const AS_CLIENT: &str = "mcp-client";
pub(crate) const IDP_ISSUER: &str = "https://idp.example.com";
pub(crate) const IDP_CLIENT: &str = "idp-client";
pub(crate) const RESOURCE: &str = "https://mcp.example.com/mcp";

/// The JSON values a mutation may put anywhere: other hosts, http, private addresses, URL
/// tricks, wrong token types, numbers at the edges, wrong shapes.
const VALUES: &[&str] = &[
    r#""https://evil.example""#,
    r#""https://evil.example/token""#,
    r#""http://as.example.com""#,
    r#""https://as.example.com/""#,
    r#""https://AS.example.com""#,
    r#""https://as.example.com""#,
    r#""https://as2.example.com""#,
    r#""https://idp.example.com""#,
    r#""https://idp.example.com/oauth2/token""#,
    r#""https://mcp.example.com""#,
    r#""https://mcp.example.com/mcp""#,
    r#""https://mcp.example.com/""#,
    r#""https://10.0.0.1/token""#,
    r#""https://127.0.0.1/token""#,
    r#""http://localhost:9/token""#,
    r#""https://[::1]/x""#,
    r#""https://as.example.com/token#f""#,
    r#""https://u:p@as.example.com/token""#,
    r#""https://as.example.com?x=1""#,
    r#""https://0x7f.1/""#,
    r#""https://ex%61mple.org/token""#,
    r#""https:\/\/escaped.example\/token""#,
    r#""""#,
    r#""N_A""#,
    r#""n_a""#,
    r#""Bearer""#,
    r#""bearer""#,
    r#""DPoP""#,
    r#""urn:ietf:params:oauth:token-type:id-jag""#,
    r#""urn:ietf:params:oauth:token-type:refresh_token""#,
    r#""urn:ietf:params:oauth:token-type:access_token""#,
    r#""tools:read tools:write admin""#,
    r#""tools:read""#,
    r#""a.b.c""#,
    r#""eyJhbGciOiJub25lIn0.e30.""#,
    r#""hdr..iv.ciphertext.tag""#,
    r#""300""#,
    r#"" 300 ""#,
    r#""-1""#,
    "0",
    "1",
    "300",
    "-5",
    "1e300",
    "3.5",
    "18446744073709551615",
    "99999999999",
    "null",
    "true",
    "[]",
    r#"["https://as.example.com"]"#,
    r#"["https://evil.example"]"#,
    r#"["https://evil.example","https://as.example.com"]"#,
    r#"["urn:ietf:params:oauth:grant-type:token-exchange"]"#,
    r#"["client_secret_basic"]"#,
    r#"["none"]"#,
    "[1]",
    "{}",
    r#"{"a":1}"#,
];

const KEYS: &[&str] = &[
    "issuer",
    "token_endpoint",
    "resource",
    "authorization_servers",
    "access_token",
    "token_type",
    "issued_token_type",
    "expires_in",
    "scope",
    "refresh_token",
    "error",
    "error_description",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "authorization_grant_profiles_supported",
    "identity_chaining_requested_token_types_supported",
    "scopes_supported",
];

/// Headers a mutation may add: Content-Type variants, redirects, challenges pointing at
/// various hosts, cache directives.
pub(crate) const HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("content-type", "text/html"),
    ("content-type", "application/jwt"),
    ("content-type", "application/problem+json"),
    ("content-type", "application/json; charset=utf-8"),
    ("content-type", "APPLICATION/JSON"),
    ("location", "https://evil.example/next"),
    ("location", "https://as.example.com/other"),
    ("location", "http://127.0.0.1/"),
    (
        "www-authenticate",
        r#"Bearer resource_metadata="https://evil.example/.well-known/oauth-protected-resource""#,
    ),
    (
        "www-authenticate",
        r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="tools:write""#,
    ),
    (
        "www-authenticate",
        r#"Bearer resource_metadata="http://mcp.example.com/.well-known/oauth-protected-resource""#,
    ),
    (
        "www-authenticate",
        r#"Bearer resource_metadata="https://10.0.0.7/prm""#,
    ),
    (
        "www-authenticate",
        r#"Bearer resource_metadata="https://localhost/prm""#,
    ),
    (
        "www-authenticate",
        r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource""#,
    ),
    ("www-authenticate", r#"DPoP algs="ES256""#),
    ("www-authenticate", r#"Basic realm="x""#),
    (
        "www-authenticate",
        r#"Bearer error="insufficient_scope", scope="tools:read admin""#,
    ),
    ("www-authenticate", "Bearer realm="),
    ("cache-control", "no-store"),
    ("cache-control", "max-age=60"),
    ("cache-control", "max-age=99999999999999999999"),
];

const STATUSES: &[u16] = &[
    200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 429, 500, 503,
];

/// A response body under construction.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    /// A JSON object (members in order).
    Json(Map<String, Value>),
    /// Raw bytes.
    Raw(Vec<u8>),
}

/// A response under construction.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

impl Answer {
    fn json(status: u16, body: Value) -> Self {
        let body = match body {
            Value::Object(map) => Body::Json(map),
            other => Body::Raw(other.to_string().into_bytes()),
        };
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }

    pub(crate) fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Json(map) => serde_json::to_vec(map).unwrap_or_default(),
            Body::Raw(bytes) => bytes.clone(),
        }
    }

    pub(crate) fn to_response(&self) -> HttpResponse {
        let mut response = HttpResponse::new(self.body_bytes());
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }

    /// Applies one structured mutation chosen by the input.
    pub(crate) fn mutate(&mut self, input: &mut Input<'_>, now: SystemTime) {
        match input.below(10) {
            0 | 1 => {
                let key = self.pick_key(input);
                let value = pick_value(input);
                if let Body::Json(map) = &mut self.body {
                    map.insert(key, value);
                }
            }
            2 => {
                let key = self.pick_key(input);
                if let Body::Json(map) = &mut self.body {
                    map.remove(&key);
                }
            }
            3 => {
                // A member given twice, the second time with another value.
                let key = self.pick_key(input);
                let value = pick_value(input);
                let mut text = String::from_utf8_lossy(&self.body_bytes()).into_owned();
                if text.ends_with('}') && text.len() > 2 {
                    text.pop();
                    text.push_str(&format!(",{}:{value}}}", Value::from(key)));
                    self.body = Body::Raw(text.into_bytes());
                }
            }
            4 => self.status = *input.pick(STATUSES),
            5 => {
                let (name, value) = *input.pick(HEADERS);
                self.headers.retain(|(n, _)| n != name || input.flag());
                self.headers.push((name.into(), value.into()));
            }
            6 => self.headers.clear(),
            7 => {
                // The ID-JAG of an exchange response, re-minted with a claim changed.
                if let Body::Json(map) = &mut self.body
                    && let Some(token) = map.get("access_token").and_then(Value::as_str)
                    && let Some((header, claims)) = split_jws(token)
                {
                    let token = mutate_id_jag(input, header, claims, now);
                    map.insert("access_token".into(), Value::from(token));
                }
            }
            8 => {
                // Another issuer listed first, or appended.
                let value = pick_value(input);
                if let Body::Json(map) = &mut self.body
                    && let Some(Value::Array(items)) = map.get_mut("authorization_servers")
                {
                    if input.flag() {
                        items.insert(0, value);
                    } else {
                        items.push(value);
                    }
                }
            }
            _ => self.body = Body::Raw(input.chunk().to_vec()),
        }
    }

    fn pick_key(&self, input: &mut Input<'_>) -> String {
        let existing: Vec<&String> = match &self.body {
            Body::Json(map) => map.keys().collect(),
            Body::Raw(_) => Vec::new(),
        };
        let index = input.below(existing.len() + KEYS.len());
        match existing.get(index) {
            Some(key) => (*key).clone(),
            None => KEYS[(index - existing.len()) % KEYS.len()].to_owned(),
        }
    }
}

fn pick_value(input: &mut Input<'_>) -> Value {
    let text = *input.pick(VALUES);
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A raw answer: status, a few headers and a body, all from the input.
pub(crate) fn raw_answer(input: &mut Input<'_>) -> Answer {
    let status = *input.pick(STATUSES);
    let mut headers = Vec::new();
    for _ in 0..input.below(4) {
        let (name, value) = *input.pick(HEADERS);
        headers.push((name.to_owned(), value.to_owned()));
    }
    let body = if input.flag() {
        Body::Raw(input.chunk().to_vec())
    } else {
        let mut map = Map::new();
        for _ in 0..input.below(6) {
            map.insert((*input.pick(KEYS)).to_owned(), pick_value(input));
        }
        Body::Json(map)
    };
    Answer {
        status,
        headers,
        body,
    }
}

// ---------------------------------------------------------------------------------------------
// ID-JAGs

pub(crate) fn unix(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An unsigned-looking compact JWS (the client only peeks).
pub(crate) fn jws(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        jwt::encode_segment(header),
        jwt::encode_segment(claims)
    )
}

pub(crate) fn split_jws(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let decode = |s: Option<&str>| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(s?).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    };
    let header = decode(parts.next())?;
    let claims = decode(parts.next())?;
    Some((header, claims))
}

/// The claims of a valid ID-JAG for `audience`, `client_id` and `resource`.
pub(crate) fn id_jag_claims(
    audience: &str,
    client_id: &str,
    resource: &str,
    scope: Option<&Scope>,
    jti: &str,
    now: SystemTime,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(IDP_ISSUER));
    claims.insert("sub".into(), Value::from("alice"));
    claims.insert("aud".into(), Value::from(audience));
    claims.insert("client_id".into(), Value::from(client_id));
    claims.insert("jti".into(), Value::from(jti));
    claims.insert("iat".into(), Value::from(unix(now)));
    claims.insert("exp".into(), Value::from(unix(now) + 300));
    claims.insert("resource".into(), Value::from(resource));
    if let Some(scope) = scope.filter(|s| !s.is_empty()) {
        claims.insert("scope".into(), Value::from(scope.to_string()));
    }
    claims
}

pub(crate) fn id_jag_header() -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from("ES256"));
    header.insert("typ".into(), Value::from("oauth-id-jag+jwt"));
    header.insert("kid".into(), Value::from("idp-key"));
    header
}

/// One change to an ID-JAG's header or claims, or to its shape.
fn mutate_id_jag(
    input: &mut Input<'_>,
    mut header: Map<String, Value>,
    mut claims: Map<String, Value>,
    now: SystemTime,
) -> String {
    let secs = unix(now);
    let claim = *input.pick(&[
        "aud",
        "client_id",
        "resource",
        "exp",
        "scope",
        "iat",
        "jti",
        "iss",
        "typ",
        "alg",
        "shape",
    ]);
    let choice = input.byte();
    let values: Vec<Value> = match claim {
        "aud" => vec![
            json!("https://evil.example"),
            json!([AS_ISSUER]),
            json!([AS_ISSUER, "https://evil.example"]),
            json!("https://as.example.com/"),
            json!(5),
            json!([]),
        ],
        "client_id" => vec![
            json!("other-client"),
            json!(""),
            json!(IDP_CLIENT),
            json!(7),
        ],
        "resource" => vec![
            json!("https://mcp.example.com/"),
            json!([RESOURCE]),
            json!([RESOURCE, "https://evil.example/mcp"]),
            json!("https://evil.example/mcp"),
            json!(null),
        ],
        "exp" => vec![
            json!(secs - 1),
            json!(secs),
            json!(secs + 1),
            json!(secs + 10_000_000_000),
            json!(-1),
            json!("99999999999"),
            json!(secs as f64 + 0.5),
            json!(1e300),
        ],
        "scope" => vec![
            json!("tools:read admin"),
            json!(""),
            json!("tools:read"),
            json!(3),
        ],
        "iat" => vec![json!(secs + 3600), json!("x")],
        "jti" => vec![json!(""), json!(1)],
        "iss" => vec![json!("https://evil.example"), json!(AS_ISSUER)],
        "typ" | "alg" => vec![
            json!("JWT"),
            json!("application/oauth-id-jag+jwt"),
            json!("OAUTH-ID-JAG+JWT"),
            json!("none"),
            json!("NONE"),
            json!("HS256"),
            json!(1),
            json!(""),
            json!(" none"),
            json!("none "),
            json!("ES256\u{0}"),
        ],
        _ => Vec::new(),
    };
    let remove = usize::from(choice) % (values.len() + 1) == values.len();
    let value = values
        .get(usize::from(choice) % (values.len() + 1))
        .cloned();
    match claim {
        "typ" | "alg" => {
            match value {
                Some(value) if !remove => header.insert(claim.into(), value),
                _ => header.remove(claim),
            };
        }
        "shape" => {
            return (*input.pick(&[
                "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVydGV4dA.dGFn",
                "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVydGV4dA.dGFn",
                // {"alg":"ES256","typ":"oauth-id-jag+jwt"}: a JWS header in five segments.
                "eyJhbGciOiJFUzI1NiIsInR5cCI6Im9hdXRoLWlkLWphZytqd3QifQ.a2V5.aXY.Y2lwaGVy.dGFn",
                // {"alg":"none","enc":"A256GCM"}
                "eyJhbGciOiJub25lIiwiZW5jIjoiQTI1NkdDTSJ9..aXY.Y2lwaGVy.dGFn",
                // {"alg":"dir","enc":"A256GCM"} with an encrypted key.
                "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0.a2V5.aXY.Y2lwaGVy.dGFn",
                // {"alg":"RSA-OAEP","enc":"A256GCM","cty":"JWT"}, a one-byte tag segment.
                "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00iLCJjdHkiOiJKV1QifQ.a2V5.aXY.Y2lwaGVy.d",
                "a.b",
                "not-a-jwt",
                "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln",
                "eyJhbGciOiJFUzI1NiJ9..c2ln",
                "=.=.=",
            ]))
            .to_owned();
        }
        _ => {
            match value {
                Some(value) if !remove => claims.insert(claim.into(), value),
                _ => claims.remove(claim),
            };
        }
    }
    jws(&Value::Object(header), &Value::Object(claims))
}

/// A token-exchange response for the fixed request of the `token_exchange_response` target,
/// issued at `now`, then up to four structured mutations.
pub(crate) fn mutated_exchange_body(
    input: &mut Input<'_>,
    scope: Option<&Scope>,
    now: SystemTime,
) -> Vec<u8> {
    let claims = id_jag_claims(AS_ISSUER, AS_CLIENT, RESOURCE, scope, "jti-1", now);
    let token = jws(&Value::Object(id_jag_header()), &Value::Object(claims));
    let mut answer = Answer::json(200, exchange_body(&token, scope));
    for _ in 0..=input.below(4) {
        answer.mutate(input, now);
    }
    answer.body_bytes()
}

fn exchange_body(id_jag: &str, scope: Option<&Scope>) -> Value {
    let mut body = json!({
        "access_token": id_jag,
        "issued_token_type": TOKEN_TYPE_ID_JAG,
        "token_type": "N_A",
        "expires_in": 300,
    });
    if let (Some(scope), Value::Object(map)) = (scope, &mut body) {
        map.insert("scope".into(), Value::from(scope.to_string()));
    }
    body
}

// ---------------------------------------------------------------------------------------------
// The oracle

/// A conformant deployment around one MCP server: answers every request the flow may send.
#[derive(Debug)]
pub(crate) struct World {
    /// The MCP server URL, as configured.
    pub(crate) mcp_url: String,
    /// The client's id at the authorization server (the ID-JAG's `client_id`).
    pub(crate) as_client_id: String,
    /// Issuers the oracle knows: the configured IdP and authorization servers, and whatever
    /// protected-resource metadata listed.
    pub(crate) issuers: Vec<String>,
    /// URLs the flow received as `resource_metadata` pointers.
    pub(crate) pointers: Vec<String>,
    /// `expires_in` of the access tokens the oracle issues.
    pub(crate) access_token_lifetime: u64,
    counter: u32,
}

impl World {
    pub(crate) fn new(mcp_url: &str, as_client_id: &str) -> Self {
        Self {
            mcp_url: mcp_url.to_owned(),
            as_client_id: as_client_id.to_owned(),
            issuers: vec![AS_ISSUER.to_owned(), IDP_ISSUER.to_owned()],
            pointers: Vec::new(),
            access_token_lifetime: 3600,
            counter: 0,
        }
    }

    fn identifier(&self) -> &str {
        self.mcp_url
            .split_once('#')
            .map_or(self.mcp_url.as_str(), |(before, _)| before)
    }

    fn candidates(&self) -> Vec<ResourceCandidate> {
        match Url::parse(&self.mcp_url) {
            Ok(url) => resource_metadata_candidates(self.identifier(), &url),
            Err(_) => Vec::new(),
        }
    }

    /// The path-inserted metadata URL of the MCP server, when it has a path.
    pub(crate) fn pointer(&self) -> Option<String> {
        let candidates = self.candidates();
        (candidates.len() == 2).then(|| candidates[0].url.clone())
    }

    /// Learns from a response that is about to be served: pointers and listed issuers.
    pub(crate) fn learn(&mut self, response: &HttpResponse) {
        if let Ok(challenges) = xaa::challenge::from_headers(response.headers()) {
            for challenge in challenges {
                if let Some(pointer) = challenge.param("resource_metadata") {
                    self.pointers.push(pointer.to_owned());
                }
            }
        }
        if let Some(map) = crate::checks::json_object(response.body())
            && let Some(Value::Array(items)) = map.get("authorization_servers")
        {
            self.issuers
                .extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }

    fn next(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    /// The conformant answer to `request`.
    pub(crate) fn oracle(
        &mut self,
        purpose: Purpose,
        request: &HttpRequest,
        now: SystemTime,
    ) -> Answer {
        let url = request.uri().to_string();
        match purpose {
            Purpose::ResourceProbe => {
                let mut value = String::from(r#"Bearer error="invalid_token", scope="tools:read""#);
                if let Some(pointer) = self.pointer() {
                    value.push_str(&format!(r#", resource_metadata="{pointer}""#));
                }
                Answer {
                    status: 401,
                    headers: vec![("www-authenticate".into(), value)],
                    body: Body::Raw(Vec::new()),
                }
            }
            Purpose::ResourceMetadata => {
                let candidates = self.candidates();
                let is_root = candidates.last().is_some_and(|c| c.url == url);
                let resource = if self.pointers.iter().any(|p| same_url(p, &url)) || !is_root {
                    self.identifier().to_owned()
                } else {
                    candidates
                        .last()
                        .map(|c| c.expected_resource.clone())
                        .unwrap_or_default()
                };
                Answer::json(
                    200,
                    json!({
                        "resource": resource,
                        "authorization_servers": [AS_ISSUER],
                        "scopes_supported": ["tools:read", "tools:write"],
                    }),
                )
            }
            Purpose::AuthorizationServerMetadata | Purpose::IdpMetadata => {
                let issuer = self.issuer_for(&url);
                let base = issuer.trim_end_matches('/');
                if purpose == Purpose::IdpMetadata {
                    Answer::json(
                        200,
                        json!({
                            "issuer": issuer,
                            "token_endpoint": format!("{base}/oauth2/token"),
                            "jwks_uri": format!("{base}/jwks"),
                            "grant_types_supported": ["authorization_code", GRANT_TYPE_TOKEN_EXCHANGE],
                            "identity_chaining_requested_token_types_supported": [TOKEN_TYPE_ID_JAG],
                            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
                        }),
                    )
                } else {
                    Answer::json(
                        200,
                        json!({
                            "issuer": issuer,
                            "token_endpoint": format!("{base}/token"),
                            "grant_types_supported": [GRANT_TYPE_JWT_BEARER],
                            "authorization_grant_profiles_supported": [GRANT_PROFILE_ID_JAG],
                            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
                        }),
                    )
                }
            }
            Purpose::TokenExchange => {
                let form = form::decode(request.body());
                let value = |name: &str| {
                    form.iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let scope = form
                    .iter()
                    .find(|(n, _)| n == "scope")
                    .map(|(_, v)| Scope::parse(v));
                let jti = format!("jti-{}", self.next());
                let claims = id_jag_claims(
                    &value("audience"),
                    &self.as_client_id,
                    &value("resource"),
                    scope.as_ref(),
                    &jti,
                    now,
                );
                let token = jws(&Value::Object(id_jag_header()), &Value::Object(claims));
                Answer::json(200, exchange_body(&token, scope.as_ref()))
            }
            Purpose::SamlRefreshExchange => {
                let token = format!("idp-refresh-token-{:08}", self.next());
                Answer::json(
                    200,
                    json!({
                        "access_token": token,
                        "issued_token_type": TOKEN_TYPE_REFRESH_TOKEN,
                        "token_type": "N_A",
                    }),
                )
            }
            _ => {
                let token = format!("access-token-{:08}", self.next());
                Answer::json(
                    200,
                    json!({
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": self.access_token_lifetime,
                    }),
                )
            }
        }
    }

    /// The issuer whose metadata lives at `url`: a known issuer whose candidate URLs include
    /// it, else the URL with its well-known part removed.
    fn issuer_for(&self, url: &str) -> String {
        for issuer in &self.issuers {
            if let Ok(parsed) = Url::parse(issuer)
                && authorization_server_metadata_candidates(&parsed)
                    .iter()
                    .any(|c| same_url(c, url))
            {
                return issuer.clone();
            }
        }
        for well_known in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ] {
            if let Some((before, after)) = url.split_once(well_known) {
                return format!("{before}{after}");
            }
        }
        url.to_owned()
    }
}

/// Two URLs that parse to the same thing.
pub(crate) fn same_url(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
