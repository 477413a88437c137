//! The sign-in kept by `xaa login`: the ID token and its checked claims, the refresh token,
//! the IdP and the client it was issued to, and the settings needed to renew it or to sign in
//! again. The tokens are the crate's secret types: their `Debug` is redacted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use xaa::signin::IdTokenClaims;
use xaa::{IdToken, RefreshToken};

use crate::args::AuthMethod;

/// How long before its `exp` an ID token is no longer handed out as a subject token: the
/// exchange at the IdP must still find it valid.
pub(crate) const FRESHNESS_MARGIN: Duration = Duration::from_secs(60);

/// A session at the IdP.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Session {
    /// The IdP's issuer identifier.
    pub(crate) issuer: String,
    /// The client id at the IdP.
    pub(crate) client_id: String,
    /// How the client authenticates, to renew and to revoke.
    pub(crate) client: ClientSettings,
    /// The ID token: the subject token of `xaa token`.
    pub(crate) id_token: IdToken,
    /// Its claims, checked when it was issued; a renewed ID token must match them.
    pub(crate) claims: IdTokenClaims,
    /// The ID token's `email` claim, when it has one, for `xaa status`.
    pub(crate) email: Option<String>,
    /// The refresh token, when the IdP issued one.
    pub(crate) refresh_token: Option<RefreshToken>,
}

/// The settings of `xaa login` the session needs again: none of them is a secret (the client
/// secret stays in its file).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientSettings {
    /// How the client authenticates at the IdP.
    pub(crate) auth: Option<AuthMethod>,
    /// The file holding the client secret.
    pub(crate) secret_file: Option<String>,
    /// The file holding the client's private key (private_key_jwt).
    #[serde(default)]
    pub(crate) key_file: Option<String>,
    /// The `kid` of the client's assertions, when not the client id.
    #[serde(default)]
    pub(crate) key_id: Option<String>,
    /// The private key's algorithm, when not ES256.
    #[serde(default)]
    pub(crate) key_alg: Option<String>,
    /// The scope asked for beyond `openid`.
    pub(crate) scope: Option<String>,
    /// Whether plain http on loopback was allowed (testing).
    pub(crate) insecure_loopback: bool,
}

impl Session {
    /// When the ID token expires (its `exp`).
    pub(crate) fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(self.claims.exp))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Whether the ID token may still be handed out at `now`.
    pub(crate) fn is_fresh(&self, now: SystemTime) -> bool {
        now.checked_add(FRESHNESS_MARGIN)
            .is_some_and(|later| later < self.expires_at())
    }

    /// The `xaa login` command that signs in again with the same settings, each argument
    /// quoted for a POSIX shell.
    pub(crate) fn login_command(&self, token_store: &str) -> String {
        let mut words = vec![
            "xaa".to_owned(),
            "login".to_owned(),
            "--idp-issuer".to_owned(),
            self.issuer.clone(),
            "--client-id".to_owned(),
            self.client_id.clone(),
        ];
        if let Some(file) = &self.client.secret_file {
            words.extend(["--client-secret-file".to_owned(), file.clone()]);
        }
        if let Some(file) = &self.client.key_file {
            words.extend(["--client-key-file".to_owned(), file.clone()]);
        }
        if let Some(kid) = &self.client.key_id {
            words.extend(["--client-key-id".to_owned(), kid.clone()]);
        }
        if let Some(alg) = &self.client.key_alg {
            words.extend(["--key-alg".to_owned(), alg.clone()]);
        }
        if let Some(auth) = self.client.auth {
            words.extend(["--client-auth".to_owned(), auth.name().to_owned()]);
        }
        if let Some(scope) = &self.client.scope {
            words.extend(["--scope".to_owned(), scope.clone()]);
        }
        if self.client.insecure_loopback {
            words.push("--insecure-loopback".to_owned());
        }
        words.extend(["--token-store".to_owned(), token_store.to_owned()]);
        words
            .iter()
            .map(|word| shell_quoted(word))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
impl Session {
    /// A session at `https://idp.example` for `sub`, its ID token valid until `exp`, with the
    /// secret values `id-token-secret`, `refresh-secret` and `nonce-secret`.
    pub(crate) fn example(sub: &str, exp: u64) -> Self {
        let claims = serde_json::from_value(serde_json::json!({
            "iss": "https://idp.example",
            "sub": sub,
            "aud": ["cli-client"],
            "azp": null,
            "exp": exp,
            "iat": exp.saturating_sub(600),
            "auth_time": null,
            "nonce": "nonce-secret",
        }))
        .expect("claims");
        Self {
            issuer: "https://idp.example".into(),
            client_id: "cli-client".into(),
            client: ClientSettings::default(),
            id_token: IdToken::new("id-token-secret"),
            claims,
            email: None,
            refresh_token: Some(RefreshToken::new("refresh-secret")),
        }
    }
}

/// `word` as one POSIX shell word: bare when it holds only characters no shell treats
/// specially, else in single quotes (a quote inside written `'\''`).
pub(crate) fn shell_quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_command_repeats_the_settings_quoted() {
        let mut session = Session::example("alice", 0);
        session.client = ClientSettings {
            auth: Some(AuthMethod::ClientSecretPost),
            secret_file: Some("/home/a b/secret".into()),
            key_file: None,
            key_id: None,
            key_alg: None,
            scope: Some("profile email".into()),
            insecure_loopback: true,
        };
        assert_eq!(
            session.login_command("/tmp/store.json"),
            "xaa login --idp-issuer https://idp.example --client-id cli-client \
             --client-secret-file '/home/a b/secret' --client-auth client_secret_post \
             --scope 'profile email' --insecure-loopback --token-store /tmp/store.json"
        );
    }

    #[test]
    fn an_id_token_is_fresh_until_a_minute_before_its_exp() {
        let session = Session::example("alice", 1_000);
        let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
        assert!(session.is_fresh(at(939)));
        assert!(!session.is_fresh(at(940)));
        assert!(!session.is_fresh(at(2_000)));
    }

    #[test]
    fn words_are_quoted_for_a_shell_only_when_needed() {
        assert_eq!(shell_quoted("https://idp.example/"), "https://idp.example/");
        assert_eq!(shell_quoted("a b"), "'a b'");
        assert_eq!(shell_quoted("it's"), "'it'\\''s'");
        assert_eq!(shell_quoted("$(x)"), "'$(x)'");
        assert_eq!(shell_quoted(""), "''");
    }
}
