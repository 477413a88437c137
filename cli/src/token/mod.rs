//! `xaa token`: the real job against real servers.

mod binding;
mod output;
mod settings;

use std::time::{Instant, SystemTime};

use xaa::cache::{CacheKey, CachedToken, Lookup, Principal, TokenCache};
use xaa::{EnterpriseAuth, EnterpriseConfig, Scope, Start};

use crate::args::TokenArgs;
use crate::exit::{Failure, classify};
use crate::network::{Network, NetworkSettings};
use crate::secrets::fingerprint;
use crate::store::{FileStore, Stored};
use crate::terminal::shown;
use crate::timefmt::human;
use binding::Bindings;

/// Runs `xaa token` with fully resolved settings.
pub(crate) fn run(args: TokenArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let args = settings::with_config_file(args)?;
    let network = Network::new(
        &NetworkSettings {
            timeout: args.timeout,
            deadline: args.deadline,
            allow_private_hosts: &args.allow_private_host,
            allow_private_addresses: args.allow_private_addresses.unwrap_or(false),
            resolve: &args.resolve,
        },
        started,
    )?;
    let resolved = settings::resolve(&args)?;
    let (server, config) = (&resolved.server, &resolved.config);
    let bindings = Bindings::new(&args, &resolved.subject_digest);
    let principal = match &config.grant {
        xaa::GrantSource::Enterprise { subject, .. } => {
            binding::principal(subject, &resolved.subject_digest)
        }
        _ => Principal::key(resolved.subject_digest.clone()),
    };
    let scope = config.scope.clone().unwrap_or_default();
    let now = SystemTime::now();
    let store = args
        .token_store
        .as_deref()
        .map(FileStore::open)
        .transpose()?;
    let stored = match &store {
        Some(store) => store.load()?,
        None => Stored::default(),
    };
    let cached_discovery = stored
        .discovery(server, &bindings.discovery)
        .filter(|d| d.is_fresh(now))
        .cloned();
    if let Some(discovery) = &cached_discovery {
        let key = cache_key(discovery, config, &scope, &principal);
        if let Some(token) = fresh(stored.token(&key, &bindings.token), &key, now) {
            eprintln!(
                "xaa: reusing a stored token ({}), valid for {}",
                fingerprint(token.access_token.expose_secret()),
                human(token.expires_at.duration_since(now).unwrap_or_default())
            );
            return output::print(
                args.json,
                &token,
                discovery.resource(),
                &discovery.authorization_server.issuer,
                now,
            );
        }
    }
    let start = match cached_discovery {
        Some(discovery) => {
            eprintln!("xaa: using stored discovery for {}", shown(server));
            Start::Cached(discovery)
        }
        None => {
            eprintln!("xaa: discovering {}", shown(server));
            Start::ServerUrl(server.clone())
        }
    };
    let client = network.client(&config.policy, Some(server))?;
    let flow = EnterpriseAuth::new(config.clone(), start).map_err(|e| classify(&e))?;
    let authorization = client
        .run_until(flow, network.deadline())
        .map_err(|e| match e {
            xaa_ureq::Error::Flow(error) => classify(&error),
            other => Failure::Protocol(other.to_string()),
        })?;
    let mut cached = CachedToken::new(authorization.access_token.clone(), authorization.expires_at)
        .with_token_type(authorization.token_type.clone());
    if let Some(scope) = &authorization.scope {
        cached = cached.with_scope(scope.clone());
    }
    output::check_printable(&cached)?;
    eprintln!(
        "xaa: token issued by {} for {} ({})",
        shown(&authorization.authorization_server),
        shown(&authorization.resource),
        fingerprint(authorization.access_token.expose_secret())
    );
    if let Some(store) = &store {
        let key = cache_key(&authorization.discovery, config, &scope, &principal);
        let kept = store.update(|stored| {
            stored.put_token(key, bindings.token.clone(), cached.clone());
            stored.put_discovery(
                server.clone(),
                bindings.discovery.clone(),
                authorization.discovery.clone(),
            );
        });
        // The token was issued: a store that cannot take it (a lock held too long, a full
        // disk) costs the next run an exchange, not this run its token.
        if let Err(failure) = kept {
            eprintln!(
                "xaa: warning: the token is not kept: {}",
                shown(&failure.to_string())
            );
        }
    }
    output::print(
        args.json,
        &cached,
        &authorization.resource,
        &authorization.authorization_server,
        now,
    )
}

/// The stored token under `key`, if it is fresh now.
fn fresh(token: Option<&CachedToken>, key: &CacheKey, now: SystemTime) -> Option<CachedToken> {
    let mut cache = TokenCache::new();
    cache.insert(key.clone(), token?.clone());
    match cache.lookup(key, now) {
        Lookup::Fresh(token) => Some(token.clone()),
        _ => None,
    }
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
