//! `xaa status`: who is signed in, at which IdP, with which client, until when, and which
//! access tokens the store keeps for which servers. Nothing secret is printed: no token, no
//! code, not even a token's fingerprint. Every string from the store is escaped. When the
//! store keeps a session or tokens, the report ends with the store's path and its protection:
//! sealed with a key in the OS credential store, or unencrypted and why.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::args::StatusArgs;
use crate::exit::Failure;
use crate::store::{FileStore, Stored, path_or_default};
use crate::terminal::shown;
use crate::timefmt::{human, rfc3339, unix};

/// Runs `xaa status`: the report on stdout.
pub(crate) fn run(args: &StatusArgs) -> Result<(), Failure> {
    let path = path_or_default(args.token_store.as_deref())?;
    let (stored, protection) =
        FileStore::open(&path, args.credential_store.choice)?.load_described()?;
    print!("{}", report(&stored, SystemTime::now()));
    // Where the secrets are and how they are protected, when the store keeps any.
    if stored.session().is_some() || stored.tokens().next().is_some() {
        println!("token store: {}", shown(&path.to_string_lossy()));
        println!("protection: {protection}");
    }
    Ok(())
}

/// The report of what `stored` holds at `now`.
fn report(stored: &Stored, now: SystemTime) -> String {
    let mut out = String::new();
    match stored.session() {
        None => out.push_str("not signed in (xaa login signs in)\n"),
        Some(session) => {
            let _ = write!(out, "signed in as {}", shown(&session.claims.sub));
            if let Some(email) = &session.email {
                let _ = write!(out, " ({})", shown(email));
            }
            out.push('\n');
            let _ = writeln!(out, "IdP: {}", shown(&session.issuer));
            let _ = writeln!(out, "client: {}", shown(&session.client_id));
            let until = session.expires_at();
            let _ = match until.duration_since(now) {
                Ok(left) => writeln!(
                    out,
                    "ID token valid until {} ({})",
                    rfc3339(unix(until)),
                    human(left)
                ),
                Err(_) => writeln!(out, "ID token expired at {}", rfc3339(unix(until))),
            };
            out.push_str(if session.refresh_token.is_some() {
                "renewal: a refresh token is kept\n"
            } else {
                "renewal: none (sign in again when the ID token expires)\n"
            });
        }
    }
    let mut tokens: Vec<_> = stored
        .tokens()
        .filter(|(_, token)| now < token.expires_at)
        .collect();
    tokens.sort_by(|a, b| a.0.resource().cmp(b.0.resource()));
    if tokens.is_empty() {
        out.push_str("access tokens: none\n");
    } else {
        out.push_str("access tokens:\n");
    }
    for (key, token) in tokens {
        let _ = write!(
            out,
            "  {} from {}",
            shown(key.resource()),
            shown(key.authorization_server())
        );
        if !key.scope().is_empty() {
            let _ = write!(out, ", scope {}", shown(&key.scope().to_string()));
        }
        let _ = writeln!(
            out,
            ", until {} ({})",
            rfc3339(unix(token.expires_at)),
            human(token.expires_at.duration_since(now).unwrap_or_default())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use xaa::cache::{CacheKey, CachedToken, Principal};
    use xaa::{AccessToken, Scope};

    use super::*;
    use crate::store::Session;

    #[test]
    fn the_report_names_the_person_and_the_servers_but_no_token() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut stored = Stored::default();
        let mut session = Session::example("alice\u{1b}[31m", 1_800_000_600);
        session.email = Some("alice@example.com".into());
        stored.set_session(Some(session));
        stored.put_token(
            CacheKey::new(
                "https://as.example",
                "https://mcp.example/mcp",
                "as-client",
                &Scope::parse("tools:read"),
                Principal::subject("https://idp.example", "alice"),
            ),
            String::new(),
            CachedToken::new(
                AccessToken::new("access-secret"),
                now + Duration::from_secs(300),
            ),
        );
        let report = report(&stored, now);
        assert_eq!(
            report,
            "signed in as alice\\u{001B}[31m (alice@example.com)\n\
             IdP: https://idp.example\n\
             client: cli-client\n\
             ID token valid until 2027-01-15T08:10:00Z (10m 0s)\n\
             renewal: a refresh token is kept\n\
             access tokens:\n  \
             https://mcp.example/mcp from https://as.example, scope tools:read, until \
             2027-01-15T08:05:00Z (5m 0s)\n"
        );
        for secret in [
            "id-token-secret",
            "refresh-secret",
            "access-secret",
            "nonce-secret",
        ] {
            assert!(!report.contains(secret));
        }
    }
}
