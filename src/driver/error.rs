//! [`DriverError`]: the one error set of every driver, each mapping its client's failures into it.

use std::fmt;
use std::net::IpAddr;

use super::transport::Transport;
use crate::discovery::PrivateAddressRefused;
use crate::{DriveError, Purpose};

/// Everything that can go wrong in a driver: no response at all (the first five variants,
/// [`DriverError::is_transport`]), the flow's own verdict, or a client that cannot be built or a
/// request that cannot be sent.
///
/// `Display` names the protocol step when there is one (`token_exchange: ...`) and never prints
/// a token, a header, a request body or a URL.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum DriverError<T: Transport> {
    /// No response: connection refused, TLS failure, I/O error, malformed response.
    #[error("{}transport failed: {}", prefix(*purpose), T::describe(source))]
    Transport {
        /// The step whose request failed, when it was a flow's request.
        purpose: Option<Purpose>,
        /// What the HTTP client said.
        #[source]
        source: T::Failure,
    },
    /// No complete response within the client's timeout.
    #[error("{}{}", prefix(*purpose), timed_out::<T>(source))]
    Timeout {
        /// The step whose request timed out, when it was a flow's request.
        purpose: Option<Purpose>,
        /// What the HTTP client said.
        #[source]
        source: T::Failure,
    },
    /// The response body was larger than the limit: nothing of it is handed on.
    #[error("{}response body exceeds the limit of {limit} bytes", prefix(*purpose))]
    BodyTooLarge {
        /// The step whose response was too large, when it was a flow's request.
        purpose: Option<Purpose>,
        /// The limit in bytes.
        limit: usize,
    },
    /// The caller's deadline (`run_until`, `send_until`) left no time for the request, or
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
    #[error("{}refused to connect: {}", prefix(*purpose), PrivateAddressRefused::new(host, *address))]
    PrivateAddress {
        /// The step whose request was refused, when it was a flow's request.
        purpose: Option<Purpose>,
        /// The host name or IP literal of the request.
        host: String,
        /// The first refused address it resolved to; [`crate::discovery::classify`] gives its
        /// class.
        address: IpAddr,
    },
    /// The flow ended with an error: an OAuth error, a failed check, a configuration error, or
    /// a transport failure in a flight another caller ran ([`crate::Error::Transport`]).
    #[error(transparent)]
    Flow(#[from] crate::Error),
    /// The client could not be built: an unparsable root certificate or proxy URL.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The request cannot be sent as given (an access token that is not a valid header value,
    /// a method or URI the client refuses).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
}

impl<T: Transport> fmt::Debug for DriverError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport { purpose, source } => f
                .debug_struct("Transport")
                .field("purpose", purpose)
                .field("source", source)
                .finish(),
            Self::Timeout { purpose, source } => f
                .debug_struct("Timeout")
                .field("purpose", purpose)
                .field("source", source)
                .finish(),
            Self::BodyTooLarge { purpose, limit } => f
                .debug_struct("BodyTooLarge")
                .field("purpose", purpose)
                .field("limit", limit)
                .finish(),
            Self::DeadlineExceeded { purpose } => f
                .debug_struct("DeadlineExceeded")
                .field("purpose", purpose)
                .finish(),
            Self::PrivateAddress {
                purpose,
                host,
                address,
            } => f
                .debug_struct("PrivateAddress")
                .field("purpose", purpose)
                .field("host", host)
                .field("address", address)
                .finish(),
            Self::Flow(error) => f.debug_tuple("Flow").field(error).finish(),
            Self::Config(reason) => f.debug_tuple("Config").field(reason).finish(),
            Self::InvalidRequest(reason) => f.debug_tuple("InvalidRequest").field(reason).finish(),
        }
    }
}

fn prefix(purpose: Option<Purpose>) -> String {
    purpose.map(|p| format!("{p}: ")).unwrap_or_default()
}

fn timed_out<T: Transport>(source: &T::Failure) -> String {
    match T::timeout_detail(source) {
        Some(detail) => format!("request timed out ({detail})"),
        None => "request timed out".into(),
    }
}

impl<T: Transport> DriverError<T> {
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

    /// Whether this is a failure to get a response (transport, timeout, body cap, deadline,
    /// address guard) rather than the flow's own verdict.
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

    /// The guard's refusal as this error, with no purpose yet.
    pub fn refused(refused: PrivateAddressRefused) -> Self {
        Self::PrivateAddress {
            purpose: None,
            host: refused.host,
            address: refused.address,
        }
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
    /// [`crate::Error::Transport`], with this error's message.
    pub(crate) fn to_flow_error(&self) -> crate::Error {
        match self {
            Self::Flow(error) => error.clone(),
            other => crate::Error::Transport {
                purpose: other.purpose(),
                message: match other {
                    // The message without the purpose prefix: the core adds its own.
                    Self::Transport { source, .. } => T::describe(source),
                    Self::Timeout { source, .. } => timed_out::<T>(source),
                    Self::BodyTooLarge { limit, .. } => {
                        format!("response body exceeds the limit of {limit} bytes")
                    }
                    Self::DeadlineExceeded { .. } => {
                        "the deadline passed before a complete response".into()
                    }
                    Self::PrivateAddress { host, address, .. } => format!(
                        "refused to connect: {}",
                        PrivateAddressRefused::new(host, *address)
                    ),
                    other => other.to_string(),
                },
            },
        }
    }

    /// A drive's error as this one: a transport failure keeps its type and gains the step.
    pub(crate) fn from_drive(error: DriveError<Self>) -> Self {
        match error {
            DriveError::Transport { purpose, source } => source.with_purpose(purpose),
            DriveError::Flow(error) => Self::Flow(error),
        }
    }
}
