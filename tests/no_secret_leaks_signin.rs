//! Observability without leaks, for signing in: the authorization request, its redirect
//! accepted and refused, the code exchange, the device grant, the refresh and the revocation,
//! succeeding and failing in every class, for a public client and for each kind of client
//! authentication, with real signatures. Every `tracing` event is captured at the most verbose
//! level, and every flow state, output, result and error along the way is formatted with
//! `Debug` (and `Display` where it has one). No secret may appear in any of it, as it is or
//! base64-encoded.
//!
//! What counts as a secret, and why:
//!
//! * the authorization code, the PKCE verifier, the device code, the refresh tokens (the one
//!   sent and the rotated one), the ID tokens (and their signatures alone), the IdP's access
//!   token, the client secret, the client's `private_key_jwt` signing key, and the client
//!   assertions and Basic credentials made with them: each lets its holder act as the person
//!   or the client (the IdP's signing key is searched for too, though the client never holds
//!   it);
//! * `state` and `nonce`: not credentials (they travel in the front channel, through the
//!   browser), but while a sign-in is pending they are what tells a forged redirect or an
//!   injected ID token from the real one (RFC 6749 section 10.12, OpenID Connect Core 1.0
//!   section 15.5.2), so a log reader must not learn them. The one place they appear is the
//!   authorization URL the person opens, which the test checks holds them: proof that the
//!   search for them means something.
//!
//! The PKCE challenge is public (it is in that URL) and is not searched for. The device flow
//! is stepped by hand, as a command does between polls; the other flows run through
//! `xaa::drive`, which logs every request and response.
#![cfg(all(feature = "signin", feature = "jwt"))]

#[path = "support/capture.rs"]
mod capture;
mod signin_support;

use std::convert::Infallible;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use capture::{assert_absent, capture};
use serde_json::{Value, json};
use signin_support::*;
use xaa::jose::{JwsError, JwtAssertionSigner, SigningKey, sign_jwt};
use xaa::signin::{
    AuthorizationCode, AuthorizationErrorCode, AuthorizationRequest, AuthorizationResponse,
    CallbackError, CodeExchange, DeviceOutcome, DeviceSignIn, IdTokenClaims, IdTokenError, IdpKeys,
    PendingSignIn, RandomUnavailable, Refresh, Revocation, SignIn, SignInClient, SignInOptions,
    sha256,
};
use xaa::{
    ClientAuth, ClientCredentials, ClientSecret, DriveError, Error, Flow, HttpRequest,
    HttpResponse, Output, Policy, PrivateKeyJwt, Purpose, RefreshToken, Scope, TransmitId,
    Violation,
};

// The fixed secrets: long, unique, and of unreserved characters only, so that their
// form-urlencoded form is themselves and one search finds both.
const AUTHORIZATION_CODE: &str = "authorization-code-Xq7Lm2Vb9Rt4Kp8Wz3Nc6Hd1Jf5Gs0Ye";
const REFRESH_TOKEN: &str = "refresh-token-sent-Pz4Qw8Er2Ty6Ui0Op3As7Df1Gh5Jk9Lx";
const ROTATED_REFRESH_TOKEN: &str = "refresh-token-rotated-Mn3Bv7Cx1Zl5Kj9Hg2Fd6Sa0Qw4Er";
const ACCESS_TOKEN: &str = "idp-access-token-Rt5Yu9Io3Pa7Sd1Fg4Hj8Kl2Zx6Cv0Bn";
const DEVICE_CODE: &str = "device-code-Wq2Er6Ty0Ui4Op8As3Df7Gh1Jk5Lz9Xc";
const CLIENT_SECRET: &str = "client-secret-Vb8Nm2Qw6Er0Ty4Ui7Op1As5Df9Gh3Jk";

/// What a run showed and what it must not have shown.
#[derive(Default)]
struct Leaks {
    /// Everything formatted along the way.
    shown: String,
    /// Each secret the run made or saw, with its name.
    secrets: Vec<(&'static str, String)>,
}

impl Leaks {
    /// Formats `value` with `Debug`, plain and pretty.
    fn debug(&mut self, label: &str, value: &dyn fmt::Debug) {
        let _ = writeln!(self.shown, "{label}: {value:?}\n{value:#?}");
    }

    /// Formats a result with `Debug`, and its error with `Display` too.
    fn result<T: fmt::Debug, E: fmt::Debug + fmt::Display>(
        &mut self,
        label: &str,
        result: &Result<T, E>,
    ) {
        self.debug(label, result);
        if let Err(error) = result {
            let _ = writeln!(self.shown, "{label}: {error}");
        }
    }

    fn secret(&mut self, name: &'static str, value: impl Into<String>) {
        self.secrets.push((name, value.into()));
    }

    /// An ID token the IdP issued, and its signature alone (a truncated token is a leak too).
    fn id_token(&mut self, token: &str) {
        if let Some((_, signature)) = token.rsplit_once('.')
            && !signature.is_empty()
        {
            self.secret("ID token signature", signature);
        }
        self.secret("ID token", token);
    }

    /// The credentials each request carried: Basic headers, client assertions, verifiers.
    fn requests(&mut self, idp: &FakeIdp) {
        for request in &idp.log {
            if let Some(authorization) = &request.authorization {
                self.secret("Authorization header", authorization.clone());
            }
            if let Some(assertion) = request.form_value("client_assertion") {
                self.secret("client assertion", assertion);
            }
            if let Some(verifier) = request.form_value("code_verifier") {
                self.secret("PKCE verifier", verifier);
            }
        }
    }
}

/// A flow whose every state, output and error is formatted into `shown` as it runs.
struct Observed<'a, F> {
    flow: &'a mut F,
    shown: &'a mut String,
}

impl<F> Flow for Observed<'_, F>
where
    F: Flow + fmt::Debug,
    F::Output: fmt::Debug,
{
    type Output = F::Output;

    fn poll_output(&mut self, now: SystemTime) -> Result<Output<F::Output>, Error> {
        let output = self.flow.poll_output(now);
        let _ = writeln!(self.shown, "output: {output:?}\n{output:#?}");
        if let Err(error) = &output {
            let _ = writeln!(self.shown, "{error}");
        }
        let _ = writeln!(self.shown, "flow: {:?}\n{:#?}", self.flow, self.flow);
        output
    }

    fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        let handled = self.flow.handle_response(now, id, response);
        let _ = writeln!(self.shown, "handled: {handled:?}");
        if let Err(error) = &handled {
            let _ = writeln!(self.shown, "{error}");
        }
        let _ = writeln!(self.shown, "flow: {:?}\n{:#?}", self.flow, self.flow);
        handled
    }
}

/// Runs `flow` through `xaa::drive` (which logs each request and response) against `idp` at
/// the tests' fixed time, formatting it all along and the result at the end.
fn drive<F>(mut flow: F, idp: &mut FakeIdp, leaks: &mut Leaks) -> Result<F::Output, Error>
where
    F: Flow + fmt::Debug,
    F::Output: fmt::Debug,
{
    leaks.debug("flow before", &flow);
    let observed = Observed {
        flow: &mut flow,
        shown: &mut leaks.shown,
    };
    let result = xaa::drive(observed, now, |request: HttpRequest| {
        let purpose = *request
            .extensions()
            .get::<Purpose>()
            .expect("the driver names each request's purpose");
        Ok::<_, Infallible>(idp.answer(purpose, &request))
    });
    leaks.result("drive", &result);
    leaks.debug("flow after", &flow);
    leaks.requests(idp);
    result.map_err(|error| match error {
        DriveError::Flow(error) => error,
        other => panic!("the fake IdP never fails to answer: {other}"),
    })
}

/// Steps a device sign-in by hand, as a command does: send what it emits, and when it waits,
/// move the clock to [`DeviceSignIn::next_poll_at`].
fn drive_device(
    mut flow: DeviceSignIn,
    idp: &mut FakeIdp,
    leaks: &mut Leaks,
) -> Result<DeviceOutcome, Error> {
    leaks.debug("device flow before", &flow);
    let mut clock = now();
    let mut outcome = None;
    for _ in 0..32 {
        let mut observed = Observed {
            flow: &mut flow,
            shown: &mut leaks.shown,
        };
        match observed.poll_output(clock) {
            Ok(Output::Transmit(transmit)) => {
                let response = idp.answer(transmit.purpose, &transmit.request);
                if let Err(error) = observed.handle_response(clock, transmit.id, response) {
                    outcome = Some(Err(error));
                    break;
                }
            }
            Ok(Output::Wait) => {
                leaks.debug("shown to the person", &flow.authorization());
                leaks.debug("interval", &flow.interval());
                clock = flow
                    .next_poll_at()
                    .expect("a device sign-in that waits has a poll scheduled");
            }
            Ok(Output::Done(done)) => {
                outcome = Some(Ok(done));
                break;
            }
            Err(error) => {
                outcome = Some(Err(error));
                break;
            }
        }
    }
    let outcome = outcome.expect("the device sign-in ended within 32 steps");
    leaks.result("device outcome", &outcome);
    leaks.debug("device flow after", &flow);
    leaks.requests(idp);
    outcome
}

/// Unpredictable-looking bytes (splitmix64 over one counter for the whole test), so that every
/// verifier, `state` and `nonce` drawn is a long value of its own that a search can find, yet
/// the same on every run.
fn random() -> impl Fn(&mut [u8]) -> Result<(), RandomUnavailable> + Send + Sync {
    static DRAWS: AtomicU64 = AtomicU64::new(0x5eed);
    |out: &mut [u8]| {
        for chunk in out.chunks_mut(8) {
            let mut z = DRAWS
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
                .wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

/// The client registrations the runs repeat for: public, both client secrets, and
/// `private_key_jwt` with `key`.
fn registrations(key: &SigningKey) -> Vec<(&'static str, ClientCredentials)> {
    let jti = AtomicUsize::new(0);
    let jti = Arc::new(move || format!("jti-{}", jti.fetch_add(1, Ordering::Relaxed)));
    let signer = Arc::new(JwtAssertionSigner::new(key.clone()));
    vec![
        ("public", ClientCredentials::public(CLIENT)),
        (
            "client_secret_basic",
            ClientCredentials::basic(CLIENT, ClientSecret::new(CLIENT_SECRET)),
        ),
        (
            "client_secret_post",
            ClientCredentials::post(CLIENT, ClientSecret::new(CLIENT_SECRET)),
        ),
        (
            "private_key_jwt",
            ClientCredentials::new(
                CLIENT,
                ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(signer, jti)),
            ),
        ),
    ]
}

/// The IdP and the keys it signs ID tokens with.
struct Idp {
    key: SigningKey,
    /// Another key under the same `kid`: its signatures do not verify.
    impostor: SigningKey,
}

impl Idp {
    fn jwks(&self) -> HttpResponse {
        json_response(200, self.key.jwks().to_json())
    }

    /// An ID token for `alice` signed by `key`, with `changes` over the defaults (a null
    /// removes a claim).
    fn id_token_by(&self, key: &SigningKey, nonce: Option<&str>, changes: Value) -> String {
        let now = secs(now());
        let mut claims = json!({
            "iss": IDP, "sub": "alice", "aud": CLIENT, "exp": now + 3600, "iat": now - 5,
            "auth_time": now - 30, "nonce": nonce,
        });
        for (name, value) in changes.as_object().expect("an object of changes") {
            claims[name] = value.clone();
        }
        if let Some(claims) = claims.as_object_mut() {
            claims.retain(|_, value| !value.is_null());
        }
        sign_jwt(key, "JWT", &claims).expect("signed")
    }

    fn id_token(&self, nonce: Option<&str>, changes: Value) -> String {
        self.id_token_by(&self.key, nonce, changes)
    }
}

/// The token endpoint's success: an ID token, the IdP's access token and `refresh_token`.
fn tokens(id_token: &str, refresh_token: &str) -> HttpResponse {
    json_response(
        200,
        json!({
            "id_token": id_token, "access_token": ACCESS_TOKEN, "token_type": "Bearer",
            "refresh_token": refresh_token, "expires_in": 3600, "scope": "openid profile",
        }),
    )
}

fn raw(status: u16, content_type: &str, body: &str) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body.as_bytes().to_vec())
        .expect("response")
}

/// The answers of a token endpoint that fail without an ID token to judge, each with the kind
/// of error it makes: an OAuth error, a 500, a redirect, and bodies that cannot be read though
/// they hold the tokens (cut short, a member twice, not JSON, an access token without a type).
fn broken_token_answers(id_token: &str) -> Vec<(&'static str, HttpResponse)> {
    let whole = json!({
        "id_token": id_token, "access_token": ACCESS_TOKEN, "token_type": "Bearer",
        "refresh_token": ROTATED_REFRESH_TOKEN,
    })
    .to_string();
    vec![
        (
            "ReauthenticationRequired",
            oauth_error(400, "invalid_grant"),
        ),
        ("OAuth", oauth_error(401, "invalid_client")),
        ("UnexpectedStatus", raw(500, "text/plain", "internal error")),
        (
            "Redirect",
            http::Response::builder()
                .status(302)
                .header(http::header::LOCATION, "https://elsewhere.example/")
                .body(Vec::new())
                .expect("response"),
        ),
        (
            "InvalidResponse",
            raw(200, "application/json", &whole[..whole.len() - 2]),
        ),
        (
            "InvalidResponse",
            raw(
                200,
                "application/json",
                &format!(
                    r#"{{"id_token":"{id_token}","token_type":"Bearer","access_token":"{ACCESS_TOKEN}","refresh_token":"{ROTATED_REFRESH_TOKEN}","refresh_token":"{ROTATED_REFRESH_TOKEN}"}}"#
                ),
            ),
        ),
        (
            "InvalidResponse",
            raw(200, "text/html", &format!("<p>{whole}</p>")),
        ),
        (
            "InvalidResponse",
            json_response(
                200,
                json!({"id_token": id_token, "access_token": ACCESS_TOKEN, "refresh_token": ROTATED_REFRESH_TOKEN}),
            ),
        ),
    ]
}

/// The authorization request, and refusals to build one. Returns what to keep, with the
/// `state` the redirect must carry and the `nonce` the ID token must.
fn authorization_request(
    client: &SignInClient,
    leaks: &mut Leaks,
) -> (PendingSignIn, String, String) {
    let mut options = SignInOptions::default();
    options.scope = Scope::parse("profile");
    options.offline_access = true;
    options.max_age = Some(Duration::from_secs(600));
    options.prompt = Some("login".into());
    options.login_hint = Some("alice@example.com".into());
    leaks.debug("options", &options);
    leaks.debug("client", client);
    let request = AuthorizationRequest::new(client, REDIRECT, &options, &random(), &sha256)
        .expect("a request");
    let query: Vec<(String, String)> = request.url().query_pairs().into_owned().collect();
    let value = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .expect("the URL carries it")
    };
    let (state, nonce) = (value("state"), value("nonce"));
    // The URL the person opens holds them: the search below looks for something real.
    assert!(state.len() >= 43 && nonce.len() >= 43 && state != nonce);
    assert!(request.url().as_str().contains(&state) && request.url().as_str().contains(&nonce));
    leaks.secret("state", state.clone());
    leaks.secret("nonce", nonce.clone());
    leaks.debug("authorization request", &request);
    leaks.debug("pending sign-in", request.pending());
    let _ = writeln!(
        leaks.shown,
        "scope {} redirect {}",
        request.pending().scope(),
        request.pending().redirect_uri()
    );
    let failing = |_: &mut [u8]| -> Result<(), RandomUnavailable> { Err(RandomUnavailable::new()) };
    let refusals = [
        AuthorizationRequest::new(client, REDIRECT, &options, &failing, &sha256),
        AuthorizationRequest::new(
            client,
            "http://example.com/cb",
            &options,
            &random(),
            &sha256,
        ),
        AuthorizationRequest::new(
            client,
            "http://127.0.0.1/cb#f",
            &options,
            &random(),
            &sha256,
        ),
    ];
    for refusal in &refusals {
        leaks.result("refused request", refusal);
    }
    assert!(matches!(
        refusals,
        [
            Err(Error::Config(_)),
            Err(Error::InvalidUrl { .. }),
            Err(Error::InvalidUrl { .. })
        ]
    ));
    let (_, pending) = request.into_parts();
    (pending, state, nonce)
}

/// The redirect back, refused in every way and then accepted. Returns the code.
fn authorization_response(
    pending: &PendingSignIn,
    state: &str,
    leaks: &mut Leaks,
) -> AuthorizationCode {
    let code = AUTHORIZATION_CODE;
    let padding = "p".repeat(9000);
    let forged = [
        (
            format!("state=forged-state-value&code={code}&iss={IDP}"),
            CallbackError::StateMismatch,
        ),
        (
            format!("code={code}&iss={IDP}"),
            CallbackError::StateMissing,
        ),
        (
            format!("state={state}&code={code}&iss=https://mix-up.example"),
            CallbackError::IssuerMismatch("https://mix-up.example".into()),
        ),
        (
            format!("state={state}&code={code}&code={code}"),
            CallbackError::RepeatedParameter("code".into()),
        ),
        (
            format!("state={state}&code={code}&error=access_denied"),
            CallbackError::CodeOrError,
        ),
        (
            format!("state={state}&code={code}&padding={padding}"),
            CallbackError::TooLarge,
        ),
        (
            "state=forged-state-value&error=login_required".to_owned(),
            CallbackError::StateMismatch,
        ),
    ];
    let refused_by_the_idp = [
        (
            format!("state={state}&error=access_denied&error_description=the+person+said+no"),
            AuthorizationErrorCode::AccessDenied,
        ),
        (
            format!(
                "state={state}&error=temporarily_unavailable&error_uri=https://idp.example.com/e"
            ),
            AuthorizationErrorCode::TemporarilyUnavailable,
        ),
    ];
    let mut refuse = |query: &str| {
        leaks.result("redirect read", &AuthorizationResponse::parse(query));
        let accepted = pending.accept(query);
        leaks.result("redirect refused", &accepted);
        accepted.expect_err("a refused redirect")
    };
    for (query, expected) in &forged {
        assert_eq!(&refuse(query), expected, "{query}");
    }
    for (query, expected) in &refused_by_the_idp {
        let error = refuse(query);
        assert!(
            matches!(&error, CallbackError::Refused(refusal) if refusal.code == *expected),
            "{query}: {error:?}"
        );
    }
    let query = format!("?state={state}&code={code}&iss={IDP}");
    leaks.result("redirect read", &AuthorizationResponse::parse(&query));
    let accepted = pending.accept(&query);
    leaks.result("redirect accepted", &accepted);
    accepted.expect("the redirect is accepted")
}

/// A redirect without `iss` from an IdP that promises one: a separate request, whose `state`
/// is searched for too.
fn issuer_required(leaks: &mut Leaks) {
    let client = client_with(metadata_with(
        json!({"authorization_response_iss_parameter_supported": true}),
    ));
    let request = AuthorizationRequest::new(
        &client,
        REDIRECT,
        &SignInOptions::default(),
        &random(),
        &sha256,
    )
    .expect("a request");
    let state = request
        .url()
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
        .expect("a state");
    leaks.secret("state", state.clone());
    let refused = request
        .pending()
        .accept(&format!("state={state}&code={AUTHORIZATION_CODE}"));
    leaks.result("iss missing", &refused);
    assert_eq!(refused.map(|_| ()), Err(CallbackError::IssuerMissing));
}

/// The code exchange: success, then every refusal. Returns the sign-in.
fn code_exchange(
    client: &SignInClient,
    idp: &Idp,
    pending: &PendingSignIn,
    code: &AuthorizationCode,
    nonce: &str,
    leaks: &mut Leaks,
) -> SignIn {
    let exchange = |leaks: &mut Leaks, token_answer: HttpResponse, jwks: HttpResponse| {
        let mut fake = FakeIdp::default();
        fake.token_answers.push_back(token_answer);
        fake.jwks_answers.push_back(jwks);
        let flow = CodeExchange::new(client, IdpKeys::new(), pending.clone(), code.clone())
            .expect("a flow");
        drive(flow, &mut fake, leaks)
    };
    let good = idp.id_token(Some(nonce), json!({}));
    leaks.id_token(&good);
    let stranger = SigningKey::generate_es256("unknown-kid").expect("a key");
    let refused_tokens: [(String, RefusalCheck); 8] = [
        (
            idp.id_token(Some(nonce), json!({"aud": "someone-else"})),
            |e| *e == IdTokenError::Audience,
        ),
        (idp.id_token(Some("another-nonce"), json!({})), |e| {
            *e == IdTokenError::Nonce
        }),
        (
            idp.id_token(Some(nonce), json!({"exp": secs(now()) - 1})),
            |e| *e == IdTokenError::Expired,
        ),
        (
            idp.id_token(Some(nonce), json!({"iat": secs(now()) + 3600})),
            |e| *e == IdTokenError::IssuedInFuture,
        ),
        (
            idp.id_token(Some(nonce), json!({"iss": "https://mix-up.example"})),
            |e| matches!(e, IdTokenError::Issuer { .. }),
        ),
        (
            idp.id_token_by(&idp.impostor, Some(nonce), json!({})),
            |e| *e == IdTokenError::Signature(JwsError::BadSignature),
        ),
        (idp.id_token_by(&stranger, Some(nonce), json!({})), |e| {
            matches!(e, IdTokenError::Signature(JwsError::UnknownKey { .. }))
        }),
        (
            unsigned(&json!({"iss": IDP, "sub": "alice", "aud": CLIENT, "nonce": nonce})),
            |e| {
                matches!(
                    e,
                    IdTokenError::Signature(JwsError::AlgorithmNotAllowed { .. })
                )
            },
        ),
    ];
    for (token, expected) in &refused_tokens {
        leaks.id_token(token);
        let refused = exchange(leaks, tokens(token, REFRESH_TOKEN), idp.jwks());
        assert!(
            matches!(&refused, Err(Error::InvalidResponse { violation: Violation::IdToken(e), .. }) if expected(e)),
            "{refused:?}"
        );
    }
    for (expected, answer) in broken_token_answers(&good) {
        let refused = exchange(leaks, answer, idp.jwks());
        assert_eq!(kind(&refused), expected, "{refused:?}");
    }
    for jwks in [
        raw(500, "text/plain", "key set unavailable"),
        raw(200, "application/json", r#"{"keys": 5}"#),
    ] {
        let refused = exchange(leaks, tokens(&good, REFRESH_TOKEN), jwks);
        assert!(
            matches!(
                refused,
                Err(Error::UnexpectedStatus {
                    purpose: Purpose::IdpKeys,
                    ..
                } | Error::InvalidResponse {
                    purpose: Purpose::IdpKeys,
                    ..
                })
            ),
            "{refused:?}"
        );
    }
    let sign_in = exchange(leaks, tokens(&good, REFRESH_TOKEN), idp.jwks()).expect("signed in");
    leaks.debug("claims", &sign_in.claims);
    sign_in
}

/// Whether an ID token was refused for the reason expected.
type RefusalCheck = fn(&IdTokenError) -> bool;

/// An ID token with `alg` `none`.
fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

/// The device grant: approved after `authorization_pending` and `slow_down`, denied, expired
/// (by the IdP, and by the device code's own lifetime), refused ID token, and failures of the
/// device authorization request.
fn device(client: &SignInClient, idp: &Idp, leaks: &mut Leaks) {
    let authorization = |expires_in: u64| {
        json_response(
            200,
            json!({
                "device_code": DEVICE_CODE, "user_code": "WDJB-MJHT",
                "verification_uri": "https://idp.example.com/activate",
                "verification_uri_complete": "https://idp.example.com/activate?user_code=WDJB-MJHT",
                "expires_in": expires_in, "interval": 5,
            }),
        )
    };
    let good = idp.id_token(None, json!({"auth_time": null}));
    let wrong_audience = idp.id_token(None, json!({"aud": "someone-else"}));
    leaks.id_token(&good);
    leaks.id_token(&wrong_audience);
    let pending = || oauth_error(400, "authorization_pending");
    let worlds: Vec<(&str, u64, Vec<HttpResponse>)> = vec![
        (
            "approved",
            600,
            vec![
                pending(),
                oauth_error(400, "slow_down"),
                tokens(&good, REFRESH_TOKEN),
            ],
        ),
        (
            "denied",
            600,
            vec![pending(), oauth_error(400, "access_denied")],
        ),
        (
            "expired at the IdP",
            600,
            vec![oauth_error(400, "expired_token")],
        ),
        ("expired here", 12, vec![pending(), pending()]),
        (
            "refused ID token",
            600,
            vec![tokens(&wrong_audience, REFRESH_TOKEN)],
        ),
        (
            "invalid_client",
            600,
            vec![oauth_error(401, "invalid_client")],
        ),
        (
            "unreadable",
            600,
            vec![raw(
                200,
                "application/json",
                &format!(r#"{{"id_token":"{good}""#),
            )],
        ),
    ];
    let mut outcomes = Vec::new();
    for (name, expires_in, answers) in worlds {
        let mut fake = FakeIdp::default();
        fake.device_answers.push_back(authorization(expires_in));
        fake.token_answers.extend(answers);
        fake.jwks_answers.push_back(idp.jwks());
        let flow =
            DeviceSignIn::new(client, IdpKeys::new(), &SignInOptions::default()).expect("a flow");
        let outcome = drive_device(flow, &mut fake, leaks);
        outcomes.push(format!("{name}: {}", summary(&outcome)));
    }
    assert_eq!(
        outcomes,
        [
            "approved: signed in",
            "denied: denied",
            "expired at the IdP: expired",
            "expired here: expired",
            "refused ID token: InvalidResponse",
            "invalid_client: OAuth",
            "unreadable: InvalidResponse",
        ]
    );
    let mut refusals = Vec::new();
    for answer in [
        oauth_error(401, "invalid_client"),
        json_response(
            200,
            json!({"device_code": DEVICE_CODE, "user_code": "WDJB-MJHT", "verification_uri": "https://idp.example.com/activate", "expires_in": 600, "interval": 0}),
        ),
        raw(
            200,
            "application/json",
            &format!(r#"{{"device_code":"{DEVICE_CODE}","device_code":"{DEVICE_CODE}"}}"#),
        ),
    ] {
        let mut fake = FakeIdp::default();
        fake.device_answers.push_back(answer);
        let flow =
            DeviceSignIn::new(client, IdpKeys::new(), &SignInOptions::default()).expect("a flow");
        refusals.push(kind(&drive_device(flow, &mut fake, leaks)));
    }
    assert_eq!(refusals, ["OAuth", "InvalidResponse", "InvalidResponse"]);
}

fn summary(outcome: &Result<DeviceOutcome, Error>) -> &'static str {
    match outcome {
        Ok(DeviceOutcome::SignedIn(_)) => "signed in",
        Ok(DeviceOutcome::Denied(_)) => "denied",
        Ok(DeviceOutcome::Expired) => "expired",
        Ok(_) => "another outcome",
        Err(_) => kind(outcome),
    }
}

/// The kind of a flow's result, to compare with what a scenario must end in.
fn kind<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "done",
        Err(Error::ReauthenticationRequired { .. }) => "ReauthenticationRequired",
        Err(Error::OAuth { .. }) => "OAuth",
        Err(Error::UnexpectedStatus { .. }) => "UnexpectedStatus",
        Err(Error::Redirect { .. }) => "Redirect",
        Err(Error::InvalidResponse { .. }) => "InvalidResponse",
        Err(_) => "another error",
    }
}

/// The refresh: rotated, not rotated, `invalid_grant`, a refused renewed ID token, and the
/// other failures.
fn refresh(
    client: &SignInClient,
    idp: &Idp,
    claims: &IdTokenClaims,
    nonce: &str,
    leaks: &mut Leaks,
) {
    let renew = |leaks: &mut Leaks, answer: HttpResponse| {
        let mut fake = FakeIdp::default();
        fake.token_answers.push_back(answer);
        fake.jwks_answers.push_back(idp.jwks());
        let flow = Refresh::new(
            client,
            IdpKeys::new(),
            RefreshToken::new(REFRESH_TOKEN),
            claims.clone(),
            Some(&Scope::parse("openid profile offline_access")),
        )
        .expect("a flow");
        drive(flow, &mut fake, leaks)
    };
    let renewed = idp.id_token(Some(nonce), json!({}));
    let changed = idp.id_token(Some(nonce), json!({"sub": "mallory"}));
    leaks.id_token(&renewed);
    leaks.id_token(&changed);
    let rotated = renew(leaks, tokens(&renewed, ROTATED_REFRESH_TOKEN)).expect("renewed");
    assert!(rotated.rotated);
    assert_eq!(rotated.refresh_token.expose_secret(), ROTATED_REFRESH_TOKEN);
    let kept = renew(
        leaks,
        json_response(
            200,
            json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer"}),
        ),
    )
    .expect("renewed");
    assert!(!kept.rotated);
    let refused = renew(leaks, tokens(&changed, ROTATED_REFRESH_TOKEN));
    assert!(
        matches!(&refused, Err(Error::InvalidResponse { violation: Violation::IdToken(e), .. })
            if *e == IdTokenError::ChangedOnRenewal("sub")),
        "{refused:?}"
    );
    for (expected, answer) in broken_token_answers(&renewed) {
        let outcome = renew(leaks, answer);
        assert_eq!(kind(&outcome), expected, "{outcome:?}");
    }
}

/// The revocation of both refresh tokens, accepted and refused.
fn revocation(client: &SignInClient, leaks: &mut Leaks) {
    let mut outcomes = Vec::new();
    for token in [REFRESH_TOKEN, ROTATED_REFRESH_TOKEN] {
        for answer in [
            raw(200, "text/plain", ""),
            oauth_error(400, "unsupported_token_type"),
            oauth_error(401, "invalid_client"),
            raw(503, "text/plain", "try later"),
        ] {
            let mut fake = FakeIdp::default();
            fake.revoke_answers.push_back(answer);
            let flow = Revocation::new(client, RefreshToken::new(token)).expect("a flow");
            outcomes.push(kind(&drive(flow, &mut fake, leaks)));
        }
    }
    assert_eq!(
        outcomes,
        ["done", "OAuth", "OAuth", "UnexpectedStatus"].repeat(2)
    );
}

/// Every sign-in flow, for each client registration, in every outcome class.
fn run_everything(client_key: &SigningKey, idp: &Idp) -> Leaks {
    let mut leaks = Leaks::default();
    for (registration, credentials) in registrations(client_key) {
        let _ = writeln!(leaks.shown, "--- {registration}");
        let client = SignInClient::new(metadata_with(json!({})), credentials, &Policy::default())
            .expect("a client");
        let (pending, state, nonce) = authorization_request(&client, &mut leaks);
        issuer_required(&mut leaks);
        let code = authorization_response(&pending, &state, &mut leaks);
        let sign_in = code_exchange(&client, idp, &pending, &code, &nonce, &mut leaks);
        device(&client, idp, &mut leaks);
        refresh(&client, idp, &sign_in.claims, &nonce, &mut leaks);
        revocation(&client, &mut leaks);
    }
    leaks
}

#[test]
fn no_sign_in_secret_in_logs_or_errors() {
    let client_key = SigningKey::generate_es256("client-key").expect("a key");
    let idp = Idp {
        key: SigningKey::generate_es256("idp-key").expect("a key"),
        impostor: SigningKey::generate_es256("idp-key").expect("a key"),
    };
    let (mut leaks, logged) = capture(|| run_everything(&client_key, &idp));

    // The runs did what they claim: events were logged for every flow the driver ran, and
    // every kind of value was formatted.
    for purpose in ["code_exchange", "idp_keys", "refresh", "revocation"] {
        assert!(
            logged.contains(&format!("purpose={purpose}")),
            "no event for {purpose}:\n{logged}"
        );
    }
    for shown in [
        "AuthorizationRequest",
        "PendingSignIn",
        "StateMismatch",
        "IssuerMissing",
        "SignIn",
        "Renewal",
        "DeviceAuthorization",
        "Denied",
        "Expired",
        "ReauthenticationRequired",
        "UnexpectedStatus",
        "IdToken",
    ] {
        assert!(leaks.shown.contains(shown), "nothing showed {shown}");
    }
    let names: Vec<&str> = leaks.secrets.iter().map(|(name, _)| *name).collect();
    for name in [
        "state",
        "nonce",
        "PKCE verifier",
        "ID token",
        "Authorization header",
        "client assertion",
    ] {
        assert!(names.contains(&name), "no {name} was collected");
    }

    for (name, secret) in [
        ("authorization code", AUTHORIZATION_CODE),
        ("refresh token", REFRESH_TOKEN),
        ("rotated refresh token", ROTATED_REFRESH_TOKEN),
        ("IdP access token", ACCESS_TOKEN),
        ("device code", DEVICE_CODE),
        ("client secret", CLIENT_SECRET),
    ] {
        leaks.secret(name, secret);
    }
    for (name, key) in [
        ("client signing key", &client_key),
        ("IdP signing key", &idp.key),
    ] {
        for line in key
            .expose_private_pem()
            .lines()
            .filter(|line| !line.starts_with("-----"))
        {
            leaks.secret(name, line);
        }
    }
    let everything = format!("{logged}\n{}", leaks.shown);
    leaks.secrets.sort();
    leaks.secrets.dedup();
    for (name, secret) in &leaks.secrets {
        assert_absent(&everything, name, secret);
    }
}
