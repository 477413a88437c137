//! `AuthorizeMiddleware` (feature `middleware`) against the testkit: the core's verdicts on
//! 401 and 403 through a `reqwest_middleware` stack, with the exact requests each server saw;
//! the user from the extensions, the body buffered for a resend, both refused before anything
//! is sent when they cannot be had.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Extensions, StatusCode};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use xaa::authorizer::User;
use xaa::{ErrorCode, HttpRequest, HttpResponse, Scope};
use xaa_reqwest as driver;
use xaa_reqwest::middleware::{AuthorizeMiddleware, adapter_error};
use xaa_reqwest::{AdapterError, Authorizer, Error};
use xaa_testkit::{Endpoint, Fault};

#[path = "../../tests-shared/kit.rs"]
#[allow(dead_code, unreachable_pub)]
mod common;
#[path = "../../tests-shared/dpop.rs"]
#[allow(dead_code, unreachable_pub)]
mod dpop;

use common::{assert_echoed, assert_tools_listed, call_tool, count, tools_list, user};

/// Counts the attempts that reach the middlewares after the authorizer's.
struct Counter(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Middleware for Counter {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.0.fetch_add(1, Ordering::SeqCst);
        next.run(request, extensions).await
    }
}

/// A stack of the authorizer's middleware, then a counter, over a reqwest client.
fn stack(authorizer: &Authorizer) -> (ClientWithMiddleware, Arc<AtomicUsize>) {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    #[cfg(feature = "rustls")]
    let builder = {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        builder.tls_backend_preconfigured(tls)
    };
    let attempts = Arc::new(AtomicUsize::new(0));
    let http = ClientBuilder::new(builder.build().expect("reqwest"))
        .with(AuthorizeMiddleware::new(authorizer.clone()))
        .with(Counter(Arc::clone(&attempts)))
        .build();
    (http, attempts)
}

/// Sends `request` through the stack for `user`, its body streamed when `streamed`.
async fn send(
    http: &ClientWithMiddleware,
    request: HttpRequest,
    user: Option<&User>,
    streamed: bool,
) -> reqwest_middleware::Result<HttpResponse> {
    let mut extensions = Extensions::new();
    if let Some(user) = user {
        extensions.insert(user.clone());
    }
    let mut request = reqwest::Request::try_from(request)?;
    if streamed {
        let bytes = request.body().and_then(reqwest::Body::as_bytes);
        let body = http_body_util::Full::new(Bytes::copy_from_slice(bytes.unwrap_or_default()));
        *request.body_mut() = Some(reqwest::Body::wrap(body));
        assert!(request.try_clone().is_none(), "a streamed body");
    }
    let response = http
        .execute_with_extensions(request, &mut extensions)
        .await?;
    let mut out = http::Response::new(Vec::new());
    *out.status_mut() = response.status();
    *out.headers_mut() = response.headers().clone();
    *out.body_mut() = response.bytes().await?.to_vec();
    Ok(out)
}

fn adapter(error: &reqwest_middleware::Error) -> &AdapterError {
    adapter_error(error).unwrap_or_else(|| panic!("an adapter error, got {error:?}"))
}

/// The server refused a token: exactly one fresh exchange, one resend of the same request.
async fn a_refused_token_is_replaced_once(streamed: bool) {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let (http, attempts) = stack(&authorizer);
    let alice = user(&kit, "alice");
    let first = authorizer.token(&alice).await.expect("token");
    kit.clear_requests();
    assert!(kit.revoke(first.expose_secret()));

    let response = send(&http, tools_list(&kit), Some(&alice), streamed)
        .await
        .expect("the resend succeeds");
    assert_tools_listed(&response);
    common::assert_same_body_resent(&kit, first.expose_secret());
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        2,
        "later middlewares see both"
    );
}

#[tokio::test]
async fn a_refused_token_gets_one_fresh_exchange_and_one_resend() {
    a_refused_token_is_replaced_once(false).await;
}

#[tokio::test]
async fn a_streamed_body_is_buffered_for_the_resend() {
    a_refused_token_is_replaced_once(true).await;
}

#[tokio::test]
async fn a_second_401_is_a_typed_refusal() {
    let kit = common::kit();
    let authorizer = common::authorizer(&kit);
    let (http, attempts) = stack(&authorizer);
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("token");
    kit.clear_requests();
    kit.set_fault(Endpoint::McpServer, Fault::Unauthorized);

    let error = send(&http, tools_list(&kit), Some(&alice), false)
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
    let (http, _) = stack(&authorizer);
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("token");
    kit.clear_requests();

    let response = send(
        &http,
        call_tool(&kit, "admin_echo", "root"),
        Some(&alice),
        false,
    )
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
    let (http, attempts) = stack(&authorizer);

    let error = send(&http, tools_list(&kit), None, false)
        .await
        .expect_err("no user");
    assert!(matches!(adapter(&error), AdapterError::NoUser), "{error:?}");
    assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_streamed_body_over_the_cap_is_refused_and_nothing_is_sent() {
    let kit = common::kit();
    let client = common::client_builder()
        .resource_body_bytes(16)
        .build()
        .expect("client");
    let authorizer = Authorizer::with_client(common::config(&kit), client);
    let (http, attempts) = stack(&authorizer);
    let alice = user(&kit, "alice");

    let error = send(&http, tools_list(&kit), Some(&alice), true)
        .await
        .expect_err("too large");
    assert!(
        matches!(adapter(&error), AdapterError::BodyTooLarge { limit: 16 }),
        "{error:?}"
    );
    assert!(kit.requests().is_empty(), "{:#?}", kit.requests());
    assert_eq!(attempts.load(Ordering::SeqCst), 0);
}

/// An authorizer for `kit` whose tokens are bound to a DPoP key sending `content_digest`.
fn bound_authorizer(kit: &xaa_testkit::Testkit) -> Authorizer {
    let config = dpop::bound(common::config(kit), &dpop::digest_binding());
    Authorizer::with_client(config, common::client())
}

#[tokio::test]
async fn dpop_bound_attempts_each_carry_a_proof_and_a_nonce_demand_gets_one_resend() {
    for streamed in [false, true] {
        let kit = common::kit_with(dpop::strict_options());
        let authorizer = bound_authorizer(&kit);
        let (http, attempts) = stack(&authorizer);
        let alice = user(&kit, "alice");
        let token = authorizer.token(&alice).await.expect("a bound token");
        assert!(token.dpop_jkt().is_some());
        kit.clear_requests();

        let response = send(&http, tools_list(&kit), Some(&alice), streamed)
            .await
            .expect("tools/list");
        assert_tools_listed(&response);
        dpop::assert_nonce_demand_met_once(&kit, token.expose_secret());
        dpop::assert_only_mcp_requests(&kit, 2);
        assert_eq!(attempts.load(Ordering::SeqCst), 2, "both through the stack");
    }
}

#[tokio::test]
async fn dpop_refused_proof_and_nonce_loop_are_final_typed_errors() {
    let kit = common::kit_with(dpop::options());
    let authorizer = bound_authorizer(&kit);
    let (http, _) = stack(&authorizer);
    let alice = user(&kit, "alice");
    authorizer.token(&alice).await.expect("a bound token");

    for (fault, sent) in [(Fault::InvalidDpopProof, 1), (Fault::DpopNonceLoop, 2)] {
        kit.clear_requests();
        kit.set_fault(Endpoint::McpServer, fault.clone());
        let error = send(&http, tools_list(&kit), Some(&alice), false)
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
