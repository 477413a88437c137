//! Fault knobs, exercised through the core client over real sockets: each fault ends the flow
//! with the typed error the protocol calls for.

mod common;

use std::io;
use std::time::{Duration, Instant};

use xaa::grant::SubjectToken;
use xaa::{DriveError, EnterpriseAuth, Error, Purpose, Start, Violation};
use xaa_testkit::{Endpoint, Fault, IdJagFault, Options, Testkit};

fn cold_flow(kit: &Testkit) -> Result<xaa::Authorization, DriveError<io::Error>> {
    let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
    common::drive(flow)
}

fn flow_error(kit: &Testkit) -> Error {
    match cold_flow(kit) {
        Err(DriveError::Flow(error)) => error,
        other => panic!("expected a flow error, got {other:?}"),
    }
}

fn transport_error(kit: &Testkit) -> (Purpose, io::ErrorKind) {
    match cold_flow(kit) {
        Err(DriveError::Transport { purpose, source }) => (purpose, source.kind()),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

/// Runs `check` with `fault` armed on `endpoint`, then clears it and checks the kit works again.
fn with_fault(kit: &Testkit, endpoint: Endpoint, fault: Fault, check: impl FnOnce(&Testkit)) {
    kit.set_fault(endpoint, fault.clone());
    check(kit);
    kit.clear_faults();
    cold_flow(kit).unwrap_or_else(|error| panic!("after clearing {fault:?}: {error}"));
}

#[test]
fn wrong_issuer_in_metadata_is_an_issuer_mismatch() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    with_fault(&kit, Endpoint::AsMetadata, Fault::WrongIssuer, |kit| {
        match flow_error(kit) {
            Error::IssuerMismatch {
                purpose,
                expected,
                found,
            } => {
                assert_eq!(purpose, Purpose::AuthorizationServerMetadata);
                assert_eq!(expected, kit.authorization_server_issuer());
                assert_eq!(found, xaa_testkit::EVIL_ORIGIN);
            }
            other => panic!("{other:?}"),
        }
        // No credential was sent anywhere once the document failed.
        assert!(kit.token_requests().is_empty());
    });
    kit.clear_requests();
    with_fault(
        &kit,
        Endpoint::IdpMetadata,
        Fault::WrongIssuer,
        |kit| match flow_error(kit) {
            Error::IssuerMismatch { purpose, .. } => assert_eq!(purpose, Purpose::IdpMetadata),
            other => panic!("{other:?}"),
        },
    );
}

#[test]
fn faulty_id_jags_are_refused_by_the_client() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let cases = [
        (IdJagFault::WrongAudience, "aud"),
        (IdJagFault::WrongClientId, "client_id"),
        (IdJagFault::WrongResource, "resource"),
        (IdJagFault::WrongTyp, "typ"),
        (IdJagFault::Expired, "exp"),
        (IdJagFault::AlgNone, "alg"),
    ];
    for (fault, expected_claim) in cases {
        kit.clear_requests();
        with_fault(&kit, Endpoint::IdpToken, Fault::IdJag(fault), |kit| {
            match flow_error(kit) {
                Error::InvalidResponse {
                    purpose: Purpose::TokenExchange,
                    violation:
                        Violation::IdJagClaim { claim, .. }
                        | Violation::IdJagHeader { member: claim, .. },
                } => assert_eq!(claim, expected_claim, "{fault:?}"),
                other => panic!("{fault:?}: {other:?}"),
            }
            // The faulty ID-JAG never reached the authorization server.
            assert!(kit.requests_to(Endpoint::AsToken).is_empty(), "{fault:?}");
        });
    }
}

#[test]
fn the_authorization_server_refuses_faulty_id_jags_too() {
    // Bypass the client's checks: hand each faulty ID-JAG to the jwt-bearer grant directly.
    let kit = Testkit::start(Options::default()).expect("kit starts");
    for fault in [
        IdJagFault::WrongAudience,
        IdJagFault::WrongClientId,
        IdJagFault::WrongResource,
        IdJagFault::WrongTyp,
        IdJagFault::Expired,
        IdJagFault::AlgNone,
    ] {
        // The exchange by hand, to get the faulty token; then present it at the AS.
        kit.set_fault(Endpoint::IdpToken, Fault::IdJag(fault));
        let mut request = http::Request::builder()
            .method("POST")
            .uri(kit.idp_token_endpoint())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(xaa_testkit::form::encode(&[
                ("grant_type", xaa::constants::GRANT_TYPE_TOKEN_EXCHANGE),
                ("requested_token_type", xaa::constants::TOKEN_TYPE_ID_JAG),
                ("audience", kit.authorization_server_issuer()),
                ("resource", kit.mcp_url()),
                ("subject_token", kit.id_token("alice").expose_secret()),
                ("subject_token_type", xaa::constants::TOKEN_TYPE_ID_TOKEN),
                ("client_id", xaa_testkit::IDP_CLIENT_ID),
            ]))
            .expect("request");
        let response = common::send(request).expect("exchange");
        kit.clear_faults();
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
        let id_jag = body["access_token"].as_str().expect("an ID-JAG").to_owned();
        let secret = kit.as_client().secret().cloned().expect("basic client");
        request = http::Request::builder()
            .method("POST")
            .uri(kit.authorization_server_token_endpoint())
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                xaa_testkit::form::basic_authorization(xaa_testkit::AS_CLIENT_ID, &secret),
            )
            .body(xaa_testkit::form::encode(&[
                ("grant_type", xaa::constants::GRANT_TYPE_JWT_BEARER),
                ("assertion", &id_jag),
            ]))
            .expect("request");
        let response = common::send(request).expect("jwt-bearer");
        assert_eq!(response.status(), 400, "{fault:?}");
        let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
        assert_eq!(body["error"], "invalid_grant", "{fault:?}");
    }
}

#[test]
fn token_response_faults() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    with_fault(
        &kit,
        Endpoint::IdpToken,
        Fault::WrongIssuedTokenType,
        |kit| {
            assert!(matches!(
                flow_error(kit),
                Error::InvalidResponse {
                    purpose: Purpose::TokenExchange,
                    violation: Violation::IssuedTokenType(_),
                }
            ));
        },
    );
    with_fault(&kit, Endpoint::IdpToken, Fault::BearerTokenType, |kit| {
        assert!(matches!(
            flow_error(kit),
            Error::InvalidResponse {
                purpose: Purpose::TokenExchange,
                violation: Violation::TokenType(_),
            }
        ));
    });
    // A refresh token where none belongs is ignored by the client, but it is on the wire.
    with_fault(&kit, Endpoint::AsToken, Fault::RefreshToken, |kit| {
        cold_flow(kit).expect("a stray refresh token is ignored");
    });
    with_fault(
        &kit,
        Endpoint::AsToken,
        Fault::ServerError,
        |kit| match flow_error(kit) {
            Error::UnexpectedStatus {
                purpose, status, ..
            } => {
                assert_eq!(purpose, Purpose::JwtBearer);
                assert_eq!(status, 500);
            }
            other => panic!("{other:?}"),
        },
    );
}

#[test]
fn redirects_are_never_followed() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let elsewhere = format!(
        "{}/.well-known/oauth-protected-resource/mcp",
        kit.idp_issuer()
    );
    with_fault(
        &kit,
        Endpoint::ResourceMetadata,
        Fault::Redirect(elsewhere.clone()),
        |kit| match flow_error(kit) {
            Error::Redirect {
                purpose,
                status,
                location,
            } => {
                assert_eq!(purpose, Purpose::ResourceMetadata);
                assert_eq!(status, 302);
                assert_eq!(location.as_deref(), Some(elsewhere.as_str()));
            }
            other => panic!("{other:?}"),
        },
    );
    with_fault(
        &kit,
        Endpoint::IdpToken,
        Fault::Redirect(kit.authorization_server_token_endpoint().to_owned()),
        |kit| {
            assert!(matches!(
                flow_error(kit),
                Error::Redirect {
                    purpose: Purpose::TokenExchange,
                    ..
                }
            ));
        },
    );
}

#[test]
fn resource_metadata_faults() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    with_fault(
        &kit,
        Endpoint::ResourceMetadata,
        Fault::ForeignResource,
        |kit| match flow_error(kit) {
            Error::ResourceMismatch { expected, found } => {
                assert_eq!(expected, kit.mcp_url());
                assert_eq!(found, "https://evil.example.com/mcp");
            }
            other => panic!("{other:?}"),
        },
    );
    with_fault(
        &kit,
        Endpoint::ResourceMetadata,
        Fault::UnreachableAuthorizationServer,
        |kit| {
            assert_eq!(
                transport_error(kit),
                (
                    Purpose::AuthorizationServerMetadata,
                    io::ErrorKind::ConnectionRefused
                )
            );
        },
    );
}

#[test]
fn transport_faults() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    with_fault(&kit, Endpoint::AsToken, Fault::CloseMidBody, |kit| {
        // Headers and half the body arrived, then the connection closed.
        assert_eq!(
            transport_error(kit),
            (Purpose::JwtBearer, io::ErrorKind::UnexpectedEof)
        );
    });
    with_fault(&kit, Endpoint::IdpToken, Fault::OversizedBody, |kit| {
        // The test client's cap (1 MiB) refuses it.
        assert_eq!(
            transport_error(kit),
            (Purpose::TokenExchange, io::ErrorKind::Other)
        );
    });
    with_fault(&kit, Endpoint::AsToken, Fault::NotJson, |kit| {
        assert!(matches!(
            flow_error(kit),
            Error::InvalidResponse {
                purpose: Purpose::JwtBearer,
                ..
            }
        ));
    });
    with_fault(&kit, Endpoint::IdpToken, Fault::WrongContentType, |kit| {
        let response = common::send(common::get(kit.mcp_url())).expect("GET");
        assert_eq!(response.status(), 401, "other endpoints are unaffected");
        let _ = cold_flow(kit);
        let exchange = kit.requests_to(Endpoint::IdpToken);
        assert_eq!(
            exchange.last().and_then(|r| r.status),
            Some(http::StatusCode::OK)
        );
    });
    // A slow answer arrives late but intact.
    with_fault(
        &kit,
        Endpoint::AsMetadata,
        Fault::Slow(Duration::from_millis(300)),
        |kit| {
            let started = Instant::now();
            cold_flow(kit).expect("slow but fine");
            assert!(started.elapsed() >= Duration::from_millis(300));
        },
    );
}

#[test]
fn faults_for_a_number_of_requests_and_delays() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    kit.set_fault_times(Endpoint::AsMetadata, Fault::ServerError, 1);
    assert!(matches!(
        flow_error(&kit),
        Error::DiscoveryFailed { .. } | Error::UnexpectedStatus { .. }
    ));
    cold_flow(&kit).expect("the fault was used up");

    kit.clear_requests();
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(200));
    cold_flow(&kit).expect("delayed but fine");
    let exchange = &kit.requests_to(Endpoint::IdpToken)[0];
    let took = exchange.finished.expect("finished") - exchange.started;
    assert!(took >= Duration::from_millis(200), "{took:?}");
    kit.clear_delays();
}
