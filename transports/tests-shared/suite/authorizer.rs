//! The authorizer against the testkit's real IdP, authorization server and MCP server:
//! the cold flow, warm and hot caches, 401 and 403 handling, expired subject tokens, a supplied
//! assertion, and several users (decisions.md D13, D16 to D19).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::common::{
    HookedSource, RefreshingSource, assert_echoed, assert_tools_listed, bearer, call_tool, count,
    metadata_requests, principal, tools_list, user,
};
use crate::driver::{Authorizer, Error};
use http::{Method, StatusCode};
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::cache::MemoryTokenStore;
use xaa::constants::{
    GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN,
};
use xaa::grant::SubjectToken;
use xaa::{Assertion, AuthorizationServer, ErrorCode, Purpose, Scope};
use xaa_testkit::{AS_CLIENT_ID, Endpoint, IDP_CLIENT_ID, Options, Server, Testkit, Tool};

/// The index of the one recorded request to `endpoint`.
fn only(requests: &[xaa_testkit::RecordedRequest], endpoint: Endpoint) -> usize {
    let found: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.endpoint == Some(endpoint))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(found.len(), 1, "one request to {endpoint:?}: {requests:#?}");
    found[0]
}

fn flow_error(result: Result<impl std::fmt::Debug, Error>) -> xaa::Error {
    match result {
        Err(Error::Flow(error)) => error,
        other => panic!("expected a flow error, got {other:?}"),
    }
}

driver_test! {
    fn the_cold_flow_from_only_the_server_url_then_a_tools_list() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let alice = user(&kit, "alice");
        let token = wait!(authorizer.token(&alice)).expect("the cold flow succeeds");

        let requests = kit.requests();
        assert_eq!(requests.len(), 6, "{requests:#?}");
        let probe = only(&requests, Endpoint::McpServer);
        let prm = only(&requests, Endpoint::ResourceMetadata);
        let as_metadata = only(&requests, Endpoint::AsMetadata);
        let idp_metadata = only(&requests, Endpoint::IdpMetadata);
        let exchange = only(&requests, Endpoint::IdpToken);
        let jwt_bearer = only(&requests, Endpoint::AsToken);
        assert!(probe < prm && prm < as_metadata && as_metadata < exchange);
        assert!(idp_metadata < exchange && exchange < jwt_bearer);

        // The probe: the unauthenticated `initialize`, answered 401 (decisions.md D6).
        let probe = &requests[probe];
        assert_eq!(probe.method, Method::POST);
        assert_eq!(probe.rpc_method.as_deref(), Some("initialize"));
        assert!(probe.header("authorization").is_none());
        assert_eq!(probe.status, Some(StatusCode::UNAUTHORIZED));
        assert_eq!(
            requests[prm].path,
            "/.well-known/oauth-protected-resource/mcp"
        );
        for index in [prm, as_metadata, idp_metadata] {
            assert_eq!(requests[index].method, Method::GET);
            assert_eq!(requests[index].status, Some(StatusCode::OK));
            assert!(requests[index].header("authorization").is_none());
        }

        // The token exchange: alice's ID token for an ID-JAG for this server.
        let exchange = &requests[exchange];
        assert_eq!(exchange.status, Some(StatusCode::OK));
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
        assert_eq!(
            exchange.param("subject_token_type"),
            Some(TOKEN_TYPE_ID_TOKEN)
        );
        let subject =
            xaa::jwt::peek(exchange.param("subject_token").expect("subject token")).expect("a JWT");
        assert_eq!(subject.claim_str("sub"), Some("alice"));
        assert_eq!(
            exchange
                .credentials
                .as_ref()
                .and_then(|c| c.client_id.as_deref()),
            Some(IDP_CLIENT_ID)
        );

        // The jwt-bearer grant at the authorization server.
        let jwt_bearer = &requests[jwt_bearer];
        assert_eq!(jwt_bearer.status, Some(StatusCode::OK));
        assert_eq!(jwt_bearer.param("grant_type"), Some(GRANT_TYPE_JWT_BEARER));
        let id_jag =
            xaa::jwt::peek(jwt_bearer.param("assertion").expect("assertion")).expect("JWT");
        assert_eq!(id_jag.claim_str("sub"), Some("alice"));
        assert_eq!(
            jwt_bearer
                .credentials
                .as_ref()
                .and_then(|c| c.client_id.as_deref()),
            Some(AS_CLIENT_ID)
        );

        let info = kit
            .access_token_info(token.expose_secret())
            .expect("a kit token");
        assert_eq!(info.subject, "alice");
        assert_eq!(info.resource, kit.mcp_url());

        // The MCP request carries that token, and nothing else is requested.
        kit.clear_requests();
        let response = wait!(authorizer.send(&alice, tools_list(&kit))).expect("tools/list");
        assert_tools_listed(&response);
        let requests = kit.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        assert_eq!(requests[0].rpc_method.as_deref(), Some("tools/list"));
        assert_eq!(bearer(&requests[0]), Some(token.expose_secret()));
    }
}

driver_test! {
    fn a_warm_refresh_runs_the_two_posts_only_and_a_hot_cache_runs_nothing() {
        // Tokens live 8 s and are due for refresh 5 s before expiry: fresh for about 3 s.
        let kit =
            common::kit_with(Options::default().access_token_lifetime(Duration::from_secs(8)));
        let authorizer = Authorizer::with_client(
            common::config(&kit).refresh_lead(Duration::from_secs(5)),
            common::client(),
        );
        let alice = user(&kit, "alice");
        let first = wait!(authorizer.token(&alice)).expect("cold");
        let landed = Instant::now();

        // Hot: a second call sends nothing.
        kit.clear_requests();
        assert_eq!(wait!(authorizer.token(&alice)).expect("hot"), first);
        assert!(kit.requests().is_empty(), "{:#?}", kit.requests());

        // Warm: once due, the still-valid token comes back and a refresh runs the two POSTs only.
        sleep!(Duration::from_millis(4500).saturating_sub(landed.elapsed()));
        kit.clear_requests();
        assert_eq!(
            wait!(authorizer.token(&alice)).expect("due for refresh"),
            first,
            "the still-valid token is handed out while the refresh runs"
        );
        assert!(wait_until!(
            Duration::from_secs(30),
            wait!(authorizer.token(&alice)).expect("token") != first
        ));
        let second = wait!(authorizer.token(&alice)).expect("refreshed");
        let requests = kit.requests();
        let endpoints: Vec<_> = requests.iter().map(|r| r.endpoint).collect();
        assert_eq!(
            endpoints,
            [Some(Endpoint::IdpToken), Some(Endpoint::AsToken)],
            "{requests:#?}"
        );
        assert!(requests.iter().all(|r| r.method == Method::POST));
        assert_eq!(metadata_requests(&kit), 0);
        assert_ne!(second, first);
        assert_eq!(
            kit.access_token_info(second.expose_secret())
                .expect("kit token")
                .subject,
            "alice"
        );
    }
}

driver_test! {
    fn a_revoked_token_is_replaced_by_exactly_one_exchange() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let alice = user(&kit, "alice");
        let first = wait!(authorizer.token(&alice)).expect("token");
        kit.clear_requests();
        assert!(kit.revoke(first.expose_secret()));

        let response = wait!(authorizer.send(&alice, tools_list(&kit)))
            .expect("the request succeeds with a fresh token");
        assert_tools_listed(&response);
        common::assert_refused_then_resent(&kit, first.expose_secret());
    }
}

driver_test! {
    fn a_server_that_always_answers_401_gets_one_fresh_token_then_a_typed_error() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let alice = user(&kit, "alice");
        wait!(authorizer.token(&alice)).expect("token");
        kit.clear_requests();
        kit.set_fault(Endpoint::McpServer, xaa_testkit::Fault::Unauthorized);

        let error = flow_error(wait!(authorizer.send(&alice, tools_list(&kit))));
        match &error {
            xaa::Error::ResourceServerRejected { status, error } => {
                assert_eq!(*status, 401);
                assert_eq!(
                    error.as_ref().map(|e| e.code.clone()),
                    Some(ErrorCode::InvalidToken)
                );
            }
            other => panic!("expected ResourceServerRejected, got {other:?}"),
        }
        assert_eq!(
            count(&kit, Endpoint::IdpToken),
            1,
            "exactly one re-exchange"
        );
        assert_eq!(count(&kit, Endpoint::AsToken), 1);
        assert_eq!(count(&kit, Endpoint::McpServer), 2);

        // Calling again cannot start an exchange storm.
        kit.clear_requests();
        let again = flow_error(wait!(authorizer.send(&alice, tools_list(&kit))));
        assert!(
            matches!(
                again,
                xaa::Error::ResourceServerRejected { status: 401, .. }
            ),
            "{again:?}"
        );
        assert!(
            count(&kit, Endpoint::IdpToken) <= 1,
            "{:#?}",
            kit.requests()
        );
        assert!(
            count(&kit, Endpoint::McpServer) <= 2,
            "{:#?}",
            kit.requests()
        );
    }
}

driver_test! {
    fn a_403_insufficient_scope_steps_up_to_the_union_of_the_scopes() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let alice = user(&kit, "alice");
        let first = wait!(authorizer.token(&alice)).expect("token");
        let granted = kit
            .access_token_info(first.expose_secret())
            .expect("kit token")
            .scope;
        assert_eq!(granted.canonical(), Scope::parse("tools:read").canonical());
        kit.clear_requests();

        let response = wait!(authorizer.send(&alice, call_tool(&kit, "admin_echo", "root")))
            .expect("the step-up succeeds");
        assert_echoed(&response, "root");

        let union = Scope::parse("tools:read tools:admin").canonical();
        let exchanges = kit.requests_to(Endpoint::IdpToken);
        assert_eq!(exchanges.len(), 1, "one re-exchange");
        assert_eq!(
            Scope::parse(exchanges[0].param("scope").expect("a scope")).canonical(),
            union
        );
        assert_eq!(count(&kit, Endpoint::AsToken), 1);
        assert_eq!(metadata_requests(&kit), 0);
        let mcp = kit.requests_to(Endpoint::McpServer);
        assert_eq!(mcp.len(), 2, "{mcp:#?}");
        assert_eq!(mcp[0].status, Some(StatusCode::FORBIDDEN));
        assert_eq!(mcp[1].status, Some(StatusCode::OK));
        let stepped_up = kit
            .access_token_info(bearer(&mcp[1]).expect("bearer"))
            .expect("kit token");
        assert_eq!(stepped_up.scope.canonical(), union);
    }
}

driver_test! {
    fn step_ups_stop_at_the_limit_when_the_scope_is_never_granted() {
        // The IdP grants only scopes some tool of the kit needs. The hook moves `admin_echo` to a
        // new scope each time the authorizer starts a flight: whatever the authorizer asks for,
        // the IdP never grants the scope the server demands next.
        let kit = Arc::new(common::kit());
        let moved = Arc::new(AtomicU32::new(0));
        let source = HookedSource {
            token: SubjectToken::IdToken(kit.id_token("alice")),
            hook: Box::new({
                let (kit, moved) = (Arc::clone(&kit), Arc::clone(&moved));
                move || {
                    let n = moved.fetch_add(1, Ordering::SeqCst) + 1;
                    kit.set_tool_scope(Tool::AdminEcho, Scope::parse(&format!("tools:admin-{n}")));
                }
            }),
        };
        let alice = User::new(principal(&kit, "alice"), Arc::new(source));
        let authorizer = common::authorizer(&kit);
        wait!(authorizer.token(&alice)).expect("token");
        kit.clear_requests();
        let max_step_ups = authorizer.authorizer().config().max_step_ups;
        assert_eq!(max_step_ups, 2, "the default");

        let admin_echo = call_tool(&kit, "admin_echo", "root");
        let error = flow_error(wait!(authorizer.send(&alice, admin_echo)));
        match &error {
            xaa::Error::ResourceServerRejected { status, error } => {
                assert_eq!(*status, 403);
                assert_eq!(
                    error.as_ref().map(|e| e.code.clone()),
                    Some(ErrorCode::InsufficientScope)
                );
            }
            other => panic!("expected ResourceServerRejected, got {other:?}"),
        }
        let mcp = kit.requests_to(Endpoint::McpServer);
        assert_eq!(
            mcp.len(),
            max_step_ups as usize + 1,
            "exactly N + 1 attempts: {mcp:#?}"
        );
        assert!(mcp.iter().all(|r| r.status == Some(StatusCode::FORBIDDEN)));
        assert_eq!(count(&kit, Endpoint::IdpToken), max_step_ups as usize);
        assert_eq!(count(&kit, Endpoint::AsToken), max_step_ups as usize);
        kit.set_tool_scope(Tool::AdminEcho, Scope::parse("tools:admin"));
    }
}

driver_test! {
    fn an_expired_subject_token_without_a_source_needs_reauthentication() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        // One minted by the kit with no lifetime, and one signed here that expired an hour ago.
        kit.set_id_token_lifetime(Duration::ZERO);
        let minted = kit.id_token("alice");
        kit.set_id_token_lifetime(Duration::from_secs(3600));
        for expired in [minted, common::expired_id_token(&kit, "alice")] {
            let alice = User::from_id_token(SubjectToken::IdToken(expired)).expect("user");
            match flow_error(wait!(authorizer.token(&alice))) {
                xaa::Error::ReauthenticationRequired { purpose, .. } => {
                    assert_eq!(purpose, Purpose::TokenExchange);
                }
                other => panic!("expected ReauthenticationRequired, got {other:?}"),
            }
            assert!(kit.token_requests().is_empty(), "{:#?}", kit.requests());
        }
        // Also once the discovery is cached: still nothing is sent.
        wait!(authorizer.token(&user(&kit, "bob"))).expect("bob's token is fresh");
        kit.clear_requests();
        let alice = User::from_id_token(SubjectToken::IdToken(common::expired_id_token(
            &kit, "alice",
        )))
        .expect("user");
        assert!(matches!(
            flow_error(wait!(authorizer.token(&alice))),
            xaa::Error::ReauthenticationRequired { .. }
        ));
        assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
    }
}

driver_test! {
    fn an_expired_subject_token_is_replaced_through_the_source() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let fresh = kit.id_token("alice");
        let source =
            RefreshingSource::new(common::expired_id_token(&kit, "alice"), Some(fresh.clone()));
        let alice = User::new(principal(&kit, "alice"), source.clone());
        let token = wait!(authorizer.token(&alice)).expect("the source refreshes the subject");
        assert_eq!(source.refreshes(), 1);
        let exchanges = kit.requests_to(Endpoint::IdpToken);
        assert_eq!(exchanges.len(), 1, "the expired token is never sent");
        assert_eq!(
            exchanges[0].param("subject_token"),
            Some(fresh.expose_secret())
        );
        assert_eq!(
            kit.access_token_info(token.expose_secret())
                .expect("kit token")
                .subject,
            "alice"
        );

        // A source with nothing fresh: re-authentication, and no token request.
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let source = RefreshingSource::new(common::expired_id_token(&kit, "alice"), None);
        let alice = User::new(principal(&kit, "alice"), source.clone());
        assert!(matches!(
            flow_error(wait!(authorizer.token(&alice))),
            xaa::Error::ReauthenticationRequired { .. }
        ));
        assert_eq!(source.refreshes(), 1);
        assert!(kit.token_requests().is_empty());
    }
}

driver_test! {
    fn a_subject_token_the_idp_refuses_is_replaced_once_through_the_source() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let fresh = kit.id_token("alice");
        let source =
            RefreshingSource::new(common::forged_id_token(&kit, "alice"), Some(fresh.clone()));
        let alice = User::new(principal(&kit, "alice"), source.clone());
        wait!(authorizer.send(&alice, tools_list(&kit)))
            .expect("the second subject token is accepted");
        assert_eq!(source.refreshes(), 1);
        let exchanges = kit.requests_to(Endpoint::IdpToken);
        assert_eq!(exchanges.len(), 2, "{exchanges:#?}");
        assert_eq!(exchanges[0].status, Some(StatusCode::BAD_REQUEST));
        assert_eq!(exchanges[1].status, Some(StatusCode::OK));
        assert_eq!(
            exchanges[1].param("subject_token"),
            Some(fresh.expose_secret())
        );
        assert_eq!(count(&kit, Endpoint::AsToken), 1);

        // A refused token and nothing fresh: re-authentication after the one refusal.
        kit.clear_requests();
        let source = RefreshingSource::new(common::forged_id_token(&kit, "bob"), None);
        let bob = User::new(principal(&kit, "bob"), source);
        match flow_error(wait!(authorizer.token(&bob))) {
            xaa::Error::ReauthenticationRequired { status, .. } => assert_eq!(status, 400),
            other => panic!("expected ReauthenticationRequired, got {other:?}"),
        }
        assert_eq!(count(&kit, Endpoint::IdpToken), 1);
        assert_eq!(count(&kit, Endpoint::AsToken), 0);
    }
}

driver_fn! {
    /// An ID-JAG for `user`, from the kit's IdP by hand (a public client there). By hand because
    /// `xaa::grant::TokenExchange` cannot be used from outside the core: its
    /// `TokenExchangeRequest` is `#[non_exhaustive]` with no constructor.
    fn id_jag_by_hand(kit: &Testkit, client: &crate::driver::Client, user: &str) -> String {
        let id_token = kit.id_token(user);
        let request = http::Request::post(kit.idp_token_endpoint())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(xaa_testkit::form::encode(&[
                ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE),
                ("requested_token_type", TOKEN_TYPE_ID_JAG),
                ("audience", kit.authorization_server_issuer()),
                ("resource", kit.mcp_url()),
                ("subject_token", id_token.expose_secret()),
                ("subject_token_type", TOKEN_TYPE_ID_TOKEN),
                ("client_id", IDP_CLIENT_ID),
            ]))
            .expect("request");
        let response = wait!(client.send(request)).expect("the exchange by hand");
        assert_eq!(response.status(), StatusCode::OK);
        common::body(&response)["access_token"]
            .as_str()
            .expect("an ID-JAG")
            .to_owned()
    }
}

driver_test! {
    fn a_supplied_assertion_runs_only_discovery_and_the_jwt_bearer_grant() {
        let kit = common::kit();
        let client = common::client();
        let id_jag = wait!(id_jag_by_hand(&kit, &client, "alice"));
        kit.clear_requests();

        let config = AuthorizerConfig::with_assertions(
            kit.mcp_url(),
            Arc::new(Assertion::new(id_jag.clone())),
            AuthorizationServer::discovered(kit.as_credentials()),
        )
        .policy(common::config(&kit).policy);
        let authorizer = Authorizer::with_client(config, client);
        let workload = User::new(
            xaa::cache::Principal::key("workload"),
            Arc::new(SubjectToken::IdToken(kit.id_token("unused"))),
        );
        let token = wait!(authorizer.token(&workload)).expect("the jwt-bearer leg alone");
        let response = wait!(authorizer.send(&workload, tools_list(&kit))).expect("tools/list");
        assert_tools_listed(&response);

        assert_eq!(count(&kit, Endpoint::IdpToken), 0, "no exchange at the IdP");
        assert_eq!(count(&kit, Endpoint::IdpMetadata), 0);
        assert_eq!(kit.count(Server::Idp, "/token"), 0);
        let bearer_grants = kit.requests_to(Endpoint::AsToken);
        assert_eq!(bearer_grants.len(), 1);
        assert_eq!(bearer_grants[0].param("assertion"), Some(id_jag.as_str()));
        assert_eq!(count(&kit, Endpoint::ResourceMetadata), 1);
        assert_eq!(count(&kit, Endpoint::AsMetadata), 1);
        assert_eq!(
            kit.access_token_info(token.expose_secret())
                .expect("kit token")
                .subject,
            "alice"
        );
    }
}

driver_test! {
    fn two_users_never_receive_each_others_tokens() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let (alice, bob) = (user(&kit, "alice"), user(&kit, "bob"));

        // Concurrent cold callers for both users.
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let authorizer = authorizer.clone();
                let (name, who) = if i % 2 == 0 {
                    ("alice", alice.clone())
                } else {
                    ("bob", bob.clone())
                };
                spawn!((name, wait!(authorizer.token(&who)).expect("token")))
            })
            .collect();
        for handle in handles {
            let (name, token) = joined!(handle);
            let info = kit
                .access_token_info(token.expose_secret())
                .expect("kit token");
            assert_eq!(info.subject, name);
        }
        assert_eq!(count(&kit, Endpoint::IdpToken), 2, "one flight per user");

        let alice_token = wait!(authorizer.token(&alice)).expect("alice");
        let bob_token = wait!(authorizer.token(&bob)).expect("bob");
        assert_ne!(alice_token, bob_token);
        kit.clear_requests();
        for (who, token) in [
            (&alice, &alice_token),
            (&bob, &bob_token),
            (&alice, &alice_token),
        ] {
            assert_echoed(
                &wait!(authorizer.send(who, call_tool(&kit, "echo", "hello")))
                    .expect("echo"),
                "hello",
            );
            let last = kit.requests_to(Endpoint::McpServer).pop().expect("sent");
            assert_eq!(bearer(&last), Some(token.expose_secret()));
        }
        assert!(kit.token_requests().is_empty());
    }
}

// The core marks the token issued after a 401 as "the one retry" (State::retry_tokens) and
// never clears the mark when the server accepts that token, nor drops the token when the
// retry fails: once it is revoked, every call fails with no exchange until it expires.
driver_test! {
    fn a_replacement_token_revoked_later_gets_its_own_fresh_exchange() {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let alice = user(&kit, "alice");
        let first = wait!(authorizer.token(&alice)).expect("token");
        assert!(kit.revoke(first.expose_secret()));
        assert_tools_listed(
            &wait!(authorizer.send(&alice, tools_list(&kit)))
                .expect("re-exchange"),
        );
        let second = wait!(authorizer.token(&alice)).expect("the replacement");
        assert_ne!(second, first);
        // The replacement is accepted, again and again: the server is not one that keeps
        // answering 401.
        for _ in 0..3 {
            let response = wait!(authorizer.send(&alice, tools_list(&kit)));
            assert_tools_listed(&response.expect("accepted"));
        }

        // Much later it is revoked too: that is a new token's first 401, worth one fresh exchange.
        kit.clear_requests();
        assert!(kit.revoke(second.expose_secret()));
        let response = wait!(authorizer.send(&alice, tools_list(&kit)));
        let exchanges = count(&kit, Endpoint::IdpToken);
        assert_tools_listed(&response.expect("one fresh exchange for the revoked replacement"));
        assert_eq!(exchanges, 1);
        // And the next call uses the new token, with no exchange.
        kit.clear_requests();
        assert_tools_listed(&wait!(authorizer.send(&alice, tools_list(&kit))).expect("accepted"));
        assert!(kit.token_requests().is_empty());
    }
}

// The gateway of the memory issue, scaled down: one authorizer over a MemoryTokenStore, a new
// set of users each round, every token expired by the next round. The cache and the store hold
// the current round's tokens, not every token ever issued (decisions.md D26).
driver_test! {
    fn expired_tokens_leave_the_cache_and_the_store_as_new_users_come() {
        const PER_ROUND: usize = 40;
        let kit = common::kit();
        kit.set_access_token_lifetime(Duration::from_secs(1));
        let store = Arc::new(MemoryTokenStore::new());
        let core = xaa::authorizer::Authorizer::with_store(common::config(&kit), store.clone());
        let authorizer = Authorizer::from_authorizer(core, common::client());
        for round in 0..2 {
            if round > 0 {
                sleep!(Duration::from_millis(1_100));
            }
            for n in 0..PER_ROUND {
                let who = user(&kit, &format!("round-{round}-user-{n}"));
                wait!(authorizer.token(&who)).expect("a token");
            }
            let stats = authorizer.authorizer().stats();
            // The round's tokens, and at most a few dead ones the sweep has not reached.
            assert!(stats.cached_tokens <= PER_ROUND + 8, "round {round}: {stats:?}");
            assert!(store.len() <= PER_ROUND + 8, "round {round}: {} stored", store.len());
            assert_eq!(stats.flights, 0);
        }
    }
}
