//! What `xaa token` prints: the access token alone on stdout (or one JSON document), and only a
//! token that is safe to paste into an `Authorization` header.

use std::time::SystemTime;

use serde_json::json;
use xaa::cache::CachedToken;

use crate::exit::Failure;
use crate::terminal;
use crate::timefmt::{rfc3339, unix};

/// The most bytes of an access token the command prints (64 KiB): more is no token a server
/// would accept in a header.
const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Whether `token` has RFC 6750 section 2.1's `b64token` syntax,
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`: the only form a bearer
/// token may take in an `Authorization` header. Anything else (spaces, CR, LF, ESC, quotes)
/// would inject headers or terminal controls into whatever the token is pasted into.
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_TOKEN_BYTES
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Refuses an access token that is not a `b64token`, saying so (the token itself is never
/// shown).
pub(crate) fn check_printable(token: &CachedToken) -> Result<(), Failure> {
    if is_b64token(token.access_token.expose_secret()) {
        Ok(())
    } else {
        Err(Failure::Protocol(
            "the authorization server issued an access token that is not a bearer token's \
             b64token (RFC 6750 section 2.1: letters, digits and -._~+/ with trailing =); it \
             is neither printed nor stored"
                .into(),
        ))
    }
}

/// Prints the token (stdout), or the JSON document with what it is for: `token_type` says
/// how to send it (`Bearer`, or `DPoP` with a proof, RFC 9449 section 7.1) and `jkt` names
/// the key it is bound to (`null` for a bearer token).
pub(crate) fn print(
    json_output: bool,
    token: &CachedToken,
    resource: &str,
    authorization_server: &str,
    now: SystemTime,
) -> Result<(), Failure> {
    check_printable(token)?;
    if json_output {
        let document = json!({
            "access_token": token.access_token.expose_secret(),
            "token_type": token.token_type,
            "jkt": token.access_token.dpop_jkt(),
            "expires_at": rfc3339(unix(token.expires_at)),
            "expires_in": token.expires_at.duration_since(now).unwrap_or_default().as_secs(),
            "scope": token.scope.as_ref().map(ToString::to_string),
            "resource": resource,
            "authorization_server": authorization_server,
        });
        println!("{}", terminal::json(&document, false));
    } else {
        println!("{}", token.access_token.expose_secret());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_syntax() {
        for good in ["abc", "a.b.c", "A-Z_a~z+0/9==", "x="] {
            assert!(is_b64token(good), "{good}");
        }
        for bad in [
            "",
            "=",
            "a b",
            "a\r\nX-Injected: 1",
            "a\u{1b}[2J",
            "a=b",
            "a\"",
            "tök",
            "a,b",
        ] {
            assert!(!is_b64token(bad), "{bad:?}");
        }
        assert!(!is_b64token(&"a".repeat(MAX_TOKEN_BYTES + 1)));
    }
}
