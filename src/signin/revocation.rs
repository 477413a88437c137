//! Revoking a refresh token at sign-out (RFC 7009 section 2) as a [`Flow`](crate::Flow).

use std::time::SystemTime;

use super::engine::{GrantFlow, GrantStep, Verdict};
use super::idp_endpoint::IdpEndpoint;
use super::provider::SignInClient;
use crate::grant::TokenForm;
use crate::wire::token_endpoint_failure;
use crate::{Error, HttpResponse, Purpose, RefreshToken};

/// `Debug` shows the endpoint; the token prints `[redacted]`.
#[derive(Debug)]
struct RevokeStep {
    endpoint: IdpEndpoint,
    token: RefreshToken,
}

/// The revocation of a refresh token as a [`Flow`](crate::Flow): one POST to the IdP's
/// `revocation_endpoint` with `token` and `token_type_hint=refresh_token` (RFC 7009 section
/// 2.1), authenticated as the client is at the token endpoint. Any 2xx is success, also for a
/// token the IdP no longer knows (section 2.2).
#[derive(Debug)]
pub struct Revocation(GrantFlow<RevokeStep>);
crate::grant::single_flow!(Revocation, ());

impl Revocation {
    /// Revokes `token`; the IdP's metadata must list a `revocation_endpoint`.
    pub fn new(client: &SignInClient, token: RefreshToken) -> Result<Self, Error> {
        let endpoint = IdpEndpoint::new(
            client,
            Purpose::Revocation,
            "revocation_endpoint",
            client.metadata.revocation_endpoint.as_deref(),
        )?;
        let step = RevokeStep { endpoint, token };
        Ok(Self(GrantFlow::new(step, None)))
    }
}

impl GrantStep for RevokeStep {
    type Output = ();

    fn endpoint(&self) -> &IdpEndpoint {
        &self.endpoint
    }

    fn form(&self) -> TokenForm<'_> {
        let mut form = TokenForm::default();
        form.push("token", self.token.expose_secret());
        form.push("token_type_hint", "refresh_token");
        form
    }

    fn judge(&mut self, _now: SystemTime, response: HttpResponse) -> Result<Verdict<()>, Error> {
        if response.status().is_success() {
            Ok(Verdict::Done(()))
        } else {
            Err(token_endpoint_failure(Purpose::Revocation, &response))
        }
    }
}
