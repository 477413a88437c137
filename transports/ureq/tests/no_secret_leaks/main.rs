//! Observability without leaks, through the blocking driver: full flows against the testkit's
//! real IdP, authorization server and MCP server on 127.0.0.1, successful and failing in every
//! class (IdP and authorization-server refusals, a server answering 401 forever, hostile and
//! broken responses, an expired ID token, timeouts, refused connections, truncated and
//! oversized bodies, a failed background refresh), with client secrets travelling by
//! `client_secret_post` and `client_secret_basic` and private keys signing `private_key_jwt`
//! assertions, at both servers.
//!
//! One global `tracing` subscriber, enabled for everything (TRACE, every target, every crate,
//! every thread: the kit's runtime and the driver's refresh threads included), writes every
//! event and span field into a buffer. Every error (and each error in its source chain) is also
//! formatted into it with `{}`, `{:?}` and `{:#?}`; every successful result, configuration,
//! authorizer and user with `{:?}` and `{:#?}` (they have no `Display`).
//!
//! The test then proves that no secret of the run appears in that buffer: every ID token,
//! SAML assertion, IdP refresh token, ID-JAG and access token, both client registrations'
//! secrets (raw and Basic-encoded), every private key (the PEM, and each line of it) and every
//! client assertion, the wrong secrets and keys of the refused clients included. The secrets are collected from the kit (its registrations, and every
//! request it recorded), from the results, and from the response bodies of tapped runs (to learn
//! the ID-JAGs a hostile IdP issued that the client refused, which no request ever carries).
//! For JWTs, the payload and signature segments are checked on their own too, and a last net
//! refuses anything JWT-shaped in the buffer, whatever issued it.
//!
//! It cannot pass vacuously: it asserts that the buffer holds the stable fields of README.md's
//! logging section (requests sent and answered with their `purpose`, `transmit_id`, `url`,
//! `status`, `elapsed_ms`; `event=rejected`, `cache_hit` at TRACE, `refresh_failed` from the
//! driver's own target `xaa_ureq`), that secrets of every kind were collected, and that the
//! JWT net recognizes the real tokens.
//!
//! Not covered: `log` records. ureq and rustls log through the `log` crate, which is not a
//! dependency of this crate's tests, so those records cannot be captured here.

//!
//! Split by concern: `capture` (the subscriber), `secrets` (what must never appear, and the
//! search for it), `scenarios` (the flows, each recording what it formatted and learned).

mod capture;
#[path = "../common/mod.rs"]
mod common;
mod scenarios;
mod secrets;

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use common::{call_tool, tools_list};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use xaa::authorizer::{AuthorizerConfig, SubjectTokenSource, User};
use xaa::cache::Principal;
use xaa::constants::{TOKEN_TYPE_REFRESH_TOKEN, TOKEN_TYPE_SAML2};
use xaa::grant::SubjectToken;
use xaa::jose::{JwtAssertionSigner, SigningKey, random_jti};
use xaa::{
    AccessToken, Authorization, AuthorizationServer, ClientAuth, ClientCredentials, ClientSecret,
    DriveError, EnterpriseAuth, EnterpriseConfig, IdToken, IdentityProvider, Policy, PrivateKeyJwt,
    RefreshToken, SamlMode, Start,
};
use xaa_testkit::{
    ClientAuthMethod, ClientRegistration, Endpoint, Fault, IdJagFault, Options, Testkit,
};
use xaa_ureq::{Authorizer, Client, Error};

use capture::*;
use scenarios::*;
use secrets::*;

#[test]
fn no_token_or_secret_reaches_the_logs_or_the_formatted_results() {
    install_capture();
    let started = Instant::now();
    let mut ev = Evidence::default();

    // client_secret_post at the IdP, client_secret_basic at the authorization server.
    let kit = kit_with_client_auth(
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::ClientSecretBasic,
    );
    authorizer_success_and_resource_rejections(&mut ev, &kit);
    client_run_success_and_replayed_id_jag(&mut ev, &kit);
    idp_refusals(&mut ev, &kit);
    authorization_server_refusal(&mut ev, &kit);
    hostile_responses(&mut ev, &kit);
    expired_id_token(&mut ev, &kit);
    transport_failures(&mut ev, &kit);
    failed_background_refresh(&mut ev, &kit);
    kit.stop();

    // private_key_jwt at the IdP, client_secret_post at the authorization server.
    let kit = kit_with_client_auth(
        ClientAuthMethod::PrivateKeyJwt,
        ClientAuthMethod::ClientSecretPost,
    );
    client_run_success_and_replayed_id_jag(&mut ev, &kit);
    saml_and_refresh_token_subjects(&mut ev, &kit);
    idp_refusals(&mut ev, &kit);
    authorization_server_refusal(&mut ev, &kit);
    kit.stop();

    // client_secret_basic at the IdP, private_key_jwt at the authorization server.
    let kit = kit_with_client_auth(
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::PrivateKeyJwt,
    );
    authorizer_success_and_resource_rejections(&mut ev, &kit);
    authorization_server_refusal(&mut ev, &kit);
    kit.stop();

    // DPoP-bound tokens, on a kit that requires them.
    dpop_bound_requests(&mut ev);

    let buffer = format!("{}\n{}", captured(), ev.formatted);
    assert_events_were_captured(&buffer);
    assert_secrets_of_every_kind(&ev.secrets);
    let leaked = leaks(&buffer, &ev.secrets);
    assert!(
        leaked.is_empty(),
        "{} secret(s) leaked into the logs or the formatted results:\n{}",
        leaked.len(),
        leaked.join("\n")
    );
    let shaped = jwt_shaped(&buffer);
    assert!(
        shaped.is_empty(),
        "JWT-shaped strings in the logs or the formatted results:\n{}",
        shaped.join("\n")
    );
    eprintln!(
        "{} scenarios, {} lines captured, {} bytes checked in {:?}; secrets: {}",
        ev.scenarios.len(),
        buffer.lines().count(),
        buffer.len(),
        started.elapsed(),
        KINDS
            .iter()
            .map(|kind| format!("{kind:?} {}", ev.secrets.count(*kind)))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The buffer holds the driver's and the core's events with README.md's stable fields: the
/// test looked at real output.
fn assert_events_were_captured(buffer: &str) {
    for needles in [
        &["DEBUG xaa::", "xaa request sent", "purpose=resource_probe"][..],
        &[
            "xaa request sent",
            "purpose=token_exchange",
            "transmit_id=",
            "method=POST",
            "url=http://127.0.0.1:",
        ],
        &["xaa request sent", "purpose=jwt_bearer", "url="],
        &["xaa request sent", "purpose=saml_refresh_exchange"],
        &[
            "xaa response received",
            "purpose=token_exchange",
            "status=200",
            "elapsed_ms=",
        ],
        &["xaa response received", "purpose=jwt_bearer", "status=400"],
        &["xaa transport failed", "purpose="],
        &["event=rejected", "status=401"],
        &["TRACE xaa::", "event=cache_hit"],
        &["event=refresh"],
        &["DEBUG xaa_ureq", "event=refresh_failed", "error="],
        &["purpose=jwt_bearer", "access token issued"],
    ] {
        assert!(
            has_line(buffer, needles),
            "no captured line holds all of {needles:?}; the capture:\n{buffer}"
        );
    }
}

/// Secrets of every kind were collected, and the JWT net recognizes the real ones: the
/// absence checks are not vacuous.
fn assert_secrets_of_every_kind(secrets: &Secrets) {
    for kind in KINDS {
        assert!(secrets.count(kind) > 0, "no {kind:?} was collected");
    }
    assert!(
        secrets.count(Kind::ClientSecret) >= 2,
        "both registrations' secrets"
    );
    assert!(
        secrets.count(Kind::PrivateKeyPem) >= 2,
        "both registrations' keys"
    );
    for kind in [Kind::IdToken, Kind::IdJag, Kind::ClientAssertion] {
        for value in secrets.values(kind) {
            assert!(
                !jwt_shaped(value).is_empty(),
                "the JWT net recognizes every {kind:?}"
            );
        }
    }
}
