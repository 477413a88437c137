//! How the command reaches servers: time bounds for each request and for the whole run, and the
//! address guard, on in every subcommand.
//!
//! The guard's rules (RFC 9728 section 7.7: a document must not steer the client to internal
//! addresses):
//! - link-local (cloud metadata at 169.254.169.254), unspecified, broadcast, multicast and
//!   reserved addresses are never connected to, whatever the flags;
//! - private and loopback addresses are refused, for IP literals and for what names resolve
//!   to, unless the MCP server URL is itself a private or loopback IP literal (then such
//!   addresses are the deployment's own), the host is listed with `--allow-private-host`, or
//!   the guard is switched off with `--allow-private-addresses`;
//! - loopback addresses are also allowed with `--insecure-loopback` (testing).
//!
//! The same rules hold for hosts the settings name and hosts a document names: a company
//! server on an internal name is listed with `--allow-private-host`, explicitly. Every name is
//! checked after it resolves and before any connection, so a document naming
//! `https://metadata.example/` that resolves to 169.254.169.254 is refused without a
//! connection attempt.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use xaa::Policy;
use xaa::discovery::AddressGuard;

use crate::exit::Failure;
use crate::terminal::shown;

/// Bounds of `--timeout`, in seconds.
pub(crate) const TIMEOUT_SECONDS: (u64, u64) = (1, 3600);
/// Bounds of `--deadline`, in seconds.
pub(crate) const DEADLINE_SECONDS: (u64, u64) = (1, 7200);
/// `--timeout` when none is given.
pub(crate) const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// The most `--resolve` entries and addresses per entry.
const MAX_RESOLVE: usize = 64;

/// The network settings of one run, checked.
#[derive(Clone, Debug)]
pub(crate) struct Network {
    timeout: Duration,
    deadline: Instant,
    allow_private_hosts: Vec<String>,
    allow_private_addresses: bool,
    resolve: Vec<(String, Vec<IpAddr>)>,
}

/// The raw settings, as flags, variables or config keys gave them.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetworkSettings<'a> {
    pub(crate) timeout: Option<u64>,
    pub(crate) deadline: Option<u64>,
    pub(crate) allow_private_hosts: &'a [String],
    pub(crate) allow_private_addresses: bool,
    pub(crate) resolve: &'a [String],
}

impl Network {
    /// Checks the settings; the run's deadline counts from `started`.
    pub(crate) fn new(settings: &NetworkSettings<'_>, started: Instant) -> Result<Self, Failure> {
        let timeout = bounded(
            "timeout",
            settings.timeout.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
            TIMEOUT_SECONDS,
        )?;
        let deadline = bounded(
            "deadline",
            settings.deadline.unwrap_or(timeout.saturating_mul(2)),
            DEADLINE_SECONDS,
        )?;
        if settings.resolve.len() > MAX_RESOLVE {
            return Err(Failure::Usage(format!(
                "--resolve: at most {MAX_RESOLVE} entries"
            )));
        }
        let resolve = settings
            .resolve
            .iter()
            .map(|entry| parse_resolve(entry))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            timeout: Duration::from_secs(timeout),
            deadline: started + Duration::from_secs(deadline),
            allow_private_hosts: settings.allow_private_hosts.to_vec(),
            allow_private_addresses: settings.allow_private_addresses,
            resolve,
        })
    }

    /// When the whole run must have ended.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// A client for a run under `policy`, guarded for the MCP server `server_url` (if the run
    /// has one).
    pub(crate) fn client(
        &self,
        policy: &Policy,
        server_url: Option<&str>,
    ) -> Result<xaa_ureq::Client, Failure> {
        let mut guard = match server_url {
            Some(server) => AddressGuard::for_server(policy, server),
            None => AddressGuard::new(Vec::<String>::new())
                .allow_private(policy.allow_private_addresses)
                .allow_loopback(policy.allow_http_loopback || policy.allow_private_addresses),
        };
        for host in &self.allow_private_hosts {
            guard = guard.allow_host(host);
        }
        if self.allow_private_addresses {
            guard = guard.allow_private(true).allow_loopback(true);
        }
        let mut builder = xaa_ureq::Client::builder()
            .max_body_bytes(policy.max_body_bytes)
            .timeout(self.timeout)
            .address_guard(guard);
        for (host, addresses) in &self.resolve {
            builder = builder.resolve(host.clone(), addresses.iter().copied());
        }
        builder
            .build()
            .map_err(|e| Failure::Usage(format!("cannot build the HTTP client: {e}")))
    }
}

/// `what` in whole seconds within `(low, high)`: a value outside is refused, never wrapped
/// or saturated into something the user did not ask for.
fn bounded(what: &str, value: u64, (low, high): (u64, u64)) -> Result<u64, Failure> {
    if (low..=high).contains(&value) {
        Ok(value)
    } else {
        Err(Failure::Usage(bounds_message(what, (low, high))))
    }
}

fn bounds_message(what: &str, (low, high): (u64, u64)) -> String {
    format!("the {what} must be a whole number of seconds from {low} to {high}")
}

/// Reads `--timeout SECS` (a clap value parser; the same rule as [`Network::new`]).
pub(crate) fn parse_timeout(value: &str) -> Result<u64, String> {
    parse_seconds(value, "timeout", TIMEOUT_SECONDS)
}

/// Reads `--deadline SECS`.
pub(crate) fn parse_deadline(value: &str) -> Result<u64, String> {
    parse_seconds(value, "deadline", DEADLINE_SECONDS)
}

fn parse_seconds(value: &str, what: &str, bounds: (u64, u64)) -> Result<u64, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|seconds| (bounds.0..=bounds.1).contains(seconds))
        .ok_or_else(|| bounds_message(what, bounds))
}

/// `HOST=ADDR[,ADDR...]`.
fn parse_resolve(entry: &str) -> Result<(String, Vec<IpAddr>), Failure> {
    let invalid = |why: &str| {
        Failure::Usage(format!(
            "--resolve {}: {why} (expected HOST=ADDR[,ADDR...])",
            shown(entry)
        ))
    };
    let (host, addresses) = entry.split_once('=').ok_or_else(|| invalid("no '='"))?;
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Err(invalid("not a host name"));
    }
    let addresses: Vec<IpAddr> = addresses
        .split(',')
        .map(|a| {
            a.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| invalid("not an IP address"))
        })
        .collect::<Result<_, _>>()?;
    if addresses.len() > MAX_RESOLVE {
        return Err(invalid("too many addresses"));
    }
    Ok((host.to_ascii_lowercase(), addresses))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(timeout: Option<u64>, deadline: Option<u64>) -> NetworkSettings<'static> {
        NetworkSettings {
            timeout,
            deadline,
            ..NetworkSettings::default()
        }
    }

    #[test]
    fn time_bounds_are_refused_outside_their_range_and_never_overflow() {
        let now = Instant::now();
        for timeout in [0, 3601, u64::MAX, i64::MAX as u64] {
            assert!(Network::new(&settings(Some(timeout), None), now).is_err());
        }
        for deadline in [0, 7201, u64::MAX] {
            assert!(Network::new(&settings(None, Some(deadline)), now).is_err());
        }
        let network = Network::new(&settings(Some(3600), None), now).expect("in range");
        assert_eq!(network.deadline(), now + Duration::from_secs(7200));
        let network = Network::new(&settings(None, None), now).expect("defaults");
        assert_eq!(network.deadline(), now + Duration::from_secs(60));
    }

    #[test]
    fn resolve_entries() {
        assert_eq!(
            parse_resolve("Meta.Test=169.254.169.254,[::1]").ok(),
            Some((
                "meta.test".to_owned(),
                vec![
                    IpAddr::from([169, 254, 169, 254]),
                    IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1u16])
                ]
            ))
        );
        for bad in ["meta.test", "=1.2.3.4", "a b=1.2.3.4", "x=999.1.1.1", "x="] {
            assert!(parse_resolve(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flag_parsers_take_whole_seconds_within_the_bounds() {
        assert_eq!(parse_timeout("1"), Ok(1));
        assert_eq!(parse_timeout("3600"), Ok(3600));
        assert_eq!(parse_deadline("7200"), Ok(7200));
        for refused in [
            "0",
            "3601",
            "9223372036854775807",
            "18446744073709551616",
            "-1",
            "1.5",
            "",
            " 5",
            "ten",
        ] {
            let error = parse_timeout(refused).expect_err(refused);
            assert!(error.contains("from 1 to 3600"), "{error}");
        }
        assert!(parse_deadline("7201").is_err());
    }
}
