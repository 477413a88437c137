//! rmcp's real client, over real sockets, against the testkit's IdP, authorization server and
//! MCP server, with `xaa-rmcp` authorizing every request.

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use serde_json::Value;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{AuthorizationServer, IdentityProvider, Policy};
use xaa_rmcp::AuthorizedHttpClient;
use xaa_testkit::{Endpoint, Fault, Options, RecordedRequest, Server, Testkit};

type Mcp = RunningService<RoleClient, ClientConfig>;

fn start(options: Options) -> Testkit {
    Testkit::start(options).expect("the testkit starts")
}

fn config(kit: &Testkit) -> AuthorizerConfig {
    AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials()),
        AuthorizationServer::discovered(kit.as_credentials()),
    )
    .policy(Policy::loopback())
}

fn user(kit: &Testkit, name: &str) -> User {
    User::from_id_token(SubjectToken::IdToken(kit.id_token(name))).expect("an ID token with sub")
}

fn authorizer(config: AuthorizerConfig) -> xaa_reqwest::Authorizer {
    xaa_reqwest::Authorizer::with_client(
        config,
        xaa_reqwest::Client::new().expect("reqwest client"),
    )
}

async fn connect(kit: &Testkit, authorizer: &xaa_reqwest::Authorizer, user: User) -> Mcp {
    let client = AuthorizedHttpClient::new(authorizer.clone(), user).expect("http client");
    xaa_rmcp::client_config()
        .serve(client.into_transport(kit.mcp_url()))
        .await
        .expect("rmcp connects and initializes")
}

async fn call(mcp: &Mcp, tool: &str, message: &str) -> Result<String, ServiceError> {
    let arguments = [("message".to_owned(), Value::from(message))];
    let params =
        CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.into_iter().collect());
    let result = mcp.call_tool(params).await?;
    assert_ne!(result.is_error, Some(true), "{tool} answered with an error");
    Ok(result
        .content
        .iter()
        .filter_map(|content| content.as_text())
        .map(|text| text.text.as_str())
        .collect())
}

/// (token exchanges at the IdP, jwt-bearer grants at the authorization server)
fn grants(kit: &Testkit) -> (usize, usize) {
    (
        kit.requests_to(Endpoint::IdpToken).len(),
        kit.requests_to(Endpoint::AsToken).len(),
    )
}

fn bearer(request: &RecordedRequest) -> Option<&str> {
    request.header("authorization")?.strip_prefix("Bearer ")
}

/// Waits until the kit has answered rmcp's GET for its optional SSE stream.
///
/// rmcp opens that stream once per session, from a background task, after `initialize`
/// returns: the GET can reach the server after the test's next call, after a revocation or a
/// fault. It carries the session's token like any request, so if it meets a revoked or
/// refused token first, it is the request that spends the one re-exchange. The kit offers no
/// stream and answers 405, which rmcp takes as final (`ServerDoesNotSupportSse`) and the
/// adapter passes through without a verdict; once that answer is recorded, no background
/// request is left to race with the test.
async fn optional_stream_refused(kit: &Testkit) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let refused = kit.requests_to(Endpoint::McpServer).iter().any(|request| {
            request.method == http::Method::GET && request.status.map(|s| s.as_u16()) == Some(405)
        });
        if refused {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rmcp's GET stream was not answered 405: {:?}",
            kit.requests_to(Endpoint::McpServer)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The MCP server's `/mcp` requests for a JSON-RPC method.
fn mcp_calls(kit: &Testkit, method: &str) -> Vec<RecordedRequest> {
    kit.requests_to(Endpoint::McpServer)
        .into_iter()
        .filter(|request| request.rpc_method.as_deref() == Some(method))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_connect_runs_the_flow_once_and_declares_the_extension() {
    let kit = start(Options::default());
    let authorizer = authorizer(config(&kit));
    let mcp = connect(&kit, &authorizer, user(&kit, "alice")).await;

    assert_eq!(
        grants(&kit),
        (1, 1),
        "one token exchange, one jwt-bearer grant"
    );
    // The core probes the server once without a token; everything rmcp sends carries the
    // token the flow got.
    let mcp_requests = kit.requests_to(Endpoint::McpServer);
    let (unauthenticated, authenticated): (Vec<_>, Vec<_>) =
        mcp_requests.iter().partition(|r| bearer(r).is_none());
    assert_eq!(unauthenticated.len(), 1, "the core's one probe");
    assert_eq!(unauthenticated[0].status.map(|s| s.as_u16()), Some(401));
    let issued = kit.requests_to(Endpoint::AsToken)[0].clone();
    assert!(!authenticated.is_empty());
    for request in &authenticated {
        let token = bearer(request).expect("bearer");
        assert!(
            kit.access_token_info(token).is_some(),
            "a token the kit issued"
        );
        // rmcp may open its optional SSE stream with a GET at any time after `initialize`;
        // the kit offers none and answers 405, as Streamable HTTP allows. Whether that GET
        // has arrived by now is a race, so it is allowed but not required.
        let optional_stream_refused =
            request.method == http::Method::GET && request.status.map(|s| s.as_u16()) == Some(405);
        assert!(
            request.status.is_some_and(|s| s.is_success()) || optional_stream_refused,
            "{request:?}"
        );
    }
    assert_eq!(issued.status.map(|s| s.as_u16()), Some(200));

    // rmcp's initialize declared the extension in capabilities.extensions.
    let initialize = mcp_calls(&kit, "initialize")
        .into_iter()
        .find(|r| bearer(r).is_some())
        .expect("rmcp's initialize");
    let body: Value = serde_json::from_slice(&initialize.body).expect("JSON");
    assert_eq!(
        body.pointer("/params/capabilities/extensions")
            .and_then(|e| e.get(xaa_rmcp::EXTENSION_ID)),
        Some(&serde_json::json!({}))
    );
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_listed_and_called() {
    let kit = start(Options::default());
    let config = config(&kit);
    let mcp = xaa_rmcp::client_config()
        .serve(xaa_rmcp::transport(config, user(&kit, "alice")).expect("transport"))
        .await
        .expect("connects");
    let tools = mcp.list_all_tools().await.expect("tools/list");
    let names: Vec<_> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(names, ["echo", "admin_echo"]);
    assert_eq!(call(&mcp, "echo", "hello").await.expect("echo"), "hello");
    assert_eq!(call(&mcp, "echo", "again").await.expect("echo"), "again");
    assert_eq!(grants(&kit), (1, 1), "the cached token serves every call");
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_replaced_mid_session_without_an_error() {
    let kit = start(Options::default().access_token_lifetime(Duration::from_secs(2)));
    // Tokens are used until they expire, then replaced before the next request.
    let authorizer = authorizer(config(&kit).refresh_lead(Duration::ZERO));
    let mcp = connect(&kit, &authorizer, user(&kit, "alice")).await;
    assert_eq!(call(&mcp, "echo", "before").await.expect("echo"), "before");
    assert_eq!(grants(&kit), (1, 1));

    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(call(&mcp, "echo", "after").await.expect("echo"), "after");
    assert_eq!(grants(&kit), (2, 2), "one fresh flow after expiry");
    let calls = mcp_calls(&kit, "tools/call");
    let first = bearer(&calls[0]).expect("bearer");
    let last = bearer(calls.last().expect("a call")).expect("bearer");
    assert_ne!(first, last, "the call after expiry carried a new token");
    assert!(
        calls
            .last()
            .and_then(|r| r.status)
            .is_some_and(|s| s.is_success())
    );
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_with_the_default_refresh_lead_never_fail_a_call() {
    // The default lead (60 s) exceeds the 2 s lifetime: every token is handed out with a
    // background refresh. Calls keep working across several lifetimes.
    let kit = start(Options::default().access_token_lifetime(Duration::from_secs(2)));
    let authorizer = authorizer(config(&kit));
    let mcp = connect(&kit, &authorizer, user(&kit, "alice")).await;
    for round in 0..3 {
        let message = format!("round {round}");
        assert_eq!(call(&mcp, "echo", &message).await.expect("echo"), message);
        tokio::time::sleep(Duration::from_millis(1_200)).await;
    }
    let (exchanges, bearers) = grants(&kit);
    assert!(
        exchanges >= 2 && bearers >= 2,
        "tokens were replaced: {exchanges} {bearers}"
    );
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_gets_one_fresh_exchange_and_the_call_succeeds() {
    let kit = start(Options::default());
    let authorizer = authorizer(config(&kit));
    let alice = user(&kit, "alice");
    let mcp = connect(&kit, &authorizer, alice.clone()).await;
    assert_eq!(call(&mcp, "echo", "one").await.expect("echo"), "one");
    // Otherwise rmcp's GET may arrive after the revocation and spend the re-exchange, and the
    // call below would be sent once, with the fresh token.
    optional_stream_refused(&kit).await;

    let revoked = authorizer.token(&alice).await.expect("the cached token");
    assert!(kit.revoke(revoked.expose_secret()));
    assert_eq!(
        call(&mcp, "echo", "two")
            .await
            .expect("echo after revocation"),
        "two"
    );
    assert_eq!(grants(&kit), (2, 2), "exactly one re-exchange");

    let calls = mcp_calls(&kit, "tools/call");
    let statuses: Vec<_> = calls.iter().map(|r| r.status.map(|s| s.as_u16())).collect();
    assert_eq!(statuses, [Some(200), Some(401), Some(200)]);
    assert_eq!(bearer(&calls[1]), Some(revoked.expose_secret()));
    assert_ne!(bearer(&calls[2]), Some(revoked.expose_secret()));
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_fresh_token_is_final_and_rmcp_sees_the_challenge() {
    let kit = start(Options::default());
    let authorizer = authorizer(config(&kit));
    let mcp = connect(&kit, &authorizer, user(&kit, "alice")).await;
    assert_eq!(grants(&kit), (1, 1));
    // rmcp's GET is answered before the fault, so only the call meets the 401s.
    optional_stream_refused(&kit).await;

    kit.set_fault(Endpoint::McpServer, Fault::Unauthorized);
    let error = call(&mcp, "echo", "refused")
        .await
        .expect_err("refused twice");
    let challenge = error
        .auth_challenge()
        .expect("rmcp's AuthRequired, with the challenge");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    assert_eq!(grants(&kit), (2, 2), "one re-exchange per token, no more");
    let calls = mcp_calls(&kit, "tools/call");
    let statuses: Vec<_> = calls.iter().map(|r| r.status.map(|s| s.as_u16())).collect();
    assert_eq!(
        statuses,
        [Some(401), Some(401)],
        "sent with the cached token, then once with a fresh one"
    );
    assert_ne!(bearer(&calls[0]), bearer(&calls[1]));

    // The server recovers: the next call works (the session was kept).
    kit.clear_fault(Endpoint::McpServer);
    assert_eq!(call(&mcp, "echo", "back").await.expect("echo"), "back");
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_scope_steps_up_to_the_admin_scope() {
    let kit = start(Options::default());
    let authorizer = authorizer(config(&kit));
    let mcp = connect(&kit, &authorizer, user(&kit, "alice")).await;
    let first_scope = kit.requests_to(Endpoint::IdpToken)[0]
        .param("scope")
        .map(str::to_owned);
    assert_eq!(
        first_scope.as_deref(),
        Some("tools:read"),
        "the 401's scope"
    );

    assert_eq!(
        call(&mcp, "admin_echo", "root").await.expect("admin_echo"),
        "root"
    );
    assert_eq!(grants(&kit), (2, 2), "one step-up flow");
    let exchanges = kit.requests_to(Endpoint::IdpToken);
    let stepped = xaa::Scope::parse(exchanges[1].param("scope").expect("scope"));
    assert!(
        stepped.contains("tools:admin") && stepped.contains("tools:read"),
        "{stepped}"
    );
    let statuses: Vec<_> = mcp_calls(&kit, "tools/call")
        .iter()
        .filter_map(|r| r.status.map(|s| s.as_u16()))
        .collect();
    assert_eq!(statuses, [403, 200]);

    // The wider token serves both tools from now on.
    assert_eq!(call(&mcp, "echo", "plain").await.expect("echo"), "plain");
    assert_eq!(
        call(&mcp, "admin_echo", "again").await.expect("admin_echo"),
        "again"
    );
    assert_eq!(grants(&kit), (2, 2));
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_sessions_on_a_cold_start_share_one_exchange() {
    let kit = start(Options::default());
    // A slow IdP keeps the flight open while every session asks for a token.
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));
    let authorizer = authorizer(config(&kit));
    let alice = user(&kit, "alice");
    let kit = Arc::new(kit);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (kit, authorizer, alice) = (Arc::clone(&kit), authorizer.clone(), alice.clone());
            tokio::spawn(async move {
                let mcp = connect(&kit, &authorizer, alice).await;
                let message = format!("call {i}");
                let echoed = call(&mcp, "echo", &message).await.expect("echo");
                assert_eq!(echoed, message);
                mcp.cancel().await.expect("closes");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a session");
    }
    assert_eq!(
        grants(&kit),
        (1, 1),
        "exactly one token exchange and one jwt-bearer"
    );
    assert_eq!(mcp_calls(&kit, "tools/call").len(), 16);
    assert_eq!(
        kit.count(Server::Mcp, "/.well-known/oauth-protected-resource/mcp"),
        1,
        "one discovery"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_calls_in_one_session_after_revocation_share_one_exchange() {
    let kit = start(Options::default());
    let authorizer = authorizer(config(&kit));
    let mcp = Arc::new(connect(&kit, &authorizer, user(&kit, "alice")).await);
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));
    kit.revoke_all();
    let calls: Vec<_> = (0..16)
        .map(|i| {
            let mcp = Arc::clone(&mcp);
            tokio::spawn(async move {
                let message = format!("call {i}");
                assert_eq!(call(&mcp, "echo", &message).await.expect("echo"), message);
            })
        })
        .collect();
    for task in calls {
        task.await.expect("a call");
    }
    assert_eq!(
        grants(&kit),
        (2, 2),
        "the 16 refused calls share one re-exchange"
    );
    let succeeded = mcp_calls(&kit, "tools/call")
        .iter()
        .filter(|r| r.status.is_some_and(|s| s.is_success()))
        .count();
    assert_eq!(succeeded, 16);
}
