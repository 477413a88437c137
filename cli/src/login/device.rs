//! The device authorization grant driven by hand (RFC 8628): the core's [`DeviceSignIn`] says
//! what to send and, while the person has not approved yet, when to poll again
//! ([`DeviceSignIn::next_poll_at`]); this loop sends, sleeps until then, and stops at the
//! command's deadline.

use std::time::{Instant, SystemTime};

use xaa::signin::{DeviceOutcome, DeviceSignIn, SignIn, SignInOptions};
use xaa::{Flow, Output};

use crate::exit::{Failure, classify};
use crate::idp::Idp;
use crate::terminal::shown;

/// Runs the device grant at `idp`: prints the user code and where to enter it (stderr), polls
/// until the person approves, refuses, or the code or the deadline expires.
pub(crate) fn sign_in(idp: &Idp, options: &SignInOptions) -> Result<SignIn, Failure> {
    let mut flow =
        DeviceSignIn::new(&idp.client, idp.keys.clone(), options).map_err(|e| classify(&e))?;
    let mut told = false;
    loop {
        match flow
            .poll_output(SystemTime::now())
            .map_err(|e| classify(&e))?
        {
            Output::Transmit(transmit) => {
                let response = idp.send(transmit.request)?;
                flow.handle_response(SystemTime::now(), transmit.id, response)
                    .map_err(|e| classify(&e))?;
            }
            Output::Wait => {
                if !told && let Some(authorization) = flow.authorization() {
                    tell(authorization);
                    told = true;
                }
                let due = flow.next_poll_at().ok_or_else(|| {
                    Failure::Protocol("the device sign-in waits with no poll scheduled".into())
                })?;
                sleep_until(due, idp.deadline())?;
            }
            Output::Done(DeviceOutcome::SignedIn(signed_in)) => return Ok(*signed_in),
            Output::Done(DeviceOutcome::Denied(error)) => {
                return Err(Failure::Denied(format!(
                    "the IdP refused the device sign-in: {}",
                    shown(&error.to_string())
                )));
            }
            Output::Done(DeviceOutcome::Expired) => {
                return Err(Failure::Reauthenticate(
                    "the device code expired before the sign-in was approved; run xaa login \
                     --device again"
                        .into(),
                ));
            }
            Output::Done(_) => {
                return Err(Failure::Protocol(
                    "the device sign-in ended unexpectedly".into(),
                ));
            }
        }
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

/// Sleeps until `due` (wall clock), failing when that is past `deadline` (monotonic).
fn sleep_until(due: SystemTime, deadline: Instant) -> Result<(), Failure> {
    let wait = due.duration_since(SystemTime::now()).unwrap_or_default();
    let now = Instant::now();
    if now.checked_add(wait).is_none_or(|wake| wake > deadline) {
        return Err(Failure::Protocol(
            "the deadline passed before the device sign-in was approved (--deadline)".into(),
        ));
    }
    std::thread::sleep(wait);
    Ok(())
}
