//! When the client asks for sender-constrained tokens.

/// Whether the client binds its tokens to its DPoP key (RFC 9449; ID-JAG draft section 9.8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopPolicy {
    /// No proofs: every token is a bearer token (the default).
    #[default]
    Off,
    /// Proofs go to every server that does not rule the key's algorithm out; a server that
    /// issues a bearer token anyway is logged and the token used as a bearer token.
    Preferred,
    /// Every token must come back bound to the key: an ID-JAG without `cnf.jkt`, an access
    /// token whose `token_type` is not `DPoP`, or a server whose
    /// `dpop_signing_alg_values_supported` lacks the key's algorithm ends the flow with
    /// [`Error::Dpop`](crate::Error::Dpop) before anything further is sent.
    Required,
}
