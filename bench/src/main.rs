//! xaa against rmcp 3.11's `auth-enterprise-managed`, side by side on the testkit's real
//! servers (IdP, MCP authorization server, MCP server on 127.0.0.1), in one run:
//!
//! 1. the warm exchange (both legs, endpoints known): xaa-reqwest, rmcp, and a bare reqwest
//!    client sending the same two hand-built requests (the floor), alternated iteration by
//!    iteration; medians, their ratios, p99, client CPU per exchange;
//! 2. requests per token and sequential round trips on the critical path, per case, against
//!    the protocol's minimum, with and without a delay injected on every endpoint;
//! 3. a workload of MCP tool calls from concurrent tasks with short-lived access tokens: xaa's
//!    authorizer against rmcp's exchange behind a plain expiry cache;
//! 4. the peak resident set of each case, each in a child process of its own.
//!
//! ```text
//! cargo run -p xaa-bench --release            # prints a markdown report on stdout
//! cargo run -p xaa-bench --release -- --help
//! cargo run -p xaa-bench --release -- soak    # one authorizer, a million users (soak.rs)
//! ```
//!
//! Progress goes to stderr. One tokio current-thread runtime carries every contender (so the
//! client's CPU time is that of one thread); the testkit serves on a thread of its own.

mod child;
mod contenders;
mod diagnose;
mod report;
mod rounds;
mod shapes;
mod soak;
mod stats;
mod target;
mod warm;
mod workload;

use std::process::ExitCode;
use std::time::Duration;

use xaa::{EnterpriseAuth, Start};
use xaa_testkit::{Endpoint, Options, Testkit};

use crate::contenders::{BoxError, Contenders, xaa_client};
use crate::target::{TARGET_ENV, Target};

const HELP: &str = "\
xaa-bench: xaa against rmcp 3.11's auth-enterprise-managed on the testkit's servers.

USAGE: cargo run -p xaa-bench --release [-- OPTIONS]
       cargo run -p xaa-bench --release -- soak [OPTIONS]   (see soak --help)

OPTIONS:
  --runs N            passes of the warm exchange and of the workload (default 3)
  --iterations N      measured warm exchanges per contender and pass (default 500)
  --warmup N          unmeasured warm exchanges per contender and pass (default 50)
  --delay-ms N        delay on every endpoint for the round-trip runs (default 50)
  --delayed-runs N    delayed runs per round-trip case (default 3)
  --calls N           workload: MCP tool calls (default 1000)
  --tasks N           workload: concurrent tasks (default 32)
  --spread-s S        workload: the calls are spread over S seconds (default 10)
  --lifetime-s N      workload: access-token lifetime (default 3)
  --lead-ms N         workload: refresh lead, both contenders (default 1000)
  --no-memory         skip the per-case child processes (peak memory)
  --diag-iterations N rounds of the no-I/O breakdown (default 2000)
  --case NAME         run one case in this process (what the children do), against the kit
                      named by XAA_BENCH_TARGET
  --serve             start the kit, run the discovery, print the XAA_BENCH_TARGET value on
                      one line and serve until killed: for profiling one case on its own
  -h, --help          this text

The kit's authorization server keeps at most 10,000 ID-JAG jtis, each until its exp + 60 s
(ID-JAGs live 10 s here), and answers 503 beyond: keep runs x (iterations + warmup) x 3 well
under 10,000 within a minute.";

/// The lifetime of the ID-JAGs the kit mints during a run.
const ID_JAG_LIFETIME: Duration = Duration::from_secs(10);

/// The command line.
#[derive(Clone, Debug)]
pub(crate) struct Args {
    pub(crate) runs: usize,
    pub(crate) iterations: usize,
    pub(crate) warmup: usize,
    pub(crate) delay: Duration,
    pub(crate) delayed_runs: usize,
    pub(crate) calls: usize,
    pub(crate) tasks: usize,
    pub(crate) spread: Duration,
    pub(crate) lifetime: Duration,
    pub(crate) lead: Duration,
    pub(crate) memory: bool,
    pub(crate) diag_iterations: usize,
    pub(crate) case: Option<String>,
    pub(crate) serve: bool,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            runs: 3,
            iterations: 500,
            warmup: 50,
            delay: Duration::from_millis(50),
            delayed_runs: 3,
            calls: 1000,
            tasks: 32,
            spread: Duration::from_secs(10),
            lifetime: Duration::from_secs(3),
            lead: Duration::from_millis(1000),
            memory: true,
            diag_iterations: 2000,
            case: None,
            serve: false,
        }
    }
}

impl Args {
    fn parse() -> Result<Option<Self>, BoxError> {
        let mut args = Self::default();
        let mut input = std::env::args().skip(1);
        while let Some(flag) = input.next() {
            let mut value = || input.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--runs" => args.runs = value()?.parse()?,
                "--iterations" => args.iterations = value()?.parse()?,
                "--warmup" => args.warmup = value()?.parse()?,
                "--delay-ms" => args.delay = Duration::from_millis(value()?.parse()?),
                "--delayed-runs" => args.delayed_runs = value()?.parse()?,
                "--calls" => args.calls = value()?.parse()?,
                "--tasks" => args.tasks = value()?.parse()?,
                "--spread-s" => args.spread = Duration::from_secs_f64(value()?.parse()?),
                "--lifetime-s" => args.lifetime = Duration::from_secs(value()?.parse()?),
                "--lead-ms" => args.lead = Duration::from_millis(value()?.parse()?),
                "--no-memory" => args.memory = false,
                "--diag-iterations" => args.diag_iterations = value()?.parse()?,
                "--case" => args.case = Some(value()?),
                "--serve" => args.serve = true,
                other => return Err(format!("unknown option {other}; see --help").into()),
            }
        }
        if args.runs == 0 || args.iterations == 0 || args.tasks == 0 || args.delayed_runs == 0 {
            return Err("--runs, --iterations, --tasks and --delayed-runs must be positive".into());
        }
        Ok(Some(args))
    }

    /// The arguments a child gets for `case`.
    fn to_child_args(&self, case: &str) -> Vec<String> {
        vec![
            "--case".into(),
            case.into(),
            "--iterations".into(),
            self.iterations.to_string(),
            "--warmup".into(),
            self.warmup.to_string(),
            "--calls".into(),
            self.calls.to_string(),
            "--tasks".into(),
            self.tasks.to_string(),
            "--spread-s".into(),
            self.spread.as_secs_f64().to_string(),
            "--lead-ms".into(),
            self.lead.as_millis().to_string(),
        ]
    }

    /// The workload's parameters.
    pub(crate) fn workload(&self) -> workload::Params {
        workload::Params {
            calls: self.calls,
            tasks: self.tasks,
            spread: self.spread,
            lead: self.lead,
        }
    }
}

/// The runtime every contender shares: current-thread, so the client side is one thread.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn main() -> ExitCode {
    // reqwest is built without a crypto provider in this workspace; rmcp's default client and
    // the floor's plain reqwest client take the process-wide one (unused on plain http).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if std::env::args().nth(1).as_deref() == Some("soak") {
        return match soak::run(std::env::args().skip(2)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("xaa-bench soak: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match Args::parse() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("xaa-bench: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match &args.case {
        Some(case) => child::run(case, &args),
        None if args.serve => serve(),
        None => parent(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xaa-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One workload run as the parent saw it: the child's report and the recorder's counts.
#[derive(Clone, Debug)]
pub(crate) struct WorkloadRun {
    pub(crate) case: &'static str,
    pub(crate) report: child::Report,
    pub(crate) idp_token_requests: usize,
    pub(crate) as_token_requests: usize,
    pub(crate) other_requests: usize,
    pub(crate) mcp_requests: usize,
    pub(crate) mcp_401: usize,
    pub(crate) distinct_tokens: usize,
}

/// Everything measured, for the report.
pub(crate) struct Results {
    pub(crate) args: Args,
    pub(crate) passes: Vec<warm::Pass>,
    pub(crate) breakdown: diagnose::Breakdown,
    /// CPU time of a cold flow through the state machine, answered from memory (ns).
    pub(crate) cold_cpu: Option<f64>,
    pub(crate) shapes: Vec<shapes::Measured>,
    pub(crate) hot: shapes::Hot,
    pub(crate) workloads: Vec<WorkloadRun>,
    pub(crate) memory: Vec<child::Report>,
}

/// The kit every case runs against, and the target that names it (with a discovery from one
/// cold xaa flow run by `client`).
fn start_kit(
    runtime: &tokio::runtime::Runtime,
    client: &xaa_reqwest::Client,
) -> Result<(Testkit, Target), BoxError> {
    let kit = Testkit::start(Options::default())?;
    // The authorization server remembers each ID-JAG's jti until its exp + 60 s, at most
    // 10 000 at a time (then it answers 503): short-lived ID-JAGs keep a whole run under that.
    kit.set_id_jag_lifetime(ID_JAG_LIFETIME);
    let mut target = Target::from_kit(&kit)?;
    eprintln!("xaa-bench: discovery (one cold xaa flow)");
    let discovery = runtime.block_on(async {
        let flow = EnterpriseAuth::new(
            target.xaa_config(false),
            Start::ServerUrl(target.mcp_url.clone()),
        )?;
        Ok::<_, BoxError>(client.run(flow).await?.discovery)
    })?;
    target.discovery = Some(discovery);
    Ok((kit, target))
}

/// `--serve`: the kit alone, for a case run by hand (under a profiler, say) in another process.
fn serve() -> Result<(), BoxError> {
    let runtime = runtime()?;
    let (_kit, target) = start_kit(&runtime, &xaa_client()?)?;
    println!("{}", serde_json::to_string(&target)?);
    eprintln!("xaa-bench: serving; pass the line above as {TARGET_ENV} to --case; kill to stop");
    loop {
        std::thread::park();
    }
}

fn parent(args: &Args) -> Result<(), BoxError> {
    let runtime = runtime()?;
    let client = xaa_client()?;
    let (kit, target) = start_kit(&runtime, &client)?;
    let contenders = Contenders::new(&target, client)?;

    let mut passes = Vec::new();
    for pass in 1..=args.runs {
        eprintln!(
            "xaa-bench: warm exchange, pass {pass}/{}: {} + {} iterations x 3 contenders",
            args.runs, args.warmup, args.iterations
        );
        passes.push(runtime.block_on(warm::pass(&kit, &target, &contenders, args))?);
    }

    eprintln!("xaa-bench: protocol work without I/O (responses captured from the kit)");
    let discovery = target.discovery.clone().ok_or("no discovery")?;
    let (breakdown, cold_cpu) = runtime.block_on(async {
        let client = &contenders.xaa.client;
        let warm = diagnose::capture(&target, client, Start::Cached(discovery)).await?;
        let breakdown = diagnose::breakdown(&target, &warm, args.diag_iterations).await?;
        let start = Start::ServerUrl(target.mcp_url.clone());
        let cold = diagnose::capture(&target, client, start).await?;
        let cold_cpu = diagnose::cold_cpu(&target, &cold, args.diag_iterations)?;
        Ok::<_, BoxError>((breakdown, cold_cpu))
    })?;

    eprintln!(
        "xaa-bench: requests and round trips (no delay, then {} ms on every endpoint)",
        args.delay.as_millis()
    );
    let (shapes, hot) = runtime.block_on(shapes::measure(&kit, &target, &contenders, args))?;
    drop(contenders);
    drop(runtime);

    kit.set_access_token_lifetime(args.lifetime);
    let mut workloads = Vec::new();
    for pass in 0..args.runs {
        let order = if pass % 2 == 0 {
            ["workload-xaa", "workload-rmcp"]
        } else {
            ["workload-rmcp", "workload-xaa"]
        };
        for case in order {
            eprintln!(
                "xaa-bench: {case}, pass {}/{}: {} calls, {} tasks, over {:?}, tokens of {:?}",
                pass + 1,
                args.runs,
                args.calls,
                args.tasks,
                args.spread,
                args.lifetime
            );
            kit.clear_requests();
            let report = child::spawn(case, &target, args)?;
            workloads.push(workload_run(&kit, case, report));
        }
    }
    kit.set_access_token_lifetime(Duration::from_secs(3600));
    kit.clear_requests();

    let mut memory = Vec::new();
    if args.memory {
        for case in child::CASES
            .into_iter()
            .filter(|case| !case.starts_with("workload"))
        {
            eprintln!("xaa-bench: peak memory, {case} (child process)");
            memory.push(child::spawn(case, &target, args)?);
            kit.clear_requests();
        }
    }
    kit.stop();

    let results = Results {
        args: args.clone(),
        passes,
        breakdown,
        cold_cpu,
        shapes,
        hot,
        workloads,
        memory,
    };
    print!("{}", report::markdown(&results));
    Ok(())
}

fn workload_run(kit: &Testkit, case: &'static str, report: child::Report) -> WorkloadRun {
    let records = kit.requests();
    let count = |endpoint| {
        records
            .iter()
            .filter(|r| r.endpoint == Some(endpoint))
            .count()
    };
    // Tool calls carry a token; a request to /mcp without one is xaa's discovery probe.
    let mcp: Vec<_> = records
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::McpServer) && r.header("authorization").is_some())
        .collect();
    let mut tokens: Vec<&str> = mcp
        .iter()
        .filter(|r| r.status == Some(http::StatusCode::OK))
        .filter_map(|r| r.header("authorization"))
        .collect();
    tokens.sort_unstable();
    tokens.dedup();
    let idp_token_requests = count(Endpoint::IdpToken);
    let as_token_requests = count(Endpoint::AsToken);
    WorkloadRun {
        case,
        idp_token_requests,
        as_token_requests,
        other_requests: records.len() - idp_token_requests - as_token_requests - mcp.len(),
        mcp_requests: mcp.len(),
        mcp_401: mcp
            .iter()
            .filter(|r| r.status == Some(http::StatusCode::UNAUTHORIZED))
            .count(),
        distinct_tokens: tokens.len(),
        report,
    }
}
