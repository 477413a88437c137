//! The client against tiny loopback servers: conversion, redirects, error statuses, the body
//! cap, the timeout, the address guard, and the URL the core checked.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::driver::{Authorizer, Client, Error, ProxySetting};
use crate::loopback::{response, serve_once, silent};
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::cache::Principal;
use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientCredentials, Flow, HttpRequest, HttpResponse, IdToken,
    IdentityProvider, Output, Policy, Purpose, Transmit, TransmitId,
};

fn client() -> Client {
    Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn get(url: String) -> HttpRequest {
    http::Request::get(url).body(Vec::new()).expect("request")
}

driver_test! {
    fn request_goes_out_as_given() {
        let (addr, requests) = serve_once(response("200 OK", &[], b""));
        let request = http::Request::post(format!("http://{addr}/token?x=1"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-multi", "one")
            .header("x-multi", "two")
            .body(b"grant_type=a&b=c".to_vec())
            .expect("request");
        let response = wait!(client().send(request)).expect("response");
        assert_eq!(response.status(), 200);
        let raw = String::from_utf8(requests.recv().expect("request")).expect("utf-8");
        let lower = raw.to_ascii_lowercase();
        assert!(raw.starts_with("POST /token?x=1 HTTP/1.1\r\n"), "{raw}");
        assert!(lower.contains("content-type: application/x-www-form-urlencoded\r\n"));
        assert!(lower.contains("x-multi: one\r\n") && lower.contains("x-multi: two\r\n"));
        assert!(lower.contains("content-length: 16\r\n"));
        assert!(raw.ends_with("\r\n\r\ngrant_type=a&b=c"));
    }
}

driver_test! {
    fn an_empty_get_has_no_body() {
        let (addr, requests) = serve_once(response("200 OK", &[], b""));
        wait!(client().send(get(format!("http://{addr}/.well-known/x")))).expect("response");
        let raw = String::from_utf8(requests.recv().expect("request")).expect("utf-8");
        assert!(raw.starts_with("GET /.well-known/x HTTP/1.1\r\n"));
        assert!(
            !raw.to_ascii_lowercase().contains("content-length"),
            "{raw}"
        );
    }
}

driver_test! {
    fn response_comes_back_whole() {
        let (addr, _) = serve_once(response(
            "401 Unauthorized",
            &[
                ("www-authenticate", r#"Bearer realm="a""#),
                ("www-authenticate", r#"DPoP algs="ES256""#),
            ],
            b"denied",
        ));
        let response = wait!(client().send(get(format!("http://{addr}/")))).expect("response");
        assert_eq!(response.status(), 401);
        let challenges: Vec<_> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .collect();
        assert_eq!(challenges.len(), 2);
        assert_eq!(response.body(), b"denied");
    }
}

driver_test! {
    fn a_redirect_is_returned_not_followed() {
        let (addr, _) = serve_once(response("302 Found", &[("location", "/elsewhere")], b""));
        let response = wait!(client().send(get(format!("http://{addr}/")))).expect("response");
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()["location"], "/elsewhere");
    }
}

driver_test! {
    fn an_oauth_error_status_is_a_response() {
        let body = br#"{"error":"invalid_grant","error_description":"expired"}"#;
        let (addr, _) = serve_once(response(
            "500 Internal Server Error",
            &[("content-type", "application/json")],
            body,
        ));
        let request = http::Request::post(format!("http://{addr}/token"))
            .body(b"x".to_vec())
            .expect("request");
        let response = wait!(client().send(request)).expect("response");
        assert_eq!(response.status(), 500);
        assert_eq!(response.body(), body);
    }
}

driver_test! {
    fn a_body_over_the_cap_is_an_error() {
        let capped = Client::builder()
            .proxy(ProxySetting::None)
            .max_body_bytes(10)
            .build()
            .expect("client");
        // Declared too large.
        let (addr, _) = serve_once(response("200 OK", &[], &[b'a'; 11]));
        let result = wait!(capped.send(get(format!("http://{addr}/"))));
        assert!(
            matches!(result, Err(Error::BodyTooLarge { limit: 10, .. })),
            "{result:?}"
        );
        // Chunked, no length: caught while reading.
        let chunked = b"HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n\
            6\r\naaaaaa\r\n6\r\naaaaaa\r\n0\r\n\r\n";
        let (addr, _) = serve_once(chunked.to_vec());
        let result = wait!(capped.send(get(format!("http://{addr}/"))));
        assert!(
            matches!(result, Err(Error::BodyTooLarge { limit: 10, .. })),
            "{result:?}"
        );
        // Exactly at the cap is fine.
        let (addr, _) = serve_once(response("200 OK", &[], &[b'a'; 10]));
        let ok = wait!(capped.send(get(format!("http://{addr}/"))));
        assert_eq!(ok.expect("at the cap").body().len(), 10);
    }
}

driver_test! {
    fn a_silent_server_times_out() {
        let addr = silent(Duration::from_secs(5));
        let quick = Client::builder()
            .proxy(ProxySetting::None)
            .timeout(Duration::from_secs(1))
            .build()
            .expect("client");
        let started = Instant::now();
        let result = wait!(quick.send(get(format!("http://{addr}/"))));
        assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

driver_test! {
    fn the_address_guard_refuses_loopback_unless_allowed() {
        let guarded = Client::builder()
            .proxy(ProxySetting::None)
            .deny_private_addresses(true)
            .build()
            .expect("client");
        // A literal and a name.
        for host in ["127.0.0.1", "localhost"] {
            match wait!(guarded.send(get(format!("http://{host}:9/")))) {
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
        // Allowed by its literal, then by its name.
        for allowed_host in ["127.0.0.1", "localhost"] {
            let (addr, _) = serve_once(response("200 OK", &[], b"ok"));
            let allowed = Client::builder()
                .proxy(ProxySetting::None)
                .deny_private_addresses(true)
                .allow_host(allowed_host)
                .build()
                .expect("client");
            let url = format!("http://{allowed_host}:{}/", addr.port());
            let response = wait!(allowed.send(get(url))).expect("allowed");
            assert_eq!(response.body(), b"ok");
        }
    }
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
                request: get(url),
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

driver_test! {
    fn run_drives_a_flow_and_names_the_failed_step() {
        let (addr, _) = serve_once(response("204 No Content", &[], b""));
        let status = wait!(client().run(OneGet(Some(format!("http://{addr}/")), None)));
        assert_eq!(status.expect("run"), 204);

        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a port nothing listens on");
        let error = wait!(client().run(OneGet(Some(format!("http://{closed}/")), None)))
            .expect_err("nothing listens");
        assert!(error.is_transport(), "{error:?}");
        assert_eq!(error.purpose(), Some(Purpose::IdpMetadata));
        assert!(error.to_string().starts_with("idp_metadata: "), "{error}");
        assert!(!error.to_string().contains("127.0.0.1"), "no URL: {error}");
        // The cause in the client's words: reqwest's (`tcp connect error: ...`), ureq's the
        // system's (`io: Connection refused`).
        let cause = if crate::BLOCKING { "Connection refused" } else { "connect" };
        assert!(error.to_string().contains(cause), "the cause: {error}");
    }
}

driver_test! {
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
            spawn!(wait!(authorizer.token(&user)))
        };
        sleep!(Duration::from_millis(200));
        let waited = wait!(authorizer.token(&user)).expect_err("the flight fails");
        let ran = joined!(runner).expect_err("the flight fails");
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
}

/// The first request of a flow from an MCP server URL: the probe, built by the core.
fn core_built_probe(server: &str) -> HttpRequest {
    let config = xaa::EnterpriseConfig::new(
        IdentityProvider::issuer("http://127.0.0.1:9", ClientCredentials::public("idp")),
        SubjectToken::IdToken(IdToken::new("a.b.c")),
        AuthorizationServer::discovered(ClientCredentials::public("client")),
    )
    .policy(Policy::loopback());
    let mut flow =
        xaa::EnterpriseAuth::new(config, xaa::Start::ServerUrl(server.into())).expect("flow");
    match flow.poll_output(SystemTime::now()).expect("poll") {
        Output::Transmit(transmit) => transmit.request,
        _ => panic!("the flow starts with a request"),
    }
}

driver_test! {
    fn the_checked_url_is_used_only_while_it_is_the_uri() {
        // As built: the core's checked URL rides along and names the URI's address.
        let (addr, requests) = serve_once(response("200 OK", &[], b""));
        let request = core_built_probe(&format!("http://{addr}/mcp"));
        let checked = request
            .extensions()
            .get::<xaa::RequestUrl>()
            .expect("the core attaches its checked URL");
        assert!(checked.matches(request.uri()));
        wait!(client().send(request)).expect("response");
        let raw = String::from_utf8(requests.recv().expect("request")).expect("utf-8");
        assert!(raw.starts_with("POST /mcp HTTP/1.1\r\n"), "{raw}");

        // The URI changed after the core built it: the request goes where its URI says,
        // whatever the stale extension holds.
        let (elsewhere, moved) = serve_once(response("200 OK", &[], b""));
        let mut request = core_built_probe(&format!("http://{addr}/mcp"));
        *request.uri_mut() = format!("http://{elsewhere}/other?x=1")
            .parse()
            .expect("URI");
        wait!(client().send(request)).expect("response");
        let raw = String::from_utf8(moved.recv().expect("request")).expect("utf-8");
        assert!(raw.starts_with("POST /other?x=1 HTTP/1.1\r\n"), "{raw}");
        assert!(
            raw.to_ascii_lowercase()
                .contains(&format!("host: {elsewhere}\r\n")),
            "{raw}"
        );
    }
}
