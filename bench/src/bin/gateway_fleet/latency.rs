//! The latency a shared store adds to a call, measured in one process, user by user:
//!
//! * a Redis `PING` on a connection of the same kind as the store's (redis' reconnecting
//!   multiplexed `ConnectionManager`): one round trip;
//! * a local miss served from Redis: the reader authorizer has never seen the user, a writer
//!   authorizer (another "replica") stored the user's token, so the call is one `GET`, the
//!   token opened (AES-256-GCM) and adopted: no exchange;
//! * a local hit of the writer, which holds every user's token from its own exchange, with the
//!   store configured;
//! * a local hit of an authorizer with no store at all, which obtained its tokens the same way.
//!
//! Redis counts the commands it serves (`INFO commandstats`): the store's commands during the
//! misses and during the hits are reported too.
//!
//! A first pass over the users takes a `PING` and a miss per user, a second the two hits of each
//! user in an order that alternates from user to user, so that the machine's drift and the
//! processor's caches treat the two hits alike.

use std::time::{Duration, Instant};

use xaa::authorizer::User;
use xaa_redis::{Timeouts, connection_manager};
use xaa_testkit::{Endpoint, Testkit};

use crate::BoxError;
use crate::child::ChildProcess;
use crate::commands;
use crate::gateway::{authorizer, client, runtime, shared_store};
use crate::job::{Job, Kit, LatencyJob, LatencyReport, Report, Store, user};
use crate::summary::Summary;

/// How long the measurement may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// In the parent: runs the measurement in a child process for `users` users, against `kit`
/// and `store`. Also says whether every miss was served from Redis: the kit saw only the
/// setup's exchanges.
pub(crate) fn in_child(
    kit: &Testkit,
    store: Store,
    users: usize,
) -> Result<(LatencyReport, bool), BoxError> {
    let id_token = |name: &str| kit.id_token(name).expose_secret().to_owned();
    let job = Job::Latency(LatencyJob {
        kit: Kit::of(kit)?,
        store,
        warm_id_tokens: [
            id_token("latency-writer"),
            id_token("latency-reader"),
            id_token("latency-bare"),
        ],
        id_tokens: (0..users)
            .map(|n| id_token(&format!("latency-user-{n:04}")))
            .collect(),
    });
    kit.clear_requests();
    let Report::Latency(report) = ChildProcess::spawn("latency", &job)?.report(TIMEOUT)? else {
        return Err("the latency child sent another kind of report".into());
    };
    // The setup's exchanges only: the writer's and the store-less authorizer's, one per user,
    // and one warm-up flow for each of the three authorizers. A miss not served from Redis
    // would have added one.
    let setup = 2 * users + 3;
    Ok((report, kit.requests_to(Endpoint::IdpToken).len() == setup))
}

/// No token is refreshed while the samples are taken: the kit's tokens live far longer.
const LEAD: Duration = Duration::from_secs(5);

/// In the child: runs the measurement.
pub(crate) fn run(job: &LatencyJob) -> Result<LatencyReport, BoxError> {
    runtime()?.block_on(measure(job))
}

async fn measure(job: &LatencyJob) -> Result<LatencyReport, BoxError> {
    let store = shared_store(&job.store).await?;
    let writer = authorizer(&job.kit, LEAD, client(Some(store.clone()))?);
    let reader = authorizer(&job.kit, LEAD, client(Some(store.clone()))?);
    let bare = authorizer(&job.kit, LEAD, client(None)?);
    let [writer_warm, reader_warm, bare_warm] = &job.warm_id_tokens;
    for (authorizer, warm) in [
        (&writer, writer_warm),
        (&reader, reader_warm),
        (&bare, bare_warm),
    ] {
        authorizer.token(&user(warm)?).await?;
    }
    let users: Vec<User> = job
        .id_tokens
        .iter()
        .map(|token| user(token))
        .collect::<Result<_, _>>()?;
    // The writer's exchanges put every user's token in Redis; the bare authorizer holds its
    // own copy. The reader has seen none of them.
    for user in &users {
        writer.token(user).await?;
        bare.token(user).await?;
    }
    let mut ping_connection = connection_manager(
        redis::Client::open(job.store.redis_url.as_str())?,
        Timeouts::default(),
    )
    .await?;

    // First pass: a PING and a miss per user. Second pass: the two hits of a user, in an order
    // that alternates from user to user: the writer's and the store-less authorizer's, which
    // obtained their tokens alike (exchanges, user after user, interleaved).
    let mut samples = [const { Vec::new() }; 4];
    let before_misses = commands::served(&mut ping_connection).await?;
    for user in &users {
        let started = Instant::now();
        let pong: String = redis::cmd("PING").query_async(&mut ping_connection).await?;
        samples[0].push(nanos(started));
        if pong != "PONG" {
            return Err("Redis answered PING with something else than PONG".into());
        }
        let started = Instant::now();
        reader.token(user).await?;
        samples[1].push(nanos(started));
    }
    let after_misses = commands::served(&mut ping_connection).await?;
    for (number, user) in users.iter().enumerate() {
        let mut hits = [(2, &writer), (3, &bare)];
        if number % 2 == 1 {
            hits.reverse();
        }
        for (slot, authorizer) in hits {
            let started = Instant::now();
            authorizer.token(user).await?;
            samples[slot].push(nanos(started));
        }
    }
    let after_hits = commands::served(&mut ping_connection).await?;
    let [ping, miss, hit, bare_hit] = samples.map(|samples| Summary::of_nanos(&samples));
    Ok(LatencyReport {
        ping,
        miss_from_redis: miss,
        hit_with_store: hit,
        hit_without_store: bare_hit,
        miss_commands: commands::between(&before_misses, &after_misses),
        hit_commands: commands::between(&after_misses, &after_hits),
        fallbacks: store.fallbacks(),
    })
}

fn nanos(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
