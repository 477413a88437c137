//! `gateway_fleet`: a gateway of several replica processes serving many users against the
//! loopback testkit, with a real `redis-server` of its own, and the figures of issue 16's
//! benchmark printed side by side (BENCHMARKS.md, "Gateway fleet"):
//!
//! 1. exchanges per user per token lifetime, fleet-wide, with the Redis store and without;
//! 2. the latency the store adds to a local miss (against a Redis `PING`) and to a local hit
//!    (against an authorizer with no store);
//! 3. heap bytes per cached token in the local cache at 100,000 users, and the time an insert
//!    and a lookup take there and at 1,000 users.
//!
//! The binary re-executes itself (`--child`) for each replica and each measurement; a child
//! reads its job on standard input. `--help` lists the knobs.

mod child;
mod commands;
mod exchanges;
mod fleet;
mod gateway;
mod job;
mod latency;
mod memory;
mod params;
mod redis_server;
mod replica;
mod report;
mod summary;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use xaa_testkit::{Options, Testkit};

use crate::child::{CHILD_FLAG, print_report, read_job};
use crate::job::{Job, Report, Store};
use crate::params::{HELP, Params, SMALL_CACHE};
use crate::redis_server::{RedisServer, find_program};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The kit's access tokens in the latency and memory measurements: longer than the run.
const LONG_LIFETIME: Duration = Duration::from_secs(600);
/// The kit's ID-JAGs: short, so the kit's memory of used `jti`s (10,000 at most, each until
/// its `exp` plus a minute) stays well below its bound for a whole run.
const ID_JAG_LIFETIME: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some(CHILD_FLAG) {
        return exit(run_child());
    }
    let params = match Params::parse(args) {
        Ok(Some(params)) => params,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(error) => return exit(Err(error)),
    };
    let Some(program) = find_program() else {
        eprintln!(
            "gateway_fleet needs redis-server, which is not installed (not in PATH, /usr/bin, \
             /usr/sbin nor $REDIS_SERVER). On Debian or Ubuntu: apt-get install redis-server"
        );
        return ExitCode::from(2);
    };
    exit(run_parent(&params, &program))
}

fn exit(result: Result<(), BoxError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gateway_fleet: {}", report::printable(&error.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn run_child() -> Result<(), BoxError> {
    let report = match read_job()? {
        Job::Replica(job) => Report::Replica(replica::run(&job)?),
        Job::Latency(job) => Report::Latency(latency::run(&job)?),
        Job::Memory(job) => Report::Memory(memory::run(&job)?),
    };
    print_report(&report)
}

fn run_parent(params: &Params, program: &Path) -> Result<(), BoxError> {
    let redis = RedisServer::start(program)?;
    let kit = Testkit::start(
        Options::default()
            .access_token_lifetime(params.lifetime)
            .id_jag_lifetime(ID_JAG_LIFETIME),
    )?;
    report::header(params);
    let store = |prefix: &str| -> Result<Store, BoxError> {
        Ok(Store {
            redis_url: redis.url(),
            sealing_key: sealing_key()?,
            prefix: prefix.to_owned(),
        })
    };

    let shared = fleet::run(&kit, params, "shared", Some(&store("gateway-fleet")?))?;
    let alone = fleet::run(&kit, params, "alone", None)?;
    report::exchanges(params, &shared, &alone);

    kit.set_access_token_lifetime(LONG_LIFETIME);
    let (latency, served_from_redis) =
        latency::in_child(&kit, store("gateway-fleet-latency")?, params.latency_users)?;
    report::latency(&latency, served_from_redis);
    let small = memory::in_child(&kit, SMALL_CACHE)?;
    let large = memory::in_child(&kit, params.memory_users)?;
    report::memory(&small, &large);
    drop(kit);
    drop(redis);
    Ok(())
}

/// A fresh AES-256-GCM key for the run's store, from aws-lc-rs' generator.
fn sealing_key() -> Result<Vec<u8>, BoxError> {
    let mut key = vec![0; 32];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut key)
        .map_err(|_| "no random bytes for the sealing key")?;
    Ok(key)
}
