//! The JWT-bearer grant at the MCP authorization server (RFC 7523 section 2.1, ID-JAG draft
//! section 4.4, protocol.md 2.5): an ID-JAG (or any caller-supplied assertion) in, an access
//! token out.

use std::fmt;
use std::time::SystemTime;

use url::Url;

use super::client_auth::{Endpoint, TokenForm, authenticated_post};
use super::response::{TokenResponse, granted_scope};
use super::single::{Single, TokenStep, single_flow};
use crate::discovery::UrlGuard;
use crate::dpop_hook::Binding;
use crate::error::sanitize;
use crate::form;
use crate::wire;
use crate::{
    AccessToken, ClientCredentials, DpopRefusal, Error, HttpRequest, HttpResponse, Policy, Purpose,
    Scope, Violation,
};

/// What the jwt-bearer grant sends.
#[derive(Clone)]
#[non_exhaustive]
pub struct JwtBearerRequest {
    /// The MCP authorization server's token endpoint, from its validated metadata.
    pub token_endpoint: String,
    /// The MCP authorization server's issuer (for a `private_key_jwt` audience of the issuer).
    pub issuer: Option<String>,
    /// The client's registration at the MCP authorization server.
    pub credentials: ClientCredentials,
    /// `assertion`: the ID-JAG, or a caller-supplied JWT, unmodified.
    pub assertion: crate::Assertion,
    /// `scope` to send (RFC 7523 section 2.1; normally omitted, the ID-JAG carries it).
    pub scope: Option<Scope>,
    /// The scope asked for earlier; the grant may not exceed it (decisions.md D8).
    pub requested_scope: Option<Scope>,
    /// `resource` to send (decisions.md D14, off by default).
    pub resource: Option<String>,
}

impl fmt::Debug for JwtBearerRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearerRequest")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.credentials.client_id)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// An access token the MCP authorization server issued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedAccessToken {
    /// The token, for `Authorization: Bearer`, or for `Authorization: DPoP` with a proof when
    /// it is bound ([`AccessToken::dpop_jkt`]).
    pub access_token: AccessToken,
    /// `token_type` as sent (`Bearer` or `DPoP`, any case).
    pub token_type: String,
    /// When it expires (decisions.md D9).
    pub expires_at: SystemTime,
    /// The scope granted (decisions.md D8).
    pub scope: Option<Scope>,
}

#[derive(Debug)]
struct BearerStep {
    request: JwtBearerRequest,
    endpoint: Url,
    policy: Policy,
    /// Whether the grant type is `jwt-dpop` (draft-parecki-oauth-jwt-dpop-grant) rather than
    /// `jwt-bearer`; only ever with a proof.
    jwt_dpop: bool,
}

/// The jwt-bearer grant as a [`Flow`](crate::Flow): one POST to the MCP authorization server.
#[derive(Debug)]
pub struct JwtBearerGrant(Single<BearerStep>);
single_flow!(JwtBearerGrant, IssuedAccessToken);

impl JwtBearerGrant {
    /// Prepares the grant; the token endpoint must pass the URL policy.
    pub fn new(request: JwtBearerRequest, policy: &Policy) -> Result<Self, Error> {
        Self::with_guard(request, &UrlGuard::new(policy, None))
    }

    pub(crate) fn with_guard(request: JwtBearerRequest, guard: &UrlGuard) -> Result<Self, Error> {
        let endpoint = guard.check(Purpose::JwtBearer, &request.token_endpoint)?;
        Ok(Self(Single::new(BearerStep {
            request,
            endpoint,
            policy: guard.policy().clone(),
            jwt_dpop: false,
        })))
    }

    /// Sends a DPoP proof made with `binding` (RFC 9449 section 5; ID-JAG draft section 9.8):
    /// the access token must then come back bound under the binding's policy, and a nonce
    /// demand gets one retry. With `jwt_dpop` the grant type is
    /// `urn:ietf:params:oauth:grant-type:jwt-dpop` (draft-parecki-oauth-jwt-dpop-grant), for
    /// an authorization server that lists it in `grant_types_supported`.
    #[cfg(feature = "dpop")]
    pub fn with_dpop(self, binding: crate::dpop::DpopBinding, jwt_dpop: bool) -> Self {
        self.dpop(Some(binding), jwt_dpop)
    }

    pub(crate) fn dpop(self, binding: Option<Binding>, jwt_dpop: bool) -> Self {
        match binding {
            Some(binding) => {
                let mut single = self.0.with_dpop(binding);
                single.step_mut().jwt_dpop = jwt_dpop;
                Self(single)
            }
            None => self,
        }
    }
}

impl TokenStep for BearerStep {
    type Output = IssuedAccessToken;

    fn purpose(&self) -> Purpose {
        Purpose::JwtBearer
    }

    fn request(&self, now: SystemTime) -> Result<HttpRequest, Error> {
        let request = &self.request;
        let mut form = TokenForm::default();
        let grant_type = if self.jwt_dpop {
            &form::GRANT_JWT_DPOP
        } else {
            &form::GRANT_JWT_BEARER
        };
        form.push_constant("grant_type", grant_type);
        form.push("assertion", request.assertion.expose_secret());
        if let Some(scope) = request.scope.as_ref().filter(|s| !s.is_empty()) {
            form.push("scope", scope.to_string());
        }
        if let Some(resource) = &request.resource {
            form.push("resource", resource.as_str());
        }
        let endpoint = Endpoint {
            purpose: Purpose::JwtBearer,
            token_endpoint: &self.endpoint,
            issuer: request.issuer.as_deref(),
        };
        authenticated_post(&endpoint, &request.credentials, form, now)
    }

    fn response(
        &self,
        now: SystemTime,
        response: HttpResponse,
        proof: Option<&Binding>,
    ) -> Result<IssuedAccessToken, Error> {
        let purpose = Purpose::JwtBearer;
        if !response.status().is_success() {
            return Err(wire::token_endpoint_failure(purpose, &response));
        }
        let invalid = |violation| Error::InvalidResponse { purpose, violation };
        let parsed = TokenResponse::from_response(&response, &self.policy).map_err(invalid)?;
        let dpop_jkt = bound_to(proof, &parsed.token_type).map_err(|refusal| match refusal {
            Some(refusal) => Error::Dpop {
                purpose: Some(purpose),
                refusal,
            },
            None => invalid(Violation::TokenType(sanitize(&parsed.token_type))),
        })?;
        let requested = self
            .request
            .requested_scope
            .as_ref()
            .or(self.request.scope.as_ref());
        let scope = granted_scope(requested, parsed.scope.clone()).map_err(invalid)?;
        let lifetime = parsed
            .expires_in
            .unwrap_or_else(|| self.policy.assumed_access_token_lifetime());
        if parsed.had_refresh_token {
            tracing::debug!(
                purpose = "jwt_bearer",
                "ignoring a refresh_token in the access token response"
            );
        }
        let mut access_token = AccessToken::new(parsed.access_token.as_str());
        if let Some(jkt) = dpop_jkt {
            access_token = access_token.bound_to(jkt);
        }
        Ok(IssuedAccessToken {
            access_token,
            token_type: parsed.token_type,
            expires_at: crate::json::saturating_add(now, lifetime),
            scope,
        })
    }
}

/// The key a token of `token_type` is bound to (RFC 9449 section 5; RFC 6750 section 4: type
/// names are case-insensitive). Without a proof only `Bearer` is accepted, and `DPoP` is a
/// binding nobody asked for; with one, the binding's policy judges. `Err(None)` for a type
/// that is neither.
fn bound_to(
    proof: Option<&Binding>,
    token_type: &str,
) -> Result<Option<String>, Option<DpopRefusal>> {
    let dpop = token_type.eq_ignore_ascii_case("dpop");
    if !dpop && !token_type.eq_ignore_ascii_case("bearer") {
        return Err(None);
    }
    match proof {
        Some(binding) => binding.judge_token_type(token_type).map_err(Some),
        None if dpop => Err(Some(DpopRefusal::UnrequestedBinding)),
        None => Ok(None),
    }
}
