//! The token endpoint's answer to a sign-in grant (RFC 6749 section 5.1, OpenID Connect Core
//! 1.0 section 3.1.3.3), read strictly: one JSON object, no member twice, each of its type.

use std::fmt;
use std::time::Duration;

use super::idp_endpoint::IdpEndpoint;
use super::session::token_refusal;
use crate::wire::{expires_in, json_members, optional_str};
use crate::{AccessToken, Error, HttpResponse, IdToken, Policy, RefreshToken, Scope, Violation};

/// The tokens of a successful answer, each in its secret type.
#[derive(Clone)]
pub(crate) struct Tokens {
    /// `id_token`: required at sign-in, optional on renewal (section 12.2).
    pub(crate) id_token: Option<IdToken>,
    /// `access_token`, with its `token_type`.
    pub(crate) access_token: Option<(AccessToken, String)>,
    /// `refresh_token`.
    pub(crate) refresh_token: Option<RefreshToken>,
    /// `expires_in`, bounded by the policy.
    pub(crate) expires_in: Option<Duration>,
    /// `scope`, when the IdP says which scope it granted.
    pub(crate) scope: Option<Scope>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("id_token", &self.id_token)
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The tokens of the token endpoint's answer to a request to `endpoint`: a non-2xx answer is
/// the IdP's refusal (`invalid_grant` ends the session: [`Error::ReauthenticationRequired`]),
/// a 2xx one is read by [`read_tokens`].
pub(crate) fn granted_tokens(
    endpoint: &IdpEndpoint,
    response: &HttpResponse,
    id_token_required: bool,
) -> Result<Tokens, Error> {
    let purpose = endpoint.purpose();
    if !response.status().is_success() {
        return Err(token_refusal(purpose, response));
    }
    read_tokens(response, &endpoint.policy, id_token_required)
        .map_err(|violation| Error::InvalidResponse { purpose, violation })
}

/// Reads a 2xx answer. `id_token_required` at sign-in (OpenID Connect Core 1.0 section
/// 3.1.3.3); a `token_type` is required with an `access_token` (RFC 6749 section 5.1).
fn read_tokens(
    response: &HttpResponse,
    policy: &Policy,
    id_token_required: bool,
) -> Result<Tokens, Violation> {
    let names = [
        "id_token",
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "scope",
    ];
    let [
        id_token,
        access_token,
        token_type,
        refresh_token,
        expires,
        scope,
    ] = json_members(response, policy, names)?;
    let non_empty = |text: Option<String>| text.filter(|text| !text.is_empty());
    let id_token = non_empty(optional_str(id_token, "id_token")?).map(IdToken::new);
    if id_token_required && id_token.is_none() {
        return Err(Violation::MissingField("id_token"));
    }
    let token_type = non_empty(optional_str(token_type, "token_type")?);
    let access_token = match non_empty(optional_str(access_token, "access_token")?) {
        Some(token) => Some((
            AccessToken::new(token),
            token_type.ok_or(Violation::MissingField("token_type"))?,
        )),
        None => None,
    };
    Ok(Tokens {
        id_token,
        access_token,
        refresh_token: non_empty(optional_str(refresh_token, "refresh_token")?)
            .map(RefreshToken::new),
        expires_in: expires_in(&expires, policy)?,
        scope: optional_str(scope, "scope")?.as_deref().map(Scope::parse),
    })
}

/// A 2xx body that may be read as JSON: within the policy's cap, with a JSON `Content-Type`.
pub(crate) fn json_body<'a>(
    response: &'a HttpResponse,
    policy: &Policy,
) -> Result<&'a [u8], Violation> {
    if response.body().len() > policy.max_body_bytes {
        return Err(Violation::BodyTooLarge {
            limit: policy.max_body_bytes,
        });
    }
    crate::wire::is_json_content_type(response)?;
    Ok(response.body())
}
