//! Shared fixtures for the `server_*` tests: fixed time, keys generated once, token and request
//! builders, and servers with recording issuers.
#![allow(dead_code, unreachable_pub)]

#[path = "../support/form.rs"]
pub mod form;

#[cfg(feature = "jwt")]
pub mod dpop;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Request;
use serde_json::{Map, Value, json};
use xaa::jose::SigningKey;
use xaa::jose::{TokenSigner, sign_jwt};
use xaa::server::{
    AccessTokenGrant, AuthorizationServerConfig, AuthorizationServerEndpoint, ClientRegistry,
    IssueError, MintedAccessToken, RegisteredClient, ServedResource, TrustedIssuer,
};
use xaa::{AccessToken, ClientSecret, Scope};

pub const NOW: u64 = 1_800_000_000;
pub const AS_ISSUER: &str = "https://as.example.com";
pub const AS_TOKEN_ENDPOINT: &str = "https://as.example.com/token";
pub const IDP_ISSUER: &str = "https://idp.example.com";
pub const IDP_TOKEN_ENDPOINT: &str = "https://idp.example.com/token";
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
pub const CLIENT_ID: &str = "mcp-client";
pub const CLIENT_SECRET: &str = "mcp-secret";
pub const IDP_CLIENT_ID: &str = "idp-client";
pub const IDP_CLIENT_SECRET: &str = "idp-secret";
pub const IDP_KID: &str = "idp-key-1";

pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

pub fn at(offset: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW.saturating_add_signed(offset))
}

/// The IdP's ES256 key (generated once per test binary).
pub fn idp_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_es256(IDP_KID).expect("ES256 key"))
}

/// Another ES256 key with the same kid: a forger's.
pub fn forger_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_es256(IDP_KID).expect("ES256 key"))
}

/// An RS256 key, generated once.
pub fn rsa_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_rs256("rsa-key-1").expect("RS256 key"))
}

/// A client's ES256 key for private_key_jwt.
pub fn client_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_es256("client-key-1").expect("ES256 key"))
}

/// A unique jti per call.
pub fn fresh_jti() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Valid ID-JAG claims for the MCP authorization server.
pub fn id_jag_claims() -> Map<String, Value> {
    let Value::Object(claims) = json!({
        "iss": IDP_ISSUER,
        "sub": "alice",
        "aud": AS_ISSUER,
        "client_id": CLIENT_ID,
        "jti": fresh_jti(),
        "iat": NOW,
        "exp": NOW + 300,
        "resource": RESOURCE,
        "scope": "read write",
    }) else {
        unreachable!()
    };
    claims
}

/// The ID-JAG header the IdP key produces.
pub fn id_jag_header(key: &dyn TokenSigner) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".into(), json!("oauth-id-jag+jwt"));
    header.insert("alg".into(), json!(key.algorithm()));
    if let Some(kid) = key.kid() {
        header.insert("kid".into(), json!(kid));
    }
    header
}

/// An ID-JAG signed by the IdP key.
pub fn id_jag(claims: &Map<String, Value>) -> String {
    sign_jwt(idp_key(), "oauth-id-jag+jwt", claims).expect("signs")
}

/// A token signed by `key` under exactly `header`.
pub fn signed_with_header(
    key: &dyn TokenSigner,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> String {
    let signing_input = format!(
        "{}.{}",
        xaa::jwt::encode_segment(header),
        xaa::jwt::encode_segment(claims)
    );
    let signature = key.sign(signing_input.as_bytes()).expect("signs");
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Valid ID-JAG claims with `edit` applied.
pub fn claims_with(edit: impl FnOnce(&mut Map<String, Value>)) -> Map<String, Value> {
    let mut claims = id_jag_claims();
    edit(&mut claims);
    claims
}

/// A form POST to `uri`, optionally with HTTP Basic credentials.
pub fn form_post(
    uri: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Request<Vec<u8>> {
    let mut builder =
        Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        builder = builder.header(
            "authorization",
            form::basic_authorization(id, &ClientSecret::new(secret)),
        );
    }
    builder.body(form::encode(pairs)).expect("request")
}

/// A jwt-bearer request with the default client's Basic credentials.
pub fn jwt_bearer(assertion: &str) -> Request<Vec<u8>> {
    form_post(
        AS_TOKEN_ENDPOINT,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
}

/// Records every grant and issues `at-<n>` tokens valid for an hour.
#[derive(Clone, Default)]
pub struct RecordingIssuer {
    pub grants: Arc<Mutex<Vec<AccessTokenGrant>>>,
}

impl RecordingIssuer {
    pub fn issuer(&self) -> Arc<dyn xaa::server::AccessTokenIssuer> {
        let grants = Arc::clone(&self.grants);
        Arc::new(
            move |grant: &AccessTokenGrant,
                  _now: SystemTime|
                  -> Result<MintedAccessToken, IssueError> {
                let mut grants = grants.lock().expect("lock");
                grants.push(grant.clone());
                Ok(MintedAccessToken::new(
                    AccessToken::new(format!("at-{}", grants.len())),
                    3600,
                ))
            },
        )
    }

    pub fn last(&self) -> AccessTokenGrant {
        self.grants
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("a grant")
    }
}

/// The default authorization-server configuration: one resource, scopes read/write/admin.
pub fn as_config() -> AuthorizationServerConfig {
    AuthorizationServerConfig::new(AS_ISSUER, AS_TOKEN_ENDPOINT).with_resource(
        ServedResource::new(RESOURCE).with_allowed_scopes(Scope::parse("read write admin")),
    )
}

/// The default registry: the client with a Basic secret.
pub fn as_clients() -> ClientRegistry {
    ClientRegistry::new().with(RegisteredClient::client_secret_basic(
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
    ))
}

/// An authorization server trusting the IdP key.
pub fn authorization_server(
    config: AuthorizationServerConfig,
    clients: ClientRegistry,
) -> (AuthorizationServerEndpoint, RecordingIssuer) {
    let recorder = RecordingIssuer::default();
    let server = AuthorizationServerEndpoint::new(config, clients, recorder.issuer()).trust(
        TrustedIssuer::new(IDP_ISSUER, Arc::new(idp_key().key_ring())),
    );
    (server, recorder)
}

/// The default authorization server.
pub fn default_authorization_server() -> (AuthorizationServerEndpoint, RecordingIssuer) {
    authorization_server(as_config(), as_clients())
}

/// The JSON body of a response.
pub fn body_json(response: &http::Response<Vec<u8>>) -> Value {
    serde_json::from_slice(response.body()).expect("JSON body")
}

/// A header as a string.
pub fn header<'a>(response: &'a http::Response<Vec<u8>>, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("ASCII header"))
}
