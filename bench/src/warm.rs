//! The warm exchange, the three contenders alternated iteration by iteration on one runtime,
//! with wall time and client CPU time per exchange, and a check that every request reached
//! the servers.

use std::time::Instant;

use xaa_testkit::{Endpoint, Testkit};

use crate::Args;
use crate::contenders::{BoxError, Contender, Contenders};
use crate::stats::{Summary, ThreadCpu};
use crate::target::Target;

/// One contender's share of a pass.
#[derive(Clone, Debug, Default)]
pub(crate) struct Samples {
    pub(crate) wall: Summary,
    pub(crate) cpu: Option<Summary>,
    /// Token-endpoint requests the kit recorded from this contender (warm-up included), per
    /// exchange made.
    pub(crate) idp_token_requests: usize,
    pub(crate) as_token_requests: usize,
    /// Of those, how many were not answered 200.
    pub(crate) not_ok: usize,
    pub(crate) exchanges: usize,
}

/// One pass over all contenders.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pass {
    pub(crate) by: Vec<(Contender, Samples)>,
    /// Client-side TCP connections established to the IdP and the authorization server after
    /// the pass, and sockets in TIME_WAIT on either port (a closed connection).
    pub(crate) connections: Connections,
}

/// What `/proc/net/tcp` says about the connections to the kit.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Connections {
    pub(crate) to_idp: usize,
    pub(crate) to_as: usize,
    pub(crate) time_wait: usize,
}

/// One pass: `warmup` unmeasured iterations, then `iterations` measured ones; in each, every
/// contender does one exchange, in an order that rotates from one iteration to the next.
pub(crate) async fn pass(
    kit: &Testkit,
    target: &Target,
    contenders: &Contenders,
    args: &Args,
) -> Result<Pass, BoxError> {
    kit.clear_requests();
    let cpu = ThreadCpu::open();
    let mut wall: [Vec<u64>; 3] = Default::default();
    let mut cpu_ns: [Vec<u64>; 3] = Default::default();
    let total = args.warmup + args.iterations;
    for iteration in 0..total {
        for k in 0..Contender::ALL.len() {
            let index = (iteration + k) % Contender::ALL.len();
            let who = Contender::ALL[index];
            let cpu_before = cpu.now();
            let started = Instant::now();
            let token = contenders
                .exchange(who)
                .await
                .map_err(|error| format!("{} warm exchange failed: {error}", who.short()))?;
            let elapsed = started.elapsed();
            let cpu_after = cpu.now();
            if iteration == 0 && kit.access_token_info(&token).is_none() {
                return Err(format!("{}: the kit did not issue this token", who.short()).into());
            }
            if iteration >= args.warmup {
                wall[index].push(elapsed.as_nanos() as u64);
                if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
                    cpu_ns[index].push(after.saturating_sub(before));
                }
            }
        }
    }
    let records = kit.requests();
    let mut by = Vec::new();
    for (index, who) in Contender::ALL.into_iter().enumerate() {
        let mine: Vec<_> = records
            .iter()
            .filter(|r| who.sent(r.header("user-agent")))
            .collect();
        let count = |endpoint| mine.iter().filter(|r| r.endpoint == Some(endpoint)).count();
        by.push((
            who,
            Samples {
                wall: Summary::of(&wall[index]),
                cpu: (!cpu_ns[index].is_empty()).then(|| Summary::of(&cpu_ns[index])),
                idp_token_requests: count(Endpoint::IdpToken),
                as_token_requests: count(Endpoint::AsToken),
                not_ok: mine
                    .iter()
                    .filter(|r| r.status != Some(http::StatusCode::OK))
                    .count(),
                exchanges: total,
            },
        ));
    }
    kit.clear_requests();
    Ok(Pass {
        by,
        connections: connections(target),
    })
}

/// Counts, from `/proc/net/tcp`, the established client connections to the IdP's and the
/// authorization server's ports, and the sockets in TIME_WAIT on either.
pub(crate) fn connections(target: &Target) -> Connections {
    let (Some(idp), Some(authorization_server)) = (
        Target::port(&target.idp_token_endpoint),
        Target::port(&target.as_token_endpoint),
    ) else {
        return Connections::default();
    };
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return Connections::default();
    };
    let port_of = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    let mut out = Connections::default();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(remote), Some(state)) = (
            fields.get(1).and_then(|a| port_of(a)),
            fields.get(2).and_then(|a| port_of(a)),
            fields.get(3),
        ) else {
            continue;
        };
        match *state {
            "01" if remote == idp => out.to_idp += 1,
            "01" if remote == authorization_server => out.to_as += 1,
            "06" if [local, remote]
                .iter()
                .any(|p| *p == idp || *p == authorization_server) =>
            {
                out.time_wait += 1
            }
            _ => {}
        }
    }
    out
}
