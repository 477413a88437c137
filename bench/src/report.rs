//! The markdown report.

use std::fmt::Write as _;

use crate::contenders::Contender;
use crate::shapes::Case;
use crate::stats::median_f64;
use crate::{Results, WorkloadRun};

/// A duration in nanoseconds, in the unit that suits it.
fn human(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn mark(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn list(values: &[f64], digits: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.digits$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "rustc (version unknown)".into());
    format!("{cores} cores ({model}), {rustc}")
}

/// The medians of one contender's per-pass (median, p99, CPU median).
fn warm_medians(results: &Results, who: Contender) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut medians = Vec::new();
    let mut p99s = Vec::new();
    let mut cpus = Vec::new();
    for pass in &results.passes {
        if let Some((_, samples)) = pass.by.iter().find(|(c, _)| *c == who) {
            medians.push(samples.wall.median_ns);
            p99s.push(samples.wall.p99_ns);
            if let Some(cpu) = samples.cpu {
                cpus.push(cpu.median_ns);
            }
        }
    }
    (medians, p99s, cpus)
}

/// How many exchanges the workload needed at least: one per `lifetime - lead` of wall time.
fn ideal_exchanges(run: &WorkloadRun, results: &Results) -> usize {
    let window = results
        .args
        .lifetime
        .saturating_sub(results.args.lead)
        .as_secs_f64();
    let wall = run
        .report
        .workload
        .as_ref()
        .map_or(0.0, |w| w.wall_ms / 1e3);
    if window <= 0.0 {
        return 0;
    }
    (wall / window).ceil().max(1.0) as usize
}

/// The report.
pub(crate) fn markdown(results: &Results) -> String {
    let args = &results.args;
    let mut out = String::new();
    let mut targets: Vec<(String, bool, String)> = Vec::new();
    let _ = writeln!(out, "## xaa vs rmcp 3.11 `auth-enterprise-managed`\n");
    let _ = writeln!(
        out,
        "Machine: {}. Servers: xaa-testkit on 127.0.0.1 (plain http, one thread). Client: one \
         tokio current-thread runtime for every contender, one reqwest client each, HTTP/1.1 \
         keep-alive.\n",
        machine()
    );

    // 1. Warm exchange.
    let _ = writeln!(
        out,
        "### Warm exchange (both legs, endpoints known)\n\n{} passes of {} interleaved \
         iterations (after {} warm-up iterations each); the contenders alternate within each \
         iteration, in a rotating order. Median and p99 of wall time per exchange, median of \
         client CPU time (the runtime's thread) per exchange; each cell is the median over the \
         passes.\n",
        results.passes.len(),
        args.iterations,
        args.warmup
    );
    let _ = writeln!(
        out,
        "| contender | median | p99 | client CPU (median) | per-pass medians (µs) | token requests seen by the kit | non-200 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let mut medians_by = Vec::new();
    for who in Contender::ALL {
        let (medians, p99s, cpus) = warm_medians(results, who);
        let requests: usize = results
            .passes
            .iter()
            .flat_map(|p| p.by.iter().filter(|(c, _)| *c == who))
            .map(|(_, s)| s.idp_token_requests + s.as_token_requests)
            .sum();
        let exchanges: usize = results
            .passes
            .iter()
            .flat_map(|p| p.by.iter().filter(|(c, _)| *c == who))
            .map(|(_, s)| s.exchanges)
            .sum();
        let not_ok: usize = results
            .passes
            .iter()
            .flat_map(|p| p.by.iter().filter(|(c, _)| *c == who))
            .map(|(_, s)| s.not_ok)
            .sum();
        let per_pass: Vec<f64> = medians.iter().map(|m| m / 1e3).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {requests} for {exchanges} exchanges | {not_ok} |",
            who.label(),
            human(median_f64(&medians)),
            human(median_f64(&p99s)),
            if cpus.is_empty() {
                "n/a".to_owned()
            } else {
                human(median_f64(&cpus))
            },
            list(&per_pass, 1),
        );
        targets.push((
            format!(
                "{}: every exchange hit the servers (2 token requests each, all 200)",
                who.short()
            ),
            requests == 2 * exchanges && not_ok == 0,
            format!("{requests} requests for {exchanges} exchanges, {not_ok} not 200"),
        ));
        medians_by.push((who, medians));
    }
    let ratio = |a: Contender, b: Contender| -> (f64, Vec<f64>) {
        let get = |who| {
            medians_by
                .iter()
                .find(|(c, _)| *c == who)
                .map(|(_, m)| m.clone())
                .unwrap_or_default()
        };
        let (top, bottom) = (get(a), get(b));
        let per_pass: Vec<f64> = top.iter().zip(&bottom).map(|(t, b)| t / b).collect();
        (median_f64(&top) / median_f64(&bottom), per_pass)
    };
    let _ = writeln!(
        out,
        "\n| ratio of medians | value | per pass |\n|---|---|---|"
    );
    for (a, b) in [
        (Contender::Xaa, Contender::Rmcp),
        (Contender::Xaa, Contender::Floor),
        (Contender::Rmcp, Contender::Floor),
    ] {
        let (value, per_pass) = ratio(a, b);
        let _ = writeln!(
            out,
            "| {} / {} | {value:.3} | {} |",
            a.short(),
            b.short(),
            list(&per_pass, 3)
        );
        match (a, b) {
            (Contender::Xaa, Contender::Rmcp) => targets.push((
                "warm exchange: xaa median no slower than rmcp's (ratio <= 1.0)".into(),
                value <= 1.0,
                format!("{value:.3}"),
            )),
            (Contender::Xaa, Contender::Floor) => targets.push((
                "warm exchange: xaa within 5% of the bare-client floor (ratio <= 1.05)".into(),
                value <= 1.05,
                format!("{value:.3}"),
            )),
            _ => {}
        }
    }
    let connections: Vec<String> = results
        .passes
        .iter()
        .map(|p| {
            format!(
                "{} to the IdP, {} to the AS, {} in TIME_WAIT",
                p.connections.to_idp, p.connections.to_as, p.connections.time_wait
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "\nConnections after each pass (`/proc/net/tcp`; keep-alive means one per client and \
         server, none closed): {}.\n",
        connections.join("; ")
    );

    // Where the CPU goes.
    let b = &results.breakdown;
    let _ = writeln!(
        out,
        "### Where the client CPU goes (warm exchange)\n\nEach contender's protocol work with \
         the network taken out: the kit's two token responses captured once and handed back \
         from memory ({} rounds, medians). The transport share is the client CPU above minus \
         that.\n",
        b.xaa_flow.n
    );
    let _ = writeln!(
        out,
        "| contender | client CPU per exchange | protocol work, no I/O | transport and runtime (the rest) |\n|---|---|---|---|"
    );
    for (who, work) in [
        (Contender::Xaa, b.xaa_flow),
        (Contender::Rmcp, b.rmcp),
        (Contender::Floor, b.floor),
    ] {
        let (_, _, cpus) = warm_medians(results, who);
        let cpu = median_f64(&cpus);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            who.label(),
            human(cpu),
            human(work.median_ns),
            human(cpu - work.median_ns)
        );
    }
    let _ = writeln!(
        out,
        "\nxaa's protocol work in parts: cloning the configuration and the cached discovery \
         (`Start::Cached` takes them by value) {}; `EnterpriseAuth::new` and the first poll \
         (clones included) {}; the whole flow {}.\n",
        human(b.xaa_clones.median_ns),
        human(b.xaa_new.median_ns),
        human(b.xaa_flow.median_ns)
    );

    if let Some(cold) = results.cold_cpu {
        let _ = writeln!(
            out,
            "A cold flow from the MCP server URL through the state machine, its six responses \
             captured from the kit and handed back from memory: {} of CPU time per flow (this \
             thread's CPU clock, median of batches of 100; `cargo bench -p xaa --bench core` \
             measures the same on canned documents, in wall time).\n",
            human(cold)
        );
        targets.push((
            "cold flow through the state machine under 50 µs CPU".into(),
            cold < 50_000.0,
            human(cold),
        ));
    }

    // 2. Requests and round trips.
    let delay_ms = args.delay.as_secs_f64() * 1e3;
    let _ = writeln!(
        out,
        "### Requests per token and sequential round trips\n\nRequests counted by the kit's \
         recorder with no delay. Round trips from the recorder's start/end times with {delay_ms:.0} ms \
         injected on every endpoint: the longest chain of requests each starting after the \
         previous one finished, so requests in flight together count as one round ({} runs); \
         and the wall time of those runs (median) against {delay_ms:.0} ms x requests.\n",
        args.delayed_runs
    );
    let _ = writeln!(
        out,
        "| case | requests | minimum | token requests | sequence (arrival order) | rounds | minimum | wall at {delay_ms:.0} ms | {delay_ms:.0} ms x requests |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for measured in &results.shapes {
        let (min_requests, min_rounds) = measured.case.minimum();
        let rounds: Vec<usize> = measured.delayed.iter().map(|s| s.rounds).collect();
        let delayed_requests: Vec<usize> = measured.delayed.iter().map(|s| s.requests).collect();
        let rounds_text = if rounds.windows(2).all(|w| w[0] == w[1]) {
            rounds.first().map_or("-".into(), usize::to_string)
        } else {
            format!("{rounds:?}")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {min_requests} | {} | {} | {rounds_text} | {min_rounds} | {:.1} ms | {:.0} ms |",
            measured.case.label(),
            measured.plain.requests,
            measured.plain.token_requests,
            if measured.plain.endpoints.is_empty() {
                "(none)".to_owned()
            } else {
                measured.plain.endpoints.join(" ")
            },
            measured.median_wall_ms(),
            delay_ms * measured.plain.requests as f64,
        );
        let requests_ok = measured.plain.requests == min_requests
            && delayed_requests.iter().all(|r| *r == min_requests);
        targets.push((
            format!(
                "requests per token at the minimum: {}",
                measured.case.label()
            ),
            requests_ok,
            format!("{} (minimum {min_requests})", measured.plain.requests),
        ));
        if matches!(measured.case, Case::Cold | Case::ColdSpeculative) {
            targets.push((
                format!("sequential round trips: {}", measured.case.label()),
                rounds.iter().all(|r| *r == min_rounds),
                format!("{rounds_text} (target {min_rounds})"),
            ));
        }
    }
    let _ = writeln!(
        out,
        "\nHot path alone (`Authorizer::token` with a cached token, {} calls): median {}, p99 {}.\n",
        results.hot.latency.n,
        human(results.hot.latency.median_ns),
        human(results.hot.latency.p99_ns)
    );

    // 3. Workload.
    let _ = writeln!(
        out,
        "### Workload: {} `tools/call` echo requests from {} tasks\n\nCalls spread evenly over \
         {:.0} s (call n due at n x {:.0} ms); access tokens live {} s; both contenders refresh \
         {} ms before expiry. xaa: `xaa_reqwest::Authorizer::send`. rmcp: its exchange behind a \
         `tokio::sync::Mutex<Option<(token, expires_at)>>` cache written in the bench (the lock \
         is held during the exchange, so one exchange serves every waiting task); its MCP calls \
         go through an `xaa_reqwest::Client` too (plain `send`, Bearer header added by the \
         bench). Each run is a child process; token requests are the kit's counts. \"Needed\" \
         is wall time / (lifetime - lead), rounded up.\n",
        args.calls,
        args.tasks,
        args.spread.as_secs_f64(),
        args.spread.as_secs_f64() * 1e3 / args.calls.max(1) as f64,
        args.lifetime.as_secs(),
        args.lead.as_millis(),
    );
    let _ = writeln!(
        out,
        "| run | ok | failed | MCP requests seen | IdP token requests | AS token requests | tokens used | needed | 401s | other requests | wall | call latency median / p99 / max | peak RSS |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut exchanges_ok, mut exchanges_seen, mut failures) = (true, Vec::new(), Vec::new());
    for run in &results.workloads {
        let Some(workload) = &run.report.workload else {
            continue;
        };
        let needed = ideal_exchanges(run, results);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {needed} | {} | {} | {:.2} s | {} / {} / {} | {} |",
            run.case,
            workload.ok,
            workload.failed,
            run.mcp_requests,
            run.idp_token_requests,
            run.as_token_requests,
            run.distinct_tokens,
            run.mcp_401,
            run.other_requests,
            workload.wall_ms / 1e3,
            human(workload.latency.median_ns),
            human(workload.latency.p99_ns),
            human(workload.latency.max_ns),
            run.report
                .peak_rss_kb
                .map_or("n/a".into(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0)),
        );
        if let Some(error) = &workload.first_error {
            let _ = writeln!(out, "|  | first failure: {error} | | | | | | | | | | | |");
        }
        if run.case == "workload-xaa" {
            let one_per_lifetime = run.idp_token_requests == run.as_token_requests
                && run.as_token_requests == run.distinct_tokens
                && run.as_token_requests <= needed;
            exchanges_ok &= one_per_lifetime;
            exchanges_seen.push(format!(
                "{}+{} token requests, {} tokens used, {needed} needed",
                run.idp_token_requests, run.as_token_requests, run.distinct_tokens
            ));
            failures.push(workload.failed);
        }
    }
    if !failures.is_empty() {
        targets.push((
            "workload (xaa): exactly one exchange per token lifetime".into(),
            exchanges_ok,
            exchanges_seen.join("; "),
        ));
        targets.push((
            "workload (xaa): zero failed calls".into(),
            failures.iter().all(|f| *f == 0),
            format!("{failures:?} failed, per run"),
        ));
    }

    // 4. Memory.
    if !results.memory.is_empty() {
        let baseline = results
            .memory
            .iter()
            .find(|r| r.case == "baseline")
            .and_then(|r| r.peak_rss_kb);
        let _ = writeln!(
            out,
            "\n### Peak memory\n\nEach case in a child process of its own (`--case <name>`), \
             against the parent's kit; peak resident set from the child's `/proc/self/status` \
             (`VmHWM`). `baseline` starts the runtime and does nothing. Repeated cases run {} \
             times after {} warm-up runs (cold and hot: {} runs).\n",
            args.iterations, args.warmup, args.iterations
        );
        let _ = writeln!(
            out,
            "| case | peak RSS | over baseline | median per operation (in the child) |\n|---|---|---|---|"
        );
        let mut rows: Vec<(String, Option<u64>, String)> = results
            .memory
            .iter()
            .map(|r| {
                (
                    r.case.clone(),
                    r.peak_rss_kb,
                    r.latency.map_or("-".into(), |l| human(l.median_ns)),
                )
            })
            .collect();
        for case in ["workload-xaa", "workload-rmcp"] {
            let peaks: Vec<f64> = results
                .workloads
                .iter()
                .filter(|run| run.case == case)
                .filter_map(|run| run.report.peak_rss_kb.map(|kb| kb as f64))
                .collect();
            if !peaks.is_empty() {
                rows.push((
                    format!("{case} (median of runs)"),
                    Some(median_f64(&peaks) as u64),
                    "-".into(),
                ));
            }
        }
        for (case, peak, latency) in rows {
            let over = match (peak, baseline) {
                (Some(peak), Some(base)) => {
                    format!("{:+.1} MiB", (peak as f64 - base as f64) / 1024.0)
                }
                _ => "n/a".into(),
            };
            let _ = writeln!(
                out,
                "| {case} | {} | {over} | {latency} |",
                peak.map_or("n/a".into(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0)),
            );
        }
    }

    // Targets.
    let _ = writeln!(
        out,
        "\n### Targets\n\n| target | result | measured |\n|---|---|---|"
    );
    for (target, ok, measured) in targets {
        let _ = writeln!(out, "| {target} | {} | {measured} |", mark(ok));
    }
    out
}
