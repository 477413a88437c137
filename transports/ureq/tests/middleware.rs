//! `AuthorizeMiddleware` (feature `middleware`) against the testkit: the core's verdicts on
//! 401 and 403 through a ureq agent, with the exact requests each server saw; the resend made
//! through the authorizer's client (the middlewares after this one see the first attempt only);
//! ureq's status errors; the user from the extensions and the body cap, both refused before
//! anything is sent when they cannot be had.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::StatusCode;
use ureq::middleware::MiddlewareNext;
use ureq::{Body, SendBody};
use xaa::authorizer::User;
use xaa::{ErrorCode, HttpRequest, HttpResponse, Scope};
use xaa_testkit::{Endpoint, Fault};
use xaa_ureq::middleware::{AuthorizeMiddleware, adapter_error};
use xaa_ureq::{AdapterError, Authorizer, Error};

mod common;

use common::{assert_echoed, assert_tools_listed, call_tool, count, tools_list, user};

/// An agent with the authorizer's middleware, then one counting the attempts that reach it;
/// ureq's `http_status_as_error` as given.
fn agent(authorizer: &Authorizer, status_as_error: bool) -> (ureq::Agent, Arc<AtomicUsize>) {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&attempts);
    let counter = move |request: http::Request<SendBody>, next: MiddlewareNext| {
        counted.fetch_add(1, Ordering::SeqCst);
        next.handle(request)
    };
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(status_as_error)
        .max_redirects(0)
        .proxy(None)
        .middleware(AuthorizeMiddleware::new(authorizer.clone()))
        .middleware(counter)
        .build()
        .into();
    (agent, attempts)
}

/// Sends `request` for `user` and reads the whole answer.
fn send(
    agent: &ureq::Agent,
    mut request: HttpRequest,
    user: Option<&User>,
) -> Result<HttpResponse, ureq::Error> {
    if let Some(user) = user {
        request.extensions_mut().insert(user.clone());
    }
    let (parts, mut body): (_, Body) = agent.run(request)?.into_parts();
    Ok(http::Response::from_parts(parts, body.read_to_vec()?))
}

fn adapter(error: &ureq::Error) -> &AdapterError {
    adapter_error(error).unwrap_or_else(|| panic!("an adapter error, got {error:?}"))
}

fn assert_refused_401(error: &ureq::Error) {
    match adapter(error) {
        AdapterError::Authorization(Error::Flow(xaa::Error::ResourceServerRejected {
            status: 401,
            error,
        })) => assert!(
            error.is_none()
                || error.as_ref().map(|e| e.code.clone()) == Some(ErrorCode::InvalidToken),
            "{error:?}"
        ),
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
}

/// The server refused a token: exactly one fresh exchange, one resend of the same request,
/// whichever way ureq reports statuses.
fn a_refused_token_is_replaced_once(status_as_error: bool) {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let (agent, attempts) = agent(&authorizer, status_as_error);
    let alice = user(&kit, "alice");
    let first = authorizer.token(&alice).expect("token");
    kit.clear_requests();
    assert!(kit.revoke(first.expose_secret()));

    let response = send(&agent, tools_list(&kit), Some(&alice)).expect("the resend succeeds");
    assert_tools_listed(&response);
    let mcp = common::assert_same_body_resent(&kit, first.expose_secret());
    for request in &mcp {
        let length = request.body.len().to_string();
        assert_eq!(request.header("content-length"), Some(length.as_str()));
    }
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "later middlewares see only the first attempt"
    );
}

#[test]
fn a_refused_token_gets_one_fresh_exchange_and_one_resend() {
    a_refused_token_is_replaced_once(false);
}

#[test]
fn with_ureqs_status_errors_a_refused_token_is_replaced_once_too() {
    a_refused_token_is_replaced_once(true);
}

#[test]
fn a_second_401_is_a_typed_refusal() {
    for status_as_error in [false, true] {
        let kit = common::kit();
        let authorizer = common::authorizer(&kit);
        let (agent, attempts) = agent(&authorizer, status_as_error);
        let alice = user(&kit, "alice");
        authorizer.token(&alice).expect("token");
        kit.clear_requests();
        kit.set_fault(Endpoint::McpServer, Fault::Unauthorized);

        let error = send(&agent, tools_list(&kit), Some(&alice)).expect_err("refused");
        assert_refused_401(&error);
        assert_eq!(count(&kit, Endpoint::IdpToken), 1, "one fresh exchange");
        assert_eq!(count(&kit, Endpoint::AsToken), 1);
        assert_eq!(count(&kit, Endpoint::McpServer), 2);
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_403_insufficient_scope_steps_up() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let (agent, attempts) = agent(&authorizer, false);
    let alice = user(&kit, "alice");
    authorizer.token(&alice).expect("token");
    kit.clear_requests();

    let response = send(&agent, call_tool(&kit, "admin_echo", "root"), Some(&alice))
        .expect("the step-up succeeds");
    assert_echoed(&response, "root");
    let union = Scope::parse("tools:read tools:admin").canonical();
    let exchanges = kit.requests_to(Endpoint::IdpToken);
    assert_eq!(exchanges.len(), 1, "one exchange for the wider scope");
    let asked = Scope::parse(exchanges[0].param("scope").expect("a scope"));
    assert_eq!(asked.canonical(), union);
    assert_eq!(count(&kit, Endpoint::AsToken), 1);
    let mcp = kit.requests_to(Endpoint::McpServer);
    assert_eq!(mcp.len(), 2, "{mcp:#?}");
    assert_eq!(mcp[0].status, Some(StatusCode::FORBIDDEN));
    assert_eq!(mcp[1].status, Some(StatusCode::OK));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

#[test]
fn with_ureqs_status_errors_a_403_comes_back_as_it_came() {
    // ureq reports the 403 without its challenge: no step-up, as the module docs say.
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let (agent, _) = agent(&authorizer, true);
    let alice = user(&kit, "alice");
    authorizer.token(&alice).expect("token");
    kit.clear_requests();

    let error =
        send(&agent, call_tool(&kit, "admin_echo", "root"), Some(&alice)).expect_err("a 403");
    assert!(matches!(error, ureq::Error::StatusCode(403)), "{error:?}");
    assert_eq!(count(&kit, Endpoint::McpServer), 1);
    assert!(kit.token_requests().is_empty(), "{:#?}", kit.requests());
}

#[test]
fn a_request_without_a_user_is_refused_and_nothing_is_sent() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let (agent, attempts) = agent(&authorizer, false);

    let error = send(&agent, tools_list(&kit), None).expect_err("no user");
    assert!(matches!(adapter(&error), AdapterError::NoUser), "{error:?}");
    assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}

#[test]
fn a_body_over_the_cap_is_refused_and_nothing_is_sent() {
    let kit = common::kit();
    let client = common::client_builder()
        .resource_body_bytes(16)
        .build()
        .expect("client");
    let authorizer = Authorizer::with_client(common::config(&kit), client);
    let (agent, attempts) = agent(&authorizer, false);
    let alice = user(&kit, "alice");

    let error = send(&agent, tools_list(&kit), Some(&alice)).expect_err("too large");
    assert!(
        matches!(adapter(&error), AdapterError::BodyTooLarge { limit: 16 }),
        "{error:?}"
    );
    assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}

/// An authorizer for `kit` whose tokens are bound to a DPoP key sending `content_digest`.
fn bound_authorizer(kit: &xaa_testkit::Testkit) -> Authorizer {
    let config = common::dpop::bound(common::config(kit), &common::dpop::digest_binding());
    Authorizer::with_client(config, common::client())
}

#[test]
fn dpop_bound_attempts_each_carry_a_proof_and_a_nonce_demand_gets_one_resend() {
    let kit = common::kit_with(common::dpop::strict_options());
    let authorizer = bound_authorizer(&kit);
    let (agent, attempts) = agent(&authorizer, false);
    let alice = user(&kit, "alice");
    let token = authorizer.token(&alice).expect("a bound token");
    assert!(token.dpop_jkt().is_some());
    kit.clear_requests();

    let response = send(&agent, tools_list(&kit), Some(&alice)).expect("tools/list");
    assert_tools_listed(&response);
    common::dpop::assert_nonce_demand_met_once(&kit, token.expose_secret());
    common::dpop::assert_only_mcp_requests(&kit, 2);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "the resend went through the authorizer's client"
    );
}

#[test]
fn dpop_refused_proof_and_nonce_loop_are_final_typed_errors() {
    let kit = common::kit_with(common::dpop::options());
    let authorizer = bound_authorizer(&kit);
    let (agent, _) = agent(&authorizer, false);
    let alice = user(&kit, "alice");
    authorizer.token(&alice).expect("a bound token");

    for (fault, sent) in [(Fault::InvalidDpopProof, 1), (Fault::DpopNonceLoop, 2)] {
        kit.clear_requests();
        kit.set_fault(Endpoint::McpServer, fault.clone());
        let error = send(&agent, tools_list(&kit), Some(&alice)).expect_err("refused");
        let refusal = common::dpop::adapter_refusal(adapter(&error));
        match fault {
            Fault::InvalidDpopProof => assert!(
                matches!(refusal, Some(xaa::DpopRefusal::ProofRefused { .. })),
                "{error:?}"
            ),
            _ => assert_eq!(refusal, Some(&xaa::DpopRefusal::NonceLoop), "{error:?}"),
        }
        common::dpop::assert_only_mcp_requests(&kit, sent);
    }
}
