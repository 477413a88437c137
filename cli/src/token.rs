//! `xaa token`: the real job against real servers.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use xaa::cache::{CacheKey, CachedToken, Lookup, Principal, TokenCache};
use xaa::grant::SubjectToken;
use xaa::jose::{JwtAssertionSigner, RandomJti, SigningKey};
use xaa::{
    AuthorizationServer, ClientAuth, ClientCredentials, ClientSecret, EnterpriseAuth,
    EnterpriseConfig, IdToken, IdentityProvider, Policy, PrivateKeyJwt, RefreshToken,
    SamlAssertion, Scope, Start,
};

use crate::args::{AuthMethod, SubjectKind, TokenArgs};
use crate::exit::{Failure, classify};
use crate::local_file::{MAX_INPUT_BYTES, Privacy, read_bounded};
use crate::secrets::{SecretSource, fingerprint};
use crate::store::FileStore;
use crate::timefmt::{human, rfc3339, unix};

/// Runs `xaa token` with fully resolved settings.
pub(crate) fn run(args: TokenArgs) -> Result<(), Failure> {
    let args = match args.config.clone() {
        Some(path) => {
            let bytes = read_bounded(&path, "config", MAX_INPUT_BYTES, Privacy::Settings)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Failure::Usage("config: the file is not UTF-8 text".into()))?;
            let file: TokenArgs = toml::from_str(&text).map_err(|e| {
                Failure::Usage(format!("config {}: {}", path.display(), e.message()))
            })?;
            args.fill_from(file)
        }
        None => args,
    };
    let server = required(&args.server, "--server (or XAA_SERVER)")?.to_owned();
    let config = enterprise_config(&args)?;
    let client = client(&args, &config.policy)?;
    let now = SystemTime::now();
    let principal = principal(&config);
    let store = args
        .token_store
        .as_deref()
        .map(FileStore::open)
        .transpose()?;
    let stored = store
        .as_ref()
        .map(FileStore::load)
        .transpose()?
        .unwrap_or_default();
    let cached_discovery = stored
        .discovery(&server, "")
        .filter(|d| d.is_fresh(now))
        .cloned();
    let scope_key = config.scope.clone().unwrap_or_default();
    if let Some(discovery) = &cached_discovery {
        let key = cache_key(discovery, &config, &scope_key, &principal);
        let mut cache = TokenCache::new();
        if let Some(token) = stored.token(&key, "") {
            cache.insert(key.clone(), token.clone());
        }
        if let Lookup::Fresh(token) = cache.lookup(&key, now) {
            eprintln!(
                "xaa: reusing a stored token ({}), valid for {}",
                fingerprint(token.access_token.expose_secret()),
                human(token.expires_at.duration_since(now).unwrap_or_default())
            );
            return print(
                &args,
                token,
                discovery.resource(),
                &discovery.authorization_server.issuer,
                now,
            );
        }
    }
    let start = match cached_discovery {
        Some(discovery) => {
            eprintln!("xaa: using stored discovery for {server}");
            Start::Cached(discovery)
        }
        None => {
            eprintln!("xaa: discovering {server}");
            Start::ServerUrl(server.clone())
        }
    };
    let flow = EnterpriseAuth::new(config.clone(), start).map_err(|e| classify(&e))?;
    let authorization = client.run(flow).map_err(|e| match e {
        xaa_ureq::Error::Flow(error) => classify(&error),
        other => Failure::Protocol(other.to_string()),
    })?;
    eprintln!(
        "xaa: token issued by {} for {} ({})",
        authorization.authorization_server,
        authorization.resource,
        fingerprint(authorization.access_token.expose_secret())
    );
    let mut cached = CachedToken::new(authorization.access_token.clone(), authorization.expires_at)
        .with_token_type(authorization.token_type.clone());
    if let Some(scope) = &authorization.scope {
        cached = cached.with_scope(scope.clone());
    }
    if let Some(store) = &store {
        let key = cache_key(&authorization.discovery, &config, &scope_key, &principal);
        let (token, discovery) = (cached.clone(), authorization.discovery.clone());
        store.update(|stored| {
            stored.put_token(key, String::new(), token);
            stored.put_discovery(server, String::new(), discovery);
        })?;
    }
    print(
        &args,
        &cached,
        &authorization.resource,
        &authorization.authorization_server,
        now,
    )
}

fn print(
    args: &TokenArgs,
    token: &CachedToken,
    resource: &str,
    authorization_server: &str,
    now: SystemTime,
) -> Result<(), Failure> {
    if args.json {
        let document = json!({
            "access_token": token.access_token.expose_secret(),
            "token_type": token.token_type,
            "expires_at": rfc3339(unix(token.expires_at)),
            "expires_in": token.expires_at.duration_since(now).unwrap_or_default().as_secs(),
            "scope": token.scope.as_ref().map(ToString::to_string),
            "resource": resource,
            "authorization_server": authorization_server,
        });
        println!("{document}");
    } else {
        println!("{}", token.access_token.expose_secret());
    }
    Ok(())
}

fn required<'a>(value: &'a Option<String>, what: &str) -> Result<&'a str, Failure> {
    value
        .as_deref()
        .ok_or_else(|| Failure::Usage(format!("missing {what}")))
}

fn cache_key(
    discovery: &xaa::Discovery,
    config: &EnterpriseConfig,
    scope: &Scope,
    principal: &Principal,
) -> CacheKey {
    CacheKey::new(
        discovery.authorization_server.issuer.clone(),
        discovery.resource(),
        config.authorization_server.credentials.client_id.clone(),
        scope,
        principal.clone(),
    )
}

/// decisions.md D19: the IdP issuer and `sub` of an ID token, else the IdP and client.
fn principal(config: &EnterpriseConfig) -> Principal {
    match &config.grant {
        xaa::GrantSource::Enterprise { idp, subject } => subject
            .principal()
            .map(|(iss, sub)| Principal::subject(iss, sub))
            .unwrap_or_else(|| {
                Principal::key(format!("{:?}/{}", idp.endpoint, idp.credentials.client_id))
            }),
        _ => Principal::key("assertion"),
    }
}

fn client(args: &TokenArgs, policy: &Policy) -> Result<xaa_ureq::Client, Failure> {
    let mut builder = xaa_ureq::Client::builder()
        .max_body_bytes(policy.max_body_bytes)
        .timeout(Duration::from_secs(args.timeout.unwrap_or(30)));
    if policy.allow_http_loopback {
        builder = builder.deny_private_addresses(false);
    }
    builder
        .build()
        .map_err(|e| Failure::Usage(format!("cannot build the HTTP client: {e}")))
}

fn enterprise_config(args: &TokenArgs) -> Result<EnterpriseConfig, Failure> {
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
    )?
    .ok_or_else(|| {
        Failure::Usage(
            "missing the subject token: --subject-token-file, --subject-token-env or --subject-token-stdin".into(),
        )
    })?;
    let value = source.read("subject token")?;
    let subject = match args.subject_token_type.unwrap_or(SubjectKind::IdToken) {
        SubjectKind::IdToken => SubjectToken::IdToken(IdToken::new(value)),
        SubjectKind::Saml2 => SubjectToken::Saml2(SamlAssertion::new(value)),
        SubjectKind::RefreshToken => SubjectToken::RefreshToken(RefreshToken::new(value)),
    };
    let authorization_server = match &args.authorization_server {
        Some(issuer) => AuthorizationServer::pinned(issuer, as_credentials),
        None => AuthorizationServer::discovered(as_credentials),
    };
    let mut policy = Policy::default();
    policy.allow_http_loopback = args.insecure_loopback.unwrap_or(false);
    let mut config = EnterpriseConfig::new(idp, subject, authorization_server).policy(policy);
    if let Some(scope) = args
        .scope
        .as_deref()
        .map(Scope::parse)
        .filter(|s| !s.is_empty())
    {
        config = config.scope(scope);
    }
    Ok(config)
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
            let pem = read_bounded(
                Path::new(path),
                &format!("{side} private key"),
                MAX_INPUT_BYTES,
                Privacy::Secret,
            )?;
            let alg = args.key_alg.as_deref().unwrap_or("ES256");
            let kid = key_id.unwrap_or(client_id).to_owned();
            let key = SigningKey::from_pem(&pem, alg, kid)
                .map_err(|e| Failure::Usage(format!("{side}: key {path}: {e}")))?;
            ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(
                Arc::new(JwtAssertionSigner::new(key)),
                Arc::new(RandomJti),
            ))
        }
    };
    Ok(ClientCredentials::new(client_id, auth))
}
