//! A signed-in session as the subject-token source, through the driver against the kit's IdP
//! over HTTP: an ID token inside its renewal margin is renewed with the refresh token as a leg
//! of the flow, the renewed ID token is the exchange's subject, and the rotated refresh token
//! is kept (docs/signin.md, "Renewal inside the flow").

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::json;
use xaa::authorizer::User;
use xaa::constants::GRANT_TYPE_TOKEN_EXCHANGE;
use xaa::signin::{IdTokenClaims, IdpKeys, SignInSession};
use xaa::{IdToken, RefreshToken};
use xaa_testkit::{Endpoint, IDP_CLIENT_ID, Testkit};

/// The session a sign-in of `name` at the kit leaves, and a count of the renewals the
/// application was told of.
fn signed_in(kit: &Testkit, name: &str) -> (SignInSession, Arc<AtomicU32>) {
    let tokens = kit.signed_in(name);
    let text = |member: &str| tokens[member].as_str().expect(member).to_owned();
    let id_token = text("id_token");
    let claims = xaa::jwt::peek(&id_token).expect("a JWT").claims;
    let claims: IdTokenClaims = serde_json::from_value(json!({
        "iss": claims["iss"], "sub": claims["sub"], "aud": [IDP_CLIENT_ID], "azp": null,
        "exp": claims["exp"], "iat": claims["iat"], "auth_time": claims["auth_time"],
        "nonce": null,
    }))
    .expect("claims");
    let told = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&told);
    let session = SignInSession::from_parts(
        IdToken::new(id_token),
        claims,
        Some(RefreshToken::new(text("refresh_token"))),
        IdpKeys::new(),
    )
    .on_renewed(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (session, told)
}

/// The subject tokens the kit's IdP received in token exchanges.
fn exchanged_subjects(kit: &Testkit) -> Vec<String> {
    kit.requests_to(Endpoint::IdpToken)
        .iter()
        .filter(|r| r.grant_type.as_deref() == Some(GRANT_TYPE_TOKEN_EXCHANGE))
        .filter_map(|r| r.param("subject_token").map(str::to_owned))
        .collect()
}

driver_test! {
    fn a_session_near_its_expiry_is_renewed_inside_the_flow() {
        let kit = common::kit();
        // Inside the session's sixty-second renewal margin from the start.
        kit.set_id_token_lifetime(Duration::from_secs(30));
        let (session, told) = signed_in(&kit, "alice");
        let first_refresh = session.refresh_token().expect("a refresh token");
        let user = User::new(
            common::principal(&kit, "alice"),
            Arc::new(session.clone()),
        );
        let authorizer = common::authorizer(&kit);
        let token = wait!(authorizer.token(&user)).expect("a token");
        assert!(kit.access_token_info(token.expose_secret()).is_some());

        let refreshes: Vec<Option<u32>> = kit
            .sign_in_records()
            .into_iter()
            .filter(|record| record.is_refresh_redemption())
            .map(|record| record.refresh_generation)
            .collect();
        assert_eq!(refreshes, [Some(0)], "one redemption, of the first token");
        assert_eq!(
            exchanged_subjects(&kit),
            [session.id_token().expose_secret().to_owned()],
            "the renewed ID token was the subject"
        );
        let kept = session.refresh_token().expect("a refresh token");
        assert_ne!(
            kept.expose_secret(),
            first_refresh.expose_secret(),
            "the rotated refresh token replaced the old one"
        );
        assert_eq!(told.load(Ordering::SeqCst), 1);

        // The access token is cached: no other renewal, no other exchange.
        wait!(authorizer.token(&user)).expect("the cached token");
        assert_eq!(told.load(Ordering::SeqCst), 1);
        assert_eq!(exchanged_subjects(&kit).len(), 1);
    }
}
