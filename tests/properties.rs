//! quickcheck properties of the public API: discovery URL invariants, form and Basic round
//! trips, WWW-Authenticate round trips, secrets never in `Debug`, and the totality of the whole
//! `EnterpriseAuth` flow against mutated closure-fake servers.
//!
//! Every property is deterministic: the generator is seeded from `QUICKCHECK_SEED` (default
//! [`DEFAULT_SEED`]) and runs `QUICKCHECK_TESTS` cases (default 100), so CI is reproducible and
//! a developer can scale up:
//!
//! ```text
//! QUICKCHECK_TESTS=20000 QUICKCHECK_SEED=7 cargo test --test properties
//! ```
//!
//! The reachability test of the flow runs a fixed set of [`REACHABILITY_CASES`] cases from
//! [`REACHABILITY_SEED`] whatever the environment says, so what it asserts stays stable.

mod support;

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};

use http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderName, LOCATION, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use serde_json::{Value, json};
use support::{
    ACCESS_TOKEN, AS, AS_CLIENT, AS_META, AS_SECRET, AS_TOKEN, IDP, IDP_CLIENT, IDP_OAUTH_META,
    IDP_OIDC_META, IDP_TOKEN, MCP, Order, PRM_URL, Servers, bearer_response, id_token,
    json_response, now,
};
use xaa::challenge::{AuthScheme, BearerChallenge};
use xaa::grant::{SubjectToken, TokenResponse};
use xaa::{
    AccessToken, Assertion, Authorization, AuthorizationServer, ClientAuth, ClientCredentials,
    ClientSecret, EnterpriseAuth, EnterpriseConfig, Error, ErrorCode, Flow, HttpResponse, IdJag,
    IdToken, IdentityProvider, Output, Policy, Purpose, RefreshToken, SamlAssertion, SamlMode,
    Scope, Start, TransmitId,
};

// ---------------------------------------------------------------------------------------------
// Determinism.

/// The seed used when `QUICKCHECK_SEED` is not set.
const DEFAULT_SEED: u64 = 0x0990_5EED_C0FF_EE00;

/// The generator size when `QUICKCHECK_GENERATOR_SIZE` is not set (quickcheck's own default).
const DEFAULT_SIZE: usize = 100;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A `QuickCheck` runner with a seeded generator. The number of cases comes from
/// `QUICKCHECK_TESTS`, which `QuickCheck::new` reads.
fn qc() -> QuickCheck {
    let seed = env_or("QUICKCHECK_SEED", DEFAULT_SEED);
    let size = env_or("QUICKCHECK_GENERATOR_SIZE", DEFAULT_SIZE);
    // Printed only when the test fails, so a failure says how to reproduce it.
    eprintln!("QUICKCHECK_SEED={seed} QUICKCHECK_GENERATOR_SIZE={size}");
    QuickCheck::new().rng(Gen::from_size_and_seed(size, seed))
}

fn below(g: &mut Gen, n: usize) -> usize {
    usize::arbitrary(g) % n.max(1)
}

fn one_in(g: &mut Gen, n: usize) -> bool {
    below(g, n) == 0
}

fn pick<T: Clone>(g: &mut Gen, items: &[T]) -> T {
    g.choose(items).cloned().expect("a non-empty choice")
}

/// Printable ASCII (what a quoted-string carries), biased towards the characters that need
/// escaping or delimit the grammar.
fn printable(g: &mut Gen, min: usize, max: usize) -> String {
    let len = min + below(g, max - min + 1);
    (0..len)
        .map(|_| match below(g, 10) {
            0 => '"',
            1 => '\\',
            2 => ' ',
            3 => pick(g, &[',', '=', ';', '\'']),
            _ => char::from(0x20 + (u8::arbitrary(g) % 0x5f)),
        })
        .collect()
}

/// The letters, digits and hyphen of a host label after its first character.
const LABEL_TAIL: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";

/// The JSON object a base64url JWS segment holds, as the test reads it.
fn segment_object(segment: &str) -> Option<serde_json::Map<String, Value>> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// Characters that stress the encodings: delimiters, percent and plus, controls, non-ASCII,
/// bidi and byte-order marks.
const TRICKY: &[char] = &[
    ':', '%', '+', '&', '=', ' ', '#', '?', '/', '\\', '"', '\'', '\0', '\n', '\u{7f}', 'é', 'ß',
    '日', '本', '🔑', '\u{202e}', '\u{feff}',
];

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate round trip.

#[derive(Clone, Debug)]
struct ArbitraryChallenge(BearerChallenge);

impl Arbitrary for ArbitraryChallenge {
    fn arbitrary(g: &mut Gen) -> Self {
        let scheme = if one_in(g, 3) {
            AuthScheme::DPoP
        } else {
            AuthScheme::Bearer
        };
        let mut c = BearerChallenge::new(scheme);
        let text = |g: &mut Gen| (!one_in(g, 3)).then(|| printable(g, 0, 40));
        c.realm = text(g);
        c.resource_metadata = text(g);
        c.error_description = text(g);
        c.error_uri = text(g);
        c.error = (!one_in(g, 3)).then(|| {
            if one_in(g, 2) {
                ErrorCode::parse(pick(
                    g,
                    &[
                        "invalid_token",
                        "insufficient_scope",
                        "invalid_request",
                        "insufficient_user_authentication",
                    ],
                ))
            } else {
                ErrorCode::parse(&printable(g, 0, 30))
            }
        });
        c.scope = (!one_in(g, 3)).then(|| {
            let tokens: Vec<String> = (0..below(g, 5))
                .map(|_| printable(g, 1, 12).replace(' ', "_"))
                .collect();
            tokens.iter().map(String::as_str).collect::<Scope>()
        });
        c.max_age = (!one_in(g, 2)).then(|| u64::arbitrary(g));
        ArbitraryChallenge(c)
    }
}

#[test]
fn prop_bearer_challenge_round_trips() {
    fn prop(ArbitraryChallenge(original): ArbitraryChallenge) -> TestResult {
        let rendered = original.render();
        let list = match xaa::challenge::parse(&rendered) {
            Ok(list) => list,
            Err(e) => return TestResult::error(format!("{rendered:?} does not parse: {e}")),
        };
        let [challenge] = list.as_slice() else {
            return TestResult::error(format!("{rendered:?} gave {list:?}"));
        };
        let back = BearerChallenge::from_challenge(challenge);
        if back.as_ref() != Some(&original) {
            return TestResult::error(format!("{original:?} -> {rendered:?} -> {back:?}"));
        }
        // The same through a header map, as a response carries it.
        let Ok(value) = HeaderValue::from_str(&rendered) else {
            return TestResult::error(format!("{rendered:?} is not a header value"));
        };
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, value);
        TestResult::from_bool(xaa::challenge::bearer_challenges(&headers) == Ok(vec![original]))
    }
    qc().quickcheck(prop as fn(ArbitraryChallenge) -> TestResult);
}

// ---------------------------------------------------------------------------------------------
// Secrets never in Debug.

/// A secret: at least 4 characters, ASCII and not.
#[derive(Clone, Debug)]
struct SecretText(String);

impl Arbitrary for SecretText {
    fn arbitrary(g: &mut Gen) -> Self {
        let len = 4 + below(g, 28);
        SecretText(
            (0..len)
                .map(|_| match below(g, 4) {
                    0 => pick(g, TRICKY),
                    1 => char::arbitrary(g),
                    _ => char::from(pick(g, LABEL_TAIL)),
                })
                .collect(),
        )
    }
}

const PLACEHOLDER: &str = "PLACEHOLDER-SECRET-VALUE";

/// The `Debug` output of every type that holds `secret`.
fn debug_outputs(secret: &str) -> Vec<(&'static str, String)> {
    let s = || secret.to_owned();
    let token_response = TokenResponse::from_json(
        json!({"access_token": s(), "token_type": "Bearer", "refresh_token": s()})
            .to_string()
            .as_bytes(),
        &Policy::default(),
    )
    .map(|r| format!("{r:?}"))
    .unwrap_or_else(|v| format!("unparsable: {v}"));
    vec![
        ("IdToken", format!("{:?}", IdToken::new(s()))),
        ("IdJag", format!("{:?}", IdJag::new(s()))),
        ("AccessToken", format!("{:?}", AccessToken::new(s()))),
        ("RefreshToken", format!("{:?}", RefreshToken::new(s()))),
        ("ClientSecret", format!("{:?}", ClientSecret::new(s()))),
        ("SamlAssertion", format!("{:?}", SamlAssertion::new(s()))),
        ("Assertion", format!("{:?}", Assertion::new(s()))),
        (
            "SubjectToken",
            format!(
                "{:?}",
                [
                    SubjectToken::IdToken(IdToken::new(s())),
                    SubjectToken::Saml2(SamlAssertion::new(s())),
                    SubjectToken::RefreshToken(RefreshToken::new(s())),
                ]
            ),
        ),
        (
            "ClientAuth",
            format!(
                "{:?}",
                [
                    ClientAuth::ClientSecretBasic(ClientSecret::new(s())),
                    ClientAuth::ClientSecretPost(ClientSecret::new(s())),
                ]
            ),
        ),
        (
            "ClientCredentials",
            format!(
                "{:#?}",
                [
                    ClientCredentials::basic("client", ClientSecret::new(s())),
                    ClientCredentials::post("client", ClientSecret::new(s())),
                ]
            ),
        ),
        (
            "EnterpriseConfig (ID token)",
            format!(
                "{:#?}",
                EnterpriseConfig::new(
                    IdentityProvider::issuer(
                        IDP,
                        ClientCredentials::post(IDP_CLIENT, ClientSecret::new(s()))
                    ),
                    SubjectToken::IdToken(IdToken::new(s())),
                    AuthorizationServer::discovered(ClientCredentials::basic(
                        AS_CLIENT,
                        ClientSecret::new(s())
                    )),
                )
            ),
        ),
        (
            "EnterpriseConfig (SAML)",
            format!(
                "{:?}",
                EnterpriseConfig::new(
                    IdentityProvider::token_endpoint(
                        IDP_TOKEN,
                        ClientCredentials::basic(IDP_CLIENT, ClientSecret::new(s()))
                    )
                    .with_saml(SamlMode::ExchangeForRefreshToken),
                    SubjectToken::Saml2(SamlAssertion::new(s())),
                    AuthorizationServer::pinned(
                        AS,
                        ClientCredentials::post(AS_CLIENT, ClientSecret::new(s()))
                    ),
                )
            ),
        ),
        (
            "EnterpriseConfig (refresh token)",
            format!(
                "{:?}",
                EnterpriseConfig::new(
                    IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
                    SubjectToken::RefreshToken(RefreshToken::new(s())),
                    AuthorizationServer::discovered(ClientCredentials::public(AS_CLIENT)),
                )
            ),
        ),
        (
            "EnterpriseConfig (assertion)",
            format!(
                "{:?}",
                EnterpriseConfig::with_assertion(
                    Assertion::new(s()),
                    AuthorizationServer::discovered(ClientCredentials::basic(
                        AS_CLIENT,
                        ClientSecret::new(s())
                    )),
                )
            ),
        ),
        ("TokenResponse", token_response),
    ]
}

/// A whole happy flow whose access token is `access_token`.
fn authorization_with(access_token: &str) -> Result<Authorization, Error> {
    let token = access_token.to_owned();
    let mut servers = Servers::happy().on("POST", AS_TOKEN, move |_| {
        let mut body = bearer_response();
        body["access_token"] = json!(token);
        json_response(200, body)
    });
    let config = EnterpriseConfig::new(
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    );
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into()))?;
    support::run(flow, &mut servers, Order::Fifo).0
}

#[test]
fn prop_secrets_never_in_debug() {
    fn prop(SecretText(secret): SecretText) -> TestResult {
        let mut outputs = debug_outputs(&secret);
        let mut reference = debug_outputs(PLACEHOLDER);
        match (authorization_with(&secret), authorization_with(PLACEHOLDER)) {
            (Ok(with), Ok(placeholder)) => {
                if with.access_token.expose_secret() != secret {
                    return TestResult::error("the flow did not return the access token");
                }
                outputs.push(("Authorization", format!("{with:#?}")));
                reference.push(("Authorization", format!("{placeholder:#?}")));
            }
            (with, placeholder) => {
                return TestResult::error(format!(
                    "the happy flow failed: {with:?} / {placeholder:?}"
                ));
            }
        }
        // A secret that is structural text (a type or field name) proves nothing.
        if reference.iter().any(|(_, r)| r.contains(&secret)) {
            return TestResult::discard();
        }
        for ((name, output), (_, reference)) in outputs.iter().zip(&reference) {
            if output.contains(&secret) {
                return TestResult::error(format!("{name}: the secret {secret:?} is in {output}"));
            }
            // Stronger: the Debug output does not depend on the secret at all.
            if output != reference {
                return TestResult::error(format!(
                    "{name}: Debug depends on the secret:\n{output}\nvs\n{reference}"
                ));
            }
        }
        TestResult::passed()
    }
    qc().quickcheck(prop as fn(SecretText) -> TestResult);
}

// ---------------------------------------------------------------------------------------------
// Flow totality against mutated closure fakes.

const IDP_SECRET: &str = "idp-secret-value";

/// The requests of the happy world (`Servers::happy()`), in table order.
const HAPPY: [(&str, &str, Purpose); 7] = [
    ("POST", MCP, Purpose::ResourceProbe),
    ("GET", PRM_URL, Purpose::ResourceMetadata),
    ("GET", AS_META, Purpose::AuthorizationServerMetadata),
    ("GET", IDP_OAUTH_META, Purpose::IdpMetadata),
    ("GET", IDP_OIDC_META, Purpose::IdpMetadata),
    ("POST", IDP_TOKEN, Purpose::TokenExchange),
    ("POST", AS_TOKEN, Purpose::JwtBearer),
];

/// Table rows whose happy body is a JSON object.
const JSON_ROWS: [usize; 5] = [1, 2, 4, 5, 6];
const EXCHANGE_ROW: usize = 5;
const BEARER_ROW: usize = 6;

#[derive(Clone, Debug)]
struct Row {
    method: &'static str,
    url: &'static str,
    response: HttpResponse,
}

/// The seven answers of `Servers::happy()`, taken from the fake itself.
fn happy_table() -> Vec<Row> {
    let mut servers = Servers::happy();
    HAPPY
        .iter()
        .map(|&(method, url, purpose)| {
            let request = http::Request::builder()
                .method(method)
                .uri(url)
                .body(Vec::new())
                .expect("request");
            Row {
                method,
                url,
                response: servers.answer(purpose, request),
            }
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum HeaderKind {
    ContentType,
    WwwAuthenticate,
    Location,
    CacheControl,
}

impl HeaderKind {
    fn name(self) -> HeaderName {
        match self {
            Self::ContentType => CONTENT_TYPE,
            Self::WwwAuthenticate => WWW_AUTHENTICATE,
            Self::Location => LOCATION,
            Self::CacheControl => CACHE_CONTROL,
        }
    }

    fn values(self) -> &'static [&'static str] {
        match self {
            Self::ContentType => &[
                "text/html",
                "text/plain",
                "application/jwt",
                "application/json; charset=utf-8",
                "application/problem+json",
                "APPLICATION/JSON",
                "",
            ],
            Self::WwwAuthenticate => &[
                "Bearer",
                r#"Bearer realm="mcp""#,
                r#"Bearer scope="tools:write""#,
                r#"Bearer resource_metadata="https://evil.example/.well-known/oauth-protected-resource""#,
                r#"Bearer resource_metadata="http://mcp.example.com/.well-known/oauth-protected-resource/mcp""#,
                r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource""#,
                r#"Bearer resource_metadata="https://10.0.0.1/prm""#,
                r#"Bearer resource_metadata="not a url""#,
                r#"DPoP algs="ES256""#,
                r#"Basic realm="x""#,
                r#"Basic realm="x", Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#,
                r#"Bearer realm="#,
                r#"Bearer error="invalid_token", error="invalid_token""#,
                "Negotiate abc==",
            ],
            Self::Location => &["https://evil.example/", "/relative", "", "not a url"],
            Self::CacheControl => &[
                "no-store",
                "no-cache",
                "max-age=0",
                "max-age=60",
                "max-age=99999999999999999999",
                "max-age=abc",
                "public, max-age=\"30\"",
            ],
        }
    }
}

/// A change to one JSON value.
#[derive(Clone, Debug)]
enum Change {
    Remove,
    WrongType(usize),
    Text(String),
    Huge(usize),
    Negative(usize),
}

const INTERESTING_STRINGS: &[&str] = &[
    "",
    " ",
    MCP,
    AS,
    IDP,
    AS_TOKEN,
    IDP_TOKEN,
    PRM_URL,
    "https://as.example.com/",
    "http://as.example.com",
    "https://evil.example",
    "https://evil.example/token",
    "https://10.0.0.1/token",
    "https://as.example.com/token#frag",
    "https://user:pw@as.example.com/token",
    "Bearer",
    "bearer",
    "DPoP",
    "N_A",
    "n_a",
    "urn:ietf:params:oauth:token-type:id-jag",
    "urn:ietf:params:oauth:token-type:access_token",
    "tools:read",
    "tools:write",
    "tools:read tools:write admin",
    "oauth-id-jag+jwt",
    "JWT",
    "none",
    "a.b.c",
    "a..c.d.e",
    "300",
    "-1",
];

impl Change {
    fn arbitrary(g: &mut Gen) -> Self {
        match below(g, 6) {
            0 => Change::Remove,
            1 => Change::WrongType(usize::arbitrary(g)),
            2 => Change::Text(pick(g, INTERESTING_STRINGS).to_owned()),
            3 => Change::Text(String::arbitrary(g)),
            4 => Change::Huge(usize::arbitrary(g)),
            _ => Change::Negative(usize::arbitrary(g)),
        }
    }

    /// Applies the change to `object[key]`.
    fn apply(&self, object: &mut serde_json::Map<String, Value>, key: &str) {
        let value = match self {
            Change::Remove => {
                object.remove(key);
                return;
            }
            Change::WrongType(i) => {
                let choices = [
                    json!(42),
                    json!(true),
                    json!(null),
                    json!({}),
                    json!({"a": 1}),
                    json!([]),
                    json!([1, 2]),
                    json!(1.5),
                ];
                choices[i % choices.len()].clone()
            }
            Change::Text(text) => match object.get(key) {
                Some(Value::Array(_)) => json!([text]),
                _ => json!(text),
            },
            Change::Huge(i) => {
                let choices = [
                    json!(u64::MAX),
                    json!(1e300),
                    json!(9_007_199_254_740_993_u64),
                    json!(i64::MAX),
                    json!("99999999999999999999"),
                ];
                choices[i % choices.len()].clone()
            }
            Change::Negative(i) => {
                let choices = [json!(-1), json!(i64::MIN), json!(-0.5), json!(-1e300)];
                choices[i % choices.len()].clone()
            }
        };
        object.insert(key.to_owned(), value);
    }
}

/// One mutation of the happy table.
#[derive(Clone, Debug)]
enum Mutation {
    /// Another HTTP status.
    Status { row: usize, status: u16 },
    /// A header dropped (`None`) or set.
    Header {
        row: usize,
        kind: HeaderKind,
        value: Option<String>,
    },
    /// A member of the JSON body changed.
    Field {
        row: usize,
        key: usize,
        change: Change,
    },
    /// A member of the ID-JAG's header or claims changed (the exchange answer's token).
    IdJag {
        header: bool,
        key: usize,
        change: Change,
    },
    /// The body cut at a point.
    Truncate { row: usize, at: usize },
    /// The body replaced with arbitrary bytes.
    Replace { row: usize, bytes: Vec<u8> },
    /// A member of the JSON body given twice, with the same or another value.
    Duplicate { row: usize, key: usize, same: bool },
}

const STATUSES: &[u16] = &[200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 500, 503];

impl Arbitrary for Mutation {
    fn arbitrary(g: &mut Gen) -> Self {
        let any_row = |g: &mut Gen| below(g, HAPPY.len());
        let json_row = |g: &mut Gen| pick(g, &JSON_ROWS);
        match below(g, 10) {
            0 | 1 => Mutation::Status {
                row: any_row(g),
                status: pick(g, STATUSES),
            },
            2 => {
                let kind = pick(
                    g,
                    &[
                        HeaderKind::ContentType,
                        HeaderKind::WwwAuthenticate,
                        HeaderKind::Location,
                        HeaderKind::CacheControl,
                    ],
                );
                let value = match below(g, 4) {
                    0 => None,
                    1 if matches!(kind, HeaderKind::WwwAuthenticate) => Some(printable(g, 0, 40)),
                    _ => Some(pick(g, kind.values()).to_owned()),
                };
                // The probe is where WWW-Authenticate matters.
                let row = if matches!(kind, HeaderKind::WwwAuthenticate) && !one_in(g, 4) {
                    0
                } else {
                    any_row(g)
                };
                Mutation::Header { row, kind, value }
            }
            3..=5 => Mutation::Field {
                row: json_row(g),
                key: usize::arbitrary(g),
                change: Change::arbitrary(g),
            },
            6 => {
                let change = Change::arbitrary(g);
                Mutation::IdJag {
                    header: one_in(g, 3),
                    key: usize::arbitrary(g),
                    change,
                }
            }
            7 => Mutation::Truncate {
                row: any_row(g),
                at: usize::arbitrary(g),
            },
            8 => Mutation::Replace {
                row: any_row(g),
                bytes: Vec::arbitrary(g),
            },
            _ => Mutation::Duplicate {
                row: json_row(g),
                key: usize::arbitrary(g),
                same: bool::arbitrary(g),
            },
        }
    }
}

fn json_body(response: &HttpResponse) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice(response.body()) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn nth_key(object: &serde_json::Map<String, Value>, n: usize) -> Option<String> {
    if object.is_empty() {
        return None;
    }
    object.keys().nth(n % object.len()).cloned()
}

impl Mutation {
    fn apply(&self, table: &mut [Row]) {
        match self {
            Mutation::Status { row, status } => {
                *table[*row].response.status_mut() =
                    StatusCode::from_u16(*status).expect("a valid status");
            }
            Mutation::Header { row, kind, value } => {
                let headers = table[*row].response.headers_mut();
                match value.as_deref().map(HeaderValue::from_str) {
                    None => {
                        headers.remove(kind.name());
                    }
                    Some(Ok(value)) => {
                        headers.insert(kind.name(), value);
                    }
                    Some(Err(_)) => {}
                }
            }
            Mutation::Field { row, key, change } => {
                let response = &mut table[*row].response;
                let Some(mut object) = json_body(response) else {
                    return;
                };
                let Some(name) = nth_key(&object, *key) else {
                    return;
                };
                change.apply(&mut object, &name);
                *response.body_mut() = Value::Object(object).to_string().into_bytes();
            }
            Mutation::IdJag {
                header,
                key,
                change,
            } => {
                let response = &mut table[EXCHANGE_ROW].response;
                let Some(mut object) = json_body(response) else {
                    return;
                };
                let Some(token) = object.get("access_token").and_then(Value::as_str) else {
                    return;
                };
                let parts: Vec<&str> = token.split('.').collect();
                let [head, claims, signature] = parts.as_slice() else {
                    return;
                };
                let (Some(mut head), Some(mut claims)) =
                    (segment_object(head), segment_object(claims))
                else {
                    return;
                };
                let target = if *header { &mut head } else { &mut claims };
                let Some(name) = nth_key(target, *key) else {
                    return;
                };
                change.apply(target, &name);
                let token = format!(
                    "{}.{}.{signature}",
                    xaa::jwt::encode_segment(&head),
                    xaa::jwt::encode_segment(&claims)
                );
                object.insert("access_token".into(), json!(token));
                *response.body_mut() = Value::Object(object).to_string().into_bytes();
            }
            Mutation::Truncate { row, at } => {
                let body = table[*row].response.body_mut();
                let at = at % (body.len() + 1);
                body.truncate(at);
            }
            Mutation::Replace { row, bytes } => {
                *table[*row].response.body_mut() = bytes.clone();
            }
            Mutation::Duplicate { row, key, same } => {
                let response = &mut table[*row].response;
                let Some(object) = json_body(response) else {
                    return;
                };
                let Some(name) = nth_key(&object, *key) else {
                    return;
                };
                let value = if *same {
                    object.get(&name).cloned().unwrap_or(Value::Null)
                } else {
                    json!("https://evil.example/duplicate")
                };
                let mut text = Value::Object(object).to_string();
                text.pop(); // the closing brace
                text.push_str(&format!(",{}:{}}}", json!(name), value));
                *response.body_mut() = text.into_bytes();
            }
        }
    }
}

/// A world: the happy table, mutated, and the order outstanding requests are answered in.
#[derive(Clone, Debug)]
struct Case {
    mutations: Vec<Mutation>,
    order: Order,
}

impl Arbitrary for Case {
    fn arbitrary(g: &mut Gen) -> Self {
        // One case in eight is the happy world itself, so Done stays reachable.
        let count = if one_in(g, 8) { 0 } else { 1 + below(g, 3) };
        Case {
            mutations: (0..count).map(|_| Mutation::arbitrary(g)).collect(),
            order: if bool::arbitrary(g) {
                Order::Fifo
            } else {
                Order::Lifo
            },
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let mut smaller = Vec::new();
        for i in 0..self.mutations.len() {
            let mut mutations = self.mutations.clone();
            mutations.remove(i);
            smaller.push(Case {
                mutations,
                order: self.order,
            });
        }
        if matches!(self.order, Order::Lifo) {
            smaller.push(Case {
                mutations: self.mutations.clone(),
                order: Order::Fifo,
            });
        }
        Box::new(smaller.into_iter())
    }
}

impl Case {
    fn table(&self) -> Vec<Row> {
        let mut table = happy_table();
        for mutation in &self.mutations {
            mutation.apply(&mut table);
        }
        table
    }
}

/// Both client registrations carry a secret, so a leak in either direction shows.
fn totality_config() -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(
            IDP,
            ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
        ),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
}

/// One request as the fake saw it.
#[derive(Debug)]
struct Sent {
    purpose: Purpose,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The table row that answered it; `None` for a 404 of an unknown URL.
    row: Option<usize>,
}

impl Sent {
    fn form(&self) -> Vec<(String, String)> {
        support::form::decode(&self.body)
    }

    fn basic(&self) -> Option<(String, String)> {
        let value = self.headers.get(AUTHORIZATION)?.to_str().ok()?;
        support::form::parse_basic_authorization(value)
            .map(|(id, s)| (id, s.expose_secret().into()))
    }

    /// Whether the request carries any of `values` as a client id, secret or form value.
    fn carries(&self, values: &[&str]) -> bool {
        let body = String::from_utf8_lossy(&self.body);
        let form = self.form();
        let basic = self.basic();
        values.iter().any(|v| {
            body.contains(v)
                || form.iter().any(|(_, fv)| fv == v)
                || basic.as_ref().is_some_and(|(id, s)| id == v || s == v)
        })
    }
}

/// How one flow ended.
struct Run {
    result: Result<Authorization, Error>,
    sent: Vec<Sent>,
}

/// Most polls plus answers one flow may take before it counts as stuck.
const STEP_BOUND: usize = 256;

fn not_found() -> HttpResponse {
    let mut response = HttpResponse::new(b"not found".to_vec());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// Drives the flow against `table`, one answer at a time in `order`. `Err` is a property
/// failure (a stall, no end within the bound); the flow's own outcome is in [`Run`].
fn drive_table(table: &[Row], order: Order) -> Result<Run, String> {
    let mut flow = EnterpriseAuth::new(totality_config(), Start::ServerUrl(MCP.into()))
        .map_err(|e| format!("the happy configuration is refused: {e}"))?;
    let mut sent: Vec<Sent> = Vec::new();
    let mut outstanding: VecDeque<(TransmitId, usize)> = VecDeque::new();
    for _ in 0..STEP_BOUND {
        loop {
            match flow.poll_output(now()) {
                Ok(Output::Transmit(t)) => {
                    let (parts, body) = t.request.into_parts();
                    let url = parts.uri.to_string();
                    let row = table
                        .iter()
                        .position(|r| r.method == parts.method.as_str() && r.url == url);
                    outstanding.push_back((t.id, sent.len()));
                    sent.push(Sent {
                        purpose: t.purpose,
                        method: parts.method,
                        url,
                        headers: parts.headers,
                        body,
                        row,
                    });
                    if sent.len() > STEP_BOUND {
                        return Err(format!("{} requests and counting", sent.len()));
                    }
                }
                Ok(Output::Wait) => break,
                Ok(Output::Done(auth)) => {
                    return Ok(Run {
                        result: Ok(auth),
                        sent,
                    });
                }
                Err(error) => {
                    return Ok(Run {
                        result: Err(error),
                        sent,
                    });
                }
            }
        }
        let next = match order {
            Order::Fifo => outstanding.pop_front(),
            Order::Lifo => outstanding.pop_back(),
        };
        let Some((id, index)) = next else {
            return Err("the flow waits with nothing outstanding".into());
        };
        let response = sent[index]
            .row
            .map_or_else(not_found, |row| table[row].response.clone());
        if let Err(error) = flow.handle_response(now(), id, response) {
            return Ok(Run {
                result: Err(error),
                sent,
            });
        }
    }
    Err(format!("no end within {STEP_BOUND} steps"))
}

/// Drives one case and checks everything that must hold; `Ok` carries the run for the
/// reachability bookkeeping.
fn check_case(case: &Case) -> Result<Run, String> {
    let table = case.table();
    let run =
        catch_unwind(AssertUnwindSafe(|| drive_table(&table, case.order))).map_err(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            format!("the flow panicked: {message}")
        })??;
    let subject = id_token();
    let idp_credentials = [IDP_CLIENT, IDP_SECRET];
    let as_credentials = [AS_CLIENT, AS_SECRET];

    // Whatever the servers answered: credentials go only to their own step, nothing rides on
    // a GET, every URL is https.
    for s in &run.sent {
        if !s.url.starts_with("https://") {
            return Err(format!("a request went to {}", s.url));
        }
        let token_request = s.purpose.is_token_request();
        if s.method == Method::GET && (!s.body.is_empty() || s.headers.contains_key(AUTHORIZATION))
        {
            return Err(format!("a GET to {} carries a body or credentials", s.url));
        }
        if s.purpose != Purpose::TokenExchange && s.carries(&idp_credentials) {
            return Err(format!(
                "IdP credentials went to {} ({:?})",
                s.url, s.purpose
            ));
        }
        if s.purpose != Purpose::JwtBearer && s.carries(&as_credentials) {
            return Err(format!(
                "AS credentials went to {} ({:?})",
                s.url, s.purpose
            ));
        }
        if s.purpose != Purpose::TokenExchange && s.carries(&[&subject]) {
            return Err(format!(
                "the subject token went to {} ({:?})",
                s.url, s.purpose
            ));
        }
        if s.method == Method::POST && !token_request && s.purpose != Purpose::ResourceProbe {
            return Err(format!("an unexpected POST to {} ({:?})", s.url, s.purpose));
        }
    }

    match &run.result {
        Err(error) => {
            if matches!(error, Error::Misuse(_)) {
                return Err(format!(
                    "the flow reports misuse by a correct driver: {error}"
                ));
            }
            let text = format!("{error} {error:?}");
            for secret in [IDP_SECRET, AS_SECRET, subject.as_str()] {
                if text.contains(secret) {
                    return Err(format!("the error shows a client secret: {text}"));
                }
            }
        }
        Ok(auth) => {
            // The access token is the AS token endpoint's answer.
            let bearer: Vec<&Sent> = run
                .sent
                .iter()
                .filter(|s| s.purpose == Purpose::JwtBearer)
                .collect();
            let [bearer] = bearer.as_slice() else {
                return Err(format!("Done after {} jwt-bearer requests", bearer.len()));
            };
            if bearer.url != AS_TOKEN || bearer.row != Some(BEARER_ROW) {
                return Err(format!("the jwt-bearer request went to {}", bearer.url));
            }
            let answered = json_body(&table[BEARER_ROW].response).and_then(|o| {
                o.get("access_token")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            if answered.as_deref() != Some(auth.access_token.expose_secret()) {
                return Err("the access token is not the AS token endpoint's answer".into());
            }
            // Only the two token endpoints (and the probe to the MCP server) saw a POST.
            for s in run.sent.iter().filter(|s| s.method == Method::POST) {
                let allowed = match s.purpose {
                    Purpose::ResourceProbe => s.url == MCP,
                    Purpose::TokenExchange => s.url == IDP_TOKEN,
                    Purpose::JwtBearer => s.url == AS_TOKEN,
                    _ => false,
                };
                if !allowed {
                    return Err(format!("a {:?} POST went to {}", s.purpose, s.url));
                }
                if s.url != IDP_TOKEN && s.carries(&idp_credentials) {
                    return Err(format!("IdP credentials went to {}", s.url));
                }
                if s.url != AS_TOKEN && s.carries(&as_credentials) {
                    return Err(format!("AS credentials went to {}", s.url));
                }
            }
            // The token is for this MCP server, from its authorization server, and the ID-JAG
            // was asked for exactly that pair (no confused deputy).
            if auth.resource != MCP || auth.authorization_server != AS {
                return Err(format!(
                    "Done for {} at {}",
                    auth.resource, auth.authorization_server
                ));
            }
            let exchange = run
                .sent
                .iter()
                .find(|s| s.purpose == Purpose::TokenExchange)
                .ok_or("Done without a token exchange")?;
            let form = exchange.form();
            let value = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if value("audience") != Some(AS) || value("resource") != Some(MCP) {
                return Err(format!("the exchange asked for {form:?}"));
            }
        }
    }
    Ok(run)
}

#[test]
fn prop_flow_is_total_on_mutated_servers() {
    fn prop(case: Case) -> TestResult {
        match check_case(&case) {
            Ok(_) => TestResult::passed(),
            Err(message) => TestResult::error(format!("{message}\n{case:#?}")),
        }
    }
    qc().quickcheck(prop as fn(Case) -> TestResult);
}

/// Cases of the reachability test; fixed, so what it proves reachable is stable.
const REACHABILITY_CASES: usize = 2000;
const REACHABILITY_SEED: u64 = 0x5EC0_0990;

#[derive(Debug, Default)]
struct Reach {
    done: usize,
    failed: usize,
    by_purpose: HashMap<&'static str, usize>,
    no_purpose: usize,
}

fn reachability(seed: u64, cases: usize) -> Result<Reach, String> {
    let mut g = Gen::from_size_and_seed(DEFAULT_SIZE, seed);
    let mut reach = Reach::default();
    for n in 0..cases {
        let case = Case::arbitrary(&mut g);
        let run = check_case(&case).map_err(|e| format!("case {n}: {e}\n{case:#?}"))?;
        match &run.result {
            Ok(_) => reach.done += 1,
            Err(error) => {
                reach.failed += 1;
                match error.purpose() {
                    Some(p) => *reach.by_purpose.entry(p.as_str()).or_default() += 1,
                    None => reach.no_purpose += 1,
                }
            }
        }
    }
    Ok(reach)
}

#[test]
fn flow_totality_reaches_every_step() {
    let reach =
        reachability(REACHABILITY_SEED, REACHABILITY_CASES).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{reach:#?}");
    assert!(reach.done > 0, "no case reached Done: {reach:#?}");
    let missing: Vec<Purpose> = Purpose::ALL
        .into_iter()
        .filter(|p| *p != Purpose::SamlRefreshExchange)
        .filter(|p| !reach.by_purpose.contains_key(p.as_str()))
        .collect();
    assert!(missing.is_empty(), "no error named {missing:?}: {reach:#?}");
}

#[test]
fn the_happy_table_is_the_happy_world() {
    let table = happy_table();
    for order in [Order::Fifo, Order::Lifo] {
        let run = drive_table(&table, order).unwrap_or_else(|e| panic!("{e}"));
        let auth = run.result.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN);
        let mut urls: Vec<String> = run.sent.iter().map(|s| s.url.clone()).collect();
        urls.sort();
        let mut expected: Vec<String> = HAPPY.iter().map(|(_, u, _)| (*u).to_owned()).collect();
        expected.sort();
        assert_eq!(urls, expected, "every row is used exactly once");
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: absurd NumericDates once overflowed SystemTime arithmetic and panicked.

/// The happy world with the ID-JAG's `exp` claim replaced by `exp`.
fn with_id_jag_exp(exp: Value) -> Case {
    let change = match exp.as_f64() {
        Some(f) if f > 1e100 => Change::Huge(1),
        _ => Change::Huge(0),
    };
    let key = support::id_jag_claims()
        .as_object()
        .and_then(|claims| claims.keys().position(|k| k == "exp"))
        .expect("an exp claim");
    Case {
        mutations: vec![Mutation::IdJag {
            header: false,
            key,
            change,
        }],
        order: Order::Fifo,
    }
}

#[test]
fn huge_id_jag_exp_does_not_panic() {
    for exp in [json!(u64::MAX), json!(1e300)] {
        let case = with_id_jag_exp(exp.clone());
        let run = check_case(&case).unwrap_or_else(|e| panic!("exp {exp}: {e}"));
        // A far-future exp saturates; the ID-JAG is then kept only as long as `expires_in`.
        if let Err(error) = run.result {
            assert_eq!(error.purpose(), Some(Purpose::TokenExchange), "{error}");
        }
    }
}

#[test]
fn huge_subject_token_exp_does_not_panic() {
    let token = support::jwt(
        json!({"alg": "ES256", "typ": "JWT"}),
        json!({"iss": IDP, "sub": "alice", "aud": IDP_CLIENT, "exp": u64::MAX}),
    );
    let mut config = totality_config();
    config.grant = xaa::GrantSource::Enterprise {
        idp: IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        subject: SubjectToken::IdToken(IdToken::new(token)),
    };
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        support::run(flow, &mut Servers::happy(), Order::Fifo).0
    }));
    // A far-future exp is not expired: the flow may succeed; it must not panic.
    assert!(outcome.is_ok(), "the flow panicked");
}
