//! One IdP endpoint a sign-in flow posts a form to, with what every such request needs: the
//! URL (present in the metadata and passing the URL policy), the client's authentication
//! there (RFC 6749 section 2.3) and the policy its answer is read under.

use std::fmt;
use std::time::SystemTime;

use url::Url;

use super::provider::SignInClient;
use crate::grant::{Endpoint, TokenForm, authenticated_post};
use crate::{ClientCredentials, Error, HttpRequest, Policy, Purpose};

/// An IdP endpoint and the client's registration at the IdP. `Debug` shows the purpose and the
/// URL, never the credentials.
#[derive(Clone)]
pub(crate) struct IdpEndpoint {
    purpose: Purpose,
    url: Url,
    issuer: String,
    credentials: ClientCredentials,
    pub(crate) policy: Policy,
}

impl fmt::Debug for IdpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpEndpoint")
            .field("purpose", &self.purpose)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl IdpEndpoint {
    /// The endpoint of the metadata member `member` (its value `url`), for requests of
    /// `purpose`; see [`SignInClient::endpoint`] for the checks.
    pub(crate) fn new(
        client: &SignInClient,
        purpose: Purpose,
        member: &'static str,
        url: Option<&str>,
    ) -> Result<Self, Error> {
        Ok(Self {
            purpose,
            url: client.endpoint(purpose, member, url)?,
            issuer: client.issuer().to_owned(),
            credentials: client.credentials.clone(),
            policy: client.policy.clone(),
        })
    }

    /// The IdP's `token_endpoint`, for requests of `purpose`.
    pub(crate) fn token(client: &SignInClient, purpose: Purpose) -> Result<Self, Error> {
        Self::new(
            client,
            purpose,
            "token_endpoint",
            Some(&client.metadata.token_endpoint),
        )
    }

    /// What requests to this endpoint are for.
    pub(crate) fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The POST of `form`, the client authenticated as registered (RFC 6749 section 2.3).
    pub(crate) fn post(&self, form: TokenForm<'_>, now: SystemTime) -> Result<HttpRequest, Error> {
        let endpoint = Endpoint {
            purpose: self.purpose,
            token_endpoint: &self.url,
            issuer: Some(&self.issuer),
        };
        authenticated_post(&endpoint, &self.credentials, form, now)
    }
}
