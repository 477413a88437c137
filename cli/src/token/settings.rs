//! The settings of `xaa token`: the config file merged under the flags, and the enterprise
//! configuration built from them (secrets read from their files or variables).

use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientAuth, ClientCredentials, ClientSecret, EnterpriseConfig, IdToken,
    IdentityProvider, Policy, RefreshToken, SamlAssertion, Scope,
};

use super::binding::digest;
use crate::args::{AuthMethod, SubjectKind, TokenArgs};
use crate::client_key::private_key_jwt;
use crate::exit::Failure;
use crate::local_file::{MAX_INPUT_BYTES, Privacy, read_bounded};
use crate::secrets::SecretSource;
use crate::terminal::shown;

/// What a run of `xaa token` works with.
pub(crate) struct Resolved {
    /// The MCP server URL.
    pub(crate) server: String,
    /// The flow's configuration.
    pub(crate) config: EnterpriseConfig,
    /// A digest of the subject token, which identifies the user without revealing the token.
    pub(crate) subject_digest: String,
}

/// The flags and variables, with the settings of `--config` filling what they leave unset.
/// The file must not be writable by other users: it says where secrets are sent.
pub(crate) fn with_config_file(args: TokenArgs) -> Result<TokenArgs, Failure> {
    let Some(path) = args.config.clone() else {
        return Ok(args);
    };
    let name = shown(&path.to_string_lossy()).into_owned();
    let bytes = read_bounded(&path, "config", MAX_INPUT_BYTES, Privacy::Settings)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::Usage(format!("config {name}: the file is not UTF-8 text")))?;
    let file: TokenArgs = toml::from_str(&text)
        .map_err(|e| Failure::Usage(format!("config {name}: {}", shown(e.message()))))?;
    Ok(args.fill_from(file))
}

/// Checks the settings and reads the secrets they point to.
/// `signed_in` is the ID token of the session `xaa login` kept, the subject token when no
/// other is given.
pub(crate) fn resolve(args: &TokenArgs, signed_in: Option<IdToken>) -> Result<Resolved, Failure> {
    let server = args
        .server
        .clone()
        .ok_or_else(|| Failure::Usage("missing --server (or XAA_SERVER)".into()))?;
    let (config, subject_digest) = enterprise_config(args, signed_in)?;
    Ok(Resolved {
        server,
        config,
        subject_digest,
    })
}

/// Whether the settings name a subject token of their own.
pub(crate) fn names_a_subject_token(args: &TokenArgs) -> bool {
    args.subject_token_file.is_some()
        || args.subject_token_env.is_some()
        || args.subject_token_stdin
}

fn enterprise_config(
    args: &TokenArgs,
    signed_in: Option<IdToken>,
) -> Result<(EnterpriseConfig, String), Failure> {
    let idp_credentials = credentials(
        "IdP",
        args.idp_client_id.as_deref(),
        args.idp_auth,
        SecretSource::pick(
            "IdP secret",
            args.idp_secret_file.clone(),
            args.idp_secret_env.clone(),
            false,
        )?,
        args.idp_key_file.as_deref(),
        args.idp_key_id.as_deref(),
        args,
    )?;
    let as_credentials = credentials(
        "authorization server",
        args.as_client_id.as_deref(),
        args.as_auth,
        SecretSource::pick(
            "authorization server secret",
            args.as_secret_file.clone(),
            args.as_secret_env.clone(),
            false,
        )?,
        args.as_key_file.as_deref(),
        args.as_key_id.as_deref(),
        args,
    )?;
    let idp = match (&args.idp_issuer, &args.idp_token_endpoint) {
        (Some(issuer), None) => IdentityProvider::issuer(issuer, idp_credentials),
        (None, Some(endpoint)) => IdentityProvider::token_endpoint(endpoint, idp_credentials),
        _ => {
            return Err(Failure::Usage(
                "give the IdP as --idp-issuer or --idp-token-endpoint".into(),
            ));
        }
    };
    let source = SecretSource::pick(
        "subject token",
        args.subject_token_file.clone(),
        args.subject_token_env.clone(),
        args.subject_token_stdin,
    )?;
    let (subject_digest, subject) = match (source, signed_in) {
        (Some(source), _) => {
            let value = source.read("subject token")?;
            let subject_digest = digest(value.as_bytes());
            let subject = match args.subject_token_type.unwrap_or(SubjectKind::IdToken) {
                SubjectKind::IdToken => SubjectToken::IdToken(IdToken::new(value)),
                SubjectKind::Saml2 => SubjectToken::Saml2(SamlAssertion::new(value)),
                SubjectKind::RefreshToken => SubjectToken::RefreshToken(RefreshToken::new(value)),
            };
            (subject_digest, subject)
        }
        (None, Some(id_token)) => (
            digest(id_token.expose_secret().as_bytes()),
            SubjectToken::IdToken(id_token),
        ),
        (None, None) => {
            return Err(Failure::Usage(
                "missing the subject token: --subject-token-file, --subject-token-env or \
                 --subject-token-stdin, or a session of xaa login in --token-store"
                    .into(),
            ));
        }
    };
    let authorization_server = match &args.authorization_server {
        Some(issuer) => AuthorizationServer::pinned(issuer, as_credentials),
        None => AuthorizationServer::discovered(as_credentials),
    };
    let mut policy = Policy::default();
    policy.allow_http_loopback = args.insecure_loopback.unwrap_or(false);
    policy.allow_private_addresses = args.allow_private_addresses.unwrap_or(false);
    let mut config = EnterpriseConfig::new(idp, subject, authorization_server).policy(policy);
    if let Some(scope) = args
        .scope
        .as_deref()
        .map(Scope::parse)
        .filter(|s| !s.is_empty())
    {
        config = config.scope(scope);
    }
    Ok((config, subject_digest))
}

fn credentials(
    side: &str,
    client_id: Option<&str>,
    method: Option<AuthMethod>,
    secret: Option<SecretSource>,
    key_file: Option<&str>,
    key_id: Option<&str>,
    args: &TokenArgs,
) -> Result<ClientCredentials, Failure> {
    let client_id =
        client_id.ok_or_else(|| Failure::Usage(format!("missing the client id at the {side}")))?;
    let method = method.unwrap_or(match (&secret, key_file) {
        (_, Some(_)) => AuthMethod::PrivateKeyJwt,
        (Some(_), None) => AuthMethod::ClientSecretBasic,
        (None, None) => AuthMethod::None,
    });
    let secret = |what: &str| -> Result<ClientSecret, Failure> {
        let source = secret.clone().ok_or_else(|| {
            Failure::Usage(format!("{side}: {what} needs a secret file or variable"))
        })?;
        Ok(ClientSecret::new(
            source.read(&format!("{side} client secret"))?,
        ))
    };
    let auth = match method {
        AuthMethod::None => ClientAuth::None,
        AuthMethod::ClientSecretBasic => {
            ClientAuth::ClientSecretBasic(secret("client_secret_basic")?)
        }
        AuthMethod::ClientSecretPost => ClientAuth::ClientSecretPost(secret("client_secret_post")?),
        AuthMethod::PrivateKeyJwt => {
            let path = key_file.ok_or_else(|| {
                Failure::Usage(format!("{side}: private_key_jwt needs a key file"))
            })?;
            private_key_jwt(side, client_id, path, key_id, args.key_alg.as_deref())?
        }
    };
    Ok(ClientCredentials::new(client_id, auth))
}
