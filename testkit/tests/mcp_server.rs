//! The MCP server: Streamable HTTP JSON-RPC behind Bearer tokens, its challenges, sessions,
//! revocation and expiry.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use xaa::Scope;
use xaa::grant::SubjectToken;
use xaa_testkit::{Endpoint, Fault, Options, Server, Testkit, Tool};

fn post(kit: &Testkit, token: Option<&str>, body: Value) -> xaa::HttpResponse {
    common::send(common::json_request("POST", kit.mcp_url(), token, &body)).expect("POST /mcp")
}

fn challenge(response: &xaa::HttpResponse) -> &str {
    response.headers()["www-authenticate"]
        .to_str()
        .expect("ASCII")
}

fn json_body(response: &xaa::HttpResponse) -> Value {
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_slice(response.body()).expect("JSON")
}

fn call(tool: &str, message: &str) -> Value {
    json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": { "name": tool, "arguments": { "message": message } },
    })
}

#[test]
fn bearer_is_required_and_challenges_point_at_the_metadata() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let prm = kit.resource_metadata_url();
    assert_eq!(
        prm,
        format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            kit.mcp_origin()
        )
    );
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}});

    let response = post(&kit, None, initialize.clone());
    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!("Bearer resource_metadata=\"{prm}\", scope=\"tools:read\"")
    );
    let response = post(&kit, Some("not-a-token"), initialize.clone());
    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer resource_metadata=\"{prm}\", scope=\"tools:read\", error=\"invalid_token\""
        )
    );
    // Every method needs the token.
    let response = common::send(common::get(kit.mcp_url())).expect("GET");
    assert_eq!(response.status(), 401);

    kit.set_challenge_resource_metadata(false);
    let response = post(&kit, None, initialize.clone());
    assert_eq!(challenge(&response), "Bearer scope=\"tools:read\"");
    kit.set_challenge_resource_metadata(true);

    kit.set_prm_root_only(true);
    let response = post(&kit, None, initialize);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource\", scope=\"tools:read\"",
            kit.mcp_origin()
        )
    );
    let path = common::send(common::get(&prm)).expect("PRM");
    assert_eq!(path.status(), 404);
    let root = common::send(common::get(&kit.resource_metadata_url())).expect("PRM");
    assert_eq!(json_body(&root)["resource"], kit.mcp_origin());
    kit.set_prm_root_only(false);
    let path = common::send(common::get(&prm)).expect("PRM");
    assert_eq!(path.headers()["cache-control"], "max-age=3600");
    let document = json_body(&path);
    assert_eq!(document["resource"], kit.mcp_url());
    assert_eq!(
        document["authorization_servers"],
        json!([kit.authorization_server_issuer()])
    );
    assert_eq!(
        document["scopes_supported"],
        json!(["tools:read", "tools:admin"])
    );
}

#[test]
fn a_session_of_json_rpc_with_a_valid_token() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let access_token = kit.issue_access_token("alice", &Scope::parse("tools:read"));
    let token = Some(access_token.expose_secret());

    let response = post(
        &kit,
        token,
        json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "0"}},
        }),
    );
    assert_eq!(response.status(), 200);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let body = json_body(&response);
    assert_eq!(body["id"], 0);
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(body["result"]["capabilities"], json!({"tools": {}}));
    assert_eq!(body["result"]["serverInfo"]["name"], "xaa-testkit");

    let with_session = |body: Value| {
        let mut request = common::json_request("POST", kit.mcp_url(), token, &body);
        request
            .headers_mut()
            .insert("mcp-session-id", session.parse().expect("header"));
        common::send(request).expect("POST")
    };
    let response = with_session(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(response.status(), 202);
    assert!(response.body().is_empty());

    let response = with_session(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    let tools = json_body(&response)["result"]["tools"].clone();
    let names: Vec<&str> = tools
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert_eq!(names, ["echo", "admin_echo"]);
    assert_eq!(tools[0]["inputSchema"]["type"], "object");
    assert_eq!(tools[0]["inputSchema"]["required"], json!(["message"]));

    let response = with_session(call("echo", "hello"));
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_body(&response)["result"]["content"],
        json!([{"type": "text", "text": "hello"}])
    );

    let response = with_session(call("admin_echo", "hello"));
    assert_eq!(response.status(), 403);
    assert_eq!(
        challenge(&response),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"tools:admin\", error=\"insufficient_scope\"",
            kit.resource_metadata_url()
        )
    );

    let response = with_session(json!({"jsonrpc": "2.0", "id": 4, "method": "nope"}));
    assert_eq!(json_body(&response)["error"]["code"], -32601);

    let mut get = common::get(kit.mcp_url());
    get.headers_mut().insert(
        "authorization",
        format!("Bearer {}", access_token.expose_secret())
            .parse()
            .expect("header"),
    );
    assert_eq!(common::send(get).expect("GET").status(), 405);

    let mut delete = common::json_request("DELETE", kit.mcp_url(), token, &Value::Null);
    delete
        .headers_mut()
        .insert("mcp-session-id", session.parse().expect("header"));
    assert_eq!(common::send(delete).expect("DELETE").status(), 204);
    let response = with_session(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}));
    assert_eq!(response.status(), 404, "the session is gone");

    let methods: Vec<Option<String>> = kit
        .requests_to(Endpoint::McpServer)
        .into_iter()
        .map(|request| request.rpc_method)
        .collect();
    assert_eq!(methods[0].as_deref(), Some("initialize"));
    assert_eq!(methods[1].as_deref(), Some("notifications/initialized"));
}

#[test]
fn step_up_with_a_wider_token_and_scope_knobs() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let token = kit.issue_access_token("alice", &Scope::parse("tools:read tools:admin"));
    let response = post(&kit, Some(token.expose_secret()), call("admin_echo", "hi"));
    assert_eq!(response.status(), 200);

    kit.set_tool_scope(Tool::Echo, Scope::parse("tools:echo"));
    let response = post(&kit, Some(token.expose_secret()), call("echo", "hi"));
    assert_eq!(response.status(), 403);
    assert!(challenge(&response).contains("scope=\"tools:echo\""));
    let response = post(&kit, None, call("echo", "hi"));
    assert!(challenge(&response).contains("scope=\"tools:echo\""));
}

#[test]
fn revoked_expired_and_always_unauthorized() {
    let kit = Testkit::start(Options::default().access_token_lifetime(Duration::from_secs(1)))
        .expect("kit starts");
    let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
    let flow = xaa::EnterpriseAuth::new(config, xaa::Start::ServerUrl(kit.mcp_url().into()))
        .expect("flow");
    let authorization = common::drive(flow).expect("flow");
    let token = authorization.access_token.expose_secret().to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(post(&kit, Some(&token), list.clone()).status(), 200);
    std::thread::sleep(Duration::from_millis(1100));
    let response = post(&kit, Some(&token), list.clone());
    assert_eq!(response.status(), 401, "expired");
    assert!(challenge(&response).contains("error=\"invalid_token\""));

    kit.set_access_token_lifetime(Duration::from_secs(3600));
    let token = kit.issue_access_token("bob", &Scope::parse("tools:read"));
    let token = token.expose_secret();
    assert_eq!(post(&kit, Some(token), list.clone()).status(), 200);
    kit.set_fault(Endpoint::McpServer, Fault::Unauthorized);
    let response = post(&kit, Some(token), list.clone());
    assert_eq!(response.status(), 401, "always 401");
    assert!(challenge(&response).contains("error=\"invalid_token\""));
    kit.clear_faults();
    assert_eq!(post(&kit, Some(token), list.clone()).status(), 200);

    assert!(kit.revoke(token));
    let response = post(&kit, Some(token), list.clone());
    assert_eq!(response.status(), 401, "revoked");
    assert!(challenge(&response).contains("error=\"invalid_token\""));
    assert!(kit.access_token_info(token).expect("known").revoked);

    let other = kit.issue_access_token("carol", &Scope::parse("tools:read"));
    kit.revoke_all();
    assert_eq!(post(&kit, Some(other.expose_secret()), list).status(), 401);
    assert_eq!(kit.count(Server::Mcp, "/mcp"), 8);
}

#[test]
fn close_mid_body_promises_more_than_it_sends() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    kit.set_fault(Endpoint::ResourceMetadata, Fault::CloseMidBody);
    let authority = kit.mcp_origin().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {authority}\r\n\r\n"
    )
    .expect("write");
    let mut raw = Vec::new();
    // The server closes the connection: read_to_end ends (EOF or reset), it does not time out.
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("headers were sent");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let declared: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("Content-Length");
    assert!(!body.is_empty(), "part of the body was sent");
    assert!(body.len() < declared, "{} of {declared}", body.len());
}

#[test]
fn works_inside_an_async_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let kit = Testkit::start(Options::default()).expect("kit starts");
        let response = common::send(common::get(&kit.resource_metadata_url())).expect("PRM");
        assert_eq!(response.status(), 200);
        // Dropped inside the async context: the kit's runtime stops on its own thread.
        drop(kit);
    });
}
