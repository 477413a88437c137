//! How a flow error is told to the person running the command: the library's message, and the
//! command's own switch where the library says the rule can be relaxed ([`xaa::Error::hint`]).

use crate::terminal::shown;

/// The error's text, with the command's switch for the library's hint ([`xaa::Error::hint`])
/// where the rule can be relaxed on purpose.
pub(crate) fn described(error: &xaa::Error) -> String {
    if let xaa::Error::Dpop { refusal, .. } = error {
        return dpop_described(error, refusal);
    }
    let switch = match error {
        _ if error.hint().is_none() => None,
        xaa::Error::InsecureUrl { .. } => {
            Some("use --insecure-loopback for plain http on loopback")
        }
        xaa::Error::PrivateAddress { url, .. } if !names_a_never_address(url) => Some(
            "list a host of your own with --allow-private-host, or use --allow-private-addresses",
        ),
        _ => None,
    };
    match switch {
        Some(switch) => format!("{error} ({switch})"),
        None => error.to_string(),
    }
}

/// A DPoP refusal: what was refused, the rule it breaks in words ([`xaa::Error::rule`]), and
/// the option that relaxes it where one does (a server that issues bearer tokens only is
/// acceptable under `--dpop-policy preferred`; a token bound to another key never is).
fn dpop_described(error: &xaa::Error, refusal: &xaa::DpopRefusal) -> String {
    use xaa::DpopRefusal as R;
    let switch = match refusal {
        R::IdJagNotBound | R::AccessTokenNotBound { .. } | R::AlgorithmNotAccepted { .. } => {
            "; --dpop-policy preferred accepts a bearer token from servers that do not bind it"
        }
        _ => "",
    };
    format!("{error} (the rule: {}){switch}", error.rule())
}

/// Whether `url`'s host is an address no flag allows (link-local, unspecified, ...).
fn names_a_never_address(url: &str) -> bool {
    let ip = match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
        _ => return false,
    };
    xaa::discovery::classify(ip) == xaa::discovery::AddressClass::Never
}

/// [`described`], escaped for a terminal: the error line of every command that runs a flow.
pub(crate) fn with_hint(error: &xaa::Error) -> String {
    shown(&described(error)).into_owned()
}
