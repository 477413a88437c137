//! Cases run in a child process of their own (the bench re-executes itself with
//! `--case <name>`), so that each one's peak resident set (`VmHWM`) is its own. The child
//! reaches the parent's testkit through the [`Target`] in its environment and prints one line,
//! `XAA_BENCH_CHILD <json>`.

use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use xaa::{EnterpriseAuth, Start};

use crate::contenders::{BoxError, Contender, Contenders, xaa_client};
use crate::stats::{Summary, peak_rss_kb};
use crate::target::{TARGET_ENV, Target};
use crate::workload::{self, Outcome};
use crate::{Args, runtime};

const PREFIX: &str = "XAA_BENCH_CHILD ";

/// The cases a child can run.
pub(crate) const CASES: [&str; 9] = [
    "baseline",
    "warm-xaa",
    "warm-rmcp",
    "warm-floor",
    "cold-xaa",
    "cold-xaa-speculative",
    "hot-xaa",
    "workload-xaa",
    "workload-rmcp",
];

/// What a child reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) case: String,
    pub(crate) peak_rss_kb: Option<u64>,
    /// Per-operation latency, for the repeated cases.
    pub(crate) latency: Option<Summary>,
    /// For the workload cases.
    pub(crate) workload: Option<Outcome>,
}

/// Runs `case` in this process and prints its report.
pub(crate) fn run(case: &str, args: &Args) -> Result<(), BoxError> {
    let mut target = Target::from_env()?;
    let runtime = runtime()?;
    let mut report = Report {
        case: case.to_owned(),
        ..Report::default()
    };
    runtime.block_on(async {
        match case {
            "baseline" => {}
            "warm-xaa" | "warm-rmcp" | "warm-floor" => {
                let who = match case {
                    "warm-xaa" => Contender::Xaa,
                    "warm-rmcp" => Contender::Rmcp,
                    _ => Contender::Floor,
                };
                let client = xaa_client()?;
                if who == Contender::Xaa {
                    // A discovery read from JSON has no memo of checked URLs (it is not
                    // serialized): one exchange gives back the discovery the parent's xaa
                    // contender holds, memo included.
                    target.discovery = Some(warm_discovery(&target, &client).await?);
                }
                let contenders = Contenders::new(&target, client)?;
                let mut samples = Vec::with_capacity(args.iterations);
                for iteration in 0..args.warmup + args.iterations {
                    let started = Instant::now();
                    contenders.exchange(who).await?;
                    if iteration >= args.warmup {
                        samples.push(started.elapsed().as_nanos() as u64);
                    }
                }
                report.latency = Some(Summary::of(&samples));
            }
            "cold-xaa" | "cold-xaa-speculative" => {
                let client = xaa_client()?;
                let config = target.xaa_config(case == "cold-xaa-speculative");
                let mut samples = Vec::with_capacity(args.iterations);
                for _ in 0..args.iterations {
                    let started = Instant::now();
                    let start = Start::ServerUrl(target.mcp_url.clone());
                    client
                        .run(EnterpriseAuth::new(config.clone(), start)?)
                        .await?;
                    samples.push(started.elapsed().as_nanos() as u64);
                }
                report.latency = Some(Summary::of(&samples));
            }
            "hot-xaa" => {
                let authorizer = xaa_reqwest::Authorizer::with_client(
                    target.authorizer_config(args.lead),
                    xaa_client()?,
                );
                let user = target.user()?;
                authorizer.token(&user).await?;
                let mut samples = Vec::with_capacity(args.iterations);
                for _ in 0..args.iterations {
                    let started = Instant::now();
                    authorizer.token(&user).await?;
                    samples.push(started.elapsed().as_nanos() as u64);
                }
                report.latency = Some(Summary::of(&samples));
            }
            "workload-xaa" => {
                report.workload = Some(workload::xaa(&target, args.workload()).await?)
            }
            "workload-rmcp" => {
                report.workload = Some(workload::rmcp(&target, args.workload()).await?);
            }
            other => return Err(format!("unknown case {other}; cases: {CASES:?}").into()),
        }
        Ok::<(), BoxError>(())
    })?;
    drop(runtime);
    report.peak_rss_kb = peak_rss_kb();
    println!("{PREFIX}{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The discovery a warm xaa exchange hands back: the target's, with the URLs it checked.
async fn warm_discovery(
    target: &Target,
    client: &xaa_reqwest::Client,
) -> Result<xaa::Discovery, BoxError> {
    let discovery = target
        .discovery
        .clone()
        .ok_or("the target carries no discovery")?;
    let flow = EnterpriseAuth::new(target.xaa_config(false), Start::Cached(discovery))?;
    Ok(client.run(flow).await?.discovery)
}

/// Runs `case` in a child process against the parent's kit and reads its report.
pub(crate) fn spawn(case: &str, target: &Target, args: &Args) -> Result<Report, BoxError> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe)
        .args(args.to_child_args(case))
        .env(TARGET_ENV, serde_json::to_string(target)?)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "case {case} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(PREFIX))
        .ok_or_else(|| format!("case {case} printed no report"))?;
    Ok(serde_json::from_str(line)?)
}
