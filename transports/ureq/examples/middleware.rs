//! The authorizer as a ureq middleware, against the testkit's IdP, authorization server and
//! MCP server started here: an agent lists the tools for alice, then the server revokes her
//! token and the next call is answered after one fresh exchange and one resend (made through
//! the authorizer's own client: ureq runs the rest of a middleware chain once).
//! `cargo run -p xaa-ureq --example middleware-ureq --features middleware`
//!
//! The user of each request is a request extension: none, no request.

use xaa_testkit::{Endpoint, Options, Testkit};
use xaa_ureq::middleware::AuthorizeMiddleware;
use xaa_ureq::{
    AuthorizationServer, Authorizer, AuthorizerConfig, IdentityProvider, Policy, SubjectToken, User,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kit = Testkit::start(Options::default())?; // IdP, authorization server, MCP server
    let config = AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials()),
        AuthorizationServer::discovered(kit.as_credentials()),
    )
    .policy(Policy::loopback());
    let authorizer = Authorizer::new(config)?; // the flows run on its own client
    let alice = User::from_id_token(SubjectToken::IdToken(kit.id_token("alice")))?;

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false) // a 403's challenge reaches the middleware
        .max_redirects(0) // a token never follows a redirect
        .middleware(AuthorizeMiddleware::new(authorizer.clone()))
        .build()
        .into();
    let call = |id: u32, method: &str| {
        agent
            .post(kit.mcp_url())
            .extension(alice.clone())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .send(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"}}"#
            ))
    };

    let mut response = call(1, "tools/list")?;
    // What a server sent is shown escaped (`{:?}`): it may hold terminal control characters.
    println!("tools/list: {:?}", response.body_mut().read_to_string()?);

    // The server stops accepting alice's token: the middleware exchanges once more, resends.
    kit.revoke(authorizer.token(&alice)?.expose_secret());
    kit.clear_requests();
    let response = call(2, "tools/list")?;
    println!("after a revocation: {}", response.status());
    let mcp = kit.requests_to(Endpoint::McpServer);
    let statuses: Vec<_> = mcp.iter().filter_map(|r| r.status).collect();
    println!("the MCP server answered {statuses:?}");
    if !response.status().is_success()
        || statuses.len() != 2
        || kit.requests_to(Endpoint::IdpToken).len() != 1
    {
        return Err("expected one fresh exchange and one resend".into());
    }
    Ok(())
}
