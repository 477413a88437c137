//! The server targets: the IdP's token-exchange endpoint and the MCP authorization server's
//! jwt-bearer endpoint, fed requests built from the input: a well-formed baseline (one per
//! client authentication method) with edits (a parameter set, removed or repeated; headers;
//! method; media type), where every token value is a real signed token with one thing wrong,
//! so the fuzzer gets past client authentication and signature checks and reaches the claim
//! rules. Every token the harness signs is recorded per key: an accepted token must be one of
//! them, so a forged or altered signature is never accepted.
//!
//! Input layout: two configuration bytes, then up to three requests, each a byte choosing the
//! baseline and a byte counting the edits, then the bytes of each edit. An exhausted input
//! reads as zeros: one valid request.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response};
use serde_json::{Map, Value, json};
use xaa::constants::{
    CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE,
    TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_REFRESH_TOKEN, TOKEN_TYPE_SAML2,
};
use xaa::jose::{KeyRing, KeySet, SigningKey, TokenSigner};
use xaa::server::{
    AccessTokenGrant, ApprovedTarget, AuthorizationServerConfig, AuthorizationServerEndpoint,
    ClientRegistry, IdentityProviderConfig, IdentityProviderEndpoint, IssueError,
    MintedAccessToken, MintedRefreshToken, RegisteredClient, ReplayMode, ServedResource,
    StaticExchangePolicy, SubjectRefusal, SubjectTokenType, TrustedIssuer, VerifiedSubject,
};
use xaa::{AccessToken, ClientSecret, RefreshToken, Scope, SignerError};

use crate::checks::now;
use crate::input::Input;

const IDP: &str = "https://idp.example.com";
const IDP_TOKEN: &str = "https://idp.example.com/token";
const OTHER_IDP: &str = "https://other-idp.example.com";
const AS: &str = "https://as.example.com";
const AS_TOKEN: &str = "https://as.example.com/token";
const RESOURCE: &str = "https://mcp.example.com/mcp";
const RESOURCE2: &str = "https://mcp.example.com/admin";
const IDP_KID: &str = "idp-key-1";
const CLIENT_KID: &str = "client-key-1";
const SKEW: u64 = 60;

/// Test keys, fixed so runs are reproducible (PKCS#8, P-256). Never use them elsewhere.
const IDP_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZJXDizihbqdnBvY+
exXdQgHLOeN8sYk8KLJRM9e/23ShRANCAASMxyRWb4r3DFSL5CRrxKtXMFJ/tcQd
yM+HjqJKDqdO7PkQ15b2KUKZS+H7W7ya91r1bQyhB+g0lZi2YMMctgd2
-----END PRIVATE KEY-----
";
const FORGER_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg17KItC/ImiY4rswX
rtjXTxhgxMY6hGsZfhtje5wMyduhRANCAAQGxvwAL/Y8TaL9F0FvDIv7YmSGrhjO
94W6YSJ27KkGY+Fjbjh88Fi+m1x4LPzCH3iTnW1WMgzCR4BWjsIerH8H
-----END PRIVATE KEY-----
";
const CLIENT_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtcXPc2R+Cth4+BXw
Bpyh19NmMNSm17B9SXrAbyvZi5mhRANCAARqkxdm/IZyC4Cfj/NBm0i3hkmdlLgT
f7hfSjQym9gkKwQgvhCcCuRO7FyhoO0XicktGFqaW3YnHuDEmt0tItxh
-----END PRIVATE KEY-----
";

struct Keys {
    idp: SigningKey,
    /// Another key under the IdP's `kid`: what a forger would sign with. It is the real key
    /// of `OTHER_IDP`, a second trusted issuer, so the keys of one issuer must never verify
    /// the tokens of another.
    forger: SigningKey,
    client: SigningKey,
    idp_ring: Arc<KeyRing>,
    forger_ring: Arc<KeyRing>,
    client_ring: Arc<KeyRing>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let load = |pem: &str, kid: &str| match SigningKey::from_pem(pem.as_bytes(), "ES256", kid) {
            Ok(key) => key,
            Err(error) => panic!("the fixed test key does not load: {error}"),
        };
        let idp = load(IDP_KEY_PEM, IDP_KID);
        let forger = load(FORGER_KEY_PEM, IDP_KID);
        let client = load(CLIENT_KEY_PEM, CLIENT_KID);
        Keys {
            idp_ring: Arc::new(idp.key_ring()),
            forger_ring: Arc::new(forger.key_ring()),
            client_ring: Arc::new(client.key_ring()),
            idp,
            forger,
            client,
        }
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyId {
    Idp,
    Forger,
    Client,
}

/// Every signing input each key signed during one run.
#[derive(Default)]
struct Minted {
    sets: Mutex<[HashSet<String>; 3]>,
}

impl Minted {
    fn record(&self, key: KeyId, input: &[u8]) {
        let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        sets[key as usize].insert(String::from_utf8_lossy(input).into_owned());
    }

    fn contains(&self, key: KeyId, token: &str) -> bool {
        let Some((input, _)) = token.rsplit_once('.') else {
            return false;
        };
        let sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        sets[key as usize].contains(input)
    }
}

/// A signer that records what it signs.
struct Recording {
    key: KeyId,
    minted: Arc<Minted>,
}

impl Recording {
    fn signer(&self) -> &'static SigningKey {
        match self.key {
            KeyId::Idp => &keys().idp,
            KeyId::Forger => &keys().forger,
            KeyId::Client => &keys().client,
        }
    }
}

impl TokenSigner for Recording {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn kid(&self) -> Option<&str> {
        self.signer().kid()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.minted.record(self.key, signing_input);
        self.signer().sign(signing_input)
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn decode(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Header and claims of a compact JWS, read without any check.
fn peek(token: &str) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let mut parts = token.split('.');
    let header = decode(parts.next()?)?;
    let claims = decode(parts.next()?)?;
    Some((header, claims))
}

/// The oracle's own reading of a single-valued claim (decisions.md D10): a string, or an array
/// holding exactly one string.
fn single_string(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        Value::Array(items) if items.len() == 1 => items[0].as_str(),
        _ => None,
    }
}

fn number(claims: &Map<String, Value>, name: &str) -> Option<u64> {
    let value = claims.get(name)?;
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Signs `claims` under exactly `header`, unchanged even when it disagrees with the signer (RFC
/// 7515 section 5.1): how the target makes faulty tokens the core's own `sign_jwt` never would.
fn sign_with_header(
    signer: &dyn TokenSigner,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Result<String, SignerError> {
    let signing_input = format!(
        "{}.{}",
        xaa::jwt::encode_segment(header),
        xaa::jwt::encode_segment(claims)
    );
    let signature = signer.sign(signing_input.as_bytes())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// The shared state of one run: the recorded keys, a jti counter.
struct Harness {
    minted: Arc<Minted>,
    counter: u32,
    now: u64,
}

impl Harness {
    fn new() -> Self {
        Self {
            minted: Arc::new(Minted::default()),
            counter: 0,
            now: crate::world::unix(now()),
        }
    }

    fn jti(&mut self) -> String {
        self.counter += 1;
        format!("jti-{}", self.counter)
    }

    fn sign(&self, key: KeyId, header: &Map<String, Value>, claims: &Map<String, Value>) -> String {
        let signer = Recording {
            key,
            minted: Arc::clone(&self.minted),
        };
        match sign_with_header(&signer, header, claims) {
            Ok(token) => token,
            Err(error) => panic!("the harness cannot sign: {error}"),
        }
    }

    /// A token "signed" without a key: a stripped, swapped or `none` signature.
    fn unsigned(
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
        signature: &str,
    ) -> String {
        format!(
            "{}.{}.{signature}",
            xaa::jwt::encode_segment(header),
            xaa::jwt::encode_segment(claims)
        )
    }

    /// A JWS of `claims` under `typ`, with one mutation chosen by `choice` (0: none).
    fn token(
        &mut self,
        typ: &str,
        claims: Map<String, Value>,
        choice: u8,
        input: &mut Input<'_>,
    ) -> String {
        let mut header = object(json!({"alg": "ES256", "typ": typ, "kid": IDP_KID}));
        let mut claims = claims;
        let now = self.now;
        let key = KeyId::Idp;
        match choice % 24 {
            0 => {}
            1 => {
                claims.insert("exp".into(), json!(now - SKEW - 1));
            }
            2 => {
                claims.insert("exp".into(), json!(now + 100_000));
            }
            3 => {
                claims.insert("iat".into(), json!(now + SKEW + 5));
            }
            4 => {
                claims.insert("nbf".into(), json!(now + SKEW + 5));
            }
            5 => {
                claims.remove("exp");
            }
            6 => {
                claims.remove("iat");
            }
            7 => {
                claims.remove("jti");
            }
            8 => {
                claims.remove("sub");
            }
            9 => {
                let aud = input
                    .pick(&[
                        json!("https://evil.example"),
                        json!([AS, "https://evil.example"]),
                        json!([AS]),
                        json!("https://as.example.com/"),
                        json!([]),
                        json!(IDP),
                    ])
                    .clone();
                claims.insert("aud".into(), aud);
            }
            10 => {
                let iss = input
                    .pick(&[
                        json!(OTHER_IDP),
                        json!("https://evil.example"),
                        json!(AS),
                        json!(1),
                    ])
                    .clone();
                claims.insert("iss".into(), iss);
            }
            11 => {
                let client = input
                    .pick(&[
                        json!("other-client"),
                        json!(""),
                        json!("mcp-post"),
                        json!(3),
                    ])
                    .clone();
                claims.insert("client_id".into(), client);
            }
            12 => {
                let resource = input
                    .pick(&[
                        json!(RESOURCE2),
                        json!([RESOURCE]),
                        json!([RESOURCE, RESOURCE2]),
                        json!("https://evil.example/mcp"),
                        json!(null),
                    ])
                    .clone();
                claims.insert("resource".into(), resource);
            }
            13 => {
                claims.remove("resource");
            }
            14 => {
                let scope = input
                    .pick(&[
                        json!("read write admin delete"),
                        json!(""),
                        json!("admin"),
                        json!(7),
                    ])
                    .clone();
                claims.insert("scope".into(), scope);
            }
            15 => {
                claims.insert("cnf".into(), json!({"jkt": "thumbprint"}));
            }
            16 => {
                let (name, value) = input
                    .pick(&[
                        ("typ", json!("JWT")),
                        ("typ", json!("application/oauth-id-jag+jwt")),
                        ("typ", json!("OAuth-ID-JAG+JWT")),
                        ("alg", json!("none")),
                        ("alg", json!("HS256")),
                        ("alg", json!("RS256")),
                        ("kid", json!("unknown-kid")),
                        ("crit", json!(["exp"])),
                        ("jku", json!("https://evil.example/jwks")),
                    ])
                    .clone();
                header.insert(name.into(), value);
            }
            17 => {
                header.remove("kid");
            }
            18 => {
                // Signed by the forger under the IdP's kid.
                return self.sign(KeyId::Forger, &header, &claims);
            }
            19 => return Self::unsigned(&header, &claims, ""),
            20 => {
                // The IdP's signature over other claims.
                let real = self.sign(key, &header, &claims);
                let signature = real.rsplit('.').next().unwrap_or_default().to_owned();
                claims.insert("sub".into(), json!("mallory"));
                return Self::unsigned(&header, &claims, &signature);
            }
            21 => {
                header.insert("alg".into(), json!("none"));
                return Self::unsigned(&header, &claims, "");
            }
            22 => {
                claims.insert("iss".into(), json!(OTHER_IDP));
                return self.sign(KeyId::Forger, &header, &claims);
            }
            _ => {
                claims.insert("exp".into(), json!(1e300));
            }
        }
        self.sign(key, &header, &claims)
    }

    /// An ID token of the IdP for `client`.
    fn id_token(&mut self, client: &str, choice: u8, input: &mut Input<'_>) -> String {
        let claims = object(json!({
            "iss": IDP, "sub": "alice", "aud": client, "iat": self.now - 30,
            "exp": self.now + 600, "email": "alice@example.com",
        }));
        // ID tokens carry no jti or resource; mutations of those are no-ops.
        self.token("JWT", claims, choice, input)
    }

    /// An ID-JAG for the authorization server and `client`.
    fn id_jag(&mut self, client: &str, choice: u8, input: &mut Input<'_>) -> String {
        let jti = self.jti();
        let claims = object(json!({
            "iss": IDP, "sub": "alice", "aud": AS, "client_id": client, "jti": jti,
            "iat": self.now, "exp": self.now + 300, "resource": RESOURCE, "scope": "read write",
        }));
        self.token("oauth-id-jag+jwt", claims, choice, input)
    }

    /// A `private_key_jwt` assertion of `client` for `audience`.
    fn client_assertion(&mut self, client: &str, audience: &str, choice: u8) -> String {
        let jti = self.jti();
        let mut claims = object(json!({
            "iss": client, "sub": client, "aud": audience, "jti": jti,
            "iat": self.now, "exp": self.now + 60,
        }));
        let header = object(json!({"alg": "ES256", "typ": "JWT", "kid": CLIENT_KID}));
        match choice % 8 {
            1 => {
                claims.insert("aud".into(), json!("https://evil.example/token"));
            }
            2 => {
                claims.insert("exp".into(), json!(self.now - SKEW - 5));
            }
            3 => {
                claims.remove("jti");
            }
            4 => return self.sign(KeyId::Forger, &header, &claims),
            5 => {
                claims.insert("jti".into(), json!("jti-fixed"));
            }
            6 => {
                claims.insert("sub".into(), json!("other-client"));
            }
            _ => {}
        }
        self.sign(KeyId::Client, &header, &claims)
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A token request under construction.
#[derive(Clone, Debug)]
struct Req {
    method: Method,
    content_type: Option<&'static str>,
    authorization: Vec<String>,
    form: Vec<(String, String)>,
}

impl Req {
    fn post(form: Vec<(&str, String)>) -> Self {
        Self {
            method: Method::POST,
            content_type: Some("application/x-www-form-urlencoded"),
            authorization: Vec::new(),
            form: form.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        }
    }

    fn basic(mut self, client: &str, secret: &str) -> Self {
        self.authorization
            .push(crate::form::basic_authorization(client, secret));
        self
    }

    fn set(&mut self, name: &str, value: String) {
        match self.form.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.form.push((name.to_owned(), value)),
        }
    }

    fn to_http(&self, uri: &str) -> Request<Vec<u8>> {
        let pairs: Vec<(&str, &str)> = self
            .form
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let mut builder = Request::builder().method(self.method.clone()).uri(uri);
        if let Some(content_type) = self.content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        for value in &self.authorization {
            // Bytes a header cannot carry never reach a server: skip them.
            if let Ok(value) = http::HeaderValue::from_bytes(value.as_bytes()) {
                builder = builder.header(AUTHORIZATION, value);
            }
        }
        match builder.body(crate::form::encode(&pairs)) {
            Ok(request) => request,
            Err(error) => panic!("the harness built an invalid request: {error}"),
        }
    }

    /// The decoded form, as the server reads it.
    fn decoded(&self, request: &Request<Vec<u8>>) -> Vec<(String, String)> {
        let _ = self;
        url::form_urlencoded::parse(request.body())
            .into_owned()
            .collect()
    }
}

/// How many times `name` appears, and its value when it appears once with a value.
fn single<'a>(form: &'a [(String, String)], name: &str) -> (usize, Option<&'a str>) {
    let values: Vec<&str> = form
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect();
    let one = match values.as_slice() {
        [value] if !value.is_empty() => Some(*value),
        _ => None,
    };
    (values.len(), one)
}

/// A registered client of the model: id, method, secret.
#[derive(Clone, Copy)]
struct Client {
    id: &'static str,
    method: Method_,
    secret: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Method_ {
    Basic,
    Post,
    Public,
    Jwt,
}

fn registry(clients: &[Client]) -> ClientRegistry {
    let mut registry = ClientRegistry::new();
    for client in clients {
        registry.register(match client.method {
            Method_::Basic => {
                RegisteredClient::client_secret_basic(client.id, ClientSecret::new(client.secret))
            }
            Method_::Post => {
                RegisteredClient::client_secret_post(client.id, ClientSecret::new(client.secret))
            }
            Method_::Public => RegisteredClient::public(client.id),
            Method_::Jwt => RegisteredClient::private_key_jwt(
                client.id,
                Arc::clone(&keys().client_ring) as Arc<dyn KeySet>,
            ),
        });
    }
    registry
}

/// The client a request authenticates as, judged here independently: exactly one method,
/// the registered one, with the registered secret, or an assertion the client key signed
/// (valid times and audience, `iss` = `sub` = the client, a `jti` not accepted before).
fn authenticated(
    clients: &[Client],
    request: &Request<Vec<u8>>,
    form: &[(String, String)],
    harness: &Harness,
    audiences: [&str; 2],
    used_jtis: &HashSet<String>,
) -> Option<(String, Option<String>)> {
    let headers: Vec<_> = request.headers().get_all(AUTHORIZATION).iter().collect();
    if headers.len() > 1 {
        return None;
    }
    let (_, secret) = single(form, "client_secret");
    let (_, assertion_type) = single(form, "client_assertion_type");
    let (_, assertion) = single(form, "client_assertion");
    let (_, client_id) = single(form, "client_id");
    let used = [
        !headers.is_empty(),
        secret.is_some(),
        assertion.is_some() || assertion_type.is_some(),
    ];
    if used.iter().filter(|u| **u).count() > 1 {
        return None;
    }
    let find =
        |id: &str, method: Method_| clients.iter().find(|c| c.id == id && c.method == method);
    if let Some(header) = headers.first() {
        let (id, presented) = crate::form::parse_basic_authorization(header.to_str().ok()?)?;
        if client_id.is_some_and(|body| body != id) {
            return None;
        }
        let client = find(&id, Method_::Basic)?;
        return (presented == client.secret).then(|| (id.clone(), None));
    }
    if let Some(secret) = secret {
        let client = find(client_id?, Method_::Post)?;
        return (secret == client.secret).then(|| (client.id.to_owned(), None));
    }
    if let Some(assertion) = assertion {
        if assertion_type != Some(CLIENT_ASSERTION_TYPE_JWT_BEARER) {
            return None;
        }
        let (header, claims) = peek(assertion)?;
        let sub = claims.get("sub").and_then(Value::as_str)?;
        let id = client_id.unwrap_or(sub);
        let client = find(id, Method_::Jwt)?;
        let now = harness.now;
        let ok = harness.minted.contains(KeyId::Client, assertion)
            && header.get("alg").and_then(Value::as_str) == Some("ES256")
            && claims.get("iss").and_then(Value::as_str) == Some(client.id)
            && sub == client.id
            && claims
                .get("aud")
                .and_then(single_string)
                .is_some_and(|aud| audiences.contains(&aud))
            && number(&claims, "exp").is_some_and(|exp| now < exp.saturating_add(SKEW))
            && number(&claims, "iat").is_some_and(|iat| iat <= now + SKEW);
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())?;
        return (ok && !used_jtis.contains(jti))
            .then(|| (client.id.to_owned(), Some(jti.to_owned())));
    }
    if assertion_type.is_some() {
        return None;
    }
    let client = find(client_id?, Method_::Public)?;
    Some((client.id.to_owned(), None))
}

/// Every error response: RFC 6749 section 5.2 JSON with a string `error`, `Cache-Control:
/// no-store`, 400, 401 (only for `invalid_client`, with a Basic challenge when the client
/// used Basic) or 503; a description in printable ASCII without `"` or `\`; no secret.
fn check_error_response(
    response: &Response<Vec<u8>>,
    request: &Request<Vec<u8>>,
    secrets: &[&str],
) {
    let status = response.status().as_u16();
    assert!(
        matches!(status, 400 | 401 | 503),
        "an error response with status {status}: {}",
        String::from_utf8_lossy(response.body())
    );
    assert_eq!(
        response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(response.body()) else {
        panic!("an error response that is not a JSON object");
    };
    let Some(code) = body.get("error").and_then(Value::as_str) else {
        panic!("an error response without a string `error`");
    };
    assert!(!code.is_empty());
    assert_eq!(
        status == 401,
        code == "invalid_client",
        "401 is for invalid_client only"
    );
    if status == 401 {
        let basic_used = request.headers().contains_key(AUTHORIZATION);
        let challenged = response.headers().get(WWW_AUTHENTICATE).is_some();
        assert_eq!(
            basic_used, challenged,
            "a Basic challenge exactly when Basic was used"
        );
    }
    if let Some(description) = body.get("error_description") {
        let Some(description) = description.as_str() else {
            panic!("a non-string error_description");
        };
        assert!(
            description
                .chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
            "error_description outside RFC 6749's characters: {description:?}"
        );
    }
    let shown = String::from_utf8_lossy(response.body());
    for secret in secrets {
        assert!(!shown.contains(secret), "a secret in an error response");
    }
}

fn check_success_headers(response: &Response<Vec<u8>>) -> Map<String, Value> {
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    match serde_json::from_slice::<Value>(response.body()) {
        Ok(Value::Object(body)) => body,
        _ => panic!("a success response that is not a JSON object"),
    }
}

/// One edit of a request: a parameter set to a value, removed or repeated; a header; the
/// method; the media type.
fn edit(
    req: &mut Req,
    input: &mut Input<'_>,
    names: &[&str],
    value: &mut dyn FnMut(&str, &mut Input<'_>) -> String,
) {
    match input.below(8) {
        0..=2 => {
            let name = *input.pick(names);
            let v = value(name, input);
            req.set(name, v);
        }
        3 => {
            let name = *input.pick(names);
            req.form.retain(|(n, _)| n != name);
        }
        4 => {
            let name = *input.pick(names);
            let v = value(name, input);
            req.form.push((name.to_owned(), v));
        }
        5 => {
            let header = match input.below(5) {
                0 => "Basic !!!".to_owned(),
                1 => "Bearer abc".to_owned(),
                2 => crate::form::basic_authorization("unknown", "x"),
                3 => crate::form::basic_authorization("mcp-client", "wrong"),
                _ => String::from_utf8_lossy(input.chunk()).into_owned(),
            };
            if input.flag() {
                req.authorization.clear();
            }
            req.authorization.push(header);
        }
        6 => req.authorization.clear(),
        _ => {
            if input.flag() {
                req.method = input
                    .pick(&[Method::GET, Method::PUT, Method::POST])
                    .clone();
            } else {
                req.content_type = *input.pick(&[
                    None,
                    Some("application/json"),
                    Some("application/x-www-form-urlencoded; charset=UTF-8"),
                    Some("APPLICATION/X-WWW-FORM-URLENCODED"),
                    Some("multipart/form-data"),
                ]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The IdP

const IDP_CLIENTS: [Client; 4] = [
    Client {
        id: "idp-client",
        method: Method_::Basic,
        secret: "idp-basic-secret-41d2",
    },
    Client {
        id: "post-client",
        method: Method_::Post,
        secret: "idp-post-secret-93aa",
    },
    Client {
        id: "public-client",
        method: Method_::Public,
        secret: "",
    },
    Client {
        id: "jwt-client",
        method: Method_::Jwt,
        secret: "",
    },
];

/// The client's id at the authorization server, per the IdP's policy.
fn mapped(client: &str) -> &'static str {
    match client {
        "idp-client" => "mcp-client",
        "post-client" => "mcp-post",
        "public-client" => "mcp-public",
        _ => "mcp-jwt",
    }
}

const IDP_NAMES: &[&str] = &[
    "grant_type",
    "requested_token_type",
    "subject_token",
    "subject_token_type",
    "audience",
    "resource",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
    "actor_token",
    "junk",
];

fn idp_server(harness: &Harness, require_resource: bool) -> IdentityProviderEndpoint {
    let mut config = IdentityProviderConfig::new(IDP, IDP_TOKEN);
    config.require_resource = require_resource;
    let mut target = ApprovedTarget::new(AS, RESOURCE)
        .with_allowed_scopes(Scope::parse("read write"))
        .with_default_scope(Scope::parse("read"));
    for client in IDP_CLIENTS {
        target = target.for_client(client.id, mapped(client.id));
    }
    let admin = ApprovedTarget::new(AS, RESOURCE2).for_client("idp-client", "mcp-client");
    let policy = StaticExchangePolicy::new().with(target).with(admin);
    let signer = Recording {
        key: KeyId::Idp,
        minted: Arc::clone(&harness.minted),
    };
    let counter = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let jti = move || {
        format!(
            "idjag-{}",
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        )
    };
    let verifier = |kind: SubjectTokenType, token: &str, _now: SystemTime| match (kind, token) {
        (SubjectTokenType::Saml2, "saml-good") => Ok(VerifiedSubject::new("alice", "idp-client")),
        (SubjectTokenType::RefreshToken, "refresh-good") => {
            Ok(VerifiedSubject::new("alice", "idp-client"))
        }
        (SubjectTokenType::RefreshToken, "refresh-other") => {
            Ok(VerifiedSubject::new("alice", "post-client"))
        }
        _ => Err(SubjectRefusal("unknown subject token".into())),
    };
    let refresh_issuer = |grant: &xaa::server::RefreshTokenGrant,
                          _now: SystemTime|
     -> Result<MintedRefreshToken, IssueError> {
        Ok(MintedRefreshToken::new(
            RefreshToken::new(format!("idp-rt-{}", grant.subject.subject)),
            grant.scope.clone(),
        ))
    };
    IdentityProviderEndpoint::new(
        config,
        registry(&IDP_CLIENTS),
        Arc::new(signer),
        Arc::clone(&keys().idp_ring) as Arc<dyn KeySet>,
        Arc::new(jti),
        Arc::new(policy),
    )
    .with_subject_verifier(Arc::new(verifier))
    .with_refresh_token_issuer(Arc::new(refresh_issuer))
}

/// The IdP's token-exchange endpoint (RFC 8693, ID-JAG draft section 4.3), fed arbitrary
/// requests derived from valid ones.
///
/// Properties: never a panic; every error response is well-formed (see the module docs); a
/// success only when the form had exactly one non-empty `grant_type` (token exchange),
/// `requested_token_type`, `subject_token`, `subject_token_type` and `audience`, at most one
/// `resource` (exactly one when required), and the client authenticated with exactly one
/// valid method; an ID token subject was signed by the IdP's key (never forged or altered),
/// is unexpired, names this IdP and was issued to that client; the minted ID-JAG verifies
/// with the IdP's key, has the ID-JAG `typ`, `iss` this IdP, `aud` the requested audience,
/// `client_id` the client's id at that audience, the requested resource, a scope within the
/// request and the policy, a fresh `jti` and a five-minute life; an approved (audience,
/// resource) pair only.
pub fn server_token_exchange(data: &[u8]) {
    let mut input = Input::new(data);
    let require_resource = !input.flag();
    let requests = 1 + input.below(3);
    let mut harness = Harness::new();
    let idp = idp_server(&harness, require_resource);
    let mut used_jtis = HashSet::new();
    let mut minted_jtis = HashSet::new();
    for _ in 0..requests {
        let baseline = input.below(6);
        let mut req = match baseline {
            0 | 4 | 5 => {
                let mut req = Req::post(vec![
                    ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE.into()),
                    ("requested_token_type", TOKEN_TYPE_ID_JAG.into()),
                    ("subject_token", String::new()),
                    ("subject_token_type", TOKEN_TYPE_ID_TOKEN.into()),
                    ("audience", AS.into()),
                    ("resource", RESOURCE.into()),
                    ("scope", "read".into()),
                ])
                .basic("idp-client", IDP_CLIENTS[0].secret);
                match baseline {
                    0 => req.set(
                        "subject_token",
                        harness.id_token("idp-client", 0, &mut input),
                    ),
                    4 => {
                        req.set("requested_token_type", TOKEN_TYPE_REFRESH_TOKEN.into());
                        req.set("subject_token", "saml-good".into());
                        req.set("subject_token_type", TOKEN_TYPE_SAML2.into());
                        req.form.retain(|(n, _)| n != "audience" && n != "resource");
                        req.set("scope", "openid offline_access".into());
                    }
                    _ => {
                        req.set("subject_token", "refresh-good".into());
                        req.set("subject_token_type", TOKEN_TYPE_REFRESH_TOKEN.into());
                    }
                }
                req
            }
            1 => Req::post(vec![
                ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE.into()),
                ("requested_token_type", TOKEN_TYPE_ID_JAG.into()),
                (
                    "subject_token",
                    harness.id_token("post-client", 0, &mut input),
                ),
                ("subject_token_type", TOKEN_TYPE_ID_TOKEN.into()),
                ("audience", AS.into()),
                ("resource", RESOURCE.into()),
                ("client_id", "post-client".into()),
                ("client_secret", IDP_CLIENTS[1].secret.into()),
            ]),
            2 => Req::post(vec![
                ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE.into()),
                ("requested_token_type", TOKEN_TYPE_ID_JAG.into()),
                (
                    "subject_token",
                    harness.id_token("public-client", 0, &mut input),
                ),
                ("subject_token_type", TOKEN_TYPE_ID_TOKEN.into()),
                ("audience", AS.into()),
                ("resource", RESOURCE.into()),
                ("client_id", "public-client".into()),
            ]),
            _ => {
                let assertion = harness.client_assertion("jwt-client", IDP_TOKEN, 0);
                Req::post(vec![
                    ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE.into()),
                    ("requested_token_type", TOKEN_TYPE_ID_JAG.into()),
                    (
                        "subject_token",
                        harness.id_token("jwt-client", 0, &mut input),
                    ),
                    ("subject_token_type", TOKEN_TYPE_ID_TOKEN.into()),
                    ("audience", AS.into()),
                    ("resource", RESOURCE.into()),
                    (
                        "client_assertion_type",
                        CLIENT_ASSERTION_TYPE_JWT_BEARER.into(),
                    ),
                    ("client_assertion", assertion),
                ])
            }
        };
        for _ in 0..input.below(5) {
            edit(&mut req, &mut input, IDP_NAMES, &mut |name, input| {
                idp_value(&mut harness, name, input)
            });
        }
        let request = req.to_http(IDP_TOKEN);
        let response = idp.handle(&request, now());
        crate::trace!(
            "{:?} -> {} {}",
            req.form.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            response.status(),
            String::from_utf8_lossy(response.body())
        );
        let secrets: Vec<&str> = IDP_CLIENTS
            .iter()
            .map(|c| c.secret)
            .filter(|s| !s.is_empty())
            .collect();
        if !response.status().is_success() {
            check_error_response(&response, &request, &secrets);
            continue;
        }
        let body = check_success_headers(&response);
        let form = req.decoded(&request);
        for name in [
            "grant_type",
            "requested_token_type",
            "subject_token",
            "subject_token_type",
        ] {
            assert!(
                single(&form, name).1.is_some(),
                "a success without exactly one {name}"
            );
        }
        assert_eq!(
            single(&form, "grant_type").1,
            Some(GRANT_TYPE_TOKEN_EXCHANGE)
        );
        let Some((client, jti)) = authenticated(
            &IDP_CLIENTS,
            &request,
            &form,
            &harness,
            [IDP_TOKEN, IDP],
            &used_jtis,
        ) else {
            panic!("an exchange succeeded without valid client authentication");
        };
        used_jtis.extend(jti);
        let subject_type = single(&form, "subject_token_type").1.unwrap_or_default();
        let subject = single(&form, "subject_token").1.unwrap_or_default();
        let sub = check_subject(&harness, subject_type, subject, &client);
        assert_eq!(body.get("token_type").and_then(Value::as_str), Some("N_A"));
        assert!(body.get("refresh_token").is_none());
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let requested = single(&form, "requested_token_type").1;
        if requested == Some(TOKEN_TYPE_REFRESH_TOKEN) {
            assert_eq!(
                subject_type, TOKEN_TYPE_SAML2,
                "a refresh token for a non-SAML subject"
            );
            assert_eq!(
                body.get("issued_token_type").and_then(Value::as_str),
                Some(TOKEN_TYPE_REFRESH_TOKEN)
            );
            continue;
        }
        assert_eq!(requested, Some(TOKEN_TYPE_ID_JAG));
        assert_eq!(
            body.get("issued_token_type").and_then(Value::as_str),
            Some(TOKEN_TYPE_ID_JAG)
        );
        assert_eq!(body.get("expires_in").and_then(Value::as_u64), Some(300));
        let (audiences, audience) = single(&form, "audience");
        assert_eq!(audiences, 1, "a success without exactly one audience");
        let (resources, resource) = single(&form, "resource");
        assert!(resources <= 1, "a success with several resources");
        if require_resource {
            assert!(
                resource.is_some(),
                "a success without the required resource"
            );
        }
        let Some(audience) = audience else {
            panic!("a success with an empty audience");
        };
        let granted_resource = resource.unwrap_or(RESOURCE);
        assert!(
            audience == AS
                && (granted_resource == RESOURCE
                    || (granted_resource == RESOURCE2 && client == "idp-client")),
            "an unapproved target ({audience}, {granted_resource}) for {client}"
        );
        assert!(
            harness.minted.contains(KeyId::Idp, token),
            "an ID-JAG the IdP key did not sign"
        );
        let Some((header, claims)) = peek(token) else {
            panic!("a minted ID-JAG that does not decode");
        };
        assert_eq!(
            header.get("typ").and_then(Value::as_str),
            Some("oauth-id-jag+jwt")
        );
        assert_eq!(header.get("alg").and_then(Value::as_str), Some("ES256"));
        let claim = |name: &str| claims.get(name).and_then(Value::as_str);
        assert_eq!(claim("iss"), Some(IDP));
        assert_eq!(claim("aud"), Some(audience));
        assert_eq!(claim("client_id"), Some(mapped(&client)));
        assert_eq!(claim("resource"), Some(granted_resource));
        assert_eq!(claim("sub"), Some(sub.as_str()));
        assert_eq!(number(&claims, "iat"), Some(harness.now));
        assert_eq!(number(&claims, "exp"), Some(harness.now + 300));
        let jti = claim("jti").unwrap_or_default().to_owned();
        assert!(
            !jti.is_empty() && minted_jtis.insert(jti),
            "an ID-JAG jti reused"
        );
        let scope = Scope::parse(claim("scope").unwrap_or_default());
        let asked = Scope::parse(single(&form, "scope").1.unwrap_or_default());
        if granted_resource == RESOURCE {
            assert!(
                scope.is_subset_of(&Scope::parse("read write")),
                "scope beyond the policy"
            );
        }
        if !asked.is_empty() {
            assert!(scope.is_subset_of(&asked), "scope beyond the request");
        }
    }
}

/// The subject token of a successful exchange, checked independently; its `sub`.
fn check_subject(harness: &Harness, subject_type: &str, token: &str, client: &str) -> String {
    match subject_type {
        TOKEN_TYPE_ID_TOKEN => {
            assert!(
                harness.minted.contains(KeyId::Idp, token),
                "an ID token the IdP never signed was accepted (forgery)"
            );
            let Some((header, claims)) = peek(token) else {
                panic!("an accepted ID token that does not decode");
            };
            assert_eq!(header.get("alg").and_then(Value::as_str), Some("ES256"));
            assert_eq!(claims.get("iss").and_then(Value::as_str), Some(IDP));
            let aud_ok = match claims.get("aud") {
                Some(Value::String(aud)) => aud == client,
                Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(client)),
                _ => false,
            };
            assert!(aud_ok, "an ID token of another client accepted");
            let now = harness.now;
            assert!(
                number(&claims, "exp").is_some_and(|exp| now < exp.saturating_add(SKEW)),
                "an expired ID token accepted"
            );
            if let Some(iat) = claims.get("iat") {
                assert!(
                    number(&claims, "iat").is_some_and(|i| i <= now + SKEW),
                    "iat {iat}"
                );
            }
            if claims.contains_key("nbf") {
                assert!(number(&claims, "nbf").is_some_and(|n| n <= now + SKEW));
            }
            let sub = claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default();
            assert!(!sub.is_empty());
            sub.to_owned()
        }
        TOKEN_TYPE_SAML2 => {
            assert_eq!((token, client), ("saml-good", "idp-client"));
            "alice".to_owned()
        }
        TOKEN_TYPE_REFRESH_TOKEN => {
            assert!(
                (token, client) == ("refresh-good", "idp-client")
                    || (token, client) == ("refresh-other", "post-client"),
                "a refresh token of another client accepted"
            );
            "alice".to_owned()
        }
        other => panic!("a success with subject_token_type {other:?}"),
    }
}

fn idp_value(harness: &mut Harness, name: &str, input: &mut Input<'_>) -> String {
    let choice = input.byte();
    if choice >= 0xf0 {
        return String::from_utf8_lossy(input.chunk()).into_owned();
    }
    let pick = |table: &[&str]| table[usize::from(choice) % table.len()].to_owned();
    match name {
        "grant_type" => pick(&[
            GRANT_TYPE_TOKEN_EXCHANGE,
            GRANT_TYPE_JWT_BEARER,
            "authorization_code",
            "",
        ]),
        "requested_token_type" => pick(&[
            TOKEN_TYPE_ID_JAG,
            TOKEN_TYPE_REFRESH_TOKEN,
            "urn:ietf:params:oauth:token-type:access_token",
            "",
        ]),
        "subject_token_type" => pick(&[
            TOKEN_TYPE_ID_TOKEN,
            TOKEN_TYPE_SAML2,
            TOKEN_TYPE_REFRESH_TOKEN,
            "urn:x",
            "",
        ]),
        "audience" => pick(&[
            AS,
            "https://as.example.com/",
            "https://evil.example",
            "",
            IDP,
        ]),
        "resource" => pick(&[
            RESOURCE,
            RESOURCE2,
            "https://evil.example/mcp",
            "",
            "https://mcp.example.com/mcp/",
        ]),
        "scope" => pick(&["read", "read write", "admin", "", "read delete", "  "]),
        "client_id" => pick(&[
            "idp-client",
            "post-client",
            "public-client",
            "jwt-client",
            "unknown",
            "",
        ]),
        "client_secret" => pick(&[IDP_CLIENTS[0].secret, IDP_CLIENTS[1].secret, "wrong", ""]),
        "client_assertion_type" => pick(&[CLIENT_ASSERTION_TYPE_JWT_BEARER, "urn:x", ""]),
        "client_assertion" => {
            let audience = *input.pick(&[IDP_TOKEN, IDP, AS_TOKEN]);
            harness.client_assertion("jwt-client", audience, choice)
        }
        "subject_token" => match choice % 4 {
            0 | 1 => {
                let client = input.pick(&IDP_CLIENTS).id;
                let mutation = input.byte();
                harness.id_token(client, mutation, input)
            }
            2 => pick(&["saml-good", "refresh-good", "refresh-other", "not-a-token"]),
            _ => harness.id_jag("mcp-client", 0, input),
        },
        _ => pick(&["x", ""]),
    }
}

// ---------------------------------------------------------------------------------------------
// The authorization server

const AS_CLIENTS: [Client; 4] = [
    Client {
        id: "mcp-client",
        method: Method_::Basic,
        secret: "as-basic-secret-7e01",
    },
    Client {
        id: "mcp-post",
        method: Method_::Post,
        secret: "as-post-secret-c3b8",
    },
    Client {
        id: "mcp-public",
        method: Method_::Public,
        secret: "",
    },
    Client {
        id: "mcp-jwt",
        method: Method_::Jwt,
        secret: "",
    },
];

const AS_NAMES: &[&str] = &[
    "grant_type",
    "assertion",
    "scope",
    "resource",
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
    "junk",
];

fn as_value(
    harness: &mut Harness,
    name: &str,
    input: &mut Input<'_>,
    previous: &[String],
) -> String {
    let choice = input.byte();
    if choice >= 0xf0 {
        return String::from_utf8_lossy(input.chunk()).into_owned();
    }
    let pick = |table: &[&str]| table[usize::from(choice) % table.len()].to_owned();
    match name {
        "grant_type" => pick(&[
            GRANT_TYPE_JWT_BEARER,
            GRANT_TYPE_TOKEN_EXCHANGE,
            "client_credentials",
            "",
        ]),
        "scope" => pick(&["read", "read write", "admin", "", "delete", "read admin"]),
        "resource" => pick(&[RESOURCE, RESOURCE2, "https://evil.example"]),
        "client_id" => pick(&[
            "mcp-client",
            "mcp-post",
            "mcp-public",
            "mcp-jwt",
            "unknown",
            "",
        ]),
        "client_secret" => pick(&[AS_CLIENTS[0].secret, AS_CLIENTS[1].secret, "wrong", ""]),
        "client_assertion_type" => pick(&[CLIENT_ASSERTION_TYPE_JWT_BEARER, "urn:x", ""]),
        "client_assertion" => {
            let audience = *input.pick(&[AS_TOKEN, AS, IDP_TOKEN]);
            harness.client_assertion("mcp-jwt", audience, choice)
        }
        "assertion" => match choice % 8 {
            // A replay: an assertion of an earlier request, verbatim.
            0 if !previous.is_empty() => previous[input.below(previous.len())].clone(),
            1 => "not.a.jwt".to_owned(),
            _ => {
                let client = input.pick(&AS_CLIENTS).id;
                let mutation = input.byte();
                harness.id_jag(client, mutation, input)
            }
        },
        _ => pick(&["x", ""]),
    }
}

/// The MCP authorization server's jwt-bearer endpoint (RFC 7523, ID-JAG draft section 4.4,
/// protocol.md 3.3), fed arbitrary requests derived from valid ones, several per run so
/// replay is exercised.
///
/// Properties: never a panic; every error response is well-formed (see the module docs); a
/// success only when the form had exactly one jwt-bearer `grant_type` and one `assertion` and
/// the client authenticated with exactly one valid method; the accepted ID-JAG was signed by
/// the key of the trusted issuer its `iss` names (never a forgery, an altered token, another
/// issuer's key, `alg` `none`), has the ID-JAG `typ`, `aud` this server (a trailing `/` only
/// when configured), `client_id` the authenticated client, a `sub`, a `jti` not accepted
/// before (a byte-identical re-submission only under `AllowIdenticalResubmission`), valid
/// times and a lifetime of at most ten minutes, no `cnf`, a served resource (or the default);
/// the response is a Bearer token with no refresh token and a scope within the ID-JAG's,
/// the request's and the resource's.
pub fn server_jwt_bearer(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let lenient = flags & 1 == 1;
    let identical = flags & 2 == 2;
    let default_resource = flags & 4 == 4;
    let requests = 1 + input.below(3);
    let mut harness = Harness::new();
    let mut config = AuthorizationServerConfig::new(AS, AS_TOKEN)
        .with_resource(
            ServedResource::new(RESOURCE).with_allowed_scopes(Scope::parse("read write admin")),
        )
        .with_resource(ServedResource::new(RESOURCE2));
    config.accept_audience_trailing_slash = lenient;
    if identical {
        config.replay_mode = ReplayMode::AllowIdenticalResubmission;
    }
    if default_resource {
        config.default_resource = Some(RESOURCE.to_owned());
    }
    let issue =
        |grant: &AccessTokenGrant, _now: SystemTime| -> Result<MintedAccessToken, IssueError> {
            Ok(MintedAccessToken::new(
                AccessToken::new(format!("at-{}", grant.id_jag_jti)),
                3600,
            ))
        };
    let server = AuthorizationServerEndpoint::new(config, registry(&AS_CLIENTS), Arc::new(issue))
        .trust(TrustedIssuer::new(
            IDP,
            Arc::clone(&keys().idp_ring) as Arc<dyn KeySet>,
        ))
        .trust(TrustedIssuer::new(
            OTHER_IDP,
            Arc::clone(&keys().forger_ring) as Arc<dyn KeySet>,
        ));
    let mut previous: Vec<String> = Vec::new();
    let mut accepted: Vec<(String, String, String)> = Vec::new();
    let mut used_jtis = HashSet::new();
    for _ in 0..requests {
        let baseline = input.below(4);
        let client = AS_CLIENTS[baseline];
        let assertion = harness.id_jag(client.id, 0, &mut input);
        let mut req = Req::post(vec![
            ("grant_type", GRANT_TYPE_JWT_BEARER.into()),
            ("assertion", assertion),
        ]);
        match client.method {
            Method_::Basic => req = req.basic(client.id, client.secret),
            Method_::Post => {
                req.set("client_id", client.id.into());
                req.set("client_secret", client.secret.into());
            }
            Method_::Public => req.set("client_id", client.id.into()),
            Method_::Jwt => {
                let assertion = harness.client_assertion(client.id, AS_TOKEN, 0);
                req.set(
                    "client_assertion_type",
                    CLIENT_ASSERTION_TYPE_JWT_BEARER.into(),
                );
                req.set("client_assertion", assertion);
            }
        }
        let earlier = previous.clone();
        for _ in 0..input.below(5) {
            edit(&mut req, &mut input, AS_NAMES, &mut |name, input| {
                as_value(&mut harness, name, input, &earlier)
            });
        }
        let request = req.to_http(AS_TOKEN);
        let form = req.decoded(&request);
        if let (_, Some(assertion)) = single(&form, "assertion") {
            previous.push(assertion.to_owned());
        }
        let response = server.handle(&request, now());
        crate::trace!(
            "{:?} -> {} {}",
            req.form.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            response.status(),
            String::from_utf8_lossy(response.body())
        );
        let secrets: Vec<&str> = AS_CLIENTS
            .iter()
            .map(|c| c.secret)
            .filter(|s| !s.is_empty())
            .collect();
        if !response.status().is_success() {
            check_error_response(&response, &request, &secrets);
            continue;
        }
        let body = check_success_headers(&response);
        assert_eq!(single(&form, "grant_type").1, Some(GRANT_TYPE_JWT_BEARER));
        let (count, assertion) = single(&form, "assertion");
        assert_eq!(count, 1, "a success without exactly one assertion");
        let Some(assertion) = assertion else {
            panic!("a success with an empty assertion");
        };
        let Some((client, jti)) = authenticated(
            &AS_CLIENTS,
            &request,
            &form,
            &harness,
            [AS_TOKEN, AS],
            &used_jtis,
        ) else {
            panic!("a grant succeeded without valid client authentication");
        };
        used_jtis.extend(jti);
        let Some((header, claims)) = peek(assertion) else {
            panic!("an accepted ID-JAG that does not decode");
        };
        let claim = |name: &str| claims.get(name).and_then(Value::as_str);
        let key = match claim("iss") {
            Some(IDP) => KeyId::Idp,
            Some(OTHER_IDP) => KeyId::Forger,
            other => panic!("an ID-JAG from an untrusted issuer {other:?} accepted"),
        };
        assert!(
            harness.minted.contains(key, assertion),
            "an ID-JAG its issuer's key never signed was accepted (forgery)"
        );
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        assert!(matches!(
            typ.as_deref(),
            Some("oauth-id-jag+jwt" | "application/oauth-id-jag+jwt")
        ));
        assert_eq!(header.get("alg").and_then(Value::as_str), Some("ES256"));
        assert!(!header.contains_key("crit"));
        let aud = claims.get("aud").and_then(single_string);
        assert!(
            aud == Some(AS) || (lenient && aud == Some("https://as.example.com/")),
            "an ID-JAG for audience {aud:?} accepted"
        );
        assert_eq!(claim("client_id"), Some(client.as_str()));
        assert!(claim("sub").is_some_and(|s| !s.is_empty()));
        assert!(!claims.contains_key("cnf"));
        let now = harness.now;
        let exp = number(&claims, "exp").unwrap_or_default();
        let iat = number(&claims, "iat");
        assert!(now < exp.saturating_add(SKEW), "an expired ID-JAG accepted");
        assert!(iat.is_some_and(|iat| iat <= now + SKEW && exp.saturating_sub(iat) <= 600));
        if claims.contains_key("nbf") {
            assert!(number(&claims, "nbf").is_some_and(|n| n <= now + SKEW));
        }
        let resource = match claims.get("resource") {
            Some(value) => single_string(value).map(str::to_owned),
            None => default_resource.then(|| RESOURCE.to_owned()),
        };
        assert!(
            matches!(resource.as_deref(), Some(RESOURCE | RESOURCE2)),
            "an ID-JAG for resource {resource:?} accepted"
        );
        let Some(jti) = claim("jti").filter(|j| !j.is_empty()) else {
            panic!("an ID-JAG without a jti accepted");
        };
        let issuer = claim("iss").unwrap_or_default().to_owned();
        for (seen_issuer, seen_jti, seen_token) in &accepted {
            if *seen_issuer == issuer && seen_jti == jti {
                assert!(
                    identical && seen_token == assertion,
                    "a replayed ID-JAG jti accepted"
                );
            }
        }
        accepted.push((issuer, jti.to_owned(), assertion.to_owned()));
        assert_eq!(
            body.get("token_type").and_then(Value::as_str),
            Some("Bearer")
        );
        assert!(
            body.get("refresh_token").is_none(),
            "a refresh token from the jwt-bearer grant"
        );
        assert!(body.get("access_token").and_then(Value::as_str).is_some());
        let granted = Scope::parse(
            body.get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let id_jag_scope = Scope::parse(claim("scope").unwrap_or_default());
        assert!(
            granted.is_subset_of(&id_jag_scope),
            "scope beyond the ID-JAG"
        );
        // A scope of only spaces is no scope: the ID-JAG's applies.
        let asked = Scope::parse(single(&form, "scope").1.unwrap_or_default());
        if !asked.is_empty() {
            assert!(granted.is_subset_of(&asked), "scope beyond the request");
        }
        if resource.as_deref() == Some(RESOURCE) {
            assert!(granted.is_subset_of(&Scope::parse("read write admin")));
        }
    }
}
