//! The client against tiny loopback servers: conversion, redirects, error statuses, the body
//! cap, the timeout and the address guard.

#[path = "../../tests-shared/loopback.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use support::{response, serve_once, silent};
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::cache::Principal;
use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientCredentials, Flow, HttpResponse, IdToken, IdentityProvider, Output,
    Policy, Purpose, Transmit, TransmitId,
};
use xaa_ureq::{Authorizer, Client, Error, ProxySetting};

fn client() -> Client {
    Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

#[test]
fn request_goes_out_as_given() {
    let (addr, requests) = serve_once(response("200 OK", &[], b""));
    let request = http::Request::post(format!("http://{addr}/token?x=1"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-multi", "one")
        .header("x-multi", "two")
        .body(b"grant_type=a&b=c".to_vec())
        .expect("request");
    let response = client().send(request).expect("response");
    assert_eq!(response.status(), 200);
    let raw = String::from_utf8(requests.recv().expect("request")).expect("utf-8");
    let lower = raw.to_ascii_lowercase();
    assert!(raw.starts_with("POST /token?x=1 HTTP/1.1\r\n"), "{raw}");
    assert!(lower.contains("content-type: application/x-www-form-urlencoded\r\n"));
    assert!(lower.contains("x-multi: one\r\n") && lower.contains("x-multi: two\r\n"));
    assert!(lower.contains("content-length: 16\r\n"));
    assert!(raw.ends_with("\r\n\r\ngrant_type=a&b=c"));
}

#[test]
fn an_empty_get_has_no_body() {
    let (addr, requests) = serve_once(response("200 OK", &[], b""));
    let request = http::Request::get(format!("http://{addr}/.well-known/x"))
        .body(Vec::new())
        .expect("request");
    client().send(request).expect("response");
    let raw = String::from_utf8(requests.recv().expect("request")).expect("utf-8");
    assert!(raw.starts_with("GET /.well-known/x HTTP/1.1\r\n"));
    assert!(
        !raw.to_ascii_lowercase().contains("content-length"),
        "{raw}"
    );
}

#[test]
fn response_comes_back_whole() {
    let (addr, _) = serve_once(response(
        "401 Unauthorized",
        &[
            ("www-authenticate", r#"Bearer realm="a""#),
            ("www-authenticate", r#"DPoP algs="ES256""#),
        ],
        b"denied",
    ));
    let response = client()
        .send(
            http::Request::get(format!("http://{addr}/"))
                .body(Vec::new())
                .expect("request"),
        )
        .expect("response");
    assert_eq!(response.status(), 401);
    let challenges: Vec<_> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(response.body(), b"denied");
}

#[test]
fn a_redirect_is_returned_not_followed() {
    let (addr, _) = serve_once(response("302 Found", &[("location", "/elsewhere")], b""));
    let response = client()
        .send(
            http::Request::get(format!("http://{addr}/"))
                .body(Vec::new())
                .expect("request"),
        )
        .expect("response");
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/elsewhere");
}

#[test]
fn an_oauth_error_status_is_a_response() {
    let body = br#"{"error":"invalid_grant","error_description":"expired"}"#;
    let (addr, _) = serve_once(response(
        "500 Internal Server Error",
        &[("content-type", "application/json")],
        body,
    ));
    let response = client()
        .send(
            http::Request::post(format!("http://{addr}/token"))
                .body(b"x".to_vec())
                .expect("request"),
        )
        .expect("response");
    assert_eq!(response.status(), 500);
    assert_eq!(response.body(), body);
}

#[test]
fn a_body_over_the_cap_is_an_error() {
    let capped = Client::builder()
        .proxy(ProxySetting::None)
        .max_body_bytes(10)
        .build()
        .expect("client");
    // Declared too large.
    let (addr, _) = serve_once(response("200 OK", &[], &[b'a'; 11]));
    let result = capped.send(
        http::Request::get(format!("http://{addr}/"))
            .body(Vec::new())
            .expect("request"),
    );
    assert!(
        matches!(result, Err(Error::BodyTooLarge { limit: 10, .. })),
        "{result:?}"
    );
    // Chunked, no length: caught while reading.
    let chunked = b"HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n6\r\naaaaaa\r\n6\r\naaaaaa\r\n0\r\n\r\n";
    let (addr, _) = serve_once(chunked.to_vec());
    let result = capped.send(
        http::Request::get(format!("http://{addr}/"))
            .body(Vec::new())
            .expect("request"),
    );
    assert!(
        matches!(result, Err(Error::BodyTooLarge { limit: 10, .. })),
        "{result:?}"
    );
    // Exactly at the cap is fine.
    let (addr, _) = serve_once(response("200 OK", &[], &[b'a'; 10]));
    let ok = capped.send(
        http::Request::get(format!("http://{addr}/"))
            .body(Vec::new())
            .expect("request"),
    );
    assert_eq!(ok.expect("at the cap").body().len(), 10);
}

#[test]
fn a_silent_server_times_out() {
    let addr = silent(Duration::from_secs(5));
    let quick = Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let started = Instant::now();
    let result = quick.send(
        http::Request::get(format!("http://{addr}/"))
            .body(Vec::new())
            .expect("request"),
    );
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn the_address_guard_refuses_loopback_unless_allowed() {
    let guarded = Client::builder()
        .proxy(ProxySetting::None)
        .deny_private_addresses(true)
        .build()
        .expect("client");
    for host in ["127.0.0.1", "localhost"] {
        let request = http::Request::get(format!("http://{host}:9/"))
            .body(Vec::new())
            .expect("request");
        match guarded.send(request) {
            Err(Error::PrivateAddress {
                host: refused,
                address,
                ..
            }) => {
                assert_eq!(refused, host);
                assert!(address.is_loopback());
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let (addr, _) = serve_once(response("200 OK", &[], b"ok"));
    let allowed = Client::builder()
        .proxy(ProxySetting::None)
        .deny_private_addresses(true)
        .allow_host("127.0.0.1")
        .build()
        .expect("client");
    let response = allowed
        .send(
            http::Request::get(format!("http://{addr}/"))
                .body(Vec::new())
                .expect("request"),
        )
        .expect("allowed");
    assert_eq!(response.body(), b"ok");
}

/// One GET, then done with the response status.
struct OneGet(Option<String>, Option<u16>);

impl Flow for OneGet {
    type Output = u16;

    fn poll_output(&mut self, _now: SystemTime) -> Result<Output<u16>, xaa::Error> {
        if let Some(url) = self.0.take() {
            return Ok(Output::Transmit(Transmit {
                id: TransmitId::new(0),
                purpose: Purpose::IdpMetadata,
                request: http::Request::get(url).body(Vec::new()).expect("request"),
            }));
        }
        Ok(self.1.take().map_or(Output::Wait, Output::Done))
    }

    fn handle_response(
        &mut self,
        _now: SystemTime,
        _id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), xaa::Error> {
        self.1 = Some(response.status().as_u16());
        Ok(())
    }
}

#[test]
fn run_drives_a_flow_and_names_the_failed_step() {
    let (addr, _) = serve_once(response("204 No Content", &[], b""));
    assert_eq!(
        client()
            .run(OneGet(Some(format!("http://{addr}/")), None))
            .expect("run"),
        204
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port nothing listens on");
    let error = client()
        .run(OneGet(Some(format!("http://{closed}/")), None))
        .expect_err("nothing listens");
    assert!(error.is_transport(), "{error:?}");
    assert_eq!(error.purpose(), Some(Purpose::IdpMetadata));
    assert!(error.to_string().starts_with("idp_metadata: "), "{error}");
}

#[test]
fn a_failed_flight_reaches_its_waiters_as_a_transport_error() {
    // The probe's connection is accepted and held, then closed without an answer.
    let addr = silent(Duration::from_millis(600));
    let server = format!("http://{addr}/mcp");
    let config = AuthorizerConfig::new(
        server.as_str(),
        IdentityProvider::issuer(format!("http://{addr}"), ClientCredentials::public("idp")),
        AuthorizationServer::discovered(ClientCredentials::public("client")),
    )
    .policy(Policy::loopback());
    let authorizer = Authorizer::with_client(config, client());
    let user = User::new(
        Principal::subject("https://idp.example", "alice"),
        Arc::new(SubjectToken::IdToken(IdToken::new("opaque"))),
    );
    let runner = {
        let (authorizer, user) = (authorizer.clone(), user.clone());
        std::thread::spawn(move || authorizer.token(&user))
    };
    std::thread::sleep(Duration::from_millis(200));
    let waited = authorizer.token(&user).expect_err("the flight fails");
    let ran = runner
        .join()
        .expect("thread")
        .expect_err("the flight fails");
    assert!(
        ran.is_transport(),
        "the runner gets the typed error: {ran:?}"
    );
    // The probe, or the IdP metadata fetched alongside it: whichever failed first.
    assert!(ran.purpose().is_some());
    match waited {
        Error::Flow(xaa::Error::Transport { purpose, .. }) => {
            assert_eq!(purpose, ran.purpose(), "the same failure");
        }
        other => panic!("the waiter learns the transport failure, got {other:?}"),
    }
}
