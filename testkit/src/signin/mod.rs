//! The IdP's sign-in side, what a real enterprise IdP has besides the token exchange:
//!
//! * the authorization code flow of OpenID Connect Core 1.0 section 3.1 with PKCE S256
//!   (RFC 7636) and `iss` in the response (RFC 9207): a sign-in page at `/authorize`, a form
//!   posted to `/authorize/sign-in`, a `303` to the client's loopback redirect URI
//!   (RFC 8252 section 7.3) ([`authorize`]);
//! * the sign-in grants of the token endpoint: `authorization_code`, `refresh_token` with
//!   rotation and family revocation, and the device code (RFC 8628) ([`grants`]);
//! * the device authorization endpoint and its verification page ([`device`]);
//! * the revocation endpoint (RFC 7009) ([`revocation`]);
//! * ID tokens signed with a key that can be rotated (`crate::sign_in_state::keys`,
//!   [`id_tokens`]).
//!
//! Client authentication at these endpoints follows the IdP client's method in force:
//! `none`, `client_secret_basic`, `client_secret_post` or `private_key_jwt` ([`client`]).

mod authorize;
mod client;
mod device;
mod faults;
mod grants;
mod html;
mod id_tokens;
mod knobs;
mod params;
mod pkce;
mod responses;
mod revocation;

pub use crate::sign_in_record::SignInRecord;
pub use faults::{AuthorizationResponseFault, DeviceGrantFault, IdTokenFault};

pub(crate) use authorize::{page as authorization_page, sign_in as sign_in_form};
pub(crate) use device::{authorize as device_authorization, verification as device_verification};
pub(crate) use grants::{handle as token, is_sign_in_grant, signed_in};
pub(crate) use revocation::handle as revocation;

use crate::sign_in_state::store;

/// The scope value that asks for a refresh token (OpenID Connect Core 1.0 section 11).
const OFFLINE_ACCESS: &str = "offline_access";

/// The scope value every sign-in request must carry (OpenID Connect Core 1.0 section 3.1.2.1).
const OPENID: &str = "openid";

/// The device grant's `grant_type` (RFC 8628 section 3.4).
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What the IdP's metadata says about sign-in (RFC 8414 section 2, OpenID Connect Discovery
/// 1.0 section 3, RFC 8628 section 4, RFC 7009 via RFC 8414, RFC 9207 section 3).
pub(crate) fn metadata_members(
    shared: &crate::state::Shared,
) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::{Value, json};
    let urls = &shared.urls;
    vec![
        (
            "authorization_endpoint",
            Value::from(urls.idp_authorization_endpoint.as_str()),
        ),
        (
            "device_authorization_endpoint",
            Value::from(urls.idp_device_authorization_endpoint.as_str()),
        ),
        (
            "revocation_endpoint",
            Value::from(urls.idp_revocation_endpoint.as_str()),
        ),
        ("code_challenge_methods_supported", json!([pkce::S256])),
        (
            "authorization_response_iss_parameter_supported",
            Value::Bool(true),
        ),
        ("scopes_supported", json!([OPENID, OFFLINE_ACCESS, "email"])),
        ("response_types_supported", json!(["code"])),
        (
            "grant_types_supported",
            json!([
                xaa::constants::GRANT_TYPE_TOKEN_EXCHANGE,
                "authorization_code",
                "refresh_token",
                DEVICE_CODE_GRANT,
            ]),
        ),
    ]
}
