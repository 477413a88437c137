//! A client for the MCP conformance suite (`@modelcontextprotocol/conformance`), on rmcp and
//! `xaa-rmcp`.
//!
//! ```text
//! conformance client --command "<path>/conformance_client" --scenario auth/enterprise-managed-authorization
//! ```
//!
//! The runner appends the MCP server URL as the last argument and sets
//! `MCP_CONFORMANCE_SCENARIO`, `MCP_CONFORMANCE_CONTEXT` (JSON) and, in 0.2.0-alpha,
//! `MCP_CONFORMANCE_PROTOCOL_VERSION`. The client connects (initialize), lists the tools,
//! calls the first one, and exits non-zero on any failure. Scenarios:
//!
//! * `auth/enterprise-managed-authorization` (0.2.0-alpha) and
//!   `auth/cross-app-access-complete-flow` (0.1.x), one flow under two names: the ID token
//!   (`idp_id_token`, or `idp_refresh_token`) exchanged at the IdP (`idp_issuer`, discovered;
//!   a public client `idp_client_id` unless `idp_client_secret` is given), the ID-JAG then
//!   presented at the discovered authorization server with `client_secret_basic`
//!   (`client_id`, `client_secret`).
//! * `auth/wif-jwt-bearer`: only the jwt-bearer leg, the workload JWT (`valid_jwt`) as the
//!   assertion, the client (`client_id`) public. A rejection is final: no retry, no other
//!   grant.
//!
//! Every server is on `http://localhost`, hence [`Policy::loopback`].

use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use serde_json::Value;
use xaa::authorizer::{AuthorizerConfig, SubjectTokenSource, User};
use xaa::cache::Principal;
use xaa::grant::SubjectToken;
use xaa::{
    Assertion, AuthorizationServer, ClientCredentials, ClientSecret, IdToken, IdentityProvider,
    Policy, RefreshToken,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("conformance_client: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let server_url = std::env::args()
        .skip(1)
        .last()
        .ok_or("usage: conformance_client <mcp-server-url>")?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let context: Value = match std::env::var("MCP_CONFORMANCE_CONTEXT") {
        Ok(json) => serde_json::from_str(&json)?,
        Err(_) => Value::Null,
    };
    let context = Context(&context);
    eprintln!("conformance_client: scenario {scenario:?}");

    // The enterprise flow declares its extension in the capabilities; the workload flow
    // belongs to another one (`io.modelcontextprotocol/auth/wif`), which needs no declaration.
    let (config, user, mut client_config) = match scenario.as_str() {
        "auth/enterprise-managed-authorization" | "auth/cross-app-access-complete-flow" => {
            let (config, user) = enterprise(&server_url, &context)?;
            (config, user, xaa_rmcp::client_config())
        }
        "auth/wif-jwt-bearer" => {
            let (config, user) = workload(&server_url, &context)?;
            (config, user, ClientConfig::default())
        }
        other => return Err(format!("unsupported scenario {other:?}").into()),
    };
    let transport = xaa_rmcp::transport(config, user)?;

    let lifecycle = lifecycle(&mut client_config)?;
    let mcp = client_config
        .serve_with_lifecycle(transport, lifecycle)
        .await?;
    let tools = mcp.list_all_tools().await?;
    eprintln!("conformance_client: {} tool(s)", tools.len());
    if let Some(tool) = tools.first() {
        let result = mcp
            .call_tool(CallToolRequestParams::new(tool.name.clone()))
            .await?;
        if result.is_error == Some(true) {
            return Err(format!("tool {} answered with an error", tool.name).into());
        }
        eprintln!("conformance_client: called {:?}", tool.name);
    }
    mcp.cancel().await?;
    Ok(())
}

/// The enterprise flow: token exchange at the IdP, jwt-bearer at the authorization server.
fn enterprise(
    server_url: &str,
    context: &Context<'_>,
) -> Result<(AuthorizerConfig, User), BoxError> {
    let idp_client_id = context.required("idp_client_id")?;
    let idp_credentials = match context.optional("idp_client_secret") {
        Some(secret) => ClientCredentials::basic(idp_client_id, ClientSecret::new(secret)),
        None => ClientCredentials::public(idp_client_id),
    };
    let idp = match context.optional("idp_issuer") {
        Some(issuer) => IdentityProvider::issuer(issuer, idp_credentials),
        None => IdentityProvider::token_endpoint(
            context.required("idp_token_endpoint")?,
            idp_credentials,
        ),
    };
    let config = AuthorizerConfig::new(
        server_url,
        idp,
        AuthorizationServer::discovered(client_credentials(context)?),
    )
    .policy(Policy::loopback());
    let user = match (
        context.optional("idp_id_token"),
        context.optional("idp_refresh_token"),
    ) {
        (Some(id_token), _) => User::from_id_token(SubjectToken::IdToken(IdToken::new(id_token)))?,
        (None, Some(refresh_token)) => User::new(
            Principal::key("conformance-user"),
            Arc::new(SubjectToken::RefreshToken(RefreshToken::new(refresh_token))),
        ),
        (None, None) => {
            return Err("the context has neither idp_id_token nor idp_refresh_token".into());
        }
    };
    Ok((config, user))
}

/// Workload identity federation: the jwt-bearer leg alone, with the workload's JWT.
fn workload(server_url: &str, context: &Context<'_>) -> Result<(AuthorizerConfig, User), BoxError> {
    let assertion = Assertion::new(context.required("valid_jwt")?);
    let config = AuthorizerConfig::with_assertions(
        server_url,
        Arc::new(assertion),
        AuthorizationServer::discovered(client_credentials(context)?),
    )
    .policy(Policy::loopback());
    let principal = Principal::key(format!("workload:{}", context.required("client_id")?));
    Ok((config, User::new(principal, Arc::new(NoSubject))))
}

/// The client's registration at the authorization server: `client_secret_basic` when the
/// context has a secret, a public client otherwise.
fn client_credentials(context: &Context<'_>) -> Result<ClientCredentials, BoxError> {
    let client_id = context.required("client_id")?;
    Ok(match context.optional("client_secret") {
        Some(secret) => ClientCredentials::basic(client_id, ClientSecret::new(secret)),
        None => ClientCredentials::public(client_id),
    })
}

/// The protocol version the runner asks for: `initialize` for the versions that have it,
/// `server/discover` for the later ones. rmcp's default (`initialize`) without one.
fn lifecycle(config: &mut ClientConfig) -> Result<ClientLifecycleMode, BoxError> {
    let Ok(version) = std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION") else {
        return Ok(ClientLifecycleMode::Initialize);
    };
    let version: ProtocolVersion = serde_json::from_value(Value::String(version))?;
    if version.has_initialize() {
        config.protocol_version = version;
        Ok(ClientLifecycleMode::Initialize)
    } else {
        Ok(ClientLifecycleMode::Discover {
            preferred_versions: vec![version],
        })
    }
}

/// A workload has no user subject token: the authorizer's assertion source stands in.
struct NoSubject;

impl SubjectTokenSource for NoSubject {
    fn subject_token(&self, _now: SystemTime) -> Option<SubjectToken> {
        None
    }
}

/// `MCP_CONFORMANCE_CONTEXT`'s string members.
struct Context<'a>(&'a Value);

impl Context<'_> {
    fn optional(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    }

    fn required(&self, name: &str) -> Result<&str, BoxError> {
        self.optional(name)
            .ok_or_else(|| format!("MCP_CONFORMANCE_CONTEXT has no {name:?}").into())
    }
}
