//! The core client flow against the kit over real sockets: a cold start from only the MCP URL,
//! for every client authentication method on each side, and the recorded requests checked
//! against the protocol.

mod common;

use serde_json::json;
use xaa::constants::{
    CLIENT_ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE,
    TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN,
};
use xaa::grant::SubjectToken;
use xaa::{Authorization, EnterpriseAuth, Start};
use xaa_testkit::{
    ClientAuthMethod, ClientRegistration, Endpoint, Options, PresentedCredentials, RecordedRequest,
    ReplayMode, Server, Testkit,
};

const METHODS: [ClientAuthMethod; 4] = [
    ClientAuthMethod::None,
    ClientAuthMethod::ClientSecretBasic,
    ClientAuthMethod::ClientSecretPost,
    ClientAuthMethod::PrivateKeyJwt,
];

fn cold_flow(kit: &Testkit, user: &str) -> Authorization {
    let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token(user)));
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
    common::drive(flow).expect("the cold flow succeeds")
}

/// The form parameter names client authentication adds, by method.
fn client_params(method: ClientAuthMethod) -> Vec<&'static str> {
    match method {
        ClientAuthMethod::None => vec!["client_id"],
        ClientAuthMethod::ClientSecretPost => vec!["client_id", "client_secret"],
        ClientAuthMethod::PrivateKeyJwt => {
            vec!["client_id", "client_assertion_type", "client_assertion"]
        }
        _ => vec![],
    }
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

fn check_credentials(request: &RecordedRequest, client: &ClientRegistration) {
    let presented = PresentedCredentials::clone(
        request
            .credentials
            .as_ref()
            .expect("client credentials were presented"),
    );
    assert_eq!(presented.method, client.method, "{}", request.path);
    assert_eq!(
        presented.client_id.as_deref(),
        Some(client.client_id.as_str())
    );
    if let Some(secret) = client.secret() {
        match client.method {
            ClientAuthMethod::ClientSecretBasic => {
                let header = request.header("authorization").expect("Basic header");
                let (id, presented) = xaa_testkit::form::parse_basic_authorization(header)
                    .expect("well-formed Basic");
                assert_eq!(id, client.client_id);
                assert_eq!(presented.expose_secret(), secret.expose_secret());
            }
            _ => assert_eq!(request.param("client_secret"), Some(secret.expose_secret())),
        }
    }
    if client.method == ClientAuthMethod::PrivateKeyJwt {
        assert_eq!(
            request.param("client_assertion_type"),
            Some(CLIENT_ASSERTION_TYPE_JWT_BEARER)
        );
        let assertion =
            xaa::jwt::peek(request.param("client_assertion").expect("assertion")).expect("a JWS");
        assert_eq!(assertion.claim_str("iss"), Some(client.client_id.as_str()));
        assert_eq!(assertion.claim_str("sub"), Some(client.client_id.as_str()));
        assert_eq!(
            assertion.header_str("kid"),
            client.key().and_then(|key| key.public_jwk().kid.as_deref())
        );
    }
}

/// Nothing of `client` (id, secret) appears anywhere in `request`.
fn assert_no_trace_of(request: &RecordedRequest, client: &ClientRegistration) {
    let mut text = String::from_utf8_lossy(&request.body).into_owned();
    for (name, value) in &request.headers {
        text.push_str(name.as_str());
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    if let Some(header) = request.header("authorization")
        && let Some((id, secret)) = xaa_testkit::form::parse_basic_authorization(header)
    {
        text.push_str(&id);
        text.push_str(secret.expose_secret());
    }
    assert!(
        !text.contains(&client.client_id),
        "{} {} carries the other server's client id",
        request.server,
        request.path
    );
    if let Some(secret) = client.secret() {
        assert!(
            !text.contains(secret.expose_secret()),
            "{} {} carries the other server's secret",
            request.server,
            request.path
        );
    }
    if let Some(kid) = client.key().and_then(|key| key.public_jwk().kid.clone()) {
        let assertion = request.param("client_assertion").unwrap_or_default();
        let peeked = xaa::jwt::peek(assertion).ok();
        assert_ne!(
            peeked.as_ref().and_then(|jwt| jwt.header_str("kid")),
            Some(kid.as_str()),
            "{} got an assertion signed with the other server's client key",
            request.server
        );
    }
}

fn check_flow(kit: &Testkit, authorization: &Authorization) {
    let requests = kit.requests();
    let find = |endpoint: Endpoint, path: &str| -> usize {
        let matching: Vec<usize> = requests
            .iter()
            .enumerate()
            .filter(|(_, request)| request.endpoint == Some(endpoint) && request.path == path)
            .map(|(index, _)| index)
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "exactly one request to {path}: {requests:#?}"
        );
        matching[0]
    };
    let as_metadata_path = kit
        .authorization_server_metadata_url()
        .trim_start_matches(kit.authorization_server_issuer())
        .to_owned();
    let probe = find(Endpoint::McpServer, "/mcp");
    let prm = find(
        Endpoint::ResourceMetadata,
        "/.well-known/oauth-protected-resource/mcp",
    );
    let as_metadata = find(Endpoint::AsMetadata, &as_metadata_path);
    let idp_metadata = find(
        Endpoint::IdpMetadata,
        "/.well-known/oauth-authorization-server",
    );
    let exchange = find(Endpoint::IdpToken, "/token");
    let bearer = find(Endpoint::AsToken, "/token");
    assert_eq!(
        requests.len(),
        6,
        "nothing else was requested: {requests:#?}"
    );
    // Order of dependent requests.
    assert!(probe < prm && prm < as_metadata && as_metadata < exchange);
    assert!(idp_metadata < exchange && exchange < bearer);
    assert_eq!(
        kit.count(Server::Mcp, "/.well-known/oauth-protected-resource"),
        0
    );
    assert_eq!(
        kit.count(Server::Idp, "/.well-known/openid-configuration"),
        0
    );

    // The probe: the unauthenticated initialize, answered 401.
    let probe = &requests[probe];
    assert_eq!(probe.method, http::Method::POST);
    assert_eq!(probe.rpc_method.as_deref(), Some("initialize"));
    assert!(probe.header("authorization").is_none());
    assert_eq!(probe.status, Some(http::StatusCode::UNAUTHORIZED));
    for index in [prm, as_metadata, idp_metadata, exchange, bearer] {
        assert_eq!(
            requests[index].status,
            Some(http::StatusCode::OK),
            "{:?}",
            requests[index]
        );
    }
    for index in [prm, as_metadata, idp_metadata] {
        assert_eq!(requests[index].method, http::Method::GET);
        assert!(requests[index].credentials.is_none());
        assert!(requests[index].header("authorization").is_none());
    }

    // The token exchange at the IdP.
    let idp_client = kit.idp_client();
    let as_client = kit.as_client();
    let exchange = &requests[exchange];
    let mut expected = vec![
        "grant_type",
        "requested_token_type",
        "audience",
        "resource",
        "scope",
        "subject_token",
        "subject_token_type",
    ];
    expected.extend(client_params(idp_client.method));
    assert_eq!(sorted(exchange.param_names()), sorted(expected));
    assert_eq!(
        exchange.param("grant_type"),
        Some(GRANT_TYPE_TOKEN_EXCHANGE)
    );
    assert_eq!(
        exchange.param("requested_token_type"),
        Some(TOKEN_TYPE_ID_JAG)
    );
    assert_eq!(
        exchange.param("audience"),
        Some(kit.authorization_server_issuer())
    );
    assert_eq!(exchange.param("resource"), Some(kit.mcp_url()));
    assert_eq!(exchange.param("scope"), Some("tools:read"));
    assert_eq!(
        exchange.param("subject_token_type"),
        Some(TOKEN_TYPE_ID_TOKEN)
    );
    let subject = xaa::jwt::peek(exchange.param("subject_token").expect("subject")).expect("JWS");
    assert_eq!(subject.claim_str("sub"), Some("alice"));
    assert_eq!(
        subject.claim_str("aud"),
        Some(idp_client.client_id.as_str())
    );
    check_credentials(exchange, &idp_client);

    // The jwt-bearer grant at the authorization server.
    let bearer = &requests[bearer];
    let mut expected = vec!["grant_type", "assertion"];
    expected.extend(client_params(as_client.method));
    assert_eq!(sorted(bearer.param_names()), sorted(expected));
    assert_eq!(bearer.param("grant_type"), Some(GRANT_TYPE_JWT_BEARER));
    let id_jag = xaa::jwt::peek(bearer.param("assertion").expect("assertion")).expect("JWS");
    assert_eq!(id_jag.header_str("typ"), Some("oauth-id-jag+jwt"));
    assert_eq!(id_jag.claim_str("iss"), Some(kit.idp_issuer()));
    assert_eq!(
        id_jag.claim_str("aud"),
        Some(kit.authorization_server_issuer())
    );
    assert_eq!(
        id_jag.claim_str("client_id"),
        Some(as_client.client_id.as_str())
    );
    assert_eq!(id_jag.claim_str("resource"), Some(kit.mcp_url()));
    assert_eq!(id_jag.claim_str("sub"), Some("alice"));
    assert_eq!(id_jag.claim_str("email"), Some("alice@example.com"));
    check_credentials(bearer, &as_client);

    // Credentials only where they belong.
    for request in &requests {
        match request.server {
            Server::AuthorizationServer | Server::Mcp => assert_no_trace_of(request, &idp_client),
            Server::Idp => assert_no_trace_of(request, &as_client),
        }
    }

    // The token is the one the kit remembers, and the MCP server takes it.
    let info = kit
        .access_token_info(authorization.access_token.expose_secret())
        .expect("issued by the kit");
    assert_eq!(info.subject, "alice");
    assert_eq!(info.client_id, as_client.client_id);
    assert_eq!(info.resource, kit.mcp_url());
    assert_eq!(info.scope.to_string(), "tools:read");
    assert_eq!(authorization.resource, kit.mcp_url());
    let list = common::send(common::json_request(
        "POST",
        kit.mcp_url(),
        Some(authorization.access_token.expose_secret()),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    ))
    .expect("tools/list");
    assert_eq!(list.status(), 200);
}

#[test]
fn cold_flow_for_every_client_authentication_method_on_each_side() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    for idp_method in METHODS {
        for as_method in METHODS {
            kit.set_idp_client_auth(idp_method);
            kit.set_as_client_auth(as_method);
            kit.clear_requests();
            let authorization = cold_flow(&kit, "alice");
            check_flow(&kit, &authorization);
        }
    }
    kit.stop();
}

#[test]
fn metadata_advertises_the_profile_and_the_method_in_force() {
    let kit = Testkit::start(Options::default().as_client_auth(ClientAuthMethod::PrivateKeyJwt))
        .expect("kit starts");
    let response =
        common::send(common::get(&kit.authorization_server_metadata_url())).expect("metadata");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "max-age=3600");
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
    assert_eq!(document["issuer"], kit.authorization_server_issuer());
    assert_eq!(
        document["token_endpoint"],
        kit.authorization_server_token_endpoint()
    );
    assert_eq!(
        document["grant_types_supported"],
        json!([GRANT_TYPE_JWT_BEARER])
    );
    assert_eq!(
        document["authorization_grant_profiles_supported"],
        json!(["urn:ietf:params:oauth:grant-profile:id-jag"])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let url = format!("{}{path}", kit.idp_issuer());
        let response = common::send(common::get(&url)).expect("IdP metadata");
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["cache-control"], "max-age=3600");
        let document: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
        assert_eq!(document["issuer"], kit.idp_issuer());
        assert_eq!(document["jwks_uri"], kit.idp_jwks_uri());
        assert_eq!(
            document["identity_chaining_requested_token_types_supported"],
            json!([TOKEN_TYPE_ID_JAG])
        );
    }
    let jwks = common::send(common::get(kit.idp_jwks_uri())).expect("JWKS");
    let jwks = xaa::jose::Jwks::from_json(jwks.body()).expect("a JWKS");
    assert_eq!(jwks.keys, vec![kit.idp_signing_key().public_jwk().clone()]);
    kit.stop();
}

#[test]
fn tenant_issuer_oidc_only_idp_root_prm_and_a_token_endpoint_elsewhere() {
    let options = Options::default()
        .as_issuer_path("/tenant1")
        .as_token_endpoint_elsewhere(true)
        .idp_oidc_only(true)
        .prm_root_only(true)
        .challenge_resource_metadata(false)
        .idp_client_auth(ClientAuthMethod::ClientSecretPost);
    let kit = Testkit::start(options).expect("kit starts");
    assert!(kit.authorization_server_issuer().ends_with("/tenant1"));
    assert!(
        !kit.authorization_server_token_endpoint().starts_with(
            kit.authorization_server_issuer()
                .trim_end_matches("/tenant1")
        )
    );
    let authorization = cold_flow(&kit, "bob");
    // Without a pointer: the path-inserted PRM (404), then the root one, whose resource is
    // the origin.
    assert_eq!(authorization.resource, kit.mcp_origin());
    assert_eq!(
        kit.count(Server::Mcp, "/.well-known/oauth-protected-resource/mcp"),
        1
    );
    assert_eq!(
        kit.count(Server::Mcp, "/.well-known/oauth-protected-resource"),
        1
    );
    assert_eq!(
        kit.count(
            Server::AuthorizationServer,
            "/.well-known/oauth-authorization-server/tenant1"
        ),
        1
    );
    assert_eq!(
        kit.count(Server::Idp, "/.well-known/openid-configuration"),
        1
    );
    let bearer = kit.requests_to(Endpoint::AsToken);
    assert_eq!(bearer.len(), 1);
    assert_eq!(bearer[0].path, "/token");
    let info = kit
        .access_token_info(authorization.access_token.expose_secret())
        .expect("issued by the kit");
    assert_eq!(info.subject, "bob");
    assert_eq!(info.resource, kit.mcp_origin());
    kit.stop();
}

#[test]
fn saml_and_refresh_token_subjects() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    for subject in [
        SubjectToken::Saml2(kit.saml_assertion("carol")),
        SubjectToken::RefreshToken(kit.idp_refresh_token("carol")),
    ] {
        let config = kit.enterprise_config(subject);
        let flow =
            EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
        let authorization = common::drive(flow).expect("the flow succeeds");
        let info = kit
            .access_token_info(authorization.access_token.expose_secret())
            .expect("issued by the kit");
        assert_eq!(info.subject, "carol");
    }
    kit.stop();
}

/// decisions.md D13 against the kit's authorization server: the very same ID-JAG re-submitted
/// is refused under the EMA profile's strict replay rule (the flow then exchanges afresh: three
/// POSTs), and accepted with one POST when the server allows identical re-submission (D23; the
/// mode must be in force when the ID-JAG is first used, since only then is the token kept).
#[test]
fn resubmitted_id_jag_under_each_replay_mode() {
    let kit = Testkit::start(Options::new()).expect("kit");
    let resubmit_after_a_flow = |kit: &Testkit| {
        let first = cold_flow(kit, "alice");
        kit.clear_requests();
        let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
        let start = Start::Resubmit {
            discovery: first.discovery,
            id_jag: first.id_jag.expect("an ID-JAG was kept"),
        };
        let flow = EnterpriseAuth::new(config, start).expect("flow");
        common::drive(flow).expect("the re-submission ends in a token");
        let posts: Vec<Endpoint> = kit
            .requests()
            .iter()
            .filter_map(|request| request.endpoint)
            .collect();
        posts
    };
    assert_eq!(
        resubmit_after_a_flow(&kit),
        [Endpoint::AsToken, Endpoint::IdpToken, Endpoint::AsToken],
        "strict: refused, then a fresh exchange"
    );
    kit.set_id_jag_replay(ReplayMode::AllowIdenticalResubmission);
    assert_eq!(
        resubmit_after_a_flow(&kit),
        [Endpoint::AsToken],
        "identical re-submission allowed: one POST"
    );
}
