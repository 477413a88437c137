//! The authorizer as a tower layer over hyper-util's client, against the testkit's IdP,
//! authorization server and MCP server started here: the service lists the tools for alice,
//! then the server revokes her token and the next call is answered after one fresh exchange
//! and one resend. `cargo run -p xaa-reqwest --example tower-reqwest --features tower`
//!
//! The user of each request is a request extension: none, no request.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{ServiceBuilder, ServiceExt};
use xaa_reqwest::tower::AuthorizeLayer;
use xaa_reqwest::{
    AuthorizationServer, Authorizer, AuthorizerConfig, IdentityProvider, Policy, SubjectToken, User,
};
use xaa_testkit::{Endpoint, Options, Testkit};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let kit = Testkit::start(Options::default())?; // IdP, authorization server, MCP server
    let config = AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials()),
        AuthorizationServer::discovered(kit.as_credentials()),
    )
    .policy(Policy::loopback());
    let authorizer = Authorizer::new(config)?; // the flows run on its own client
    let alice = User::from_id_token(SubjectToken::IdToken(kit.id_token("alice")))?;

    // hyper-util's client follows no redirects; its request body is `Full<Bytes>`.
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mcp = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(authorizer.clone()))
        .service(hyper);
    let call = |id: u32, method: &str| -> Result<_, BoxError> {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"}}"#);
        let mut request = http::Request::post(kit.mcp_url())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(Full::new(Bytes::from(body)))?;
        request.extensions_mut().insert(alice.clone());
        Ok(mcp.clone().oneshot(request))
    };

    let response = call(1, "tools/list")?.await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    // What a server sent is shown escaped (`{:?}`): it may hold terminal control characters.
    println!("tools/list: {status} {:?}", String::from_utf8_lossy(&body));

    // The server stops accepting alice's token: the layer exchanges once more, resends.
    kit.revoke(authorizer.token(&alice).await?.expose_secret());
    kit.clear_requests();
    let response = call(2, "tools/list")?.await?;
    println!("after a revocation: {}", response.status());
    let mcp_requests = kit.requests_to(Endpoint::McpServer);
    let statuses: Vec<_> = mcp_requests.iter().filter_map(|r| r.status).collect();
    println!("the MCP server answered {statuses:?}");
    if !response.status().is_success()
        || statuses.len() != 2
        || kit.requests_to(Endpoint::IdpToken).len() != 1
    {
        return Err("expected one fresh exchange and one resend".into());
    }
    Ok(())
}
