//! The device authorization grant (RFC 8628): the exact requests, polling no earlier than the
//! interval, `slow_down`, `authorization_pending`, `access_denied`, `expired_token`, the
//! device code's own expiry, and the ID token checked with real signatures.
#![cfg(all(feature = "signin", feature = "jwt"))]

mod signin_support;

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use signin_support::*;
use xaa::jose::{SigningKey, sign_jwt};
use xaa::signin::{
    DEVICE_CODE_GRANT_TYPE, DeviceAuthorization, DeviceOutcome, DeviceSignIn, IdTokenError,
    IdpKeys, SignInOptions,
};
use xaa::{
    Error, ErrorCode, Flow, HttpResponse, Output, Policy, Purpose, Scope, Transmit, Violation,
};

fn at(seconds: u64) -> SystemTime {
    now() + Duration::from_secs(seconds)
}

fn device_answer() -> Value {
    json!({
        "device_code": "dc-secret-1", "user_code": "WDJB-MJHT",
        "verification_uri": "https://idp.example.com/activate",
        "verification_uri_complete": "https://idp.example.com/activate?user_code=WDJB-MJHT",
        "expires_in": 600, "interval": 5,
    })
}

fn transmit(flow: &mut DeviceSignIn, now: SystemTime) -> Transmit {
    match flow.poll_output(now) {
        Ok(Output::Transmit(transmit)) => transmit,
        other => panic!("expected a request at {now:?}: {other:?}"),
    }
}

fn waits(flow: &mut DeviceSignIn, now: SystemTime) {
    assert!(
        matches!(flow.poll_output(now), Ok(Output::Wait)),
        "sends nothing at {now:?}"
    );
}

/// A flow past its device authorization, answered at `now()` with `answer`.
fn authorized(answer: Value) -> (DeviceSignIn, FakeIdp) {
    let mut options = SignInOptions::default();
    options.scope = Scope::parse("profile");
    options.offline_access = true;
    let mut flow = DeviceSignIn::new(&client(), IdpKeys::new(), &options).expect("flow");
    let mut idp = FakeIdp::default();
    idp.device_answers.push_back(json_response(200, answer));
    let first = transmit(&mut flow, now());
    let response = idp.answer(first.purpose, &first.request);
    flow.handle_response(now(), first.id, response)
        .expect("handled");
    (flow, idp)
}

/// Sends the poll due at `now` and answers it with `response`.
fn poll(flow: &mut DeviceSignIn, idp: &mut FakeIdp, now: SystemTime, response: HttpResponse) {
    idp.token_answers.push_back(response);
    let request = transmit(flow, now);
    assert_eq!(request.purpose, Purpose::DeviceToken);
    let answer = idp.answer(request.purpose, &request.request);
    flow.handle_response(now, request.id, answer)
        .expect("handled");
}

fn done(flow: &mut DeviceSignIn, now: SystemTime) -> Result<DeviceOutcome, Error> {
    match flow.poll_output(now)? {
        Output::Done(outcome) => Ok(outcome),
        other => panic!("not done: {other:?}"),
    }
}

fn id_token(key: &SigningKey, changes: Value) -> String {
    let now = secs(now());
    let mut claims =
        json!({"iss": IDP, "sub": "alice", "aud": CLIENT, "exp": now + 900, "iat": now + 20});
    for (name, value) in changes.as_object().expect("object") {
        claims[name] = value.clone();
    }
    sign_jwt(key, "JWT", &claims).expect("signed")
}

#[test]
fn the_device_authorization_request_is_exact_and_its_answer_shown() {
    let (flow, idp) = authorized(device_answer());
    let request = &idp.log[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", DEVICE)
    );
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.form,
        pairs(&[
            ("scope", "openid profile offline_access"),
            ("client_id", CLIENT)
        ])
    );
    let shown = flow.authorization().expect("an authorization to show");
    assert_eq!(shown.user_code, "WDJB-MJHT");
    assert_eq!(shown.verification_uri, "https://idp.example.com/activate");
    assert_eq!(
        shown.verification_uri_complete.as_deref(),
        Some("https://idp.example.com/activate?user_code=WDJB-MJHT")
    );
    assert_eq!(
        (shown.expires_at, shown.interval),
        (at(600), Duration::from_secs(5))
    );
    assert_eq!(flow.next_poll_at(), Some(at(5)));
    assert!(!format!("{flow:?}").contains("dc-secret-1"));
}

#[test]
fn polls_wait_for_the_interval_and_slow_down_adds_five_seconds() {
    let key = key();
    let (mut flow, mut idp) = authorized(device_answer());
    waits(&mut flow, now());
    waits(&mut flow, at(4));
    poll(
        &mut flow,
        &mut idp,
        at(5),
        oauth_error(400, "authorization_pending"),
    );
    assert_eq!(flow.next_poll_at(), Some(at(10)));
    waits(&mut flow, at(9));
    poll(&mut flow, &mut idp, at(10), oauth_error(400, "slow_down"));
    assert_eq!(flow.interval(), Some(Duration::from_secs(10)));
    assert_eq!(
        flow.next_poll_at(),
        Some(at(20)),
        "moved by the new interval of 10 s"
    );
    waits(&mut flow, at(19));
    poll(
        &mut flow,
        &mut idp,
        at(20),
        oauth_error(400, "authorization_pending"),
    );
    assert_eq!(
        flow.next_poll_at(),
        Some(at(30)),
        "the slower interval stays"
    );
    let token = id_token(&key, json!({}));
    poll(
        &mut flow,
        &mut idp,
        at(30),
        json_response(200, json!({"id_token": token, "refresh_token": "rt-d"})),
    );
    let keys = transmit(&mut flow, at(30));
    assert_eq!(keys.purpose, Purpose::IdpKeys);
    let answer = json_response(200, key.jwks().to_json());
    flow.handle_response(at(30), keys.id, answer)
        .expect("handled");
    let Ok(DeviceOutcome::SignedIn(sign_in)) = done(&mut flow, at(30)) else {
        panic!("not signed in");
    };
    assert_eq!(sign_in.claims.sub, "alice");
    assert_eq!(
        sign_in.refresh_token.as_ref().map(|t| t.expose_secret()),
        Some("rt-d")
    );
    let polls: Vec<_> = idp
        .log
        .iter()
        .filter(|r| r.purpose == Purpose::DeviceToken)
        .collect();
    assert_eq!(polls.len(), 4);
    for request in polls {
        assert_eq!(
            (request.method.as_str(), request.url.as_str()),
            ("POST", TOKEN)
        );
        assert_eq!(
            request.form,
            pairs(&[
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("device_code", "dc-secret-1"),
                ("client_id", CLIENT)
            ])
        );
    }
}

fn key() -> SigningKey {
    SigningKey::generate_es256("d1").expect("key")
}

#[test]
fn denial_and_expiry_are_final_outcomes() {
    let (mut flow, mut idp) = authorized(device_answer());
    poll(
        &mut flow,
        &mut idp,
        at(5),
        json_response(
            400,
            json!({"error": "access_denied", "error_description": "no\u{1b}"}),
        ),
    );
    let Ok(DeviceOutcome::Denied(error)) = done(&mut flow, at(5)) else {
        panic!("not denied");
    };
    assert_eq!(
        (error.code, error.description.as_deref()),
        (ErrorCode::AccessDenied, Some("no "))
    );
    assert!(matches!(flow.poll_output(at(6)), Err(Error::Misuse(_))));

    let (mut flow, mut idp) = authorized(device_answer());
    poll(
        &mut flow,
        &mut idp,
        at(5),
        oauth_error(400, "expired_token"),
    );
    assert!(matches!(done(&mut flow, at(5)), Ok(DeviceOutcome::Expired)));
}

#[test]
fn the_device_code_expires_without_another_poll() {
    let (mut flow, mut idp) = authorized(device_answer());
    poll(
        &mut flow,
        &mut idp,
        at(5),
        oauth_error(400, "authorization_pending"),
    );
    assert!(matches!(
        done(&mut flow, at(600)),
        Ok(DeviceOutcome::Expired)
    ));
    assert_eq!(idp.log.len(), 2, "no poll after expires_in");
}

#[test]
fn other_errors_end_the_flow_and_the_id_token_is_checked() {
    let (mut flow, mut idp) = authorized(device_answer());
    poll(
        &mut flow,
        &mut idp,
        at(5),
        oauth_error(400, "invalid_client"),
    );
    let error = flow.poll_output(at(5)).expect_err("an error");
    assert_eq!(
        error.oauth_error().map(|e| e.code.clone()),
        Some(ErrorCode::InvalidClient)
    );

    let key = key();
    let (mut flow, mut idp) = authorized(device_answer());
    let token = id_token(&key, json!({"aud": "someone-else"}));
    poll(
        &mut flow,
        &mut idp,
        at(5),
        json_response(200, json!({"id_token": token})),
    );
    let keys = transmit(&mut flow, at(5));
    flow.handle_response(at(5), keys.id, json_response(200, key.jwks().to_json()))
        .expect("handled");
    let refused = flow.poll_output(at(5));
    assert!(
        matches!(
            refused,
            Err(Error::InvalidResponse {
                purpose: Purpose::DeviceToken,
                violation: Violation::IdToken(IdTokenError::Audience)
            })
        ),
        "{refused:?}"
    );
}

#[test]
fn unusable_device_authorization_answers_are_refused() {
    let with = |changes: Value| {
        let mut answer = device_answer();
        for (name, value) in changes.as_object().expect("object") {
            if value.is_null() {
                answer.as_object_mut().expect("object").remove(name);
            } else {
                answer[name] = value.clone();
            }
        }
        answer.to_string()
    };
    let read =
        |body: String| DeviceAuthorization::from_json(body.as_bytes(), now(), &Policy::default());
    let invalid = |field: &str, body: String| match read(body) {
        Err(Violation::InvalidField { field: found, .. }) => assert_eq!(found, field),
        other => panic!("{field}: {other:?}"),
    };
    invalid("user_code", with(json!({"user_code": "AB\u{1b}[2J"})));
    invalid("user_code", with(json!({"user_code": "A".repeat(65)})));
    invalid(
        "verification_uri",
        with(json!({"verification_uri": "http://idp.example.com/a"})),
    );
    invalid(
        "verification_uri",
        with(json!({"verification_uri": "https://idp.example.com/\u{202e}"})),
    );
    invalid(
        "verification_uri_complete",
        with(json!({"verification_uri_complete": "javascript:alert(1)"})),
    );
    invalid("interval", with(json!({"interval": 0})));
    invalid("interval", with(json!({"interval": "5"})));
    invalid("expires_in", with(json!({"expires_in": 0})));
    for missing in ["device_code", "user_code", "verification_uri", "expires_in"] {
        assert_eq!(
            read(with(json!({missing: null}))),
            Err(Violation::MissingField(match missing {
                "device_code" => "device_code",
                "user_code" => "user_code",
                "verification_uri" => "verification_uri",
                _ => "expires_in",
            }))
        );
    }
    assert_eq!(
        read(r#"{"device_code":"a","device_code":"b"}"#.into()),
        Err(Violation::DuplicateField("device_code".into()))
    );
    let odd = read(with(
        json!({"verification_uri": "HTTPS:/idp.example.com/activate"}),
    ))
    .expect("read");
    assert_eq!(
        odd.verification_uri, "https://idp.example.com/activate",
        "shown as a browser opens it"
    );
    let defaulted = read(with(json!({"interval": null}))).expect("read");
    assert_eq!(defaulted.interval, Duration::from_secs(5));
    let mut loopback = Policy::loopback();
    loopback.max_body_bytes = 1024;
    let local = with(json!({"verification_uri": "http://127.0.0.1:9/activate"}));
    assert!(DeviceAuthorization::from_json(local.as_bytes(), now(), &loopback).is_ok());

    let mut flow =
        DeviceSignIn::new(&client(), IdpKeys::new(), &SignInOptions::default()).expect("flow");
    let first = transmit(&mut flow, now());
    flow.handle_response(
        now(),
        first.id,
        json_response(200, json!({"device_code": "x"})),
    )
    .expect("handled");
    let refused = flow.poll_output(now());
    assert!(
        matches!(
            refused,
            Err(Error::InvalidResponse {
                purpose: Purpose::DeviceAuthorization,
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(flow.authorization().is_none());
}

#[test]
fn an_idp_without_a_device_endpoint_is_a_configuration_error() {
    let client = client_with(metadata_with(
        json!({"device_authorization_endpoint": null}),
    ));
    let refused = DeviceSignIn::new(&client, IdpKeys::new(), &SignInOptions::default());
    assert!(
        matches!(refused, Err(Error::Config(ref m)) if m.contains("device_authorization_endpoint")),
        "{refused:?}"
    );
}
