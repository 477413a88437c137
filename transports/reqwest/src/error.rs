//! The crate's one error type.

use std::net::IpAddr;

use xaa::Purpose;

use crate::guard::PrivateAddressRefused;

/// Everything that can go wrong in this crate.
///
/// `Display` names the protocol step when there is one (`token_exchange: ...`) and never prints
/// a token, a header, a request body or a URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No response: connection refused, TLS failure, I/O error, malformed response.
    #[error("{}transport failed: {}", prefix(*purpose), causes(source))]
    Transport {
        /// The step whose request failed, when it was a flow's request.
        purpose: Option<Purpose>,
        /// What reqwest said, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// No complete response within the client's timeout (or its connect timeout).
    #[error("{}request timed out", prefix(*purpose))]
    Timeout {
        /// The step whose request timed out, when it was a flow's request.
        purpose: Option<Purpose>,
    },
    /// The response body was larger than the limit: nothing of it is handed on.
    #[error("{}response body exceeds the limit of {limit} bytes", prefix(*purpose))]
    BodyTooLarge {
        /// The step whose response was too large, when it was a flow's request.
        purpose: Option<Purpose>,
        /// The limit in bytes.
        limit: usize,
    },
    /// The address guard refused to connect (decisions.md D5): every address `host` resolved
    /// to (or the IP literal it is) is of a class the guard refuses: never connected to
    /// (link-local, unspecified, ...), or private or loopback and not allowed. The message
    /// says which, and the rule.
    #[error("{}refused to connect: {}", prefix(*purpose), refusal(host, *address))]
    PrivateAddress {
        /// The step whose request was refused, when it was a flow's request.
        purpose: Option<Purpose>,
        /// The host name or IP literal of the request.
        host: String,
        /// The first refused address it resolved to; [`xaa::discovery::classify`] gives its
        /// class.
        address: IpAddr,
    },
    /// The flow ended with an error: an OAuth error, a failed check, a configuration error, or
    /// a transport failure in a flight another caller ran ([`xaa::Error::Transport`]).
    #[error(transparent)]
    Flow(#[from] xaa::Error),
    /// The client could not be built: an unparsable root certificate or proxy URL.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The request cannot be sent as given (a URI reqwest cannot parse, an access token that
    /// is not a valid header value).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
}

fn prefix(purpose: Option<Purpose>) -> String {
    purpose.map(|p| format!("{p}: ")).unwrap_or_default()
}

/// The guard's own words for a refusal.
fn refusal(host: &str, address: IpAddr) -> PrivateAddressRefused {
    PrivateAddressRefused::new(host, address)
}

/// reqwest's message and its causes (`error sending request: tcp connect error: Connection
/// refused`): reqwest's own says little alone. The URL was removed before.
fn causes(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        let message = current.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        cause = current.source();
    }
    text
}

impl Error {
    /// The protocol step the error belongs to, when it is known.
    pub fn purpose(&self) -> Option<Purpose> {
        match self {
            Self::Transport { purpose, .. }
            | Self::Timeout { purpose }
            | Self::BodyTooLarge { purpose, .. }
            | Self::PrivateAddress { purpose, .. } => *purpose,
            Self::Flow(error) => error.purpose(),
            Self::Config(_) | Self::InvalidRequest(_) => None,
        }
    }

    /// Whether this is a failure to get a response (transport, timeout, body cap, address
    /// guard) rather than the flow's own verdict.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Transport { .. }
                | Self::Timeout { .. }
                | Self::BodyTooLarge { .. }
                | Self::PrivateAddress { .. }
        )
    }

    /// Tags a transport-level error with the step of the request that failed.
    pub(crate) fn with_purpose(mut self, step: Purpose) -> Self {
        match &mut self {
            Self::Transport { purpose, .. }
            | Self::Timeout { purpose }
            | Self::BodyTooLarge { purpose, .. }
            | Self::PrivateAddress { purpose, .. } => *purpose = Some(step),
            _ => {}
        }
        self
    }

    /// The form handed to callers waiting on a flight this error ended: the core's
    /// [`xaa::Error::Transport`], with this error's message.
    pub(crate) fn to_flow_error(&self) -> xaa::Error {
        match self {
            Self::Flow(error) => error.clone(),
            other => xaa::Error::Transport {
                purpose: other.purpose(),
                message: match other {
                    // The message without the purpose prefix: the core adds its own.
                    Self::Transport { source, .. } => causes(source),
                    Self::Timeout { .. } => "request timed out".into(),
                    Self::BodyTooLarge { limit, .. } => {
                        format!("response body exceeds the limit of {limit} bytes")
                    }
                    Self::PrivateAddress { host, address, .. } => {
                        format!("refused to connect: {}", refusal(host, *address))
                    }
                    other => other.to_string(),
                },
            },
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(current) = cause {
            if let Some(refused) = current.downcast_ref::<PrivateAddressRefused>() {
                return Self::PrivateAddress {
                    purpose: None,
                    host: refused.host.clone(),
                    address: refused.address,
                };
            }
            cause = current.source();
        }
        if error.is_timeout() {
            return Self::Timeout { purpose: None };
        }
        Self::Transport {
            purpose: None,
            source: error.without_url(),
        }
    }
}
