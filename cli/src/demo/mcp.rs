//! The demo's MCP calls with the access token: `initialize`, `notifications/initialized`,
//! `tools/list` and `tools/call`, each a step, the token sent as a bearer token or, when
//! DPoP-bound, with a proof per request (RFC 9449 section 7.1).

use std::time::{Instant, SystemTime};

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use xaa::dpop::DpopBinding;
use xaa::{AccessToken, HttpRequest, HttpResponse};

use super::steps::{Steps, now_ms, transport_failure};
use crate::exit::Failure;

/// Makes the four calls at `mcp_url` with `token`, in order; a call the server does not
/// answer with success ends the demo.
pub(super) fn calls(
    mcp_url: &str,
    token: &AccessToken,
    binding: Option<&DpopBinding>,
    client: &xaa_ureq::Client,
    steps: &mut Steps,
) -> Result<(), Failure> {
    let mut session: Option<String> = None;
    let calls = [
        (
            "mcp_initialize",
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": xaa::constants::MCP_PROTOCOL_VERSION, "capabilities": {},
            "clientInfo": {"name": "xaa-demo", "version": env!("CARGO_PKG_VERSION")}}}),
        ),
        (
            "mcp_initialized",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ),
        (
            "mcp_tools_list",
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        ),
        (
            "mcp_tools_call",
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": "hello from xaa"}}}),
        ),
    ];
    for (step, body) in calls {
        let mut request = HttpRequest::new(body.to_string().into_bytes());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = mcp_url
            .parse()
            .map_err(|_| Failure::Protocol("bad MCP URL".into()))?;
        let headers = request.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        headers.insert(
            ACCEPT,
            http::HeaderValue::from_static("application/json, text/event-stream"),
        );
        authorize(&mut request, token, binding)?;
        if let Some(id) = &session {
            let value = http::HeaderValue::from_str(id)
                .map_err(|_| Failure::Protocol("bad session id".into()))?;
            request.headers_mut().insert("mcp-session-id", value);
        }
        let at = steps.elapsed_ms();
        let started = Instant::now();
        let response = client.send(request).map_err(transport_failure)?;
        if let Some(id) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            session = Some(id.to_owned());
        }
        let status = response.status().as_u16();
        let answer = mcp_fields(&response);
        steps.record(
            json!({"step": step, "method": "POST", "url": mcp_url, "status": status,
            "at_ms": at, "took_ms": now_ms(started), "answer": answer}),
        );
        if !response.status().is_success() {
            return Err(Failure::Protocol(format!(
                "{step}: the MCP server answered {status}"
            )));
        }
    }
    Ok(())
}

/// Puts `token` on `request`: with a DPoP proof when it is bound, as a bearer token else.
fn authorize(
    request: &mut HttpRequest,
    token: &AccessToken,
    binding: Option<&DpopBinding>,
) -> Result<(), Failure> {
    match (binding, token.dpop_jkt()) {
        (Some(binding), Some(_)) => {
            let uri = request.uri().clone();
            let proof = binding
                .resource_headers(
                    &http::Method::POST,
                    &uri,
                    request.body(),
                    token,
                    SystemTime::now(),
                )
                .map_err(|refusal| Failure::Protocol(refusal.to_string()))?;
            proof.apply(request.headers_mut());
        }
        _ => {
            let bearer = http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| Failure::Protocol("the access token is not a header value".into()))?;
            request.headers_mut().insert(AUTHORIZATION, bearer);
        }
    }
    Ok(())
}

/// What an MCP answer says, briefly.
fn mcp_fields(response: &HttpResponse) -> Value {
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    let result = &body["result"];
    if let Some(info) = result.get("serverInfo") {
        return json!({"server": info.get("name"), "protocol_version": result.get("protocolVersion")});
    }
    if let Some(tools) = result.get("tools").and_then(Value::as_array) {
        return json!({"tools": tools.iter().filter_map(|t| t.get("name")).collect::<Vec<_>>()});
    }
    if let Some(content) = result.get("content") {
        return json!({"content": content});
    }
    if let Some(error) = body.get("error") {
        return json!({"error": error});
    }
    json!({})
}
