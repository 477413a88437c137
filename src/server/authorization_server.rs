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
use super::replay::{InMemoryReplayStore, ReplayMode, ReplayStore, TokenKind, TokenUse};
use super::replay_step::{ReplayChecks, ReplayVerdict};
use super::request::FormRequest;
use super::response;
#[cfg(feature = "dpop")]
use super::{
    DpopNonces, DpopValidator,
    dpop_binding::{BindingRules, bound_key},
    dpop_token_request::{CheckedProof, TokenEndpointDpop},
    metadata::fill_dpop_metadata,
};
use crate::Scope;
use crate::constants::GRANT_TYPE_JWT_BEARER;
#[cfg(feature = "dpop")]
use crate::constants::GRANT_TYPE_JWT_DPOP;
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
    /// Issue only DPoP-bound tokens: a request without a DPoP proof is refused with
    /// `invalid_dpop_proof` (RFC 9449 section 5). Off by default; it needs a validator
    /// ([`AuthorizationServerEndpoint::with_dpop`]), without which every request is refused.
    #[cfg(feature = "dpop")]
    pub require_dpop_bound_tokens: bool,
    /// Also serve the `urn:ietf:params:oauth:grant-type:jwt-dpop` grant
    /// (draft-parecki-oauth-jwt-dpop-grant): an ID-JAG bound to a key, redeemed with a proof
    /// by that key, and listed in the metadata. Off by default; it needs a validator.
    #[cfg(feature = "dpop")]
    pub accept_jwt_dpop_grant: bool,
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
            #[cfg(feature = "dpop")]
            require_dpop_bound_tokens: false,
            #[cfg(feature = "dpop")]
            accept_jwt_dpop_grant: false,
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
    /// The nonce to supply in `DPoP-Nonce`: the current one, when the request's proof
    /// carried the previous one (RFC 9449 section 8.2).
    #[cfg(feature = "dpop")]
    pub dpop_nonce: Option<String>,
}

impl AccessTokenGranted {
    /// The RFC 6749 section 5.1 response: `access_token`, `token_type` `Bearer` (`DPoP` for
    /// a token bound to a key, RFC 9449 section 5), `expires_in`, `scope`; `Cache-Control:
    /// no-store`, `Pragma: no-cache`; never a refresh token (ID-JAG draft section 4.4.3); and
    /// `DPoP-Nonce` when the server's nonce rotated (RFC 9449 section 8.2).
    pub fn to_response(&self) -> Response<Vec<u8>> {
        let mut body = Map::new();
        body.insert(
            "access_token".into(),
            Value::from(self.token.access_token.expose_secret()),
        );
        body.insert("token_type".into(), Value::from(self.token_type()));
        body.insert("expires_in".into(), Value::from(self.token.expires_in));
        if !self.grant.scope.is_empty() {
            body.insert("scope".into(), Value::from(self.grant.scope.to_string()));
        }
        #[cfg_attr(not(feature = "dpop"), allow(unused_mut))]
        let mut response = response::no_store(StatusCode::OK, &Value::Object(body));
        #[cfg(feature = "dpop")]
        if let Some(nonce) = &self.dpop_nonce {
            response.headers_mut().insert(
                crate::dpop::DPOP_NONCE_HEADER,
                response::header_value(nonce),
            );
        }
        response
    }

    /// `DPoP` for a token bound to a key, else `Bearer` (RFC 9449 section 5, RFC 6750).
    fn token_type(&self) -> &'static str {
        #[cfg(feature = "dpop")]
        if self.grant.dpop_jkt.is_some() {
            return "DPoP";
        }
        "Bearer"
    }
}

/// The MCP authorization server side of the profile, sans-IO: give it the jwt-bearer request
/// and the time, get the response.
///
/// Checks, in the order of protocol.md 3.3: the request (`grant_type`, one `assertion`),
/// client authentication, the ID-JAG header (`typ`, `alg`), a trusted `iss`, the signature,
/// times, `aud`, `client_id`, `sub`, `jti`, `resource`, scope; then the `jti`s against replay,
/// a step the host performs ([`begin`](Self::begin), [`finish`](Self::finish); decisions.md
/// D29) or leaves to [`process`](Self::process); then issues through the caller's
/// [`AccessTokenIssuer`].
pub struct AuthorizationServerEndpoint {
    config: AuthorizationServerConfig,
    clients: ClientRegistry,
    trusted: Vec<TrustedIssuer>,
    tokens: Arc<dyn AccessTokenIssuer>,
    replay: Arc<dyn ReplayStore>,
    #[cfg(feature = "dpop")]
    dpop_validator: Option<DpopValidator>,
    #[cfg(feature = "dpop")]
    dpop_nonces: Option<Arc<DpopNonces>>,
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
            #[cfg(feature = "dpop")]
            dpop_validator: None,
            #[cfg(feature = "dpop")]
            dpop_nonces: None,
        }
    }

    /// Trusts an IdP, builder style.
    pub fn trust(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted.push(issuer);
        self
    }

    /// Remembers `jti`s (of ID-JAGs, client assertions and DPoP proofs) in `store` instead,
    /// when [`process`](Self::process) or [`handle`](Self::handle) runs the replay step.
    pub fn with_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = store;
        self
    }

    /// Checks DPoP proofs with `validator` (RFC 9449 section 5): a request with a proof gets
    /// a token bound to its key, and an ID-JAG bound to a key (`cnf.jkt`) is honoured when
    /// the proof is by that key (protocol.md 3.3 step 14). Without a validator the `DPoP`
    /// header is not read and an ID-JAG with `cnf` is refused. The proof's `jti` goes to this
    /// server's replay step, not to the validator's own store.
    #[cfg(feature = "dpop")]
    pub fn with_dpop(mut self, validator: DpopValidator) -> Self {
        self.dpop_validator = Some(validator);
        self
    }

    /// Requires proofs to carry a nonce from `nonces`, supplied in `DPoP-Nonce` (RFC 9449
    /// section 8). Takes effect with [`with_dpop`](Self::with_dpop).
    #[cfg(feature = "dpop")]
    pub fn with_dpop_nonces(mut self, nonces: Arc<DpopNonces>) -> Self {
        self.dpop_nonces = Some(nonces);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AuthorizationServerConfig {
        &self.config
    }

    /// The metadata document: jwt-bearer (and `jwt-dpop` when served), the id-jag profile,
    /// the client authentication methods in use, and the DPoP algorithms when proofs are
    /// checked (RFC 9449 section 5.1). Set `jwks_uri` and anything else on the result.
    pub fn metadata(&self) -> AuthorizationServerMetadataDocument {
        let mut metadata = AuthorizationServerMetadataDocument::mcp_authorization_server(
            self.config.issuer.as_str(),
            self.config.token_endpoint.as_str(),
        );
        fill_client_auth_metadata(&mut metadata, &self.clients);
        #[cfg(feature = "dpop")]
        if let Some(validator) = &self.dpop_validator {
            fill_dpop_metadata(&mut metadata, validator);
            if self.config.accept_jwt_dpop_grant
                && let Some(grants) = &mut metadata.grant_types_supported
            {
                grants.push(GRANT_TYPE_JWT_DPOP.to_owned());
            }
        }
        metadata
    }

    /// Handles a jwt-bearer request: the response to send. Runs the replay step itself
    /// against the server's [`ReplayStore`] ([`with_replay_store`](Self::with_replay_store)).
    pub fn handle(&self, request: &Request<Vec<u8>>, now: SystemTime) -> Response<Vec<u8>> {
        respond(self.process(request, now))
    }

    /// Handles a jwt-bearer request: what was granted, or why not. Runs the replay step
    /// itself against the server's [`ReplayStore`]: [`begin`](Self::begin), the checks,
    /// [`finish`](Self::finish).
    pub fn process(
        &self,
        request: &Request<Vec<u8>>,
        now: SystemTime,
    ) -> Result<AccessTokenGranted, Box<Rejection>> {
        let pending = self.begin(request, now)?;
        let verdicts = pending.checks().check_in(self.replay.as_ref(), now);
        self.finish(pending, &verdicts)
    }

    /// Checks a jwt-bearer request up to the replay step (decisions.md D29): the grant that
    /// awaits only the `jti` checks, or why it is refused. The host registers
    /// [`PendingGrant::checks`] with its store and hands the verdicts to
    /// [`finish`](Self::finish); a refused request lists no use.
    pub fn begin(
        &self,
        request: &Request<Vec<u8>>,
        now: SystemTime,
    ) -> Result<PendingGrant, Box<Rejection>> {
        let mut checks = ReplayChecks::default();
        // Step 1: the request.
        let form = FormRequest::read(request, self.config.max_body_bytes)?;
        let grant_type = form.required("grant_type")?;
        if grant_type != GRANT_TYPE_JWT_BEARER && !self.serves_jwt_dpop(grant_type) {
            return Err(RejectReason::UnsupportedGrantType(sanitize(grant_type)).into());
        }
        let assertion = form.required("assertion")?;
        // The DPoP proof, before the client authenticates: a nonce demand then costs the
        // client no assertion (RFC 9449 section 8).
        #[cfg(feature = "dpop")]
        let proof = self.check_proof(request, grant_type, now)?;
        let requested_scope = form
            .optional("scope")?
            .map(Scope::parse)
            .filter(|scope| !scope.is_empty());
        // Step 2: the client; its assertion's jti goes to the replay step.
        let mut client_uses = ReplayChecks::default();
        let client =
            self.authenticator()
                .authenticate(request, &form, grant_type, now, &mut client_uses)?;
        // Steps 3 to 11, and 14.
        let rules = IdJagRules {
            issuer: &self.config.issuer,
            lenient_trailing_slash: self.config.accept_audience_trailing_slash,
            trusted: &self.trusted,
            times: &self.config.id_jag_times,
            resources: &self.config.resources,
            default_resource: self.config.default_resource.as_deref(),
            #[cfg(feature = "dpop")]
            honours_dpop_binding: self.dpop_validator.is_some(),
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
        // Step 14: the binding, against the proof.
        #[cfg(feature = "dpop")]
        let dpop_jkt = bound_key(
            id_jag.cnf_jkt.as_deref(),
            proof.as_ref().map(|checked| &checked.proof),
            BindingRules {
                jwt_dpop_grant: grant_type == GRANT_TYPE_JWT_DPOP,
            },
        )
        .map_err(RejectReason::IdJag)?;
        // Step 10, last, so an ID-JAG refused for another reason is not burned: every use,
        // in the order of the checks, the ID-JAG's after the proof's and the assertion's.
        #[cfg(feature = "dpop")]
        let (next_nonce, refusal_nonce) = match proof {
            Some(checked) => {
                checks.push(checked.token_use);
                (checked.next_nonce, checked.current_nonce)
            }
            None => (None, None),
        };
        checks.append(client_uses);
        checks.push(TokenUse::new(
            TokenKind::IdJag,
            id_jag.issuer.as_str(),
            id_jag.jti.as_str(),
            assertion,
            id_jag
                .exp
                .saturating_add(self.config.id_jag_times.clock_skew.as_secs()),
            self.config.replay_mode,
        ));
        let grant = AccessTokenGrant {
            issuer: id_jag.issuer,
            subject: id_jag.subject,
            client_id: client.client_id,
            resource: id_jag.resource.resource.clone(),
            scope,
            id_jag_jti: id_jag.jti,
            id_jag_expires_at: id_jag.exp,
            id_jag_claims: id_jag.claims,
            #[cfg(feature = "dpop")]
            dpop_jkt,
        };
        Ok(PendingGrant {
            checks,
            grant,
            now,
            #[cfg(feature = "dpop")]
            next_nonce,
            #[cfg(feature = "dpop")]
            refusal_nonce,
        })
    }

    /// Finishes a request [`begin`](Self::begin) left at the replay step, with one verdict
    /// per use of [`PendingGrant::checks`], in order: issues the token through the
    /// [`AccessTokenIssuer`] when every use was registered (protocol.md 3.3 step 16). A
    /// replayed `jti` is refused as its token's fault (an ID-JAG's is `invalid_grant`), a
    /// store that could not answer with [`RejectReason::ReplayStoreUnavailable`] (fail
    /// closed), and verdicts that do not answer the uses with
    /// [`RejectReason::ReplayVerdicts`].
    pub fn finish(
        &self,
        pending: PendingGrant,
        verdicts: &[ReplayVerdict],
    ) -> Result<AccessTokenGranted, Box<Rejection>> {
        #[cfg(feature = "dpop")]
        let refusal_nonce = pending.refusal_nonce.as_deref();
        #[cfg(not(feature = "dpop"))]
        let refusal_nonce: Option<&str> = None;
        pending
            .checks
            .settle(verdicts)
            .map_err(|unsettled| unsettled.rejection(refusal_nonce))?;
        // Step 16.
        let token = self
            .tokens
            .issue(&pending.grant, pending.now)
            .map_err(|error| RejectReason::Issuance(sanitize(&error.0)))?;
        Ok(AccessTokenGranted {
            grant: pending.grant,
            token,
            #[cfg(feature = "dpop")]
            dpop_nonce: pending.next_nonce,
        })
    }

    /// [`finish`](Self::finish), rendered: the response to send.
    pub fn finish_response(
        &self,
        pending: PendingGrant,
        verdicts: &[ReplayVerdict],
    ) -> Response<Vec<u8>> {
        respond(self.finish(pending, verdicts))
    }

    /// Whether `grant_type` is the `jwt-dpop` grant and this server serves it.
    fn serves_jwt_dpop(&self, grant_type: &str) -> bool {
        #[cfg(feature = "dpop")]
        if grant_type == GRANT_TYPE_JWT_DPOP {
            return self.config.accept_jwt_dpop_grant && self.dpop_validator.is_some();
        }
        let _ = grant_type;
        false
    }

    /// The request's DPoP proof, checked; a refusal when it is required and missing: under
    /// the `jwt-dpop` grant, or when the server issues only bound tokens (RFC 9449 section 5).
    #[cfg(feature = "dpop")]
    fn check_proof(
        &self,
        request: &Request<Vec<u8>>,
        grant_type: &str,
        now: SystemTime,
    ) -> Result<Option<CheckedProof>, Box<Rejection>> {
        TokenEndpointDpop {
            validator: self.dpop_validator.as_ref(),
            nonces: self.dpop_nonces.as_deref(),
            required: self.config.require_dpop_bound_tokens || grant_type == GRANT_TYPE_JWT_DPOP,
        }
        .check(request, &self.config.token_endpoint, now)
    }

    fn authenticator(&self) -> ClientAuthenticator<'_> {
        ClientAuthenticator {
            registry: &self.clients,
            issuer: &self.config.issuer,
            token_endpoint: &self.config.token_endpoint,
            assertion_times: &self.config.client_assertion_times,
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

/// A jwt-bearer request that passed every check but replay, from
/// [`AuthorizationServerEndpoint::begin`]: the uses to register
/// ([`checks`](Self::checks)), and the grant that awaits them.
pub struct PendingGrant {
    checks: ReplayChecks,
    grant: AccessTokenGrant,
    now: SystemTime,
    #[cfg(feature = "dpop")]
    next_nonce: Option<String>,
    #[cfg(feature = "dpop")]
    refusal_nonce: Option<String>,
}

impl PendingGrant {
    /// The `jti` uses to register, in order, before [`finish`](AuthorizationServerEndpoint::finish).
    pub fn checks(&self) -> &ReplayChecks {
        &self.checks
    }

    /// The grant that awaits them.
    pub fn grant(&self) -> &AccessTokenGrant {
        &self.grant
    }
}

impl std::fmt::Debug for PendingGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingGrant")
            .field("checks", &self.checks)
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

/// The response for a grant or a rejection.
fn respond(outcome: Result<AccessTokenGranted, Box<Rejection>>) -> Response<Vec<u8>> {
    match outcome {
        Ok(granted) => granted.to_response(),
        Err(rejection) => rejection.to_response(),
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
