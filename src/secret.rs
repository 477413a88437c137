//! Redacted, zeroized newtypes for every secret the flow handles.
//!
//! None of these types implements `Display`, and their `Debug` prints only the type name and
//! `[redacted]`, so a token can end up in a log line only through an explicit
//! [`expose_secret`](IdToken::expose_secret) call. Their memory is zeroized on drop.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident $(, derived $memo:ident: $memo_type:ty = $derive:path)?) => {
        $(#[$meta])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name {
            value: String,
            $(
                /// Kept beside the value (derived from it when wrapped); not secret, not
                /// compared, not serialized.
                #[zeroize(skip)]
                $memo: $memo_type,
            )?
        }

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                let value = value.into();
                Self {
                    $($memo: $derive(&value),)?
                    value,
                }
            }

            /// The secret itself. Every call site is a place where it may leave the process:
            /// keep them few and never log the result.
            pub fn expose_secret(&self) -> &str {
                &self.value
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.value.is_empty()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.value == other.value
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::new)
            }
        }
    };
}

secret_type!(
    /// An OpenID Connect ID token issued by the enterprise IdP: a subject token.
    IdToken, derived expiry: Option<u64> = crate::jwt::unverified_expiry
);

impl IdToken {
    /// Its `exp` (unverified, seconds since the epoch), read once when the token was wrapped
    /// and kept with it, clones included: every exchange checks it before sending the token.
    /// `None` when the token is not a JWS with a numeric `exp`.
    pub(crate) fn expiry(&self) -> Option<u64> {
        self.expiry
    }
}
secret_type!(
    /// A SAML 2.0 assertion, base64url-encoded as RFC 8693 section 3 requires: a subject token.
    SamlAssertion
);
secret_type!(
    /// An Identity Assertion JWT Authorization Grant, the output of the token exchange.
    IdJag
);
secret_type!(
    /// An access token issued by the MCP authorization server. A DPoP-bound one knows the
    /// thumbprint of its key, and is sent only with a proof by that key, never as a bearer
    /// token (RFC 9449 section 7.1).
    AccessToken, derived dpop_jkt: Option<std::sync::Arc<str>> = unbound
);

/// A token wrapped from its value alone is a bearer token.
fn unbound(_: &str) -> Option<std::sync::Arc<str>> {
    None
}

impl AccessToken {
    /// The token, bound to the DPoP key whose RFC 7638 thumbprint is `jkt` (RFC 9449 section
    /// 6.1): as the authorization server issued it with `token_type` `DPoP`.
    pub fn bound_to(mut self, jkt: impl Into<std::sync::Arc<str>>) -> Self {
        self.dpop_jkt = Some(jkt.into());
        self
    }

    /// The thumbprint of the DPoP key it is bound to; `None` for a bearer token.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.dpop_jkt.as_deref()
    }
}
secret_type!(
    /// A refresh token issued by the enterprise IdP (a subject token, protocol.md 2.6 and 2.7).
    RefreshToken
);
secret_type!(
    /// A client secret (`client_secret_basic` or `client_secret_post`).
    ClientSecret
);
secret_type!(
    /// A JWT used as an authorization grant or a client assertion (RFC 7523): an ID-JAG supplied
    /// by the caller, a workload-identity token, or a `private_key_jwt` assertion.
    Assertion
);

/// Compares two byte strings in time that depends only on their lengths (decisions.md D24).
#[cfg(any(feature = "server", feature = "signin"))]
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut difference = 0u8;
    for (x, y) in a.iter().zip(b) {
        difference |= x ^ y;
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let token = AccessToken::new("very-secret-value");
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        assert_eq!(
            format!("{:#?}", Some(token)),
            "Some(\n    AccessToken([redacted]),\n)"
        );
    }

    #[test]
    fn an_id_token_carries_its_expiry_outside_its_value() {
        // {"exp":5} and {"exp":7}, unsigned.
        let five = IdToken::new("e30.eyJleHAiOjV9.c2ln");
        assert_eq!(five.expiry(), Some(5));
        assert_eq!(five.clone().expiry(), Some(5));
        assert_eq!(IdToken::new("e30.eyJleHAiOjd9.c2ln").expiry(), Some(7));
        assert_eq!(IdToken::new("not a jwt").expiry(), None);
        // Not part of the value: serialized as the token alone, and read back from it.
        let json = serde_json::to_string(&five).expect("serializes");
        assert_eq!(json, "\"e30.eyJleHAiOjV9.c2ln\"");
        let read_back: IdToken = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(read_back.expiry(), Some(5));
        assert_eq!(read_back, five);
    }

    #[cfg(feature = "server")]
    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
