//! The `signin_callback` target: the redirect back from the IdP (RFC 6749 section 4.1.2, RFC
//! 9207 section 2.4), read by `PendingSignIn::accept` and judged by an oracle written here
//! from the specifications.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use xaa::discovery::AuthorizationServerMetadata;
use xaa::signin::{
    AuthorizationRequest, CallbackError, MAX_CALLBACK_QUERY_BYTES, PendingSignIn,
    RandomUnavailable, SignInClient, SignInOptions,
};
use xaa::{ClientCredentials, Policy};

use crate::checks::assert_single_line;
use crate::input::Input;

const ISSUER: &str = "https://idp.example.com";

/// A pending sign-in whose `state` is base64url of 32 bytes of 2 (the second draw).
fn pending(iss_promised: bool) -> PendingSignIn {
    let metadata = json!({
        "issuer": ISSUER, "token_endpoint": "https://idp.example.com/token",
        "authorization_endpoint": "https://idp.example.com/authorize",
        "authorization_response_iss_parameter_supported": iss_promised,
    });
    let metadata = AuthorizationServerMetadata::from_json(metadata.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("fixture metadata: {e}"));
    let client = SignInClient::new(metadata, ClientCredentials::public("c"), &Policy::default())
        .unwrap_or_else(|e| panic!("fixture client: {e}"));
    let draws = std::sync::atomic::AtomicU8::new(1);
    let random = move |out: &mut [u8]| -> Result<(), RandomUnavailable> {
        out.fill(draws.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        Ok(())
    };
    AuthorizationRequest::new(
        &client,
        "http://127.0.0.1:1/cb",
        &SignInOptions::default(),
        &random,
        &|_| [0; 32],
    )
    .unwrap_or_else(|e| panic!("fixture request: {e}"))
    .into_parts()
    .1
}

/// What the specifications say of `query`: the code, or the refusal's kind.
fn oracle(query: &str, iss_promised: bool) -> Result<String, &'static str> {
    if query.len() > MAX_CALLBACK_QUERY_BYTES {
        return Err("too large");
    }
    let query = query.strip_prefix('?').unwrap_or(query);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err("repeated");
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let (code, error) = (
        get("code").filter(|c| !c.is_empty()),
        get("error").filter(|e| !e.is_empty()),
    );
    if code.is_some() == error.is_some()
        || (code.is_none() && get("code").is_some())
        || (error.is_none() && get("error").is_some())
    {
        return Err("code or error");
    }
    match get("state") {
        None => return Err("state missing"),
        Some(state) if state != URL_SAFE_NO_PAD.encode([2u8; 32]) => return Err("state mismatch"),
        Some(_) => {}
    }
    match get("iss") {
        Some(iss) if iss != ISSUER => return Err("iss mismatch"),
        None if iss_promised => return Err("iss missing"),
        _ => {}
    }
    code.map(str::to_owned).ok_or("refused")
}

/// The kind of a refusal, as the oracle names it.
fn kind(error: &CallbackError) -> &'static str {
    match error {
        CallbackError::TooLarge => "too large",
        CallbackError::RepeatedParameter(_) => "repeated",
        CallbackError::CodeOrError => "code or error",
        CallbackError::StateMissing => "state missing",
        CallbackError::StateMismatch => "state mismatch",
        CallbackError::IssuerMissing => "iss missing",
        CallbackError::IssuerMismatch(_) => "iss mismatch",
        CallbackError::Refused(_) => "refused",
        _ => "unknown",
    }
}

/// The first byte says whether the IdP promises `iss`; the rest is the query. The code
/// accepted, or the kind of refusal, is exactly the oracle's; every message is one line.
pub fn signin_callback(data: &[u8]) {
    let mut input = Input::new(data);
    let iss_promised = input.flag();
    let query = String::from_utf8_lossy(input.rest()).into_owned();
    let pending = pending(iss_promised);
    let outcome = pending.accept(&query);
    crate::trace!("accept: {outcome:?}");
    let expected = oracle(&query, iss_promised);
    match (&outcome, &expected) {
        (Ok(code), Ok(wanted)) => assert_eq!(code.expose_secret(), wanted),
        (Err(error), Err(wanted)) => assert_eq!(kind(error), *wanted, "{error}"),
        _ => panic!("accept says {outcome:?}, the oracle {expected:?}"),
    }
    if let Err(error) = &outcome {
        assert_single_line(&error.to_string());
        if let CallbackError::Refused(refusal) = error {
            for text in [refusal.code.as_str()]
                .into_iter()
                .chain(refusal.description.as_deref())
                .chain(refusal.uri.as_deref())
            {
                assert!(!text.chars().any(xaa::is_unsafe_for_display), "{text:?}");
                assert!(text.chars().count() <= 257);
            }
        }
    }
}
