//! Set-up shared by both drivers' tests against the testkit: a kit, a client, the authorizer,
//! MCP requests, and helpers to read what the kit recorded. Included as a module whose parent
//! names the driver under test `driver` (`use xaa_ureq as driver;`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use super::driver::{Authorizer, Client, ClientBuilder, ProxySetting};
use http::StatusCode;
use serde_json::{Value, json};
use xaa::authorizer::{AuthorizerConfig, SubjectTokenSource, User};
use xaa::cache::Principal;
use xaa::grant::SubjectToken;
use xaa::{GrantSource, HttpRequest, HttpResponse, IdToken};
use xaa_testkit::{Endpoint, Options, RecordedRequest, Testkit};

/// A generous per-request timeout: the machine is shared and slow at times.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A kit with the default options.
pub fn kit() -> Testkit {
    kit_with(Options::default())
}

/// A kit with `options`.
pub fn kit_with(options: Options) -> Testkit {
    Testkit::start(options).expect("the kit starts")
}

/// The client builder of these tests: no proxy from the environment, a generous timeout. The
/// address guard stays off (its default): every server of the kit is on 127.0.0.1.
pub fn client_builder() -> ClientBuilder {
    Client::builder().proxy(ProxySetting::None).timeout(TIMEOUT)
}

/// [`client_builder`], built.
pub fn client() -> Client {
    client_builder().build().expect("client")
}

/// An authorizer for the kit, over [`client`].
pub fn authorizer(kit: &Testkit) -> Authorizer {
    Authorizer::with_client(config(kit), client())
}

/// The authorizer configuration for the kit: the IdP by issuer, both registrations, the
/// authorization server discovered, and the kit's policy (loopback http, or the strict default
/// over https), all taken from [`Testkit::enterprise_config`].
pub fn config(kit: &Testkit) -> AuthorizerConfig {
    let enterprise = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("nobody")));
    let GrantSource::Enterprise { idp, .. } = enterprise.grant else {
        panic!("the kit's configuration is the enterprise flow");
    };
    AuthorizerConfig::new(kit.mcp_url(), idp, enterprise.authorization_server)
        .policy(enterprise.policy)
}

/// `name`'s principal at the kit's IdP.
pub fn principal(kit: &Testkit, name: &str) -> Principal {
    Principal::subject(kit.idp_issuer(), name)
}

/// A user holding a fresh ID token from the kit.
pub fn user(kit: &Testkit, name: &str) -> User {
    User::from_id_token(SubjectToken::IdToken(kit.id_token(name))).expect("user")
}

/// An ID token for `name` that expired a while ago (beyond any clock skew), signed with the
/// kit's IdP key: only its `exp` is wrong.
pub fn expired_id_token(kit: &Testkit, name: &str) -> IdToken {
    let now = unix(SystemTime::now());
    let claims = json!({
        "iss": kit.idp_issuer(),
        "sub": name,
        "aud": xaa_testkit::IDP_CLIENT_ID,
        "iat": now - 7200,
        "auth_time": now - 7200,
        "exp": now - 3600,
        "jti": format!("expired-{now}-{name}"),
    });
    IdToken::new(xaa::jose::sign_jwt(kit.idp_signing_key(), "JWT", &claims).expect("signed"))
}

/// A fresh ID token for `name` whose signature is not the IdP's: the client cannot tell, the
/// IdP refuses it (`invalid_grant`).
pub fn forged_id_token(kit: &Testkit, name: &str) -> IdToken {
    let genuine = kit.id_token(name);
    let other = kit.id_token("someone-else");
    let (head, _) = genuine.expose_secret().rsplit_once('.').expect("a JWS");
    let (_, signature) = other.expose_secret().rsplit_once('.').expect("a JWS");
    IdToken::new(format!("{head}.{signature}"))
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A subject-token source whose current token is `current` and whose refresh hands out
/// `fresh` (or nothing), counting both calls.
pub struct RefreshingSource {
    pub current: SubjectToken,
    pub fresh: Option<SubjectToken>,
    pub current_calls: AtomicUsize,
    pub refresh_calls: AtomicUsize,
}

impl RefreshingSource {
    pub fn new(current: IdToken, fresh: Option<IdToken>) -> Arc<Self> {
        Arc::new(Self {
            current: SubjectToken::IdToken(current),
            fresh: fresh.map(SubjectToken::IdToken),
            current_calls: AtomicUsize::new(0),
            refresh_calls: AtomicUsize::new(0),
        })
    }

    pub fn refreshes(&self) -> usize {
        self.refresh_calls.load(Ordering::SeqCst)
    }
}

impl SubjectTokenSource for RefreshingSource {
    fn subject_token(&self, _now: SystemTime) -> Option<SubjectToken> {
        self.current_calls.fetch_add(1, Ordering::SeqCst);
        Some(self.current.clone())
    }

    fn refresh(&self, _now: SystemTime) -> Option<SubjectToken> {
        self.refresh_calls.fetch_add(1, Ordering::SeqCst);
        self.fresh.clone()
    }
}

/// A subject-token source that runs `hook` each time the authorizer asks for the subject
/// token, which it does once per flight it starts.
pub struct HookedSource {
    pub token: SubjectToken,
    pub hook: Box<dyn Fn() + Send + Sync>,
}

impl SubjectTokenSource for HookedSource {
    fn subject_token(&self, _now: SystemTime) -> Option<SubjectToken> {
        (self.hook)();
        Some(self.token.clone())
    }
}

/// A JSON-RPC POST to the kit's MCP endpoint.
pub fn rpc(kit: &Testkit, id: u64, method: &str, params: Option<Value>) -> HttpRequest {
    let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
    if let Some(params) = params {
        message["params"] = params;
    }
    http::Request::post(kit.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(serde_json::to_vec(&message).expect("JSON"))
        .expect("request")
}

/// `tools/list`.
pub fn tools_list(kit: &Testkit) -> HttpRequest {
    rpc(kit, 1, "tools/list", None)
}

/// `tools/call` of `tool` with `message`.
pub fn call_tool(kit: &Testkit, tool: &str, message: &str) -> HttpRequest {
    rpc(
        kit,
        2,
        "tools/call",
        Some(json!({ "name": tool, "arguments": { "message": message } })),
    )
}

/// The response's JSON body.
pub fn body(response: &HttpResponse) -> Value {
    serde_json::from_slice(response.body()).expect("a JSON body")
}

/// Asserts a `tools/list` answer: 200 with both tools.
pub fn assert_tools_listed(response: &HttpResponse) {
    assert_eq!(response.status(), StatusCode::OK);
    let names: Vec<String> = body(response)["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|tool| tool["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, ["echo", "admin_echo"]);
}

/// Asserts a `tools/call` answer echoing `message`.
pub fn assert_echoed(response: &HttpResponse, message: &str) {
    assert_eq!(response.status(), StatusCode::OK, "{:?}", body(response));
    assert_eq!(body(response)["result"]["content"][0]["text"], message);
}

/// How many recorded requests went to `endpoint`.
pub fn count(kit: &Testkit, endpoint: Endpoint) -> usize {
    kit.requests_to(endpoint).len()
}

/// How many recorded requests went to a metadata document.
pub fn metadata_requests(kit: &Testkit) -> usize {
    kit.requests()
        .iter()
        .filter(|r| r.endpoint.is_some_and(Endpoint::is_metadata))
        .count()
}

/// The bearer token a recorded request carried.
pub fn bearer(request: &RecordedRequest) -> Option<&str> {
    request.header("authorization")?.strip_prefix("Bearer ")
}

/// Asserts that `request` was the last one the kit received, and that nothing reached any
/// other server after it: the flow stopped where it failed.
pub fn assert_last_request(kit: &Testkit, endpoint: Endpoint) {
    let requests = kit.requests();
    let position = requests
        .iter()
        .rposition(|r| r.endpoint == Some(endpoint))
        .unwrap_or_else(|| panic!("a request to {endpoint:?}: {requests:#?}"));
    let after: Vec<_> = requests[position + 1..]
        .iter()
        .map(|r| (r.server, r.path.clone()))
        .collect();
    assert!(
        after.is_empty(),
        "nothing follows the failed {endpoint:?}: {after:?}"
    );
}

/// What the servers saw when a refused token was replaced once: one fresh exchange, the
/// discovery reused, and two MCP requests, the first with the refused token (401), the second
/// with a new one (200). Returns those two MCP requests.
pub fn assert_refused_then_resent(kit: &Testkit, refused: &str) -> Vec<RecordedRequest> {
    assert_eq!(count(kit, Endpoint::IdpToken), 1, "one fresh exchange");
    assert_eq!(count(kit, Endpoint::AsToken), 1);
    assert_eq!(metadata_requests(kit), 0, "the discovery is reused");
    let mcp = kit.requests_to(Endpoint::McpServer);
    assert_eq!(mcp.len(), 2, "{mcp:#?}");
    assert_eq!(bearer(&mcp[0]), Some(refused));
    assert_eq!(mcp[0].status, Some(StatusCode::UNAUTHORIZED));
    assert_ne!(bearer(&mcp[1]), Some(refused));
    assert_eq!(mcp[1].status, Some(StatusCode::OK));
    mcp
}

/// As [`assert_refused_then_resent`], for a resend that carries the same body: the
/// `tools/list` request's.
pub fn assert_same_body_resent(kit: &Testkit, refused: &str) -> Vec<RecordedRequest> {
    let mcp = assert_refused_then_resent(kit, refused);
    assert_eq!(
        mcp[1].body,
        tools_list(kit).body().as_slice(),
        "the same body"
    );
    assert_eq!(mcp[0].body, mcp[1].body);
    mcp
}
