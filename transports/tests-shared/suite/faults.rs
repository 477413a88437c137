//! Faults of the testkit's servers through `Client::run` of a cold `EnterpriseAuth` and through
//! the authorizer: each is a typed error within the client's timeout, and nothing is
//! sent anywhere after the failed request (decisions.md D4: no redirect is followed).

use std::time::{Duration, Instant};

use crate::common::{self, assert_last_request, count, tools_list, user};
use crate::driver::{Authorizer, Client, Error};
use xaa::grant::SubjectToken;
use xaa::{EnterpriseAuth, Purpose, Start};
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

driver_fn! {
    /// Arms `fault` on the IdP's token endpoint and runs a cold flow through `Client::run`; then
    /// arms it on the authorization server's token endpoint and asks a cold authorizer to send a
    /// request. Both fail with `expected` within the timeout, and nothing follows the failure.
    fn fault_everywhere(fault: Fault, expected: Expected) {
        let kit = common::kit();
        wait!(through_run(&kit, fault.clone(), expected));
        kit.clear_faults();
        kit.clear_requests();
        wait!(through_authorizer(&kit, fault, expected));
    }
}

driver_fn! {
    fn through_run(kit: &Testkit, fault: Fault, expected: Expected) {
        kit.set_fault(Endpoint::IdpToken, fault);
        let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
        let flow =
            EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
        let client = client();
        let started = Instant::now();
        let error = wait!(client.run(flow)).expect_err("the flow fails");
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
}

driver_fn! {
    fn through_authorizer(kit: &Testkit, fault: Fault, expected: Expected) {
        kit.set_fault(Endpoint::AsToken, fault);
        let authorizer = Authorizer::with_client(common::config(kit), client());
        let alice = user(kit, "alice");
        let started = Instant::now();
        let error = wait!(authorizer.send(&alice, tools_list(kit))).expect_err("the flow fails");
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
        let response = wait!(authorizer.send(&alice, tools_list(kit))).expect("works again");
        common::assert_tools_listed(&response);
    }
}

driver_test! {
    fn a_redirect_is_a_typed_error_and_its_target_is_never_contacted() {
        let kit = common::kit();
        // Followed, these redirects would be recorded: one to the AS token endpoint, one back to
        // the IdP's.
        wait!(through_run(
            &kit,
            Fault::Redirect(kit.authorization_server_token_endpoint().to_owned()),
            Expected::Redirect,
        ));
        kit.clear_faults();
        kit.clear_requests();
        wait!(through_authorizer(
            &kit,
            Fault::Redirect(kit.idp_token_endpoint().to_owned()),
            Expected::Redirect,
        ));
    }
}

driver_test! {
    fn a_500_is_a_typed_error() {
        wait!(fault_everywhere(Fault::ServerError, Expected::ServerError));
    }
}

driver_test! {
    fn a_response_slower_than_the_timeout_is_a_timeout() {
        wait!(fault_everywhere(Fault::Slow(SLOW), Expected::Timeout));
    }
}

driver_test! {
    fn a_connection_closed_mid_body_is_a_transport_error() {
        wait!(fault_everywhere(Fault::CloseMidBody, Expected::ClosedMidBody));
    }
}

driver_test! {
    fn a_body_over_the_cap_is_refused() {
        wait!(fault_everywhere(Fault::OversizedBody, Expected::TooLarge));
    }
}
