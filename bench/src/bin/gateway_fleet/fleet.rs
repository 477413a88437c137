//! The fleet workload, run twice on the same kit: the replicas sharing the Redis store, then
//! the same replicas each on its own.

use std::time::{Duration, Instant};

use xaa_testkit::Testkit;

use crate::BoxError;
use crate::child::ChildProcess;
use crate::exchanges::{Exchanges, count};
use crate::job::{Job, Kit, ReplicaJob, ReplicaReport, Report, Store};
use crate::params::Params;

/// How long a replica may take to warm up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the workload gave.
#[derive(Debug)]
pub(crate) struct Phase {
    pub(crate) exchanges: Exchanges,
    pub(crate) replicas: Vec<ReplicaReport>,
    pub(crate) wall: Duration,
}

/// Runs the workload on `params.replicas` replica processes, sharing `store` when given.
/// `name` keeps this run's users apart from the other's.
pub(crate) fn run(
    kit: &Testkit,
    params: &Params,
    name: &str,
    store: Option<&Store>,
) -> Result<Phase, BoxError> {
    let names: Vec<String> = (0..params.users)
        .map(|n| format!("{name}-user-{n:04}"))
        .collect();
    let id_tokens: Vec<String> = names
        .iter()
        .map(|user| kit.id_token(user).expose_secret().to_owned())
        .collect();
    let mut replicas = (0..params.replicas)
        .map(|replica| {
            let job = Job::Replica(ReplicaJob {
                kit: Kit::of(kit)?,
                store: store.cloned(),
                warm_id_token: kit
                    .id_token(&format!("{name}-warm-{replica}"))
                    .expose_secret()
                    .to_owned(),
                id_tokens: id_tokens.clone(),
                callers: params.callers,
                calls_per_second: params.calls_per_second,
                duration: params.duration,
                lead: params.lead,
            });
            ChildProcess::spawn(format!("{name} replica {replica}"), &job)
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    for replica in &mut replicas {
        replica.wait_ready(READY_TIMEOUT)?;
    }
    kit.clear_requests();
    let started = Instant::now();
    for replica in &mut replicas {
        replica.go()?;
    }
    let reports = replicas
        .into_iter()
        .map(
            |replica| match replica.report(params.duration + READY_TIMEOUT)? {
                Report::Replica(report) => Ok(report),
                _ => Err("a replica sent another kind of report".into()),
            },
        )
        .collect::<Result<Vec<_>, BoxError>>()?;
    Ok(Phase {
        exchanges: count(kit, &names),
        replicas: reports,
        wall: started.elapsed(),
    })
}
