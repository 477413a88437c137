//! The concurrent workload: MCP `tools/call` echo requests from many tasks, on a fixed
//! schedule, with access tokens that expire every few seconds. xaa's authorizer against rmcp's
//! exchange behind a plain expiry cache written here (rmcp ships none).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use xaa::HttpRequest;

use crate::contenders::{BoxError, RmcpWarm, xaa_client};
use crate::stats::Summary;
use crate::target::Target;

/// How the workload runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    /// Tool calls in all.
    pub(crate) calls: usize,
    /// Concurrent tasks; call `n` is made by task `n % tasks`.
    pub(crate) tasks: usize,
    /// Call `n` is due at `n * spread / calls` after the start: the calls are spread over
    /// this time so that several token lifetimes pass.
    pub(crate) spread: Duration,
    /// How long before expiry a token is replaced (both contenders).
    pub(crate) lead: Duration,
}

/// What a workload run saw from the client side. Token requests are counted by the parent,
/// from the testkit's recorder.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub(crate) ok: usize,
    pub(crate) failed: usize,
    pub(crate) wall_ms: f64,
    /// Latency of one call, from when it was sent (not when it was due).
    pub(crate) latency: Summary,
    pub(crate) first_error: Option<String>,
}

/// One call: `Ok(())` when the server answered 200 with a JSON-RPC result.
type CallResult = Result<(), String>;

fn tool_call(mcp_url: &str, n: usize) -> Result<HttpRequest, BoxError> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": n,
        "method": "tools/call",
        "params": { "name": "echo", "arguments": { "message": format!("call {n}") } },
    });
    Ok(http::Request::post(mcp_url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream")
        .body(serde_json::to_vec(&body)?)?)
}

fn judge(response: &xaa::HttpResponse) -> CallResult {
    if response.status() != http::StatusCode::OK {
        return Err(format!("HTTP {}", response.status()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(response.body()).map_err(|_| "not JSON".to_owned())?;
    if value.get("result").is_some() {
        Ok(())
    } else {
        Err("JSON-RPC error".to_owned())
    }
}

/// Runs the schedule: `tasks` tasks, each making its calls when due, `call(n)` for each.
async fn run<F, Fut>(params: Params, call: F) -> Result<Outcome, BoxError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CallResult> + Send + 'static,
{
    let call = Arc::new(call);
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let step = params.spread.as_secs_f64() / params.calls.max(1) as f64;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..params.tasks {
        let call = Arc::clone(&call);
        let calls = params.calls;
        let stride = params.tasks;
        tasks.spawn(async move {
            let mut seen = Vec::new();
            for n in (task..calls).step_by(stride) {
                tokio::time::sleep_until(start + Duration::from_secs_f64(step * n as f64)).await;
                let sent = Instant::now();
                let result = call(n).await;
                seen.push((sent.elapsed().as_nanos() as u64, result));
            }
            (seen, Instant::now())
        });
    }
    let mut outcome = Outcome::default();
    let mut latencies = Vec::with_capacity(params.calls);
    let mut last = start.into_std();
    while let Some(joined) = tasks.join_next().await {
        let (seen, done) = joined?;
        last = last.max(done);
        for (latency, result) in seen {
            latencies.push(latency);
            match result {
                Ok(()) => outcome.ok += 1,
                Err(error) => {
                    outcome.failed += 1;
                    outcome.first_error.get_or_insert(error);
                }
            }
        }
    }
    outcome.wall_ms = last.duration_since(start.into_std()).as_secs_f64() * 1e3;
    outcome.latency = Summary::of(&latencies);
    Ok(outcome)
}

/// xaa: every call through `xaa_reqwest::Authorizer::send` (cache, single-flight, refresh
/// ahead of expiry in the background, 401 handling: all the core's).
pub(crate) async fn xaa(target: &Target, params: Params) -> Result<Outcome, BoxError> {
    let authorizer =
        xaa_reqwest::Authorizer::with_client(target.authorizer_config(params.lead), xaa_client()?);
    let user = target.user()?;
    let mcp_url = target.mcp_url.clone();
    run(params, move |n| {
        let authorizer = authorizer.clone();
        let user = user.clone();
        let request = tool_call(&mcp_url, n);
        async move {
            let request = request.map_err(|error| error.to_string())?;
            match authorizer.send(&user, request).await {
                Ok(response) => judge(&response),
                Err(error) => Err(error.to_string()),
            }
        }
    })
    .await
}

/// A plain expiry cache in front of rmcp's exchange: one token, replaced when it is within
/// `lead` of its expiry (computed from `expires_in`, counted from when the exchange was
/// sent). The lock is held during the exchange, so concurrent callers wait for one exchange
/// instead of starting their own. No 401 handling: rmcp has none to offer.
struct ExpiryCache {
    rmcp: RmcpWarm,
    lead: Duration,
    token: Mutex<Option<(String, Instant)>>,
}

/// Lifetime assumed when the authorization server sends no `expires_in` (the testkit always
/// sends one).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(300);

impl ExpiryCache {
    async fn token(&self) -> Result<String, BoxError> {
        let mut slot = self.token.lock().await;
        if let Some((token, expires_at)) = slot.as_ref()
            && Instant::now() + self.lead < *expires_at
        {
            return Ok(token.clone());
        }
        let sent = Instant::now();
        let (token, expires_in) = self.rmcp.exchange().await?;
        *slot = Some((token.clone(), sent + expires_in.unwrap_or(ASSUMED_LIFETIME)));
        Ok(token)
    }
}

/// rmcp: the exchange behind [`ExpiryCache`]; the MCP calls through the same kind of client
/// as xaa's (an `xaa_reqwest::Client`, its plain `send`, the bench adding the Bearer header).
pub(crate) async fn rmcp(target: &Target, params: Params) -> Result<Outcome, BoxError> {
    let cache = Arc::new(ExpiryCache {
        rmcp: RmcpWarm::new(target)?,
        lead: params.lead,
        token: Mutex::new(None),
    });
    let client = xaa_client()?;
    let mcp_url = target.mcp_url.clone();
    run(params, move |n| {
        let cache = Arc::clone(&cache);
        let client = client.clone();
        let request = tool_call(&mcp_url, n);
        async move {
            let mut request = request.map_err(|error| error.to_string())?;
            let token = cache.token().await.map_err(|error| error.to_string())?;
            let mut bearer = HeaderValue::try_from(format!("Bearer {token}"))
                .map_err(|_| "token is not a header value".to_owned())?;
            bearer.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, bearer);
            match client.send(request).await {
                Ok(response) => judge(&response),
                Err(error) => Err(error.to_string()),
            }
        }
    })
    .await
}
