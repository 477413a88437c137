//! The `dpop_nonce` target: the client's handling of server-supplied DPoP nonces (RFC 9449
//! sections 8 and 9), at a token endpoint and at the MCP server.
//!
//! Input: a sequence of hostile answers to the token exchange of a DPoP-bound flow (status,
//! error code, zero to two `DPoP-Nonce` headers of arbitrary bytes), then hostile `401`s from
//! the MCP server (a `WWW-Authenticate` value and `DPoP-Nonce` headers of arbitrary bytes).
//!
//! The oracle of a usable nonce is written here from the RFC: exactly one `DPoP-Nonce` field,
//! `1*NQCHAR` (visible ASCII without `"` and `\`, section 8.1), and this client's own bound of
//! 1024 bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use xaa::dpop::{DpopBinding, DpopPolicy, EsDpopKey, ResourceAnswer};
use xaa::grant::SubjectToken;
use xaa::jwt::peek;
use xaa::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, DpopRefusal, EnterpriseAuth,
    EnterpriseConfig, Error, Flow, HttpResponse, IdToken, IdentityProvider, Output, Purpose, Start,
};

use crate::checks::{json_response, now};
use crate::grants::{IDP_TOKEN, cached};
use crate::input::Input;
use crate::world::{AS_CLIENT, IDP_CLIENT, RESOURCE};

/// The longest nonce the client keeps.
const MAX_NONCE_BYTES: usize = 1024;

/// The target's key, generated once per process.
fn key() -> Arc<EsDpopKey> {
    static KEY: OnceLock<Arc<EsDpopKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(EsDpopKey::generate().expect("a P-256 key")))
        .clone()
}

fn binding() -> DpopBinding {
    let counter = Arc::new(AtomicU64::new(0));
    let jti = move || format!("jti-{}", counter.fetch_add(1, Ordering::Relaxed));
    DpopBinding::new(key(), Arc::new(jti), DpopPolicy::Required)
}

/// Hostile nonce demands: the token exchange is sent at most twice, the second time only after
/// a `400 use_dpop_nonce` with one usable nonce and carrying exactly that nonce; a second demand
/// is [`DpopRefusal::NonceLoop`], a demand without a usable nonce [`DpopRefusal::NonceMissing`].
/// At the MCP server, a retry is advised only for a `401` whose `DPoP` challenge says
/// `use_dpop_nonce` with one usable nonce, and the next proof carries it.
pub fn dpop_nonce(data: &[u8]) {
    let mut input = Input::new(data);
    token_endpoint(&mut input);
    for _ in 0..4 {
        resource(&mut input);
    }
}

/// One hostile answer: its status, its body and its `DPoP-Nonce` fields.
struct Answer {
    status: u16,
    demand: bool,
    nonces: Vec<Vec<u8>>,
}

impl Answer {
    fn read(input: &mut Input<'_>) -> Self {
        let status = *input.pick(&[400, 400, 200, 401, 500]);
        let demand = status == 400 && !input.flag();
        let nonces = (0..input.below(3))
            .map(|_| input.chunk().to_vec())
            .collect();
        Self {
            status,
            demand,
            nonces,
        }
    }

    fn response(&self) -> HttpResponse {
        let code = if self.demand {
            "use_dpop_nonce"
        } else {
            "invalid_request"
        };
        let mut response = json_response(self.status, json!({"error": code}).to_string().into());
        add_nonces(response.headers_mut(), &self.nonces);
        response
    }

    /// The nonce the client must retry with, by the RFC: the one field's value, if usable.
    fn usable_nonce(&self) -> Option<String> {
        usable(&self.nonces)
    }
}

/// Adds as a `DPoP-Nonce` field each value the `http` crate accepts as a header value.
fn add_nonces(headers: &mut HeaderMap, nonces: &[Vec<u8>]) {
    for nonce in nonces {
        if let Ok(value) = HeaderValue::from_bytes(nonce) {
            headers.append("dpop-nonce", value);
        }
    }
}

/// The oracle: exactly one field (of those a header map can hold), `1*NQCHAR`, bounded.
fn usable(nonces: &[Vec<u8>]) -> Option<String> {
    let held: Vec<&Vec<u8>> = nonces
        .iter()
        .filter(|n| HeaderValue::from_bytes(n).is_ok())
        .collect();
    let [only] = held.as_slice() else {
        return None;
    };
    let nqchar = |b: &u8| *b == 0x21 || (0x23..=0x5B).contains(b) || (0x5D..=0x7E).contains(b);
    let ok = !only.is_empty() && only.len() <= MAX_NONCE_BYTES && only.iter().all(nqchar);
    ok.then(|| String::from_utf8_lossy(only).into_owned())
}

fn token_endpoint(input: &mut Input<'_>) {
    let idp = IdentityProvider::token_endpoint(
        IDP_TOKEN,
        ClientCredentials::post(IDP_CLIENT, ClientSecret::new("idp-secret")),
    );
    let server = AuthorizationServer::discovered(ClientCredentials::basic(
        AS_CLIENT,
        ClientSecret::new("as-secret"),
    ));
    let subject = SubjectToken::IdToken(IdToken::new("not-a-jwt-but-opaque-enough"));
    let config = EnterpriseConfig::new(idp, subject, server).dpop(binding());
    let Ok(mut flow) = EnterpriseAuth::new(config, Start::Cached(cached())) else {
        panic!("the fixed bound flow is refused");
    };
    let mut sent = 0;
    let mut expected_nonce: Option<String> = None;
    let mut last: Option<Answer> = None;
    loop {
        match flow.poll_output(now()) {
            Ok(Output::Transmit(transmit)) => {
                if transmit.purpose != Purpose::TokenExchange {
                    // Past the exchange: an answer was accepted, which only a success can be.
                    assert!(last.as_ref().is_some_and(|a| a.status == 200));
                    return;
                }
                sent += 1;
                assert!(sent <= 2, "the exchange is retried once at most");
                let proof = transmit
                    .request
                    .headers()
                    .get("dpop")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let Some(proof) = proof else {
                    panic!("a bound exchange carries a proof");
                };
                let Ok(claims) = peek(&proof).map(|p| p.claims) else {
                    panic!("the proof is a JWS");
                };
                assert_eq!(claims.get("htu").and_then(|v| v.as_str()), Some(IDP_TOKEN));
                assert_eq!(
                    claims.get("nonce").and_then(|v| v.as_str()),
                    expected_nonce.as_deref(),
                    "the retry carries the nonce of the demand, the first try none"
                );
                let answer = Answer::read(input);
                expected_nonce = answer.usable_nonce();
                let response = answer.response();
                last = Some(answer);
                if flow.handle_response(now(), transmit.id, response).is_err() {
                    panic!("the flow refused the answer to its own request");
                }
            }
            Ok(Output::Wait) => panic!("a single request outstanding was answered"),
            Ok(Output::Done(_)) => panic!("the exchange's answer cannot carry an access token"),
            Err(error) => {
                check_end(&error, last.as_ref(), sent);
                return;
            }
        }
    }
}

/// The flow's end agrees with the last answer.
fn check_end(error: &Error, last: Option<&Answer>, sent: usize) {
    let Some(last) = last else {
        panic!("the flow failed before sending: {error}");
    };
    let refusal = match error {
        Error::Dpop { refusal, .. } => Some(refusal),
        _ => None,
    };
    match (last.demand, last.usable_nonce()) {
        (true, Some(_)) => {
            assert_eq!(sent, 2, "a first demand with a nonce is retried");
            assert_eq!(refusal, Some(&DpopRefusal::NonceLoop));
        }
        (true, None) => assert_eq!(refusal, Some(&DpopRefusal::NonceMissing)),
        (false, _) => assert!(
            !matches!(
                refusal,
                Some(DpopRefusal::NonceLoop | DpopRefusal::NonceMissing)
            ),
            "no demand, no nonce refusal: {error}"
        ),
    }
}

fn resource(input: &mut Input<'_>) {
    let binding = binding();
    let uri: http::Uri = RESOURCE.parse().expect("the resource URI");
    let status = *input.pick(&[401, 401, 403, 200]);
    let challenge = input.chunk().to_vec();
    let nonces: Vec<Vec<u8>> = (0..input.below(3))
        .map(|_| input.chunk().to_vec())
        .collect();
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(&challenge) {
        headers.insert("www-authenticate", value);
    }
    add_nonces(&mut headers, &nonces);
    let status = StatusCode::from_u16(status).expect("a status");
    let answer = binding.resource_answer(&uri, status, &headers);
    let nonce = usable(&nonces);
    if answer == ResourceAnswer::RetryWithNonce {
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(nonce.is_some(), "a retry needs a usable nonce");
    }
    // Whatever the answer, a usable nonce is what the next proof to that server carries.
    let token = AccessToken::new("at").bound_to(binding.jkt().to_owned());
    let Ok(next) = binding.resource_headers(&http::Method::POST, &uri, b"{}", &token, now()) else {
        panic!("a proof for the fixed request");
    };
    let claims = next
        .dpop
        .to_str()
        .ok()
        .and_then(|p| peek(p).ok())
        .map(|p| p.claims);
    let Some(claims) = claims else {
        panic!("the proof is a JWS");
    };
    assert_eq!(
        claims.get("nonce").and_then(|v| v.as_str()),
        nonce.as_deref()
    );
}
