//! The printed report: each figure with what it means and its target.

use crate::fleet::Phase;
use crate::job::{LatencyReport, MemoryReport};
use crate::params::{Params, SMALL_CACHE};
use crate::summary::{Summary, duration};

/// `text` with every character unsafe on a terminal escaped (`xaa::is_unsafe_for_display`).
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if xaa::is_unsafe_for_display(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(crate) fn header(params: &Params) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "# Gateway fleet: {} replica processes, {} users",
        params.replicas, params.users
    );
    println!();
    println!(
        "{cores} cores (shared: the kit, redis-server and the replicas run on the same ones). Each \
         replica: an xaa-reqwest authorizer on a current-thread runtime, {} callers asking \
         tokens for the users in turn, {} calls/s, for {:?}. The kit's access tokens live {:?} \
         and are replaced {:?} before expiry: one process needs a new token per user every \
         lifetime less the lead, {} in a run.",
        params.callers,
        params.calls_per_second,
        params.duration,
        params.lifetime,
        params.lead,
        params.lifetimes()
    );
    println!();
}

pub(crate) fn exchanges(params: &Params, shared: &Phase, alone: &Phase) {
    println!("## 1. Exchanges per user per token lifetime, fleet-wide");
    println!();
    println!(
        "Each user's token exchanges at the kit's IdP (answered 200) over the run, divided by \
         the {} token lifetimes the run spans for one process; median, p90 and maximum over the \
         users, and how many users are above the expected figure. Target: exactly 1 with the \
         Redis store (one exchange per user and lifetime across all replicas); without it each \
         replica exchanges for itself: {} expected.",
        params.lifetimes(),
        params.replicas
    );
    println!();
    println!(
        "| fleet | median | p90 | max | users above | IdP exchanges | AS grants | calls ok | failed | call median | call p90 | store fallbacks | wall |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let with_store = phase_row(params, "Redis store", shared, 1.0);
    let without = phase_row(params, "no store", alone, params.replicas as f64);
    println!();
    println!(
        "Ratio of medians, no store / Redis store: {:.2} (expected {}). Target exactly 1 with \
         Redis, for every user: {} ({} of {} users above 1).",
        without.summary.median / with_store.summary.median.max(f64::MIN_POSITIVE),
        params.replicas,
        verdict(with_store.above == 0 && with_store.summary.median == 1.0),
        with_store.above,
        with_store.summary.n,
    );
    println!();
}

/// One fleet run's exchanges per user and lifetime.
struct Row {
    summary: Summary,
    /// The users above the expected figure.
    above: usize,
}

/// Prints one fleet run's row; returns its exchanges per user and lifetime.
fn phase_row(params: &Params, name: &str, phase: &Phase, expected: f64) -> Row {
    let lifetimes = params.lifetimes() as f64;
    let ratios: Vec<f64> = phase
        .exchanges
        .per_user
        .iter()
        .map(|&count| count as f64 / lifetimes)
        .collect();
    let summary = Summary::of(&ratios);
    let max = ratios.iter().copied().fold(0.0, f64::max);
    let above = ratios.iter().filter(|&&ratio| ratio > expected).count();
    let latencies: Vec<u64> = phase
        .replicas
        .iter()
        .flat_map(|replica| replica.latencies_ns.iter().copied())
        .collect();
    let calls = Summary::of_nanos(&latencies);
    let failed: u64 = phase.replicas.iter().map(|replica| replica.failed).sum();
    let fallbacks: u64 = phase.replicas.iter().map(|replica| replica.fallbacks).sum();
    println!(
        "| {} x {name} | {:.2} | {:.2} | {max:.2} | {above} | {} | {} | {} | {failed} | {} | {} | {fallbacks} | {:.1} s |",
        params.replicas,
        summary.median,
        summary.p90,
        phase.exchanges.idp_exchanges,
        phase.exchanges.as_grants,
        calls.n,
        duration(calls.median),
        duration(calls.p90),
        phase.wall.as_secs_f64(),
    );
    for failure in phase
        .replicas
        .iter()
        .filter_map(|replica| replica.first_failure.as_deref())
    {
        println!("  a call failed: {}", printable(failure));
    }
    Row { summary, above }
}

pub(crate) fn latency(report: &LatencyReport, served_from_redis: bool) {
    println!("## 2. Latency the shared store adds");
    println!();
    println!(
        "One process, {} users: a PING and a local miss per user, then the two local hits of \
         each user in alternating order. A local miss: the authorizer has never seen the user, \
         another authorizer (the writer) stored the user's token in Redis: one GET, the value \
         opened (AES-256-GCM) and adopted, no exchange. The local hits: the writer's (store \
         configured) and those of an authorizer with no store, both holding tokens from their \
         own exchanges.",
        report.ping.n
    );
    println!();
    println!("| call | median | p90 |");
    println!("|---|---|---|");
    for (name, summary) in [
        (
            "Redis PING round trip (redis' ConnectionManager, as the store's)",
            &report.ping,
        ),
        ("local miss served from Redis", &report.miss_from_redis),
        ("local hit, Redis store configured", &report.hit_with_store),
        ("local hit, no store at all", &report.hit_without_store),
    ] {
        println!(
            "| {name} | {} | {} |",
            duration(summary.median),
            duration(summary.p90)
        );
    }
    println!();
    let added_miss = report.miss_from_redis.median - report.hit_with_store.median;
    let pings = added_miss / report.ping.median.max(f64::MIN_POSITIVE);
    println!(
        "Added on a local miss (median miss - median hit): {} = {pings:.2} PING round trips \
         (target: one round trip). The round trips are counted below; beyond the one round \
         trip, {} is the miss's own work in the process (the flight set up, the value opened \
         and parsed, the token adopted).",
        duration(added_miss),
        duration(added_miss - report.ping.median)
    );
    let added_hit = report.hit_with_store.median - report.hit_without_store.median;
    let ratio =
        report.hit_with_store.median / report.hit_without_store.median.max(f64::MIN_POSITIVE);
    println!(
        "Added on a local hit (median with store - median without): {} (ratio {ratio:.2}; \
         target zero).",
        duration(added_hit)
    );
    let users = report.miss_from_redis.n.max(1) as f64;
    let per_call = |commands: &std::collections::BTreeMap<String, u64>| {
        if commands.is_empty() {
            return "none".to_owned();
        }
        commands
            .iter()
            .map(|(command, &calls)| {
                format!("{} x{:.2}", command.to_uppercase(), calls as f64 / users)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "Commands Redis served (its INFO commandstats) per local miss: {}; per local hit (two \
         per user): {}.",
        per_call(&report.miss_commands),
        per_call(&report.hit_commands)
    );
    println!(
        "Every miss served from Redis, with no exchange (the kit's count) and no store \
         fallback ({}): {}.",
        report.fallbacks,
        verdict(served_from_redis && report.fallbacks == 0)
    );
    println!();
}

pub(crate) fn memory(small: &MemoryReport, large: &MemoryReport) {
    println!(
        "## 3. The local cache at {SMALL_CACHE} and {} users",
        large.users
    );
    println!();
    println!(
        "Heap bytes in use (a counting global allocator; after the inserts less before, divided \
         by the users), one process per size. The authorizer: its token cache and its per-user \
         records, filled through its own path for a token read from a store, an insert being \
         `acquire` for a new user and a lookup `acquire` for a held one. `TokenCache` alone: \
         `insert` and `lookup`. Each token is a copy of a kit access token: {} bytes of text.",
        large.token_bytes
    );
    println!();
    println!(
        "| structure | users | bytes per cached token | beyond the token's text | insert median | insert p90 | lookup median | lookup p90 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for report in [small, large] {
        println!(
            "| authorizer | {} | {:.0} | {:.0} | {} | {} | {} | {} |",
            report.users,
            report.authorizer_bytes_per_user,
            report.authorizer_bytes_per_user - report.token_bytes as f64,
            duration(report.authorizer_insert.median),
            duration(report.authorizer_insert.p90),
            duration(report.authorizer_lookup.median),
            duration(report.authorizer_lookup.p90),
        );
    }
    for report in [small, large] {
        println!(
            "| TokenCache alone | {} | {:.0} | {:.0} | {} | {} | {} | {} |",
            report.users,
            report.cache_bytes_per_entry,
            report.cache_bytes_per_entry - report.token_bytes as f64,
            duration(report.cache_insert.median),
            duration(report.cache_insert.p90),
            duration(report.cache_lookup.median),
            duration(report.cache_lookup.p90),
        );
    }
    println!();
    let ratio = |large: f64, small: f64| large / small.max(f64::MIN_POSITIVE);
    println!(
        "At {} users against {SMALL_CACHE}, medians: authorizer insert x{:.2}, lookup x{:.2}; \
         TokenCache insert x{:.2}, lookup x{:.2}. No operation walks the cache (a hash map and \
         an expiry B-tree); what grows is the processor's cache misses once the map no longer \
         fits in its caches.",
        large.users,
        ratio(
            large.authorizer_insert.median,
            small.authorizer_insert.median
        ),
        ratio(
            large.authorizer_lookup.median,
            small.authorizer_lookup.median
        ),
        ratio(large.cache_insert.median, small.cache_insert.median),
        ratio(large.cache_lookup.median, small.cache_lookup.median),
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}
