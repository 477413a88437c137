//! `xaa logout`: ends the session. The refresh token is revoked at the IdP's
//! `revocation_endpoint` when the IdP publishes one (RFC 7009 section 2.1), then the session
//! and every access token kept are deleted from the store, under its exclusive lock. A
//! revocation that fails is reported, and the local sign-out happens all the same: keeping
//! the tokens would not make the IdP forget them. A sealed store whose key is lost (missing
//! from the OS credential store, or another key) cannot be read, so nothing can be revoked:
//! it is deleted, and the run says so.

use std::time::Instant;

use xaa::signin::Revocation;

use crate::args::LogoutArgs;
use crate::exit::{Failure, classify};
use crate::idp::{self, Idp, flow_failure};
use crate::network::Network;
use crate::store::{FileStore, Session, path_or_default};
use crate::terminal::shown;

/// Runs `xaa logout`.
pub(crate) fn run(args: &LogoutArgs) -> Result<(), Failure> {
    let network = Network::new(&args.network.settings(), Instant::now())?;
    let path = path_or_default(args.token_store.as_deref())?;
    let store = FileStore::open(&path, args.credential_store.choice)?;
    // Under the exclusive lock from reading the refresh token to deleting it: a concurrent
    // renewal cannot rotate it meanwhile, so the token revoked is the one in force.
    let signed_out = store.update_with(|stored| {
        let session = stored.session().cloned();
        let revoked = session
            .as_ref()
            .map(|session| revoke(&network, args.network.allow_private_addresses, session));
        stored.clear_tokens();
        stored.set_session(None);
        (session, revoked)
    });
    let (session, revoked) = match signed_out {
        Ok(signed_out) => signed_out,
        // A sealed store whose key is lost can never be read again: signing out deletes it.
        Err(_) if store.remove_if_lost()? => {
            eprintln!(
                "xaa: signed out: the token store {} was sealed with a key the OS credential \
                 store no longer holds, so its session could not be read; the store is \
                 deleted, and the refresh token it held was not revoked (it lives at the IdP \
                 until it expires)",
                shown(&path.to_string_lossy())
            );
            return Ok(());
        }
        Err(failure) => return Err(failure),
    };
    let (Some(session), Some(revoked)) = (session, revoked) else {
        eprintln!("xaa: not signed in; the access tokens kept, if any, are deleted");
        return Ok(());
    };
    match revoked {
        Ok(true) => eprintln!(
            "xaa: signed out of {}: the refresh token is revoked and the session deleted",
            shown(&session.issuer)
        ),
        Ok(false) => eprintln!(
            "xaa: signed out of {}: the session is deleted (the IdP has no revocation \
             endpoint, so its refresh token lives until it expires)",
            shown(&session.issuer)
        ),
        Err(failure) => {
            eprintln!("xaa: the session is deleted, but the refresh token was not revoked");
            return Err(failure);
        }
    }
    Ok(())
}

/// Revokes the session's refresh token: `Ok(true)` when revoked, `Ok(false)` when there is
/// none or the IdP has no revocation endpoint.
fn revoke(network: &Network, allow_private: bool, session: &Session) -> Result<bool, Failure> {
    let Some(refresh_token) = session.refresh_token.clone() else {
        return Ok(false);
    };
    let policy = idp::policy(session.client.insecure_loopback, allow_private);
    let credentials = idp::credentials(&session.client_id, &session.client)?;
    let idp = Idp::discover(network, &policy, &session.issuer, credentials)?;
    if idp.client.metadata().revocation_endpoint.is_none() {
        return Ok(false);
    }
    let revocation = Revocation::new(&idp.client, refresh_token).map_err(|e| classify(&e))?;
    idp.run(revocation).map_err(|e| flow_failure(&e))?;
    Ok(true)
}
