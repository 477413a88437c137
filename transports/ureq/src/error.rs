//! The crate's one error type.

use std::net::IpAddr;

use xaa::Purpose;

use crate::guard::PrivateAddressRefused;

/// Everything that can go wrong in this crate.
///
/// `Display` names the protocol step when there is one (`token_exchange: ...`) and never prints
/// a token, a header or a request body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No response: connection refused, TLS failure, I/O error, malformed response.
    #[error("{}transport failed: {source}", prefix(*purpose))]
    Transport {
        /// The step whose request failed, when it was a flow's request.
        purpose: Option<Purpose>,
        /// What ureq said.
        #[source]
        source: ureq::Error,
    },
    /// No complete response within the client's timeout.
    #[error("{}request timed out ({reason})", prefix(*purpose))]
    Timeout {
        /// The step whose request timed out, when it was a flow's request.
        purpose: Option<Purpose>,
        /// Which of ureq's timeouts fired.
        reason: ureq::Timeout,
    },
    /// The response body was larger than the limit: nothing of it is handed on.
    #[error("{}response body exceeds the limit of {limit} bytes", prefix(*purpose))]
    BodyTooLarge {
        /// The step whose response was too large, when it was a flow's request.
        purpose: Option<Purpose>,
        /// The limit in bytes.
        limit: usize,
    },
    /// The caller's deadline ([`Client::run_until`](crate::Client::run_until),
    /// [`Client::send_until`](crate::Client::send_until)) left no time for the request, or
    /// passed before its response was read.
    #[error("{}the deadline passed before a complete response", prefix(*purpose))]
    DeadlineExceeded {
        /// The step whose request had no time left, when it was a flow's request.
        purpose: Option<Purpose>,
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
    /// The request cannot be sent as given (an access token that is not a valid header value,
    /// a method or URI ureq refuses).
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

impl Error {
    /// The protocol step the error belongs to, when it is known.
    pub fn purpose(&self) -> Option<Purpose> {
        match self {
            Self::Transport { purpose, .. }
            | Self::Timeout { purpose, .. }
            | Self::BodyTooLarge { purpose, .. }
            | Self::DeadlineExceeded { purpose }
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
                | Self::DeadlineExceeded { .. }
                | Self::PrivateAddress { .. }
        )
    }

    /// Tags a transport-level error with the step of the request that failed.
    pub(crate) fn with_purpose(mut self, step: Purpose) -> Self {
        match &mut self {
            Self::Transport { purpose, .. }
            | Self::Timeout { purpose, .. }
            | Self::BodyTooLarge { purpose, .. }
            | Self::DeadlineExceeded { purpose }
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
                    Self::Transport { source, .. } => source.to_string(),
                    Self::Timeout { reason, .. } => format!("request timed out ({reason})"),
                    Self::BodyTooLarge { limit, .. } => {
                        format!("response body exceeds the limit of {limit} bytes")
                    }
                    Self::DeadlineExceeded { .. } => {
                        "the deadline passed before a complete response".into()
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

impl From<ureq::Error> for Error {
    fn from(error: ureq::Error) -> Self {
        match error {
            ureq::Error::Timeout(reason) => Self::Timeout {
                purpose: None,
                reason,
            },
            ureq::Error::BodyExceedsLimit(limit) => Self::BodyTooLarge {
                purpose: None,
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            },
            ureq::Error::Other(inner) => match inner.downcast::<PrivateAddressRefused>() {
                Ok(refused) => Self::PrivateAddress {
                    purpose: None,
                    host: refused.host,
                    address: refused.address,
                },
                Err(inner) => Self::Transport {
                    purpose: None,
                    source: ureq::Error::Other(inner),
                },
            },
            source => Self::Transport {
                purpose: None,
                source,
            },
        }
    }
}
