//! Every refusal of `xaa login`, one kit fault each: the command exits with its code, tells the
//! browser the sign-in failed, stores nothing, and sends nothing further (a refused
//! authorization response is never redeemed; a refused ID token is never kept). The device
//! grant's `slow_down` is honoured: the intervals between polls are measured.

use std::path::Path;
use std::time::Duration;

use xaa_testkit::{
    AuthorizationResponseFault, DeviceGrantFault, Endpoint, Fault, IdTokenFault, Options,
    SignInRecord, Testkit,
};

use crate::login_support::{LoginRun, assert_no_secret, browser_login, login_args, store_in};
use crate::support::{EXIT_DENIED, EXIT_PROTOCOL, TempDir, kit};

/// The kit's sign-in records at its token endpoint for `grant_type`.
fn grants(kit: &Testkit, grant_type: &str) -> Vec<SignInRecord> {
    kit.sign_in_records()
        .into_iter()
        .filter(|record| record.grant_type.as_deref() == Some(grant_type))
        .collect()
}

/// Signs in with `fault` set on `endpoint`; asserts the exit code, that `words` appear on
/// stderr, that the browser was told, that no secret leaked and that nothing was stored.
/// Returns the kit, for the caller's checks of what was sent.
fn refused(endpoint: Endpoint, fault: Fault, code: i32, words: &str) -> Testkit {
    let kit = kit(Options::new());
    kit.set_fault(endpoint, fault.clone());
    let dir = TempDir::new();
    let store = store_in(&dir);
    let args = login_args(&kit, &dir, &store, &["--no-browser"]);
    let (login, page, authorization_code) = browser_login(&kit, &args, "alice");
    assert_eq!(login.code, code, "{fault:?}: {}", login.stderr);
    assert!(
        login.stderr.contains(words),
        "{fault:?}: stderr names {words:?}: {}",
        login.stderr
    );
    assert!(page.contains("Sign-in failed"), "{fault:?}: {page}");
    assert_eq!(login.stdout, "", "{fault:?}: nothing after the URL");
    assert_nothing_stored(&store);
    let shown = format!("{}{}", login.stderr, page);
    if !authorization_code.is_empty() {
        assert_no_secret(&shown, &[authorization_code]);
    }
    kit
}

fn assert_nothing_stored(store: &Path) {
    assert!(!store.exists(), "nothing stored at {}", store.display());
}

/// Each broken authorization response: refused before the code is redeemed (RFC 6749 section
/// 10.12, RFC 9207 section 2.4, RFC 6749 section 4.1.2.1).
#[test]
fn a_refused_authorization_response_is_never_redeemed() {
    let cases = [
        (
            AuthorizationResponseFault::MissingState,
            EXIT_DENIED,
            "state",
        ),
        (AuthorizationResponseFault::WrongIssuer, EXIT_DENIED, "iss"),
        (
            AuthorizationResponseFault::MissingIssuer,
            EXIT_DENIED,
            "iss",
        ),
        (
            AuthorizationResponseFault::AccessDenied,
            EXIT_DENIED,
            "access_denied",
        ),
    ];
    for (fault, code, words) in cases {
        let kit = refused(
            Endpoint::IdpSignIn,
            Fault::AuthorizationResponse(fault),
            code,
            words,
        );
        assert_eq!(
            grants(&kit, "authorization_code"),
            vec![],
            "{fault:?}: the code was never sent to the token endpoint"
        );
    }
}

/// Each broken ID token (OpenID Connect Core 1.0 section 3.1.3.7, RFC 8725 section 3.1): the
/// code is redeemed once, the ID token refused, and nothing else is asked of the IdP.
#[test]
fn a_refused_id_token_is_never_kept() {
    let cases = [
        (IdTokenFault::WrongAudience, "aud"),
        (IdTokenFault::WrongIssuer, "iss"),
        (IdTokenFault::Expired, "expired"),
        (IdTokenFault::IssuedInFuture, "iat"),
        (IdTokenFault::BadSignature, "signature"),
        (IdTokenFault::UnknownKid, "key"),
        (IdTokenFault::AlgNone, "none"),
        (IdTokenFault::Hmac, "HS256"),
    ];
    for (fault, words) in cases {
        let kit = refused(
            Endpoint::IdpToken,
            Fault::IdToken(fault),
            EXIT_PROTOCOL,
            words,
        );
        let records = kit.sign_in_records();
        let redemptions = grants(&kit, "authorization_code");
        assert_eq!(redemptions.len(), 1, "{fault:?}: one redemption");
        assert!(
            redemptions[0].succeeded(),
            "{fault:?}: the kit issued the broken token"
        );
        let after: Vec<_> = records
            .iter()
            .filter(|record| record.received > redemptions[0].received)
            .map(|record| record.endpoint)
            .collect();
        assert_eq!(
            after,
            vec![],
            "{fault:?}: nothing sent to a sign-in endpoint after the refusal"
        );
    }
}

/// `slow_down` adds five seconds to the polling interval, each time (RFC 8628 section 3.5):
/// with a one-second interval and a kit that always answers `slow_down`, the first poll comes
/// a second after the device authorization, the second six seconds after the first, and the
/// third (eleven seconds later) would pass a ten-second deadline, so the command stops there.
#[test]
fn device_polls_honour_slow_down() {
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    kit.set_fault(
        Endpoint::IdpToken,
        Fault::DeviceGrant(DeviceGrantFault::AlwaysSlowDown),
    );
    let dir = TempDir::new();
    let store = store_in(&dir);
    let run = LoginRun::start(&login_args(
        &kit,
        &dir,
        &store,
        &["--device", "--deadline", "10"],
    ));
    let finished = run.finish("");
    assert_eq!(finished.code, EXIT_PROTOCOL, "{}", finished.stderr);
    assert!(finished.stderr.contains("deadline"), "{}", finished.stderr);
    assert_nothing_stored(&store);
    let records = kit.sign_in_records();
    let authorized = records
        .iter()
        .find(|record| record.endpoint == Endpoint::IdpDeviceAuthorization)
        .expect("a device authorization request");
    let polls = grants(&kit, "urn:ietf:params:oauth:grant-type:device_code");
    assert_eq!(polls.len(), 2, "two polls before the deadline");
    assert!(
        polls
            .iter()
            .all(|poll| poll.error.as_deref() == Some("slow_down"))
    );
    let first_wait = polls[0].received - authorized.received;
    let second_wait = polls[1].received - polls[0].received;
    assert!(
        first_wait >= Duration::from_secs(1),
        "the first poll waited the interval: {first_wait:?}"
    );
    assert!(
        second_wait >= Duration::from_secs(6),
        "slow_down added five seconds: {second_wait:?}"
    );
    assert!(
        second_wait < Duration::from_secs(10),
        "and no more than a loaded machine's delay: {second_wait:?}"
    );
}
