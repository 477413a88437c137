//! Closure fakes for the sign-in flows: an IdP whose metadata, token endpoint and key set are
//! scripted per test, every request recorded, and a runner that drives a flow against it.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use xaa::discovery::AuthorizationServerMetadata;
use xaa::signin::{RandomUnavailable, SignInClient};
use xaa::{ClientCredentials, Error, Flow, HttpRequest, HttpResponse, Output, Policy, Purpose};

pub const IDP: &str = "https://idp.example.com";
pub const AUTHORIZE: &str = "https://idp.example.com/authorize";
pub const TOKEN: &str = "https://idp.example.com/token";
pub const JWKS: &str = "https://idp.example.com/jwks";
pub const DEVICE: &str = "https://idp.example.com/device";
pub const REVOKE: &str = "https://idp.example.com/revoke";
pub const CLIENT: &str = "xaa-cli";
pub const REDIRECT: &str = "http://127.0.0.1:8123/callback";

/// Asserts that `outcome` is the end of the session: `invalid_grant` in a 400 answer to the
/// request of `purpose`, which asks the person to sign in again.
pub fn assert_reauthentication_required<T: std::fmt::Debug>(
    outcome: Result<T, Error>,
    purpose: Purpose,
) {
    let Err(Error::ReauthenticationRequired {
        purpose: refused,
        status,
        error,
    }) = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        (refused, status, error.code),
        (purpose, 400, xaa::ErrorCode::InvalidGrant)
    );
}

/// The fixed "now" of every test: 2026-11-26T00:00:00Z.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_651_200)
}

pub fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs()
}

/// The IdP's metadata, with `changes` merged over the defaults.
pub fn metadata_with(changes: Value) -> AuthorizationServerMetadata {
    let mut document = json!({
        "issuer": IDP,
        "authorization_endpoint": AUTHORIZE,
        "token_endpoint": TOKEN,
        "jwks_uri": JWKS,
        "device_authorization_endpoint": DEVICE,
        "revocation_endpoint": REVOKE,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "offline_access"],
    });
    if let (Some(base), Some(changes)) = (document.as_object_mut(), changes.as_object()) {
        for (name, value) in changes {
            if value.is_null() {
                base.remove(name);
            } else {
                base.insert(name.clone(), value.clone());
            }
        }
    }
    AuthorizationServerMetadata::from_json(document.to_string().as_bytes()).expect("metadata")
}

pub fn client_with(metadata: AuthorizationServerMetadata) -> SignInClient {
    SignInClient::new(
        metadata,
        ClientCredentials::public(CLIENT),
        &Policy::default(),
    )
    .expect("a usable IdP")
}

pub fn client() -> SignInClient {
    client_with(metadata_with(json!({})))
}

/// Deterministic "random" bytes: each call fills with the next value of a counter, so the
/// verifier, state and nonce differ and are known.
pub fn counting_random() -> impl Fn(&mut [u8]) -> Result<(), RandomUnavailable> + Send + Sync {
    let next = std::sync::atomic::AtomicU8::new(1);
    move |out: &mut [u8]| {
        let value = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        out.fill(value);
        Ok(())
    }
}

/// base64url of 32 bytes of `value`: what [`counting_random`] makes its `value`-th draw into.
pub fn drawn(value: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([value; 32])
}

pub fn json_response(status: u16, body: Value) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string().into_bytes())
        .expect("response")
}

pub fn oauth_error(status: u16, code: &str) -> HttpResponse {
    json_response(status, json!({"error": code}))
}

/// One request the flow sent.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub purpose: Purpose,
    pub method: String,
    pub url: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    fn of(purpose: Purpose, request: &HttpRequest) -> Self {
        let header = |name| {
            request
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Self {
            purpose,
            method: request.method().to_string(),
            url: request.uri().to_string(),
            authorization: header(AUTHORIZATION),
            content_type: header(CONTENT_TYPE),
            form: url::form_urlencoded::parse(request.body())
                .into_owned()
                .collect(),
        }
    }

    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

pub fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// A scripted IdP: answers are taken in order per purpose.
#[derive(Default)]
pub struct FakeIdp {
    pub token_answers: VecDeque<HttpResponse>,
    pub jwks_answers: VecDeque<HttpResponse>,
    pub device_answers: VecDeque<HttpResponse>,
    pub revoke_answers: VecDeque<HttpResponse>,
    pub log: Vec<Recorded>,
}

impl FakeIdp {
    pub fn answer(&mut self, purpose: Purpose, request: &HttpRequest) -> HttpResponse {
        self.log.push(Recorded::of(purpose, request));
        let queue = match purpose {
            Purpose::IdpKeys => &mut self.jwks_answers,
            Purpose::DeviceAuthorization => &mut self.device_answers,
            Purpose::Revocation => &mut self.revoke_answers,
            _ => &mut self.token_answers,
        };
        queue
            .pop_front()
            .unwrap_or_else(|| panic!("no answer scripted for {purpose}"))
    }

    pub fn purposes(&self) -> Vec<Purpose> {
        self.log.iter().map(|r| r.purpose).collect()
    }

    /// Drives `flow` at `now` until it is done; every request is answered at once.
    pub fn run<F: Flow>(&mut self, flow: &mut F, now: SystemTime) -> Result<F::Output, Error> {
        for _ in 0..32 {
            match flow.poll_output(now)? {
                Output::Transmit(transmit) => {
                    let response = self.answer(transmit.purpose, &transmit.request);
                    flow.handle_response(now, transmit.id, response)?;
                }
                Output::Wait => panic!("the flow waits with nothing outstanding"),
                Output::Done(output) => return Ok(output),
            }
        }
        panic!("the flow did not finish")
    }
}
