//! `xaa token`: the real job against real servers.

mod binding;
mod output;
mod session;
mod settings;

use std::time::{Instant, SystemTime};

use xaa::cache::{CacheKey, CachedToken, Lookup, Principal, TokenCache};
use xaa::dpop::{DpopPolicy, DpopSigner as _};
use xaa::{EnterpriseAuth, EnterpriseConfig, Scope, Start};

use crate::args::TokenArgs;
use crate::dpop_key::{self, KeySource};
use crate::exit::{Failure, classify};
use crate::network::{Network, NetworkSettings};
use crate::secrets::fingerprint;
use crate::store::{FileStore, IfMissing, Stored};
use crate::terminal::shown;
use crate::timefmt::human;
use binding::Bindings;
pub(crate) use output::is_b64token;

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
    let choice = args.credential_store.unwrap_or_default();
    let store = args
        .token_store
        .as_deref()
        .map(|path| FileStore::open(path, choice))
        .transpose()?;
    let default_store = match &store {
        None if !settings::names_a_subject_token(&args) => session::default_store(choice)?,
        _ => None,
    };
    let session_store = match (&store, &args.token_store) {
        (Some(store), Some(path)) => Some((store, path.clone())),
        _ => default_store
            .as_ref()
            .map(|(store, path)| (store, path.clone())),
    };
    let mut args = args;
    let mut relogin = None;
    let signed_in = match session_store {
        Some((store, path)) if !settings::names_a_subject_token(&args) => {
            let session = session::fresh_session(
                store,
                &path,
                &network,
                args.allow_private_addresses.unwrap_or(false),
            )?;
            relogin = Some(session.login_command(&path.to_string_lossy()));
            session::fill_from_session(&mut args, &session)?;
            Some(session.id_token)
        }
        _ => None,
    };
    let resolved = settings::resolve(&args, signed_in)?;
    let server = &resolved.server;
    let source = KeySource::pick(args.dpop_key.as_deref(), args.dpop.unwrap_or(false))?;
    let dpop = dpop_key::load(source, store.as_ref(), IfMissing::Make)?;
    let policy = dpop_key::policy(dpop.as_ref(), args.dpop_policy)?;
    let mut config = resolved.config.clone();
    if let Some(chosen) = &dpop {
        eprintln!(
            "xaa: binding the tokens with DPoP ({}) to {}, key {}",
            dpop_key::policy_name(policy),
            chosen.described,
            chosen.key.jkt()
        );
        config = config.dpop(dpop_key::binding(chosen, policy));
    }
    let config = &config;
    let key_jkt = dpop.as_ref().map(|chosen| chosen.key.jkt());
    let bindings = Bindings::new(
        &args,
        &resolved.subject_digest,
        key_jkt.as_deref().map(|jkt| (jkt, policy)),
    );
    let principal = match &config.grant {
        xaa::GrantSource::Enterprise { subject, .. } => {
            binding::principal(subject, &resolved.subject_digest)
        }
        _ => Principal::key(resolved.subject_digest.clone()),
    };
    let scope = config.scope.clone().unwrap_or_default();
    let now = SystemTime::now();
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
        let stored_token = stored
            .token(&key, &bindings.token)
            .filter(|token| usable_with(token, key_jkt.as_deref(), policy));
        if let Some(token) = fresh(stored_token, &key, now) {
            eprintln!(
                "xaa: reusing a stored token ({}), valid for {}{}",
                fingerprint(token.access_token.expose_secret()),
                human(token.expires_at.duration_since(now).unwrap_or_default()),
                binding_note(&token, key_jkt.is_some())
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
            xaa_ureq::Error::Flow(error) => session::refused(&error, relogin.as_deref()),
            other => Failure::Protocol(other.to_string()),
        })?;
    let mut cached = CachedToken::new(authorization.access_token.clone(), authorization.expires_at)
        .with_token_type(authorization.token_type.clone());
    if let Some(scope) = &authorization.scope {
        cached = cached.with_scope(scope.clone());
    }
    output::check_printable(&cached)?;
    eprintln!(
        "xaa: token issued by {} for {} ({}){}",
        shown(&authorization.authorization_server),
        shown(&authorization.resource),
        fingerprint(authorization.access_token.expose_secret()),
        binding_note(&cached, dpop.is_some())
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

/// Whether a stored token may be used by a run with the key of thumbprint `key_jkt` (`None`:
/// no key) under `policy`: a token bound to a key goes only with that key (RFC 9449 section
/// 7.1), and a bearer token never under [`DpopPolicy::Required`]. The token's binding in the
/// store says the same; this holds even for a store edited by hand.
fn usable_with(token: &CachedToken, key_jkt: Option<&str>, policy: DpopPolicy) -> bool {
    match token.access_token.dpop_jkt() {
        Some(bound) => key_jkt == Some(bound),
        None => policy != DpopPolicy::Required,
    }
}

/// What the issuance line says of the binding, when a DPoP key was used.
fn binding_note(token: &CachedToken, with_key: bool) -> &'static str {
    match (with_key, token.access_token.dpop_jkt()) {
        (_, Some(_)) => ", bound to the DPoP key",
        (true, None) => ", a bearer token: the servers did not bind it to the DPoP key",
        (false, None) => "",
    }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bound_token_is_usable_with_its_own_key_only() {
        let expires_at = SystemTime::now() + Duration::from_secs(600);
        let bearer = CachedToken::new(xaa::AccessToken::new("at-1"), expires_at);
        let bound = CachedToken::new(xaa::AccessToken::new("at-2").bound_to("jkt-a"), expires_at)
            .with_token_type("DPoP");
        let (off, preferred, required) =
            (DpopPolicy::Off, DpopPolicy::Preferred, DpopPolicy::Required);
        assert!(usable_with(&bearer, None, off));
        assert!(usable_with(&bearer, Some("jkt-a"), preferred));
        assert!(!usable_with(&bearer, Some("jkt-a"), required));
        assert!(usable_with(&bound, Some("jkt-a"), required));
        assert!(usable_with(&bound, Some("jkt-a"), preferred));
        assert!(!usable_with(&bound, Some("jkt-b"), required));
        assert!(!usable_with(&bound, None, off));
    }
}
