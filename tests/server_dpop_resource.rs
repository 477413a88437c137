//! DPoP at the resource server (RFC 9449 sections 7 and 9, MCP's draft DPoP extension's
//! `content_digest`): `xaa::server::resource::DpopResourceGuard` and the `401` it renders.
//! Proofs are real ES256 signatures; the checks of the proof itself are in `tests/dpop.rs`,
//! here each rule is seen through the resource's answer.
#![cfg(feature = "jwt")]

mod server_support;

use std::sync::Arc;

use http::{Method, Request};
use serde_json::json;
use server_support::dpop::{Proof, counting_nonces, other_key, proof_key, validator};
use server_support::*;
use url::Url;
use xaa::dpop::DpopSigner as _;
use xaa::server::resource::{
    DpopResourceFault, DpopResourceGuard, DpopResourceRefusal, PresentedToken, TokenScheme,
    presented_token,
};
use xaa::server::{DpopError, InMemoryReplayStore};

const TOKEN: &str = "at-bound-1";
const BODY: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
const ALGS: &str = "ES256 ES384 RS256 RS384 RS512 PS256 PS384 PS512";

fn guard() -> DpopResourceGuard {
    DpopResourceGuard::new(validator(Arc::new(InMemoryReplayStore::default())))
}

fn resource_url() -> Url {
    Url::parse(RESOURCE).expect("URL")
}

/// A valid proof for the MCP request: `POST` to the resource, `ath` of [`TOKEN`].
fn mcp_proof() -> Proof {
    Proof::new("POST", RESOURCE).ath(TOKEN)
}

/// An MCP `POST` with `Authorization: <scheme> TOKEN` and `proof` in `DPoP` when given.
fn mcp_request(scheme: &str, proof: Option<&str>) -> Request<Vec<u8>> {
    let mut builder = Request::post(RESOURCE)
        .header("authorization", format!("{scheme} {TOKEN}"))
        .header("content-type", "application/json");
    if let Some(proof) = proof {
        builder = builder.header("dpop", proof);
    }
    builder.body(BODY.to_vec()).expect("request")
}

/// Checks `request` as carrying a token bound to `jkt`.
fn check(
    guard: &DpopResourceGuard,
    request: &Request<Vec<u8>>,
    jkt: Option<&str>,
) -> Result<xaa::server::resource::DpopAccess, Box<DpopResourceRefusal>> {
    let presented = presented_token(request).expect("a token");
    guard.check(request, &resource_url(), &presented, jkt, now())
}

/// Asserts a `401` whose `DPoP` challenge names `error`, returning the refusal.
fn assert_challenge(refusal: &DpopResourceRefusal, error: &str, case: &str) {
    let response = refusal.to_response();
    assert_eq!(response.status(), 401, "{case}");
    let challenge = header(&response, "www-authenticate").expect("a challenge");
    assert!(
        challenge.starts_with(&format!("DPoP error=\"{error}\", error_description=\"")),
        "{case}: {challenge}"
    );
    assert!(
        challenge.ends_with(&format!(", algs=\"{ALGS}\"")),
        "{case}: {challenge}"
    );
}

#[test]
fn a_bound_token_with_its_proof_is_served() {
    let jkt = proof_key().jkt();
    let request = mcp_request("DPoP", Some(&mcp_proof().sign()));
    let access = check(&guard(), &request, Some(&jkt)).expect("served");
    let proof = access.proof.expect("a proof");
    assert_eq!(proof.jkt, jkt);
    assert_eq!(proof.content_digest, None);
    assert_eq!(access.dpop_nonce, None);
}

#[test]
fn the_scheme_is_read_without_regard_to_case() {
    for scheme in ["dpop", "DPOP", "DPoP"] {
        let request = mcp_request(scheme, Some(&mcp_proof().sign()));
        let presented = presented_token(&request).expect("a token");
        assert_eq!(presented.scheme, TokenScheme::Dpop, "{scheme}");
        assert_eq!(presented.token.expose_secret(), TOKEN);
        assert_eq!(
            format!("{presented:?}"),
            "PresentedToken { scheme: Dpop, .. }"
        );
    }
    let request = mcp_request("Basic", None);
    assert_eq!(presented_token(&request), None);
}

#[test]
fn a_matching_content_digest_is_accepted_and_a_required_one_must_be_there() {
    let jkt = proof_key().jkt();
    let request = mcp_request("DPoP", Some(&mcp_proof().content_digest(BODY).sign()));
    let access = check(&guard(), &request, Some(&jkt)).expect("served");
    let digest = access.proof.expect("proof").content_digest.expect("digest");
    assert!(digest.starts_with("sha-256=:") && digest.ends_with(":"));

    let strict = guard().requiring_content_digest();
    let request = mcp_request("DPoP", Some(&mcp_proof().sign()));
    let refusal = check(&strict, &request, Some(&jkt)).expect_err("digest required");
    assert_eq!(
        refusal.fault,
        DpopResourceFault::Proof(DpopError::ContentDigestRequired)
    );
    assert_challenge(&refusal, "invalid_dpop_proof", "digest required");
    let request = mcp_request("DPoP", Some(&mcp_proof().content_digest(BODY).sign()));
    assert!(check(&strict, &request, Some(&jkt)).is_ok());
}

#[test]
fn each_broken_proof_is_refused_with_invalid_dpop_proof() {
    let guard = guard();
    let jkt = proof_key().jkt();
    let mut private_jwk = serde_json::to_value(proof_key().public_jwk()).expect("JSON");
    private_jwk["d"] = json!("AAAA");
    let cases = [
        (
            "wrong htu",
            Proof::new("POST", "https://mcp.example.com/other")
                .ath(TOKEN)
                .sign(),
            DpopError::UriMismatch,
        ),
        (
            "wrong htm",
            Proof::new("GET", RESOURCE).ath(TOKEN).sign(),
            DpopError::MethodMismatch,
        ),
        (
            "wrong ath",
            Proof::new("POST", RESOURCE).ath("another-token").sign(),
            DpopError::AccessTokenHashMismatch,
        ),
        (
            "no ath",
            Proof::new("POST", RESOURCE).sign(),
            DpopError::MissingClaim { claim: "ath" },
        ),
        (
            "wrong content_digest",
            mcp_proof().content_digest(b"{}").sign(),
            DpopError::ContentDigestMismatch,
        ),
        (
            "stale iat",
            mcp_proof().claim("iat", json!(NOW - 301)).sign(),
            DpopError::IssuedTooLongAgo,
        ),
        (
            "future iat",
            mcp_proof().claim("iat", json!(NOW + 301)).sign(),
            DpopError::IssuedInTheFuture,
        ),
        (
            "alg none",
            mcp_proof().header("alg", json!("none")).unsigned(),
            DpopError::AlgorithmNotAllowed {
                alg: Some("none".into()),
            },
        ),
        (
            "alg HS256",
            mcp_proof().header("alg", json!("HS256")).sign(),
            DpopError::AlgorithmNotAllowed {
                alg: Some("HS256".into()),
            },
        ),
        (
            "private member in jwk",
            mcp_proof().header("jwk", private_jwk).sign(),
            DpopError::PrivateKeyInJwk,
        ),
        (
            "signed by another key than its jwk",
            mcp_proof().sign_with(other_key()),
            DpopError::BadSignature,
        ),
        (
            "token bound to another key",
            Proof::by(other_key(), "POST", RESOURCE)
                .ath(TOKEN)
                .sign_with(other_key()),
            DpopError::KeyMismatch,
        ),
    ];
    for (case, proof, error) in cases {
        let request = mcp_request("DPoP", Some(&proof));
        let refusal = check(&guard, &request, Some(&jkt)).expect_err(case);
        assert_eq!(refusal.fault, DpopResourceFault::Proof(error), "{case}");
        assert_challenge(&refusal, "invalid_dpop_proof", case);
        assert_eq!(refusal.dpop_nonce, None, "{case}");
    }
    let request = mcp_request("DPoP", None);
    let refusal = check(&guard, &request, Some(&jkt)).expect_err("no proof");
    assert_eq!(refusal.fault, DpopResourceFault::Proof(DpopError::Missing));
    assert_challenge(&refusal, "invalid_dpop_proof", "no proof");
}

#[test]
fn a_replayed_proof_is_refused() {
    let guard = guard();
    let jkt = proof_key().jkt();
    let proof = mcp_proof().sign();
    assert!(check(&guard, &mcp_request("DPoP", Some(&proof)), Some(&jkt)).is_ok());
    let refusal =
        check(&guard, &mcp_request("DPoP", Some(&proof)), Some(&jkt)).expect_err("replay");
    assert_eq!(refusal.fault, DpopResourceFault::Proof(DpopError::Replayed));
    assert_challenge(&refusal, "invalid_dpop_proof", "replay");
}

#[test]
fn a_bound_token_with_the_bearer_scheme_is_refused() {
    let jkt = proof_key().jkt();
    let request = mcp_request("Bearer", Some(&mcp_proof().sign()));
    let refusal = check(&guard(), &request, Some(&jkt)).expect_err("bearer use of a bound token");
    assert_eq!(refusal.fault, DpopResourceFault::BearerWithBoundToken);
    assert_challenge(&refusal, "invalid_token", "bearer with bound token");
}

#[test]
fn an_unbound_token_with_the_dpop_scheme_is_refused_and_bearer_tokens_may_be_required_away() {
    let request = mcp_request("DPoP", Some(&mcp_proof().sign()));
    let refusal = check(&guard(), &request, None).expect_err("unbound");
    assert_eq!(refusal.fault, DpopResourceFault::UnboundTokenWithDpop);
    assert_challenge(&refusal, "invalid_token", "unbound with DPoP");

    let request = mcp_request("Bearer", None);
    let access = check(&guard(), &request, None).expect("bearer served");
    assert_eq!(access.proof, None);
    let refusal = check(&guard().requiring_dpop(), &request, None).expect_err("DPoP only");
    assert_eq!(refusal.fault, DpopResourceFault::DpopRequired);
    assert_challenge(&refusal, "invalid_token", "DPoP required");
}

#[test]
fn a_missing_or_stale_nonce_is_answered_with_the_current_one() {
    let nonces = counting_nonces("rs");
    let guard = guard().with_nonces(nonces.clone());
    let jkt = proof_key().jkt();
    for (case, proof) in [
        ("missing nonce", mcp_proof().sign()),
        (
            "stale nonce",
            mcp_proof().claim("nonce", json!("rs-old")).sign(),
        ),
    ] {
        let refusal =
            check(&guard, &mcp_request("DPoP", Some(&proof)), Some(&jkt)).expect_err(case);
        assert_challenge(&refusal, "use_dpop_nonce", case);
        assert_eq!(refusal.dpop_nonce.as_deref(), Some("rs-0"), "{case}");
        assert_eq!(
            header(&refusal.to_response(), "dpop-nonce"),
            Some("rs-0"),
            "{case}"
        );
    }
    let proof = mcp_proof().claim("nonce", json!("rs-0")).sign();
    let access = check(&guard, &mcp_request("DPoP", Some(&proof)), Some(&jkt)).expect("served");
    assert_eq!(access.dpop_nonce, None);
    // After a rotation the previous nonce still works for a while, and the new one is
    // supplied with the response (RFC 9449 section 8.2).
    assert_eq!(nonces.rotate(now()), "rs-1");
    let proof = mcp_proof().claim("nonce", json!("rs-0")).sign();
    let access = check(&guard, &mcp_request("DPoP", Some(&proof)), Some(&jkt)).expect("served");
    assert_eq!(access.dpop_nonce.as_deref(), Some("rs-1"));
    let mut response = http::Response::new(());
    access.apply(&mut response);
    assert_eq!(response.headers()["dpop-nonce"], "rs-1");
}

#[test]
fn the_challenge_is_exact_and_names_the_resource_metadata() {
    let guard = guard()
        .with_resource_metadata("https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
    let request = mcp_request("Bearer", None);
    let refusal = check(&guard, &request, Some("some-jkt")).expect_err("bound");
    assert_eq!(
        header(&refusal.to_response(), "www-authenticate"),
        Some(
            "DPoP resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", \
             error=\"invalid_token\", error_description=\"the access token is bound to a DPoP key \
             and must be presented with the DPoP scheme and a proof (RFC 9449 section 7.2)\", \
             algs=\"ES256 ES384 RS256 RS384 RS512 PS256 PS384 PS512\""
        )
    );
    assert!(refusal.to_response().body().is_empty());
}

#[test]
fn a_get_request_is_checked_against_its_own_method() {
    let jkt = proof_key().jkt();
    let proof = Proof::new("GET", RESOURCE).ath(TOKEN).sign();
    let request = Request::builder()
        .method(Method::GET)
        .uri(RESOURCE)
        .header("authorization", format!("DPoP {TOKEN}"))
        .header("dpop", proof)
        .body(Vec::new())
        .expect("request");
    let presented: PresentedToken = presented_token(&request).expect("token");
    assert!(
        guard()
            .check(&request, &resource_url(), &presented, Some(&jkt), now())
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------------
// The replay step (decisions.md D29)

#[test]
fn begin_lists_the_proofs_jti_and_finish_serves_once_it_is_registered() {
    let guard = guard();
    let jkt = proof_key().jkt();
    let proof = mcp_proof().sign();
    let request = mcp_request("DPoP", Some(&proof));
    let presented = presented_token(&request).expect("a token");
    let pending = guard
        .begin(&request, &resource_url(), &presented, Some(&jkt), now())
        .expect("every check but replay");
    let [proof_use] = pending.checks().uses() else {
        panic!("one use");
    };
    assert_eq!(proof_use.kind, xaa::server::TokenKind::DpopProof);
    assert_eq!(
        proof_use.issuer, jkt,
        "registered under the key's thumbprint"
    );
    assert_eq!(proof_use.retain_until, NOW + 300 + 1, "iat plus the window");
    assert!(proof_use.token_for_comparison().is_none());
    let verdicts = pending.checks().check_with(|_| Ok(()));
    let access = guard.finish(pending, &verdicts).expect("served");
    assert_eq!(access.proof.map(|proof| proof.jkt), Some(jkt));
}

#[test]
fn the_guards_step_refuses_a_replay_fails_closed_and_blames_the_host_for_missing_verdicts() {
    let guard = guard();
    let jkt = proof_key().jkt();
    let request = mcp_request("DPoP", Some(&mcp_proof().sign()));
    let presented = presented_token(&request).expect("a token");
    let begin = || {
        guard
            .begin(&request, &resource_url(), &presented, Some(&jkt), now())
            .expect("every check but replay")
    };
    let finish = |answer: Option<Result<(), xaa::server::ReplayError>>| {
        let pending = begin();
        let verdicts = match answer {
            Some(answer) => pending.checks().check_with(|_| answer),
            None => Vec::new(),
        };
        guard.finish(pending, &verdicts).expect_err("refused")
    };
    let replayed = finish(Some(Err(xaa::server::ReplayError::Replayed)));
    assert_eq!(
        replayed.fault,
        DpopResourceFault::Proof(DpopError::Replayed)
    );
    assert_challenge(&replayed, "invalid_dpop_proof", "replayed");

    let unavailable = finish(Some(Err(xaa::server::ReplayError::Unavailable)));
    assert_eq!(
        unavailable.fault,
        DpopResourceFault::Proof(DpopError::ReplayStoreUnavailable)
    );
    assert_eq!(unavailable.to_response().status(), 503);

    let missing = finish(None);
    assert_eq!(
        missing.fault,
        DpopResourceFault::ReplayVerdicts(xaa::server::VerdictFault::Count {
            uses: 1,
            verdicts: 0
        })
    );
    let response = missing.to_response();
    assert_eq!(response.status(), 500);
    assert_eq!(header(&response, "www-authenticate"), None);
}

#[test]
fn a_bearer_token_has_nothing_to_register() {
    let request = mcp_request("Bearer", None);
    let presented = presented_token(&request).expect("a token");
    let pending = guard()
        .begin(&request, &resource_url(), &presented, None, now())
        .expect("served");
    assert!(pending.checks().uses().is_empty());
    assert!(
        guard()
            .finish(pending, &[])
            .expect("served")
            .proof
            .is_none()
    );
}
