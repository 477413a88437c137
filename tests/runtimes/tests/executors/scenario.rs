//! What every executor must do, written once over [`Runtime`] and a way to run a future.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use http::StatusCode;
use xaa::grant::SubjectToken;
use xaa::{
    Authorization, DriveError, EnterpriseAuth, Error as FlowError, HttpRequest, Purpose, Start,
};
use xaa_runtime_tests::{Client, Error, Runtime};
use xaa_testkit::{Endpoint, Fault, Options, RecordedRequest, Testkit};

/// The delay on each of the two first, independent requests: the probe of the MCP server and
/// the IdP metadata.
pub const DELAY: Duration = Duration::from_millis(300);

/// How long a scenario may run on the executor before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A future the executor runs, spawned as one of its tasks.
pub type Task<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How a test thread runs a task on the executor and waits for it (at most [`DEADLINE`]).
pub trait BlockOn {
    /// Spawns `task` on the executor and blocks the calling thread until it is done.
    fn block_on<T: Send + 'static>(&self, task: Task<T>) -> T;
}

/// What a drive produced and how long it took.
pub struct Driven {
    pub result: Result<Authorization, DriveError<Error>>,
    pub elapsed: Duration,
}

/// A kit whose probe and IdP metadata each answer after [`DELAY`].
pub fn delayed_kit() -> Testkit {
    Testkit::start(
        Options::new()
            .delay(Endpoint::McpServer, DELAY)
            .delay(Endpoint::IdpMetadata, DELAY),
    )
    .expect("the testkit starts")
}

/// The flow for alice against `kit`, and a client on `runtime` with the flow's body cap.
pub fn flow_and_client<R: Runtime>(kit: &Testkit, runtime: R) -> (EnterpriseAuth, Client<R>) {
    let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
    let client = Client::new(runtime, config.policy.max_body_bytes);
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().to_owned()))
        .expect("a valid configuration");
    (flow, client)
}

/// Drives the flow with every outstanding request in flight together.
pub fn drive<R: Runtime>(flow: EnterpriseAuth, client: Client<R>) -> Task<Driven> {
    Box::pin(async move {
        let started = Instant::now();
        let result = xaa::drive_async(flow, SystemTime::now, |request| client.send(request)).await;
        Driven {
            result,
            elapsed: started.elapsed(),
        }
    })
}

/// The first request `kit` recorded for `endpoint`, answered.
fn first(kit: &Testkit, endpoint: Endpoint) -> RecordedRequest {
    let request = kit
        .requests_to(endpoint)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("a request to {endpoint:?}"));
    assert!(request.finished.is_some(), "{endpoint:?} was answered");
    request
}

/// (start, end) of a recorded request.
fn interval(request: &RecordedRequest) -> (Instant, Instant) {
    (request.started, request.finished.expect("answered"))
}

/// The probe and the IdP metadata, as the kit saw them: whether their intervals intersect,
/// and the time from the first start to the last end.
pub fn first_two(kit: &Testkit) -> (bool, Duration) {
    let (probe_start, probe_end) = interval(&first(kit, Endpoint::McpServer));
    let (idp_start, idp_end) = interval(&first(kit, Endpoint::IdpMetadata));
    for (start, end) in [(probe_start, probe_end), (idp_start, idp_end)] {
        assert!(
            end - start >= DELAY,
            "the delay knob held each request {DELAY:?}"
        );
    }
    let intersect = probe_start < idp_end && idp_start < probe_end;
    let span = probe_end.max(idp_end) - probe_start.min(idp_start);
    (intersect, span)
}

/// The whole flow on the executor: a token for alice, the two delayed independent requests
/// overlapping, then an MCP call with the token through the same client.
pub fn full_flow<R: Runtime + BlockOn>(runtime: R) {
    let kit = delayed_kit();
    let (flow, client) = flow_and_client(&kit, runtime.clone());
    let driven = runtime.block_on(drive(flow, client.clone()));
    let authorization = driven.result.expect("the flow succeeds");

    let token = authorization.access_token.expose_secret().to_owned();
    let info = kit
        .access_token_info(&token)
        .expect("the kit issued the token");
    assert_eq!(info.subject, "alice");
    assert_eq!(info.resource, kit.mcp_url());
    assert_eq!(authorization.resource, kit.mcp_url());
    assert_eq!(
        authorization.authorization_server,
        kit.authorization_server_issuer()
    );
    assert_eq!(kit.token_requests().len(), 2);
    assert_eq!(
        kit.requests().len(),
        6,
        "probe, PRM, two metadata, two grants"
    );

    // Overlap: sequential sends would hold the two for at least 2 x DELAY; in flight together
    // they take about one DELAY. The kit's own clock says so, then the caller's.
    let (intersect, span) = first_two(&kit);
    eprintln!(
        "delayed pair: overlap {intersect}, span {span:?}; whole flow {:?} (DELAY {DELAY:?})",
        driven.elapsed
    );
    assert!(
        intersect,
        "the probe and the IdP metadata were in flight together"
    );
    assert!(
        span < DELAY.mul_f64(1.6),
        "the two delayed requests took {span:?} together; sequential is >= {:?}",
        DELAY * 2
    );
    assert!(
        driven.elapsed < DELAY * 2,
        "the flow took {:?}; with the two delays in sequence it is >= {:?}",
        driven.elapsed,
        DELAY * 2
    );

    // The token works at the MCP server, through the same client on the same executor.
    let call = mcp_initialize(kit.mcp_url(), &token);
    let response = runtime
        .block_on(Box::pin(async move { client.send(call).await }))
        .expect("the MCP server answers");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the MCP server accepts the token"
    );
    let body = String::from_utf8_lossy(response.body());
    assert!(body.contains("serverInfo"), "{body}");
}

/// The control: the same drive with every send waiting for the previous one. The two delayed
/// requests no longer intersect and take at least 2 x DELAY, so the overlap measured by
/// [`full_flow`] is the driver's doing.
pub fn serialized_sends_do_not_overlap<R: Runtime + BlockOn>(
    runtime: R,
    lock: impl Fn() -> Task<Box<dyn Send>> + Send + Sync + 'static,
) {
    let kit = delayed_kit();
    let (flow, client) = flow_and_client(&kit, runtime.clone());
    let driven = runtime.block_on(Box::pin(async move {
        let started = Instant::now();
        let result = xaa::drive_async(flow, SystemTime::now, |request| {
            let guard = lock();
            let client = client.clone();
            async move {
                let _held = guard.await;
                client.send(request).await
            }
        })
        .await;
        Driven {
            result,
            elapsed: started.elapsed(),
        }
    }));
    driven.result.expect("the flow succeeds");
    let (intersect, span) = first_two(&kit);
    assert!(!intersect, "serialized sends cannot overlap");
    assert!(span >= DELAY * 2, "{span:?}");
    assert!(driven.elapsed >= DELAY * 2, "{:?}", driven.elapsed);
}

/// `initialize` at the MCP server with the bearer token.
fn mcp_initialize(url: &str, token: &str) -> HttpRequest {
    let body = serde_json_body(xaa::constants::MCP_PROTOCOL_VERSION);
    http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .body(body.into_bytes())
        .expect("a valid request")
}

fn serde_json_body(version: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{}},"clientInfo":{{"name":"xaa-runtime-tests","version":"0"}}}}}}"#
    )
}

/// Servers that are down: the drive ends with the transport error of one of the two first
/// requests, from the executor's own connect.
pub fn servers_down<R: Runtime + BlockOn>(runtime: R) {
    let kit = delayed_kit();
    let (flow, client) = flow_and_client(&kit, runtime.clone());
    kit.stop();
    match runtime.block_on(drive(flow, client)).result {
        Err(DriveError::Transport {
            purpose: Purpose::ResourceProbe | Purpose::IdpMetadata,
            source: Error::Connect(_),
        }) => {}
        Err(other) => panic!("expected a connect failure of a first request, got {other}"),
        Ok(_) => panic!("no server, no token"),
    }
}

/// A redirect is a response handed to the flow, which refuses it: the client follows nothing.
pub fn redirect_is_not_followed<R: Runtime + BlockOn>(runtime: R) {
    let kit = delayed_kit();
    kit.clear_delays();
    kit.set_fault(
        Endpoint::ResourceMetadata,
        Fault::Redirect(format!("{}/elsewhere", kit.mcp_origin())),
    );
    let (flow, client) = flow_and_client(&kit, runtime.clone());
    match runtime.block_on(drive(flow, client)).result {
        Err(DriveError::Flow(FlowError::Redirect { status: 302, .. })) => {}
        Err(other) => panic!("expected the flow's redirect refusal, got {other}"),
        Ok(_) => panic!("a redirect must not lead to a token"),
    }
    assert_eq!(kit.count(xaa_testkit::Server::Mcp, "/elsewhere"), 0);
}

/// A body past the cap is the client's error, before the flow sees it.
pub fn oversized_body_is_cut<R: Runtime + BlockOn>(runtime: R) {
    let kit = delayed_kit();
    kit.clear_delays();
    kit.set_fault(Endpoint::AsMetadata, Fault::OversizedBody);
    let (flow, client) = flow_and_client(&kit, runtime.clone());
    match runtime.block_on(drive(flow, client)).result {
        Err(DriveError::Transport {
            purpose: Purpose::AuthorizationServerMetadata,
            source: Error::Body(_),
        }) => {}
        Err(other) => panic!("expected the body cap, got {other}"),
        Ok(_) => panic!("an oversized document must not lead to a token"),
    }
}
