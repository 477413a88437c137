//! What [`EnterpriseAuth`](super::EnterpriseAuth) checks between its legs, on what discovery
//! found: pure functions of the configuration and the validated documents. The step flows
//! check each document alone; these rules relate them.

use super::config::{EnterpriseConfig, IdentityProvider, Trust};
use super::same_endpoint::same_endpoint;
use crate::discovery::{AuthServerDiscovered, ResourceDiscovered, UrlGuard};
use crate::error::sanitize;
use crate::{Error, Purpose, Scope, Violation};

/// The scope to request when none is configured (decisions.md D8): the challenge's, else the
/// metadata's `scopes_supported`, else none.
pub(super) fn scope_for(found: &ResourceDiscovered) -> Option<Scope> {
    found
        .challenge
        .as_ref()
        .and_then(|challenge| challenge.scope.clone())
        .filter(|scope| !scope.is_empty())
        .or_else(|| found.metadata.scopes())
}

/// A pinned authorization server must be listed by the MCP server (design: trust modes): a
/// hostile MCP server cannot redirect the ID-JAG, and a server that lists another one is not
/// served by the pinned one.
pub(super) fn check_pinned_listed(trust: &Trust, found: &ResourceDiscovered) -> Result<(), Error> {
    let Trust::Pinned(pinned) = trust else {
        return Ok(());
    };
    let listed = &found.metadata.authorization_servers;
    if listed.iter().any(|server| server == pinned) {
        Ok(())
    } else {
        Err(Error::AuthorizationServerNotListed {
            pinned: pinned.clone(),
            listed: listed.iter().map(|server| sanitize(server)).collect(),
        })
    }
}

/// The authorization server the MCP server names: the first entry of `authorization_servers`
/// (decisions.md D7; RFC 9728 section 2 makes the member optional, the profile needs one).
pub(super) fn first_authorization_server(found: &ResourceDiscovered) -> Result<&str, Error> {
    found
        .metadata
        .authorization_servers
        .first()
        .map(String::as_str)
        .ok_or(Error::InvalidResponse {
            purpose: Purpose::ResourceMetadata,
            violation: Violation::MissingField("authorization_servers"),
        })
}

/// An issuer the ID-JAG may go to: a URL the policy allows, with no query (RFC 8414 section
/// 2), and never the IdP's own (ID-JAG draft section 9.3: an ID-JAG is not redeemed in the
/// domain that issued it).
pub(super) fn check_authorization_server_issuer(
    guard: &UrlGuard,
    config: &EnterpriseConfig,
    issuer: &str,
) -> Result<(), Error> {
    guard.check_issuer(Purpose::AuthorizationServerMetadata, issuer)?;
    if config.idp_issuer() == Some(issuer) {
        return Err(Error::IdpIsAuthorizationServer {
            issuer: sanitize(issuer),
        });
    }
    Ok(())
}

/// The authorization server takes the jwt-bearer grant with the ID-JAG profile and the
/// client's authentication method (decisions.md D3), checked before any credential goes
/// there.
pub(super) fn check_jwt_bearer_support(
    config: &EnterpriseConfig,
    found: &AuthServerDiscovered,
) -> Result<(), Error> {
    // draft-parecki-oauth-jwt-dpop-grant: a server that offers only the DPoP-bound form of
    // the grant takes a client that binds its tokens.
    found
        .metadata
        .check_id_jag_grant_support(
            &config.authorization_server.credentials.auth,
            config.binding().is_some(),
        )
        .map_err(|what| Error::Unsupported {
            purpose: Purpose::AuthorizationServerMetadata,
            what,
        })
}

/// The IdP takes the token exchange for an ID-JAG and the client's authentication method
/// (decisions.md D3).
pub(super) fn check_token_exchange_support(
    idp: &IdentityProvider,
    found: &AuthServerDiscovered,
) -> Result<(), Error> {
    found
        .metadata
        .check_token_exchange_support(&idp.credentials.auth)
        .map_err(|what| Error::Unsupported {
            purpose: Purpose::IdpMetadata,
            what,
        })
}

/// Proof that the MCP authorization server and the IdP were found apart (ID-JAG draft section
/// 9.3), made only by [`servers_apart`]: the token stage cannot start without one.
#[derive(Clone, Copy, Debug)]
pub(super) struct ServersApart(());

/// ID-JAG draft section 9.3: the ID-JAG is never redeemed in the domain that issued it, and
/// the authorization server's credentials never go to the IdP. Whichever way the IdP was
/// configured, once both sides are known: the authorization server's issuer must not be the
/// IdP's (configured or discovered), and its token endpoint must not reach the IdP's
/// ([`same_endpoint`]).
///
/// The proof once both sides are known and apart, `None` while one is unknown; with a
/// caller-supplied assertion no IdP takes part, so always the proof.
pub(super) fn servers_apart(
    config: &EnterpriseConfig,
    authorization_server: Option<&AuthServerDiscovered>,
    discovered_idp: Option<&AuthServerDiscovered>,
) -> Result<Option<ServersApart>, Error> {
    let Some(idp) = config.idp() else {
        return Ok(Some(ServersApart(())));
    };
    let Some(authorization_server) = authorization_server else {
        return Ok(None);
    };
    let authorization_server = &authorization_server.metadata;
    let discovered_issuer = discovered_idp.map(|found| found.metadata.issuer.as_str());
    if [idp.issuer_str(), discovered_issuer].contains(&Some(authorization_server.issuer.as_str())) {
        return Err(Error::IdpIsAuthorizationServer {
            issuer: sanitize(&authorization_server.issuer),
        });
    }
    let Some(idp_token_endpoint) = idp.token_endpoint_from(discovered_idp) else {
        return Ok(None);
    };
    if same_endpoint(idp_token_endpoint, &authorization_server.token_endpoint) {
        return Err(Error::AuthorizationServerIsIdp {
            issuer: sanitize(&authorization_server.issuer),
            token_endpoint: sanitize(&authorization_server.token_endpoint),
        });
    }
    Ok(Some(ServersApart(())))
}
