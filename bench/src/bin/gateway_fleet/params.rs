//! The knobs of a run, from the command line.

use std::time::Duration;

use crate::BoxError;

pub(crate) const HELP: &str = "\
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

The kit remembers at most 10,000 used ID-JAG jtis, each for about 70 s: keep users x
(replicas + 1) x lifetimes in a run well below that, or its token endpoint answers 503.

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
    pub(crate) fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Self>, BoxError> {
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
