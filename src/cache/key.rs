//! Who a token acts for and what it is cached under (decisions.md D19).

use serde::{Deserialize, Deserializer, Serialize};

use crate::Scope;

/// Who a cached token acts for (decisions.md D19): two principals never share a token, so a
/// gateway serving many users never hands one user's token to another.
///
/// Serialized externally tagged: `{"subject":{"issuer":..,"subject":..}}` or `{"key":..}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Principal {
    /// A user of the enterprise IdP: its issuer and the subject's `sub` (as peeked from the ID
    /// token). The issuer is part of the identity: `sub` is unique only per issuer.
    Subject {
        /// The IdP's issuer identifier.
        issuer: String,
        /// The subject's `sub` at that IdP.
        subject: String,
    },
    /// A key the caller chose (a session id, a workload name, ...).
    Key(String),
}

impl Principal {
    /// The user `subject` (`sub`) of the IdP `issuer`.
    pub fn subject(issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        Self::Subject {
            issuer: issuer.into(),
            subject: subject.into(),
        }
    }

    /// A caller-chosen key.
    pub fn key(key: impl Into<String>) -> Self {
        Self::Key(key.into())
    }
}

/// What an access token is cached under (decisions.md D19): the authorization server that
/// issued it, the resource it is for, the client id at that server, the scope and the
/// principal.
///
/// The scope is kept in canonical (sorted) order, so `"b a"` and `"a b"` make the same key. No
/// field is a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CacheKey {
    authorization_server: String,
    resource: String,
    client_id: String,
    #[serde(deserialize_with = "canonical_scope")]
    scope: Scope,
    principal: Principal,
}

impl CacheKey {
    /// The key of the token `authorization_server` (its issuer identifier) issues to
    /// `client_id` for `resource`, with `scope`, on behalf of `principal`.
    pub fn new(
        authorization_server: impl Into<String>,
        resource: impl Into<String>,
        client_id: impl Into<String>,
        scope: &Scope,
        principal: Principal,
    ) -> Self {
        Self {
            authorization_server: authorization_server.into(),
            resource: resource.into(),
            client_id: client_id.into(),
            scope: scope.canonical(),
            principal,
        }
    }

    /// The authorization server's issuer identifier.
    pub fn authorization_server(&self) -> &str {
        &self.authorization_server
    }

    /// The resource identifier (RFC 9728) of the MCP server.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The client id at the authorization server.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The requested scope, in canonical order.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Who the token acts for.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

/// Re-canonicalizes a deserialized scope, so a hand-edited store cannot split one key in two.
fn canonical_scope<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Scope, D::Error> {
    Scope::deserialize(deserializer).map(|scope| scope.canonical())
}
