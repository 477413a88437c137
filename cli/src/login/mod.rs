//! `xaa login`: signs a person in at the enterprise IdP and keeps the session in the token
//! store, for `xaa token` to use as its subject token (docs/signin.md).
//!
//! The browser flow is the authorization code flow with PKCE of RFC 8252: a listener on
//! `127.0.0.1` ([`listener`]) receives the redirect, the core checks `state` and `iss` and
//! exchanges the code, and the ID token is validated (signature, `iss`, `aud`, `exp`,
//! `nonce`, `auth_time`) before anything is kept. `--device` runs the device authorization
//! grant instead ([`device`]). The session is written under the store's exclusive lock,
//! atomically, mode 0600, replacing any earlier session and the access tokens kept for it,
//! sealed with the data key kept in the OS credential store when one answers (the store at
//! `$XDG_STATE_HOME/xaa/store.json` unless `--token-store` names another; docs/signin.md,
//! "Storage"). The store is read once before the sign-in, so one that cannot be used fails
//! before the person signs in.
//!
//! A callback the core refuses (a `state` other than the one sent, an `iss` of another IdP,
//! an error) ends the sign-in: the browser is told what went wrong and nothing is stored. So
//! does a failed code exchange or ID token check.

mod browser;
mod device;
pub(crate) mod listener;
mod page;

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use xaa::Scope;
use xaa::signin::{
    AuthorizationCode, AuthorizationRequest, CodeExchange, PendingSignIn, SignIn, SignInOptions,
    SystemRandom, sha256,
};

use crate::args::LoginArgs;
use crate::exit::{Failure, classify};
use crate::idp::{self, Idp, flow_failure};
use crate::network::{Network, NetworkSettings};
use crate::store::{ClientSettings, FileStore, Session, path_or_default};
use crate::terminal::shown;
use crate::timefmt::{human, rfc3339, unix};
use listener::{Callback, CallbackListener, ListenError};

/// How long the whole sign-in may take when `--deadline` is not given: time for a person to
/// sign in.
pub(crate) const DEFAULT_LOGIN_SECONDS: u64 = 600;

/// Runs `xaa login`.
pub(crate) fn run(args: LoginArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let network_args = &args.network;
    let network = Network::new(
        &NetworkSettings {
            deadline: Some(network_args.deadline.unwrap_or(DEFAULT_LOGIN_SECONDS)),
            ..network_args.settings()
        },
        started,
    )?;
    let store_path = path_or_default(args.token_store.as_deref())?;
    let store = FileStore::open(&store_path, args.credential_store.choice)?;
    // Read once before the sign-in: a store that cannot be used (a sealed file whose key is
    // gone, no credential store under --credential-store os) fails before the person signs in.
    store.load()?;
    let settings = ClientSettings {
        auth: args.client_auth,
        secret_file: args.client_secret_file.clone(),
        key_file: args.client_key_file.clone(),
        key_id: args.client_key_id.clone(),
        key_alg: args.key_alg.clone(),
        scope: args.scope.clone(),
        insecure_loopback: network_args.insecure_loopback,
    };
    let credentials = idp::credentials(&args.client_id, &settings)?;
    let policy = idp::policy(
        network_args.insecure_loopback,
        network_args.allow_private_addresses,
    );
    let idp = Idp::discover(&network, &policy, &args.idp_issuer, credentials)?;
    let mut options = SignInOptions::default();
    options.scope = args.scope.as_deref().map(Scope::parse).unwrap_or_default();
    options.offline_access = true;
    options.max_age = args.max_age.map(Duration::from_secs);
    let signed_in = if args.device {
        device::sign_in(&idp, &options)?
    } else {
        browser_sign_in(&idp, &options, args.no_browser)?
    };
    keep(&store, &args, settings, signed_in)
}

/// The code the redirect `callback` carries, when `pending` accepts it (`state`, `iss`, no
/// error); otherwise the browser is told why and the sign-in is refused.
pub(crate) fn accepted(
    pending: &PendingSignIn,
    callback: Callback,
) -> Result<(AuthorizationCode, Callback), Failure> {
    match pending.accept(&callback.query) {
        Ok(code) => Ok((code, callback)),
        Err(error) => {
            let message = shown(&error.to_string()).into_owned();
            callback.answer(Err(&message));
            Err(Failure::Denied(format!(
                "the sign-in was not accepted: {message}"
            )))
        }
    }
}

/// The browser flow: the authorization request, the one redirect, the code exchange. The
/// browser is answered once the outcome is known.
fn browser_sign_in(
    idp: &Idp,
    options: &SignInOptions,
    no_browser: bool,
) -> Result<SignIn, Failure> {
    let listener = CallbackListener::bind()
        .map_err(|e| Failure::Protocol(format!("cannot listen on 127.0.0.1: {e}")))?;
    let request = AuthorizationRequest::new(
        &idp.client,
        &listener.redirect_uri(),
        options,
        &SystemRandom,
        &sha256,
    )
    .map_err(|e| classify(&e))?;
    let (url, pending) = request.into_parts();
    if no_browser {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{url}")
            .and_then(|()| stdout.flush())
            .map_err(|e| Failure::Protocol(format!("cannot print the sign-in URL: {e}")))?;
        eprintln!("xaa: open the URL above in a browser to sign in");
    } else {
        match browser::open(url.as_str()) {
            Ok(()) => eprintln!("xaa: signing in in the browser; if none opens, visit {url}"),
            Err(why) => eprintln!("xaa: {why}; to sign in, visit {url}"),
        }
    }
    let callback = listener.wait(idp.deadline()).map_err(|e| match e {
        ListenError::TimedOut => Failure::Protocol(
            "no sign-in came back from the browser before the deadline (--deadline)".into(),
        ),
        ListenError::Io(e) => Failure::Protocol(format!("the redirect listener failed: {e}")),
    })?;
    let (code, callback) = accepted(&pending, callback)?;
    let exchange =
        CodeExchange::new(&idp.client, idp.keys.clone(), pending, code).map_err(|e| classify(&e));
    let outcome = exchange.and_then(|exchange| idp.run(exchange).map_err(|e| flow_failure(&e)));
    match outcome {
        Ok(signed_in) => {
            callback.answer(Ok(()));
            Ok(signed_in)
        }
        Err(failure) => {
            callback.answer(Err(&failure.to_string()));
            Err(failure)
        }
    }
}

/// Writes the session into the store, replacing any other and dropping the access tokens
/// kept, and says who signed in.
fn keep(
    store: &FileStore,
    args: &LoginArgs,
    settings: ClientSettings,
    signed_in: SignIn,
) -> Result<(), Failure> {
    let email = xaa::jwt::peek(signed_in.id_token.expose_secret())
        .ok()
        .and_then(|peeked| peeked.claims.get("email")?.as_str().map(str::to_owned));
    let session = Session {
        issuer: args.idp_issuer.clone(),
        client_id: args.client_id.clone(),
        client: settings,
        id_token: signed_in.id_token,
        claims: signed_in.claims,
        email,
        refresh_token: signed_in.refresh_token,
    };
    let until = session.expires_at();
    let renewable = session.refresh_token.is_some();
    let subject = session.claims.sub.clone();
    store.update(|stored| {
        stored.clear_tokens();
        stored.set_session(Some(session));
    })?;
    let now = SystemTime::now();
    eprintln!(
        "xaa: signed in as {} at {}; the ID token is valid until {} ({}){}",
        shown(&subject),
        shown(&args.idp_issuer),
        rfc3339(unix(until)),
        human(until.duration_since(now).unwrap_or_default()),
        if renewable {
            ", then renewed with the refresh token"
        } else {
            "; the IdP issued no refresh token, so sign in again then"
        }
    );
    Ok(())
}
