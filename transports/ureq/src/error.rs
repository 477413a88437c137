//! ureq's errors mapped into the shared error set.

use xaa::discovery::PrivateAddressRefused;

use crate::Error;

/// ureq's error as the shared one: its timeouts, its body limit and the address guard's
/// refusal (carried through ureq as `Error::Other`) get their own variants.
pub(crate) fn failure(error: ureq::Error) -> Error {
    match error {
        ureq::Error::Timeout(_) => Error::Timeout {
            purpose: None,
            source: error,
        },
        ureq::Error::BodyExceedsLimit(limit) => Error::BodyTooLarge {
            purpose: None,
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        },
        ureq::Error::Other(inner) => match inner.downcast::<PrivateAddressRefused>() {
            Ok(refused) => Error::refused(*refused),
            Err(inner) => Error::Transport {
                purpose: None,
                source: ureq::Error::Other(inner),
            },
        },
        source => Error::Transport {
            purpose: None,
            source,
        },
    }
}
