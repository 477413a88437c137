//! `AuthorizeLayer` (feature `tower`) against the testkit: the core's verdicts on 401 and 403
//! through a tower service over hyper-util's client, with the exact requests each server saw;
//! the user from the request's extensions, the body buffered for a resend, both refused before
//! anything is sent when they cannot be had.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, ServiceBuilder, ServiceExt, service_fn};
use xaa::authorizer::User;
use xaa::{ErrorCode, HttpRequest, HttpResponse, Scope};
use xaa_reqwest as driver;
use xaa_reqwest::tower::AuthorizeLayer;
use xaa_reqwest::{AdapterError, Authorizer, Error};
use xaa_testkit::{Endpoint, Fault};

#[path = "../../tests-shared/kit.rs"]
#[allow(dead_code, unreachable_pub)]
mod common;
#[path = "../../tests-shared/dpop.rs"]
#[allow(dead_code, unreachable_pub)]
mod dpop;

use common::{assert_echoed, assert_tools_listed, call_tool, count, tools_list, user};

/// Sends `request` for `user` through the layer over hyper-util's client, wrapped in a
/// `service_fn` that counts the attempts.
async fn send(
    authorizer: &Authorizer,
    request: HttpRequest,
    user: Option<&User>,
    attempts: &Arc<AtomicUsize>,
) -> Result<HttpResponse, BoxError> {
    let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let counted = Arc::clone(attempts);
    let inner = service_fn(move |request: http::Request<Full<Bytes>>| {
        counted.fetch_add(1, Ordering::SeqCst);
        hyper.clone().oneshot(request)
    });
    let service = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(authorizer.clone()))
        .service(inner);
    let mut request = request.map(|body| Full::new(Bytes::from(body)));
    if let Some(user) = user {
        request.extensions_mut().insert(user.clone());
    }
    let (parts, body) = service.oneshot(request).await?.into_parts();
    let body = body.collect().await?.to_bytes().to_vec();
    Ok(http::Response::from_parts(parts, body))
}

fn adapter(error: &BoxError) -> &AdapterError {
    error
        .downcast_ref()
        .unwrap_or_else(|| panic!("an adapter error, got {error:?}"))
}

#[tokio::test]
async fn a_refused_token_gets_one_fresh_exchange_and_one_resend() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let attempts = Arc::new(AtomicUsize::new(0));
    let alice = user(&kit, "alice");
    let first = authorizer.token(&alice).await.expect("token");
    kit.clear_requests();
    assert!(kit.revoke(first.expose_secret()));

    let response = send(&authorizer, tools_list(&kit), Some(&alice), &attempts)
        .await
        .expect("the resend succeeds");
    assert_tools_listed(&response);
    common::assert_same_body_resent(&kit, first.expose_secret());
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "both through the inner service"
    );
}

#[tokio::test]
async fn a_second_401_is_a_typed_refusal() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let attempts = Arc::new(AtomicUsize::new(0));
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("token");
    kit.clear_requests();
    kit.set_fault(Endpoint::McpServer, Fault::Unauthorized);

    let error = send(&authorizer, tools_list(&kit), Some(&alice), &attempts)
        .await
        .expect_err("refused");
    match adapter(&error) {
        AdapterError::Authorization(Error::Flow(xaa::Error::ResourceServerRejected {
            status: 401,
            error,
        })) => assert_eq!(
            error.as_ref().map(|e| e.code.clone()),
            Some(ErrorCode::InvalidToken)
        ),
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    assert_eq!(count(&kit, Endpoint::IdpToken), 1, "one fresh exchange");
    assert_eq!(count(&kit, Endpoint::AsToken), 1);
    assert_eq!(count(&kit, Endpoint::McpServer), 2);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_403_insufficient_scope_steps_up() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let attempts = Arc::new(AtomicUsize::new(0));
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("token");
    kit.clear_requests();

    let admin_echo = call_tool(&kit, "admin_echo", "root");
    let response = send(&authorizer, admin_echo, Some(&alice), &attempts)
        .await
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
}

#[tokio::test]
async fn a_request_without_a_user_is_refused_and_nothing_is_sent() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let attempts = Arc::new(AtomicUsize::new(0));

    let error = send(&authorizer, tools_list(&kit), None, &attempts)
        .await
        .expect_err("no user");
    assert!(matches!(adapter(&error), AdapterError::NoUser), "{error:?}");
    assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_and_nothing_is_sent() {
    let kit = common::kit();
    let client = common::client_builder()
        .resource_body_bytes(16)
        .build()
        .expect("client");
    let authorizer = Authorizer::with_client(common::config(&kit), client);
    let attempts = Arc::new(AtomicUsize::new(0));
    let alice = user(&kit, "alice");

    let error = send(&authorizer, tools_list(&kit), Some(&alice), &attempts)
        .await
        .expect_err("too large");
    assert!(
        matches!(adapter(&error), AdapterError::BodyTooLarge { limit: 16 }),
        "{error:?}"
    );
    assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_inner_failure_is_returned_as_it_came() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("token");
    kit.clear_requests();

    #[derive(Debug, thiserror::Error)]
    #[error("the inner service is down")]
    struct Down;
    let inner = service_fn(|_: http::Request<Full<Bytes>>| async {
        Err::<http::Response<Full<Bytes>>, _>(Down)
    });
    let service = ServiceBuilder::new()
        .layer(AuthorizeLayer::new(authorizer.clone()))
        .service(inner);
    let mut request = tools_list(&kit).map(|body| Full::new(Bytes::from(body)));
    request.extensions_mut().insert(alice);
    let error = service.oneshot(request).await.expect_err("inner failure");
    assert!(error.downcast_ref::<Down>().is_some(), "{error:?}");
    assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
}

/// An authorizer for `kit` whose tokens are bound to a DPoP key sending `content_digest`.
fn bound_authorizer(kit: &xaa_testkit::Testkit) -> Authorizer {
    let config = dpop::bound(common::config(kit), &dpop::digest_binding());
    Authorizer::with_client(config, common::client())
}

#[tokio::test]
async fn dpop_bound_attempts_each_carry_a_proof_and_a_nonce_demand_gets_one_resend() {
    let kit = common::kit_with(dpop::strict_options());
    let authorizer = bound_authorizer(&kit);
    let attempts = Arc::new(AtomicUsize::new(0));
    let alice = user(&kit, "alice");
    let token = authorizer.token(&alice).await.expect("a bound token");
    assert!(token.dpop_jkt().is_some());
    kit.clear_requests();

    let response = send(&authorizer, tools_list(&kit), Some(&alice), &attempts)
        .await
        .expect("tools/list");
    assert_tools_listed(&response);
    dpop::assert_nonce_demand_met_once(&kit, token.expose_secret());
    dpop::assert_only_mcp_requests(&kit, 2);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "both through the inner service"
    );
}

#[tokio::test]
async fn dpop_refused_proof_and_nonce_loop_are_final_typed_errors() {
    let kit = common::kit_with(dpop::options());
    let authorizer = bound_authorizer(&kit);
    let attempts = Arc::new(AtomicUsize::new(0));
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("a bound token");

    for (fault, sent) in [(Fault::InvalidDpopProof, 1), (Fault::DpopNonceLoop, 2)] {
        kit.clear_requests();
        kit.set_fault(Endpoint::McpServer, fault.clone());
        let error = send(&authorizer, tools_list(&kit), Some(&alice), &attempts)
            .await
            .expect_err("refused");
        let refusal = dpop::adapter_refusal(adapter(&error));
        match fault {
            Fault::InvalidDpopProof => assert!(
                matches!(refusal, Some(xaa::DpopRefusal::ProofRefused { .. })),
                "{error:?}"
            ),
            _ => assert_eq!(refusal, Some(&xaa::DpopRefusal::NonceLoop), "{error:?}"),
        }
        dpop::assert_only_mcp_requests(&kit, sent);
    }
}

#[tokio::test]
async fn dpop_a_relative_uri_gets_no_proof_and_nothing_is_sent() {
    let kit = common::kit_with(dpop::options());
    let authorizer = bound_authorizer(&kit);
    let attempts = Arc::new(AtomicUsize::new(0));
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("a bound token");
    kit.clear_requests();

    let mut request = tools_list(&kit);
    *request.uri_mut() = http::Uri::from_static("/mcp");
    let error = send(&authorizer, request, Some(&alice), &attempts)
        .await
        .expect_err("no proof for a relative URI");
    assert!(
        matches!(
            dpop::adapter_refusal(adapter(&error)),
            Some(xaa::DpopRefusal::ProofNotMade { .. })
        ),
        "{error:?}"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
    assert!(kit.requests().is_empty());
}
