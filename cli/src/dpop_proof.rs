//! `xaa dpop-proof`: one DPoP proof (RFC 9449 section 4) for one request, signed with the key
//! `xaa token` binds its tokens to, so that a shell user can send a bound token with curl.
//!
//! The proof carries `htm` and `htu` (section 4.2), `ath` when an access token is given
//! (section 7.1), the server's `nonce` when given (section 9), and `content_digest` of the
//! exact bytes of a body file when asked (MCP's draft DPoP extension). Only the proof reaches
//! stdout; the key and the access token never reach any output.

use std::path::Path;
use std::time::SystemTime;

use url::Url;
use xaa::AccessToken;
use xaa::dpop::{DpopProofClaims, DpopSigner};
use xaa::jose::RandomJti;

use crate::args::DpopProofArgs;
use crate::dpop_key::{self, KeySource};
use crate::exit::Failure;
use crate::local_file::{MAX_BODY_BYTES, Privacy, read_bounded};
use crate::secrets::SecretSource;
use crate::store::{FileStore, IfMissing};
use crate::terminal::shown;
use crate::token::is_b64token;

/// Prints one proof for the request the options describe.
pub(crate) fn run(args: DpopProofArgs) -> Result<(), Failure> {
    let method = http::Method::from_bytes(args.method.as_bytes()).map_err(|_| {
        Failure::Usage(format!(
            "--method {}: not an HTTP method",
            shown(&args.method)
        ))
    })?;
    let mut claims = DpopProofClaims::new(&method, &args.url, &RandomJti, SystemTime::now())
        .map_err(|_| {
            Failure::Usage(format!(
                "--url {}: not an absolute http or https URL without user information",
                shown(&args.url)
            ))
        })?;
    if let Some(nonce) = &args.nonce {
        claims = claims.with_nonce(checked_nonce(nonce)?);
    }
    let body = args
        .body_file
        .as_deref()
        .map(|path| read_bounded(path, "request body", MAX_BODY_BYTES, Privacy::Public))
        .transpose()?;
    let store = args
        .token_store
        .as_deref()
        .map(|path| FileStore::open(path, args.credential_store.choice))
        .transpose()?;
    let source = KeySource::pick(args.dpop_key.as_deref(), args.dpop)?;
    let chosen = dpop_key::load(source, store.as_ref(), IfMissing::Refuse)?
        .ok_or_else(|| Failure::Usage("give the key: --dpop-key FILE or --dpop".into()))?;
    let signer: &dyn DpopSigner = chosen.key.as_ref();
    let token = match (&args.access_token_file, args.from_store) {
        (Some(path), _) => Some(token_from_file(path)?),
        (None, true) => Some(token_from_store(
            store.as_ref(),
            &signer.jkt(),
            &claims.htu,
        )?),
        (None, false) => None,
    };
    if let Some(token) = &token {
        claims = claims.with_access_token(token, signer);
    }
    if let Some(body) = &body {
        claims = claims.with_content_digest(body, signer);
    }
    let proof = claims.sign(signer).map_err(|e| {
        Failure::Usage(format!(
            "the proof could not be made: {}",
            shown(&e.to_string())
        ))
    })?;
    println!("{}", proof.as_str());
    Ok(())
}

/// The longest nonce accepted, as the library's nonce memory keeps them.
const MAX_NONCE_BYTES: usize = 1024;

/// `nonce` if it has the syntax of RFC 9449 section 8.1, `1*NQCHAR` (visible ASCII without
/// `"` and `\`), and at most [`MAX_NONCE_BYTES`].
fn checked_nonce(nonce: &str) -> Result<&str, Failure> {
    let nqchar = |b: u8| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e);
    if !nonce.is_empty() && nonce.len() <= MAX_NONCE_BYTES && nonce.bytes().all(nqchar) {
        Ok(nonce)
    } else {
        Err(Failure::Usage(format!(
            "--nonce: a DPoP nonce is 1 to {MAX_NONCE_BYTES} visible ASCII characters other \
             than \" and \\ (RFC 9449 section 8.1)"
        )))
    }
}

/// The access token in `path`: a secret file (private to this user), and a token a server
/// could receive in an `Authorization` header (RFC 6750 section 2.1's `b64token`).
fn token_from_file(path: &str) -> Result<AccessToken, Failure> {
    let value = SecretSource::File(path.to_owned()).read("access token")?;
    if !is_b64token(&value) {
        return Err(Failure::Usage(format!(
            "access token {}: it is not a token (letters, digits and -._~+/ with trailing =, \
             RFC 6750 section 2.1); it is not shown",
            shown(Path::new(path).to_string_lossy().as_ref())
        )));
    }
    Ok(AccessToken::new(value))
}

/// The one token in the store that is bound to the key `jkt`, still valid, and for the
/// resource `htu` is part of. Several (other users, other scopes) are ambiguous: the user
/// names the token then.
fn token_from_store(
    store: Option<&FileStore>,
    jkt: &str,
    htu: &str,
) -> Result<AccessToken, Failure> {
    let store =
        store.ok_or_else(|| Failure::Usage("--from-store needs --token-store FILE".into()))?;
    let stored = store.load()?;
    let now = SystemTime::now();
    let fitting: Vec<&AccessToken> = stored
        .tokens()
        .filter(|(key, token)| {
            token.access_token.dpop_jkt() == Some(jkt)
                && now < token.expires_at
                && serves(key.resource(), htu)
        })
        .map(|(_, token)| &token.access_token)
        .collect();
    match fitting.as_slice() {
        [token] => Ok((*token).clone()),
        [] => Err(Failure::Usage(format!(
            "the token store holds no valid token bound to this key for {}; get one with xaa \
             token and the same key, or give --access-token-file",
            shown(htu)
        ))),
        several => Err(Failure::Usage(format!(
            "the token store holds {} valid tokens bound to this key for {} (other users or \
             scopes); give the one to send with --access-token-file",
            several.len(),
            shown(htu)
        ))),
    }
}

/// Whether a token for `resource` (RFC 8707) is meant for a request to `htu`: the same
/// origin, and the resource's path or a path below it.
fn serves(resource: &str, htu: &str) -> bool {
    let (Ok(resource), Ok(target)) = (Url::parse(resource), Url::parse(htu)) else {
        return false;
    };
    if resource.origin() != target.origin() || !resource.origin().is_tuple() {
        return false;
    }
    let (base, path) = (resource.path(), target.path());
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| base.ends_with('/') || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_serves_its_own_path_and_below_only() {
        let resource = "https://mcp.example.com/mcp";
        for target in [
            "https://mcp.example.com/mcp",
            "https://mcp.example.com/mcp/tools",
            "https://MCP.example.com:443/mcp",
        ] {
            assert!(serves(resource, target), "{target}");
        }
        for target in [
            "https://mcp.example.com/mcpx",
            "https://mcp.example.com/",
            "http://mcp.example.com/mcp",
            "https://mcp.example.com:8443/mcp",
            "https://other.example.com/mcp",
            "not a url",
        ] {
            assert!(!serves(resource, target), "{target}");
        }
        assert!(serves(
            "https://mcp.example.com/",
            "https://mcp.example.com/a"
        ));
    }

    #[test]
    fn nonces_have_the_syntax_of_rfc_9449() {
        for good in ["n", "eyJ7S_zG.eyJH0-Z.HX4w-7v", "!#[]~"] {
            assert!(checked_nonce(good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "a\r\nDPoP: x", "é", "a\u{7f}"] {
            assert!(checked_nonce(bad).is_err(), "{bad:?}");
        }
        assert!(checked_nonce(&"n".repeat(MAX_NONCE_BYTES)).is_ok());
        assert!(checked_nonce(&"n".repeat(MAX_NONCE_BYTES + 1)).is_err());
    }
}
