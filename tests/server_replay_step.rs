//! The replay step of the MCP authorization server (decisions.md D29): `begin` lists the `jti`
//! uses once every other check passed, the host's verdicts decide, `finish` issues or refuses.
//! The host's store is a closure fake that records what it was asked.
#![cfg(feature = "jwt")]

mod server_support;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Value, json};
use server_support::*;
use xaa::jose::sign_jwt;
use xaa::server::{
    AuthorizationServerConfig, AuthorizationServerEndpoint, ClientRegistry, PendingGrant,
    RegisteredClient, RejectReason, ReplayError, ReplayMode, ReplayStore, ReplayVerdict,
    ScopeFault, TokenFault, TokenKind, TokenUse, VerdictFault,
};
use xaa::{ClientSecret, Scope};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_ID: &str = "jwt-client";

/// A server whose clients are the default Basic one and a `private_key_jwt` one.
fn server_with(
    config: AuthorizationServerConfig,
) -> (AuthorizationServerEndpoint, RecordingIssuer) {
    let clients = ClientRegistry::new()
        .with(RegisteredClient::client_secret_basic(
            CLIENT_ID,
            ClientSecret::new(CLIENT_SECRET),
        ))
        .with(RegisteredClient::private_key_jwt(
            JWT_ID,
            Arc::new(client_key().key_ring()),
        ));
    authorization_server(config, clients)
}

fn server() -> (AuthorizationServerEndpoint, RecordingIssuer) {
    server_with(as_config())
}

fn id_jag_with_jti(jti: &str, client_id: &str) -> String {
    id_jag(&claims_with(|claims| {
        claims.insert("jti".into(), json!(jti));
        claims.insert("client_id".into(), json!(client_id));
    }))
}

fn client_assertion(jti: &str) -> String {
    let Value::Object(claims) = json!({
        "iss": JWT_ID, "sub": JWT_ID, "aud": AS_TOKEN_ENDPOINT,
        "jti": jti, "iat": NOW, "exp": NOW + 60,
    }) else {
        unreachable!()
    };
    sign_jwt(client_key(), "JWT", &claims).expect("signs")
}

/// A request by the `private_key_jwt` client: two uses, its assertion's then the ID-JAG's.
fn asserted_request(id_jag_jti: &str, assertion_jti: &str) -> http::Request<Vec<u8>> {
    form_post(
        AS_TOKEN_ENDPOINT,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_with_jti(id_jag_jti, JWT_ID)),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &client_assertion(assertion_jti)),
        ],
        None,
    )
}

fn begun(server: &AuthorizationServerEndpoint, request: &http::Request<Vec<u8>>) -> PendingGrant {
    server
        .begin(request, now())
        .expect("every check but replay passes")
}

/// A fake store answering `answers` in turn and recording the jtis it was asked about.
struct ScriptedStore {
    answers: Mutex<std::vec::IntoIter<Result<(), ReplayError>>>,
    asked: Mutex<Vec<String>>,
}

fn fake_store(answers: Vec<Result<(), ReplayError>>) -> ScriptedStore {
    ScriptedStore {
        answers: Mutex::new(answers.into_iter()),
        asked: Mutex::new(Vec::new()),
    }
}

impl ReplayStore for ScriptedStore {
    fn register(&self, token: &TokenUse, _now: SystemTime) -> Result<(), ReplayError> {
        self.asked.lock().expect("lock").push(token.jti.clone());
        let next = self.answers.lock().expect("lock").next();
        next.expect("an answer for every question")
    }
}

/// A store that accepts everything and records the jtis it registered.
#[derive(Default)]
struct RecordingStore {
    asked: Mutex<Vec<String>>,
}

impl ReplayStore for RecordingStore {
    fn register(&self, token: &TokenUse, _now: SystemTime) -> Result<(), ReplayError> {
        self.asked.lock().expect("lock").push(token.jti.clone());
        Ok(())
    }
}

fn rejection_of(
    server: &AuthorizationServerEndpoint,
    pending: PendingGrant,
    verdicts: &[ReplayVerdict],
) -> (RejectReason, u16, Value) {
    let rejection = server.finish(pending, verdicts).expect_err("refused");
    let response = rejection.to_response();
    (
        rejection.reason,
        response.status().as_u16(),
        body_json(&response),
    )
}

#[test]
fn begin_lists_the_assertion_then_the_id_jag_with_what_a_store_needs() {
    let (server, issuer) = server();
    let pending = begun(&server, &asserted_request("jag-1", "assertion-1"));
    let uses = pending.checks().uses();
    assert_eq!(uses.len(), 2);
    let (assertion, id_jag) = (&uses[0], &uses[1]);
    assert_eq!(
        (
            assertion.kind,
            assertion.issuer.as_str(),
            assertion.jti.as_str()
        ),
        (TokenKind::ClientAssertion, JWT_ID, "assertion-1")
    );
    assert_eq!(assertion.retain_until, NOW + 60 + 60, "exp plus the skew");
    assert_eq!(assertion.mode, ReplayMode::Strict);
    assert_eq!(
        (id_jag.kind, id_jag.issuer.as_str(), id_jag.jti.as_str()),
        (TokenKind::IdJag, IDP_ISSUER, "jag-1")
    );
    assert_eq!(id_jag.retain_until, NOW + 300 + 60);
    assert_eq!(id_jag.mode, ReplayMode::Strict);
    assert!(
        uses.iter().all(|u| u.token_for_comparison().is_none()),
        "no token kept under the strict mode"
    );
    assert_eq!(pending.grant().id_jag_jti, "jag-1");
    assert!(
        issuer.grants.lock().expect("lock").is_empty(),
        "nothing issued yet"
    );

    let verdicts = pending.checks().check_with(|_| Ok(()));
    let granted = server.finish(pending, &verdicts).expect("granted");
    assert_eq!(granted.grant.client_id, JWT_ID);
    assert_eq!(issuer.last().id_jag_jti, "jag-1");
}

#[test]
fn under_identical_resubmission_the_id_jag_is_kept_for_comparison_and_not_shown() {
    let mut config = as_config();
    config.replay_mode = ReplayMode::AllowIdenticalResubmission;
    let (server, _) = server_with(config);
    let assertion = id_jag_with_jti("jag-kept", CLIENT_ID);
    let pending = begun(&server, &jwt_bearer(&assertion));
    let [id_jag] = pending.checks().uses() else {
        panic!("one use");
    };
    assert_eq!(id_jag.mode, ReplayMode::AllowIdenticalResubmission);
    assert_eq!(
        id_jag.token_for_comparison().map(|t| t.expose_secret()),
        Some(assertion.as_str())
    );
    let shown = format!("{pending:?}");
    assert!(
        shown.contains("jag-kept") && !shown.contains(&assertion),
        "{shown}"
    );
}

#[test]
fn a_request_refused_for_another_reason_lists_nothing_to_register() {
    let store = Arc::new(RecordingStore::default());
    let server = server().0.with_replay_store(store.clone());
    let request = form_post(
        AS_TOKEN_ENDPOINT,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &id_jag_with_jti("jag-2", JWT_ID)),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &client_assertion("assertion-2")),
            ("scope", "delete"),
        ],
        None,
    );
    let rejection = server
        .process(&request, now())
        .expect_err("scope beyond the grant");
    assert_eq!(
        rejection.reason,
        RejectReason::Scope(ScopeFault::BeyondGrant {
            extra: Scope::parse("delete")
        })
    );
    assert!(store.asked.lock().expect("lock").is_empty());
}

#[test]
fn a_replayed_verdict_is_invalid_grant_and_nothing_is_issued() {
    let (server, issuer) = server();
    let pending = begun(&server, &jwt_bearer(&id_jag_with_jti("jag-3", CLIENT_ID)));
    let store = fake_store(vec![Err(ReplayError::Replayed)]);
    let verdicts = pending.checks().check_in(&store, now());
    let (reason, status, body) = rejection_of(&server, pending, &verdicts);
    assert_eq!(
        reason,
        RejectReason::IdJag(TokenFault::Replayed {
            jti: "jag-3".into()
        })
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(issuer.grants.lock().expect("lock").is_empty());
}

#[test]
fn a_replayed_assertion_is_invalid_client_and_the_id_jag_is_skipped_unused() {
    let (server, _) = server();
    let pending = begun(&server, &asserted_request("jag-4", "assertion-4"));
    let store = fake_store(vec![Err(ReplayError::Replayed)]);
    let verdicts = pending.checks().check_in(&store, now());
    assert_eq!(
        *store.asked.lock().expect("lock"),
        ["assertion-4"],
        "the ID-JAG is not asked"
    );
    assert!(!verdicts[1].is_registered());
    let (reason, status, body) = rejection_of(&server, pending, &verdicts);
    assert_eq!(
        reason,
        RejectReason::ClientAssertion(TokenFault::Replayed {
            jti: "assertion-4".into()
        })
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[test]
fn an_unavailable_store_fails_closed_with_temporarily_unavailable() {
    let (server, issuer) = server();
    let pending = begun(&server, &asserted_request("jag-5", "assertion-5"));
    let store = fake_store(vec![Ok(()), Err(ReplayError::Unavailable)]);
    let verdicts = pending.checks().check_in(&store, now());
    let (reason, status, body) = rejection_of(&server, pending, &verdicts);
    assert_eq!(reason, RejectReason::ReplayStoreUnavailable);
    assert_eq!(status, 503);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(
        body["error_description"],
        "the replay store could not answer: the token's jti could not be checked"
    );
    assert!(issuer.grants.lock().expect("lock").is_empty());
}

#[test]
fn a_full_store_is_temporarily_unavailable() {
    let (server, _) = server();
    let pending = begun(&server, &jwt_bearer(&id_jag_with_jti("jag-6", CLIENT_ID)));
    let verdicts = pending.checks().check_with(|_| Err(ReplayError::Full));
    let (reason, status, _) = rejection_of(&server, pending, &verdicts);
    assert_eq!((reason, status), (RejectReason::ReplayCacheFull, 503));
}

fn host_fault(verdicts: impl FnOnce(&PendingGrant) -> Vec<ReplayVerdict>, fault: VerdictFault) {
    let (server, issuer) = server();
    let pending = begun(&server, &asserted_request(&fresh_jti(), &fresh_jti()));
    let verdicts = verdicts(&pending);
    let (reason, status, body) = rejection_of(&server, pending, &verdicts);
    assert_eq!(reason, RejectReason::ReplayVerdicts(fault));
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("server_error"))
    );
    assert_eq!(
        body["error_description"],
        "the server could not issue the token"
    );
    assert!(issuer.grants.lock().expect("lock").is_empty());
}

#[test]
fn missing_verdicts_are_a_host_fault() {
    host_fault(
        |_| Vec::new(),
        VerdictFault::Count {
            uses: 2,
            verdicts: 0,
        },
    );
    host_fault(
        |pending| {
            let mut run = pending.checks().run();
            run.record(Ok(()));
            run.into_verdicts()
        },
        VerdictFault::Count {
            uses: 2,
            verdicts: 1,
        },
    );
}

#[test]
fn extra_verdicts_are_a_host_fault() {
    host_fault(
        |pending| {
            let mut verdicts = pending.checks().check_with(|_| Ok(()));
            verdicts.push(verdicts[0].clone());
            verdicts
        },
        VerdictFault::Count {
            uses: 2,
            verdicts: 3,
        },
    );
}

#[test]
fn verdicts_out_of_order_or_for_another_request_are_a_host_fault() {
    host_fault(
        |pending| {
            let mut verdicts = pending.checks().check_with(|_| Ok(()));
            verdicts.reverse();
            verdicts
        },
        VerdictFault::OtherUse { position: 0 },
    );
    let (server, _) = server();
    let other = begun(&server, &asserted_request(&fresh_jti(), &fresh_jti()));
    host_fault(
        |pending| {
            let mut verdicts = pending.checks().check_with(|_| Ok(()));
            verdicts[1] = other.checks().check_with(|_| Ok(())).remove(1);
            verdicts
        },
        VerdictFault::OtherUse { position: 1 },
    );
}

#[test]
fn a_use_skipped_without_a_refusal_is_a_host_fault() {
    host_fault(
        |pending| {
            pending
                .checks()
                .uses()
                .iter()
                .map(ReplayVerdict::skipped)
                .collect()
        },
        VerdictFault::SkippedWithoutRefusal { position: 0 },
    );
}

#[test]
fn a_replay_run_ignores_an_answer_nobody_asked_for() {
    let (server, _) = server();
    let pending = begun(&server, &jwt_bearer(&id_jag_with_jti("jag-7", CLIENT_ID)));
    let mut run = pending.checks().run();
    assert_eq!(run.next_use().map(|u| u.jti.as_str()), Some("jag-7"));
    run.record(Ok(()));
    assert!(run.next_use().is_none());
    run.record(Err(ReplayError::Replayed));
    let verdicts = run.into_verdicts();
    assert_eq!(verdicts.len(), 1);
    assert!(server.finish(pending, &verdicts).is_ok());
}

#[test]
fn process_runs_the_step_itself_with_the_in_memory_store() {
    let (server, _) = server();
    let request = jwt_bearer(&id_jag_with_jti("jag-8", CLIENT_ID));
    assert!(server.process(&request, now()).is_ok());
    let replayed = server.process(&request, now()).expect_err("a replay");
    assert_eq!(
        replayed.reason,
        RejectReason::IdJag(TokenFault::Replayed {
            jti: "jag-8".into()
        })
    );
}

#[test]
fn process_registers_with_the_configured_store_in_order() {
    let store = Arc::new(RecordingStore::default());
    let server = server().0.with_replay_store(store.clone());
    assert!(
        server
            .process(&asserted_request("jag-9", "assertion-9"), now())
            .is_ok()
    );
    assert_eq!(*store.asked.lock().expect("lock"), ["assertion-9", "jag-9"]);
}
