//! The authorization request and response of the code flow (OpenID Connect Core 1.0 section
//! 3.1.2, RFC 6749 section 4.1, RFC 7636, RFC 9207): the exact URL, and every refusal of the
//! redirect back. No signatures involved: a fixed SHA-256 stand-in and counting "random".
#![cfg(feature = "signin")]

mod signin_support;

use std::time::Duration;

use serde_json::json;
use signin_support::*;
use xaa::jose::{AlgorithmAllowList, SharedKeyAlgorithm};
use xaa::signin::{
    AuthorizationErrorCode, AuthorizationRequest, AuthorizationResponse, CallbackError,
    MAX_CALLBACK_QUERY_BYTES, PendingSignIn, SignInClient, SignInOptions,
};
use xaa::{ClientCredentials, ClientSecret, Error, Policy, Scope};

fn fixed_sha256(_: &[u8]) -> [u8; 32] {
    [7; 32]
}

fn options() -> SignInOptions {
    let mut options = SignInOptions::default();
    options.scope = Scope::parse("profile");
    options.offline_access = true;
    options.max_age = Some(Duration::from_secs(300));
    options.prompt = Some("login".into());
    options.login_hint = Some("alice@example.com".into());
    options
}

fn request_with(client: &SignInClient, options: &SignInOptions) -> AuthorizationRequest {
    AuthorizationRequest::new(client, REDIRECT, options, &counting_random(), &fixed_sha256)
        .expect("an authorization request")
}

fn pending_with(changes: serde_json::Value) -> PendingSignIn {
    let client = client_with(metadata_with(changes));
    request_with(&client, &SignInOptions::default())
        .into_parts()
        .1
}

/// A redirect query with the state of [`pending_with`]'s request (the second draw).
fn query(extra: &str) -> String {
    format!("state={}{extra}", drawn(2))
}

#[test]
fn the_authorization_url_carries_every_parameter_once_in_order() {
    let request = request_with(&client(), &options());
    let expected = format!(
        "{AUTHORIZE}?response_type=code&client_id=xaa-cli\
         &redirect_uri=http%3A%2F%2F127.0.0.1%3A8123%2Fcallback\
         &scope=openid+profile+offline_access&state={}&nonce={}&code_challenge={}\
         &code_challenge_method=S256&max_age=300&prompt=login&login_hint=alice%40example.com",
        drawn(2),
        drawn(3),
        drawn(7),
    );
    assert_eq!(request.url().as_str(), expected);
    assert_eq!(
        request.pending().scope(),
        &Scope::parse("openid profile offline_access")
    );
    let shown = format!("{request:?}");
    assert!(
        shown.contains("https://idp.example.com/authorize"),
        "{shown}"
    );
    for secret in [drawn(1), drawn(2), drawn(3)] {
        assert!(!shown.contains(&secret), "{shown}");
    }
}

#[test]
fn the_minimal_request_still_sends_openid_state_nonce_and_s256() {
    let request = request_with(&client(), &SignInOptions::default());
    let names: Vec<String> = request
        .url()
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method"
        ]
    );
    let scope = request.url().query_pairs().find(|(n, _)| n == "scope");
    assert_eq!(scope.map(|(_, v)| v.into_owned()), Some("openid".into()));
}

#[test]
fn offline_access_is_sent_only_when_the_idp_lists_it() {
    let unlisted = client_with(metadata_with(json!({"scopes_supported": ["openid"]})));
    let mut asked = options();
    asked.scope = Scope::parse("profile offline_access");
    let request = request_with(&unlisted, &asked);
    assert_eq!(request.pending().scope(), &Scope::parse("openid profile"));
    let silent = client_with(metadata_with(json!({"scopes_supported": null})));
    assert_eq!(
        request_with(&silent, &asked).pending().scope(),
        &Scope::parse("openid profile")
    );
}

#[test]
fn an_idp_without_s256_is_refused_and_one_without_the_list_accepted() {
    let plain_only = metadata_with(json!({"code_challenge_methods_supported": ["plain"]}));
    let refused = SignInClient::new(
        plain_only,
        ClientCredentials::public(CLIENT),
        &Policy::default(),
    );
    assert!(
        matches!(&refused, Err(Error::Config(message)) if message.contains("S256")),
        "{refused:?}"
    );
    let unlisted = metadata_with(json!({"code_challenge_methods_supported": null}));
    assert!(
        SignInClient::new(
            unlisted,
            ClientCredentials::public(CLIENT),
            &Policy::default()
        )
        .is_ok()
    );
}

#[test]
fn a_public_client_never_accepts_hmac_id_tokens() {
    let hmac = AlgorithmAllowList::only(&["ES256"]).with_shared_key(SharedKeyAlgorithm::Hs256);
    let public = client().with_algorithms(hmac.clone());
    assert!(matches!(public, Err(Error::Config(_))), "{public:?}");
    let confidential = SignInClient::new(
        metadata_with(json!({})),
        ClientCredentials::basic(CLIENT, ClientSecret::new("s")),
        &Policy::default(),
    )
    .expect("client");
    assert!(confidential.with_algorithms(hmac).is_ok());
}

#[test]
fn bad_endpoints_and_redirect_uris_are_refused() {
    let plain = client_with(metadata_with(
        json!({"authorization_endpoint": "http://idp.example.com/a"}),
    ));
    let refused = AuthorizationRequest::new(
        &plain,
        REDIRECT,
        &SignInOptions::default(),
        &counting_random(),
        &fixed_sha256,
    );
    assert!(
        matches!(refused, Err(Error::InsecureUrl { .. })),
        "{refused:?}"
    );
    let clashing = client_with(metadata_with(
        json!({"authorization_endpoint": "https://idp.example.com/a?state=x"}),
    ));
    let refused = AuthorizationRequest::new(
        &clashing,
        REDIRECT,
        &SignInOptions::default(),
        &counting_random(),
        &fixed_sha256,
    );
    assert!(
        matches!(refused, Err(Error::InvalidUrl { .. })),
        "{refused:?}"
    );
    let kept = client_with(metadata_with(
        json!({"authorization_endpoint": "https://idp.example.com/a?tenant=t1"}),
    ));
    let request = request_with(&kept, &SignInOptions::default());
    assert!(
        request
            .url()
            .as_str()
            .starts_with("https://idp.example.com/a?tenant=t1&response_type=code&")
    );
    for redirect in [
        "http://example.com/cb",
        "http://127.0.0.1:1/cb#frag",
        "/relative",
    ] {
        let refused = AuthorizationRequest::new(
            &client(),
            redirect,
            &SignInOptions::default(),
            &counting_random(),
            &fixed_sha256,
        );
        assert!(
            matches!(refused, Err(Error::InvalidUrl { .. })),
            "{redirect}: {refused:?}"
        );
    }
    let failing = |_: &mut [u8]| Err(xaa::signin::RandomUnavailable::new());
    let refused = AuthorizationRequest::new(
        &client(),
        REDIRECT,
        &SignInOptions::default(),
        &failing,
        &fixed_sha256,
    );
    assert!(matches!(refused, Err(Error::Config(_))), "{refused:?}");
}

#[test]
fn the_redirect_yields_the_code_when_state_and_iss_match() {
    let pending = pending_with(json!({}));
    let code = pending
        .accept(&query(&format!(
            "&code=c-123&iss={}",
            "https%3A%2F%2Fidp.example.com"
        )))
        .expect("accepted");
    assert_eq!(code.expose_secret(), "c-123");
    assert_eq!(format!("{code:?}"), "AuthorizationCode([redacted])");
    // Without the RFC 9207 promise, a missing `iss` is fine; a leading `?` is skipped.
    assert!(pending.accept(&format!("?{}", query("&code=c"))).is_ok());
}

#[test]
fn a_wrong_or_missing_state_is_refused() {
    let pending = pending_with(json!({}));
    assert_eq!(
        pending.accept("code=c").map(|_| ()),
        Err(CallbackError::StateMissing)
    );
    assert_eq!(
        pending
            .accept(&format!("code=c&state={}", drawn(9)))
            .map(|_| ()),
        Err(CallbackError::StateMismatch)
    );
    assert_eq!(
        pending
            .accept(&format!("code=c&state={}x", drawn(2)))
            .map(|_| ()),
        Err(CallbackError::StateMismatch)
    );
    // An error response with a forged state is a forgery first.
    assert_eq!(
        pending
            .accept("error=access_denied&state=forged")
            .map(|_| ()),
        Err(CallbackError::StateMismatch)
    );
}

#[test]
fn iss_is_checked_and_required_when_the_idp_promises_it() {
    let promised = pending_with(json!({"authorization_response_iss_parameter_supported": true}));
    assert_eq!(
        promised.accept(&query("&code=c")).map(|_| ()),
        Err(CallbackError::IssuerMissing)
    );
    assert!(
        promised
            .accept(&query("&code=c&iss=https://idp.example.com"))
            .is_ok()
    );
    let unpromised = pending_with(json!({}));
    for iss in [
        "https://evil.example.com",
        "https://idp.example.com/",
        "https://IDP.example.com",
    ] {
        let refused = unpromised.accept(&query(&format!("&code=c&iss={iss}")));
        assert_eq!(
            refused.map(|_| ()),
            Err(CallbackError::IssuerMismatch(iss.into())),
            "{iss}"
        );
    }
}

#[test]
fn error_responses_are_typed_and_their_text_sanitized() {
    let pending = pending_with(json!({}));
    let cases = [
        ("access_denied", AuthorizationErrorCode::AccessDenied),
        ("login_required", AuthorizationErrorCode::LoginRequired),
        (
            "interaction_required",
            AuthorizationErrorCode::InteractionRequired,
        ),
        ("consent_required", AuthorizationErrorCode::ConsentRequired),
        (
            "account_selection_required",
            AuthorizationErrorCode::AccountSelectionRequired,
        ),
        ("server_error", AuthorizationErrorCode::ServerError),
        (
            "weird\u{1b}[2J",
            AuthorizationErrorCode::Other("weird [2J".into()),
        ),
    ];
    for (code, expected) in cases {
        let encoded: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
        let refused = pending.accept(&query(&format!(
            "&error={encoded}&error_description=No%1B%5B31m+way%E2%80%AE&error_uri=https://e/x"
        )));
        let Err(CallbackError::Refused(error)) = refused else {
            panic!("{code}: {refused:?}");
        };
        assert_eq!(error.code, expected);
        assert_eq!(error.description.as_deref(), Some("No [31m way "));
        assert_eq!(error.uri.as_deref(), Some("https://e/x"));
    }
}

#[test]
fn malformed_redirects_are_refused() {
    let pending = pending_with(json!({}));
    let cases = [
        (query(""), CallbackError::CodeOrError),
        (query("&code="), CallbackError::CodeOrError),
        (
            query("&code=c&error=access_denied"),
            CallbackError::CodeOrError,
        ),
        (
            query("&code=c&code=d"),
            CallbackError::RepeatedParameter("code".into()),
        ),
        (
            format!("{}&{}", query("&code=c"), query("")),
            CallbackError::RepeatedParameter("state".into()),
        ),
        (
            query("&code=c&iss=a&iss=a"),
            CallbackError::RepeatedParameter("iss".into()),
        ),
        (
            query("&code=c&x=1&x=2"),
            CallbackError::RepeatedParameter("x".into()),
        ),
        (
            query(&format!(
                "&code=c&pad={}",
                "a".repeat(MAX_CALLBACK_QUERY_BYTES)
            )),
            CallbackError::TooLarge,
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(
            pending.accept(&query).map(|_| ()),
            Err(expected),
            "{query:.80}"
        );
    }
    assert!(AuthorizationResponse::parse("code=c&unknown=1").is_ok());
}
