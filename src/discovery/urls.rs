//! Well-known URL construction (RFC 9728 section 3.1, RFC 8414 section 3.1, OpenID Connect
//! Discovery section 4) and the URL policy every request obeys (protocol.md 6 rules 1 and 12,
//! decisions.md D5).

use std::net::IpAddr;

use url::{Host, Url};

use super::checked_urls::{CheckRules, CheckedSet, CheckedUrls, FlowChecks};
use crate::address_class::{AddressClass, classify};
use crate::constants::{
    WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER, WELL_KNOWN_OPENID_CONFIGURATION,
    WELL_KNOWN_PROTECTED_RESOURCE,
};
use crate::error::sanitize;
use crate::{Error, Policy, Purpose};

/// Checks every URL before a request goes to it: https (or loopback http under the policy), no
/// credentials in the URL, no fragment, no private or loopback IP literal unless allowed, and
/// never one of the addresses no rule allows (decisions.md D5, RFC 9728 section 7.7; see
/// [`AddressClass`]).
#[derive(Clone, Debug)]
pub(crate) struct UrlGuard {
    policy: Policy,
    /// The MCP server URL is itself a private or loopback IP literal, so such addresses are
    /// the deployment's normal ones (decisions.md D5). Never-class addresses stay refused.
    private_deployment: bool,
    /// URLs a previous flow checked under the same rules (see `checked_urls`).
    known: CheckedUrls,
    /// URLs this flow has checked, shared with the guard's clones in its child steps.
    checked: FlowChecks,
}

impl UrlGuard {
    pub(crate) fn new(policy: &Policy, server_url: Option<&Url>) -> Self {
        let private_deployment = server_url.is_some_and(is_private_deployment);
        Self {
            policy: policy.clone(),
            private_deployment,
            known: CheckedUrls::default(),
            checked: FlowChecks::default(),
        }
    }

    /// The guard for a flow that starts at the MCP server `server_url`, and that URL checked:
    /// a server on a private address makes such addresses the deployment's own (D5).
    pub(crate) fn for_server(policy: &Policy, server_url: &str) -> Result<(Self, Url), Error> {
        let parsed = Url::parse(server_url).ok();
        let guard = Self::new(policy, parsed.as_ref());
        let server = match parsed {
            Some(parsed) => guard.check_parsed(Purpose::ResourceProbe, server_url, parsed)?,
            None => guard.check(Purpose::ResourceProbe, server_url)?,
        };
        Ok((guard, server))
    }

    /// [`UrlGuard::for_server`] for a flow started from a discovery: the URLs it checked are
    /// taken as checked when they were checked under the same rules for the same server.
    pub(crate) fn for_discovery(
        policy: &Policy,
        server_url: &str,
        known: &CheckedUrls,
    ) -> Result<(Self, Url), Error> {
        if let Some(set) = known.set()
            && set.server_url == server_url
            && let Some(server) = set.get(server_url)
        {
            let guard = Self {
                policy: policy.clone(),
                private_deployment: set.rules.private_deployment,
                known: CheckedUrls::shared(set),
                checked: FlowChecks::default(),
            };
            if guard.rules() == set.rules {
                return Ok((guard, server.clone()));
            }
        }
        Self::for_server(policy, server_url)
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// What a check's outcome depends on besides the URL.
    fn rules(&self) -> CheckRules {
        CheckRules {
            allow_http_loopback: self.policy.allow_http_loopback,
            allow_private_addresses: self.policy.allow_private_addresses,
            private_deployment: self.private_deployment,
        }
    }

    /// The memo of `urls` (all of which this flow checked), for the discovery a flow hands
    /// back: the one it started from when that covers them all, else a new one. `None` when
    /// one of them does not pass (which a finished flow's URLs always do).
    pub(crate) fn remember<'a>(
        &self,
        server_url: &'a str,
        urls: impl Iterator<Item = &'a str> + Clone,
    ) -> CheckedUrls {
        if let Some(set) = self.known.set()
            && set.rules == self.rules()
            && set.server_url == server_url
            && set.covers(urls.clone().chain([server_url]))
        {
            return CheckedUrls::shared(set);
        }
        let checked: Result<Vec<(String, Url)>, Error> = urls
            .chain([server_url])
            .map(|url| Ok((url.to_owned(), self.check(Purpose::ResourceProbe, url)?)))
            .collect();
        match checked {
            Ok(urls) => CheckedUrls::new(CheckedSet {
                rules: self.rules(),
                server_url: server_url.to_owned(),
                urls,
            }),
            Err(_) => CheckedUrls::default(),
        }
    }

    /// Parses and checks a URL a request will be sent to.
    pub(crate) fn check(&self, purpose: Purpose, url: &str) -> Result<Url, Error> {
        if let Some(known) = self.known.set().and_then(|set| set.get(url)) {
            return Ok(known.clone());
        }
        if let Some(checked) = self.checked.get(url) {
            return Ok(checked);
        }
        let parsed = Url::parse(url).map_err(|_| Error::InvalidUrl {
            purpose,
            url: sanitize(url),
            reason: "not an absolute URL",
        })?;
        self.check_parsed(purpose, url, parsed)
    }

    /// Checks `url`, already parsed as `parsed`.
    fn check_parsed(&self, purpose: Purpose, url: &str, parsed: Url) -> Result<Url, Error> {
        let invalid = |reason| Error::InvalidUrl {
            purpose,
            url: sanitize(url),
            reason,
        };
        if parsed.fragment().is_some() {
            return Err(invalid("a fragment is not allowed"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("credentials in the URL are not allowed"));
        }
        let host = parsed.host().ok_or_else(|| invalid("no host"))?;
        let loopback = is_loopback_host(&host);
        match parsed.scheme() {
            "https" => {}
            "http" if loopback && self.policy.allow_http_loopback => {}
            _ => {
                return Err(Error::InsecureUrl {
                    purpose,
                    url: sanitize(url),
                });
            }
        }
        if let Some(ip) = host_ip(&host) {
            let private_allowed = self.policy.allow_private_addresses || self.private_deployment;
            let allowed = match classify(ip) {
                AddressClass::Public => true,
                AddressClass::Private => private_allowed,
                AddressClass::Loopback => private_allowed || self.policy.allow_http_loopback,
                AddressClass::Never => false,
            };
            if !allowed {
                return Err(Error::PrivateAddress {
                    purpose,
                    url: sanitize(url),
                });
            }
        }
        self.checked.record(url, &parsed);
        Ok(parsed)
    }

    /// Checks an issuer identifier: a URL as above with no query either (RFC 8414 section 2).
    pub(crate) fn check_issuer(&self, purpose: Purpose, issuer: &str) -> Result<Url, Error> {
        let parsed = self.check(purpose, issuer)?;
        if parsed.query().is_some() {
            return Err(Error::InvalidUrl {
                purpose,
                url: sanitize(issuer),
                reason: "an issuer identifier has no query (RFC 8414 section 2)",
            });
        }
        Ok(parsed)
    }
}

fn host_ip(host: &Host<&str>) -> Option<IpAddr> {
    match host {
        Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        Host::Domain(_) => None,
    }
}

/// Whether the MCP server URL names a private or loopback IP literal: a private deployment,
/// whose own addresses the flow may use (decisions.md D5).
pub(crate) fn is_private_deployment(server_url: &Url) -> bool {
    server_url
        .host()
        .and_then(|host| host_ip(&host))
        .is_some_and(|ip| matches!(classify(ip), AddressClass::Private | AddressClass::Loopback))
}

/// A loopback literal (127.0.0.0/8, `::1`, and the IPv6 forms carrying a 127.0.0.0/8 address,
/// such as `::ffff:127.0.0.1`: see [`AddressClass::Loopback`]) or `localhost` (protocol.md 6
/// rule 1).
pub(crate) fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        literal => host_ip(literal).is_some_and(|ip| classify(ip) == AddressClass::Loopback),
    }
}

/// The origin of a URL with no trailing slash (`https://host[:port]`), the identifier of a root
/// protected-resource metadata document (decisions.md D1).
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// One protected-resource metadata candidate: where to fetch it, and the `resource` the
/// document must name (RFC 9728 section 3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceCandidate {
    /// The URL to GET.
    pub(crate) url: String,
    /// The identifier the document's `resource` must equal, code point for code point.
    pub(crate) expected_resource: String,
}

/// The well-known protected-resource metadata candidates for an MCP endpoint, in order
/// (protocol.md 2.2, decisions.md D1): the path-inserted URL (skipped when the endpoint is at
/// the root), then the root. `identifier` is the endpoint URL as the caller wrote it, which a
/// path-inserted document must name verbatim.
pub(crate) fn resource_metadata_candidates(identifier: &str, url: &Url) -> Vec<ResourceCandidate> {
    let origin = origin(url);
    let root = ResourceCandidate {
        url: format!("{origin}{WELL_KNOWN_PROTECTED_RESOURCE}"),
        expected_resource: origin.clone(),
    };
    let path = url.path();
    let query = url.query();
    // RFC 9728 section 3.1: a terminating "/" after the host is dropped before inserting.
    let path = if path == "/" { "" } else { path };
    if path.is_empty() && query.is_none() {
        return vec![root];
    }
    let mut inserted = format!("{origin}{WELL_KNOWN_PROTECTED_RESOURCE}{path}");
    if let Some(query) = query {
        inserted.push('?');
        inserted.push_str(query);
    }
    let path_inserted = ResourceCandidate {
        url: inserted,
        expected_resource: identifier_without_fragment(identifier).to_owned(),
    };
    vec![path_inserted, root]
}

/// The identifier a protected resource is known by: the URL as written, minus any fragment.
pub(crate) fn identifier_without_fragment(identifier: &str) -> &str {
    identifier
        .split_once('#')
        .map_or(identifier, |(before, _)| before)
}

/// The metadata URLs for an issuer, in the MCP 2025-11-25 order (protocol.md 2.3): with a
/// path, RFC 8414 path-inserted, OIDC path-inserted, OIDC path-appended; without one, RFC 8414
/// then OIDC at the root. A terminating `/` of the issuer's path is removed first.
pub(crate) fn authorization_server_metadata_candidates(issuer: &Url) -> Vec<String> {
    let origin = origin(issuer);
    let path = issuer.path().trim_end_matches('/');
    if path.is_empty() {
        vec![
            format!("{origin}{WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER}"),
            format!("{origin}{WELL_KNOWN_OPENID_CONFIGURATION}"),
        ]
    } else {
        vec![
            format!("{origin}{WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER}{path}"),
            format!("{origin}{WELL_KNOWN_OPENID_CONFIGURATION}{path}"),
            format!("{origin}{path}{WELL_KNOWN_OPENID_CONFIGURATION}"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flow's guard and the clones its steps hold share what was checked; what failed is not
    /// kept, and a guard made apart (another flow) shares nothing.
    #[test]
    fn a_flow_checks_each_url_once_across_its_steps() {
        let server = "http://127.0.0.1:8080/mcp";
        let token = "http://127.0.0.1:8081/token";
        let (flow, _) = UrlGuard::for_server(&Policy::loopback(), server).expect("loopback");
        let step = flow.clone();
        assert!(flow.checked.get(server).is_some(), "the server URL itself");
        assert!(flow.checked.get(token).is_none());
        let parsed = step.check(Purpose::TokenExchange, token).expect("passes");
        assert_eq!(flow.checked.get(token), Some(parsed));

        let refused = "https://u:p@idp.example/token";
        for _ in 0..2 {
            assert!(matches!(
                flow.check(Purpose::TokenExchange, refused),
                Err(Error::InvalidUrl { .. })
            ));
        }
        assert!(flow.checked.get(refused).is_none());
        assert!(flow.checked.get("not a url").is_none());

        let (other, _) = UrlGuard::for_server(&Policy::loopback(), server).expect("loopback");
        assert!(other.checked.get(token).is_none());
    }

    #[test]
    fn a_flow_keeps_a_bounded_number_of_checked_urls() {
        let (flow, _) =
            UrlGuard::for_server(&Policy::default(), "https://mcp.example/mcp").expect("public");
        let urls: Vec<String> = (0..FlowChecks::LIMIT + 8)
            .map(|n| format!("https://as{n}.example/token"))
            .collect();
        for url in &urls {
            flow.check(Purpose::TokenExchange, url).expect("passes");
        }
        let kept = urls.iter().filter(|url| flow.checked.get(url).is_some());
        // The server URL, checked first, holds one place.
        assert_eq!(kept.count(), FlowChecks::LIMIT - 1);
        // Past the bound a URL is still checked, in full, every time.
        assert!(
            flow.check(Purpose::TokenExchange, "https://u:p@late.example/")
                .is_err()
        );
    }

    /// The memo of checked URLs is used only under the rules it was made under, for the same
    /// server and the same strings.
    #[test]
    fn checked_urls_are_remembered_only_under_the_same_rules() {
        let server = "http://127.0.0.1:8080/mcp";
        let token = "http://127.0.0.1:8081/token";
        let (loopback, _) = UrlGuard::for_server(&Policy::loopback(), server).expect("loopback");
        let memo = loopback.remember(server, [token].into_iter());
        assert!(
            memo.set()
                .is_some_and(|set| set.covers([server, token].into_iter()))
        );

        let (again, parsed) =
            UrlGuard::for_discovery(&Policy::loopback(), server, &memo).expect("same rules");
        assert_eq!(parsed.as_str(), server);
        assert!(again.known.set().is_some(), "the memo is used");
        assert_eq!(
            again.check(Purpose::JwtBearer, token).map(String::from),
            Ok(token.into())
        );
        let same = again.remember(server, [token].into_iter());
        assert!(Arc::ptr_eq(
            same.set().expect("memo"),
            memo.set().expect("memo")
        ));

        // The strict policy refuses the very URLs the memo holds.
        let strict = UrlGuard::for_discovery(&Policy::default(), server, &memo);
        assert!(
            matches!(strict, Err(Error::InsecureUrl { .. })),
            "{strict:?}"
        );
        // Another server URL: the memo is not used.
        let other = "http://127.0.0.1:9090/mcp";
        let (guard, _) = UrlGuard::for_discovery(&Policy::loopback(), other, &memo).expect("ok");
        assert!(guard.known.set().is_none());
    }

    use std::sync::Arc;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn prm_candidates_follow_rfc9728() {
        let c = resource_metadata_candidates(
            "https://example.com/public/mcp",
            &url("https://example.com/public/mcp"),
        );
        assert_eq!(
            c[0].url,
            "https://example.com/.well-known/oauth-protected-resource/public/mcp"
        );
        assert_eq!(c[0].expected_resource, "https://example.com/public/mcp");
        assert_eq!(
            c[1].url,
            "https://example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(c[1].expected_resource, "https://example.com");
        let root =
            resource_metadata_candidates("https://example.com/", &url("https://example.com/"));
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].expected_resource, "https://example.com");
        let query = resource_metadata_candidates(
            "https://e.com:8443/?t=1",
            &url("https://e.com:8443/?t=1"),
        );
        assert_eq!(
            query[0].url,
            "https://e.com:8443/.well-known/oauth-protected-resource?t=1"
        );
    }

    #[test]
    fn as_candidates_follow_mcp_order() {
        assert_eq!(
            authorization_server_metadata_candidates(&url("https://auth.example.com/tenant1/")),
            vec![
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            authorization_server_metadata_candidates(&url("https://auth.example.com")),
            vec![
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn guard_rules() {
        let strict = UrlGuard::new(&Policy::default(), None);
        assert!(
            strict
                .check(Purpose::TokenExchange, "https://idp.example/token")
                .is_ok()
        );
        assert!(matches!(
            strict.check(Purpose::TokenExchange, "http://idp.example/token"),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(matches!(
            strict.check(Purpose::TokenExchange, "http://127.0.0.1/token"),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(matches!(
            strict.check(Purpose::TokenExchange, "https://10.0.0.1/token"),
            Err(Error::PrivateAddress { .. })
        ));
        assert!(matches!(
            strict.check(Purpose::TokenExchange, "https://[::ffff:192.168.1.1]/"),
            Err(Error::PrivateAddress { .. })
        ));
        assert!(matches!(
            strict.check(Purpose::TokenExchange, "https://169.254.169.254/"),
            Err(Error::PrivateAddress { .. })
        ));
        assert!(matches!(
            strict.check(Purpose::TokenExchange, "https://u:p@idp.example/"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            strict.check(Purpose::TokenExchange, "https://idp.example/#x"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            strict.check_issuer(Purpose::IdpMetadata, "https://idp.example/?a"),
            Err(Error::InvalidUrl { .. })
        ));
        let loopback = UrlGuard::new(&Policy::loopback(), None);
        assert!(
            loopback
                .check(Purpose::TokenExchange, "http://127.0.0.1:8080/token")
                .is_ok()
        );
        assert!(
            loopback
                .check(Purpose::TokenExchange, "http://localhost/token")
                .is_ok()
        );
        assert!(
            loopback
                .check(Purpose::TokenExchange, "http://[::1]/token")
                .is_ok()
        );
        assert!(matches!(
            loopback.check(Purpose::TokenExchange, "http://10.0.0.1/"),
            Err(Error::InsecureUrl { .. })
        ));
        let private = UrlGuard::new(&Policy::default(), Some(&url("https://10.1.2.3/mcp")));
        assert!(
            private
                .check(Purpose::TokenExchange, "https://10.0.0.1/token")
                .is_ok()
        );
    }

    /// Link-local, unspecified and the other never-class literals, in every IPv6 form that
    /// carries them, are refused whatever the policy and the deployment.
    #[test]
    fn never_class_literals_are_refused_under_every_rule() {
        let permissive = Policy {
            allow_private_addresses: true,
            allow_http_loopback: true,
            ..Policy::default()
        };
        let guards = [
            UrlGuard::new(&Policy::default(), None),
            UrlGuard::new(&permissive, None),
            UrlGuard::new(&Policy::default(), Some(&url("https://10.1.2.3/mcp"))),
            UrlGuard::new(&permissive, Some(&url("http://127.0.0.1:8080/mcp"))),
        ];
        for never in [
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://0.1.2.3/",
            "https://255.255.255.255/",
            "https://224.0.0.1/",
            "https://240.0.0.1/",
            "https://[::]/",
            "https://[fe80::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::a9fe:a9fe]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:a9fe:a9fe::1]/",
            "https://[2001:0:4136:e378:8000:63bf:5601:5601]/",
            "https://[::ffff:0.0.0.0]:8080/",
        ] {
            for guard in &guards {
                let refused = guard.check(Purpose::TokenExchange, never);
                assert!(
                    matches!(refused, Err(Error::PrivateAddress { .. })),
                    "{never}: {refused:?}"
                );
            }
        }
        // A server on a never-class address is no private deployment: it is refused itself.
        let server = UrlGuard::for_server(&Policy::default(), "https://169.254.169.254/mcp");
        assert!(
            matches!(server, Err(Error::PrivateAddress { .. })),
            "{server:?}"
        );
    }

    /// The IPv6 forms carrying a private or loopback address are that kind of address.
    #[test]
    fn embedded_private_and_loopback_literals_follow_their_rules() {
        let strict = UrlGuard::new(&Policy::default(), None);
        for private in [
            "https://[::ffff:10.0.0.1]/",
            "https://[::10.0.0.1]/",
            "https://[64:ff9b::c0a8:1]/",
            "https://[2002:a00:1::1]/",
            "https://[fec0::1]/",
            "https://[64:ff9b:1::8.8.8.8]/",
            "https://[::ffff:127.0.0.1]/",
            "https://198.18.0.1/",
        ] {
            assert!(
                matches!(
                    strict.check(Purpose::TokenExchange, private),
                    Err(Error::PrivateAddress { .. })
                ),
                "{private}"
            );
        }
        assert!(
            strict
                .check(Purpose::TokenExchange, "https://[::ffff:8.8.8.8]/")
                .is_ok()
        );

        // `[::ffff:127.0.0.1]` is a loopback host: plain http under the loopback policy.
        let loopback = UrlGuard::new(&Policy::loopback(), None);
        for host in ["[::ffff:127.0.0.1]", "[::127.0.0.1]", "127.1.2.3"] {
            let url = format!("http://{host}:8080/token");
            assert!(
                loopback.check(Purpose::TokenExchange, &url).is_ok(),
                "{url}"
            );
        }
        assert!(matches!(
            loopback.check(Purpose::TokenExchange, "http://[::ffff:10.0.0.1]:8080/"),
            Err(Error::InsecureUrl { .. })
        ));

        // A server on an embedded private address is a private deployment.
        let (deployment, _) =
            UrlGuard::for_server(&Policy::default(), "https://[::ffff:10.1.2.3]/mcp")
                .expect("a private deployment");
        assert!(
            deployment
                .check(Purpose::TokenExchange, "https://192.168.0.7/token")
                .is_ok()
        );
    }

    #[test]
    fn a_private_address_error_says_which_kind() {
        let strict = UrlGuard::new(&Policy::default(), None);
        let message = |url: &str| {
            strict
                .check(Purpose::TokenExchange, url)
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            message("https://169.254.169.254/latest"),
            "token_exchange: refused https://169.254.169.254/latest: it points at a link-local \
             address, which is never allowed (RFC 9728 section 7.7: a client must not be steered \
             to internal addresses)"
        );
        let private = message("https://[::ffff:10.0.0.1]/token");
        assert!(
            private.contains("a private address (RFC 1918), allowed only when"),
            "{private}"
        );
        let loopback = message("https://127.0.0.1/token");
        assert!(
            loopback.contains("a loopback address, allowed only when"),
            "{loopback}"
        );
    }
}
