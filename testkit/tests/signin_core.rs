//! The core's sign-in flows (`xaa::signin`) against the kit's IdP over real HTTP on
//! 127.0.0.1: the code flow, a refresh across a key rotation, revocation and the device grant
//! succeed, and every sign-in fault of the kit meets the refusal the core types for it.

mod common;

use std::time::{Duration, SystemTime};

use url::Url;
use xaa::discovery::AuthorizationServerMetadata;
use xaa::jose::JwsError;
use xaa::signin::{
    AuthorizationErrorCode, AuthorizationRequest, CallbackError, CodeExchange, DeviceOutcome,
    DeviceSignIn, IdTokenError, IdpKeys, PendingSignIn, Refresh, Revocation, SignIn, SignInClient,
    SignInOptions, SystemRandom, sha256,
};
use xaa::{ClientCredentials, Error, Flow as _, Output, Policy, Violation};
use xaa_testkit::{
    AuthorizationResponseFault, Endpoint, Fault, IDP_CLIENT_ID, IdTokenFault, Options, Testkit,
};

/// A port nobody listens on: the test reads the redirect, it never follows it.
const CALLBACK_PORT: u16 = 49_153;

fn client(kit: &Testkit) -> SignInClient {
    let url = format!("{}/.well-known/openid-configuration", kit.idp_issuer());
    let response = common::send(common::get(&url)).expect("metadata");
    let metadata = AuthorizationServerMetadata::from_json(response.body()).expect("metadata");
    SignInClient::new(
        metadata,
        ClientCredentials::public(IDP_CLIENT_ID),
        &Policy::loopback(),
    )
    .expect("a usable IdP")
}

fn options() -> SignInOptions {
    let mut options = SignInOptions::default();
    options.offline_access = true;
    options
}

fn form_post(url: &str, pairs: &[(&str, &str)]) -> xaa::HttpRequest {
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(xaa_testkit::form::encode(pairs))
        .expect("request")
}

/// What a person does with the URL: opens the page, signs in as alice; the redirect's query.
fn browse(kit: &Testkit, url: &Url) -> String {
    let page = common::send(common::get(url.as_str())).expect("the sign-in page");
    assert_eq!(page.status(), 200);
    let html = String::from_utf8(page.body().clone()).expect("UTF-8");
    let marker = "name=\"transaction\" value=\"";
    let start = html.find(marker).expect("the transaction") + marker.len();
    let end = start + html[start..].find('"').expect("the closing quote");
    let submit = form_post(
        &format!("{}/authorize/sign-in", kit.idp_issuer()),
        &[
            ("transaction", &html[start..end]),
            ("user", "alice"),
            ("decision", "allow"),
        ],
    );
    let response = common::send(submit).expect("the redirect");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().expect("ASCII");
    let location = Url::parse(location).expect("a URL");
    location.query().unwrap_or_default().to_owned()
}

/// A fresh authorization request: the URL to open and what the client keeps.
fn authorization(kit: &Testkit, client: &SignInClient) -> (Url, PendingSignIn) {
    let redirect_uri = kit.sign_in_redirect_uri(CALLBACK_PORT);
    AuthorizationRequest::new(client, &redirect_uri, &options(), &SystemRandom, &sha256)
        .expect("an authorization request")
        .into_parts()
}

/// The whole code flow; the outcome of the code exchange.
fn code_flow(kit: &Testkit, client: &SignInClient, keys: &IdpKeys) -> Result<SignIn, Error> {
    let (url, pending) = authorization(kit, client);
    let code = pending.accept(&browse(kit, &url)).expect("a code");
    let flow = CodeExchange::new(client, keys.clone(), pending, code).expect("a flow");
    common::drive(flow).map_err(|error| match error {
        xaa::DriveError::Flow(error) => error,
        other => panic!("transport: {other}"),
    })
}

#[test]
fn sign_in_refresh_across_a_key_rotation_and_revoke() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let client = client(&kit);
    let keys = IdpKeys::new();
    let sign_in = code_flow(&kit, &client, &keys).expect("signed in");
    assert_eq!(sign_in.claims.sub, "alice");
    let refresh_token = sign_in.refresh_token.clone().expect("a refresh token");
    kit.rotate_idp_signing_key(false).expect("rotated");
    let flow = Refresh::new(
        &client,
        keys.clone(),
        refresh_token,
        sign_in.claims.clone(),
        None,
    )
    .expect("a flow");
    let renewal = common::drive(flow).expect("renewed, the new key fetched");
    assert!(renewal.rotated);
    assert_eq!(kit.refresh_token_redemptions(), 1);
    let flow = Revocation::new(&client, renewal.refresh_token.clone()).expect("a flow");
    common::drive(flow).expect("revoked");
    let flow =
        Refresh::new(&client, keys, renewal.refresh_token, sign_in.claims, None).expect("a flow");
    let refused = common::drive(flow).expect_err("the family is revoked");
    assert!(
        matches!(
            refused,
            xaa::DriveError::Flow(Error::ReauthenticationRequired { status: 400, .. })
        ),
        "{refused}"
    );
    assert_eq!(kit.refresh_token_redemptions(), 1);
}

#[test]
fn each_authorization_response_fault_is_refused() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let client = client(&kit);
    let cases = [
        (
            AuthorizationResponseFault::WrongState,
            CallbackError::StateMismatch,
        ),
        (
            AuthorizationResponseFault::MissingState,
            CallbackError::StateMissing,
        ),
        (
            AuthorizationResponseFault::MissingIssuer,
            CallbackError::IssuerMissing,
        ),
    ];
    for (fault, expected) in cases {
        kit.set_fault(Endpoint::IdpSignIn, Fault::AuthorizationResponse(fault));
        let (url, pending) = authorization(&kit, &client);
        let refused = pending.accept(&browse(&kit, &url)).expect_err("refused");
        assert_eq!(refused, expected, "{fault:?}");
    }
    kit.set_fault(
        Endpoint::IdpSignIn,
        Fault::AuthorizationResponse(AuthorizationResponseFault::WrongIssuer),
    );
    let (url, pending) = authorization(&kit, &client);
    let refused = pending.accept(&browse(&kit, &url)).expect_err("refused");
    assert!(
        matches!(refused, CallbackError::IssuerMismatch(_)),
        "{refused:?}"
    );
    kit.set_fault(
        Endpoint::IdpSignIn,
        Fault::AuthorizationResponse(AuthorizationResponseFault::AccessDenied),
    );
    let (url, pending) = authorization(&kit, &client);
    let refused = pending.accept(&browse(&kit, &url)).expect_err("refused");
    assert!(
        matches!(&refused, CallbackError::Refused(error) if error.code == AuthorizationErrorCode::AccessDenied),
        "{refused:?}"
    );
}

/// Whether a refusal is the one a fault calls for.
type RefusalCheck = dyn Fn(&IdTokenError) -> bool;

#[test]
fn each_id_token_fault_is_refused() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let client = client(&kit);
    let keys = IdpKeys::new();
    let signature = |check: fn(&JwsError) -> bool| move |error: &IdTokenError| matches!(error, IdTokenError::Signature(jws) if check(jws));
    let cases: [(IdTokenFault, Box<RefusalCheck>); 9] = [
        (
            IdTokenFault::WrongNonce,
            Box::new(|e| matches!(e, IdTokenError::Nonce)),
        ),
        (
            IdTokenFault::WrongAudience,
            Box::new(|e| matches!(e, IdTokenError::Audience)),
        ),
        (
            IdTokenFault::WrongIssuer,
            Box::new(|e| matches!(e, IdTokenError::Issuer { .. })),
        ),
        (
            IdTokenFault::Expired,
            Box::new(|e| matches!(e, IdTokenError::Expired)),
        ),
        (
            IdTokenFault::IssuedInFuture,
            Box::new(|e| matches!(e, IdTokenError::IssuedInFuture)),
        ),
        (
            IdTokenFault::BadSignature,
            Box::new(signature(|jws| matches!(jws, JwsError::BadSignature))),
        ),
        (
            IdTokenFault::UnknownKid,
            Box::new(signature(|jws| matches!(jws, JwsError::UnknownKey { .. }))),
        ),
        (
            IdTokenFault::AlgNone,
            Box::new(signature(|jws| {
                matches!(jws, JwsError::AlgorithmNotAllowed { .. })
            })),
        ),
        (
            IdTokenFault::Hmac,
            Box::new(signature(|jws| {
                matches!(jws, JwsError::AlgorithmNotAllowed { .. })
            })),
        ),
    ];
    for (fault, expected) in cases {
        kit.set_fault(Endpoint::IdpToken, Fault::IdToken(fault));
        match code_flow(&kit, &client, &keys) {
            Err(Error::InvalidResponse {
                violation: Violation::IdToken(error),
                ..
            }) => assert!(expected(&error), "{fault:?}: {error}"),
            other => panic!("{fault:?}: not an ID-token refusal: {other:?}"),
        }
    }
}

#[test]
fn the_device_grant_waits_for_the_person() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    kit.set_device_poll_interval(Duration::from_secs(1));
    let client = client(&kit);
    let mut flow = DeviceSignIn::new(&client, IdpKeys::new(), &options()).expect("a flow");
    let mut approved = false;
    let outcome = loop {
        match flow
            .poll_output(SystemTime::now())
            .expect("the flow goes on")
        {
            Output::Transmit(transmit) => {
                let response = common::send(transmit.request).expect("sent");
                flow.handle_response(SystemTime::now(), transmit.id, response)
                    .expect("handled");
            }
            Output::Wait => {
                if !approved {
                    let user_code = &flow.authorization().expect("the codes").user_code;
                    let approve = form_post(
                        kit.idp_device_verification_uri(),
                        &[
                            ("user_code", user_code),
                            ("user", "bob"),
                            ("decision", "allow"),
                        ],
                    );
                    assert_eq!(common::send(approve).expect("the page").status(), 200);
                    approved = true;
                }
                let next = flow.next_poll_at().expect("a next poll");
                if let Ok(wait) = next.duration_since(SystemTime::now()) {
                    std::thread::sleep(wait);
                }
            }
            Output::Done(outcome) => break outcome,
        }
    };
    match outcome {
        DeviceOutcome::SignedIn(sign_in) => assert_eq!(sign_in.claims.sub, "bob"),
        other => panic!("not signed in: {other:?}"),
    }
    let polls = kit
        .sign_in_records()
        .into_iter()
        .filter(|record| record.grant_type.is_some())
        .count();
    assert_eq!(
        polls, 1,
        "the client waited the interval; the person had approved"
    );
}
