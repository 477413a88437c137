//! The client registrations and keys of the kit, fixed at start.

use xaa::ClientSecret;
use xaa::jose::SigningKey;

/// The client registrations and keys, fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    /// The IdP's signing key (ID tokens and ID-JAGs).
    pub(crate) idp_key: SigningKey,
    pub(crate) idp_client: ClientKeys,
    pub(crate) as_client: ClientKeys,
}

/// One client registration: its id, and both kinds of credential, so the method can change.
#[derive(Clone, Debug)]
pub(crate) struct ClientKeys {
    pub(crate) client_id: String,
    pub(crate) secret: ClientSecret,
    pub(crate) key: SigningKey,
}

impl ClientKeys {
    pub(crate) fn generate(client_id: &str, kid: &str) -> Result<Self, xaa::jose::KeyError> {
        Ok(Self {
            client_id: client_id.to_owned(),
            secret: ClientSecret::new(format!("{client_id}-secret-{}", xaa::jose::random_jti())),
            key: SigningKey::generate_es256(kid)?,
        })
    }
}
