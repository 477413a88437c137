//! The IdP's policy for a token exchange (ID-JAG draft section 4.3.3, EMA section 7.6.1): which `(audience,
//! resource)` pairs a client may get an ID-JAG for, what the client is called at that
//! audience, and how far the scope is narrowed.

use std::collections::HashMap;

use super::subject::VerifiedSubject;
use crate::Scope;

/// What is being asked for, after the client and the subject token passed their checks.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ExchangeRequest<'a> {
    /// The authenticated client's id at the IdP.
    pub client_id: &'a str,
    /// The verified user.
    pub subject: &'a VerifiedSubject,
    /// The requested `audience`: the MCP authorization server's issuer (or an alias).
    pub audience: &'a str,
    /// The requested `resource`, if sent.
    pub resource: Option<&'a str>,
    /// The requested scope (empty when none was sent).
    pub scope: &'a Scope,
}

/// What the policy grants. The ID-JAG reflects exactly these values (ID-JAG draft section 4.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExchangeDecision {
    /// The `aud` of the ID-JAG: the MCP authorization server's issuer identifier.
    pub audience: String,
    /// The client's id **at the MCP authorization server**, the ID-JAG's `client_id`
    /// (ID-JAG draft section 3.1; it may differ from the id at the IdP).
    pub client_id: String,
    /// The granted resource, the ID-JAG's `resource`.
    pub resource: Option<String>,
    /// The granted scope, the ID-JAG's `scope`.
    pub scope: Scope,
}

/// Why the policy refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyRefusal {
    /// The pair is not approved for this client: `invalid_target` (RFC 8693 section 2.2.2).
    TargetNotAllowed,
    /// None of the requested scope may be granted: `invalid_scope`.
    ScopeNotAllowed,
    /// Denied outright: `access_denied`.
    AccessDenied,
}

/// Decides what an exchange grants.
pub trait ExchangePolicy: Send + Sync {
    /// Grants, narrows, or refuses.
    fn decide(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeDecision, PolicyRefusal>;
}

/// One MCP server the enterprise approved: an authorization server (`audience`), the resource
/// it protects, the clients that may reach it and the scope they may get.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApprovedTarget {
    /// The MCP authorization server's issuer identifier.
    pub audience: String,
    /// The MCP server's resource identifier (RFC 9728).
    pub resource: String,
    /// Client id at the IdP to client id at the authorization server.
    pub clients: HashMap<String, String>,
    /// The scope that may be granted; `None` for whatever is asked.
    pub allowed_scopes: Option<Scope>,
    /// The scope granted when the request names none (RFC 6749 section 3.3).
    pub default_scope: Scope,
}

impl ApprovedTarget {
    /// A target with no client yet, any scope allowed, no default scope.
    pub fn new(audience: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            audience: audience.into(),
            resource: resource.into(),
            clients: HashMap::new(),
            allowed_scopes: None,
            default_scope: Scope::default(),
        }
    }

    /// Lets the client `idp_client_id` reach this target, where it is known as
    /// `client_id_at_audience`.
    pub fn for_client(
        mut self,
        idp_client_id: impl Into<String>,
        client_id_at_audience: impl Into<String>,
    ) -> Self {
        self.clients
            .insert(idp_client_id.into(), client_id_at_audience.into());
        self
    }

    /// Limits the scope that may be granted.
    pub fn with_allowed_scopes(mut self, scope: Scope) -> Self {
        self.allowed_scopes = Some(scope);
        self
    }

    /// Sets the scope granted when none is asked for.
    pub fn with_default_scope(mut self, scope: Scope) -> Self {
        self.default_scope = scope;
        self
    }

    fn narrow(&self, scope: &Scope) -> Scope {
        match &self.allowed_scopes {
            Some(allowed) => scope.intersection(allowed),
            None => scope.clone(),
        }
    }
}

/// An [`ExchangePolicy`] from a fixed list of [`ApprovedTarget`]s.
///
/// A request matches a target by exact `audience`, by exact `resource` (or, when the request
/// has none, the first target of that audience), and by the client being listed. Scope is the
/// request's narrowed to the allowed set, or the default when none was asked; asking only for
/// disallowed values is `invalid_scope`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticExchangePolicy {
    targets: Vec<ApprovedTarget>,
}

impl StaticExchangePolicy {
    /// A policy that approves nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Approves a target, builder style.
    pub fn with(mut self, target: ApprovedTarget) -> Self {
        self.targets.push(target);
        self
    }
}

impl ExchangePolicy for StaticExchangePolicy {
    fn decide(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeDecision, PolicyRefusal> {
        let (target, client_id) = self
            .targets
            .iter()
            .filter(|target| target.audience == request.audience)
            .filter(|target| {
                request
                    .resource
                    .is_none_or(|resource| resource == target.resource)
            })
            .find_map(|target| Some((target, target.clients.get(request.client_id)?)))
            .ok_or(PolicyRefusal::TargetNotAllowed)?;
        let scope = if request.scope.is_empty() {
            target.narrow(&target.default_scope)
        } else {
            let granted = target.narrow(request.scope);
            if granted.is_empty() {
                return Err(PolicyRefusal::ScopeNotAllowed);
            }
            granted
        };
        Ok(ExchangeDecision {
            audience: target.audience.clone(),
            client_id: client_id.clone(),
            resource: Some(target.resource.clone()),
            scope,
        })
    }
}
