//! The IdP a person signs in at and this client's registration there: the discovered metadata
//! (RFC 8414 section 2, OpenID Connect Discovery 1.0 section 3), the client credentials, the
//! algorithms ID tokens may be signed with, and the policy.

use crate::discovery::{AuthorizationServerMetadata, UrlGuard};
use crate::jose::AlgorithmAllowList;
use crate::{ClientAuth, ClientCredentials, Error, Policy, Purpose};

use super::id_token_claims::IdTokenExpectations;
use super::pkce::CODE_CHALLENGE_METHOD;

/// The IdP and this client's registration at it, checked once for every sign-in flow.
#[derive(Clone, Debug)]
pub struct SignInClient {
    pub(crate) metadata: AuthorizationServerMetadata,
    pub(crate) credentials: ClientCredentials,
    pub(crate) algorithms: AlgorithmAllowList,
    pub(crate) policy: Policy,
}

impl SignInClient {
    /// The IdP's metadata (as discovery returned it, its `issuer` already checked) and the
    /// client's registration. ID tokens are accepted with the asymmetric algorithms of
    /// [`AlgorithmAllowList::asymmetric`] unless [`with_algorithms`](Self::with_algorithms)
    /// says otherwise.
    ///
    /// Refuses an IdP whose `code_challenge_methods_supported` is present without `S256`
    /// (RFC 7636 section 4.2: `plain` only is no protection; RFC 9700 section 2.1.1).
    pub fn new(
        metadata: AuthorizationServerMetadata,
        credentials: ClientCredentials,
        policy: &Policy,
    ) -> Result<Self, Error> {
        if let Some(methods) = &metadata.code_challenge_methods_supported
            && !methods.iter().any(|method| method == CODE_CHALLENGE_METHOD)
        {
            return Err(Error::Config(
                "the IdP's code_challenge_methods_supported lacks S256, the only PKCE method \
                 this client uses (RFC 7636 section 4.2)"
                    .into(),
            ));
        }
        Ok(Self {
            metadata,
            credentials,
            algorithms: AlgorithmAllowList::asymmetric(),
            policy: policy.clone(),
        })
    }

    /// The algorithms an ID token may be signed with. `none` is never on an
    /// [`AlgorithmAllowList`]; a shared-key (HMAC) algorithm is refused for a public client,
    /// which has no secret such a key could be (OpenID Connect Core 1.0 section 10.1, RFC 8725
    /// section 3.1).
    pub fn with_algorithms(mut self, algorithms: AlgorithmAllowList) -> Result<Self, Error> {
        let shared = algorithms
            .iter()
            .any(|alg| alg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")));
        if shared && matches!(self.credentials.auth, ClientAuth::None) {
            return Err(Error::Config(
                "a public client cannot accept ID tokens signed with a shared key (HS256, ...): \
                 it has no client secret (OpenID Connect Core 1.0 section 10.1)"
                    .into(),
            ));
        }
        self.algorithms = algorithms;
        Ok(self)
    }

    /// The IdP's issuer identifier: an ID token's `iss` must be identical to it.
    pub fn issuer(&self) -> &str {
        &self.metadata.issuer
    }

    /// The client id at the IdP: an ID token's `aud` must contain it.
    pub fn client_id(&self) -> &str {
        &self.credentials.client_id
    }

    /// The metadata this client was built from.
    pub fn metadata(&self) -> &AuthorizationServerMetadata {
        &self.metadata
    }

    /// Whether the IdP lists `scope` in `scopes_supported`.
    pub fn supports_scope(&self, scope: &str) -> bool {
        self.metadata
            .scopes_supported
            .iter()
            .flatten()
            .any(|listed| listed == scope)
    }

    /// What every ID token from this IdP must say: its `iss`, this client in `aud`, times
    /// within the policy's clock skew (OpenID Connect Core 1.0 section 3.1.3.7).
    pub(crate) fn id_token_expectations(&self) -> IdTokenExpectations {
        IdTokenExpectations::new(self.issuer(), self.client_id(), self.policy.clock_skew)
    }

    /// The endpoint `url` of the metadata member `member`, which must be present and pass the
    /// URL policy (https; plain http only on loopback when the policy allows it).
    pub(crate) fn endpoint(
        &self,
        purpose: Purpose,
        member: &'static str,
        url: Option<&str>,
    ) -> Result<url::Url, Error> {
        let url = url.ok_or_else(|| {
            Error::Config(format!("the IdP's metadata has no {member} ({purpose})"))
        })?;
        UrlGuard::new(&self.policy, None).check(purpose, url)
    }
}
