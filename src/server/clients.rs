//! The clients registered at a server (RFC 7591 section 2: one `token_endpoint_auth_method`
//! each) and what they authenticate with.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::ClientSecret;
use crate::jose::{AlgorithmAllowList, KeySet};

/// A client authentication method (RFC 7591 section 2, `token_endpoint_auth_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// A public client: `client_id` only.
    None,
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 section 2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the body (RFC 6749 section 2.3.1).
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523 section 2.2).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// The method's registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// What a registered client authenticates with.
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientCredential {
    /// Nothing: a public client.
    None,
    /// A secret sent with HTTP Basic.
    ClientSecretBasic(ClientSecret),
    /// A secret sent in the body.
    ClientSecretPost(ClientSecret),
    /// Public keys that verify the client's assertions, and the algorithms it may use.
    PrivateKeyJwt {
        /// The client's keys (its JWKS), selected by `kid`.
        keys: Arc<dyn KeySet>,
        /// The algorithms accepted from this client.
        algorithms: AlgorithmAllowList,
    },
}

impl ClientCredential {
    /// The method this credential is used with.
    pub fn method(&self) -> ClientAuthMethod {
        match self {
            Self::None => ClientAuthMethod::None,
            Self::ClientSecretBasic(_) => ClientAuthMethod::ClientSecretBasic,
            Self::ClientSecretPost(_) => ClientAuthMethod::ClientSecretPost,
            Self::PrivateKeyJwt { .. } => ClientAuthMethod::PrivateKeyJwt,
        }
    }
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PrivateKeyJwt { algorithms, .. } => f
                .debug_struct("PrivateKeyJwt")
                .field("algorithms", algorithms)
                .finish_non_exhaustive(),
            // Secrets print as `[redacted]` through their own Debug.
            Self::None => f.write_str("None"),
            Self::ClientSecretBasic(secret) => {
                f.debug_tuple("ClientSecretBasic").field(secret).finish()
            }
            Self::ClientSecretPost(secret) => {
                f.debug_tuple("ClientSecretPost").field(secret).finish()
            }
        }
    }
}

/// A client registered at a server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegisteredClient {
    /// The client's id at this server.
    pub client_id: String,
    /// How it authenticates.
    pub credential: ClientCredential,
    /// The grant types it may use; `None` for any this server serves (RFC 7591 `grant_types`).
    pub grant_types: Option<Vec<String>>,
}

impl RegisteredClient {
    /// A client with the given credential, allowed every grant type.
    pub fn new(client_id: impl Into<String>, credential: ClientCredential) -> Self {
        Self {
            client_id: client_id.into(),
            credential,
            grant_types: None,
        }
    }

    /// A public client.
    pub fn public(client_id: impl Into<String>) -> Self {
        Self::new(client_id, ClientCredential::None)
    }

    /// A `client_secret_basic` client.
    pub fn client_secret_basic(client_id: impl Into<String>, secret: ClientSecret) -> Self {
        Self::new(client_id, ClientCredential::ClientSecretBasic(secret))
    }

    /// A `client_secret_post` client.
    pub fn client_secret_post(client_id: impl Into<String>, secret: ClientSecret) -> Self {
        Self::new(client_id, ClientCredential::ClientSecretPost(secret))
    }

    /// A `private_key_jwt` client whose assertions verify with `keys`, under the default
    /// asymmetric algorithms.
    pub fn private_key_jwt(client_id: impl Into<String>, keys: Arc<dyn KeySet>) -> Self {
        Self::new(
            client_id,
            ClientCredential::PrivateKeyJwt {
                keys,
                algorithms: AlgorithmAllowList::default(),
            },
        )
    }

    /// Restricts the client to these grant types; others get `unauthorized_client`.
    pub fn with_grant_types(mut self, grant_types: &[&str]) -> Self {
        self.grant_types = Some(
            grant_types
                .iter()
                .map(|grant| (*grant).to_owned())
                .collect(),
        );
        self
    }

    pub(crate) fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types
            .as_ref()
            .is_none_or(|grants| grants.iter().any(|grant| grant == grant_type))
    }
}

/// The clients registered at a server, by id.
#[derive(Clone, Debug, Default)]
pub struct ClientRegistry {
    clients: HashMap<String, RegisteredClient>,
}

impl ClientRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a client, builder style.
    pub fn with(mut self, client: RegisteredClient) -> Self {
        self.register(client);
        self
    }

    /// Adds or replaces a client.
    pub fn register(&mut self, client: RegisteredClient) {
        self.clients.insert(client.client_id.clone(), client);
    }

    /// The client with this id.
    pub fn get(&self, client_id: &str) -> Option<&RegisteredClient> {
        self.clients.get(client_id)
    }

    /// The methods in use, for `token_endpoint_auth_methods_supported`, in a stable order.
    pub fn methods(&self) -> Vec<&'static str> {
        let order = [
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
            ClientAuthMethod::PrivateKeyJwt,
            ClientAuthMethod::None,
        ];
        order
            .into_iter()
            .filter(|method| {
                self.clients
                    .values()
                    .any(|client| client.credential.method() == *method)
            })
            .map(ClientAuthMethod::as_str)
            .collect()
    }
}

/// A client that proved its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatedClient {
    /// The client's id at this server.
    pub client_id: String,
    /// How it authenticated.
    pub method: ClientAuthMethod,
}
