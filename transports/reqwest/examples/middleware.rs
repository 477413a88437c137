//! The authorizer as a reqwest-middleware layer, against the testkit's IdP, authorization
//! server and MCP server started here: a `ClientWithMiddleware` lists the tools for alice, then
//! the server revokes her token and the next call is answered after one fresh exchange and one
//! resend. `cargo run -p xaa-reqwest --example middleware-reqwest --features middleware`
//!
//! The user of each request is a request extension (`with_extension`): none, no request.

use http::header::{ACCEPT, CONTENT_TYPE};
use xaa_reqwest::middleware::AuthorizeMiddleware;
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

    let http = reqwest_middleware::ClientBuilder::new(mcp_client()?)
        .with(AuthorizeMiddleware::new(authorizer.clone()))
        .build();
    let call = |id: u32, method: &str| {
        http.post(kit.mcp_url())
            .with_extension(alice.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"}}"#
            ))
            .send()
    };

    let response = call(1, "tools/list").await?.error_for_status()?;
    // What a server sent is shown escaped (`{:?}`): it may hold terminal control characters.
    println!("tools/list: {:?}", response.text().await?);

    // The server stops accepting alice's token: the middleware exchanges once more, resends.
    kit.revoke(authorizer.token(&alice).await?.expose_secret());
    kit.clear_requests();
    let response = call(2, "tools/list").await?.error_for_status()?;
    println!("after a revocation: {}", response.status());
    let mcp = kit.requests_to(Endpoint::McpServer);
    let statuses: Vec<_> = mcp.iter().filter_map(|r| r.status).collect();
    println!("the MCP server answered {statuses:?}");
    if statuses.len() != 2 || kit.requests_to(Endpoint::IdpToken).len() != 1 {
        return Err("expected one fresh exchange and one resend".into());
    }
    Ok(())
}

/// The reqwest client of the MCP traffic: no redirects, so a token never follows one. With
/// xaa-reqwest's `rustls` feature reqwest has no crypto provider of its own
/// (`rustls-no-provider`): hand it a rustls configuration naming one.
fn mcp_client() -> Result<reqwest::Client, BoxError> {
    let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    #[cfg(feature = "rustls")]
    let builder = {
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        builder.tls_backend_preconfigured(tls)
    };
    Ok(builder.build()?)
}
