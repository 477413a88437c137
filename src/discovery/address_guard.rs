//! The address guard for drivers (decisions.md D5, RFC 9728 section 7.7): which resolved
//! addresses a connection may use. The flows check URLs; a driver's resolver asks this guard
//! about the addresses a host name resolved to, so one decision serves every driver.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use url::Url;

use super::urls::is_private_deployment;
use crate::Policy;
use crate::address_class::{AddressClass, classify, describe_address};

/// Decides which addresses a connection may use, by their [`AddressClass`]:
///
/// * [`Never`](AddressClass::Never) (link-local, unspecified, broadcast, multicast, reserved)
///   is refused for every host, allowed or not;
/// * [`Private`](AddressClass::Private) is refused unless
///   [`allow_private`](Self::allow_private) is on or the host is allowed;
/// * [`Loopback`](AddressClass::Loopback) is refused unless
///   [`allow_loopback`](Self::allow_loopback) is on or the host is allowed;
/// * [`Public`](AddressClass::Public) is always allowed.
///
/// The default (and [`AddressGuard::new`]) refuses private and loopback addresses except for
/// the hosts listed (a proxy on the company network, an on-premises IdP);
/// [`AddressGuard::never_only`] refuses only the never class; [`AddressGuard::for_server`]
/// follows the flows' URL rule for one MCP server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressGuard {
    allowed_hosts: Vec<String>,
    allow_private: bool,
    allow_loopback: bool,
}

/// An address the guard does not connect to: the host's every address was refused (or the
/// host is an IP literal that is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateAddressRefused {
    /// The host, normalized.
    pub host: String,
    /// The first refused address it resolved to.
    pub address: IpAddr,
    /// The class of that address.
    pub class: AddressClass,
}

impl PrivateAddressRefused {
    /// The refusal of `address` for `host`, its class read from the address.
    pub fn new(host: &str, address: IpAddr) -> Self {
        Self {
            host: normalize(host),
            address,
            class: classify(address),
        }
    }
}

/// States the rule in words: "meta.test resolves to 169.254.169.254, a link-local address,
/// which is never connected to".
impl fmt::Display for PrivateAddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = describe_address(self.address);
        if self.host.parse::<IpAddr>().is_ok() {
            write!(f, "{} is {noun}", self.address)?;
        } else {
            write!(f, "{} resolves to {}, {noun}", self.host, self.address)?;
        }
        f.write_str(match self.class {
            AddressClass::Never => ", which is never connected to",
            AddressClass::Loopback => {
                ", which is connected to only when loopback addresses or this host are allowed"
            }
            AddressClass::Private | AddressClass::Public => {
                ", which is connected to only when private addresses or this host are allowed"
            }
        })
    }
}

impl std::error::Error for PrivateAddressRefused {}

/// Lowercase, without the brackets of an IPv6 literal or a trailing dot.
pub(super) fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

impl AddressGuard {
    /// A guard refusing private and loopback addresses, except for `allowed_hosts` (names or
    /// IP literals, any case), and never-class addresses for every host.
    pub fn new<I, S>(allowed_hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            allowed_hosts: allowed_hosts
                .into_iter()
                .map(|h| normalize(h.as_ref()))
                .collect(),
            allow_private: false,
            allow_loopback: false,
        }
    }

    /// A guard refusing only [`AddressClass::Never`] addresses: the safe default of a driver
    /// whose user did not ask for the full guard (link-local metadata services and `0.0.0.0`
    /// are never a legitimate OAuth endpoint, decisions.md D5).
    pub fn never_only() -> Self {
        Self::default().allow_private(true).allow_loopback(true)
    }

    /// The guard matching the flows' URL rule for the MCP server `server_url` (decisions.md
    /// D5): a server on a private or loopback IP literal (a private deployment) or
    /// [`Policy::allow_private_addresses`] allows private and loopback addresses;
    /// [`Policy::allow_http_loopback`] allows loopback ones. Never-class addresses stay refused.
    pub fn for_server(policy: &Policy, server_url: &str) -> Self {
        let private_deployment =
            Url::parse(server_url).is_ok_and(|url| is_private_deployment(&url));
        let private = private_deployment || policy.allow_private_addresses;
        Self::default()
            .allow_private(private)
            .allow_loopback(private || policy.allow_http_loopback)
    }

    /// Whether private addresses ([`AddressClass::Private`]) are allowed for every host. Off by
    /// default.
    pub fn allow_private(mut self, on: bool) -> Self {
        self.allow_private = on;
        self
    }

    /// Whether loopback addresses ([`AddressClass::Loopback`]) are allowed for every host. Off
    /// by default.
    pub fn allow_loopback(mut self, on: bool) -> Self {
        self.allow_loopback = on;
        self
    }

    /// Exempts one more host (a name or an IP literal, any case) from the private and loopback
    /// rules; never-class addresses stay refused.
    pub fn allow_host(mut self, host: impl AsRef<str>) -> Self {
        self.allowed_hosts.push(normalize(host.as_ref()));
        self
    }

    /// Whether `host` is exempt from the private and loopback rules.
    pub fn allows_host(&self, host: &str) -> bool {
        self.allowed_hosts.contains(&normalize(host))
    }

    /// Checks one address `host` resolved to (or is, for an IP literal).
    ///
    /// # Errors
    ///
    /// The refusal, when the address's class is not allowed for this host.
    pub fn check_address(&self, host: &str, address: IpAddr) -> Result<(), PrivateAddressRefused> {
        if self.permits(self.allows_host(host), classify(address)) {
            Ok(())
        } else {
            Err(PrivateAddressRefused::new(host, address))
        }
    }

    /// Checks a host that is an IP literal (drivers that do not resolve literals call this
    /// before connecting); names pass.
    ///
    /// # Errors
    ///
    /// The refusal, when the literal's class is not allowed for this host.
    pub fn check_literal(&self, host: &str) -> Result<(), PrivateAddressRefused> {
        match normalize(host).parse::<IpAddr>() {
            Ok(address) => self.check_address(host, address),
            Err(_) => Ok(()),
        }
    }

    /// Keeps the addresses `host` resolved to that the guard allows. A host with none left is
    /// refused; one with both kinds connects to the allowed ones only, so a DNS-rebinding
    /// answer that mixes the two cannot steer the connection inside.
    ///
    /// # Errors
    ///
    /// The refusal of the first address, when no address is left.
    pub fn filter(
        &self,
        host: &str,
        addresses: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, PrivateAddressRefused> {
        let host_allowed = self.allows_host(host);
        let mut refused = None;
        let mut kept = Vec::new();
        for address in addresses {
            if self.permits(host_allowed, classify(address.ip())) {
                kept.push(address);
            } else if refused.is_none() {
                refused = Some(address.ip());
            }
        }
        match refused {
            Some(address) if kept.is_empty() => Err(PrivateAddressRefused::new(host, address)),
            _ => Ok(kept),
        }
    }

    /// The rule of the type's documentation.
    fn permits(&self, host_allowed: bool, class: AddressClass) -> bool {
        match class {
            AddressClass::Public => true,
            AddressClass::Private => self.allow_private || host_allowed,
            AddressClass::Loopback => self.allow_loopback || host_allowed,
            AddressClass::Never => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("IP address")
    }

    #[test]
    fn filters_private_addresses() {
        let guard = AddressGuard::new(["Proxy.Corp.", "[::1]"]);
        assert!(guard.allows_host("proxy.corp"));
        assert!(guard.allows_host("::1"));
        let mixed = [addr("10.0.0.1:443"), addr("93.184.216.34:443")];
        assert_eq!(
            guard.filter("example.com", mixed),
            Ok(vec![addr("93.184.216.34:443")])
        );
        let private = [addr("127.0.0.1:443")];
        assert!(guard.filter("evil.example", private).is_err());
        assert_eq!(guard.filter("proxy.corp", private), Ok(private.to_vec()));
        assert!(guard.check_literal("[fe80::1]").is_err());
        assert!(guard.check_literal("[::1]").is_ok());
        assert!(guard.check_literal("example.com").is_ok());
    }

    /// Link-local, unspecified and the IPv6 forms carrying them are refused for every host,
    /// allowed ones and guards that allow everything else included.
    #[test]
    fn never_class_addresses_are_refused_for_every_host() {
        let everything = AddressGuard::new(["meta.test", "169.254.169.254", "0.0.0.0"])
            .allow_private(true)
            .allow_loopback(true);
        for never in [
            "169.254.169.254",
            "0.0.0.0",
            "::ffff:169.254.169.254",
            "fe80::1",
            "::",
        ] {
            let address = ip(never);
            let refused = everything.check_address("meta.test", address);
            assert_eq!(
                refused,
                Err(PrivateAddressRefused {
                    host: "meta.test".into(),
                    address,
                    class: AddressClass::Never,
                }),
                "{never}"
            );
            assert!(everything.check_literal(never).is_err(), "{never}");
            let resolved = [SocketAddr::new(address, 80)];
            assert!(everything.filter("meta.test", resolved).is_err(), "{never}");
        }
        assert!(
            AddressGuard::never_only()
                .check_literal("169.254.169.254")
                .is_err()
        );
        assert!(
            AddressGuard::never_only()
                .check_literal("[::a9fe:a9fe]")
                .is_err()
        );
        // A never-class address among public ones is dropped, the public ones kept.
        let mixed = [addr("169.254.169.254:80"), addr("93.184.216.34:80")];
        assert_eq!(
            everything.filter("meta.test", mixed),
            Ok(vec![addr("93.184.216.34:80")])
        );
    }

    #[test]
    fn private_and_loopback_have_their_own_switches() {
        let private = ip("10.0.0.1");
        let loopback = ip("::ffff:127.0.0.1");
        let public = ip("8.8.8.8");
        let strict = AddressGuard::default();
        assert!(strict.check_address("h.test", private).is_err());
        assert!(strict.check_address("h.test", loopback).is_err());
        assert!(strict.check_address("h.test", public).is_ok());

        let only_private = AddressGuard::default().allow_private(true);
        assert!(only_private.check_address("h.test", private).is_ok());
        assert!(only_private.check_address("h.test", loopback).is_err());

        let only_loopback = AddressGuard::default().allow_loopback(true);
        assert!(only_loopback.check_address("h.test", private).is_err());
        assert!(only_loopback.check_address("h.test", loopback).is_ok());

        let never_only = AddressGuard::never_only();
        assert!(never_only.check_address("h.test", private).is_ok());
        assert!(never_only.check_address("h.test", loopback).is_ok());

        let host = AddressGuard::default().allow_host("H.Test.");
        assert!(host.check_address("h.test", private).is_ok());
        assert!(host.check_address("h.test", loopback).is_ok());
        assert!(host.check_address("other.test", private).is_err());
    }

    /// The guard for a server follows the flows' URL rule: a private deployment or the private
    /// policy allows private and loopback, the loopback policy loopback only.
    #[test]
    fn the_guard_for_a_server_mirrors_the_url_rule() {
        let private = ip("192.168.0.9");
        let loopback = ip("127.0.0.1");
        let never = ip("169.254.169.254");
        let allowed =
            |guard: &AddressGuard, address| guard.check_address("h.test", address).is_ok();

        let public = AddressGuard::for_server(&Policy::default(), "https://mcp.example/mcp");
        assert!(!allowed(&public, private) && !allowed(&public, loopback));

        for server in [
            "https://10.1.2.3/mcp",
            "https://[::ffff:10.1.2.3]/",
            "https://127.0.0.1/",
        ] {
            let deployment = AddressGuard::for_server(&Policy::default(), server);
            assert!(allowed(&deployment, private), "{server}");
            assert!(allowed(&deployment, loopback), "{server}");
            assert!(!allowed(&deployment, never), "{server}");
        }
        // A server on a never-class address makes no private deployment.
        let metadata = AddressGuard::for_server(&Policy::default(), "https://169.254.169.254/");
        assert!(!allowed(&metadata, private) && !allowed(&metadata, loopback));

        let policy = Policy {
            allow_private_addresses: true,
            ..Policy::default()
        };
        let by_policy = AddressGuard::for_server(&policy, "https://mcp.example/mcp");
        assert!(allowed(&by_policy, private) && allowed(&by_policy, loopback));
        assert!(!allowed(&by_policy, never));

        let local = AddressGuard::for_server(&Policy::loopback(), "http://localhost:8080/mcp");
        assert!(allowed(&local, loopback) && !allowed(&local, private));
        assert!(!allowed(&local, never));
    }

    #[test]
    fn a_refusal_states_the_rule() {
        let guard = AddressGuard::default();
        let refused = |host: &str, address: &str| {
            guard
                .check_address(host, ip(address))
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            refused("Meta.Test.", "169.254.169.254"),
            "meta.test resolves to 169.254.169.254, a link-local address, which is never \
             connected to"
        );
        assert_eq!(
            refused("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"),
            "::ffff:169.254.169.254 is a link-local address, which is never connected to"
        );
        assert_eq!(
            refused("db.corp", "10.0.0.1"),
            "db.corp resolves to 10.0.0.1, a private address (RFC 1918), which is connected to \
             only when private addresses or this host are allowed"
        );
        assert_eq!(
            refused("127.0.0.1", "127.0.0.1"),
            "127.0.0.1 is a loopback address, which is connected to only when loopback \
             addresses or this host are allowed"
        );
    }
}
