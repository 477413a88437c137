//! `xaa demo --sign-in`: the sign-in leg, with the demo playing the person.
//!
//! The authorization code flow with PKCE (RFC 6749 section 4.1, RFC 7636, OpenID Connect
//! Core 1.0 section 3.1) runs through the library as `xaa login` runs it: the IdP's metadata
//! discovered, the authorization request built by [`AuthorizationRequest`] (`state`, `nonce`,
//! S256 challenge), the redirect received by the same loopback listener as `xaa login`'s
//! (`login::listener`, RFC 8252 section 7.3), its query checked by
//! [`PendingSignIn::accept`](xaa::signin::PendingSignIn::accept) (`state`, `iss`), the code
//! exchanged and the ID token validated by [`CodeExchange`] (signature against the IdP's key
//! set, `iss`, `aud`, `exp`, `nonce`).
//!
//! Where `xaa login` waits for a person, the demo acts as the browser over HTTP: it GETs the
//! authorization URL, reads the sign-in form ([`SignInForm`]), posts the choice of
//! [`USER`], and follows the `303` to its own listener, from a second thread, since the
//! listener answers that request only once the code is exchanged. Neither the code, the
//! `state`, the `nonce` nor any token is printed: the URLs are shown without their query and
//! the tokens as fingerprints.

use std::thread;
use std::time::{Duration, Instant};

use http::header::{CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};
use url::Url;

use xaa::discovery::AuthServerDiscovery;
use xaa::signin::{
    AuthorizationRequest, CodeExchange, IdpKeys, PendingSignIn, SignIn, SignInClient,
    SignInOptions, SystemRandom, sha256,
};
use xaa::{HttpRequest, HttpResponse, Policy, Purpose};
use xaa_testkit::Testkit;

use super::sign_in_page::SignInForm;
use super::steps::{Steps, drive, now_ms, transport_failure};
use crate::exit::{Failure, classify};
use crate::login::accepted;
use crate::login::listener::{CallbackListener, ListenError};
use crate::secrets::fingerprint;
use crate::terminal::shown;

/// The person the demo signs in as.
pub(super) const USER: &str = "alice";

/// How long the listener waits for the redirect the demo itself follows.
const CALLBACK_WAIT: Duration = Duration::from_secs(30);

/// What the kit's IdP recorded of the sign-in: the server's side of the code's redemption.
pub(super) struct IdpRecord {
    /// Authorization codes redeemed successfully.
    pub(super) code_redemptions: usize,
    /// Of those, how many with a `code_verifier` matching the `code_challenge` (RFC 7636
    /// section 4.6).
    pub(super) pkce_verified: usize,
}

impl IdpRecord {
    /// The kit's record so far.
    pub(super) fn of(kit: &Testkit) -> Self {
        let redemptions: Vec<_> = kit
            .sign_in_records()
            .into_iter()
            .filter(|record| {
                record.succeeded() && record.grant_type.as_deref() == Some("authorization_code")
            })
            .collect();
        Self {
            code_redemptions: redemptions.len(),
            pkce_verified: redemptions
                .iter()
                .filter(|record| record.pkce_verified == Some(true))
                .count(),
        }
    }
}

/// Signs [`USER`] in at the kit's IdP, every request a step; the ID token is validated.
pub(super) fn sign_in(
    kit: &Testkit,
    client: &xaa_ureq::Client,
    steps: &mut Steps,
) -> Result<SignIn, Failure> {
    let policy = Policy::loopback();
    let mut discovery = AuthServerDiscovery::new(kit.idp_issuer(), Purpose::IdpMetadata, &policy)
        .map_err(|e| classify(&e))?;
    let discovered = drive(&mut discovery, client, steps)?;
    let idp = SignInClient::new(
        (*discovered.metadata).clone(),
        kit.idp_credentials(),
        &policy,
    )
    .map_err(|e| classify(&e))?;
    let listener = CallbackListener::bind()
        .map_err(|e| Failure::Protocol(format!("cannot listen on 127.0.0.1: {e}")))?;
    let redirect_uri = listener.redirect_uri();
    let request = AuthorizationRequest::new(
        &idp,
        &redirect_uri,
        &SignInOptions::default(),
        &SystemRandom,
        &sha256,
    )
    .map_err(|e| classify(&e))?;
    let (url, pending) = request.into_parts();
    let form = open_sign_in_page(client, steps, &url)?;
    let callback_url = submit(client, steps, &form, &redirect_uri)?;
    let deadline = Instant::now() + CALLBACK_WAIT;
    thread::scope(|scope| {
        let at = steps.elapsed_ms();
        let started = Instant::now();
        let browser = scope.spawn(|| {
            client
                .send(get(&callback_url, "the redirect")?)
                .map_err(transport_failure)
        });
        let outcome = receive(listener, deadline, &idp, pending, client, steps);
        let page = browser.join().unwrap_or_else(|_| {
            Err(Failure::Protocol(
                "the demo's browser stopped while following the redirect".into(),
            ))
        });
        let page = match (outcome.as_ref(), page) {
            (_, Ok(page)) => page,
            (Ok(_), Err(failure)) => return Err(failure),
            (Err(_), Err(_)) => return outcome,
        };
        steps.record(
            json!({"step": "callback", "method": "GET", "url": redirect_uri,
            "status": page.status().as_u16(), "at_ms": at, "took_ms": now_ms(started),
            "answer": {"page": heading(&page)}}),
        );
        outcome
    })
}

/// The listener's side: the redirect's query checked, the code exchanged, the ID token
/// validated, and the browser answered with the outcome.
fn receive(
    listener: CallbackListener,
    deadline: Instant,
    idp: &SignInClient,
    pending: PendingSignIn,
    client: &xaa_ureq::Client,
    steps: &mut Steps,
) -> Result<SignIn, Failure> {
    let callback = listener.wait(deadline).map_err(|e| match e {
        ListenError::TimedOut => {
            Failure::Protocol("the redirect did not reach the demo's listener in time".into())
        }
        ListenError::Io(e) => Failure::Protocol(format!("the redirect listener failed: {e}")),
    })?;
    let (code, callback) = accepted(&pending, callback)?;
    let outcome = CodeExchange::new(idp, IdpKeys::new(), pending, code)
        .map_err(|e| classify(&e))
        .and_then(|mut exchange| drive(&mut exchange, client, steps));
    match &outcome {
        Ok(_) => callback.answer(Ok(())),
        Err(failure) => callback.answer(Err(&failure.to_string())),
    }
    outcome
}

/// GETs the authorization URL as a browser would and reads the sign-in form on the page.
fn open_sign_in_page(
    client: &xaa_ureq::Client,
    steps: &mut Steps,
    url: &Url,
) -> Result<SignInForm, Failure> {
    let at = steps.elapsed_ms();
    let started = Instant::now();
    let page = client
        .send(get(url.as_str(), "the authorization URL")?)
        .map_err(transport_failure)?;
    let form = match page.status().as_u16() {
        200 => {
            let html = String::from_utf8_lossy(page.body());
            SignInForm::read(&html, url).map_err(|e| Failure::Protocol(e.to_string()))
        }
        status => Err(Failure::Protocol(format!(
            "the IdP answered the sign-in page with {status}"
        ))),
    };
    let parameter = |name: &str| {
        url.query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.into_owned())
    };
    let mut answer = json!({
        "client_id": parameter("client_id"),
        "scope": parameter("scope"),
        "code_challenge_method": parameter("code_challenge_method"),
    });
    if let Ok(form) = &form {
        answer["users"] = json!(form.users);
    }
    steps.record(
        json!({"step": "sign_in_page", "method": "GET", "url": without_query(url),
        "status": page.status().as_u16(), "at_ms": at, "took_ms": now_ms(started),
        "answer": answer}),
    );
    form
}

/// Chooses [`USER`] on `form` and submits it; returns where the IdP sends the browser, which
/// must be the demo's own listener.
fn submit(
    client: &xaa_ureq::Client,
    steps: &mut Steps,
    form: &SignInForm,
    redirect_uri: &str,
) -> Result<String, Failure> {
    if !form.users.iter().any(|user| user == USER) {
        return Err(Failure::Protocol(format!(
            "the sign-in page does not offer the user {USER}"
        )));
    }
    let mut fields = url::form_urlencoded::Serializer::new(String::new());
    fields.extend_pairs(&form.hidden);
    fields.append_pair("user", USER);
    if let Some((name, value)) = &form.submit {
        fields.append_pair(name, value);
    }
    let mut request = HttpRequest::new(fields.finish().into_bytes());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri(form.action.as_str(), "the sign-in form's action")?;
    request.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let at = steps.elapsed_ms();
    let started = Instant::now();
    let answer = client.send(request).map_err(transport_failure)?;
    let location = redirect_target(&answer, redirect_uri);
    let shown_answer = match &location {
        Ok(target) => redirect_fields(target),
        Err(_) => json!({}),
    };
    steps.record(json!({"step": "sign_in_submit", "method": "POST",
        "url": without_query(&form.action), "status": answer.status().as_u16(),
        "at_ms": at, "took_ms": now_ms(started), "answer": shown_answer}));
    location
}

/// The `Location` of a `303` that leads to the demo's listener.
fn redirect_target(answer: &HttpResponse, redirect_uri: &str) -> Result<String, Failure> {
    let status = answer.status().as_u16();
    let location = answer
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .filter(|_| status == 303)
        .ok_or_else(|| {
            Failure::Protocol(format!(
                "the IdP answered the sign-in with {status}, not a redirect to the demo"
            ))
        })?;
    let target = Url::parse(location)
        .ok()
        .filter(|target| without_query(target) == redirect_uri)
        .ok_or_else(|| {
            Failure::Protocol(format!(
                "the IdP redirected to {}, not to the demo's listener",
                Url::parse(location).map_or_else(
                    |_| "a location that is not a URL".to_owned(),
                    |target| shown(&without_query(&target)).into_owned()
                )
            ))
        })?;
    Ok(target.into())
}

/// What the redirect carries, shown without a secret: the code as a fingerprint, `state`
/// only as present or absent, `iss` as it is.
fn redirect_fields(target: &str) -> Value {
    let Ok(target) = Url::parse(target) else {
        return json!({});
    };
    let value = |name: &str| {
        target
            .query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.into_owned())
    };
    let mut fields = json!({
        "redirect_to": without_query(&target),
        "state": if value("state").is_some() { "present" } else { "absent" },
    });
    for (name, shown) in [
        ("code", value("code").as_deref().map(fingerprint)),
        ("iss", value("iss")),
        ("error", value("error")),
    ] {
        if let Some(shown) = shown {
            fields[name] = json!(shown);
        }
    }
    fields
}

/// `url` without its query and fragment: what may be shown of a URL carrying a secret.
fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.into()
}

/// A `GET` of `url`, which is `what`.
fn get(url: &str, what: &str) -> Result<HttpRequest, Failure> {
    let mut request = HttpRequest::new(Vec::new());
    *request.uri_mut() = uri(url, what)?;
    Ok(request)
}

/// `url`, which is `what`, as a request target; the URL is not repeated in the error, since
/// it may carry a code.
fn uri(url: &str, what: &str) -> Result<http::Uri, Failure> {
    url.parse()
        .map_err(|_| Failure::Protocol(format!("{what} is not a URL the demo can request")))
}

/// The text of the first `<h1>` of a page, if any.
fn heading(page: &HttpResponse) -> Option<String> {
    let html = String::from_utf8_lossy(page.body());
    let start = html.find("<h1>")? + "<h1>".len();
    let end = start + html[start..].find("</h1>")?;
    Some(html[start..end].to_owned())
}
