//! The client registrations a kit holds: one at the IdP, one at the authorization server.

use std::sync::Arc;

use xaa::jose::{JwtAssertionSigner, SigningKey, random_jti};
use xaa::server::ClientAuthMethod;
use xaa::{ClientAuth, ClientCredentials, ClientSecret, PrivateKeyJwt};

use crate::identity::ClientKeys;

/// The client's id at the IdP.
pub const IDP_CLIENT_ID: &str = "xaa-testkit-idp-client";

/// The client's id at the MCP authorization server.
pub const AS_CLIENT_ID: &str = "xaa-testkit-mcp-client";

/// What the client proves its identity with.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credential {
    /// Nothing: a public client (`none`).
    None,
    /// A secret, for `client_secret_basic` and `client_secret_post`.
    Secret(ClientSecret),
    /// The private key the client signs `private_key_jwt` assertions with; the kit registered
    /// its public half.
    Key(Box<SigningKey>),
}

/// A client registration at one of the kit's servers, under the method currently in force.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientRegistration {
    /// The client's id at that server.
    pub client_id: String,
    /// How the server expects it to authenticate.
    pub method: ClientAuthMethod,
    /// What it authenticates with.
    pub credential: Credential,
}

impl ClientRegistration {
    pub(crate) fn new(keys: &ClientKeys, method: ClientAuthMethod) -> Self {
        let credential = match method {
            ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost => {
                Credential::Secret(keys.secret.clone())
            }
            ClientAuthMethod::PrivateKeyJwt => Credential::Key(Box::new(keys.key.clone())),
            _ => Credential::None,
        };
        Self {
            client_id: keys.client_id.clone(),
            method,
            credential,
        }
    }

    /// The secret, for the secret methods.
    pub fn secret(&self) -> Option<&ClientSecret> {
        match &self.credential {
            Credential::Secret(secret) => Some(secret),
            _ => None,
        }
    }

    /// The signing key, for `private_key_jwt`.
    pub fn key(&self) -> Option<&SigningKey> {
        match &self.credential {
            Credential::Key(key) => Some(key),
            _ => None,
        }
    }

    /// Ready-made client credentials: `private_key_jwt` signs with [`JwtAssertionSigner`] and
    /// takes each `jti` from [`random_jti`].
    pub fn credentials(&self) -> ClientCredentials {
        let id = self.client_id.as_str();
        match (&self.credential, self.method) {
            (Credential::Secret(secret), ClientAuthMethod::ClientSecretPost) => {
                ClientCredentials::post(id, secret.clone())
            }
            (Credential::Secret(secret), _) => ClientCredentials::basic(id, secret.clone()),
            (Credential::Key(key), _) => {
                let signer = Arc::new(JwtAssertionSigner::new(SigningKey::clone(key)));
                let jwt = PrivateKeyJwt::new(signer, Arc::new(random_jti));
                ClientCredentials::new(id, ClientAuth::PrivateKeyJwt(jwt))
            }
            (_, _) => ClientCredentials::public(id),
        }
    }
}
