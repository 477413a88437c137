//! The demo's steps: each request made, printed as it completes (or kept for one JSON
//! document), with the fields of its answer worth showing and never a whole token, code or
//! key. A flow of the core is driven here, one request at a time, so that every request it
//! makes becomes a step.

use std::time::{Instant, SystemTime};

use http::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

use xaa::{Flow, HttpResponse, Output, Purpose};

use crate::exit::{Failure, classify};
use crate::secrets::fingerprint;
use crate::terminal::{self, shown};

/// Collects the steps; prints each as it happens unless the output is one JSON document.
pub(super) struct Steps {
    json: bool,
    steps: Vec<Value>,
    started: Instant,
}

impl Steps {
    /// No step yet; the clock of `at_ms` starts now.
    pub(super) fn new(json: bool) -> Self {
        Self {
            json,
            steps: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Keeps `step` (`step`, `method`, `url`, `status`, `at_ms`, `took_ms`, `answer`) and
    /// prints it unless the output is JSON; every string is escaped for the terminal.
    pub(super) fn record(&mut self, step: Value) {
        if !self.json {
            let status = step["status"]
                .as_u64()
                .map_or(String::new(), |s| format!(" -> {s}"));
            let text = |key: &str| shown(step[key].as_str().unwrap_or("")).into_owned();
            println!(
                "[{:>6.1} ms] {:<30} {} {}{status}  ({:.1} ms)",
                step["at_ms"].as_f64().unwrap_or(0.0),
                text("step"),
                text("method"),
                text("url"),
                step["took_ms"].as_f64().unwrap_or(0.0),
            );
            if let Some(fields) = step["answer"].as_object() {
                for (name, value) in fields {
                    println!(
                        "{:>14}{}: {}",
                        "",
                        shown(name),
                        terminal::json(value, false)
                    );
                }
            }
        }
        self.steps.push(step);
    }

    /// Milliseconds since the start of the demo.
    pub(super) fn elapsed_ms(&self) -> f64 {
        now_ms(self.started)
    }

    /// How many steps so far.
    pub(super) fn len(&self) -> usize {
        self.steps.len()
    }

    /// The steps, for the JSON document.
    pub(super) fn into_values(self) -> Vec<Value> {
        self.steps
    }
}

/// Milliseconds since `since`.
pub(super) fn now_ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Runs `flow` to its end through `client`, each request a step named after its purpose.
pub(super) fn drive<F: Flow>(
    flow: &mut F,
    client: &xaa_ureq::Client,
    steps: &mut Steps,
) -> Result<F::Output, Failure> {
    loop {
        let mut outstanding = Vec::new();
        loop {
            match flow
                .poll_output(SystemTime::now())
                .map_err(|e| classify(&e))?
            {
                Output::Transmit(transmit) => outstanding.push(transmit),
                Output::Wait => break,
                Output::Done(output) => return Ok(output),
            }
        }
        if outstanding.is_empty() {
            return Err(Failure::Protocol("the flow stalled".into()));
        }
        for transmit in outstanding {
            let at = steps.elapsed_ms();
            let (method, url) = (
                transmit.request.method().to_string(),
                transmit.request.uri().to_string(),
            );
            let started = Instant::now();
            let response = client.send(transmit.request).map_err(transport_failure)?;
            steps.record(
                json!({"step": transmit.purpose.as_str(), "method": method, "url": url,
                "status": response.status().as_u16(), "at_ms": at, "took_ms": now_ms(started),
                "answer": answer_fields(transmit.purpose, &response)}),
            );
            flow.handle_response(SystemTime::now(), transmit.id, response)
                .map_err(|e| classify(&e))?;
        }
    }
}

/// A failure to reach a server, its text escaped.
pub(super) fn transport_failure(error: xaa_ureq::Error) -> Failure {
    Failure::Protocol(shown(&error.to_string()).into_owned())
}

/// The fields of an answer worth showing; tokens only as fingerprints.
fn answer_fields(purpose: Purpose, response: &HttpResponse) -> Value {
    let body: Value = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    let pick = |names: &[&str]| -> Value {
        names
            .iter()
            .filter_map(|n| body.get(*n).map(|v| ((*n).to_owned(), v.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let token = |name: &str| body.get(name).and_then(Value::as_str).map(fingerprint);
    if response.status().is_client_error() && purpose != Purpose::ResourceProbe {
        let mut fields = pick(&["error", "error_description"]);
        if let Some(nonce) = response.headers().get("dpop-nonce") {
            fields["dpop_nonce"] = json!(String::from_utf8_lossy(nonce.as_bytes()));
        }
        return fields;
    }
    match purpose {
        Purpose::ResourceProbe => {
            json!({"www_authenticate": response.headers().get(WWW_AUTHENTICATE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())})
        }
        Purpose::ResourceMetadata => {
            pick(&["resource", "authorization_servers", "scopes_supported"])
        }
        Purpose::AuthorizationServerMetadata | Purpose::IdpMetadata => {
            pick(&["issuer", "token_endpoint", "grant_types_supported"])
        }
        Purpose::TokenExchange => {
            let mut fields = pick(&["issued_token_type", "token_type", "expires_in", "scope"]);
            fields["id_jag"] = json!(token("access_token"));
            fields
        }
        Purpose::JwtBearer => {
            let mut fields = pick(&["token_type", "expires_in", "scope"]);
            fields["access_token"] = json!(token("access_token"));
            fields
        }
        Purpose::CodeExchange => {
            let mut fields = pick(&["token_type", "expires_in", "scope"]);
            for name in ["id_token", "refresh_token"] {
                if let Some(fingerprint) = token(name) {
                    fields[name] = json!(fingerprint);
                }
            }
            fields
        }
        Purpose::IdpKeys => {
            let kids: Vec<&Value> = body["keys"]
                .as_array()
                .map(|keys| keys.iter().filter_map(|key| key.get("kid")).collect())
                .unwrap_or_default();
            json!({"kids": kids})
        }
        _ => pick(&["error", "error_description"]),
    }
}
