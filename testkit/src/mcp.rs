//! The MCP server: Streamable HTTP at `/mcp` (JSON responses only, no SSE), Bearer tokens from
//! the kit's authorization server on every request, and its protected-resource metadata.

use std::time::SystemTime;

use http::header::HeaderName;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use url::Url;
use xaa::Scope;
use xaa::constants::MCP_PROTOCOL_VERSION;
use xaa::jose::random_jti;
use xaa::server::resource::{
    BearerChallengeHeader, BearerError, DpopAccess, DpopResourceGuard, PresentedToken,
    ProtectedResourceMetadataDocument, TokenScheme, presented_token,
};

use crate::endpoint::{Endpoint, Server};
use crate::faults::{EVIL_ORIGIN, Fault, UNREACHABLE_ISSUER};
use crate::http_util::{
    empty, json as json_response, metadata_response, method_not_allowed, not_found,
};
use crate::options::Tool;
use crate::state::Shared;
use crate::tokens::AccessTokenInfo;
use crate::urls::PRM_ROOT;

/// The session header of Streamable HTTP.
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";

/// Answers a request routed to one of the MCP server's endpoints.
pub(crate) fn handle(
    shared: &Shared,
    endpoint: Endpoint,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    match endpoint {
        Endpoint::ResourceMetadata => resource_metadata(shared, request, fault),
        Endpoint::McpServer => mcp(shared, request, fault, now),
        _ => not_found(),
    }
}

/// RFC 9728 metadata: path-inserted (`resource` = the MCP URL) or root (`resource` = the
/// origin, no trailing slash).
fn resource_metadata(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
) -> Response<Vec<u8>> {
    let root = request.uri().path() == PRM_ROOT;
    let (root_only, scopes) = {
        let settings = shared.settings();
        (settings.prm_root_only, settings.all_scopes())
    };
    if !root && root_only {
        return not_found();
    }
    if request.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let urls = &shared.urls;
    let resource = if root {
        &urls.mcp_origin
    } else {
        &urls.mcp_url
    };
    let mut document =
        ProtectedResourceMetadataDocument::new(resource.as_str(), urls.as_issuer.as_str());
    if !scopes.is_empty() {
        document = document.with_scopes_supported(&scopes);
    }
    document.resource_name = Some("xaa-testkit MCP server".to_owned());
    let (dpop, dpop_required) = {
        let settings = shared.settings();
        (settings.dpop, settings.dpop_required)
    };
    if dpop {
        // RFC 9728 section 2.
        document = document
            .with_member(
                "dpop_signing_alg_values_supported",
                json!([crate::dpop::DPOP_ALGORITHM]),
            )
            .with_member("dpop_bound_access_tokens_required", json!(dpop_required));
    }
    match fault {
        Some(Fault::ForeignResource) if root => document.resource = EVIL_ORIGIN.to_owned(),
        Some(Fault::ForeignResource) => document.resource = format!("{EVIL_ORIGIN}/mcp"),
        Some(Fault::UnreachableAuthorizationServer) => {
            document.authorization_servers = vec![UNREACHABLE_ISSUER.to_owned()];
        }
        Some(Fault::AuthorizationServers(issuers)) => {
            document.authorization_servers = issuers.clone();
        }
        _ => {}
    }
    metadata_response(document.to_json())
}

/// The challenge of a 401 or 403: `resource_metadata` (unless switched off), `scope`, and
/// the error, if any.
fn challenge(shared: &Shared, error: Option<BearerError>, scope: Scope) -> Response<Vec<u8>> {
    let mut challenge = BearerChallengeHeader::new(shared.resource_metadata_url());
    if !shared.settings().challenge_resource_metadata {
        challenge.resource_metadata = None;
    }
    challenge.scope = (!scope.is_empty()).then_some(scope);
    challenge.error = error;
    challenge.to_response()
}

/// The 401: no usable token.
fn unauthorized(shared: &Shared, token_was_sent: bool) -> Response<Vec<u8>> {
    let error = token_was_sent.then_some(BearerError::InvalidToken);
    challenge(shared, error, shared.tool_scope(Tool::Echo))
}

fn mcp(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    let guard = shared.servers().mcp_dpop.clone();
    // Without DPoP, only the Bearer scheme is read, as before.
    let presented = presented_token(request)
        .filter(|presented| guard.is_some() || presented.scheme == TokenScheme::Bearer);
    match fault {
        Some(Fault::Unauthorized) => return unauthorized(shared, presented.is_some()),
        Some(Fault::DpopNonceLoop) => {
            return crate::dpop::resource_nonce_demand(shared.dpop_nonces.of(Server::Mcp), now);
        }
        Some(Fault::InvalidDpopProof) => {
            return crate::dpop::resource_refusal(
                "invalid_dpop_proof",
                "the DPoP proof is refused",
            );
        }
        _ => {}
    }
    let Some(presented) = presented else {
        return unauthorized(shared, false);
    };
    let Ok(info) = shared.tokens.check(
        presented.token.expose_secret(),
        &shared.urls.resources(),
        now,
    ) else {
        return unauthorized(shared, true);
    };
    let access = match check_dpop(shared, guard.as_ref(), request, &presented, &info, now) {
        Ok(access) => access,
        Err(refusal) => return *refusal,
    };
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|value| value.to_str().ok());
    let mut response = match *request.method() {
        Method::POST => rpc(shared, request, session, &info),
        Method::DELETE => {
            if let Some(session) = session {
                lock_sessions(shared).remove(session);
            }
            empty(StatusCode::NO_CONTENT)
        }
        _ => method_not_allowed("POST, DELETE"),
    };
    if let Some(access) = access {
        access.apply(&mut response);
    }
    response
}

/// With DPoP on, the guard's verdict on the request (RFC 9449 section 7): what to add to the
/// response, or the refusal to send. Without DPoP, nothing.
fn check_dpop(
    shared: &Shared,
    guard: Option<&DpopResourceGuard>,
    request: &Request<Vec<u8>>,
    presented: &PresentedToken,
    info: &AccessTokenInfo,
    now: SystemTime,
) -> Result<Option<DpopAccess>, Box<Response<Vec<u8>>>> {
    let Some(guard) = guard else {
        return Ok(None);
    };
    let uri = Url::parse(&shared.urls.mcp_url).map_err(|_| Box::new(unauthorized(shared, true)))?;
    let mut guard = guard.clone();
    if shared.settings().challenge_resource_metadata {
        guard = guard.with_resource_metadata(shared.resource_metadata_url());
    }
    guard
        .check(request, &uri, presented, info.dpop_jkt.as_deref(), now)
        .map(Some)
        .map_err(|refusal| Box::new(refusal.to_response()))
}

fn lock_sessions(shared: &Shared) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
    shared
        .sessions
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One JSON-RPC message.
fn rpc(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    session: Option<&str>,
    token: &AccessTokenInfo,
) -> Response<Vec<u8>> {
    let message = match serde_json::from_slice::<Value>(request.body()) {
        Ok(message @ Value::Object(_)) => message,
        _ => return rpc_error(StatusCode::BAD_REQUEST, Value::Null, -32700, "Parse error"),
    };
    let method = message.get("method").and_then(Value::as_str);
    let (Some(id), Some(method)) = (message.get("id").cloned(), method) else {
        // A notification, or a response from the client.
        return empty(StatusCode::ACCEPTED);
    };
    if method != "initialize"
        && let Some(session) = session
        && !lock_sessions(shared).contains(session)
    {
        return rpc_error(StatusCode::NOT_FOUND, id, -32001, "Session not found");
    }
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    match method {
        "initialize" => initialize(shared, id, &params),
        "ping" => rpc_result(id, json!({})),
        "tools/list" => rpc_result(id, json!({ "tools": tools(shared) })),
        "tools/call" => call_tool(shared, id, &params, token),
        _ => rpc_error(StatusCode::OK, id, -32601, "Method not found"),
    }
}

fn initialize(shared: &Shared, id: Value, params: &Value) -> Response<Vec<u8>> {
    let version = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or(MCP_PROTOCOL_VERSION);
    let session = random_jti();
    lock_sessions(shared).insert(session.clone());
    let mut response = rpc_result(
        id,
        json!({
            "protocolVersion": version,
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "xaa-testkit", "version": env!("CARGO_PKG_VERSION") },
        }),
    );
    if let Ok(value) = HeaderValue::from_str(&session) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(SESSION_HEADER), value);
    }
    response
}

fn tools(shared: &Shared) -> Vec<Value> {
    Tool::ALL
        .into_iter()
        .map(|tool| {
            let description = match tool {
                Tool::Echo => "Echoes the message back.",
                Tool::AdminEcho => "Echoes the message back; needs the admin scope.",
            };
            json!({
                "name": tool.name(),
                "description": description,
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "message": { "type": "string", "description": "The text to echo." },
                    },
                    "required": ["message"],
                },
                "_meta": { "scope": shared.tool_scope(tool).to_string() },
            })
        })
        .collect()
}

fn call_tool(
    shared: &Shared,
    id: Value,
    params: &Value,
    token: &AccessTokenInfo,
) -> Response<Vec<u8>> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(tool) = Tool::from_name(name) else {
        return rpc_error(StatusCode::OK, id, -32602, "Unknown tool");
    };
    let needed = shared.tool_scope(tool);
    if !needed.is_subset_of(&token.scope) {
        return challenge(shared, Some(BearerError::InsufficientScope), needed);
    }
    let text = params
        .pointer("/arguments/message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    rpc_result(
        id,
        json!({ "content": [{ "type": "text", "text": text }], "isError": false }),
    )
}

fn rpc_result(id: Value, result: Value) -> Response<Vec<u8>> {
    json_response(
        StatusCode::OK,
        &json!({ "jsonrpc": "2.0", "id": id, "result": result }),
    )
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> Response<Vec<u8>> {
    json_response(
        status,
        &json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }),
    )
}
