//! The [`Flow`] trait every protocol step implements, and what it hands the caller.
//!
//! A flow is a pure state machine. It never opens a socket, reads a clock or sleeps: the caller
//! polls it for [`Output`]s, performs the HTTP requests it describes, and feeds the responses back.
//! See the crate documentation for the numbered run-loop contract.

use std::fmt;
use std::time::SystemTime;

use crate::Error;

/// An HTTP request described by a flow; the caller sends it.
pub type HttpRequest = http::Request<Vec<u8>>;

/// An HTTP response the caller received and hands back to the flow.
pub type HttpResponse = http::Response<Vec<u8>>;

/// Identifies one [`Transmit`] of a flow, so its response can be handed back in any order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransmitId(pub(crate) u32);

impl TransmitId {
    /// An id with the given value, for flows written outside this crate.
    pub const fn new(value: u32) -> Self {
        Self(value)
    }

    /// The numeric value, unique within one flow.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for TransmitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for TransmitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Hands out [`TransmitId`]s in increasing order.
#[derive(Debug, Default, Clone)]
pub(crate) struct TransmitIds {
    next: u32,
}

impl TransmitIds {
    pub(crate) fn allocate(&mut self) -> TransmitId {
        let id = TransmitId(self.next);
        self.next = self.next.saturating_add(1);
        id
    }

    /// `request`, for `purpose`, under the next id.
    pub(crate) fn transmit(&mut self, purpose: Purpose, request: HttpRequest) -> Transmit {
        Transmit {
            id: self.allocate(),
            purpose,
            request,
        }
    }
}

/// Which step of the protocol a request belongs to. Errors name it too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// The unauthenticated MCP `initialize` POST that provokes the 401 challenge (decisions.md D6).
    ResourceProbe,
    /// Protected-resource metadata (RFC 9728).
    ResourceMetadata,
    /// The MCP authorization server's metadata (RFC 8414 / OpenID Connect Discovery).
    AuthorizationServerMetadata,
    /// The enterprise IdP's metadata (RFC 8414 / OpenID Connect Discovery).
    IdpMetadata,
    /// The RFC 8693 token exchange at the IdP: subject token in, ID-JAG out.
    TokenExchange,
    /// The SAML-assertion-for-IdP-refresh-token exchange (protocol.md 2.7 option B, decisions.md D15).
    SamlRefreshExchange,
    /// The RFC 7523 jwt-bearer grant at the MCP authorization server: ID-JAG in, access token out.
    JwtBearer,
    /// Signing in: the authorization request a browser carries to the IdP (RFC 6749 section
    /// 4.1.1); never a transmit, it names errors about the authorization endpoint.
    #[cfg(feature = "signin")]
    Authorization,
    /// Signing in: the code exchange at the IdP's token endpoint (RFC 6749 section 4.1.3).
    #[cfg(feature = "signin")]
    CodeExchange,
    /// Signing in: the device authorization request (RFC 8628 section 3.1).
    #[cfg(feature = "signin")]
    DeviceAuthorization,
    /// Signing in: a poll of the token endpoint with the device code (RFC 8628 section 3.4).
    #[cfg(feature = "signin")]
    DeviceToken,
    /// Signing in: the IdP's key set, fetched from `jwks_uri` (OpenID Connect Core 1.0 section
    /// 10.1.1).
    #[cfg(feature = "signin")]
    IdpKeys,
    /// Signing in: renewing the session with a refresh token (RFC 6749 section 6).
    #[cfg(feature = "signin")]
    Refresh,
    /// Signing in: revoking a refresh token (RFC 7009 section 2.1).
    #[cfg(feature = "signin")]
    Revocation,
}

impl Purpose {
    /// Every purpose of the enterprise flow, in the order of a cold flow (the sign-in purposes
    /// of `xaa::signin` are not part of it).
    pub const ALL: [Purpose; 7] = [
        Purpose::ResourceProbe,
        Purpose::ResourceMetadata,
        Purpose::AuthorizationServerMetadata,
        Purpose::IdpMetadata,
        Purpose::SamlRefreshExchange,
        Purpose::TokenExchange,
        Purpose::JwtBearer,
    ];

    /// A short stable name, used in logs (`purpose` field) and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::ResourceProbe => "resource_probe",
            Purpose::ResourceMetadata => "resource_metadata",
            Purpose::AuthorizationServerMetadata => "authorization_server_metadata",
            Purpose::IdpMetadata => "idp_metadata",
            Purpose::TokenExchange => "token_exchange",
            Purpose::SamlRefreshExchange => "saml_refresh_exchange",
            Purpose::JwtBearer => "jwt_bearer",
            #[cfg(feature = "signin")]
            Purpose::Authorization => "authorization",
            #[cfg(feature = "signin")]
            Purpose::CodeExchange => "code_exchange",
            #[cfg(feature = "signin")]
            Purpose::DeviceAuthorization => "device_authorization",
            #[cfg(feature = "signin")]
            Purpose::DeviceToken => "device_token",
            #[cfg(feature = "signin")]
            Purpose::IdpKeys => "idp_keys",
            #[cfg(feature = "signin")]
            Purpose::Refresh => "refresh",
            #[cfg(feature = "signin")]
            Purpose::Revocation => "revocation",
        }
    }

    /// Whether the request carries client credentials (a token endpoint).
    pub fn is_token_request(self) -> bool {
        match self {
            Purpose::TokenExchange | Purpose::SamlRefreshExchange | Purpose::JwtBearer => true,
            #[cfg(feature = "signin")]
            Purpose::CodeExchange
            | Purpose::DeviceAuthorization
            | Purpose::DeviceToken
            | Purpose::Refresh
            | Purpose::Revocation => true,
            _ => false,
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request the caller must send, then answer with [`Flow::handle_response`].
#[must_use = "a Transmit must be sent and its response handed back to the flow"]
pub struct Transmit {
    /// Pass this id back with the response.
    pub id: TransmitId,
    /// The protocol step the request belongs to.
    pub purpose: Purpose,
    /// The request. Its body may hold credentials: never log it.
    pub request: HttpRequest,
}

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers and body can carry secrets (Basic credentials, subject tokens, assertions).
        f.debug_struct("Transmit")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("method", self.request.method())
            .field("uri", self.request.uri())
            .finish_non_exhaustive()
    }
}

/// What a flow wants next.
#[derive(Debug)]
#[must_use]
// A Transmit is handed out once per request; boxing it would add an allocation for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Output<T> {
    /// Send this request; more may follow before any response is needed.
    Transmit(Transmit),
    /// Nothing to send until an outstanding response is handed back.
    Wait,
    /// The flow finished. Polling again is [`Error::Misuse`].
    Done(T),
}

/// A sans-IO protocol step.
///
/// # Contract
///
/// The method groups follow quinn-proto's taxonomy:
///
/// * `poll_output` drains what the flow wants: call it until it returns [`Output::Wait`] or
///   [`Output::Done`]. Several [`Transmit`]s may be returned before any response is needed:
///   they are independent and may be in flight together.
/// * `handle_response` feeds the response of one outstanding transmit, in any order. After each
///   call, drain `poll_output` again.
/// * A response for an id that is not outstanding, or any call after `Done` or after an error,
///   is [`Error::Misuse`].
/// * Time is an argument: the flow never reads a clock.
pub trait Flow {
    /// What the flow produces when it is done.
    type Output;

    /// The next thing the flow wants, at `now`.
    fn poll_output(&mut self, now: SystemTime) -> Result<Output<Self::Output>, Error>;

    /// Hands back the response to the transmit `id`.
    fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error>;
}
