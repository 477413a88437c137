//! The device authorization grant (RFC 8628): the core's [`DeviceSignIn`], polled by the
//! client's own loop (`sign_in_on_device`: the interval, `slow_down`, the command's deadline);
//! this module tells the person what to do and turns the outcome into the command's result.

use xaa::signin::{DeviceOutcome, DeviceSignIn, SignIn, SignInOptions};

use crate::exit::{Failure, classify};
use crate::idp::Idp;
use crate::terminal::shown;

/// Runs the device grant at `idp`: prints the user code and where to enter it (stderr), and
/// lets the client poll until the person approves, refuses, or the code or the deadline
/// expires.
pub(crate) fn sign_in(idp: &Idp, options: &SignInOptions) -> Result<SignIn, Failure> {
    let flow =
        DeviceSignIn::new(&idp.client, idp.keys.clone(), options).map_err(|e| classify(&e))?;
    match idp.sign_in_on_device(flow, tell)? {
        DeviceOutcome::SignedIn(signed_in) => Ok(*signed_in),
        DeviceOutcome::Denied(error) => Err(Failure::Denied(format!(
            "the IdP refused the device sign-in: {}",
            shown(&error.to_string())
        ))),
        DeviceOutcome::Expired => Err(Failure::Reauthenticate(
            "the device code expired before the sign-in was approved; run xaa login --device \
             again"
                .into(),
        )),
        _ => Err(Failure::Protocol(
            "the device sign-in ended unexpectedly".into(),
        )),
    }
}

/// What the person must do, on stderr (the core refused any unsafe character already; the
/// text is escaped all the same).
fn tell(authorization: &xaa::signin::DeviceAuthorization) {
    eprintln!(
        "xaa: to sign in, visit {} and enter the code {}",
        shown(&authorization.verification_uri),
        shown(&authorization.user_code)
    );
    if let Some(complete) = &authorization.verification_uri_complete {
        eprintln!("xaa: or visit {}", shown(complete));
    }
    eprintln!("xaa: waiting for the sign-in to be approved");
}
