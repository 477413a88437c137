//! The MCP authorization server's jwt-bearer endpoint (RFC 7523 section 2.1, ID-JAG draft section 4.4,
//! EMA section 5, protocol.md 2.5 and 3.3): an ID-JAG in, an access token out.

use std::sync::Arc;
use std::time::SystemTime;

use http::{Request, Response, StatusCode};
use serde_json::{Map, Value};

use super::claims::TimeRules;
use super::client_auth::ClientAuthenticator;
use super::clients::ClientRegistry;
use super::id_jag::{IdJagRules, ServedResource, TrustedIssuer};
use super::issuers::{AccessTokenGrant, AccessTokenIssuer, MintedAccessToken};
use super::metadata::{AuthorizationServerMetadataDocument, fill_client_auth_metadata};
use super::rejection::{RejectReason, Rejection, ScopeFault};
use super::replay::{
    InMemoryReplayStore, ReplayError, ReplayMode, ReplayStore, TokenKind, TokenUse,
};
use super::request::FormRequest;
use super::response;
use super::token_fault::TokenFault;
use crate::Scope;
use crate::constants::GRANT_TYPE_JWT_BEARER;
use crate::display_safety::sanitize;

/// Settings of an [`AuthorizationServerEndpoint`]. `new` gives the strict defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationServerConfig {
    /// This server's issuer identifier: the only accepted ID-JAG `aud` (ID-JAG draft section 4.4.1).
    pub issuer: String,
    /// Its token endpoint URL, an accepted client-assertion `aud` (RFC 7523 section 3).
    pub token_endpoint: String,
    /// The resources it issues tokens for (EMA section 7.6.2).
    pub resources: Vec<ServedResource>,
    /// The resource assumed for an ID-JAG without `resource` (protocol.md Q4). `None`, the
    /// default, rejects such ID-JAGs, as the MCP conformance suite expects.
    pub default_resource: Option<String>,
    /// How ID-JAG times are judged. Default: 60 s skew, at most 10 minutes from `iat` to
    /// `exp` (EMA section 7.4.2).
    pub id_jag_times: TimeRules,
    /// How client assertions' times are judged. Default: 60 s skew, at most 10 minutes.
    pub client_assertion_times: TimeRules,
    /// Also accept an `aud` that differs from the issuer by one trailing `/` (the MCP
    /// conformance suite does). Off by default: exact match.
    pub accept_audience_trailing_slash: bool,
    /// What a re-used ID-JAG `jti` means (decisions.md D23). Default [`ReplayMode::Strict`].
    pub replay_mode: ReplayMode,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
}

impl AuthorizationServerConfig {
    /// The defaults for a server with this issuer and token endpoint, serving no resource yet.
    pub fn new(issuer: impl Into<String>, token_endpoint: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            token_endpoint: token_endpoint.into(),
            resources: Vec::new(),
            default_resource: None,
            id_jag_times: TimeRules::default(),
            client_assertion_times: TimeRules::default(),
            accept_audience_trailing_slash: false,
            replay_mode: ReplayMode::Strict,
            max_body_bytes: 256 * 1024,
        }
    }

    /// Serves one more resource, builder style.
    pub fn with_resource(mut self, resource: ServedResource) -> Self {
        self.resources.push(resource);
        self
    }
}

/// An access token granted for an ID-JAG.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenGranted {
    /// What was granted.
    pub grant: AccessTokenGrant,
    /// The token the issuer made for it.
    pub token: MintedAccessToken,
}

impl AccessTokenGranted {
    /// The RFC 6749 section 5.1 response: `access_token`, `token_type` `Bearer`,
    /// `expires_in`, `scope`; `Cache-Control: no-store`, `Pragma: no-cache`; never a refresh
    /// token (ID-JAG draft section 4.4.3).
    pub fn to_response(&self) -> Response<Vec<u8>> {
        let mut body = Map::new();
        body.insert(
            "access_token".into(),
            Value::from(self.token.access_token.expose_secret()),
        );
        body.insert("token_type".into(), Value::from("Bearer"));
        body.insert("expires_in".into(), Value::from(self.token.expires_in));
        if !self.grant.scope.is_empty() {
            body.insert("scope".into(), Value::from(self.grant.scope.to_string()));
        }
        response::no_store(StatusCode::OK, &Value::Object(body))
    }
}

/// The MCP authorization server side of the profile, sans-IO: give it the jwt-bearer request
/// and the time, get the response.
///
/// Checks, in the order of protocol.md 3.3: the request (`grant_type`, one `assertion`),
/// client authentication, the ID-JAG header (`typ`, `alg`), a trusted `iss`, the signature,
/// times, `aud`, `client_id`, `sub`, `jti`, `resource`, scope; then the `jti` against replay,
/// then issues through the caller's [`AccessTokenIssuer`].
pub struct AuthorizationServerEndpoint {
    config: AuthorizationServerConfig,
    clients: ClientRegistry,
    trusted: Vec<TrustedIssuer>,
    tokens: Arc<dyn AccessTokenIssuer>,
    replay: Arc<dyn ReplayStore>,
}

impl AuthorizationServerEndpoint {
    /// A server that trusts no IdP yet, remembers `jti`s in a default
    /// [`InMemoryReplayStore`], and issues through `tokens`.
    pub fn new(
        config: AuthorizationServerConfig,
        clients: ClientRegistry,
        tokens: Arc<dyn AccessTokenIssuer>,
    ) -> Self {
        Self {
            config,
            clients,
            trusted: Vec::new(),
            tokens,
            replay: Arc::new(InMemoryReplayStore::default()),
        }
    }

    /// Trusts an IdP, builder style.
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// Remembers `jti`s (of ID-JAGs and client assertions) in `store` instead.
    pub fn with_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = store;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AuthorizationServerConfig {
        &self.config
    }

    /// The metadata document: jwt-bearer, the id-jag profile, the client authentication
    /// methods in use. Set `jwks_uri` and anything else on the result.
    pub fn metadata(&self) -> AuthorizationServerMetadataDocument {
        let mut metadata = AuthorizationServerMetadataDocument::mcp_authorization_server(
            self.config.issuer.as_str(),
            self.config.token_endpoint.as_str(),
        );
        fill_client_auth_metadata(&mut metadata, &self.clients);
        metadata
    }

    /// Handles a jwt-bearer request: the response to send.
    pub fn handle(&self, request: &Request<Vec<u8>>, now: SystemTime) -> Response<Vec<u8>> {
        match self.process(request, now) {
            Ok(granted) => granted.to_response(),
            Err(rejection) => rejection.to_response(),
        }
    }

    /// Handles a jwt-bearer request: what was granted, or why not.
    pub fn process(
        &self,
        request: &Request<Vec<u8>>,
        now: SystemTime,
    ) -> Result<AccessTokenGranted, Box<Rejection>> {
        // Step 1: the request.
        let form = FormRequest::read(request, self.config.max_body_bytes)?;
        let grant_type = form.required("grant_type")?;
        if grant_type != GRANT_TYPE_JWT_BEARER {
            return Err(RejectReason::UnsupportedGrantType(sanitize(grant_type)).into());
        }
        let assertion = form.required("assertion")?;
        let requested_scope = form
            .optional("scope")?
            .map(Scope::parse)
            .filter(|scope| !scope.is_empty());
        // Step 2: the client.
        let client = self
            .authenticator()
            .authenticate(request, &form, grant_type, now)?;
        // Steps 3 to 11, and 14.
        let rules = IdJagRules {
            issuer: &self.config.issuer,
            lenient_trailing_slash: self.config.accept_audience_trailing_slash,
            trusted: &self.trusted,
            times: &self.config.id_jag_times,
            resources: &self.config.resources,
            default_resource: self.config.default_resource.as_deref(),
        };
        let id_jag = rules
            .validate(assertion, &client.client_id, now)
            .map_err(RejectReason::IdJag)?;
        // Step 12.
        let scope = grant_scope(
            requested_scope.as_ref(),
            &id_jag.scope,
            id_jag.resource.allowed_scopes.as_ref(),
        )
        .map_err(RejectReason::Scope)?;
        // Step 10, last, so an ID-JAG refused for another reason is not burned.
        let token_use = TokenUse {
            kind: TokenKind::IdJag,
            issuer: &id_jag.issuer,
            jti: &id_jag.jti,
            token: assertion,
            retain_until: id_jag
                .exp
                .saturating_add(self.config.id_jag_times.clock_skew.as_secs()),
        };
        match self
            .replay
            .register(&token_use, self.config.replay_mode, now)
        {
            Ok(()) => {}
            Err(ReplayError::Replayed) => {
                return Err(RejectReason::IdJag(TokenFault::Replayed {
                    jti: sanitize(&id_jag.jti),
                })
                .into());
            }
            Err(ReplayError::Full) => return Err(RejectReason::ReplayCacheFull.into()),
        }
        // Step 16.
        let grant = AccessTokenGrant {
            issuer: id_jag.issuer,
            subject: id_jag.subject,
            client_id: client.client_id,
            resource: id_jag.resource.resource.clone(),
            scope,
            id_jag_jti: id_jag.jti,
            id_jag_expires_at: id_jag.exp,
            id_jag_claims: id_jag.claims,
        };
        let token = self
            .tokens
            .issue(&grant, now)
            .map_err(|error| RejectReason::Issuance(sanitize(&error.0)))?;
        Ok(AccessTokenGranted { grant, token })
    }

    fn authenticator(&self) -> ClientAuthenticator<'_> {
        ClientAuthenticator {
            registry: &self.clients,
            issuer: &self.config.issuer,
            token_endpoint: &self.config.token_endpoint,
            assertion_times: &self.config.client_assertion_times,
            replay: self.replay.as_ref(),
        }
    }
}

impl std::fmt::Debug for AuthorizationServerEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServerEndpoint")
            .field("config", &self.config)
            .field("clients", &self.clients)
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

/// The granted scope (protocol.md 3.3 step 12, EMA section 7.2.1, RFC 6749 section 3.3): the
/// request's scope if it has one, which must lie within the ID-JAG's; else the ID-JAG's. Then
/// narrowed to what the resource allows. Narrowing to nothing is refused.
fn grant_scope(
    requested: Option<&Scope>,
    id_jag: &Scope,
    allowed: Option<&Scope>,
) -> Result<Scope, ScopeFault> {
    let narrow = |scope: &Scope| match allowed {
        Some(allowed) => scope.intersection(allowed),
        None => scope.clone(),
    };
    let (asked, granted) = match requested {
        Some(requested) => {
            let extra = requested.difference(id_jag);
            if !extra.is_empty() {
                return Err(ScopeFault::BeyondGrant { extra });
            }
            (requested, narrow(requested))
        }
        None => (id_jag, narrow(id_jag)),
    };
    if granted.is_empty() && !asked.is_empty() {
        return Err(ScopeFault::Empty);
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(value: &str) -> Scope {
        Scope::parse(value)
    }

    #[test]
    fn scope_is_the_requested_subset_narrowed_by_the_resource() {
        let id_jag = scope("read write admin");
        assert_eq!(grant_scope(None, &id_jag, None), Ok(id_jag.clone()));
        assert_eq!(
            grant_scope(Some(&scope("read")), &id_jag, None),
            Ok(scope("read"))
        );
        assert_eq!(
            grant_scope(Some(&scope("read delete")), &id_jag, None),
            Err(ScopeFault::BeyondGrant {
                extra: scope("delete")
            })
        );
        assert_eq!(
            grant_scope(None, &id_jag, Some(&scope("read write"))),
            Ok(scope("read write"))
        );
        assert_eq!(
            grant_scope(Some(&scope("admin")), &id_jag, Some(&scope("read"))),
            Err(ScopeFault::Empty)
        );
        assert_eq!(
            grant_scope(None, &Scope::default(), None),
            Ok(Scope::default())
        );
    }
}
