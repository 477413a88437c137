//! The sign-in grants of the IdP's token endpoint: `authorization_code` (RFC 6749 section
//! 4.1.3, RFC 7636 section 4.6, OpenID Connect Core 1.0 section 3.1.3), `refresh_token`
//! (RFC 6749 section 6, rotated, RFC 9700 section 4.14.2) and the device code (RFC 8628
//! section 3.4). Other grant types stay with the core's token exchange.

use std::time::SystemTime;

use http::{Method, Request, Response};
use serde_json::{Value, json};

use super::id_tokens::{self, IdTokenClaims};
use super::params::{Params, scope_has};
use super::pkce;
use super::responses::{OAuthError, success};
use super::store::{DeviceStatus, RefreshRefusal, SLOW_DOWN_STEP};
use super::{DEVICE_CODE_GRANT, DeviceGrantFault, IdTokenFault, OFFLINE_ACCESS};
use crate::endpoint::Endpoint;
use crate::faults::Fault;
use crate::http_util::method_not_allowed;
use crate::sign_in_record::SignInRecord;
use crate::state::Shared;

/// How long the IdP's own access tokens (opaque, returned beside the ID token) last.
const ACCESS_TOKEN_SECONDS: u64 = 3600;

/// Whether the form body of a token request names one of the sign-in grants.
pub(crate) fn is_sign_in_grant(body: &[u8]) -> bool {
    Params::from_body(body)
        .optional("grant_type")
        .ok()
        .flatten()
        .is_some_and(|grant| {
            matches!(
                grant,
                "authorization_code" | "refresh_token" | DEVICE_CODE_GRANT
            )
        })
}

/// A token request with a sign-in grant.
pub(crate) fn handle(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let mut record = SignInRecord::new(Endpoint::IdpToken);
    let result = grant(shared, request, fault, now, &mut record);
    if let Err(error) = &result {
        record.error = Some(error.code.to_owned());
    }
    shared.recorder.note_sign_in(record);
    match result {
        Ok(body) => success(&body),
        Err(error) => error.to_response(),
    }
}

fn grant(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
    record: &mut SignInRecord,
) -> Result<Value, OAuthError> {
    let params = Params::from_body(request.body());
    let grant_type = params.required("grant_type")?;
    record.grant_type = Some(grant_type.to_owned());
    let client_id = super::client::authenticate(shared, request.headers(), &params, now)?;
    record.client_id = Some(client_id.clone());
    let id_token_fault = match fault {
        Some(Fault::IdToken(fault)) => Some(*fault),
        _ => None,
    };
    let issue = Issue {
        shared,
        client_id: &client_id,
        fault: id_token_fault,
        now,
    };
    shared.sign_in.store().prune(now);
    match grant_type {
        "authorization_code" => authorization_code(&issue, &params, record),
        "refresh_token" => refresh_token(&issue, &params, record),
        _ => {
            let fault = match fault {
                Some(Fault::DeviceGrant(fault)) => Some(*fault),
                _ => None,
            };
            device_code(&issue, &params, fault, record)
        }
    }
}

/// The token response a completed sign-in of `user` at the IdP client leaves, as if they had
/// used the sign-in page and the code had been redeemed: an ID token, and a refresh token
/// starting a family of its own. For tests of what comes after signing in.
pub(crate) fn signed_in(shared: &Shared, user: &str, now: SystemTime) -> Value {
    let client_id = &shared.identity.idp_client.client_id;
    let scope = format!("openid {OFFLINE_ACCESS}");
    let auth_time = crate::users::unix_seconds(now);
    let (_, refresh_token) = shared
        .sign_in
        .store()
        .new_family(user, client_id, &scope, auth_time);
    let issue = Issue {
        shared,
        client_id,
        fault: None,
        now,
    };
    issue.response(user, &scope, None, auth_time, Some(refresh_token))
}

/// What every successful grant needs to answer.
struct Issue<'a> {
    shared: &'a Shared,
    client_id: &'a str,
    fault: Option<IdTokenFault>,
    now: SystemTime,
}

impl Issue<'_> {
    /// The token response: an opaque access token, the ID token, the scope, and
    /// `refresh_token` when given.
    fn response(
        &self,
        user: &str,
        scope: &str,
        nonce: Option<&str>,
        auth_time: u64,
        refresh_token: Option<String>,
    ) -> Value {
        let access_token = format!("idp-at-{}", xaa::jose::random_jti());
        let claims = IdTokenClaims {
            client_id: self.client_id,
            user,
            nonce,
            auth_time,
            access_token: &access_token,
        };
        let id_token = id_tokens::mint(self.shared, &claims, self.fault, self.now);
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "scope": scope,
            "id_token": id_token,
        });
        if let (Some(token), Value::Object(members)) = (refresh_token, &mut body) {
            members.insert("refresh_token".into(), Value::from(token));
        }
        body
    }
}

/// The code, once: a second presentation revokes what the first one issued (RFC 6749
/// section 4.1.2); the client, `redirect_uri` (section 4.1.3) and PKCE verifier (RFC 7636
/// section 4.6) must match.
fn authorization_code(
    issue: &Issue<'_>,
    params: &Params,
    record: &mut SignInRecord,
) -> Result<Value, OAuthError> {
    let code = params.required("code")?;
    let redirect_uri = params.required("redirect_uri")?;
    let verifier = params.optional("code_verifier")?;
    let mut store = issue.shared.sign_in.store();
    let issued = store
        .codes
        .get_mut(code)
        .ok_or_else(|| OAuthError::invalid_grant("unknown or expired authorization code"))?;
    record.user = Some(issued.user.clone());
    if issued.redeemed {
        let family = issued.family;
        if let Some(family) = family {
            store.revoke_family(family);
        }
        return Err(OAuthError::invalid_grant(
            "the authorization code was already used: the tokens issued for it are revoked",
        ));
    }
    // Presented once: never again, whatever the outcome.
    issued.redeemed = true;
    let issued = issued.clone();
    if issued.client_id != issue.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if issued.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri is not the one of the authorization request",
        ));
    }
    let verified =
        verifier.is_some_and(|verifier| pkce::verifies(verifier, &issued.code_challenge));
    record.pkce_verified = Some(verified);
    if !verified {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let refresh_token = scope_has(&issued.scope, OFFLINE_ACCESS).then(|| {
        let (family, token) = store.new_family(
            &issued.user,
            issue.client_id,
            &issued.scope,
            issued.auth_time,
        );
        if let Some(entry) = store.codes.get_mut(code) {
            entry.family = Some(family);
        }
        token
    });
    drop(store);
    Ok(issue.response(
        &issued.user,
        &issued.scope,
        Some(&issued.nonce),
        issued.auth_time,
        refresh_token,
    ))
}

/// A refresh token, rotated: the presented one is dead once used, and presenting a
/// replaced one revokes the whole family (RFC 9700 section 4.14.2). A fresh ID token comes
/// back, its `auth_time` that of the sign-in and no `nonce` (OpenID Connect Core 1.0
/// section 12.2).
fn refresh_token(
    issue: &Issue<'_>,
    params: &Params,
    record: &mut SignInRecord,
) -> Result<Value, OAuthError> {
    let token = params.required("refresh_token")?;
    let requested_scope = params.optional("scope")?;
    let mut store = issue.shared.sign_in.store();
    record.refresh_generation = store.refresh_generation(token);
    let widens = |granted: &str| {
        requested_scope
            .is_some_and(|requested| !requested.split(' ').all(|value| scope_has(granted, value)))
    };
    if store.refresh_scope(token).is_some_and(widens) {
        return Err(OAuthError::new(
            "invalid_scope",
            "a refresh may not widen the scope of the sign-in",
        ));
    }
    let rotated = store
        .redeem_refresh_token(token, issue.client_id)
        .map_err(|refusal| {
            OAuthError::invalid_grant(match refusal {
                RefreshRefusal::Unknown => "unknown refresh token",
                RefreshRefusal::OtherClient => "the refresh token was issued to another client",
                RefreshRefusal::Revoked => "the refresh token was revoked",
                RefreshRefusal::Reused { .. } => {
                    "the refresh token was already used: every token of this sign-in is revoked"
                }
            })
        })?;
    drop(store);
    record.refresh_generation = Some(rotated.generation);
    record.user = Some(rotated.user.clone());
    Ok(issue.response(
        &rotated.user,
        requested_scope.unwrap_or(&rotated.scope),
        None,
        rotated.auth_time,
        Some(rotated.refresh_token),
    ))
}

/// A device-code poll (RFC 8628 section 3.5): `slow_down` when polled faster than the
/// interval (which then grows by five seconds), `authorization_pending`, `access_denied`,
/// `expired_token`, or the tokens, once.
fn device_code(
    issue: &Issue<'_>,
    params: &Params,
    fault: Option<DeviceGrantFault>,
    record: &mut SignInRecord,
) -> Result<Value, OAuthError> {
    let device_code = params.required("device_code")?;
    match fault {
        Some(DeviceGrantFault::Expired) => return Err(expired_token()),
        Some(DeviceGrantFault::Denied) => return Err(access_denied()),
        Some(DeviceGrantFault::AlwaysSlowDown) => return Err(slow_down()),
        None => {}
    }
    let mut store = issue.shared.sign_in.store();
    let now = issue.now;
    let Some(grant) = store.devices.get_mut(device_code) else {
        // Past its lifetime, a device code is forgotten: unknown and expired look alike.
        return Err(OAuthError::new(
            "expired_token",
            "unknown or expired device code",
        ));
    };
    if grant.client_id != issue.client_id {
        return Err(OAuthError::invalid_grant(
            "the device code was issued to another client",
        ));
    }
    if now >= grant.expires_at {
        return Err(expired_token());
    }
    let too_soon = grant
        .last_poll
        .and_then(|last| now.duration_since(last).ok())
        .is_some_and(|elapsed| elapsed < grant.interval);
    grant.last_poll = Some(now);
    if too_soon {
        grant.interval += SLOW_DOWN_STEP;
        return Err(slow_down());
    }
    let (user, auth_time) = match &grant.status {
        DeviceStatus::Pending => {
            return Err(OAuthError::new(
                "authorization_pending",
                "the person has not yet entered the user code",
            ));
        }
        DeviceStatus::Denied => return Err(access_denied()),
        DeviceStatus::Approved { user, auth_time } => (user.clone(), *auth_time),
    };
    let scope = grant.scope.clone();
    store.devices.remove(device_code);
    record.user = Some(user.clone());
    let refresh_token = scope_has(&scope, OFFLINE_ACCESS).then(|| {
        store
            .new_family(&user, issue.client_id, &scope, auth_time)
            .1
    });
    drop(store);
    Ok(issue.response(&user, &scope, None, auth_time, refresh_token))
}

fn expired_token() -> OAuthError {
    OAuthError::new("expired_token", "the device code has expired")
}

fn access_denied() -> OAuthError {
    OAuthError::new("access_denied", "the person declined the request")
}

fn slow_down() -> OAuthError {
    OAuthError::new(
        "slow_down",
        "polled faster than the interval: wait five seconds more",
    )
}
