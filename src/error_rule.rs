//! What an [`Error`] means for the person who must fix it: the rule that was broken, in words
//! with its RFC section, and what to change when the rule can be relaxed on purpose.

use crate::{Error, Purpose, Violation};

impl Error {
    /// The rule behind this error, in words, with the section of the specification that
    /// states it. For a report or a diagnosis (`xaa discover` prints it beside each finding).
    pub fn rule(&self) -> &'static str {
        match self {
            Self::InsecureUrl { .. } => {
                "https only (MCP 2025-11-25 Communication Security; RFC 9728 section 7.1)"
            }
            Self::PrivateAddress { .. } => {
                "no private, loopback or link-local addresses unless the MCP server is on one (RFC 9728 section 7.7)"
            }
            Self::Redirect { .. } => {
                "redirects are not followed: a credential must not follow a redirect to another host (RFC 9700 section 4.11)"
            }
            Self::IssuerMismatch { .. } => {
                "issuer identical to the issuer asked for (RFC 8414 section 3.3)"
            }
            Self::ResourceMismatch { .. } => {
                "resource identical to the URL it describes (RFC 9728 section 3.3)"
            }
            Self::InvalidResponse {
                violation: Violation::MissingField(_),
                purpose: Purpose::ResourceMetadata,
            } => {
                "required protected-resource metadata member (RFC 9728 section 2; MCP: authorization_servers)"
            }
            Self::InvalidResponse {
                violation: Violation::MissingField(_),
                purpose: Purpose::AuthorizationServerMetadata | Purpose::IdpMetadata,
            } => "required authorization-server metadata member (RFC 8414 section 2)",
            Self::InvalidResponse {
                purpose:
                    Purpose::ResourceMetadata
                    | Purpose::AuthorizationServerMetadata
                    | Purpose::IdpMetadata,
                ..
            } => "well-formed JSON metadata (RFC 9728 section 3.2; RFC 8414 section 3.2)",
            Self::DiscoveryFailed { .. } => {
                "metadata published at a well-known URL (RFC 9728 section 3; RFC 8414 section 3)"
            }
            Self::Unsupported { .. } => "capabilities the metadata advertises (RFC 8414 section 2)",
            Self::InvalidUrl { .. } => "an absolute URL without credentials or fragment (RFC 3986)",
            Self::IdpIsAuthorizationServer { .. } | Self::AuthorizationServerIsIdp { .. } => {
                "an ID-JAG is never redeemed in the domain that issued it (ID-JAG draft section 9.3)"
            }
            Self::Dpop { .. } => {
                "a DPoP-bound token names the client's key in cnf.jkt and goes only with proofs signed by that key (RFC 9449 sections 5, 6.1 and 7)"
            }
            _ => "the OAuth and MCP authorization protocol",
        }
    }

    /// What can be changed when the rule is relaxed on purpose, where that is an option of
    /// [`Policy`](crate::Policy): plain http on a loopback host for tests, private addresses
    /// inside a company network.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::InsecureUrl { .. } => Some(
                "plain http is allowed only for loopback hosts, and only when the policy allows it (Policy::allow_http_loopback)",
            ),
            Self::PrivateAddress { .. } => Some(
                "private and loopback addresses are allowed when the MCP server is on one, or by policy (Policy::allow_private_addresses); link-local and unspecified ones never",
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_refusal_names_its_rule_and_the_relaxable_ones_a_hint() {
        let insecure = Error::InsecureUrl {
            purpose: Purpose::ResourceProbe,
            url: "http://mcp.example/".into(),
        };
        assert!(insecure.rule().contains("RFC 9728 section 7.1"));
        assert!(
            insecure
                .hint()
                .is_some_and(|h| h.contains("allow_http_loopback"))
        );
        let missing = Error::InvalidResponse {
            purpose: Purpose::ResourceMetadata,
            violation: Violation::MissingField("resource"),
        };
        assert!(missing.rule().contains("RFC 9728 section 2"));
        assert_eq!(missing.hint(), None);
    }
}
