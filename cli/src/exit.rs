//! Exit codes and the one-line error report.

use std::fmt;
use std::process::ExitCode;

use crate::terminal::shown;

/// Why the command failed, which decides the exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad usage or configuration (exit 2).
    Usage(String),
    /// A server refused: the authentication was denied (exit 3).
    Denied(String),
    /// The user must sign in at the IdP again (exit 4).
    Reauthenticate(String),
    /// Network or protocol failure (exit 5).
    Protocol(String),
    /// A signature that does not verify (exit 3, like a server's denial).
    BadSignature(String),
}

impl Failure {
    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Denied(_) | Self::BadSignature(_) => 3,
            Self::Reauthenticate(_) => 4,
            Self::Protocol(_) => 5,
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            Self::Usage(_) => "check the options (xaa --help)",
            Self::Denied(_) => {
                "check the client registrations and what the IdP's policy allows for this server"
            }
            Self::Reauthenticate(_) => "sign in at the IdP again, then retry with the new token",
            Self::Protocol(_) => "check the URLs and the servers' configuration (xaa discover URL)",
            Self::BadSignature(_) => "the token was not signed by a key of that JWKS",
        }
    }

    /// Prints the one-line report on stderr and returns the exit code. The message may quote
    /// what a server or a file said, so it is escaped: it stays one line, with no controls.
    pub(crate) fn report(&self) -> ExitCode {
        eprintln!("xaa: {}; {}", shown(&self.to_string()), self.hint());
        ExitCode::from(self.code())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m)
            | Self::Denied(m)
            | Self::Reauthenticate(m)
            | Self::Protocol(m)
            | Self::BadSignature(m) => f.write_str(m),
        }
    }
}

/// Classifies a flow error (decisions.md D16, D17). A DPoP refusal is a protocol failure
/// (exit 5): no server denied anything and the settings are valid; what came back does not
/// meet the binding the policy demands, or names another key.
pub(crate) fn classify(error: &xaa::Error) -> Failure {
    use xaa::Error as E;
    let message = crate::explain::with_hint(error);
    match error {
        E::ReauthenticationRequired { .. } | E::SubjectTokenExpired { .. } => {
            Failure::Reauthenticate(message)
        }
        E::OAuth { .. } | E::ResourceServerRejected { .. } => Failure::Denied(message),
        E::Config(_) | E::IdpIsAuthorizationServer { .. } | E::AuthorizationServerIsIdp { .. } => {
            Failure::Usage(message)
        }
        _ => Failure::Protocol(message),
    }
}

/// The exit codes, for `--help`.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  2  bad usage or configuration
  3  authentication denied by a server (the OAuth error is printed)
  4  re-authentication needed at the IdP (sign in again)
  5  network or protocol failure (a token not bound to the DPoP key under
     --dpop-policy required included)";
