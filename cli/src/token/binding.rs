//! What a stored token belongs to: the user, and the settings and policy it was obtained
//! under. A stored token or discovery is reused only when all of them are the same now.
//!
//! - The user (the cache key's principal) is never guessed. An ID token's `iss` and `sub`
//!   name the entry (decisions.md D19); any other subject token is named by its digest.
//! - Either way, a stored token is reused only with the very subject token it was obtained
//!   with (its digest is part of the binding): an ID token's claims are not verified by the
//!   client, so a token claiming someone else's `sub` must not unlock their stored token.
//! - The settings that decide where requests go and what is accepted (the servers, the
//!   clients, a pinned authorization server, `--insecure-loopback`, the address guard's
//!   exemptions, `--resolve`) are part of the binding too (the scope is in the cache key): a token obtained over
//!   plain http, from another authorization server or under a looser guard is not reused
//!   under stricter settings.
//! - The DPoP key's thumbprint and the policy are part of a token's binding: a token bound to
//!   a key is reused only with that key (RFC 9449 section 7.1), and a bearer token accepted
//!   under `preferred` is not reused under `required`.

use serde_json::json;
use xaa::cache::Principal;
use xaa::dpop::DpopPolicy;
use xaa::grant::SubjectToken;

use crate::args::TokenArgs;

/// The bindings of one run.
pub(crate) struct Bindings {
    /// For a stored discovery: the settings.
    pub(crate) discovery: String,
    /// For a stored token: the settings and the subject token.
    pub(crate) token: String,
}

impl Bindings {
    /// The bindings for these settings, the subject token of this digest, and the DPoP key
    /// (its thumbprint) and policy when there is one: a token obtained with one key, or under
    /// a looser policy, is not reused with another key or under a stricter one.
    pub(crate) fn new(
        args: &TokenArgs,
        subject_digest: &str,
        dpop: Option<(&str, DpopPolicy)>,
    ) -> Self {
        let settings = json!({
            "server": args.server,
            "idp_issuer": args.idp_issuer,
            "idp_token_endpoint": args.idp_token_endpoint,
            "idp_client_id": args.idp_client_id,
            "as_client_id": args.as_client_id,
            "authorization_server": args.authorization_server,
            "subject_token_type": args.subject_token_type.map(|kind| format!("{kind:?}")),
            "insecure_loopback": args.insecure_loopback.unwrap_or(false),
            "allow_private_addresses": args.allow_private_addresses.unwrap_or(false),
            "allow_private_host": args.allow_private_host,
            "resolve": args.resolve,
        });
        let discovery = digest(settings.to_string().as_bytes());
        let token = match dpop {
            None => digest(format!("{discovery} {subject_digest}").as_bytes()),
            Some((jkt, policy)) => {
                digest(format!("{discovery} {subject_digest} dpop {jkt} {policy:?}").as_bytes())
            }
        };
        Self { discovery, token }
    }
}

/// The principal of a stored token: the ID token's issuer and subject, else the digest of the
/// subject token itself.
pub(crate) fn principal(subject: &SubjectToken, subject_digest: &str) -> Principal {
    match subject.principal() {
        Some((issuer, sub)) => Principal::subject(issuer, sub),
        None => Principal::key(format!("subject-token-{subject_digest}")),
    }
}

/// `sha256:` and the hex SHA-256 of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for byte in digest.as_ref() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_and_the_subject_change_the_binding() {
        let base = TokenArgs {
            server: Some("https://mcp.example/mcp".into()),
            ..TokenArgs::default()
        };
        let reference = Bindings::new(&base, "sha256:aa", None);
        let changed = [
            TokenArgs {
                insecure_loopback: Some(true),
                ..base.clone()
            },
            TokenArgs {
                authorization_server: Some("https://other.example".into()),
                ..base.clone()
            },
            TokenArgs {
                allow_private_host: vec!["x".into()],
                ..base.clone()
            },
            TokenArgs {
                resolve: vec!["a=127.0.0.1".into()],
                ..base.clone()
            },
        ];
        for args in &changed {
            let other = Bindings::new(args, "sha256:aa", None);
            assert_ne!(other.discovery, reference.discovery);
            assert_ne!(other.token, reference.token);
        }
        let same = Bindings::new(&base, "sha256:aa", None);
        assert_eq!(same.token, reference.token);
        let other_subject = Bindings::new(&base, "sha256:bb", None);
        assert_eq!(other_subject.discovery, reference.discovery);
        assert_ne!(other_subject.token, reference.token);
    }

    #[test]
    fn the_dpop_key_and_policy_change_the_token_binding_only() {
        let args = TokenArgs {
            server: Some("https://mcp.example/mcp".into()),
            ..TokenArgs::default()
        };
        let bearer = Bindings::new(&args, "sha256:aa", None);
        let key_a = Bindings::new(&args, "sha256:aa", Some(("jkt-a", DpopPolicy::Required)));
        let key_b = Bindings::new(&args, "sha256:aa", Some(("jkt-b", DpopPolicy::Required)));
        let key_a_preferred =
            Bindings::new(&args, "sha256:aa", Some(("jkt-a", DpopPolicy::Preferred)));
        let tokens = [&bearer, &key_a, &key_b, &key_a_preferred].map(|b| b.token.clone());
        for (i, one) in tokens.iter().enumerate() {
            for other in &tokens[i + 1..] {
                assert_ne!(one, other);
            }
        }
        for bindings in [&key_a, &key_b, &key_a_preferred] {
            assert_eq!(bindings.discovery, bearer.discovery);
        }
        let again = Bindings::new(&args, "sha256:aa", Some(("jkt-a", DpopPolicy::Required)));
        assert_eq!(again.token, key_a.token);
    }

    #[test]
    fn an_opaque_subject_is_its_own_principal() {
        let alice = SubjectToken::RefreshToken(xaa::RefreshToken::new("alice-refresh"));
        let bob = SubjectToken::RefreshToken(xaa::RefreshToken::new("bob-refresh"));
        let (a, b) = (digest(b"alice-refresh"), digest(b"bob-refresh"));
        assert_ne!(principal(&alice, &a), principal(&bob, &b));
        assert_eq!(
            digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
