//! Which kind of address an IP address is, for the URL rule of the flows and the address guard
//! of the drivers (decisions.md D5, RFC 9728 section 7.7: a client must not be steered into
//! requests to internal services).
//!
//! IPv6 forms that carry an IPv4 address are classified by the address they carry, since that
//! is where a packet ends up: IPv4-mapped and IPv4-translated (RFC 4291 section 2.5.5.2,
//! RFC 2765 section 2.1), IPv4-compatible (RFC 4291 section 2.5.5.1), the NAT64 well-known
//! prefix (RFC 6052 section 2.1), 6to4 (RFC 3056 section 2) and Teredo (RFC 4380 section 4,
//! both the server and the obfuscated client address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// How the URL rule and the address guard treat an address, from the most permissive to the
/// most restrictive: [`Public`](Self::Public), [`Loopback`](Self::Loopback),
/// [`Private`](Self::Private), [`Never`](Self::Never) (see
/// [`most_restrictive`](Self::most_restrictive)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// Reachable on the internet: always allowed.
    Public,
    /// A private network's: RFC 1918, shared `100.64.0.0/10` (RFC 6598), `192.0.0.0/24`
    /// (RFC 6890), benchmarking `198.18.0.0/15` (RFC 2544), documentation ranges (RFC 5737,
    /// RFC 3849), unique-local `fc00::/7` (RFC 4193), site-local `fec0::/10` (RFC 3879) and
    /// local-use NAT64 `64:ff9b:1::/48` (RFC 8215). Allowed only in a private deployment or when
    /// the policy or the guard allows private addresses (decisions.md D5).
    Private,
    /// This machine: `127.0.0.0/8` and `::1` (RFC 1122 section 3.2.1.3, RFC 4291 section
    /// 2.5.3). Allowed where private addresses are, and under the loopback policy.
    Loopback,
    /// Never connected to, whatever the deployment, policy or allowed hosts: `0.0.0.0/8`
    /// ("this network", which on Linux reaches local listeners) and `::` (RFC 1122 section
    /// 3.2.1.3, RFC 4291 section 2.5.2), link-local `169.254.0.0/16` (RFC 3927, where cloud
    /// metadata services answer) and `fe80::/10` (RFC 4291 section 2.5.6), the broadcast address
    /// `255.255.255.255` (RFC 919), multicast `224.0.0.0/4` (RFC 5771) and `ff00::/8`
    /// (RFC 4291 section 2.7), and the reserved `240.0.0.0/4` (RFC 1112 section 4).
    Never,
}

impl AddressClass {
    /// The more restrictive of two classes, for an address that names two destinations (a
    /// Teredo address's server and client).
    pub fn most_restrictive(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// The order of restriction. Loopback is below private: it reaches only this machine, and
    /// every rule that allows private addresses allows loopback too, not the other way round.
    fn severity(self) -> u8 {
        match self {
            Self::Public => 0,
            Self::Loopback => 1,
            Self::Private => 2,
            Self::Never => 3,
        }
    }
}

/// The class of `ip`; IPv6 forms that carry an IPv4 address take that address's class (the
/// module documentation lists them).
pub fn classify(ip: IpAddr) -> AddressClass {
    range(ip).class()
}

/// The kind of address `ip` is, as a phrase for messages: "a link-local address", "a private
/// address (RFC 1918)", "the unspecified address", ... For an IPv6 form carrying an IPv4
/// address, the kind of the address carried (the more restrictive one for Teredo).
pub(crate) fn describe_address(ip: IpAddr) -> &'static str {
    range(ip).noun()
}

/// The special-purpose ranges this module knows (RFC 6890 and the IANA registries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Range {
    Public,
    ThisNetwork,
    Unspecified,
    LinkLocal,
    Broadcast,
    Multicast,
    Reserved,
    Loopback,
    Rfc1918,
    Shared,
    IetfProtocol,
    Benchmarking,
    Documentation,
    UniqueLocal,
    SiteLocal,
    LocalNat64,
}

impl Range {
    fn class(self) -> AddressClass {
        match self {
            Self::Public => AddressClass::Public,
            Self::Loopback => AddressClass::Loopback,
            // Documentation prefixes (RFC 5737, RFC 3849) are never routed on the internet: a
            // URL naming one reaches nothing, or something local reusing the range. Private
            // costs a public deployment nothing and keeps such a host out unless allowed.
            Self::Rfc1918
            | Self::Shared
            | Self::IetfProtocol
            | Self::Benchmarking
            | Self::Documentation
            | Self::UniqueLocal
            | Self::SiteLocal
            | Self::LocalNat64 => AddressClass::Private,
            Self::ThisNetwork
            | Self::Unspecified
            | Self::LinkLocal
            | Self::Broadcast
            | Self::Multicast
            | Self::Reserved => AddressClass::Never,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::ThisNetwork => "a this-network address (0.0.0.0/8)",
            Self::Unspecified => "the unspecified address",
            Self::LinkLocal => "a link-local address",
            Self::Broadcast => "the broadcast address",
            Self::Multicast => "a multicast address",
            Self::Reserved => "a reserved address (240.0.0.0/4)",
            Self::Loopback => "a loopback address",
            Self::Rfc1918 => "a private address (RFC 1918)",
            Self::Shared => "a shared address (100.64.0.0/10, RFC 6598)",
            Self::IetfProtocol => "an IETF protocol address (192.0.0.0/24, RFC 6890)",
            Self::Benchmarking => "a benchmarking address (198.18.0.0/15, RFC 2544)",
            Self::Documentation => "a documentation address (RFC 5737, RFC 3849)",
            Self::UniqueLocal => "a unique-local address (fc00::/7, RFC 4193)",
            Self::SiteLocal => "a site-local address (fec0::/10, RFC 3879)",
            Self::LocalNat64 => "a local-use NAT64 address (64:ff9b:1::/48, RFC 8215)",
        }
    }

    fn most_restrictive(self, other: Self) -> Self {
        if self.class().most_restrictive(other.class()) == self.class() {
            self
        } else {
            other
        }
    }
}

/// What the URL of an [`Error::PrivateAddress`](crate::Error::PrivateAddress) points at and the rule that refuses it, for the
/// error's message: "a link-local address, which is never allowed". The URL is the error's
/// sanitized one; its host, an IP literal right after the scheme, is never cut by sanitizing.
pub(crate) fn private_address_phrase(url: &str) -> String {
    let ip = Url::parse(url).ok().and_then(|parsed| match parsed.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    });
    let Some(ip) = ip else {
        return "a private, loopback or link-local address".into();
    };
    let noun = describe_address(ip);
    match classify(ip) {
        AddressClass::Never => format!("{noun}, which is never allowed"),
        AddressClass::Loopback => format!(
            "{noun}, allowed only when the MCP server is on a private or loopback address or \
             the policy allows loopback or private addresses"
        ),
        AddressClass::Private | AddressClass::Public => format!(
            "{noun}, allowed only when the MCP server is on a private or loopback address or \
             the policy allows private addresses"
        ),
    }
}

fn range(ip: IpAddr) -> Range {
    match ip {
        IpAddr::V4(v4) => range_v4(v4),
        IpAddr::V6(v6) => range_v6(v6),
    }
}

/// RFC 6890 section 2.2.2 and the IANA IPv4 special-purpose registry.
fn range_v4(ip: Ipv4Addr) -> Range {
    match ip.octets() {
        [0, 0, 0, 0] => Range::Unspecified,
        [0, ..] => Range::ThisNetwork,
        [127, ..] => Range::Loopback,
        [169, 254, ..] => Range::LinkLocal,
        [10, ..] | [192, 168, ..] => Range::Rfc1918,
        [172, b, ..] if (16..32).contains(&b) => Range::Rfc1918,
        [100, b, ..] if (64..128).contains(&b) => Range::Shared,
        [192, 0, 0, _] => Range::IetfProtocol,
        [198, 18 | 19, ..] => Range::Benchmarking,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => Range::Documentation,
        [224..=239, ..] => Range::Multicast,
        [255, 255, 255, 255] => Range::Broadcast,
        [240..=255, ..] => Range::Reserved,
        _ => Range::Public,
    }
}

/// RFC 4291 section 2.4 and the IANA IPv6 special-purpose registry; forms carrying an IPv4
/// address go by that address.
fn range_v6(ip: Ipv6Addr) -> Range {
    if ip.is_unspecified() {
        return Range::Unspecified;
    }
    if ip.is_loopback() {
        return Range::Loopback;
    }
    if let Some(v4) = carried_ipv4(ip) {
        return range_v4(v4);
    }
    if let Some((server, client)) = teredo(ip) {
        return range_v4(server).most_restrictive(range_v4(client));
    }
    let s = ip.segments();
    match s[0] {
        // RFC 8215 leaves the prefix length to the operator; a /96 inside it (nothing between
        // the /48 and the last 32 bits) carries the IPv4 address at the end, as RFC 6052 does.
        0x0064 if s[1] == 0xff9b && s[2] == 1 => {
            if s[3..6] == [0, 0, 0] {
                Range::LocalNat64.most_restrictive(range_v4(last_32_bits(ip)))
            } else {
                Range::LocalNat64
            }
        }
        first if first & 0xffc0 == 0xfe80 => Range::LinkLocal,
        first if first & 0xffc0 == 0xfec0 => Range::SiteLocal,
        first if first & 0xfe00 == 0xfc00 => Range::UniqueLocal,
        first if first & 0xff00 == 0xff00 => Range::Multicast,
        0x2001 if s[1] == 0x0db8 => Range::Documentation,
        _ => Range::Public,
    }
}

/// The one IPv4 address an IPv6 form stands for: IPv4-mapped `::ffff:0:0/96` (RFC 4291 section
/// 2.5.5.2), IPv4-translated `::ffff:0:0:0/96` (RFC 2765 section 2.1), IPv4-compatible `::/96`
/// other than `::` and `::1` (RFC 4291 section 2.5.5.1), NAT64 `64:ff9b::/96` (RFC 6052
/// section 2.1), 6to4 `2002::/16` with the address in bits 16 to 48 (RFC 3056 section 2).
fn carried_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..]
        | [0, 0, 0, 0, 0xffff, 0, ..]
        | [0, 0, 0, 0, 0, 0, ..]
        | [0x0064, 0xff9b, 0, 0, 0, 0, ..] => Some(last_32_bits(ip)),
        [0x2002, high, low, ..] => Some(ipv4_of(high, low)),
        _ => None,
    }
}

/// A Teredo address `2001::/32` (RFC 4380 section 4): the server's IPv4 address in bits 32 to
/// 64, the client's in the last 32 bits, inverted.
fn teredo(ip: Ipv6Addr) -> Option<(Ipv4Addr, Ipv4Addr)> {
    match ip.segments() {
        [
            0x2001,
            0,
            server_high,
            server_low,
            _,
            _,
            client_high,
            client_low,
        ] => Some((
            ipv4_of(server_high, server_low),
            ipv4_of(!client_high, !client_low),
        )),
        _ => None,
    }
}

fn last_32_bits(ip: Ipv6Addr) -> Ipv4Addr {
    let s = ip.segments();
    ipv4_of(s[6], s[7])
}

fn ipv4_of(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::{Loopback, Never, Private, Public};

    /// Every form, with link-local, private, loopback and public addresses inside.
    const TABLE: &[(&str, AddressClass, &str)] = &[
        // IPv4.
        ("0.0.0.0", Never, "the unspecified address"),
        ("0.1.2.3", Never, "a this-network address (0.0.0.0/8)"),
        ("169.254.169.254", Never, "a link-local address"),
        ("255.255.255.255", Never, "the broadcast address"),
        ("224.0.0.1", Never, "a multicast address"),
        ("239.255.255.250", Never, "a multicast address"),
        ("240.0.0.1", Never, "a reserved address (240.0.0.0/4)"),
        ("255.255.255.254", Never, "a reserved address (240.0.0.0/4)"),
        ("127.0.0.1", Loopback, "a loopback address"),
        ("127.255.0.9", Loopback, "a loopback address"),
        ("10.0.0.1", Private, "a private address (RFC 1918)"),
        ("172.16.0.1", Private, "a private address (RFC 1918)"),
        ("172.31.255.255", Private, "a private address (RFC 1918)"),
        ("192.168.1.1", Private, "a private address (RFC 1918)"),
        (
            "100.64.0.1",
            Private,
            "a shared address (100.64.0.0/10, RFC 6598)",
        ),
        (
            "100.127.255.255",
            Private,
            "a shared address (100.64.0.0/10, RFC 6598)",
        ),
        (
            "192.0.0.8",
            Private,
            "an IETF protocol address (192.0.0.0/24, RFC 6890)",
        ),
        (
            "198.18.0.1",
            Private,
            "a benchmarking address (198.18.0.0/15, RFC 2544)",
        ),
        (
            "198.19.255.1",
            Private,
            "a benchmarking address (198.18.0.0/15, RFC 2544)",
        ),
        (
            "192.0.2.1",
            Private,
            "a documentation address (RFC 5737, RFC 3849)",
        ),
        (
            "203.0.113.7",
            Private,
            "a documentation address (RFC 5737, RFC 3849)",
        ),
        ("8.8.8.8", Public, "a public address"),
        ("172.32.0.1", Public, "a public address"),
        ("100.128.0.1", Public, "a public address"),
        ("198.20.0.1", Public, "a public address"),
        ("223.255.255.255", Public, "a public address"),
        // IPv6 of its own.
        ("::", Never, "the unspecified address"),
        ("::1", Loopback, "a loopback address"),
        ("fe80::1", Never, "a link-local address"),
        ("febf::1", Never, "a link-local address"),
        ("ff02::1", Never, "a multicast address"),
        (
            "fec0::1",
            Private,
            "a site-local address (fec0::/10, RFC 3879)",
        ),
        (
            "fc00::1",
            Private,
            "a unique-local address (fc00::/7, RFC 4193)",
        ),
        (
            "fd12:3456::1",
            Private,
            "a unique-local address (fc00::/7, RFC 4193)",
        ),
        (
            "64:ff9b:1:abcd::1",
            Private,
            "a local-use NAT64 address (64:ff9b:1::/48, RFC 8215)",
        ),
        (
            "2001:db8::",
            Private,
            "a documentation address (RFC 5737, RFC 3849)",
        ),
        ("2606:4700::1111", Public, "a public address"),
        ("fbff::1", Public, "a public address"),
        // IPv4-mapped.
        ("::ffff:169.254.169.254", Never, "a link-local address"),
        ("::ffff:0.0.0.0", Never, "the unspecified address"),
        ("::ffff:10.1.2.3", Private, "a private address (RFC 1918)"),
        ("::ffff:127.0.0.1", Loopback, "a loopback address"),
        ("::ffff:8.8.8.8", Public, "a public address"),
        // IPv4-translated.
        ("::ffff:0:a9fe:a9fe", Never, "a link-local address"),
        ("::ffff:0:808:808", Public, "a public address"),
        // IPv4-compatible.
        ("::a9fe:a9fe", Never, "a link-local address"),
        ("::10.0.0.1", Private, "a private address (RFC 1918)"),
        ("::127.0.0.1", Loopback, "a loopback address"),
        ("::8.8.8.8", Public, "a public address"),
        // NAT64, well-known prefix.
        ("64:ff9b::a9fe:a9fe", Never, "a link-local address"),
        (
            "64:ff9b::192.168.0.1",
            Private,
            "a private address (RFC 1918)",
        ),
        ("64:ff9b::127.0.0.1", Loopback, "a loopback address"),
        ("64:ff9b::8.8.8.8", Public, "a public address"),
        // NAT64, local-use prefix as a /96.
        ("64:ff9b:1::a9fe:a9fe", Never, "a link-local address"),
        (
            "64:ff9b:1::8.8.8.8",
            Private,
            "a local-use NAT64 address (64:ff9b:1::/48, RFC 8215)",
        ),
        // 6to4.
        ("2002:a9fe:a9fe::1", Never, "a link-local address"),
        ("2002:a00:1::1", Private, "a private address (RFC 1918)"),
        ("2002:7f00:1::1", Loopback, "a loopback address"),
        ("2002:808:808::1", Public, "a public address"),
        // Teredo: server 65.54.227.120, client inverted in the last 32 bits.
        (
            "2001:0:4136:e378:8000:63bf:5601:5601",
            Never,
            "a link-local address",
        ),
        (
            "2001:0:4136:e378:8000:63bf:f5ff:fffe",
            Private,
            "a private address (RFC 1918)",
        ),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            Loopback,
            "a loopback address",
        ),
        (
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
            Public,
            "a public address",
        ),
        // Teredo with a private server and a public client: the server decides.
        (
            "2001:0:a00:1:8000:63bf:f7f7:f7f7",
            Private,
            "a private address (RFC 1918)",
        ),
    ];

    #[test]
    fn every_form_is_classified_by_where_it_leads() {
        for &(text, class, noun) in TABLE {
            let ip: IpAddr = text.parse().expect("test address");
            assert_eq!(classify(ip), class, "{text}");
            assert_eq!(describe_address(ip), noun, "{text}");
        }
    }

    /// The Teredo rows above are what RFC 4380's obfuscation gives: the client is the last 32
    /// bits inverted.
    #[test]
    fn teredo_clients_are_read_inverted() {
        let ip: Ipv6Addr = "2001:0:4136:e378:8000:63bf:5601:5601"
            .parse()
            .expect("teredo");
        assert_eq!(
            teredo(ip),
            Some((
                Ipv4Addr::new(65, 54, 227, 120),
                Ipv4Addr::new(169, 254, 169, 254)
            ))
        );
    }

    #[test]
    fn the_most_restrictive_class_wins() {
        let order = [Public, Loopback, Private, Never];
        for (i, &lower) in order.iter().enumerate() {
            for &higher in &order[i..] {
                assert_eq!(lower.most_restrictive(higher), higher);
                assert_eq!(higher.most_restrictive(lower), higher);
            }
        }
    }
}
