//! Every request the kit receives, as it arrived and how it was answered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use xaa::server::ClientAuthMethod;

use crate::endpoint::{Endpoint, Server};
use crate::sign_in_record::SignInRecord;

/// The client credentials a request presented, as seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresentedCredentials {
    /// How: an `Authorization: Basic` header ([`ClientAuthMethod::ClientSecretBasic`]), a
    /// `client_secret` in the body ([`ClientAuthMethod::ClientSecretPost`]), a
    /// `client_assertion` ([`ClientAuthMethod::PrivateKeyJwt`]), or a `client_id` alone
    /// ([`ClientAuthMethod::None`]).
    pub method: ClientAuthMethod,
    /// The client id: the Basic user, the body's `client_id`, or the assertion's `sub`.
    pub client_id: Option<String>,
}

impl PresentedCredentials {
    /// The method's registered name (`client_secret_basic`, ...).
    pub fn method_name(&self) -> &'static str {
        self.method.as_str()
    }
}

/// One request received by the kit.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// A sequence number, unique within the kit.
    pub seq: u64,
    /// Which server received it.
    pub server: Server,
    /// The endpoint it was routed to; `None` for an unknown path (answered 404).
    pub endpoint: Option<Endpoint>,
    /// The HTTP method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query, if any.
    pub query: Option<String>,
    /// The request headers (credentials included: this is a test kit).
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// The decoded form parameters, for an `application/x-www-form-urlencoded` body.
    pub form: Vec<(String, String)>,
    /// The client credentials presented, if any.
    pub credentials: Option<PresentedCredentials>,
    /// The JSON-RPC `method` of an MCP POST.
    pub rpc_method: Option<String>,
    /// The `grant_type` form parameter of a token request (the first, if repeated).
    pub grant_type: Option<String>,
    /// The `DPoP` header, if the request carried one (the first, if repeated): the proof.
    pub dpop_proof: Option<String>,
    /// The scheme of the `Authorization` header (`Bearer`, `DPoP`, `Basic`, as sent).
    pub authorization_scheme: Option<String>,
    /// The response status; `None` while in flight, or if the client went away first.
    pub status: Option<StatusCode>,
    /// When the request arrived (its headers were read).
    pub started: Instant,
    /// When the response was ready to be sent (after any delay).
    pub finished: Option<Instant>,
}

impl RecordedRequest {
    /// The path and query, as requested.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }

    /// A form parameter (the first, if repeated).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The form parameter names, in order.
    pub fn param_names(&self) -> Vec<&str> {
        self.form.iter().map(|(key, _)| key.as_str()).collect()
    }

    /// Whether it went to a token endpoint.
    pub fn is_token_request(&self) -> bool {
        self.endpoint.is_some_and(Endpoint::is_token_endpoint)
    }

    /// Whether the request carried a `DPoP` header (RFC 9449 section 4.1).
    pub fn has_dpop_proof(&self) -> bool {
        self.dpop_proof.is_some()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// The log of requests.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    next: AtomicU64,
    records: Mutex<Vec<RecordedRequest>>,
    sign_ins: Mutex<Vec<SignInRecord>>,
}

impl Recorder {
    /// Records a request as it arrives; returns its sequence number for [`Recorder::finish`].
    pub(crate) fn begin(
        &self,
        server: Server,
        endpoint: Option<Endpoint>,
        request: &http::Request<Vec<u8>>,
        started: Instant,
    ) -> u64 {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let form = if is_form(request.headers()) {
            crate::form::decode(request.body())
        } else {
            Vec::new()
        };
        let credentials = presented_credentials(request.headers(), &form);
        let rpc_method = (endpoint == Some(Endpoint::McpServer))
            .then(|| serde_json::from_slice::<serde_json::Value>(request.body()).ok())
            .flatten()
            .and_then(|value| value.get("method")?.as_str().map(str::to_owned));
        let grant_type = form
            .iter()
            .find(|(key, _)| key == "grant_type")
            .map(|(_, value)| value.clone());
        let header_text = |name| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let dpop_proof = header_text(xaa::dpop::DPOP_HEADER);
        let authorization_scheme = header_text(AUTHORIZATION.as_str())
            .and_then(|value| value.split_whitespace().next().map(str::to_owned));
        let record = RecordedRequest {
            seq,
            server,
            endpoint,
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().map(str::to_owned),
            headers: request.headers().clone(),
            body: request.body().clone(),
            form,
            credentials,
            rpc_method,
            grant_type,
            dpop_proof,
            authorization_scheme,
            status: None,
            started,
            finished: None,
        };
        self.lock().push(record);
        seq
    }

    /// Notes how the request was answered.
    pub(crate) fn finish(&self, seq: u64, status: StatusCode, finished: Instant) {
        let mut records = self.lock();
        if let Some(record) = records.iter_mut().rev().find(|record| record.seq == seq) {
            record.status = Some(status);
            record.finished = Some(finished);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
        self.sign_ins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Notes how the IdP judged a request to a sign-in endpoint.
    pub(crate) fn note_sign_in(&self, record: SignInRecord) {
        self.sign_ins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    pub(crate) fn sign_ins(&self) -> Vec<SignInRecord> {
        self.sign_ins
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Which client credentials the request carries: Basic header, `client_assertion`,
/// `client_secret`, or `client_id` alone, in that order of precedence.
fn presented_credentials(
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Option<PresentedCredentials> {
    let param = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            value
                .trim_start()
                .get(..6)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "))
        });
    let (method, client_id) = if let Some(value) = basic {
        let client_id = crate::form::parse_basic_authorization(value).map(|(id, _)| id);
        (ClientAuthMethod::ClientSecretBasic, client_id)
    } else if let Some(assertion) = param("client_assertion") {
        let client_id = param("client_id").or_else(|| {
            xaa::jwt::peek(&assertion)
                .ok()
                .and_then(|jwt| jwt.claim_str("sub").map(str::to_owned))
        });
        (ClientAuthMethod::PrivateKeyJwt, client_id)
    } else if param("client_secret").is_some() {
        (ClientAuthMethod::ClientSecretPost, param("client_id"))
    } else if let Some(client_id) = param("client_id") {
        (ClientAuthMethod::None, Some(client_id))
    } else {
        return None;
    };
    Some(PresentedCredentials { method, client_id })
}
