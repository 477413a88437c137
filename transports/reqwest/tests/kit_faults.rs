//! Faults of the testkit's servers through `Client::run` of a cold `EnterpriseAuth` and through
//! the async authorizer: each is a typed error within the client's timeout, and nothing is
//! sent anywhere after the failed request (decisions.md D4: no redirect is followed).

mod common;

use std::time::{Duration, Instant};

use common::{assert_last_request, count, tools_list, user};
use xaa::grant::SubjectToken;
use xaa::{EnterpriseAuth, Purpose, Start};
use xaa_reqwest::{Authorizer, Client, Error};
use xaa_testkit::{Endpoint, Fault, Testkit};

/// The client's total timeout per request.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Slack for a shared, noisy machine; still well below the slow fault's 5 s.
const MARGIN: Duration = Duration::from_millis(2500);
const SLOW: Duration = Duration::from_secs(5);

fn client() -> Client {
    common::client_builder()
        .timeout(TIMEOUT)
        .build()
        .expect("client")
}

#[derive(Clone, Copy, Debug)]
enum Expected {
    Redirect,
    ServerError,
    Timeout,
    ClosedMidBody,
    TooLarge,
}

fn check(error: &Error, purpose: Purpose, expected: Expected) {
    match (expected, error) {
        (
            Expected::Redirect,
            Error::Flow(xaa::Error::Redirect {
                purpose: p,
                status: 302,
                ..
            }),
        )
        | (
            Expected::ServerError,
            Error::Flow(xaa::Error::UnexpectedStatus {
                purpose: p,
                status: 500,
                ..
            }),
        ) => assert_eq!(*p, purpose, "{error:?}"),
        (Expected::Timeout, Error::Timeout { purpose: p, .. })
        | (Expected::ClosedMidBody, Error::Transport { purpose: p, .. })
        | (Expected::TooLarge, Error::BodyTooLarge { purpose: p, .. }) => {
            assert_eq!(*p, Some(purpose), "{error:?}");
        }
        _ => panic!("expected {expected:?} at {purpose:?}, got {error:?}"),
    }
}

/// Arms `fault` on the IdP's token endpoint and runs a cold flow through `Client::run`; then
/// arms it on the authorization server's token endpoint and asks a cold authorizer to send a
/// request. Both fail with `expected` within the timeout, and nothing follows the failure.
async fn fault_everywhere(fault: Fault, expected: Expected) {
    let kit = common::kit();
    through_run(&kit, fault.clone(), expected).await;
    kit.clear_faults();
    kit.clear_requests();
    through_authorizer(&kit, fault, expected).await;
}

async fn through_run(kit: &Testkit, fault: Fault, expected: Expected) {
    kit.set_fault(Endpoint::IdpToken, fault);
    let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
    let client = client();
    let started = Instant::now();
    let error = client.run(flow).await.expect_err("the flow fails");
    let took = started.elapsed();
    check(&error, Purpose::TokenExchange, expected);
    assert!(took < TIMEOUT + MARGIN, "took {took:?}");
    assert_last_request(kit, Endpoint::IdpToken);
    assert_eq!(count(kit, Endpoint::IdpToken), 1);
    assert_eq!(
        count(kit, Endpoint::AsToken),
        0,
        "no ID-JAG left the client"
    );
}

async fn through_authorizer(kit: &Testkit, fault: Fault, expected: Expected) {
    kit.set_fault(Endpoint::AsToken, fault);
    let authorizer = Authorizer::with_client(common::config(kit), client());
    let alice = user(kit, "alice");
    let started = Instant::now();
    let error = authorizer
        .send(&alice, tools_list(kit))
        .await
        .expect_err("the flow fails");
    let took = started.elapsed();
    check(&error, Purpose::JwtBearer, expected);
    assert!(took < TIMEOUT + MARGIN, "took {took:?}");
    assert_last_request(kit, Endpoint::AsToken);
    assert_eq!(count(kit, Endpoint::AsToken), 1);
    assert_eq!(count(kit, Endpoint::IdpToken), 1);
    assert_eq!(
        count(kit, Endpoint::McpServer),
        1,
        "only the probe reached the MCP server"
    );

    // The fault gone, the same authorizer recovers.
    kit.clear_faults();
    let response = authorizer
        .send(&alice, tools_list(kit))
        .await
        .expect("works again");
    common::assert_tools_listed(&response);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_typed_error_and_its_target_is_never_contacted() {
    let kit = common::kit();
    // Followed, these redirects would be recorded: one to the AS token endpoint, one back to
    // the IdP's.
    through_run(
        &kit,
        Fault::Redirect(kit.authorization_server_token_endpoint().to_owned()),
        Expected::Redirect,
    )
    .await;
    kit.clear_faults();
    kit.clear_requests();
    through_authorizer(
        &kit,
        Fault::Redirect(kit.idp_token_endpoint().to_owned()),
        Expected::Redirect,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_a_typed_error() {
    fault_everywhere(Fault::ServerError, Expected::ServerError).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_slower_than_the_timeout_is_a_timeout() {
    fault_everywhere(Fault::Slow(SLOW), Expected::Timeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_mid_body_is_a_transport_error() {
    fault_everywhere(Fault::CloseMidBody, Expected::ClosedMidBody).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused() {
    fault_everywhere(Fault::OversizedBody, Expected::TooLarge).await;
}
