//! The ways the sign-in side misbehaves on purpose, one per check a client must make.

/// How [`Fault::AuthorizationResponse`](crate::Fault::AuthorizationResponse) breaks the
/// redirect the sign-in form answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthorizationResponseFault {
    /// `state` is not the one the client sent (RFC 6749 section 10.12: CSRF).
    WrongState,
    /// No `state`, though the client sent one (RFC 6749 section 4.1.2).
    MissingState,
    /// `iss` is [`EVIL_ORIGIN`](crate::EVIL_ORIGIN) (RFC 9207 section 2.4: mix-up).
    WrongIssuer,
    /// No `iss`, though the metadata advertises it (RFC 9207 section 2.4).
    MissingIssuer,
    /// `error=access_denied` and no code, as when the person declines (RFC 6749 section
    /// 4.1.2.1).
    AccessDenied,
}

/// How [`Fault::IdToken`](crate::Fault::IdToken) breaks the ID token of a sign-in grant
/// (each a check of OpenID Connect Core 1.0 section 3.1.3.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdTokenFault {
    /// `nonce` is not the one the client sent (section 3.1.3.7 item 11).
    WrongNonce,
    /// `aud` is another client (item 3).
    WrongAudience,
    /// `iss` is [`EVIL_ORIGIN`](crate::EVIL_ORIGIN) (item 2).
    WrongIssuer,
    /// `exp` two minutes in the past (item 9).
    Expired,
    /// `iat` an hour in the future.
    IssuedInFuture,
    /// Signed by the IdP's key, then one bit of the signature flipped (item 6).
    BadSignature,
    /// Signed by a key the JWKS never publishes, under a `kid` it does not know.
    UnknownKid,
    /// Header `alg` `none`, no signature (RFC 8725 section 3.1).
    AlgNone,
    /// `HS256` with the IdP client's secret as the key, under the IdP key's `kid` (RFC 8725
    /// section 3.1: algorithm confusion).
    Hmac,
}

/// How [`Fault::DeviceGrant`](crate::Fault::DeviceGrant) answers a device-code poll
/// (RFC 8628 section 3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceGrantFault {
    /// `expired_token`.
    Expired,
    /// `access_denied`.
    Denied,
    /// `slow_down`, every time, whatever the interval kept.
    AlwaysSlowDown,
}
