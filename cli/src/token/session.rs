//! The subject token of `xaa token` when none is given: the ID token of the session `xaa
//! login` kept, renewed with the refresh token when it is about to expire (OpenID Connect
//! Core 1.0 section 12, RFC 6749 section 6).
//!
//! The renewal holds the store's exclusive lock from reading the refresh token to writing its
//! replacement: a rotated refresh token (RFC 9700 section 4.14.2) is never lost to a
//! concurrent run, and a run that waited for the lock finds the session renewed already.
//! When the IdP refuses the refresh token (`invalid_grant`) or asks for a new authentication
//! (`insufficient_user_authentication`, RFC 9470 section 3) the run fails with exit 4 and the
//! `xaa login` command that signs in again.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use xaa::signin::Refresh;
use xaa::{Error, ErrorCode};

use crate::args::{CredentialStoreChoice, TokenArgs};
use crate::exit::{Failure, classify};
use crate::idp::{self, Idp, flow_failure};
use crate::network::Network;
use crate::store::{FileStore, Session, existing_default_path};
use crate::terminal::shown;

/// The default token store, when it exists: where `xaa login` keeps the session when no
/// `--token-store` is given, read by `xaa token` without a subject token. Only the session
/// is used there: keeping access tokens stays opt-in (decisions.md D21).
pub(crate) fn default_store(
    choice: CredentialStoreChoice,
) -> Result<Option<(FileStore, PathBuf)>, Failure> {
    let Some(path) = existing_default_path() else {
        return Ok(None);
    };
    let store = FileStore::open(&path, choice)?;
    Ok(Some((store, path)))
}

/// The session with a fresh ID token: the stored one, or a renewed one written back.
pub(crate) fn fresh_session(
    store: &FileStore,
    store_path: &Path,
    network: &Network,
    allow_private_addresses: bool,
) -> Result<Session, Failure> {
    let session = store.load()?.session().cloned().ok_or_else(|| {
        Failure::Usage(
            "no subject token given and nobody signed in: run xaa login (with this \
             --token-store), or give --subject-token-file, --subject-token-env or \
             --subject-token-stdin"
                .into(),
        )
    })?;
    if session.is_fresh(SystemTime::now()) {
        return Ok(session);
    }
    let store_path_text = store_path.to_string_lossy().into_owned();
    store
        .update_with(|stored| {
            let Some(current) = stored.session().cloned() else {
                return Err(Failure::Usage(
                    "the session was signed out meanwhile: run xaa login".into(),
                ));
            };
            if current.is_fresh(SystemTime::now()) {
                return Ok(current);
            }
            let (renewed, failure) =
                renew(current, network, allow_private_addresses, &store_path_text);
            let kept = renewed.clone();
            stored.set_session(Some(renewed));
            match failure {
                None => Ok(kept),
                Some(failure) => Err(failure),
            }
        })
        .and_then(|outcome| outcome)
}

/// The IdP and its client from `session`, where the settings leave them unset: the ID token
/// goes to the IdP that issued it, and only there. Settings naming another IdP, or an IdP
/// token endpoint that cannot be checked against the session's issuer, are refused.
pub(crate) fn fill_from_session(args: &mut TokenArgs, session: &Session) -> Result<(), Failure> {
    if args.idp_token_endpoint.is_some() {
        return Err(Failure::Usage(
            "the session of xaa login is exchanged at the IdP that issued it: give its issuer \
             (or nothing), not --idp-token-endpoint"
                .into(),
        ));
    }
    match &args.idp_issuer {
        Some(issuer) if *issuer != session.issuer => {
            return Err(Failure::Usage(format!(
                "the session was signed in at {}, not at the IdP given ({}): its ID token goes \
                 only to the IdP that issued it",
                shown(&session.issuer),
                shown(issuer)
            )));
        }
        Some(_) => {}
        None => args.idp_issuer = Some(session.issuer.clone()),
    }
    if args.idp_client_id.is_none() {
        args.idp_client_id = Some(session.client_id.clone());
        args.idp_auth = args.idp_auth.or(session.client.auth);
        if args.idp_secret_env.is_none() && args.idp_key_file.is_none() {
            args.idp_secret_file = args
                .idp_secret_file
                .take()
                .or_else(|| session.client.secret_file.clone());
        }
    }
    Ok(())
}

/// Renews `session`: the session to keep (with the rotated refresh token, even when the IdP
/// sent no new ID token) and, when it cannot serve, why.
fn renew(
    mut session: Session,
    network: &Network,
    allow_private_addresses: bool,
    store_path: &str,
) -> (Session, Option<Failure>) {
    let sign_in_again = |session: &Session, why: &str| {
        Failure::Reauthenticate(format!(
            "the session at {} cannot be renewed: {why}; sign in again with: {}",
            shown(&session.issuer),
            session.login_command(store_path)
        ))
    };
    let Some(refresh_token) = session.refresh_token.clone() else {
        let failure = sign_in_again(
            &session,
            "the ID token expired and no refresh token is kept",
        );
        return (session, Some(failure));
    };
    eprintln!("xaa: renewing the session at {}", shown(&session.issuer));
    let renewal = request_renewal(&session, refresh_token, network, allow_private_addresses);
    let renewal = match renewal {
        Ok(renewal) => renewal,
        Err(Failure::Reauthenticate(why)) => {
            let failure = sign_in_again(&session, &format!("the IdP refused it ({why})"));
            return (session, Some(failure));
        }
        Err(other) => return (session, Some(other)),
    };
    session.refresh_token = Some(renewal.refresh_token);
    match renewal.id_token {
        Some((id_token, claims)) => {
            session.id_token = id_token;
            session.claims = claims;
            (session, None)
        }
        None => {
            let failure = sign_in_again(&session, "the IdP renewed it without a new ID token");
            (session, Some(failure))
        }
    }
}

/// Sends the refresh token to the session's IdP; a refusal that calls for a new sign-in is
/// [`Failure::Reauthenticate`].
fn request_renewal(
    session: &Session,
    refresh_token: xaa::RefreshToken,
    network: &Network,
    allow_private_addresses: bool,
) -> Result<xaa::signin::Renewal, Failure> {
    let policy = idp::policy(session.client.insecure_loopback, allow_private_addresses);
    let credentials = idp::credentials(&session.client_id, &session.client)?;
    let idp = Idp::discover(network, &policy, &session.issuer, credentials)?;
    let refresh = Refresh::new(
        &idp.client,
        idp.keys.clone(),
        refresh_token,
        session.claims.clone(),
        None,
    )
    .map_err(|e| classify(&e))?;
    idp.run(refresh).map_err(|e| match e {
        xaa_ureq::Error::Flow(error) if needs_sign_in(&error) => {
            Failure::Reauthenticate(shown(&error.to_string()).into_owned())
        }
        other => flow_failure(&other),
    })
}

/// A flow error of a run whose subject token came from the session: when the IdP wants the
/// person to sign in again (the ID token refused as expired, `invalid_grant`,
/// `insufficient_user_authentication`), exit 4 with the `xaa login` command `relogin`, and
/// `--max-age` when the IdP said how recent the authentication must be (RFC 9470 section 3).
pub(crate) fn refused(error: &Error, relogin: Option<&str>) -> Failure {
    let failure = classify(error);
    match relogin {
        Some(command)
            if needs_sign_in(error) || matches!(error, Error::SubjectTokenExpired { .. }) =>
        {
            let max_age = error
                .oauth_error()
                .filter(|oauth| oauth.code == ErrorCode::InsufficientUserAuthentication)
                .and_then(|oauth| oauth.max_age)
                .map(|seconds| format!(" --max-age {seconds}"))
                .unwrap_or_default();
            Failure::Reauthenticate(format!("{failure}; sign in again with: {command}{max_age}"))
        }
        _ => failure,
    }
}

/// Whether the IdP's answer means the person must sign in again.
fn needs_sign_in(error: &Error) -> bool {
    match error {
        Error::ReauthenticationRequired { .. } => true,
        Error::OAuth { error, .. } => error.code == ErrorCode::InsufficientUserAuthentication,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_that_needs_a_new_sign_in_names_the_login_command() {
        let oauth = |code: ErrorCode| Error::OAuth {
            purpose: xaa::Purpose::TokenExchange,
            status: 400,
            error: xaa::OAuthError::new(code),
        };
        let command = Some("xaa login --idp-issuer https://idp.example");
        let insufficient = refused(&oauth(ErrorCode::InsufficientUserAuthentication), command);
        assert_eq!(insufficient.code(), 4);
        assert!(
            insufficient
                .to_string()
                .ends_with("; sign in again with: xaa login --idp-issuer https://idp.example"),
            "{insufficient}"
        );
        let expired = refused(&Error::SubjectTokenExpired { expired_at: 1 }, command);
        assert_eq!(expired.code(), 4);
        assert!(
            expired
                .to_string()
                .contains("sign in again with: xaa login")
        );
        let other = refused(&oauth(ErrorCode::InvalidClient), command);
        assert_eq!(other.code(), 3);
        assert!(!other.to_string().contains("xaa login"));
        let without_session = refused(&oauth(ErrorCode::InsufficientUserAuthentication), None);
        assert!(!without_session.to_string().contains("xaa login"));
    }

    #[test]
    fn the_session_fills_the_idp_and_refuses_another() {
        let session = Session::example("alice", 0);
        let mut args = TokenArgs::default();
        fill_from_session(&mut args, &session).expect("filled");
        assert_eq!(args.idp_issuer.as_deref(), Some("https://idp.example"));
        assert_eq!(args.idp_client_id.as_deref(), Some("cli-client"));

        let mut other = TokenArgs {
            idp_issuer: Some("https://other.example".into()),
            ..TokenArgs::default()
        };
        let refused = fill_from_session(&mut other, &session).expect_err("another IdP");
        assert_eq!(refused.code(), 2);
        assert!(
            refused
                .to_string()
                .contains("only to the IdP that issued it")
        );

        let mut endpoint = TokenArgs {
            idp_token_endpoint: Some("https://idp.example/token".into()),
            ..TokenArgs::default()
        };
        assert!(fill_from_session(&mut endpoint, &session).is_err());
    }
}
