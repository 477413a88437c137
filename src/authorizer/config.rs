//! What an [`Authorizer`](super::Authorizer) is configured with, and who it acts for.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::cache::{Principal, TokenCache};
use crate::dpop_hook::Binding;
use crate::grant::SubjectToken;
use crate::{Assertion, AuthorizationServer, Error, IdentityProvider, Policy, RefreshToken, Scope};

/// Supplies a user's subject token, and a fresh one when the current one has expired
/// (an ID token whose `exp` passed, or one the IdP refused: decisions.md D17).
///
/// Called with the authorizer's lock released but on the caller's thread or task: return what
/// you already hold, do not block on I/O.
pub trait SubjectTokenSource: Send + Sync {
    /// The current subject token; `None` when the user has none (they must sign in).
    fn subject_token(&self, now: SystemTime) -> Option<SubjectToken>;

    /// The current token is expired or was refused: a fresh one, if one can be had without
    /// the user (a background SSO refresh the application did). `None` means the user must
    /// sign in again, which the authorizer reports as
    /// [`Error::ReauthenticationRequired`].
    fn refresh(&self, now: SystemTime) -> Option<SubjectToken> {
        let _ = now;
        None
    }

    /// The IdP issued a new refresh token (a SAML assertion exchanged for one, decisions.md
    /// D15): store it as the next subject token.
    fn refresh_token_rotated(&self, token: RefreshToken) {
        let _ = token;
    }

    /// The current token is stale or was refused, and [`refresh`](Self::refresh) had none: a
    /// session the flow renews at the IdP with its refresh token before the exchange, using
    /// the renewed ID token as the subject token (OpenID Connect Core 1.0 section 12). The
    /// renewal reaches the session through its sink as soon as the IdP answered, whatever the
    /// rest of the flow does. `None` (the default): the user must sign in again.
    /// [`SignInSession`](crate::signin::SignInSession) implements it.
    #[cfg(feature = "signin")]
    fn renewal(&self, now: SystemTime) -> Option<crate::signin::SessionRenewal> {
        let _ = now;
        None
    }
}

impl SubjectTokenSource for SubjectToken {
    fn subject_token(&self, _now: SystemTime) -> Option<SubjectToken> {
        Some(self.clone())
    }
}

/// Supplies the assertion when the authorizer runs only the jwt-bearer leg (a workload
/// identity token, for example). Same rules as [`SubjectTokenSource`].
pub trait AssertionSource: Send + Sync {
    /// The current assertion; `None` when there is none.
    fn assertion(&self, now: SystemTime) -> Option<Assertion>;
}

impl AssertionSource for Assertion {
    fn assertion(&self, _now: SystemTime) -> Option<Assertion> {
        Some(self.clone())
    }
}

/// Who a request is made for: the cache principal (decisions.md D19) and where their subject
/// token comes from.
#[derive(Clone)]
pub struct User {
    pub(crate) principal: Principal,
    pub(crate) subject: Arc<dyn SubjectTokenSource>,
}

impl User {
    /// A user known by a caller-chosen principal.
    pub fn new(principal: Principal, subject: Arc<dyn SubjectTokenSource>) -> Self {
        Self { principal, subject }
    }

    /// A user whose principal is the IdP issuer and `sub` of their ID token, peeked without
    /// verification. Fails for other subject kinds: give a principal with [`User::new`].
    pub fn from_id_token(subject: SubjectToken) -> Result<Self, Error> {
        let (issuer, sub) = subject.principal().ok_or_else(|| {
            Error::Config(
                "a principal needs an ID token with `iss` and `sub`; use User::new for other subjects"
                    .into(),
            )
        })?;
        Ok(Self::new(
            Principal::subject(issuer, sub),
            Arc::new(subject),
        ))
    }

    /// The principal tokens are cached under.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// Where the authorizer's assertions come from.
#[derive(Clone)]
#[non_exhaustive]
pub enum AuthorizerGrant {
    /// The enterprise flow: each [`User`]'s subject token is exchanged at this IdP.
    Enterprise(IdentityProvider),
    /// Only the jwt-bearer leg, with assertions from this source; a rejection is final.
    Assertion(Arc<dyn AssertionSource>),
}

impl fmt::Debug for AuthorizerGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Enterprise(idp) => f.debug_tuple("Enterprise").field(idp).finish(),
            Self::Assertion(_) => f.write_str("Assertion(..)"),
        }
    }
}

/// The configuration of an [`Authorizer`](super::Authorizer): one MCP server, one grant
/// source, one authorization-server registration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizerConfig {
    /// The MCP server URL.
    pub server_url: String,
    /// Where assertions come from.
    pub grant: AuthorizerGrant,
    /// The MCP authorization server.
    pub authorization_server: AuthorizationServer,
    /// The scope to request; `None` selects it per decisions.md D8.
    pub scope: Option<Scope>,
    /// Limits and switches of every flow.
    pub policy: Policy,
    /// How long before expiry a token is replaced.
    pub refresh_lead: Duration,
    /// Most 403 `insufficient_scope` step-ups in a row (decisions.md D18).
    pub max_step_ups: u32,
    /// Re-submit an unexpired ID-JAG before a fresh exchange (decisions.md D13, opt-in).
    pub resubmit_id_jag: bool,
    /// The bound on what the authorizer keeps (decisions.md D26): at most this many cached
    /// tokens, and at most this many principals without one. 1024 by default
    /// ([`TokenCache::DEFAULT_MAX_ENTRIES`]); at least 1.
    pub max_entries: usize,
    /// The DPoP key tokens are bound to (RFC 9449); `None` for bearer tokens.
    pub(crate) dpop: Option<Binding>,
}

impl AuthorizerConfig {
    /// The enterprise flow for `server_url`.
    pub fn new(
        server_url: impl Into<String>,
        idp: IdentityProvider,
        authorization_server: AuthorizationServer,
    ) -> Self {
        Self::with_grant(
            server_url,
            AuthorizerGrant::Enterprise(idp),
            authorization_server,
        )
    }

    /// Only the jwt-bearer leg, with caller-supplied assertions.
    pub fn with_assertions(
        server_url: impl Into<String>,
        assertions: Arc<dyn AssertionSource>,
        authorization_server: AuthorizationServer,
    ) -> Self {
        Self::with_grant(
            server_url,
            AuthorizerGrant::Assertion(assertions),
            authorization_server,
        )
    }

    fn with_grant(
        server_url: impl Into<String>,
        grant: AuthorizerGrant,
        authorization_server: AuthorizationServer,
    ) -> Self {
        Self {
            server_url: server_url.into(),
            grant,
            authorization_server,
            scope: None,
            policy: Policy::default(),
            refresh_lead: Duration::from_secs(60),
            max_step_ups: 2,
            resubmit_id_jag: false,
            max_entries: TokenCache::DEFAULT_MAX_ENTRIES,
            dpop: None,
        }
    }

    /// Sets the policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the scope.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Sets the refresh lead time.
    pub fn refresh_lead(mut self, lead: Duration) -> Self {
        self.refresh_lead = lead;
        self
    }

    /// Turns on decisions.md D13's ID-JAG re-submission.
    pub fn resubmit_id_jag(mut self, on: bool) -> Self {
        self.resubmit_id_jag = on;
        self
    }

    /// Sets the bound on cached tokens and on principals without one (decisions.md D26).
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// Binds the tokens to a DPoP key under the binding's policy (RFC 9449; ID-JAG draft
    /// section 9.8): every flow sends proofs, and every request with a bound token carries
    /// `Authorization: DPoP` and a fresh proof ([`Authorizer::request_authorization`]).
    ///
    /// [`Authorizer::request_authorization`]: super::Authorizer::request_authorization
    #[cfg(feature = "dpop")]
    pub fn dpop(mut self, binding: crate::dpop::DpopBinding) -> Self {
        self.dpop = Some(binding);
        self
    }

    /// The DPoP binding, when one was set.
    #[cfg(feature = "dpop")]
    pub fn dpop_binding(&self) -> Option<&crate::dpop::DpopBinding> {
        self.dpop.as_ref()
    }
}
