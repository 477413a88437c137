//! The IdP a person signs in at, reached through the guarded client: its metadata discovered
//! and checked (RFC 8414 section 3, OpenID Connect Discovery 1.0 section 4), the client's
//! registration, the key set of its ID tokens, and the runs of the sign-in flows within the
//! command's deadline. `login`, `token` (renewal) and `logout` (revocation) share it.

use xaa::discovery::AuthServerDiscovery;
use xaa::signin::{DeviceAuthorization, DeviceOutcome, DeviceSignIn, IdpKeys, SignInClient};
use xaa::{ClientAuth, ClientCredentials, ClientSecret, Flow, Policy, Purpose};

use crate::args::AuthMethod;
use crate::client_key::private_key_jwt;
use crate::exit::{Failure, classify};
use crate::network::Network;
use crate::secrets::SecretSource;
use crate::store::ClientSettings;
use crate::terminal::shown;

/// The IdP, discovered, with the client registered there.
pub(crate) struct Idp {
    /// The metadata and the registration, checked.
    pub(crate) client: SignInClient,
    /// The keys of its ID tokens, fetched from `jwks_uri` when first needed.
    pub(crate) keys: IdpKeys,
    http: xaa_ureq::Client,
    network: Network,
}

/// The policy of every request to the IdP: https, plain http on loopback only when allowed.
pub(crate) fn policy(insecure_loopback: bool, allow_private_addresses: bool) -> Policy {
    let mut policy = Policy::default();
    policy.allow_http_loopback = insecure_loopback;
    policy.allow_private_addresses = allow_private_addresses;
    policy
}

impl Idp {
    /// Discovers `issuer` and checks the client's registration `credentials` against it.
    pub(crate) fn discover(
        network: &Network,
        policy: &Policy,
        issuer: &str,
        credentials: ClientCredentials,
    ) -> Result<Self, Failure> {
        let http = network.client(policy, None)?;
        let discovery = AuthServerDiscovery::new(issuer, Purpose::IdpMetadata, policy)
            .map_err(|e| classify(&e))?;
        let discovered = http
            .run_until(discovery, network.deadline())
            .map_err(|e| flow_failure(&e))?;
        let client = SignInClient::new((*discovered.metadata).clone(), credentials, policy)
            .map_err(|e| classify(&e))?;
        Ok(Self {
            client,
            keys: IdpKeys::new(),
            http,
            network: network.clone(),
        })
    }

    /// Runs `flow` to its end within the command's deadline.
    pub(crate) fn run<F: Flow>(&self, flow: F) -> Result<F::Output, xaa_ureq::Error> {
        self.http.run_until(flow, self.network.deadline())
    }

    /// Runs the device grant `flow` until its outcome, polling as it says, giving up before
    /// the command's deadline; `tell` shows the user code once.
    pub(crate) fn sign_in_on_device(
        &self,
        flow: DeviceSignIn,
        tell: impl FnMut(&DeviceAuthorization),
    ) -> Result<DeviceOutcome, Failure> {
        let left = self
            .network
            .deadline()
            .saturating_duration_since(std::time::Instant::now());
        let deadline = std::time::SystemTime::now() + left;
        self.http
            .sign_in_on_device(flow, deadline, tell)
            .map_err(|e| match e {
                xaa_ureq::Error::DeadlineExceeded { .. } => Failure::Protocol(
                    "the deadline passed before the device sign-in was approved (--deadline)"
                        .into(),
                ),
                other => flow_failure(&other),
            })
    }

    /// When the command must have ended.
    pub(crate) fn deadline(&self) -> std::time::Instant {
        self.network.deadline()
    }
}

/// A failed run: the flow's own error classified, anything else a network failure.
pub(crate) fn flow_failure(error: &xaa_ureq::Error) -> Failure {
    match error {
        xaa_ureq::Error::Flow(error) => classify(error),
        other => Failure::Protocol(shown(&other.to_string()).into_owned()),
    }
}

/// The client's registration at the IdP from the login settings: `private_key_jwt` with a key
/// file, `client_secret_basic` with a secret file (or the method named), a public client
/// without either.
pub(crate) fn credentials(
    client_id: &str,
    settings: &ClientSettings,
) -> Result<ClientCredentials, Failure> {
    let method = settings
        .auth
        .unwrap_or(match (&settings.key_file, &settings.secret_file) {
            (Some(_), _) => AuthMethod::PrivateKeyJwt,
            (None, Some(_)) => AuthMethod::ClientSecretBasic,
            (None, None) => AuthMethod::None,
        });
    let secret = || -> Result<ClientSecret, Failure> {
        let path = settings.secret_file.as_deref().ok_or_else(|| {
            Failure::Usage(format!(
                "the IdP client authentication {} needs --client-secret-file",
                method.name()
            ))
        })?;
        Ok(ClientSecret::new(
            SecretSource::File(path.to_owned()).read("IdP client secret")?,
        ))
    };
    let auth = match method {
        AuthMethod::None => ClientAuth::None,
        AuthMethod::ClientSecretBasic => ClientAuth::ClientSecretBasic(secret()?),
        AuthMethod::ClientSecretPost => ClientAuth::ClientSecretPost(secret()?),
        AuthMethod::PrivateKeyJwt => {
            let path = settings.key_file.as_deref().ok_or_else(|| {
                Failure::Usage(
                    "the IdP client authentication private_key_jwt needs --client-key-file".into(),
                )
            })?;
            private_key_jwt(
                "IdP",
                client_id,
                path,
                settings.key_id.as_deref(),
                settings.key_alg.as_deref(),
            )?
        }
    };
    Ok(ClientCredentials::new(client_id, auth))
}
