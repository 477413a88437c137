//! Whole flows through `EnterpriseAuth` against closure fakes that check each exact request.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use xaa::grant::{IssuedIdJag, SubjectToken};
use xaa::{
    AuthorizationServer, ClientCredentials, ClientSecret, EnterpriseAuth, EnterpriseConfig, Error,
    IdToken, IdentityProvider, Purpose, Scope, Start,
};

fn config() -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
}

fn expected_exchange_form() -> Vec<(String, String)> {
    let id_token = id_token();
    pairs(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id-jag",
        ),
        ("audience", AS),
        ("resource", MCP),
        ("scope", "tools:read"),
        ("subject_token", &id_token),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ),
        ("client_id", IDP_CLIENT),
    ])
}

#[test]
fn conformance_shaped_cold_flow_from_the_server_url() {
    for order in [Order::Fifo, Order::Lifo] {
        let mut servers = Servers::happy();
        let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
        let (result, rounds) = run(flow, &mut servers, order);
        let auth = result.expect("the flow succeeds");
        assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN);
        assert_eq!(auth.resource, MCP);
        assert_eq!(auth.authorization_server, AS);
        assert_eq!(auth.scope, Some(Scope::parse("tools:read")));
        assert_eq!(auth.expires_at, now() + Duration::from_secs(3600));
        let issued = auth.id_jag.expect("the ID-JAG is kept");
        assert_eq!(issued.expires_at, now() + Duration::from_secs(300));
        assert_eq!(
            rounds, 5,
            "probe, PRM, AS metadata, token exchange, jwt-bearer"
        );

        // Every request, exactly once, and nothing else.
        let mut urls = servers.urls();
        urls.sort();
        let mut expected = vec![
            format!("POST {MCP}"),
            format!("GET {PRM_URL}"),
            format!("GET {AS_META}"),
            format!("GET {IDP_OAUTH_META}"),
            format!("GET {IDP_OIDC_META}"),
            format!("POST {IDP_TOKEN}"),
            format!("POST {AS_TOKEN}"),
        ];
        expected.sort();
        assert_eq!(urls, expected);

        let probe = servers.find("POST", MCP).expect("probe");
        assert_eq!(probe.purpose, Purpose::ResourceProbe);
        assert_eq!(
            probe.headers["accept"],
            "application/json, text/event-stream"
        );
        assert!(probe.authorization().is_none());

        for get in [PRM_URL, AS_META, IDP_OIDC_META] {
            let request = servers.find("GET", get).expect("metadata GET");
            assert_eq!(request.headers["accept"], "application/json");
            assert!(
                request.authorization().is_none(),
                "no credentials on metadata"
            );
        }

        let exchange = servers.find("POST", IDP_TOKEN).expect("exchange");
        assert_eq!(exchange.purpose, Purpose::TokenExchange);
        assert_eq!(
            exchange.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(exchange.headers["accept"], "application/json");
        assert!(
            exchange.authorization().is_none(),
            "public client at the IdP"
        );
        assert_eq!(exchange.sorted_form(), expected_exchange_form());

        let bearer = servers.find("POST", AS_TOKEN).expect("jwt-bearer");
        assert_eq!(bearer.purpose, Purpose::JwtBearer);
        assert_eq!(
            bearer.sorted_form(),
            pairs(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &id_jag()),
            ])
        );
        let basic = bearer.authorization().expect("client_secret_basic");
        assert_eq!(
            basic,
            form::basic_authorization(AS_CLIENT, &ClientSecret::new(AS_SECRET))
        );
    }
}

#[test]
fn idp_metadata_overlaps_resource_discovery() {
    let mut servers = Servers::happy();
    let mut flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let mut first_round = Vec::new();
    while let xaa::Output::Transmit(t) = xaa::Flow::poll_output(&mut flow, now()).expect("poll") {
        first_round.push(t.purpose);
    }
    assert_eq!(
        first_round,
        vec![Purpose::ResourceProbe, Purpose::IdpMetadata]
    );
    drop(servers.log.drain(..));
}

#[test]
fn speculative_mode_takes_four_round_trips() {
    let mut servers = Servers::happy();
    let mut config = config();
    config.policy.speculative_resource_metadata = true;
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, rounds) = run(flow, &mut servers, Order::Lifo);
    result.expect("the flow succeeds");
    assert_eq!(rounds, 4);
    assert_eq!(servers.count("GET", PRM_URL), 1, "the PRM is fetched once");
}

#[test]
fn speculative_fetch_is_discarded_when_the_challenge_points_elsewhere() {
    let other = "https://meta.example.net/prm/mcp";
    let mut servers = Servers::happy()
        .on("POST", MCP, move |_| {
            challenge(401, &format!(r#"Bearer resource_metadata="{other}""#))
        })
        .on("GET", other, |_| json_response(200, prm()));
    let mut config = config();
    config.policy.speculative_resource_metadata = true;
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    result.expect("the flow succeeds");
    assert_eq!(servers.count("GET", other), 1);
    assert_eq!(
        servers.count("GET", PRM_URL),
        1,
        "the speculative GET was sent, and ignored"
    );
}

#[test]
fn issuer_with_a_path_uses_path_inserted_metadata() {
    let issuer = "https://as.example.com/tenant1";
    let meta = "https://as.example.com/.well-known/oauth-authorization-server/tenant1";
    let mut servers = Servers::happy()
        .on("GET", PRM_URL, move |_| {
            json_response(
                200,
                json!({"resource": MCP, "authorization_servers": [issuer]}),
            )
        })
        .on("GET", meta, move |_| {
            let mut m = as_metadata();
            m["issuer"] = json!(issuer);
            json_response(200, m)
        })
        .on("POST", IDP_TOKEN, move |_| {
            let mut claims = id_jag_claims();
            claims["aud"] = json!(issuer);
            let mut body = exchange_response();
            body["access_token"] = json!(id_jag_with(claims));
            json_response(200, body)
        });
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let auth = result.expect("the flow succeeds");
    assert_eq!(auth.authorization_server, issuer);
    assert_eq!(
        servers
            .find("POST", IDP_TOKEN)
            .expect("exchange")
            .form_value("audience"),
        Some(issuer)
    );
    assert!(
        servers.find("GET", AS_META).is_none(),
        "no root metadata for a path issuer"
    );
}

#[test]
fn oidc_path_appended_is_the_last_candidate() {
    let issuer = "https://as.example.com/tenant1";
    let candidates = [
        "https://as.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://as.example.com/.well-known/openid-configuration/tenant1",
        "https://as.example.com/tenant1/.well-known/openid-configuration",
    ];
    let mut servers = Servers::happy()
        .on("GET", PRM_URL, move |_| {
            json_response(
                200,
                json!({"resource": MCP, "authorization_servers": [issuer]}),
            )
        })
        .on("GET", candidates[0], |_| status(404))
        .on("GET", candidates[1], |_| status(400))
        .on("GET", candidates[2], move |_| {
            let mut m = as_metadata();
            m["issuer"] = json!(issuer);
            json_response(200, m)
        })
        .on("POST", IDP_TOKEN, move |_| {
            let mut claims = id_jag_claims();
            claims["aud"] = json!(issuer);
            let mut body = exchange_response();
            body["access_token"] = json!(id_jag_with(claims));
            json_response(200, body)
        });
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    result.expect("the flow succeeds");
    let gets: Vec<String> = servers
        .log
        .iter()
        .filter(|r| r.purpose == Purpose::AuthorizationServerMetadata)
        .map(|r| r.url.clone())
        .collect();
    assert_eq!(gets, candidates.map(String::from).to_vec());
}

#[test]
fn pinned_authorization_server_is_discovered_alongside_the_probe() {
    let mut servers = Servers::happy();
    let mut config = config();
    config.authorization_server = AuthorizationServer::pinned(
        AS,
        ClientCredentials::basic(AS_CLIENT, ClientSecret::new(AS_SECRET)),
    );
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, rounds) = run(flow, &mut servers, Order::Fifo);
    result.expect("the flow succeeds");
    assert_eq!(rounds, 4, "AS metadata no longer waits for the PRM");
}

#[test]
fn start_from_a_challenge_never_probes() {
    let mut servers = Servers::happy();
    let headers = probe_challenge().headers().clone();
    let flow = EnterpriseAuth::new(
        config(),
        Start::Challenge {
            server_url: MCP.into(),
            headers,
        },
    )
    .expect("config");
    let (result, rounds) = run(flow, &mut servers, Order::Fifo);
    result.expect("the flow succeeds");
    assert_eq!(servers.count("POST", MCP), 0);
    assert_eq!(rounds, 4);
}

#[test]
fn start_from_a_metadata_url() {
    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(
        config(),
        Start::ResourceMetadata {
            server_url: MCP.into(),
            metadata_url: PRM_URL.into(),
        },
    )
    .expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    result.expect("the flow succeeds");
    assert_eq!(servers.count("POST", MCP), 0);
}

#[test]
fn cached_discovery_costs_exactly_two_posts() {
    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let (first, _) = run(flow, &mut servers, Order::Fifo);
    let discovery = first.expect("cold flow").discovery;
    assert!(discovery.is_fresh(now()));

    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(config(), Start::Cached(discovery)).expect("config");
    let (second, rounds) = run(flow, &mut servers, Order::Fifo);
    second.expect("warm flow");
    assert_eq!(
        servers.urls(),
        vec![format!("POST {IDP_TOKEN}"), format!("POST {AS_TOKEN}")]
    );
    assert_eq!(rounds, 2);
    assert_eq!(servers.log[0].sorted_form(), expected_exchange_form());
}

/// The URLs a cold flow checked travel with its discovery as a memo, used only for the very
/// same strings: a token endpoint changed afterwards is checked in full, and a discovery read
/// back from storage (no memo) works and equals the original.
#[test]
fn a_cached_discovery_never_skips_the_check_of_a_changed_url() {
    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let (first, _) = run(flow, &mut servers, Order::Fifo);
    let discovery = first.expect("cold flow").discovery;

    let stored = serde_json::to_string(&discovery).expect("serializes");
    let read_back: xaa::Discovery = serde_json::from_str(&stored).expect("deserializes");
    assert_eq!(read_back, discovery);
    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(config(), Start::Cached(read_back)).expect("config");
    run(flow, &mut servers, Order::Fifo)
        .0
        .expect("warm flow from storage");

    let mut tampered = discovery;
    std::sync::Arc::make_mut(&mut tampered.authorization_server).token_endpoint =
        AS_TOKEN.replace("https://", "http://");
    let mut servers = Servers::happy();
    let outcome = EnterpriseAuth::new(config(), Start::Cached(tampered))
        .map(|flow| run(flow, &mut servers, Order::Fifo).0);
    let error = match outcome {
        Err(error) | Ok(Err(error)) => error,
        Ok(Ok(_)) => panic!("an http token endpoint was used"),
    };
    assert!(
        matches!(
            error,
            Error::InsecureUrl {
                purpose: Purpose::JwtBearer,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
}

#[test]
fn supplied_assertion_runs_only_discovery_and_the_jwt_bearer_leg() {
    let assertion = jwt(
        json!({"alg": "RS256", "typ": "JWT"}),
        json!({"sub": "workload"}),
    );
    let mut servers = Servers::happy();
    let config = EnterpriseConfig::with_assertion(
        xaa::Assertion::new(assertion.clone()),
        AuthorizationServer::discovered(ClientCredentials::public(AS_CLIENT)),
    );
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let auth = result.expect("the flow succeeds");
    assert!(auth.id_jag.is_none());
    assert_eq!(servers.count("POST", IDP_TOKEN), 0);
    assert_eq!(servers.count("GET", IDP_OIDC_META), 0, "no IdP at all");
    let bearer = servers.find("POST", AS_TOKEN).expect("jwt-bearer");
    assert_eq!(
        bearer.sorted_form(),
        pairs(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion),
            ("scope", "tools:read"),
            ("client_id", AS_CLIENT),
        ])
    );
}

#[test]
fn idp_given_as_a_token_endpoint_is_not_discovered() {
    let mut servers = Servers::happy();
    let mut config = config();
    config.grant = xaa::GrantSource::Enterprise {
        idp: IdentityProvider::token_endpoint(IDP_TOKEN, ClientCredentials::public(IDP_CLIENT)),
        subject: SubjectToken::IdToken(IdToken::new(id_token())),
    };
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    result.expect("the flow succeeds");
    assert_eq!(servers.count("GET", IDP_OIDC_META), 0);
    assert_eq!(servers.count("GET", IDP_OAUTH_META), 0);
}

#[test]
fn resource_parameter_on_the_jwt_bearer_request_is_a_switch() {
    let mut servers = Servers::happy();
    let mut config = config();
    config.policy.jwt_bearer_resource = true;
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    run(flow, &mut servers, Order::Fifo)
        .0
        .expect("the flow succeeds");
    let bearer = servers.find("POST", AS_TOKEN).expect("jwt-bearer");
    assert_eq!(bearer.form_value("resource"), Some(MCP), "decisions.md D14");
}

#[test]
fn caller_scope_overrides_the_challenge() {
    let mut servers = Servers::happy()
        .on("POST", IDP_TOKEN, |_| {
            let mut body = exchange_response();
            body["scope"] = json!("tools:write");
            let mut claims = id_jag_claims();
            claims["scope"] = json!("tools:write");
            body["access_token"] = json!(id_jag_with(claims));
            json_response(200, body)
        })
        .on("POST", AS_TOKEN, |_| {
            let mut body = bearer_response();
            body["scope"] = json!("tools:write");
            json_response(200, body)
        });
    let config = config().scope(Scope::parse("tools:write admin"));
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let auth = run(flow, &mut servers, Order::Fifo)
        .0
        .expect("the flow succeeds");
    assert_eq!(auth.scope, Some(Scope::parse("tools:write")));
    let exchange = servers.find("POST", IDP_TOKEN).expect("exchange");
    assert_eq!(exchange.form_value("scope"), Some("tools:write admin"));
}

#[test]
fn scopes_supported_is_used_without_a_challenge_scope() {
    let mut servers = Servers::happy()
        .on("POST", MCP, |_| {
            challenge(401, &format!(r#"Bearer resource_metadata="{PRM_URL}""#))
        })
        .on("POST", IDP_TOKEN, |_| {
            let mut body = exchange_response();
            body.as_object_mut().expect("object").remove("scope");
            json_response(200, body)
        })
        .on("POST", AS_TOKEN, |_| {
            let mut body = bearer_response();
            body.as_object_mut().expect("object").remove("scope");
            json_response(200, body)
        });
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let auth = run(flow, &mut servers, Order::Fifo)
        .0
        .expect("the flow succeeds");
    let exchange = servers.find("POST", IDP_TOKEN).expect("exchange");
    assert_eq!(exchange.form_value("scope"), Some("tools:read tools:write"));
    assert_eq!(
        auth.scope,
        Some(Scope::parse("tools:read")),
        "the ID-JAG's scope"
    );
}

#[test]
fn no_challenge_header_falls_back_to_well_known_then_root() {
    let root = "https://mcp.example.com/.well-known/oauth-protected-resource";
    let mut servers = Servers::happy()
        .on("POST", MCP, |_| status(401))
        .on("GET", PRM_URL, |_| status(404))
        .on("GET", root, |_| {
            json_response(
                200,
                json!({"resource": "https://mcp.example.com", "authorization_servers": [AS]}),
            )
        })
        .on("POST", IDP_TOKEN, |_| {
            let mut claims = id_jag_claims();
            claims["resource"] = json!("https://mcp.example.com");
            claims.as_object_mut().expect("object").remove("scope");
            let mut body = exchange_response();
            body["access_token"] = json!(id_jag_with(claims));
            body.as_object_mut().expect("object").remove("scope");
            json_response(200, body)
        })
        .on("POST", AS_TOKEN, |_| {
            let mut body = bearer_response();
            body.as_object_mut().expect("object").remove("scope");
            json_response(200, body)
        });
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let auth = run(flow, &mut servers, Order::Fifo)
        .0
        .expect("the flow succeeds");
    assert_eq!(
        auth.resource, "https://mcp.example.com",
        "decisions.md D1: no trailing slash"
    );
    let exchange = servers.find("POST", IDP_TOKEN).expect("exchange");
    assert_eq!(
        exchange.form_value("resource"),
        Some("https://mcp.example.com")
    );
    assert_eq!(exchange.form_value("scope"), None);
}

/// A flow started from [`Start::Resubmit`] (a cached discovery and an ID-JAG to re-submit,
/// decisions.md D13) whose grant is a caller-supplied assertion: there is no ID-JAG of the
/// flow's own to re-submit, so only the jwt-bearer grant runs, with the caller's assertion, and
/// the result reports no ID-JAG.
///
/// Pins fuzz-found bug KB2 (the `xaa::fuzzing` docs; corpus input
/// `regression-kb2-resubmitted-assertion-reports-id-jag`): the result reported the ID-JAG handed
/// to `Start::Resubmit`, which was never sent.
#[test]
fn a_resubmit_start_with_a_supplied_assertion_reports_no_id_jag() {
    let assertion = jwt(
        json!({"alg": "RS256", "typ": "JWT"}),
        json!({"sub": "workload"}),
    );
    let config = || {
        EnterpriseConfig::with_assertion(
            xaa::Assertion::new(assertion.clone()),
            AuthorizationServer::discovered(ClientCredentials::public(AS_CLIENT)),
        )
    };
    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let discovery = run(flow, &mut servers, Order::Fifo)
        .0
        .expect("cold flow")
        .discovery;

    let not_ours =
        IssuedIdJag::resubmitted(xaa::IdJag::new(id_jag()), now() + Duration::from_secs(300));
    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(
        config(),
        Start::Resubmit {
            discovery,
            id_jag: not_ours,
        },
    )
    .expect("config");
    let (result, rounds) = run(flow, &mut servers, Order::Fifo);
    let auth = result.expect("the flow succeeds");
    assert!(
        auth.id_jag.is_none(),
        "an ID-JAG reported though the caller's assertion was sent"
    );
    assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN);
    assert_eq!(auth.resource, MCP);
    assert_eq!(
        servers.urls(),
        vec![format!("POST {AS_TOKEN}")],
        "the jwt-bearer grant only: no exchange, no re-submitted ID-JAG"
    );
    assert_eq!(rounds, 1);
    assert_eq!(
        servers.log[0].sorted_form(),
        pairs(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion),
            ("scope", "tools:read"),
            ("client_id", AS_CLIENT),
        ])
    );
}

// A private deployment (decisions.md D5): the MCP server, its authorization server and the IdP
// on private IP literals.
const PRIVATE_MCP: &str = "https://10.1.2.3/mcp";
const PRIVATE_PRM: &str = "https://10.1.2.3/.well-known/oauth-protected-resource/mcp";
const PRIVATE_AS: &str = "https://10.1.2.4";
const PRIVATE_AS_META: &str = "https://10.1.2.4/.well-known/oauth-authorization-server";
const PRIVATE_AS_TOKEN: &str = "https://10.1.2.4/token";
const PRIVATE_IDP: &str = "https://10.1.2.5";
const PRIVATE_IDP_OAUTH_META: &str = "https://10.1.2.5/.well-known/oauth-authorization-server";
const PRIVATE_IDP_OIDC_META: &str = "https://10.1.2.5/.well-known/openid-configuration";
const PRIVATE_IDP_TOKEN: &str = "https://10.1.2.5/oauth2/token";

/// The protected-resource metadata of a server naming [`PRIVATE_AS`].
fn prm_naming_the_private_as(resource: &str) -> serde_json::Value {
    json!({
        "resource": resource, "authorization_servers": [PRIVATE_AS],
        "scopes_supported": ["tools:read"],
    })
}

/// The MCP server, its authorization server and the IdP all on private IP literals. The whole
/// flow succeeds: the MCP server's own address makes private addresses the deployment's own
/// (decisions.md D5, `is_private_deployment`).
///
/// Pins fuzz-found bug KB3 (the `xaa::fuzzing` docs; corpus input
/// `regression-kb3-private-mcp-url-refused`): the MCP server URL was checked before the rule
/// knew the deployment was private, so the flow refused the server for its own address.
#[test]
fn a_private_deployment_on_ip_literals_is_authorized() {
    let subject = jwt(
        json!({"alg": "ES256", "typ": "JWT", "kid": "idp-key"}),
        json!({
            "iss": PRIVATE_IDP, "sub": "alice", "aud": IDP_CLIENT,
            "iat": secs(now()) - 60, "exp": secs(now()) + 3600,
        }),
    );
    let config = EnterpriseConfig::new(
        IdentityProvider::issuer(PRIVATE_IDP, ClientCredentials::public(IDP_CLIENT)),
        SubjectToken::IdToken(IdToken::new(subject.clone())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    );
    let mut claims = id_jag_claims();
    claims["iss"] = json!(PRIVATE_IDP);
    claims["aud"] = json!(PRIVATE_AS);
    claims["resource"] = json!(PRIVATE_MCP);
    let private_id_jag = id_jag_with(claims);
    let issued = private_id_jag.clone();
    let mut servers = Servers::empty()
        .on("POST", PRIVATE_MCP, |_| {
            challenge(
                401,
                &format!(
                    r#"Bearer error="invalid_token", resource_metadata="{PRIVATE_PRM}", scope="tools:read""#
                ),
            )
        })
        .on("GET", PRIVATE_PRM, |_| {
            json_response(200, prm_naming_the_private_as(PRIVATE_MCP))
        })
        .on("GET", PRIVATE_AS_META, |_| {
            let mut metadata = as_metadata();
            metadata["issuer"] = json!(PRIVATE_AS);
            metadata["token_endpoint"] = json!(PRIVATE_AS_TOKEN);
            json_response(200, metadata)
        })
        .on("GET", PRIVATE_IDP_OAUTH_META, |_| status(404))
        .on("GET", PRIVATE_IDP_OIDC_META, |_| {
            let mut metadata = idp_metadata();
            metadata["issuer"] = json!(PRIVATE_IDP);
            metadata["token_endpoint"] = json!(PRIVATE_IDP_TOKEN);
            metadata["jwks_uri"] = json!(format!("{PRIVATE_IDP}/jwks"));
            json_response(200, metadata)
        })
        .on("POST", PRIVATE_IDP_TOKEN, move |_| {
            let mut body = exchange_response();
            body["access_token"] = json!(issued);
            json_response(200, body)
        })
        .on("POST", PRIVATE_AS_TOKEN, |_| {
            json_response(200, bearer_response())
        });
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(PRIVATE_MCP.into()))
        .unwrap_or_else(|e| panic!("the MCP server refused for its own address: {e:?}"));
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let auth = result.unwrap_or_else(|e| panic!("the private deployment refused: {e:?}"));
    assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN);
    assert_eq!(auth.resource, PRIVATE_MCP);
    assert_eq!(auth.authorization_server, PRIVATE_AS);

    let mut urls = servers.urls();
    urls.sort();
    let mut expected = vec![
        format!("POST {PRIVATE_MCP}"),
        format!("GET {PRIVATE_PRM}"),
        format!("GET {PRIVATE_AS_META}"),
        format!("GET {PRIVATE_IDP_OAUTH_META}"),
        format!("GET {PRIVATE_IDP_OIDC_META}"),
        format!("POST {PRIVATE_IDP_TOKEN}"),
        format!("POST {PRIVATE_AS_TOKEN}"),
    ];
    expected.sort();
    assert_eq!(urls, expected);
    let exchange = servers.find("POST", PRIVATE_IDP_TOKEN).expect("exchange");
    assert_eq!(exchange.form_value("audience"), Some(PRIVATE_AS));
    assert_eq!(exchange.form_value("resource"), Some(PRIVATE_MCP));
    assert_eq!(exchange.form_value("subject_token"), Some(subject.as_str()));
    let bearer = servers.find("POST", PRIVATE_AS_TOKEN).expect("jwt-bearer");
    assert_eq!(
        bearer.form_value("assertion"),
        Some(private_id_jag.as_str())
    );
}

/// The contrast to [`a_private_deployment_on_ip_literals_is_authorized`]: an MCP server on a
/// public name whose metadata names the same private authorization server. The deployment is not
/// private, so the private address is refused (decisions.md D5) before any request goes to it.
/// The fix of fuzz-found bug KB3 allows a private deployment its own addresses, no more.
#[test]
fn a_private_authorization_server_is_refused_for_a_server_on_a_public_name() {
    let mut servers = Servers::happy().on("GET", PRM_URL, |_| {
        json_response(200, prm_naming_the_private_as(MCP))
    });
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    match result {
        Err(Error::PrivateAddress {
            purpose: Purpose::AuthorizationServerMetadata,
            url,
        }) => assert_eq!(
            url, PRIVATE_AS,
            "the issuer, checked before its metadata is fetched"
        ),
        other => panic!("expected the private authorization server refused, got {other:?}"),
    }
    assert!(
        servers.log.iter().all(|r| !r.url.starts_with(PRIVATE_AS)),
        "nothing sent to the private address"
    );
    assert_eq!(servers.count("POST", IDP_TOKEN), 0);
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
}
