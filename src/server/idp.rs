//! The IdP's token-exchange endpoint (RFC 8693, ID-JAG draft section 4.3, EMA section 4, protocol.md 2.4 and
//! 2.7): a subject token in, an ID-JAG out; or a SAML assertion in, an IdP refresh token out.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Request, Response};
use serde_json::{Map, Value};

use super::claims::TimeRules;
use super::client_auth::ClientAuthenticator;
use super::clients::{AuthenticatedClient, ClientRegistry};
use super::exchange_outcome::{ExchangeOutcome, MintedIdJag};
use super::exchange_policy::{ExchangeDecision, ExchangePolicy, ExchangeRequest, PolicyRefusal};
use super::issuers::{RefreshTokenGrant, RefreshTokenIssuer};
use super::metadata::{AuthorizationServerMetadataDocument, fill_client_auth_metadata};
use super::pending_exchange::{Issuance, PendingExchange};
use super::rejection::{RejectReason, Rejection};
use super::replay::{InMemoryReplayStore, ReplayStore};
use super::replay_step::{ReplayChecks, ReplayVerdict};
use super::request::FormRequest;
use super::subject::{
    IdTokenRules, SubjectTokenType, SubjectTokenVerifier, VerifiedSubject, verify_id_token,
};
use super::token_fault::TokenFault;
#[cfg(feature = "dpop")]
use super::{
    DpopNonces, DpopValidator,
    dpop_token_request::{CheckedProof, TokenEndpointDpop},
};
use crate::constants::{
    GRANT_TYPE_TOKEN_EXCHANGE, ID_JAG_TYP, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_REFRESH_TOKEN,
};
use crate::display_safety::sanitize;
use crate::jose::sign_jwt;
use crate::jose::{AlgorithmAllowList, KeySet, TokenSigner};
use crate::json::unix_seconds;
use crate::{IdJag, JtiSource, Scope};

/// The subject claims an ID-JAG carries over when present (ID-JAG draft section 3.1).
const CARRIED_CLAIMS: [&str; 5] = ["tenant", "auth_time", "acr", "amr", "email"];

/// Settings of an [`IdentityProviderEndpoint`]. `new` gives the strict defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityProviderConfig {
    /// The IdP's issuer identifier: the `iss` of its ID tokens and ID-JAGs.
    pub issuer: String,
    /// Its token endpoint URL, an accepted client-assertion `aud` (RFC 7523 section 3).
    pub token_endpoint: String,
    /// `exp - iat` of minted ID-JAGs (EMA section 7.4.2: short-lived). Default 300 s.
    pub id_jag_lifetime: Duration,
    /// The algorithms the IdP's own ID tokens may use.
    pub id_token_algorithms: AlgorithmAllowList,
    /// How subject ID tokens' times are judged. Default: 60 s skew, no lifetime bound.
    pub id_token_times: TimeRules,
    /// How client assertions' times are judged. Default: 60 s skew, at most 10 minutes.
    pub client_assertion_times: TimeRules,
    /// Refuse an ID-JAG request without `resource` (`invalid_request`). On by default, as in
    /// the MCP conformance IdP and the EMA draft; off, the policy picks the resource.
    pub require_resource: bool,
    /// A `tenant` claim for every ID-JAG (multi-tenant issuers, ID-JAG draft section 3.1); otherwise one
    /// from the subject is carried over.
    pub tenant: Option<String>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// Refuse an ID-JAG request without a DPoP proof, so that every ID-JAG is bound to a key
    /// (ID-JAG draft section 9.8.1.1). The refusal is `invalid_dpop_proof`: RFC 9449 section
    /// 5 names it for a token request whose proof is not acceptable, and section 5.2 has a
    /// server that requires DPoP reject a token request without a `DPoP` header. Off by
    /// default; it needs a validator ([`IdentityProviderEndpoint::with_dpop`]), without which
    /// every ID-JAG request is refused.
    #[cfg(feature = "dpop")]
    pub require_dpop: bool,
}

impl IdentityProviderConfig {
    /// The defaults for an IdP with this issuer and token endpoint.
    pub fn new(issuer: impl Into<String>, token_endpoint: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            token_endpoint: token_endpoint.into(),
            id_jag_lifetime: Duration::from_secs(300),
            id_token_algorithms: AlgorithmAllowList::default(),
            id_token_times: TimeRules::default().with_max_lifetime(None),
            client_assertion_times: TimeRules::default(),
            require_resource: true,
            tenant: None,
            max_body_bytes: 256 * 1024,
            #[cfg(feature = "dpop")]
            require_dpop: false,
        }
    }
}

/// The IdP side of the profile, sans-IO: give it the token-exchange request and the time, get
/// the response.
///
/// Checks, in order: the request (`grant_type`, `requested_token_type`, `subject_token`,
/// `subject_token_type`, `audience`, `resource`; each once), client authentication, the subject
/// token (bound to that client), the `(audience, resource)` pair and scope by policy; then
/// mints the ID-JAG.
pub struct IdentityProviderEndpoint {
    config: IdentityProviderConfig,
    clients: ClientRegistry,
    signer: Arc<dyn TokenSigner>,
    own_keys: Arc<dyn KeySet>,
    jti: Arc<dyn JtiSource>,
    policy: Arc<dyn ExchangePolicy>,
    subject_verifier: Option<Arc<dyn SubjectTokenVerifier>>,
    refresh_tokens: Option<Arc<dyn RefreshTokenIssuer>>,
    replay: Arc<dyn ReplayStore>,
    #[cfg(feature = "dpop")]
    dpop_validator: Option<DpopValidator>,
    #[cfg(feature = "dpop")]
    dpop_nonces: Option<Arc<DpopNonces>>,
}

impl IdentityProviderEndpoint {
    /// An IdP that signs ID-JAGs with `signer`, verifies its own ID tokens with `own_keys`,
    /// takes each ID-JAG's `jti` from `jti` and decides by `policy`. Client-assertion `jti`s
    /// go to a default [`InMemoryReplayStore`].
    pub fn new(
        config: IdentityProviderConfig,
        clients: ClientRegistry,
        signer: Arc<dyn TokenSigner>,
        own_keys: Arc<dyn KeySet>,
        jti: Arc<dyn JtiSource>,
        policy: Arc<dyn ExchangePolicy>,
    ) -> Self {
        Self {
            config,
            clients,
            signer,
            own_keys,
            jti,
            policy,
            subject_verifier: None,
            refresh_tokens: None,
            replay: Arc::new(InMemoryReplayStore::default()),
            #[cfg(feature = "dpop")]
            dpop_validator: None,
            #[cfg(feature = "dpop")]
            dpop_nonces: None,
        }
    }

    /// Checks DPoP proofs on ID-JAG requests with `validator` (RFC 9449 section 5): an ID-JAG
    /// requested with a valid proof names its key in `cnf.jkt` (ID-JAG draft section
    /// 9.8.1.1, RFC 9449 section 6.1), and a refused proof is `invalid_dpop_proof`. Without a
    /// validator the `DPoP` header is not read. The proof's `jti` is registered in this IdP's
    /// replay store ([`with_replay_store`](Self::with_replay_store)), not the validator's.
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

    /// Accepts SAML and refresh-token subject tokens, checked by `verifier`. Without one,
    /// those subject token types are `invalid_request`.
    pub fn with_subject_verifier(mut self, verifier: Arc<dyn SubjectTokenVerifier>) -> Self {
        self.subject_verifier = Some(verifier);
        self
    }

    /// Serves SAML-to-refresh-token exchanges, issuing through `issuer`.
    pub fn with_refresh_token_issuer(mut self, issuer: Arc<dyn RefreshTokenIssuer>) -> Self {
        self.refresh_tokens = Some(issuer);
        self
    }

    /// Remembers client-assertion and DPoP-proof `jti`s in `store` instead.
    pub fn with_replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = store;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &IdentityProviderConfig {
        &self.config
    }

    /// The metadata document: token exchange, the id-jag token type, the client
    /// authentication methods in use, and the DPoP algorithms when proofs are checked (RFC
    /// 9449 section 5.1). Set `jwks_uri` and anything else on the result.
    pub fn metadata(&self) -> AuthorizationServerMetadataDocument {
        let mut metadata = AuthorizationServerMetadataDocument::identity_provider(
            self.config.issuer.as_str(),
            self.config.token_endpoint.as_str(),
        );
        fill_client_auth_metadata(&mut metadata, &self.clients);
        #[cfg(feature = "dpop")]
        if let Some(validator) = &self.dpop_validator {
            super::metadata::fill_dpop_metadata(&mut metadata, validator);
        }
        metadata
    }

    /// Handles a token-exchange request: the response to send. Runs the replay step itself
    /// against the IdP's [`ReplayStore`] ([`with_replay_store`](Self::with_replay_store)).
    pub fn handle(&self, request: &Request<Vec<u8>>, now: SystemTime) -> Response<Vec<u8>> {
        respond(self.process(request, now))
    }

    /// Handles a token-exchange request: what was issued, or why not. Runs the replay step
    /// itself against the IdP's [`ReplayStore`]: [`begin`](Self::begin), the checks,
    /// [`finish`](Self::finish).
    pub fn process(
        &self,
        request: &Request<Vec<u8>>,
        now: SystemTime,
    ) -> Result<ExchangeOutcome, Box<Rejection>> {
        let pending = self.begin(request, now)?;
        let verdicts = pending.checks().check_in(self.replay.as_ref(), now);
        self.finish(pending, &verdicts)
    }

    /// Checks a token-exchange request up to the replay step (decisions.md D29): what awaits
    /// only the `jti` checks (a DPoP proof's, a client assertion's; none for a client
    /// authenticated otherwise without a proof), or why it is refused. The host registers
    /// [`PendingExchange::checks`] with its store and hands the verdicts to
    /// [`finish`](Self::finish).
    pub fn begin(
        &self,
        request: &Request<Vec<u8>>,
        now: SystemTime,
    ) -> Result<PendingExchange, Box<Rejection>> {
        let form = FormRequest::read(request, self.config.max_body_bytes)?;
        let grant_type = form.required("grant_type")?;
        if grant_type != GRANT_TYPE_TOKEN_EXCHANGE {
            return Err(RejectReason::UnsupportedGrantType(sanitize(grant_type)).into());
        }
        let requested = form.required("requested_token_type")?;
        let subject_token = form.required("subject_token")?;
        let subject_type = form.required("subject_token_type")?;
        match requested {
            TOKEN_TYPE_ID_JAG => {
                self.exchange_for_id_jag(request, &form, subject_token, subject_type, now)
            }
            TOKEN_TYPE_REFRESH_TOKEN if self.refresh_tokens.is_some() => self
                .exchange_saml_for_refresh_token(request, &form, subject_token, subject_type, now),
            other => Err(RejectReason::UnsupportedTokenType {
                parameter: "requested_token_type",
                value: sanitize(other),
            }
            .into()),
        }
    }

    /// Finishes a request [`begin`](Self::begin) left at the replay step, with one verdict per
    /// use of [`PendingExchange::checks`], in order: mints the ID-JAG or issues the refresh
    /// token when every use was registered. A replayed `jti` is refused as its token's fault,
    /// a store that could not answer with [`RejectReason::ReplayStoreUnavailable`] (fail
    /// closed), and verdicts that do not answer the uses with [`RejectReason::ReplayVerdicts`].
    pub fn finish(
        &self,
        pending: PendingExchange,
        verdicts: &[ReplayVerdict],
    ) -> Result<ExchangeOutcome, Box<Rejection>> {
        pending
            .checks
            .settle(verdicts)
            .map_err(|unsettled| unsettled.rejection(pending.refusal_nonce.as_deref()))?;
        let now = pending.now;
        match pending.issuance {
            Issuance::IdJag {
                subject,
                decision,
                jkt,
                requested_scope,
                #[cfg(feature = "dpop")]
                dpop_nonce,
            } => {
                let minted = self.mint(&subject, &decision, jkt, now)?;
                Ok(ExchangeOutcome::IdJag(MintedIdJag {
                    response_scope: scope_if_changed(&decision.scope, &requested_scope),
                    #[cfg(feature = "dpop")]
                    dpop_nonce,
                    ..minted
                }))
            }
            Issuance::RefreshToken {
                grant,
                requested_scope,
            } => {
                let Some(issuer) = &self.refresh_tokens else {
                    return Err(RejectReason::Issuance("no refresh-token issuer".into()).into());
                };
                let minted = issuer
                    .issue(&grant, now)
                    .map_err(|error| RejectReason::Issuance(sanitize(&error.0)))?;
                let response_scope = scope_if_changed(&minted.scope, &requested_scope);
                Ok(ExchangeOutcome::RefreshToken {
                    minted,
                    response_scope,
                })
            }
        }
    }

    /// [`finish`](Self::finish), rendered: the response to send.
    pub fn finish_response(
        &self,
        pending: PendingExchange,
        verdicts: &[ReplayVerdict],
    ) -> Response<Vec<u8>> {
        respond(self.finish(pending, verdicts))
    }

    fn exchange_for_id_jag(
        &self,
        request: &Request<Vec<u8>>,
        form: &FormRequest,
        subject_token: &str,
        subject_type: &str,
        now: SystemTime,
    ) -> Result<PendingExchange, Box<Rejection>> {
        if form.count("audience") > 1 || form.count("resource") > 1 {
            return Err(RejectReason::MultipleTargets.into());
        }
        let audience = form.required("audience")?;
        let resource = form.optional("resource")?;
        if resource.is_none() && self.config.require_resource {
            return Err(RejectReason::MissingParameter("resource").into());
        }
        let requested_scope = form
            .optional("scope")?
            .map(Scope::parse)
            .unwrap_or_default();
        // The DPoP proof, before the client authenticates: a nonce demand then costs the
        // client no assertion (RFC 9449 section 8).
        #[cfg(feature = "dpop")]
        let proof = self.check_proof(request, now)?;
        let mut client_uses = ReplayChecks::default();
        let client = self.authenticator().authenticate(
            request,
            form,
            GRANT_TYPE_TOKEN_EXCHANGE,
            now,
            &mut client_uses,
        )?;
        let subject = self.verify_subject(subject_type, subject_token, &client, now)?;
        let exchange = ExchangeRequest {
            client_id: &client.client_id,
            subject: &subject,
            audience,
            resource,
            scope: &requested_scope,
        };
        let decision = self
            .policy
            .decide(&exchange)
            .map_err(|refusal| match refusal {
                PolicyRefusal::TargetNotAllowed => RejectReason::TargetNotAllowed {
                    audience: sanitize(audience),
                    resource: resource.map(sanitize),
                },
                PolicyRefusal::ScopeNotAllowed => RejectReason::ScopeNotAllowed,
                PolicyRefusal::AccessDenied => RejectReason::AccessDenied,
            })?;
        // The replay step, once every other check has passed (decisions.md D29): the proof's
        // jti, then the assertion's.
        let mut checks = ReplayChecks::default();
        #[cfg(feature = "dpop")]
        let (jkt, dpop_nonce, refusal_nonce) = match proof {
            Some(checked) => {
                checks.push(checked.token_use);
                (
                    Some(checked.proof.jkt),
                    checked.next_nonce,
                    checked.current_nonce,
                )
            }
            None => (None, None, None),
        };
        #[cfg(not(feature = "dpop"))]
        let (jkt, refusal_nonce): (Option<String>, Option<String>) = (None, None);
        checks.append(client_uses);
        Ok(PendingExchange {
            checks,
            issuance: Issuance::IdJag {
                subject,
                decision,
                jkt,
                requested_scope,
                #[cfg(feature = "dpop")]
                dpop_nonce,
            },
            now,
            refusal_nonce,
        })
    }

    /// The request's DPoP proof, checked (`htm` `POST`, `htu` the token endpoint, the nonce
    /// when this IdP supplies nonces); a refusal when it is required and missing.
    #[cfg(feature = "dpop")]
    fn check_proof(
        &self,
        request: &Request<Vec<u8>>,
        now: SystemTime,
    ) -> Result<Option<CheckedProof>, Box<Rejection>> {
        TokenEndpointDpop {
            validator: self.dpop_validator.as_ref(),
            nonces: self.dpop_nonces.as_deref(),
            required: self.config.require_dpop,
        }
        .check(request, &self.config.token_endpoint, now)
    }

    /// Protocol.md 2.7 option B: a SAML assertion exchanged for an IdP refresh token.
    fn exchange_saml_for_refresh_token(
        &self,
        request: &Request<Vec<u8>>,
        form: &FormRequest,
        subject_token: &str,
        subject_type: &str,
        now: SystemTime,
    ) -> Result<PendingExchange, Box<Rejection>> {
        let requested_scope = form
            .optional("scope")?
            .map(Scope::parse)
            .unwrap_or_default();
        let mut checks = ReplayChecks::default();
        let client = self.authenticator().authenticate(
            request,
            form,
            GRANT_TYPE_TOKEN_EXCHANGE,
            now,
            &mut checks,
        )?;
        if SubjectTokenType::from_urn(subject_type) != Some(SubjectTokenType::Saml2) {
            return Err(RejectReason::UnsupportedTokenType {
                parameter: "subject_token_type",
                value: sanitize(subject_type),
            }
            .into());
        }
        let subject = self.verify_subject(subject_type, subject_token, &client, now)?;
        if self.refresh_tokens.is_none() {
            return Err(RejectReason::Issuance("no refresh-token issuer".into()).into());
        }
        let grant = RefreshTokenGrant {
            client_id: client.client_id,
            subject,
            scope: requested_scope.clone(),
        };
        Ok(PendingExchange {
            checks,
            issuance: Issuance::RefreshToken {
                grant,
                requested_scope,
            },
            now,
            refusal_nonce: None,
        })
    }

    /// Checks the subject token and that it was issued to `client` (ID-JAG draft section 4.3.3).
    fn verify_subject(
        &self,
        subject_type: &str,
        token: &str,
        client: &AuthenticatedClient,
        now: SystemTime,
    ) -> Result<VerifiedSubject, Box<Rejection>> {
        let unsupported = || RejectReason::UnsupportedTokenType {
            parameter: "subject_token_type",
            value: sanitize(subject_type),
        };
        let token_type = SubjectTokenType::from_urn(subject_type).ok_or_else(unsupported)?;
        if token_type == SubjectTokenType::IdToken {
            let rules = IdTokenRules {
                issuer: &self.config.issuer,
                keys: self.own_keys.as_ref(),
                algorithms: &self.config.id_token_algorithms,
                times: &self.config.id_token_times,
            };
            return verify_id_token(token, &rules, &client.client_id, now)
                .map_err(|fault| RejectReason::SubjectToken(fault).into());
        }
        let verifier = self.subject_verifier.as_ref().ok_or_else(unsupported)?;
        let subject = verifier.verify(token_type, token, now).map_err(|refusal| {
            RejectReason::SubjectTokenRefused {
                token_type,
                reason: sanitize(&refusal.0),
            }
        })?;
        if subject.client_id != client.client_id {
            return Err(RejectReason::SubjectToken(TokenFault::ClaimMismatch {
                claim: "client_id",
                found: sanitize(&subject.client_id),
            })
            .into());
        }
        Ok(subject)
    }

    /// Signs the ID-JAG (ID-JAG draft section 3.1): header `typ` `oauth-id-jag+jwt`, the
    /// granted values, and `cnf.jkt` when it is bound to a DPoP key (section 9.8.1.1).
    fn mint(
        &self,
        subject: &VerifiedSubject,
        decision: &ExchangeDecision,
        jkt: Option<String>,
        now: SystemTime,
    ) -> Result<MintedIdJag, Box<Rejection>> {
        let iat = unix_seconds(now);
        let lifetime = self.config.id_jag_lifetime.as_secs();
        let mut claims = Map::new();
        for name in CARRIED_CLAIMS {
            if let Some(value) = subject.claims.get(name) {
                claims.insert(name.into(), value.clone());
            }
        }
        if let Some(tenant) = &self.config.tenant {
            claims.insert("tenant".into(), Value::from(tenant.as_str()));
        }
        claims.insert("iss".into(), Value::from(self.config.issuer.as_str()));
        claims.insert("sub".into(), Value::from(subject.subject.as_str()));
        claims.insert("aud".into(), Value::from(decision.audience.as_str()));
        claims.insert("client_id".into(), Value::from(decision.client_id.as_str()));
        claims.insert("jti".into(), Value::from(self.jti.next_jti()));
        claims.insert("iat".into(), Value::from(iat));
        claims.insert("exp".into(), Value::from(iat.saturating_add(lifetime)));
        if let Some(resource) = &decision.resource {
            claims.insert("resource".into(), Value::from(resource.as_str()));
        }
        if !decision.scope.is_empty() {
            claims.insert("scope".into(), Value::from(decision.scope.to_string()));
        }
        if let Some(jkt) = jkt {
            let mut cnf = Map::new();
            cnf.insert("jkt".into(), Value::from(jkt));
            claims.insert("cnf".into(), Value::Object(cnf));
        }
        let token = sign_jwt(self.signer.as_ref(), ID_JAG_TYP, &claims)
            .map_err(|error| RejectReason::Issuance(sanitize(&error.0)))?;
        Ok(MintedIdJag {
            id_jag: IdJag::new(token),
            claims,
            expires_in: lifetime,
            response_scope: None,
            #[cfg(feature = "dpop")]
            dpop_nonce: None,
        })
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

/// The response for an outcome or a rejection.
fn respond(outcome: Result<ExchangeOutcome, Box<Rejection>>) -> Response<Vec<u8>> {
    match outcome {
        Ok(outcome) => outcome.to_response(),
        Err(rejection) => rejection.to_response(),
    }
}

/// The granted scope, when it is not the requested one (RFC 8693 section 2.2.1: `scope` is
/// required then).
fn scope_if_changed(granted: &Scope, requested: &Scope) -> Option<Scope> {
    (granted.canonical() != requested.canonical()).then(|| granted.clone())
}

impl std::fmt::Debug for IdentityProviderEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProviderEndpoint")
            .field("config", &self.config)
            .field("clients", &self.clients)
            .field("signer_kid", &self.signer.kid())
            .finish_non_exhaustive()
    }
}
