//! The secrets of a sign-in, each in a redacting, zeroizing newtype: the PKCE code verifier,
//! the `state` and `nonce` values, the authorization code and the device code
//! (docs/signin.md, "Secrets").
//!
//! None implements `Display`; `Debug` prints the type name and `[redacted]`. The value leaves
//! only through `expose_secret`.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! signin_secret {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself: keep the call sites few and never log the result.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

signin_secret!(
    /// The PKCE `code_verifier` (RFC 7636 section 4.1): 43 to 128 unreserved characters, sent
    /// only to the token endpoint.
    CodeVerifier
);
signin_secret!(
    /// The `state` of an authorization request (RFC 6749 section 10.12): binds the redirect to
    /// the browser session that started it.
    State
);
signin_secret!(
    /// The `nonce` of an authentication request (OpenID Connect Core 1.0 section 3.1.2.1):
    /// binds the ID token to the request.
    Nonce
);
signin_secret!(
    /// The authorization code the redirect carries (RFC 6749 section 4.1.2).
    AuthorizationCode
);
signin_secret!(
    /// The `device_code` of the device authorization grant (RFC 8628 section 3.2).
    DeviceCode
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let verifier = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(format!("{verifier:?}"), "CodeVerifier([redacted])");
        assert_eq!(format!("{:?}", State::new("s")), "State([redacted])");
        assert_eq!(verifier.expose_secret().len(), 43);
    }
}
