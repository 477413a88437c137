//! The `client_flow` target: the whole `EnterpriseAuth` flow against servers scripted by the
//! input, with every request and answer recorded and the security rules of protocol.md 6
//! checked from the record, independently of the flow's own code.
//!
//! Input layout: nine configuration bytes (MCP URL, policy, IdP, IdP client authentication,
//! trust mode, authorization-server client authentication, subject, scope, start), then per
//! answer: one byte choosing which outstanding request is answered, one byte choosing the
//! answer (the oracle's for 0 to 3, the oracle's with structured mutations for 4 to 6, a raw
//! answer for 7), then the bytes the chosen mutation or raw answer reads. An exhausted input
//! reads as zeros: the oracle answers everything, in order.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Map, Value, json};
use url::Url;
use xaa::constants::TOKEN_TYPE_ID_JAG;
use xaa::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use xaa::grant::{IssuedIdJag, SubjectToken};
use xaa::{
    Assertion, Authorization, AuthorizationServer, ClientAuth, ClientCredentials, ClientSecret,
    Discovery, EnterpriseAuth, EnterpriseConfig, Error, Flow, HttpRequest, IdJag, IdToken,
    IdentityProvider, Output, Policy, Purpose, RefreshToken, SamlAssertion, SamlMode, Scope, Start,
    TransmitId, Violation,
};

use crate::cached::{Documents, discovery};
use crate::checks::{MarkerSigner, check_error_text, now};
use crate::input::Input;
use crate::world::{self, AS_ISSUER, Answer, IDP_CLIENT, IDP_ISSUER, World, same_url};

const IDP_SECRET: &str = "idp-secret-5b1e7c2a9d";
const AS_SECRET: &str = "as-secret-8c4f2e6b1a";
const IDP_ASSERTION_MARK: &str = "IDPASSERTIONSIG7d1c";
const AS_ASSERTION_MARK: &str = "ASASSERTIONSIG4e9b";
const SAML_ASSERTION: &str = "PHNhbWw6QXNzZXJ0aW9uIElEPSJzYW1sLTNmOWEiLz4";
const IDP_REFRESH_TOKEN: &str = "idp-refresh-token-71c2e9f0";
const CALLER_ASSERTION: &str =
    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZC0xIiwiY2FsbGVyIjp0cnVlfQ.Y2FsbGVyLXNpZw";
const AS_CLIENT_ID: &str = "mcp-client";
/// The most answers one run may need: `Policy::max_transmits` is 16.
const MAX_STEPS: usize = 64;

const MCP_URLS: &[&str] = &[
    "https://mcp.example.com/mcp",
    "https://mcp.example.com",
    "https://mcp.example.com/",
    "https://mcp.example.com/tenant/mcp?x=1",
    "http://localhost:8080/mcp",
    "https://10.0.0.5/mcp",
    "https://mcp.example.com/mcp#frag",
    "http://mcp.example.com/mcp",
];

/// How the IdP is configured, and whether the oracle world can complete with it.
const IDPS: &[(&str, bool, bool)] = &[
    // (value, is a token endpoint, sane)
    (IDP_ISSUER, false, true),
    ("https://idp.example.com/tenant1", false, true),
    ("https://idp.example.com/oauth2/token", true, true),
    (AS_ISSUER, false, false),
    ("http://idp.example.com", false, false),
    ("https://idp.example.com/", false, true),
];

/// Challenges a caller may start from; `None` is the MCP server's own pointer challenge.
const CHALLENGES: &[(Option<&str>, bool)] = &[
    (None, true),
    (Some(r#"Bearer realm="mcp""#), true),
    (
        Some(r#"Bearer resource_metadata="https://evil.example/prm""#),
        true,
    ),
    (Some(r#"DPoP algs="ES256""#), false),
    // Unparsable (RFC 9110 section 11.6.1): a typed error, so never sane.
    (Some("Bearer ="), false),
    (
        Some(r#"Bearer resource_metadata="http://mcp.example.com/prm""#),
        true,
    ),
    (Some(r#"Bearer realm="a", realm="b""#), false),
];

/// Metadata URLs a caller may start from; `None` is the MCP server's own.
const POINTERS: &[Option<&str>] = &[
    None,
    Some("https://evil.example/prm"),
    Some("http://mcp.example.com/prm"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    Post,
    Basic,
    Public,
    Jwt,
}

const AUTHS: &[Auth] = &[Auth::Post, Auth::Basic, Auth::Public, Auth::Jwt];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubjectKind {
    IdToken,
    ExpiredIdToken,
    SamlDirect,
    SamlExchange,
    Refresh,
    Assertion,
}

const SUBJECTS: &[SubjectKind] = &[
    SubjectKind::IdToken,
    SubjectKind::ExpiredIdToken,
    SubjectKind::SamlDirect,
    SubjectKind::SamlExchange,
    SubjectKind::Refresh,
    SubjectKind::Assertion,
];

fn credentials(client_id: &str, auth: Auth, secret: &str, mark: &'static str) -> ClientCredentials {
    match auth {
        Auth::Post => ClientCredentials::post(client_id, ClientSecret::new(secret)),
        Auth::Basic => ClientCredentials::basic(client_id, ClientSecret::new(secret)),
        Auth::Public => ClientCredentials::public(client_id),
        Auth::Jwt => ClientCredentials::new(
            client_id,
            ClientAuth::PrivateKeyJwt(xaa::PrivateKeyJwt::new(
                Arc::new(MarkerSigner(mark)),
                Arc::new(|| "jti-fixed".to_owned()),
            )),
        ),
    }
}

fn policy(index: usize) -> (Policy, bool) {
    let mut policy = Policy::default();
    let sane = match index {
        0 => true,
        1 => {
            policy.allow_http_loopback = true;
            true
        }
        2 => {
            policy.allow_http_loopback = true;
            policy.speculative_resource_metadata = true;
            true
        }
        3 => {
            policy.speculative_resource_metadata = true;
            true
        }
        4 => {
            policy.jwt_bearer_resource = true;
            true
        }
        5 => {
            policy.allow_private_addresses = true;
            true
        }
        6 => {
            policy.allow_encrypted_id_jag = false;
            true
        }
        _ => {
            policy.max_transmits = 5;
            false
        }
    };
    (policy, sane)
}

fn id_token(exp: u64) -> String {
    world::jws(
        &json!({"alg": "ES256", "typ": "JWT", "kid": "idp-key"}),
        &json!({"iss": IDP_ISSUER, "sub": "alice", "aud": IDP_CLIENT, "iat": world::unix(now()) - 60, "exp": exp}),
    )
}

/// What the run was configured with.
struct Scenario {
    mcp_url: String,
    policy: Policy,
    idp_issuer: Option<String>,
    idp_token_endpoint: Option<String>,
    pinned: Option<String>,
    subject: SubjectKind,
    subject_token: String,
    idp_auth: Auth,
    as_auth: Auth,
    /// Caller-supplied hosts and pointers.
    named: Vec<String>,
    pointers: Vec<String>,
    cached: Option<Discovery>,
    resubmitted: Option<String>,
    /// The flow starts from a caller-held challenge that does not parse.
    unreadable_challenge: bool,
    sane: bool,
}

fn build(input: &mut Input<'_>) -> (Scenario, Result<EnterpriseAuth, Error>) {
    let mcp_url = (*input.pick(MCP_URLS)).to_owned();
    let (policy, policy_sane) = policy(input.below(8));
    let (idp_value, idp_is_endpoint, idp_sane) = *input.pick(IDPS);
    let idp_auth = *input.pick(AUTHS);
    let trust_index = input.below(3);
    let as_auth = *input.pick(AUTHS);
    let subject = *input.pick(SUBJECTS);
    let scope = match input.below(3) {
        0 => None,
        1 => Some(Scope::parse("tools:read")),
        _ => Some(Scope::parse("tools:read tools:write")),
    };
    let start_kind = input.below(5);
    let start_choice = input.byte();

    let world = World::new(&mcp_url, AS_CLIENT_ID);
    let mut sane = policy_sane && idp_sane && subject != SubjectKind::ExpiredIdToken;
    let pinned = match trust_index {
        0 => None,
        1 => Some(AS_ISSUER.to_owned()),
        _ => {
            sane = false;
            Some("https://as2.example.com".to_owned())
        }
    };
    let subject_token = match subject {
        SubjectKind::IdToken => id_token(world::unix(now()) + 3600),
        SubjectKind::ExpiredIdToken => id_token(world::unix(now()) - 10),
        SubjectKind::SamlDirect | SubjectKind::SamlExchange => SAML_ASSERTION.to_owned(),
        SubjectKind::Refresh => IDP_REFRESH_TOKEN.to_owned(),
        SubjectKind::Assertion => CALLER_ASSERTION.to_owned(),
    };
    let idp_credentials = credentials(IDP_CLIENT, idp_auth, IDP_SECRET, IDP_ASSERTION_MARK);
    let mut idp = if idp_is_endpoint {
        IdentityProvider::token_endpoint(idp_value, idp_credentials)
    } else {
        IdentityProvider::issuer(idp_value, idp_credentials)
    };
    if subject == SubjectKind::SamlExchange {
        idp = idp.with_saml(SamlMode::ExchangeForRefreshToken);
    }
    let as_credentials = credentials(AS_CLIENT_ID, as_auth, AS_SECRET, AS_ASSERTION_MARK);
    let authorization_server = match &pinned {
        Some(issuer) => AuthorizationServer::pinned(issuer.clone(), as_credentials),
        None => AuthorizationServer::discovered(as_credentials),
    };
    let config = match subject {
        SubjectKind::Assertion => {
            EnterpriseConfig::with_assertion(Assertion::new(CALLER_ASSERTION), authorization_server)
        }
        SubjectKind::SamlDirect | SubjectKind::SamlExchange => EnterpriseConfig::new(
            idp,
            SubjectToken::Saml2(SamlAssertion::new(SAML_ASSERTION)),
            authorization_server,
        ),
        SubjectKind::Refresh => EnterpriseConfig::new(
            idp,
            SubjectToken::RefreshToken(RefreshToken::new(IDP_REFRESH_TOKEN)),
            authorization_server,
        ),
        _ => EnterpriseConfig::new(
            idp,
            SubjectToken::IdToken(IdToken::new(subject_token.clone())),
            authorization_server,
        ),
    };
    let mut config = config.policy(policy.clone());
    config.scope = scope.clone();

    let mut named = vec![mcp_url.clone(), idp_value.to_owned()];
    named.extend(pinned.clone());
    let mut pointers = Vec::new();
    let own_pointer = world.pointer().unwrap_or_else(|| {
        Url::parse(&mcp_url)
            .map(|u| {
                format!(
                    "{}/.well-known/oauth-protected-resource",
                    u.origin().ascii_serialization()
                )
            })
            .unwrap_or_default()
    });
    let mut cached = None;
    let mut resubmitted = None;
    let mut unreadable_challenge = false;
    let start = match start_kind {
        0 => Start::ServerUrl(mcp_url.clone()),
        1 => {
            let (value, challenge_sane) = CHALLENGES[usize::from(start_choice) % CHALLENGES.len()];
            sane &= challenge_sane;
            let value = match value {
                Some(value) => value.to_owned(),
                None => format!(r#"Bearer resource_metadata="{own_pointer}""#),
            };
            match xaa::challenge::parse(&value) {
                Ok(challenges) => {
                    for challenge in challenges {
                        pointers.extend(challenge.param("resource_metadata").map(str::to_owned));
                    }
                }
                Err(_) => unreadable_challenge = true,
            }
            named.push(value.clone());
            let mut headers = http::HeaderMap::new();
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                headers.insert(WWW_AUTHENTICATE, value);
            }
            Start::Challenge {
                server_url: mcp_url.clone(),
                headers,
            }
        }
        2 => {
            let pointer = POINTERS[usize::from(start_choice) % POINTERS.len()]
                .map_or(own_pointer.clone(), str::to_owned);
            pointers.push(pointer.clone());
            named.push(pointer.clone());
            Start::ResourceMetadata {
                server_url: mcp_url.clone(),
                metadata_url: pointer,
            }
        }
        kind => {
            let discovery = cached_discovery(&mcp_url, &own_pointer, idp_value, idp_is_endpoint);
            match discovery {
                Some(discovery) if kind == 3 => {
                    cached = Some(discovery.clone());
                    Start::Cached(discovery)
                }
                Some(discovery) => {
                    cached = Some(discovery.clone());
                    let resource = discovery.resource().to_owned();
                    let claims = world::id_jag_claims(
                        AS_ISSUER,
                        AS_CLIENT_ID,
                        &resource,
                        None,
                        "jti-resubmitted",
                        now(),
                    );
                    let token = world::jws(
                        &Value::Object(world::id_jag_header()),
                        &Value::Object(claims),
                    );
                    resubmitted = Some(token.clone());
                    Start::Resubmit {
                        discovery,
                        id_jag: IssuedIdJag::resubmitted(
                            IdJag::new(token),
                            now() + Duration::from_secs(300),
                        ),
                    }
                }
                None => Start::ServerUrl(mcp_url.clone()),
            }
        }
    };
    if let Some(discovery) = &cached {
        named.push(discovery.resource_metadata_url.clone());
        named.push(discovery.authorization_server.issuer.clone());
        named.push(discovery.authorization_server.token_endpoint.clone());
        if let Some(idp) = &discovery.idp {
            named.push(idp.token_endpoint.clone());
        }
    }
    let scenario = Scenario {
        mcp_url: mcp_url.clone(),
        idp_issuer: (!idp_is_endpoint && subject != SubjectKind::Assertion)
            .then(|| idp_value.to_owned()),
        idp_token_endpoint: (idp_is_endpoint && subject != SubjectKind::Assertion)
            .then(|| idp_value.to_owned()),
        policy,
        pinned,
        subject,
        subject_token,
        idp_auth,
        as_auth,
        named,
        pointers,
        cached,
        resubmitted,
        unreadable_challenge,
        sane,
    };
    let flow = EnterpriseAuth::new(config, start);
    (scenario, flow)
}

/// A valid cached discovery for the MCP server, as an earlier flow would have stored it.
fn cached_discovery(
    mcp_url: &str,
    pointer: &str,
    idp: &str,
    idp_is_endpoint: bool,
) -> Option<Discovery> {
    let identifier = mcp_url.split('#').next().unwrap_or(mcp_url);
    let prm = json!({"resource": identifier, "authorization_servers": [AS_ISSUER]});
    let resource_metadata =
        ProtectedResourceMetadata::from_json(prm.to_string().as_bytes()).ok()?;
    let mut world = World::new(mcp_url, AS_CLIENT_ID);
    let get = |url: &str| -> Option<HttpRequest> { http::Request::get(url).body(Vec::new()).ok() };
    let as_answer = world.oracle(
        Purpose::AuthorizationServerMetadata,
        &get(&format!(
            "{AS_ISSUER}/.well-known/oauth-authorization-server"
        ))?,
        now(),
    );
    let authorization_server =
        AuthorizationServerMetadata::from_json(&as_answer.body_bytes()).ok()?;
    let idp_metadata = if idp_is_endpoint {
        None
    } else {
        world.issuers.insert(0, idp.to_owned());
        let parsed = Url::parse(idp).ok()?;
        let url = crate::well_known::authorization_server_metadata_candidates(&parsed)
            .into_iter()
            .next()?;
        let answer = world.oracle(Purpose::IdpMetadata, &get(&url)?, now());
        AuthorizationServerMetadata::from_json(&answer.body_bytes()).ok()
    };
    discovery(&Documents {
        server_url: mcp_url,
        resource_metadata_url: pointer,
        resource_metadata: &resource_metadata,
        authorization_server: &authorization_server,
        idp: idp_metadata.as_ref(),
        fresh_until: world::unix(now()) + 3600,
    })
}

// ---------------------------------------------------------------------------------------------
// The record

/// One request the flow emitted.
#[derive(Debug)]
struct Sent {
    purpose: Purpose,
    url: String,
    /// Everything the request carries, as text: URL, header values (Basic decoded), body and
    /// form names and values.
    texts: Vec<String>,
    form: Vec<(String, String)>,
    /// How many answers had been served when it was emitted.
    after_served: usize,
}

/// One answer the harness served.
#[derive(Debug)]
struct Served {
    purpose: Purpose,
    url: String,
    status: u16,
    body: Option<Map<String, Value>>,
    /// Whether its `WWW-Authenticate` fields (if any) parse.
    challenge_parses: bool,
}

#[derive(Default)]
struct Record {
    sent: Vec<Sent>,
    served: Vec<Served>,
    /// Every text of every answer, as served and as decoded (JSON strings, challenge
    /// parameters).
    served_text: String,
    /// Header values and bodies exactly as served.
    served_raw: String,
    /// Hosts of the URLs found in the answers, parsed like the flow parses them.
    served_hosts: Vec<String>,
    /// Secrets learnt from answers (ID-JAGs, IdP refresh tokens), with the index of the
    /// answer that carried them: (token, answer index, only to the IdP).
    served_secrets: Vec<(String, usize, bool)>,
}

fn host_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// URLs inside a text: every `scheme://...` up to a delimiter.
fn urls_in(text: &str, out: &mut Vec<String>) {
    if let Some(host) = host_of(text) {
        out.push(host);
    }
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|t| t.find("://")) {
        let at = from + found;
        let mut start = at;
        while start > 0
            && bytes
                .get(start - 1)
                .is_some_and(|b| b.is_ascii_alphanumeric() || b"+.-".contains(b))
        {
            start -= 1;
        }
        let end = text[at..]
            .find(|c: char| c.is_whitespace() || "\"'<>`,\\".contains(c))
            .map_or(text.len(), |e| at + e);
        if let Some(host) = text.get(start..end).and_then(host_of) {
            out.push(host);
        }
        from = at + 3;
    }
}

fn json_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

impl Record {
    fn serve(&mut self, purpose: Purpose, url: &str, response: &xaa::HttpResponse) {
        let mut texts = Vec::new();
        for value in response.headers().values() {
            texts.push(String::from_utf8_lossy(value.as_bytes()).into_owned());
        }
        let challenges = xaa::challenge::from_headers(response.headers());
        let challenge_parses = challenges.is_ok();
        for challenge in challenges.unwrap_or_default() {
            texts.extend(challenge.params().iter().map(|(_, v)| v.clone()));
        }
        texts.push(String::from_utf8_lossy(response.body()).into_owned());
        for text in &texts {
            self.served_raw.push_str(text);
            self.served_raw.push('\n');
        }
        let body = crate::checks::json_object(response.body());
        if let Some(map) = &body {
            json_strings(&Value::Object(map.clone()), &mut texts);
        }
        for text in &texts {
            urls_in(text, &mut self.served_hosts);
            self.served_text.push_str(text);
            self.served_text.push('\n');
        }
        let status = response.status().as_u16();
        if response.status().is_success()
            && let Some(token) = body
                .as_ref()
                .and_then(|m| m.get("access_token"))
                .and_then(Value::as_str)
        {
            match purpose {
                Purpose::TokenExchange => {
                    self.served_secrets
                        .push((token.to_owned(), self.served.len(), false));
                }
                Purpose::SamlRefreshExchange => {
                    self.served_secrets
                        .push((token.to_owned(), self.served.len(), true));
                }
                _ => {}
            }
        }
        self.served.push(Served {
            purpose,
            url: url.to_owned(),
            status,
            body,
            challenge_parses,
        });
    }

    /// Validated-looking documents served for `purpose`: 2xx JSON objects.
    fn documents(&self, purpose: Purpose) -> impl Iterator<Item = (&Served, &Map<String, Value>)> {
        self.served.iter().filter_map(move |s| {
            let body = s.body.as_ref()?;
            (s.purpose == purpose && (200..300).contains(&s.status)).then_some((s, body))
        })
    }
}

fn text<'a>(map: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    map.get(field).and_then(Value::as_str)
}

fn request_texts(request: &HttpRequest) -> (Vec<String>, Vec<(String, String)>) {
    let mut texts = vec![request.uri().to_string()];
    for value in request.headers().values() {
        let shown = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if let Some((id, secret)) = crate::form::parse_basic_authorization(&shown) {
            texts.push(id);
            texts.push(secret);
        }
        texts.push(shown);
    }
    texts.push(String::from_utf8_lossy(request.body()).into_owned());
    let form = crate::form::decode(request.body());
    for (name, value) in &form {
        texts.push(name.clone());
        texts.push(value.clone());
    }
    (texts, form)
}

/// The IPv4 address an IPv6 address carries, in the forms that route to it: mapped
/// (`::ffff:0:0/96`), compatible (`::/96`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`).
/// Written from the RFCs (4291 2.5.5, 6052 2.1, 3056 2), independently of the core.
fn carried_v4(ip: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = ip.segments();
    let low = std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..] => Some(low),
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => Some(low),
        [0x2002, a, b, ..] => Some(std::net::Ipv4Addr::new(
            (a >> 8) as u8,
            a as u8,
            (b >> 8) as u8,
            b as u8,
        )),
        _ => None,
    }
}

/// Addresses no request may ever go to, whatever the policy or deployment: link-local (cloud
/// metadata), "this network" and unspecified, broadcast, multicast, reserved.
fn is_never(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let v4 = |ip: std::net::Ipv4Addr| {
        let [a, b, ..] = ip.octets();
        a == 0 || (a == 169 && b == 254) || a >= 224
    };
    match ip {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => match carried_v4(ip) {
            Some(carried) => v4(carried),
            None => {
                let first = ip.segments()[0];
                ip.is_unspecified() || (first & 0xffc0) == 0xfe80 || (first & 0xff00) == 0xff00
            }
        },
    }
}

fn is_private(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let v4 = |ip: std::net::Ipv4Addr| {
        let [a, b, ..] = ip.octets();
        a == 10
            || a == 127
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
            || (a == 100 && (64..128).contains(&b))
    };
    is_never(ip)
        || match ip {
            IpAddr::V4(ip) => v4(ip),
            IpAddr::V6(ip) => match carried_v4(ip) {
                Some(carried) => v4(carried),
                None => {
                    let first = ip.segments()[0];
                    ip.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfec0
                }
            },
        }
}

fn ip_of(url: &Url) -> Option<std::net::IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(ip.into()),
        url::Host::Ipv6(ip) => Some(ip.into()),
        url::Host::Domain(_) => None,
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || carried_v4(ip).is_some_and(|carried| carried.is_loopback())
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The run

/// The whole client flow (protocol.md 2, 6), fed an arbitrary sequence of answers.
///
/// Properties: (a) the flow ends, in `Ok` or `Err`, within a bound, never waits with nothing
/// outstanding, never reports misuse, never emits more than `Policy::max_transmits` requests;
/// with a sane configuration and only oracle answers it ends in `Ok`. (b) Every request goes
/// to a host the caller named or that appeared in an answer served before it; every URL is
/// https, or loopback http under the loopback policy, with no fragment, no credentials and no
/// private address outside decisions.md D5's exceptions; probes are POSTs to the MCP URL,
/// metadata GETs carry no body and no credentials. (c) The IdP's secret, assertion and the
/// subject token appear only in token-exchange requests to the IdP's token endpoint (the
/// configured one or one named by IdP metadata with the configured issuer); the
/// authorization server's secret, assertion and every ID-JAG only in jwt-bearer requests to a
/// token endpoint named by authorization-server metadata. (d) On success: the resource is a
/// served protected-resource metadata `resource`, equal to the MCP URL or, from the root
/// document, its origin; the authorization server is the `issuer` of served metadata, listed
/// by that document (and the pinned one when pinned); the jwt-bearer request went to that
/// metadata's `token_endpoint`, and the token exchange to the IdP with `audience` and
/// `resource` verbatim; the ID-JAG sent was issued with `issued_token_type` id-jag and its
/// `aud`, `client_id`, `resource` and `exp` hold; the access token is the one served. No
/// error carries a secret.
pub fn client_flow(data: &[u8]) {
    let mut input = Input::new(data);
    let (scenario, flow) = build(&mut input);
    crate::trace!(
        "mcp={} idp={:?}/{:?} pinned={:?} subject={:?} cached={} sane={} -> {:?}",
        scenario.mcp_url,
        scenario.idp_issuer,
        scenario.idp_token_endpoint,
        scenario.pinned,
        scenario.subject,
        scenario.cached.is_some(),
        scenario.sane,
        flow.as_ref().map(|_| "built")
    );
    let mut flow = match flow {
        Ok(flow) => flow,
        Err(error) => {
            // decisions.md D5: a private address is allowed when the MCP server URL itself is
            // one, so such a server must not be refused for its own address.
            let private_https = Url::parse(&scenario.mcp_url).is_ok_and(|url| {
                url.scheme() == "https"
                    && url.fragment().is_none()
                    && ip_of(&url).is_some_and(is_private)
            });
            assert!(
                !(private_https && matches!(error, Error::PrivateAddress { .. })),
                "an MCP server on a private address refused for its own address (D5): {error}"
            );
            check_challenge_error(&error, !scenario.unreadable_challenge);
            return;
        }
    };
    let mut world = World::new(&scenario.mcp_url, AS_CLIENT_ID);
    world.issuers.splice(
        0..0,
        scenario
            .idp_issuer
            .iter()
            .chain(scenario.pinned.iter())
            .cloned(),
    );
    world.pointers.extend(scenario.pointers.iter().cloned());
    let mut record = Record::default();
    let mut outstanding: Vec<(TransmitId, Purpose, HttpRequest)> = Vec::new();
    let mut all_oracle = true;
    let now = now();
    for _ in 0..MAX_STEPS {
        loop {
            match flow.poll_output(now) {
                Ok(Output::Transmit(transmit)) => {
                    crate::trace!(
                        "send {} {} {}",
                        transmit.purpose,
                        transmit.request.method(),
                        transmit.request.uri()
                    );
                    check_request(&scenario, &record, transmit.purpose, &transmit.request);
                    let (texts, form) = request_texts(&transmit.request);
                    record.sent.push(Sent {
                        purpose: transmit.purpose,
                        url: transmit.request.uri().to_string(),
                        texts,
                        form,
                        after_served: record.served.len(),
                    });
                    assert!(
                        record.sent.len() <= scenario.policy.max_transmits as usize,
                        "more requests than Policy::max_transmits"
                    );
                    outstanding.push((transmit.id, transmit.purpose, transmit.request));
                }
                Ok(Output::Wait) => break,
                Ok(Output::Done(authorization)) => {
                    check_secrets(&scenario, &record);
                    check_done(&scenario, &record, &authorization, now);
                    return;
                }
                Err(error) => {
                    check_secrets(&scenario, &record);
                    finish_with_error(&scenario, &record, &error, all_oracle);
                    return;
                }
            }
        }
        assert!(
            !outstanding.is_empty(),
            "the flow waits with nothing outstanding"
        );
        let index = input.below(outstanding.len());
        let (id, purpose, request) = outstanding.remove(index);
        let mode = input.byte() % 8;
        let mut answer = match mode {
            7 => world::raw_answer(&mut input),
            _ => world.oracle(purpose, &request, now),
        };
        if (4..7).contains(&mode) {
            for _ in 0..=input.below(3) {
                answer.mutate(&mut input, now);
            }
        }
        all_oracle &= mode < 4;
        let response = answer_response(&answer);
        crate::trace!(
            "answer {purpose} {} (mode {mode}): {} {:?} {}",
            request.uri(),
            answer.status,
            answer.headers,
            String::from_utf8_lossy(&answer.body_bytes())
        );
        world.learn(&response);
        record.serve(purpose, &request.uri().to_string(), &response);
        if let Err(error) = flow.handle_response(now, id, response) {
            check_secrets(&scenario, &record);
            finish_with_error(&scenario, &record, &error, all_oracle);
            return;
        }
    }
    panic!("the flow did not end within {MAX_STEPS} answers");
}

fn answer_response(answer: &Answer) -> xaa::HttpResponse {
    answer.to_response()
}

/// A challenge the parser refuses is reported as malformed, and only such a one: an
/// unsupported scheme comes from a challenge that parsed (RFC 9110 section 11.6.1, decisions.md
/// D6). `parses` says whether the challenge the flow read parsed.
fn check_challenge_error(error: &Error, parses: bool) {
    match error {
        Error::InvalidResponse {
            purpose: Purpose::ResourceProbe,
            violation: Violation::MalformedChallenge(_),
        } => assert!(!parses, "a challenge that parses reported as malformed"),
        Error::Unsupported {
            purpose: Purpose::ResourceProbe,
            ..
        } => assert!(parses, "an unparsable challenge reported as {error}"),
        _ => {}
    }
}

fn finish_with_error(scenario: &Scenario, record: &Record, error: &Error, all_oracle: bool) {
    crate::trace!("error: {error}");
    let probe = record
        .served
        .iter()
        .rev()
        .find(|s| s.purpose == Purpose::ResourceProbe);
    if let Some(probe) = probe {
        check_challenge_error(error, probe.challenge_parses);
    }
    assert!(
        !matches!(error, Error::Misuse(_)),
        "the harness kept the contract, yet: {error}"
    );
    let mut secrets = vec![
        IDP_SECRET,
        AS_SECRET,
        scenario.subject_token.as_str(),
        CALLER_ASSERTION,
    ];
    secrets.extend(record.served_secrets.iter().map(|(s, _, _)| s.as_str()));
    // A secret the servers echoed (the fuzzer can learn the constants) may come back in an
    // error as server text; any other occurrence is a leak.
    let secrets: Vec<&str> = secrets
        .into_iter()
        .filter(|s| s.len() >= 16 && !record.served_text.contains(*s))
        .collect();
    check_error_text(error, &secrets);
    assert!(
        !(scenario.sane && all_oracle),
        "a sane configuration failed against conformant servers: {error}"
    );
}

/// (b) and the per-request shape rules.
fn check_request(scenario: &Scenario, record: &Record, purpose: Purpose, request: &HttpRequest) {
    let shown = request.uri().to_string();
    let Ok(url) = Url::parse(&shown) else {
        panic!("a request to an unparsable URL {shown:?}");
    };
    let policy = &scenario.policy;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback && policy.allow_http_loopback => {}
        other => panic!("a {purpose} request over {other}: {shown}"),
    }
    assert!(url.fragment().is_none(), "a request URL with a fragment");
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "credentials in a request URL"
    );
    if let Some(ip) = ip_of(&url) {
        let mcp_private = Url::parse(&scenario.mcp_url)
            .ok()
            .as_ref()
            .and_then(ip_of)
            .is_some_and(is_private);
        let allowed = policy.allow_private_addresses
            || mcp_private
            || (loopback && policy.allow_http_loopback);
        assert!(
            !is_private(ip) || allowed,
            "a {purpose} request to a private address: {shown}"
        );
        assert!(
            !is_never(ip),
            "a {purpose} request to a link-local, unspecified or reserved address: {shown}"
        );
    }
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        panic!("a request URL without a host");
    };
    let named = scenario
        .named
        .iter()
        .filter_map(|n| {
            let mut hosts = Vec::new();
            urls_in(n, &mut hosts);
            (!hosts.is_empty()).then_some(hosts)
        })
        .flatten()
        .any(|h| h == host);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let served = record.served_hosts.contains(&host)
        || record.served_text.to_ascii_lowercase().contains(bare);
    assert!(
        named || served,
        "a {purpose} request to {host}, which neither the caller nor any answer named"
    );
    let method = request.method().as_str();
    match purpose {
        Purpose::ResourceProbe => {
            assert_eq!(method, "POST");
            assert!(
                same_url(&shown, &scenario.mcp_url),
                "the probe goes to the MCP URL"
            );
        }
        Purpose::ResourceMetadata | Purpose::AuthorizationServerMetadata | Purpose::IdpMetadata => {
            assert_eq!(method, "GET");
            assert!(request.body().is_empty(), "a GET with a body");
        }
        _ => {
            assert_eq!(method, "POST");
            assert_eq!(
                request
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                Some("application/x-www-form-urlencoded")
            );
        }
    }
    if let Some(value) = request.headers().get(AUTHORIZATION) {
        assert!(
            purpose.is_token_request(),
            "an Authorization header on a {purpose} request"
        );
        let shown = String::from_utf8_lossy(value.as_bytes());
        assert!(
            shown.starts_with("Basic "),
            "a non-Basic Authorization header"
        );
    }
}

/// Token endpoints named by the configuration or by served documents.
fn idp_endpoints(scenario: &Scenario, record: &Record) -> Vec<String> {
    let mut endpoints: Vec<String> = scenario.idp_token_endpoint.iter().cloned().collect();
    if let Some(idp) = scenario.cached.as_ref().and_then(|d| d.idp.as_ref()) {
        endpoints.push(idp.token_endpoint.clone());
    }
    if let Some(issuer) = &scenario.idp_issuer {
        for (_, body) in record.documents(Purpose::IdpMetadata) {
            if text(body, "issuer") == Some(issuer.as_str())
                && let Some(endpoint) = text(body, "token_endpoint")
            {
                endpoints.push(endpoint.to_owned());
            }
        }
    }
    endpoints
}

/// Issuers the flow may choose: pinned, cached, or listed by served resource metadata.
fn listed_issuers(scenario: &Scenario, record: &Record) -> Vec<String> {
    let mut issuers: Vec<String> = scenario.pinned.iter().cloned().collect();
    if let Some(cached) = &scenario.cached {
        issuers.extend(
            cached
                .resource_metadata
                .authorization_servers
                .iter()
                .cloned(),
        );
    }
    for (_, body) in record.documents(Purpose::ResourceMetadata) {
        if let Some(Value::Array(items)) = body.get("authorization_servers") {
            issuers.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    }
    issuers
}

fn as_endpoints(scenario: &Scenario, record: &Record) -> Vec<(String, String)> {
    let listed = listed_issuers(scenario, record);
    let mut endpoints = Vec::new();
    if let Some(cached) = &scenario.cached {
        endpoints.push((
            cached.authorization_server.issuer.clone(),
            cached.authorization_server.token_endpoint.clone(),
        ));
    }
    for (_, body) in record.documents(Purpose::AuthorizationServerMetadata) {
        if let (Some(issuer), Some(endpoint)) = (text(body, "issuer"), text(body, "token_endpoint"))
            && listed.iter().any(|l| l == issuer)
        {
            endpoints.push((issuer.to_owned(), endpoint.to_owned()));
        }
    }
    endpoints
}

/// (c): where each secret may go.
/// Whether two URLs reach one endpoint, written apart from the flow's comparison and narrower
/// than it: scheme, host without a trailing dot, port, and the path in lower case with
/// trailing slashes dropped.
fn reaches_same(a: &str, b: &str) -> bool {
    let key = |url: &str| {
        let url = Url::parse(url).ok()?;
        let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
        let path = url.path().trim_end_matches('/').to_ascii_lowercase();
        Some((
            url.scheme().to_owned(),
            host,
            url.port_or_known_default(),
            path,
        ))
    };
    key(a).is_some_and(|a| Some(a) == key(b))
}

fn check_secrets(scenario: &Scenario, record: &Record) {
    let idp_endpoints = idp_endpoints(scenario, record);
    let as_endpoints = as_endpoints(scenario, record);
    let to_idp = |sent: &Sent| {
        matches!(
            sent.purpose,
            Purpose::TokenExchange | Purpose::SamlRefreshExchange
        ) && idp_endpoints.iter().any(|e| same_url(e, &sent.url))
    };
    // ID-JAG draft section 9.3: never to the IdP's token endpoint, however the authorization
    // server's metadata spells it.
    let enterprise = scenario.subject != SubjectKind::Assertion;
    let to_as = |sent: &Sent| {
        sent.purpose == Purpose::JwtBearer
            && as_endpoints.iter().any(|(_, e)| same_url(e, &sent.url))
            && !(enterprise && idp_endpoints.iter().any(|e| reaches_same(e, &sent.url)))
    };
    let mut idp_only: Vec<&str> = vec![IDP_ASSERTION_MARK];
    if matches!(scenario.idp_auth, Auth::Post | Auth::Basic) {
        idp_only.push(IDP_SECRET);
    }
    if scenario.subject != SubjectKind::Assertion {
        idp_only.push(&scenario.subject_token);
    }
    let mut as_only: Vec<&str> = vec![AS_ASSERTION_MARK, CALLER_ASSERTION];
    if matches!(scenario.as_auth, Auth::Post | Auth::Basic) {
        as_only.push(AS_SECRET);
    }
    as_only.extend(scenario.resubmitted.as_deref());
    for sent in &record.sent {
        let carries = |secret: &str| sent.texts.iter().any(|t| t.contains(secret));
        for secret in &idp_only {
            if carries(secret) && !record.served_text.contains(secret) {
                assert!(
                    to_idp(sent),
                    "an IdP secret in a {} request to {}",
                    sent.purpose,
                    sent.url
                );
            }
        }
        for secret in &as_only {
            if carries(secret) && !record.served_text.contains(secret) {
                assert!(
                    to_as(sent),
                    "an authorization-server secret in a {} request to {}",
                    sent.purpose,
                    sent.url
                );
            }
        }
        for (secret, served_at, idp) in &record.served_secrets {
            // A served token is traced only when it is a secret indeed: long, and nowhere
            // else in the answers or the configuration (a URL served as a token is not).
            let elsewhere = record.served_raw.matches(secret.as_str()).count() > 1
                || scenario.named.iter().any(|n| n.contains(secret.as_str()));
            // Nor when it is where the request URL begins: a token that reads
            // `https://as.example.com/` matches every URL built from that issuer, which the
            // flow derived from a document, not from the token (a token carried in a URL sits
            // after its origin, and is still traced).
            let carried = sent.texts.iter().any(|text| {
                text.contains(secret.as_str())
                    && !(*text == sent.url && sent.url.starts_with(secret.as_str()))
            });
            if secret.len() < 16 || elsewhere || sent.after_served <= *served_at || !carried {
                continue;
            }
            if *idp {
                assert!(to_idp(sent), "an IdP refresh token sent to {}", sent.url);
            } else {
                assert!(
                    to_as(sent),
                    "an ID-JAG sent in a {} request to {}",
                    sent.purpose,
                    sent.url
                );
            }
        }
    }
}

/// (d): everything a finished flow claims, against the record.
fn check_done(
    scenario: &Scenario,
    record: &Record,
    authorization: &Authorization,
    now: SystemTime,
) {
    crate::trace!("done: {authorization:?}");
    let identifier = scenario
        .mcp_url
        .split_once('#')
        .map_or(scenario.mcp_url.as_str(), |(before, _)| before);
    let Ok(mcp) = Url::parse(&scenario.mcp_url) else {
        panic!("a flow finished for an unparsable MCP URL");
    };
    let origin = mcp.origin().ascii_serialization();
    let root = format!("{origin}/.well-known/oauth-protected-resource");
    let resource = authorization.resource.as_str();
    assert!(
        resource == identifier || resource == origin,
        "the resource {resource:?} is neither the MCP URL nor its origin"
    );
    assert_eq!(authorization.discovery.resource(), resource);
    assert_eq!(authorization.discovery.server_url, scenario.mcp_url);

    // The protected-resource metadata that named this resource, and its listed issuers.
    let mut listing: Vec<Vec<String>> = Vec::new();
    if let Some(cached) = &scenario.cached
        && cached.resource() == resource
    {
        listing.push(cached.resource_metadata.authorization_servers.clone());
    }
    for (served, body) in record.documents(Purpose::ResourceMetadata) {
        if text(body, "resource") == Some(resource)
            && (resource == identifier || same_url(&served.url, &root))
        {
            let listed = match body.get("authorization_servers") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            };
            listing.push(listed);
        }
    }
    assert!(
        !listing.is_empty(),
        "no served protected-resource metadata names the resource {resource:?}"
    );
    let issuer = authorization.authorization_server.as_str();
    assert!(
        listing.iter().any(|l| l.iter().any(|s| s == issuer)),
        "the authorization server {issuer:?} is not listed by the resource metadata"
    );
    if let Some(pinned) = &scenario.pinned {
        assert_eq!(
            issuer, pinned,
            "the pinned authorization server was not used"
        );
    }
    assert_ne!(
        scenario.idp_issuer.as_deref(),
        Some(issuer),
        "the IdP is the authorization server"
    );

    // The jwt-bearer request went to that server's token endpoint.
    let mut endpoints: Vec<String> = Vec::new();
    if let Some(cached) = &scenario.cached
        && cached.authorization_server.issuer == issuer
    {
        endpoints.push(cached.authorization_server.token_endpoint.clone());
    }
    for (_, body) in record.documents(Purpose::AuthorizationServerMetadata) {
        if text(body, "issuer") == Some(issuer)
            && let Some(endpoint) = text(body, "token_endpoint")
        {
            endpoints.push(endpoint.to_owned());
        }
    }
    assert!(
        !endpoints.is_empty(),
        "no served metadata has the issuer {issuer:?}"
    );
    let Some(bearer) = record
        .sent
        .iter()
        .rev()
        .find(|s| s.purpose == Purpose::JwtBearer)
    else {
        panic!("an access token without a jwt-bearer request");
    };
    assert!(
        endpoints.iter().any(|e| same_url(e, &bearer.url)),
        "the jwt-bearer request went to {} instead of the metadata's token_endpoint",
        bearer.url
    );
    let field = |sent: &Sent, name: &str| -> Vec<String> {
        sent.form
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let Some(assertion) = field(bearer, "assertion").into_iter().next() else {
        panic!("a jwt-bearer request without an assertion");
    };
    assert_eq!(field(bearer, "assertion").len(), 1);
    if scenario.policy.jwt_bearer_resource {
        assert_eq!(field(bearer, "resource"), vec![resource.to_owned()]);
    } else {
        assert!(field(bearer, "resource").is_empty());
    }

    // The access token is the one the authorization server served.
    let Some(answer) = record
        .served
        .iter()
        .rev()
        .find(|s| s.purpose == Purpose::JwtBearer && (200..300).contains(&s.status))
    else {
        panic!("an access token nobody served");
    };
    assert_eq!(
        answer.body.as_ref().and_then(|b| text(b, "access_token")),
        Some(authorization.access_token.expose_secret())
    );
    assert!(authorization.token_type.eq_ignore_ascii_case("bearer"));
    // `expires_in: 0` is accepted (D9 refuses only negative or absurd values).
    assert!(authorization.expires_at >= now);

    if scenario.subject == SubjectKind::Assertion {
        assert_eq!(assertion, CALLER_ASSERTION);
        assert!(
            authorization.id_jag.is_none(),
            "an ID-JAG reported for a caller-supplied assertion"
        );
        return;
    }
    let Some(id_jag) = &authorization.id_jag else {
        panic!("an enterprise flow without its ID-JAG");
    };
    assert_eq!(id_jag.id_jag.expose_secret(), assertion);
    if scenario.resubmitted.as_deref() == Some(assertion.as_str()) {
        crate::id_jag_oracle::check_id_jag(&assertion, issuer, AS_CLIENT_ID, resource, None, now);
        return;
    }
    // The exchange that issued it.
    let exchange_answer = record.served.iter().position(|s| {
        s.purpose == Purpose::TokenExchange
            && (200..300).contains(&s.status)
            && s.body.as_ref().and_then(|b| text(b, "access_token")) == Some(assertion.as_str())
    });
    let Some(exchange_answer) = exchange_answer else {
        panic!("the ID-JAG sent was not issued by a token exchange");
    };
    let served = &record.served[exchange_answer];
    assert_eq!(
        served
            .body
            .as_ref()
            .and_then(|b| text(b, "issued_token_type")),
        Some(TOKEN_TYPE_ID_JAG)
    );
    let Some(exchange) = record
        .sent
        .iter()
        .find(|s| s.purpose == Purpose::TokenExchange && same_url(&s.url, &served.url))
    else {
        panic!("an exchange answer without its request");
    };
    assert!(
        idp_endpoints(scenario, record)
            .iter()
            .any(|e| same_url(e, &exchange.url)),
        "the token exchange went to {}, not the IdP's token endpoint",
        exchange.url
    );
    assert_eq!(field(exchange, "audience"), vec![issuer.to_owned()]);
    assert_eq!(field(exchange, "resource"), vec![resource.to_owned()]);
    let requested = field(exchange, "scope")
        .into_iter()
        .next()
        .map(|s| Scope::parse(&s));
    crate::id_jag_oracle::check_id_jag(
        &assertion,
        issuer,
        AS_CLIENT_ID,
        resource,
        requested.as_ref(),
        now,
    );
}
