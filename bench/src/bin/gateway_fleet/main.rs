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
mod exchanges;
mod fleet;
mod gateway;
mod job;
mod latency;
mod memory;
mod redis_server;
mod replica;
mod report;
mod summary;

use std::alloc::System;
use std::process::ExitCode;
use std::time::Duration;

use cap::Cap;
use xaa_testkit::{Options, Testkit};

use crate::child::{CHILD_FLAG, ChildProcess, print_report, read_job};
use crate::job::{Job, Kit, LatencyJob, MemoryJob, Report, Store};
use crate::redis_server::{RedisServer, find_program};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every allocation of the process, counted: the memory figure reads the bytes in use. The
/// count costs an atomic add per allocation in every mode, the same for every contender.
#[global_allocator]
pub(crate) static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// The kit's access tokens in the latency and memory measurements: longer than the run.
const LONG_LIFETIME: Duration = Duration::from_secs(600);
/// The kit's ID-JAGs: short, so the kit's memory of used `jti`s (10,000 at most, each until
/// its `exp` plus a minute) stays well below its bound for a whole run.
const ID_JAG_LIFETIME: Duration = Duration::from_secs(10);

const HELP: &str = "\
gateway_fleet: a gateway fleet against the loopback testkit and a redis-server of its own.

USAGE: cargo run --release -p xaa-bench --bin gateway_fleet -- [OPTIONS]

OPTIONS:
  --replicas N        replica processes (default 4)
  --users N           users of the fleet (default 200)
  --callers N         concurrent callers per replica (default 16)
  --rate N            calls per second per replica, spread over the users (default 500)
  --seconds S         length of each fleet run (default 12)
  --lifetime-s S      the kit's access-token lifetime in the fleet runs (default 10)
  --lead-s S          refresh lead: a token is replaced this long before expiry (default 2)
  --latency-users N   users, so samples of each kind, of the latency measurement (default 400)
  --memory-users N    users of the large memory measurement (default 100000)
  -h, --help          this text

Needs redis-server (PATH, /usr/bin, /usr/sbin or $REDIS_SERVER); Debian: apt-get install
redis-server. Takes about a minute.";

/// The knobs.
#[derive(Clone, Debug)]
pub(crate) struct Params {
    pub(crate) replicas: usize,
    pub(crate) users: usize,
    pub(crate) callers: usize,
    pub(crate) calls_per_second: f64,
    pub(crate) duration: Duration,
    pub(crate) lifetime: Duration,
    pub(crate) lead: Duration,
    pub(crate) latency_users: usize,
    pub(crate) memory_users: usize,
}

/// The small size the memory measurement compares with.
pub(crate) const SMALL_CACHE: usize = 1_000;

impl Params {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Self>, BoxError> {
        let mut params = Self {
            replicas: 4,
            users: 200,
            callers: 16,
            calls_per_second: 500.0,
            duration: Duration::from_secs(12),
            lifetime: Duration::from_secs(10),
            lead: Duration::from_secs(2),
            latency_users: 400,
            memory_users: 100_000,
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--replicas" => params.replicas = value()?.parse()?,
                "--users" => params.users = value()?.parse()?,
                "--callers" => params.callers = value()?.parse()?,
                "--rate" => params.calls_per_second = value()?.parse()?,
                "--seconds" => params.duration = Duration::try_from_secs_f64(value()?.parse()?)?,
                "--lifetime-s" => params.lifetime = Duration::from_secs(value()?.parse()?),
                "--lead-s" => params.lead = Duration::from_secs(value()?.parse()?),
                "--latency-users" => params.latency_users = value()?.parse()?,
                "--memory-users" => params.memory_users = value()?.parse()?,
                other => return Err(format!("unknown option {other:?}; see --help").into()),
            }
        }
        if params.replicas == 0 || params.users == 0 || params.latency_users == 0 {
            return Err("--replicas, --users and --latency-users must be positive".into());
        }
        let rate = params.calls_per_second;
        if !(rate.is_finite() && rate >= 1.0) || params.memory_users == 0 {
            return Err("--rate must be at least 1 and --memory-users positive".into());
        }
        if params.duration.is_zero() || params.duration > Duration::from_secs(3600) {
            return Err("--seconds must be positive and at most an hour".into());
        }
        if params.lead >= params.lifetime {
            return Err("--lead-s must be shorter than --lifetime-s".into());
        }
        Ok(Some(params))
    }

    /// The tokens one process needs per user over a run: a new one every lifetime less the
    /// lead.
    pub(crate) fn lifetimes(&self) -> u64 {
        let period = (self.lifetime - self.lead).as_secs_f64();
        (self.duration.as_secs_f64() / period).ceil() as u64
    }
}

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

fn run_parent(params: &Params, program: &std::path::PathBuf) -> Result<(), BoxError> {
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
    kit.clear_requests();
    let warm = |name: &str| kit.id_token(name).expose_secret().to_owned();
    let latency_job = Job::Latency(LatencyJob {
        kit: Kit::of(&kit)?,
        store: store("gateway-fleet-latency")?,
        warm_id_tokens: [
            warm("latency-writer"),
            warm("latency-reader"),
            warm("latency-bare"),
        ],
        id_tokens: (0..params.latency_users)
            .map(|n| warm(&format!("latency-user-{n:04}")))
            .collect(),
    });
    let Report::Latency(latency) =
        ChildProcess::spawn("latency", &latency_job)?.report(Duration::from_secs(120))?
    else {
        return Err("the latency child sent another kind of report".into());
    };
    // Setup only: the writer's and the store-less authorizer's exchange per user, and one
    // warm-up flow each for the three authorizers. A miss that was not served from Redis
    // would have added one.
    let setup_exchanges = 2 * params.latency_users + 3;
    let exchanges = kit.requests_to(xaa_testkit::Endpoint::IdpToken).len();
    report::latency(&latency, exchanges == setup_exchanges);

    let memory = |users: usize| -> Result<job::MemoryReport, BoxError> {
        let job = Job::Memory(MemoryJob {
            kit: Kit::of(&kit)?,
            warm_id_token: warm("memory-warm"),
            users,
        });
        match ChildProcess::spawn(format!("memory at {users} users"), &job)?
            .report(Duration::from_secs(120))?
        {
            Report::Memory(report) => Ok(report),
            _ => Err("the memory child sent another kind of report".into()),
        }
    };
    let small = memory(SMALL_CACHE)?;
    let large = memory(params.memory_users)?;
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
