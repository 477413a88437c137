//! reqwest's errors mapped into the shared error set, never with a URL.

use xaa::discovery::PrivateAddressRefused;

use crate::Error;

/// reqwest's error as the shared one: the address guard's refusal (somewhere in the causes:
/// the resolver's error) and timeouts get their own variants; the URL is removed.
pub(crate) fn failure(error: reqwest::Error) -> Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<PrivateAddressRefused>() {
            return Error::refused(refused.clone());
        }
        cause = current.source();
    }
    let source = error.without_url();
    if source.is_timeout() {
        return Error::Timeout {
            purpose: None,
            source,
        };
    }
    Error::Transport {
        purpose: None,
        source,
    }
}

/// reqwest's message and its causes (`error sending request: tcp connect error: Connection
/// refused`): reqwest's own says little alone. The URL was removed before.
pub(crate) fn causes(error: &reqwest::Error) -> String {
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
