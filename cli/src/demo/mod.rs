//! `xaa demo`: the whole flow against loopback servers started in-process, step by step.
//!
//! The servers are the testkit's, but what they answer is printed as any server's would be:
//! every string escaped by [`shown`], every JSON value and document by [`terminal::json`].

use std::time::{Duration, Instant, SystemTime};

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use std::sync::Arc;

use xaa::dpop::{DpopBinding, DpopPolicy, EsDpopKey};
use xaa::grant::SubjectToken;
use xaa::jose::RandomJti;
use xaa::{EnterpriseAuth, Flow, HttpRequest, HttpResponse, Output, Purpose, Start};
use xaa_testkit::{Options, Server, Testkit};

use crate::exit::{Failure, classify};
use crate::secrets::fingerprint;
use crate::terminal::{self, shown};
use crate::timefmt::{human, rfc3339, unix};

/// Collects the steps; prints each as it happens unless the output is one JSON document.
struct Steps {
    json: bool,
    steps: Vec<Value>,
    started: Instant,
}

impl Steps {
    fn record(&mut self, step: Value) {
        if !self.json {
            let status = step["status"]
                .as_u64()
                .map_or(String::new(), |s| format!(" -> {s}"));
            let text = |key: &str| shown(step[key].as_str().unwrap_or("")).into_owned();
            println!(
                "[{:>6.1} ms] {:<30} {} {}{status}  ({:.1} ms)",
                step["at_ms"].as_f64().unwrap_or(0.0),
                text("step"),
                text("method"),
                text("url"),
                step["took_ms"].as_f64().unwrap_or(0.0),
            );
            if let Some(fields) = step["answer"].as_object() {
                for (name, value) in fields {
                    println!(
                        "{:>14}{}: {}",
                        "",
                        shown(name),
                        terminal::json(value, false)
                    );
                }
            }
        }
        self.steps.push(step);
    }

    fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }
}

/// The fields of an answer worth showing; tokens only as fingerprints.
fn answer_fields(purpose: Option<Purpose>, response: &HttpResponse) -> Value {
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    let pick = |names: &[&str]| -> Value {
        names
            .iter()
            .filter_map(|n| body.get(*n).map(|v| ((*n).to_owned(), v.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let token = |name: &str| body.get(name).and_then(Value::as_str).map(fingerprint);
    if response.status().is_client_error() && purpose != Some(Purpose::ResourceProbe) {
        let mut fields = pick(&["error", "error_description"]);
        if let Some(nonce) = response.headers().get("dpop-nonce") {
            fields["dpop_nonce"] = json!(String::from_utf8_lossy(nonce.as_bytes()));
        }
        return fields;
    }
    match purpose {
        Some(Purpose::ResourceProbe) => {
            json!({"www_authenticate": response.headers().get(WWW_AUTHENTICATE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())})
        }
        Some(Purpose::ResourceMetadata) => {
            pick(&["resource", "authorization_servers", "scopes_supported"])
        }
        Some(Purpose::AuthorizationServerMetadata | Purpose::IdpMetadata) => {
            pick(&["issuer", "token_endpoint", "grant_types_supported"])
        }
        Some(Purpose::TokenExchange) => {
            let mut fields = pick(&["issued_token_type", "token_type", "expires_in", "scope"]);
            fields["id_jag"] = json!(token("access_token"));
            fields
        }
        Some(Purpose::JwtBearer) => {
            let mut fields = pick(&["token_type", "expires_in", "scope"]);
            fields["access_token"] = json!(token("access_token"));
            fields
        }
        _ => pick(&["error", "error_description"]),
    }
}

fn now_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Runs the demo; with `dpop`, every token bound to a key made for the run.
pub(crate) fn run(json_output: bool, dpop: bool) -> Result<(), Failure> {
    let mut options = Options::new();
    if dpop {
        options = options
            .dpop(true)
            .dpop_required(true)
            .dpop_nonce(Server::AuthorizationServer);
    }
    let kit = Testkit::start(options)
        .map_err(|e| Failure::Protocol(format!("cannot start the loopback servers: {e}")))?;
    let binding = if dpop {
        let key = EsDpopKey::generate()
            .map_err(|e| Failure::Protocol(format!("cannot make a DPoP key: {e}")))?;
        Some(DpopBinding::new(
            Arc::new(key),
            Arc::new(RandomJti),
            DpopPolicy::Required,
        ))
    } else {
        None
    };
    let result = demo(&kit, json_output, binding.as_ref());
    kit.stop();
    result
}

fn demo(kit: &Testkit, json_output: bool, binding: Option<&DpopBinding>) -> Result<(), Failure> {
    let mut steps = Steps {
        json: json_output,
        steps: Vec::new(),
        started: Instant::now(),
    };
    if !json_output {
        println!(
            "xaa demo: IdP {}, MCP authorization server {}, MCP server {}",
            shown(kit.idp_issuer()),
            shown(kit.authorization_server_issuer()),
            shown(kit.mcp_url())
        );
        println!("starting from nothing but the MCP server URL, as user alice");
        if let Some(binding) = binding {
            println!(
                "every token bound to a DPoP key made for this run (jkt {})",
                shown(binding.jkt())
            );
        }
        println!();
    }
    let client = xaa_ureq::Client::builder()
        .deny_private_addresses(false)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let mut config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
    if let Some(binding) = binding {
        config = config.dpop(binding.clone());
    }
    let mut flow = EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().to_owned()))
        .map_err(|e| classify(&e))?;
    let authorization = 'flow: loop {
        let mut outstanding = Vec::new();
        loop {
            match flow
                .poll_output(SystemTime::now())
                .map_err(|e| classify(&e))?
            {
                Output::Transmit(transmit) => outstanding.push(transmit),
                Output::Wait => break,
                Output::Done(authorization) => break 'flow authorization,
            }
        }
        if outstanding.is_empty() {
            return Err(Failure::Protocol("the flow stalled".into()));
        }
        for transmit in outstanding {
            let at = steps.elapsed_ms();
            let (method, url) = (
                transmit.request.method().to_string(),
                transmit.request.uri().to_string(),
            );
            let started = Instant::now();
            let response = client.send(transmit.request).map_err(transport_failure)?;
            steps.record(
                json!({"step": transmit.purpose.as_str(), "method": method, "url": url,
                "status": response.status().as_u16(), "at_ms": at, "took_ms": now_ms(started),
                "answer": answer_fields(Some(transmit.purpose), &response)}),
            );
            flow.handle_response(SystemTime::now(), transmit.id, response)
                .map_err(|e| classify(&e))?;
        }
    };
    let token = authorization.access_token.clone();
    if !json_output {
        println!(
            "\n{} access token {} for {} (scope {}), expires {}\n",
            if token.dpop_jkt().is_some() {
                "DPoP-bound"
            } else {
                "bearer"
            },
            fingerprint(token.expose_secret()),
            shown(&authorization.resource),
            shown(
                &authorization
                    .scope
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            rfc3339(unix(authorization.expires_at))
        );
    }
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
        *request.uri_mut() = kit
            .mcp_url()
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
        match (binding, token.dpop_jkt()) {
            (Some(binding), Some(_)) => {
                let uri = request.uri().clone();
                let proof = binding
                    .resource_headers(
                        &http::Method::POST,
                        &uri,
                        request.body(),
                        &token,
                        SystemTime::now(),
                    )
                    .map_err(|refusal| Failure::Protocol(refusal.to_string()))?;
                proof.apply(request.headers_mut());
            }
            _ => {
                let bearer =
                    http::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                        .map_err(|_| {
                            Failure::Protocol("the access token is not a header value".into())
                        })?;
                request.headers_mut().insert(AUTHORIZATION, bearer);
            }
        }
        let headers = request.headers_mut();
        if let Some(id) = &session {
            let value = http::HeaderValue::from_str(id)
                .map_err(|_| Failure::Protocol("bad session id".into()))?;
            headers.insert("mcp-session-id", value);
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
            json!({"step": step, "method": "POST", "url": kit.mcp_url(), "status": status,
            "at_ms": at, "took_ms": now_ms(started), "answer": answer}),
        );
        if !response.status().is_success() {
            return Err(Failure::Protocol(format!(
                "{step}: the MCP server answered {status}"
            )));
        }
    }
    let total_ms = steps.elapsed_ms();
    let expires_in = authorization
        .expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let summary = json!({
        "requests": steps.steps.len(),
        "total_ms": total_ms,
        "resource": authorization.resource,
        "authorization_server": authorization.authorization_server,
        "access_token": fingerprint(token.expose_secret()),
        "token_type": authorization.token_type,
        "dpop_jkt": token.dpop_jkt(),
        "scope": authorization.scope.as_ref().map(ToString::to_string),
        "expires_at": rfc3339(unix(authorization.expires_at)),
        "expires_in_s": expires_in.as_secs(),
    });
    if json_output {
        let document = json!({"steps": steps.steps, "summary": summary});
        println!("{}", terminal::json(&document, true));
    } else {
        println!(
            "\n{} requests in {:.1} ms; the token expires in {}",
            steps.steps.len(),
            total_ms,
            human(expires_in)
        );
    }
    Ok(())
}

/// A failure to reach a server, its text escaped.
fn transport_failure(error: xaa_ureq::Error) -> Failure {
    Failure::Protocol(shown(&error.to_string()).into_owned())
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
