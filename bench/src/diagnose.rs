//! Where the client's CPU time goes in a warm exchange: each contender's protocol work with
//! the network taken out (the two token responses captured from the kit once and handed back
//! from memory), so that the rest of its CPU time is the HTTP transport's.

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use rmcp::transport::auth::enterprise::EmaExchangeRequest;
use rmcp::transport::auth::{OAuthHttpClient, OAuthHttpClientFuture, OAuthHttpRequest};
use xaa::{EnterpriseAuth, Flow, HttpResponse, Output, Start};

use crate::contenders::BoxError;
use crate::stats::{Summary, ThreadCpu, median_f64};
use crate::target::{SCOPE, Target};

/// The kit's answers to a flow's requests, by URL, captured once.
#[derive(Clone)]
pub(crate) struct Canned {
    responses: Vec<(String, HttpResponse)>,
}

impl Canned {
    fn for_uri(&self, uri: &str) -> HttpResponse {
        self.responses
            .iter()
            .find(|(kept, _)| kept == uri)
            .map(|(_, response)| response.clone())
            .unwrap_or_else(|| {
                let mut response = HttpResponse::new(Vec::new());
                *response.status_mut() = http::StatusCode::NOT_FOUND;
                response
            })
    }
}

/// Runs one xaa flow from `start` against the kit and keeps every response.
pub(crate) async fn capture(
    target: &Target,
    client: &xaa_reqwest::Client,
    start: Start,
) -> Result<Canned, BoxError> {
    let kept: Mutex<Vec<(String, HttpResponse)>> = Mutex::new(Vec::new());
    let kept_ref = &kept;
    let flow = EnterpriseAuth::new(target.xaa_config(false), start)?;
    xaa::drive_async(flow, SystemTime::now, move |request| {
        let uri = request.uri().to_string();
        async move {
            let response = client.send(request).await?;
            if let Ok(mut kept) = kept_ref.lock() {
                kept.push((uri, response.clone()));
            }
            Ok::<_, xaa_reqwest::Error>(response)
        }
    })
    .await
    .map_err(|error| format!("capture: {error}"))?;
    let responses = kept.into_inner().map_err(|_| "capture: poisoned")?;
    Ok(Canned { responses })
}

/// Per-exchange CPU time of each contender's protocol work, without I/O.
#[derive(Clone, Debug, Default)]
pub(crate) struct Breakdown {
    /// `config.clone()` and `discovery.clone()`: what `Start::Cached` takes by value.
    pub(crate) xaa_clones: Summary,
    /// `EnterpriseAuth::new` (clones included) up to the first request.
    pub(crate) xaa_new: Summary,
    /// The whole warm flow through the state machine (clones, both requests built, both
    /// responses judged).
    pub(crate) xaa_flow: Summary,
    /// rmcp's `EmaExchangeRequest::exchange` over an `OAuthHttpClient` answering from memory.
    pub(crate) rmcp: Summary,
    /// The floor's own work: the second form body and two JSON parses.
    pub(crate) floor: Summary,
}

fn time<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let started = Instant::now();
    let out = work();
    (out, started.elapsed().as_nanos() as u64)
}

/// An xaa flow, answered from memory (first come, first answered).
fn xaa_flow(
    config: &xaa::EnterpriseConfig,
    start: Start,
    canned: &Canned,
) -> Result<String, BoxError> {
    let now = SystemTime::now();
    let mut flow = EnterpriseAuth::new(config.clone(), start)?;
    let mut pending = Vec::with_capacity(4);
    loop {
        match flow.poll_output(now)? {
            Output::Transmit(transmit) => pending.push(transmit),
            Output::Wait => {
                if pending.is_empty() {
                    return Err("the flow waits with nothing outstanding".into());
                }
                let transmit = pending.remove(0);
                let response = canned.for_uri(&transmit.request.uri().to_string());
                flow.handle_response(now, transmit.id, response)?;
            }
            Output::Done(authorization) => {
                return Ok(authorization.access_token.expose_secret().to_owned());
            }
        }
    }
}

/// CPU time (this thread) of one cold xaa flow from the MCP server URL through the state
/// machine, answered from memory: the median over batches of 100 flows, per flow.
pub(crate) fn cold_cpu(
    target: &Target,
    canned: &Canned,
    flows: usize,
) -> Result<Option<f64>, BoxError> {
    let config = target.xaa_config(false);
    let cpu = ThreadCpu::open();
    let mut per_flow = Vec::new();
    for batch in 0..flows.div_ceil(100) + 1 {
        let before = cpu.now();
        for _ in 0..100 {
            xaa_flow(&config, Start::ServerUrl(target.mcp_url.clone()), canned)?;
        }
        if let (Some(before), Some(after), true) = (before, cpu.now(), batch > 0) {
            per_flow.push(after.saturating_sub(before) as f64 / 100.0);
        }
    }
    Ok((!per_flow.is_empty()).then(|| median_f64(&per_flow)))
}

/// An `OAuthHttpClient` that answers from memory.
struct FromMemory(Canned);

impl OAuthHttpClient for FromMemory {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        let response = self.0.for_uri(&request.request.uri().to_string());
        Box::pin(async move { Ok(response) })
    }
}

#[derive(serde::Deserialize)]
struct TokenOnly {
    access_token: String,
}

/// The floor's work without I/O.
fn floor(target: &Target, canned: &Canned) -> Result<String, BoxError> {
    let exchange = canned.for_uri(&target.idp_token_endpoint);
    let bearer = canned.for_uri(&target.as_token_endpoint);
    let id_jag: TokenOnly = serde_json::from_slice(exchange.body())?;
    let body = serde_urlencoded::to_string([
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", id_jag.access_token.as_str()),
    ])?;
    std::hint::black_box(body);
    let access: TokenOnly = serde_json::from_slice(bearer.body())?;
    Ok(access.access_token)
}

/// Measures the breakdown over `iterations` rounds (the contenders alternating).
pub(crate) async fn breakdown(
    target: &Target,
    canned: &Canned,
    iterations: usize,
) -> Result<Breakdown, BoxError> {
    let config = target.xaa_config(false);
    let discovery = target
        .discovery
        .clone()
        .ok_or("the target carries no discovery")?;
    let memory = FromMemory(canned.clone());
    // One row per measured part: clones, new, flow, rmcp, floor.
    let mut samples: [Vec<u64>; 5] = Default::default();
    let warmup = iterations / 10;
    for iteration in 0..iterations + warmup {
        let mut row = [0u64; 5];
        row[0] = time(|| std::hint::black_box((config.clone(), discovery.clone()))).1;
        let (first, elapsed) = time(|| {
            EnterpriseAuth::new(config.clone(), Start::Cached(discovery.clone()))
                .map(|mut flow| flow.poll_output(SystemTime::now()).map(|_| ()))
        });
        first??;
        row[1] = elapsed;
        let (token, elapsed) = time(|| xaa_flow(&config, Start::Cached(discovery.clone()), canned));
        token?;
        row[2] = elapsed;
        let started = Instant::now();
        EmaExchangeRequest::new_with_id_token(
            target.rmcp_idp(),
            target.rmcp_as(),
            &target.mcp_url,
            &target.id_token,
        )
        .with_scopes([SCOPE])
        .exchange(&memory, &memory)
        .await?;
        row[3] = started.elapsed().as_nanos() as u64;
        let (token, elapsed) = time(|| floor(target, canned));
        token?;
        row[4] = elapsed;
        if iteration >= warmup {
            for (all, value) in samples.iter_mut().zip(row) {
                all.push(value);
            }
        }
    }
    let [clones, new, flow, rmcp, bare] = samples.map(|s| Summary::of(&s));
    Ok(Breakdown {
        xaa_clones: clones,
        xaa_new: new,
        xaa_flow: flow,
        rmcp,
        floor: bare,
    })
}
