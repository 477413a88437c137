//! The authorization request of the code flow (OpenID Connect Core 1.0 section 3.1.2.1, RFC
//! 6749 section 4.1.1, RFC 7636 section 4.3): the URL a browser opens, and what the client
//! keeps until the redirect comes back (docs/signin.md, "Authorization request").

use std::fmt;
use std::time::Duration;

use url::Url;

use super::loopback::is_loopback;

use super::pkce::{CODE_CHALLENGE_METHOD, Pkce};
use super::provider::SignInClient;
use super::random::{RandomSource, random_value};
use super::scope::requested_scope;
use super::secrets::{CodeVerifier, Nonce, State};
use crate::display_safety::sanitize;
use crate::{Error, Purpose, Scope};

/// The parameters this module writes into the authorization URL; the endpoint's own query
/// must not hold any of them (RFC 6749 section 3.1: no parameter twice).
const PARAMETERS: [&str; 11] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "max_age",
    "prompt",
    "login_hint",
];

/// What the person signing in is asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignInOptions {
    /// Scope beyond `openid`, which is always sent.
    pub scope: Scope,
    /// Ask for `offline_access` (a refresh token that outlives the browser session), sent only
    /// when the IdP lists it in `scopes_supported` (OpenID Connect Core 1.0 section 11).
    pub offline_access: bool,
    /// `max_age`: the longest time since the person last authenticated at the IdP; the ID
    /// token must then carry a recent enough `auth_time` (section 3.1.2.1).
    pub max_age: Option<Duration>,
    /// `prompt`: `login`, `consent`, `select_account` or `none` (section 3.1.2.1).
    pub prompt: Option<String>,
    /// `login_hint`: the identifier the person is likely to sign in with.
    pub login_hint: Option<String>,
}

/// What the client keeps while the browser is at the IdP: the values the redirect and the
/// ID token are checked against, and the PKCE verifier the code exchange sends.
#[derive(Clone, Debug)]
pub struct PendingSignIn {
    pub(crate) state: State,
    pub(crate) nonce: Nonce,
    pub(crate) verifier: CodeVerifier,
    pub(crate) redirect_uri: String,
    pub(crate) max_age: Option<Duration>,
    pub(crate) scope: Scope,
    pub(crate) issuer: String,
    pub(crate) iss_required: bool,
}

impl PendingSignIn {
    /// The scope requested.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The `redirect_uri` sent.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
}

/// An authorization request: open [`url`](Self::url) in a browser, keep
/// [`pending`](Self::pending) for the redirect. `Debug` shows the endpoint without the query,
/// which holds the `state` and `nonce`.
#[derive(Clone)]
pub struct AuthorizationRequest {
    url: Url,
    pending: PendingSignIn,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut endpoint = self.url.clone();
        endpoint.set_query(None);
        f.debug_struct("AuthorizationRequest")
            .field("endpoint", &endpoint.as_str())
            .field("pending", &self.pending)
            .finish()
    }
}

impl AuthorizationRequest {
    /// Builds the request at the IdP's `authorization_endpoint`, with a fresh `state`,
    /// `nonce` and PKCE verifier from `random` and the `S256` challenge through `sha256`
    /// (which must be SHA-256). `redirect_uri` must be absolute without a fragment (RFC 6749
    /// section 3.1.2), and `http` only on a loopback host (RFC 8252 section 7.3).
    pub fn new(
        client: &SignInClient,
        redirect_uri: &str,
        options: &SignInOptions,
        random: &dyn RandomSource,
        sha256: &dyn Fn(&[u8]) -> [u8; 32],
    ) -> Result<Self, Error> {
        let purpose = Purpose::Authorization;
        let mut url = client.endpoint(
            purpose,
            "authorization_endpoint",
            client.metadata.authorization_endpoint.as_deref(),
        )?;
        if url
            .query_pairs()
            .any(|(name, _)| PARAMETERS.contains(&name.as_ref()))
        {
            return Err(Error::InvalidUrl {
                purpose,
                url: sanitize(url.as_str()),
                reason: "its query already holds a parameter of the authorization request",
            });
        }
        check_redirect_uri(redirect_uri)?;
        let unavailable = |_| Error::Config("no random bytes for the sign-in".into());
        let pkce = Pkce::generate(random, sha256).map_err(unavailable)?;
        let state = State::new(random_value(random).map_err(unavailable)?.as_str());
        let nonce = Nonce::new(random_value(random).map_err(unavailable)?.as_str());
        let scope = requested_scope(client, &options.scope, options.offline_access, true);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client.client_id())
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &scope.to_string())
                .append_pair("state", state.expose_secret())
                .append_pair("nonce", nonce.expose_secret())
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", CODE_CHALLENGE_METHOD);
            if let Some(max_age) = options.max_age {
                query.append_pair("max_age", &max_age.as_secs().to_string());
            }
            if let Some(prompt) = &options.prompt {
                query.append_pair("prompt", prompt);
            }
            if let Some(login_hint) = &options.login_hint {
                query.append_pair("login_hint", login_hint);
            }
        }
        Ok(Self {
            url,
            pending: PendingSignIn {
                state,
                nonce,
                verifier: pkce.verifier,
                redirect_uri: redirect_uri.to_owned(),
                max_age: options.max_age,
                scope,
                issuer: client.issuer().to_owned(),
                iss_required: client
                    .metadata
                    .authorization_response_iss_parameter_supported,
            },
        })
    }

    /// The URL to open in the browser. It holds `state`, `nonce` and the PKCE challenge,
    /// none of which is a credential on its own; log it no more than needed.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// What to keep until the redirect comes back.
    pub fn pending(&self) -> &PendingSignIn {
        &self.pending
    }

    /// Splits into the URL and what to keep.
    pub fn into_parts(self) -> (Url, PendingSignIn) {
        (self.url, self.pending)
    }
}

/// An absolute URI without a fragment (RFC 6749 section 3.1.2); `http` only on a loopback
/// host, where a native app listens (RFC 8252 sections 7.3 and 8.3).
fn check_redirect_uri(redirect_uri: &str) -> Result<(), Error> {
    let invalid = |reason| Error::InvalidUrl {
        purpose: Purpose::Authorization,
        url: sanitize(redirect_uri),
        reason,
    };
    let parsed = Url::parse(redirect_uri).map_err(|_| invalid("not an absolute URL"))?;
    if parsed.fragment().is_some() {
        return Err(invalid("a redirect URI has no fragment"));
    }
    if parsed.scheme() == "http" {
        let loopback = is_loopback(&parsed);
        if !loopback {
            return Err(invalid("plain http is only for a loopback redirect URI"));
        }
    }
    Ok(())
}
