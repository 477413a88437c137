//! The legs of [`EnterpriseAuth`](super::EnterpriseAuth), listed once.

use crate::Purpose;

/// Declares [`Step`] and [`Step::ALL`] from one list, so the two cannot disagree.
macro_rules! steps {
    ($($(#[$doc:meta])* $step:ident,)*) => {
        /// One leg of the flow. Every request the flow sends belongs to one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Step {
            $($(#[$doc])* $step,)*
        }

        impl Step {
            /// Every leg, in the order written: the order in which the legs are polled, so an
            /// earlier leg's request is handed out first when several are ready.
            pub(super) const ALL: [Step; [$(Step::$step,)*].len()] = [$(Step::$step,)*];
        }
    };
}

// The order of the specification's flow (MCP Enterprise-Managed Authorization, steps 2 to 7):
// discovery, then the token exchange at the IdP, then the jwt-bearer grant, with the leg that
// prepares the subject token (a SAML trade, a session renewal) just before the exchange. Within discovery the IdP's
// metadata is listed before the authorization server's: it needs nothing, so it is in flight
// from the start, while the authorization server's waits for the MCP server to name it (unless
// pinned). Polling follows this list, so the list also fixes which of two ready requests is
// handed out first.
steps! {
    /// Protected-resource discovery (RFC 9728): the probe, then the metadata.
    ResourceDiscovery,
    /// The enterprise IdP's metadata (RFC 8414, OpenID Connect Discovery), when the IdP is
    /// configured by issuer.
    IdpDiscovery,
    /// The MCP authorization server's metadata (RFC 8414, OpenID Connect Discovery).
    AuthorizationServerDiscovery,
    /// The subject token prepared before the exchange: a SAML assertion traded for an IdP
    /// refresh token (protocol.md 2.7 option B, decisions.md D15), or a signed-in session
    /// renewed with its refresh token (feature `signin`, OpenID Connect Core 1.0 section 12).
    Subject,
    /// The token exchange at the IdP (RFC 8693): subject token in, ID-JAG out.
    TokenExchange,
    /// The jwt-bearer grant at the MCP authorization server (RFC 7523): ID-JAG in, access
    /// token out.
    JwtBearer,
}

/// The purposes of the subject leg: the SAML trade, and with the `signin` feature the refresh
/// and the key-set fetch of a session renewal.
#[cfg(feature = "signin")]
const SUBJECT_PURPOSES: &[Purpose] = &[
    Purpose::SamlRefreshExchange,
    Purpose::Refresh,
    Purpose::IdpKeys,
];
#[cfg(not(feature = "signin"))]
const SUBJECT_PURPOSES: &[Purpose] = &[Purpose::SamlRefreshExchange];

impl Step {
    /// The purposes of the requests the leg sends.
    pub(super) fn purposes(self) -> &'static [Purpose] {
        match self {
            Step::ResourceDiscovery => &[Purpose::ResourceProbe, Purpose::ResourceMetadata],
            Step::IdpDiscovery => &[Purpose::IdpMetadata],
            Step::AuthorizationServerDiscovery => &[Purpose::AuthorizationServerMetadata],
            Step::Subject => SUBJECT_PURPOSES,
            Step::TokenExchange => &[Purpose::TokenExchange],
            Step::JwtBearer => &[Purpose::JwtBearer],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_purpose_belongs_to_exactly_one_step() {
        for purpose in Purpose::ALL {
            let owners = Step::ALL
                .iter()
                .filter(|step| step.purposes().contains(&purpose))
                .count();
            assert_eq!(owners, 1, "{purpose}");
        }
        // The sign-in purposes a session renewal sends are not in `Purpose::ALL`.
        let listed: usize = Step::ALL
            .iter()
            .flat_map(|step| step.purposes())
            .filter(|purpose| Purpose::ALL.contains(purpose))
            .count();
        assert_eq!(listed, Purpose::ALL.len());
    }

    #[test]
    fn steps_are_listed_once_in_declaration_order() {
        for (index, step) in Step::ALL.into_iter().enumerate() {
            assert_eq!(step as usize, index, "{step:?}");
        }
    }
}
