//! Connects rmcp to the testkit's MCP server through enterprise-managed authorization, lists
//! its tools and calls `echo`: `cargo run -p xaa-rmcp --example echo`.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{AuthorizationServer, IdentityProvider, Policy};
use xaa_testkit::{Options, Testkit};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kit = Testkit::start(Options::default())?; // IdP, authorization server, MCP server
    let config = AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials()),
        AuthorizationServer::discovered(kit.as_credentials()),
    )
    .policy(Policy::loopback());
    let user = User::from_id_token(SubjectToken::IdToken(kit.id_token("alice")))?;

    let mcp = xaa_rmcp::client_config()
        .serve(xaa_rmcp::transport(config, user)?)
        .await?;
    for tool in mcp.list_all_tools().await? {
        println!("tool: {:?}", tool.name);
    }
    let message = [("message".to_owned(), "hello through ID-JAG".into())];
    let params = CallToolRequestParams::new("echo").with_arguments(message.into_iter().collect());
    for content in mcp.call_tool(params).await?.content {
        println!(
            "echo: {:?}",
            content.as_text().map_or("", |text| text.text.as_str())
        );
    }
    mcp.cancel().await?;
    Ok(())
}
