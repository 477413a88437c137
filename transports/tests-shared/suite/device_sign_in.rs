//! The device authorization grant (RFC 8628) run to its end by the driver against the kit's
//! IdP over HTTP: the user code told once, polls paced by the interval and `slow_down`, the
//! person's approval or refusal, and the caller's deadline.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::header::CONTENT_TYPE;
use xaa::Purpose;
use xaa::discovery::AuthServerDiscovery;
use xaa::grant::SubjectToken;
use xaa::signin::{
    DEVICE_CODE_GRANT_TYPE, DeviceOutcome, DeviceSignIn, IdpKeys, SignInClient, SignInOptions,
};
use xaa_testkit::{SignInRecord, Testkit};

use crate::driver::{Client, Error};

// The kit's IdP as a sign-in client, discovered through `client`.
driver_fn! {
    fn device_flow(kit: &Testkit, client: &Client) -> DeviceSignIn {
        let policy = kit
            .enterprise_config(SubjectToken::IdToken(kit.id_token("nobody")))
            .policy;
        let discovery = AuthServerDiscovery::new(kit.idp_issuer(), Purpose::IdpMetadata, &policy)
            .expect("discovery");
        let discovered = wait!(client.run(discovery)).expect("the IdP's metadata");
        let idp = SignInClient::new(
            (*discovered.metadata).clone(),
            kit.idp_credentials(),
            &policy,
        )
        .expect("a sign-in client");
        DeviceSignIn::new(&idp, IdpKeys::new(), &SignInOptions::default()).expect("a device flow")
    }
}

/// The kit's verification page at `verification` deciding `user_code` for carol, as the
/// person would.
fn decision(verification: &str, user_code: &str, decision: &str) -> xaa::HttpRequest {
    // The kit's user codes are letters, digits and `-`: nothing to escape in a form.
    assert!(
        user_code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{user_code}"
    );
    let form = format!("user_code={user_code}&user=carol&decision={decision}");
    http::Request::post(verification)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form.into_bytes())
        .expect("a request")
}

/// The device-code polls the kit's IdP received.
fn polls(kit: &Testkit) -> Vec<SignInRecord> {
    kit.sign_in_records()
        .into_iter()
        .filter(|record| record.grant_type.as_deref() == Some(DEVICE_CODE_GRANT_TYPE))
        .collect()
}

// Runs the device sign-in for the kit while a person, told the user code, answers the
// verification page with `choice` a moment later (after the first poll found the grant
// pending); returns the outcome and how many times the code was told.
driver_fn! {
    fn signed_in_while_deciding(
        kit: &Testkit,
        choice: &'static str,
    ) -> (Result<DeviceOutcome, Error>, usize) {
        let client = common::client();
        let flow = wait!(device_flow(kit, &client));
        let told: Arc<Mutex<Vec<String>>> = Arc::default();
        let person = {
            let told = Arc::clone(&told);
            let client = client.clone();
            let verification = kit.idp_device_verification_uri().to_owned();
            spawn!({
                loop {
                    let code = told.lock().expect("told").first().cloned();
                    if let Some(code) = code {
                        sleep!(Duration::from_millis(1500));
                        let page = wait!(client.send(decision(&verification, &code, choice)));
                        return page.expect("the page answers").status();
                    }
                    sleep!(Duration::from_millis(20));
                }
            })
        };
        let deadline = SystemTime::now() + Duration::from_secs(30);
        let outcome = wait!(client.sign_in_on_device(flow, deadline, |authorization| {
            told.lock().expect("told").push(authorization.user_code.clone());
        }));
        assert_eq!(joined!(person), http::StatusCode::OK, "the page took the decision");
        let times = told.lock().expect("told").len();
        (outcome, times)
    }
}

driver_test! {
    fn a_device_sign_in_polls_until_the_person_approves() {
        let kit = common::kit();
        kit.set_device_poll_interval(Duration::from_secs(1));
        let (outcome, told) = wait!(signed_in_while_deciding(&kit, "allow"));
        let Ok(DeviceOutcome::SignedIn(signed_in)) = outcome else {
            panic!("not signed in: {outcome:?}");
        };
        assert_eq!(signed_in.claims.sub, "carol");
        assert_eq!(told, 1, "the code is told once");
        let polls = polls(&kit);
        assert!(polls.len() >= 2, "pending, then approved: {polls:?}");
        assert_eq!(polls[0].error.as_deref(), Some("authorization_pending"));
        assert!(polls.last().is_some_and(SignInRecord::succeeded));
        for pair in polls.windows(2) {
            assert!(
                pair[1].received - pair[0].received >= Duration::from_secs(1),
                "the polls keep the interval"
            );
        }
    }
}

driver_test! {
    fn a_device_sign_in_the_person_refuses_is_its_outcome() {
        let kit = common::kit();
        kit.set_device_poll_interval(Duration::from_secs(1));
        let (outcome, told) = wait!(signed_in_while_deciding(&kit, "deny"));
        assert!(
            matches!(outcome, Ok(DeviceOutcome::Denied(_))),
            "{outcome:?}"
        );
        assert_eq!(told, 1);
    }
}

driver_test! {
    fn a_deadline_before_the_next_poll_ends_the_wait() {
        let kit = common::kit();
        kit.set_device_poll_interval(Duration::from_secs(5));
        let client = common::client();
        let flow = wait!(device_flow(&kit, &client));
        let deadline = SystemTime::now() + Duration::from_secs(2);
        let started = std::time::Instant::now();
        let outcome = wait!(client.sign_in_on_device(flow, deadline, |_| {}));
        assert!(
            matches!(
                outcome,
                Err(Error::DeadlineExceeded {
                    purpose: Some(Purpose::DeviceToken)
                })
            ),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "no wait past the deadline");
        assert!(polls(&kit).is_empty(), "no poll was due before the deadline");
    }
}
