//! One replica of the gateway: `callers` tasks ask tokens for the fleet's users, one call due
//! every `1 / calls_per_second` seconds, user after user, for `duration`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use xaa::authorizer::User;

use crate::BoxError;
use crate::child::ready_and_wait_for_go;
use crate::gateway::{authorizer, client, runtime, shared_store};
use crate::job::{ReplicaJob, ReplicaReport, user};

/// What one caller task saw.
#[derive(Default)]
struct Calls {
    latencies_ns: Vec<u64>,
    failed: u64,
    first_failure: Option<String>,
}

/// Runs the replica: warms up (one flow for a user of its own, to discover the MCP server),
/// says it is ready, waits for `go`, runs the workload.
pub(crate) fn run(job: &ReplicaJob) -> Result<ReplicaReport, BoxError> {
    let runtime = runtime()?;
    let store = match &job.store {
        Some(store) => Some(runtime.block_on(shared_store(store))?),
        None => None,
    };
    let authorizer = authorizer(&job.kit, job.lead, client(store.clone())?);
    runtime.block_on(authorizer.token(&user(&job.warm_id_token)?))?;
    let users: Arc<Vec<User>> = Arc::new(
        job.id_tokens
            .iter()
            .map(|token| user(token))
            .collect::<Result<_, _>>()?,
    );
    ready_and_wait_for_go()?;

    let calls = runtime.block_on(workload(job, &authorizer, &users))?;
    Ok(ReplicaReport {
        failed: calls.failed,
        first_failure: calls.first_failure,
        latencies_ns: calls.latencies_ns,
        fallbacks: store.map_or(0, |store| store.fallbacks()),
    })
}

async fn workload(
    job: &ReplicaJob,
    authorizer: &xaa_reqwest::Authorizer,
    users: &Arc<Vec<User>>,
) -> Result<Calls, BoxError> {
    if users.is_empty() {
        return Err("a workload needs users".into());
    }
    let interval = Duration::try_from_secs_f64(1.0 / job.calls_per_second)?;
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    let start = Instant::now();
    let end = start + job.duration;
    let next_call = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..job.callers.max(1))
        .map(|_| {
            let (authorizer, users, next_call) = (
                authorizer.clone(),
                Arc::clone(users),
                Arc::clone(&next_call),
            );
            tokio::spawn(async move {
                let mut calls = Calls::default();
                loop {
                    let number = next_call.fetch_add(1, Ordering::Relaxed);
                    let due = start + Duration::from_nanos(interval_ns.saturating_mul(number));
                    if due >= end {
                        return calls;
                    }
                    tokio::time::sleep_until(due).await;
                    let user = &users[(number % users.len() as u64) as usize];
                    let started = std::time::Instant::now();
                    match authorizer.token(user).await {
                        Ok(_) => calls.latencies_ns.push(started.elapsed().as_nanos() as u64),
                        Err(error) => {
                            calls.failed += 1;
                            calls.first_failure.get_or_insert_with(|| error.to_string());
                        }
                    }
                }
            })
        })
        .collect();
    let mut all = Calls::default();
    for task in tasks {
        let calls = task.await?;
        all.latencies_ns.extend(calls.latencies_ns);
        all.failed += calls.failed;
        if all.first_failure.is_none() {
            all.first_failure = calls.first_failure;
        }
    }
    Ok(all)
}
