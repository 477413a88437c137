//! Authorizes one call to an MCP server with the user's enterprise ID token (blocking).
//!
//! ```text
//! XAA_MCP_URL=https://mcp.example.com/mcp XAA_IDP_ISSUER=https://idp.example.com \
//! XAA_IDP_CLIENT_ID=... XAA_CLIENT_ID=... [XAA_CLIENT_SECRET=...] XAA_ID_TOKEN_FILE=token.jwt \
//! [XAA_LOOPBACK=1] cargo run -p xaa-ureq --example authorize-ureq
//! ```
//!
//! `XAA_LOOPBACK=1` allows plain http on 127.0.0.1 (a local test server).

use xaa_ureq::{
    AuthorizationServer, Authorizer, AuthorizerConfig, ClientCredentials, ClientSecret, IdToken,
    IdentityProvider, Policy, SubjectToken, User,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let mcp_url = env("XAA_MCP_URL")?;
    let idp = ClientCredentials::public(env("XAA_IDP_CLIENT_ID")?);
    let client = match env("XAA_CLIENT_SECRET") {
        Ok(secret) => ClientCredentials::basic(env("XAA_CLIENT_ID")?, ClientSecret::new(secret)),
        Err(_) => ClientCredentials::public(env("XAA_CLIENT_ID")?),
    };
    let mut config = AuthorizerConfig::new(
        mcp_url.as_str(),
        IdentityProvider::issuer(env("XAA_IDP_ISSUER")?, idp),
        AuthorizationServer::discovered(client),
    );
    if env("XAA_LOOPBACK").is_ok() {
        config = config.policy(Policy::loopback());
    }
    let id_token = std::fs::read_to_string(env("XAA_ID_TOKEN_FILE")?)?;
    let user = User::from_id_token(SubjectToken::IdToken(IdToken::new(id_token.trim())))?;
    let mcp = Authorizer::new(config)?.with_user(user);

    let initialize = http::Request::post(mcp_url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"xaa-example","version":"0.1.0"}}}"#.to_vec())?;
    let response = mcp.send(initialize)?;
    // What a server sent is shown escaped (`{:?}`): it may hold terminal control characters.
    println!(
        "{}\n{:?}",
        response.status(),
        String::from_utf8_lossy(response.body())
    );
    Ok(())
}
