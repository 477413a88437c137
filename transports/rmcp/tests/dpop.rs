//! rmcp's real client with DPoP-bound tokens, over real sockets, against the testkit with DPoP
//! required on all three servers: every MCP request carries `Authorization: DPoP` and a fresh
//! proof (never rmcp's bearer header), with `content_digest` over the exact JSON bytes rmcp
//! sends; the nonce rmcp drops is learnt with one probe and the request resent once; a refused
//! proof and a nonce loop end the call with a typed error.

use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use serde_json::Value;
use xaa::DpopRefusal;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::dpop::DpopBinding;
use xaa::grant::SubjectToken;
use xaa::{AuthorizationServer, IdentityProvider, Policy};
use xaa_rmcp::AuthorizedHttpClient;
use xaa_testkit::{Endpoint, Fault, Options, RecordedRequest, Testkit};

#[path = "../../tests-shared/dpop.rs"]
#[allow(dead_code, unreachable_pub)]
mod dpop;

type Mcp = RunningService<RoleClient, ClientConfig>;

fn start(options: Options) -> Testkit {
    Testkit::start(options).expect("the testkit starts")
}

fn config(kit: &Testkit, binding: &DpopBinding) -> AuthorizerConfig {
    AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials()),
        AuthorizationServer::discovered(kit.as_credentials()),
    )
    .policy(Policy::loopback())
    .dpop(binding.clone())
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

async fn echo(mcp: &Mcp, message: &str) -> Result<String, ServiceError> {
    let arguments = [("message".to_owned(), Value::from(message))];
    let params = CallToolRequestParams::new("echo").with_arguments(arguments.into_iter().collect());
    let result = mcp.call_tool(params).await?;
    Ok(result
        .content
        .iter()
        .filter_map(|content| content.as_text())
        .map(|text| text.text.as_str())
        .collect())
}

/// Waits until the kit has answered rmcp's GET for its optional SSE stream (405), which rmcp
/// sends from a background task after `initialize`: no request is then left to race the test.
async fn optional_stream_refused(kit: &Testkit) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !kit.requests_to(Endpoint::McpServer).iter().any(|request| {
        request.method == http::Method::GET && request.status.map(|s| s.as_u16()) == Some(405)
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no GET answered 405"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The DPoP refusal that ended an rmcp call.
fn refusal(error: &ServiceError) -> Option<DpopRefusal> {
    xaa_rmcp::dpop_refusal(error).cloned()
}

fn rpc_methods(requests: &[RecordedRequest]) -> Vec<Option<&str>> {
    requests
        .iter()
        .map(|request| request.rpc_method.as_deref())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_tools_call_through_rmcp_carries_proofs_with_the_nonce_and_content_digest() {
    let kit = start(dpop::strict_options());
    let binding = dpop::digest_binding();
    let authorizer = authorizer(config(&kit, &binding));
    let alice = user(&kit, "alice");
    let mcp = connect(&kit, &authorizer, alice.clone()).await;
    optional_stream_refused(&kit).await;
    assert_eq!(echo(&mcp, "bound").await.expect("echo"), "bound");
    let token = authorizer.token(&alice).await.expect("the cached token");
    assert_eq!(token.dpop_jkt(), Some(binding.jkt()));
    let nonce = kit.dpop_nonce(xaa_testkit::Server::Mcp);

    let sent = dpop::authorized_mcp_requests(&kit);
    // `initialize` without a nonce is refused; the probe learns the nonce rmcp dropped; the
    // one resend carries it, as does every request after it.
    assert_eq!(
        rpc_methods(&sent[..3]),
        [Some("initialize"), Some("ping"), Some("initialize")]
    );
    let statuses: Vec<_> = sent.iter().map(|r| r.status.map(|s| s.as_u16())).collect();
    assert_eq!(
        statuses[..3],
        [Some(401), Some(401), Some(200)],
        "{sent:#?}"
    );
    let call = sent
        .iter()
        .position(|request| request.rpc_method.as_deref() == Some("tools/call"))
        .expect("the tools/call");
    assert_eq!(statuses[call], Some(200));
    for (index, request) in sent.iter().enumerate() {
        let nonce = (index >= 2).then_some(nonce.as_str());
        let claims = dpop::assert_bound_request(&kit, request, token.expose_secret(), nonce);
        let digest = xaa::dpop::content_digest(&request.body, dpop::sha256);
        assert_eq!(claims["content_digest"], digest.as_str(), "{request:#?}");
    }
    assert!(
        kit.requests()
            .iter()
            .all(|r| r.authorization_scheme.as_deref() != Some("Bearer")),
        "no bound token through rmcp's bearer path"
    );
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_refused_proof_through_rmcp_is_a_typed_error_and_final() {
    let kit = start(dpop::options());
    let authorizer = authorizer(config(&kit, &dpop::binding()));
    let mcp = connect(&kit, &authorizer, user(&kit, "alice")).await;
    optional_stream_refused(&kit).await;
    kit.clear_requests();
    kit.set_fault(Endpoint::McpServer, Fault::InvalidDpopProof);

    let error = echo(&mcp, "refused").await.expect_err("refused");
    assert!(
        matches!(refusal(&error), Some(DpopRefusal::ProofRefused { .. })),
        "{error:?}"
    );
    dpop::assert_only_mcp_requests(&kit, 1);
    mcp.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_nonce_loop_through_rmcp_gets_one_resend_then_a_typed_error() {
    let kit = start(dpop::options());
    let authorizer = authorizer(config(&kit, &dpop::binding()));
    let mcp = connect(&kit, &authorizer, user(&kit, "alice")).await;
    optional_stream_refused(&kit).await;
    kit.clear_requests();
    kit.set_fault(Endpoint::McpServer, Fault::DpopNonceLoop);

    let error = echo(&mcp, "looping").await.expect_err("refused");
    assert_eq!(refusal(&error), Some(DpopRefusal::NonceLoop), "{error:?}");
    // The call, the probe for its nonce, the one resend, and its probe: nothing more.
    let sent = kit.requests();
    assert_eq!(
        rpc_methods(&sent),
        [
            Some("tools/call"),
            Some("ping"),
            Some("tools/call"),
            Some("ping")
        ]
    );
    dpop::assert_only_mcp_requests(&kit, 4);
    mcp.cancel().await.ok();
}
