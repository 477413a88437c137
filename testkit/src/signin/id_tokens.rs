//! The ID tokens of the sign-in grants (OpenID Connect Core 1.0 section 2), and their
//! faults. `aud` is the one client, so no `azp` is needed (section 2: `azp` serves an ID
//! token with several audiences); `at_hash` binds the access token issued beside it.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use xaa::jose::{SharedKey, SharedKeyAlgorithm, SigningKey, TokenSigner, random_jti};

use super::IdTokenFault;
use super::pkce::at_hash;
use crate::faults::{EVIL_ORIGIN, WRONG_CLIENT_ID};
use crate::state::Shared;
use crate::users::{email, unix_seconds};

/// How far in the past an [`IdTokenFault::Expired`] token expired: beyond any sensible skew.
const EXPIRED_BY: Duration = Duration::from_secs(120);

/// How far in the future an [`IdTokenFault::IssuedInFuture`] token was issued.
const FUTURE_BY: Duration = Duration::from_secs(3600);

/// The `nonce` of an [`IdTokenFault::WrongNonce`] token.
const WRONG_NONCE: &str = "not-the-nonce-the-client-sent";

/// The `kid` of an [`IdTokenFault::UnknownKid`] token.
const UNKNOWN_KID: &str = "xaa-testkit-unpublished-key";

/// What an ID token says.
pub(crate) struct IdTokenClaims<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) user: &'a str,
    /// The request's `nonce`; `None` on a refresh (OpenID Connect Core 1.0 section 12.2).
    pub(crate) nonce: Option<&'a str>,
    /// When the user signed in, seconds since the epoch.
    pub(crate) auth_time: u64,
    /// The access token issued with it, for `at_hash`.
    pub(crate) access_token: &'a str,
}

/// Signs an ID token with the current key, broken as `fault` says.
pub(crate) fn mint(
    shared: &Shared,
    claims: &IdTokenClaims<'_>,
    fault: Option<IdTokenFault>,
    now: SystemTime,
) -> String {
    let lifetime = shared.settings().id_token_lifetime.as_secs();
    let iat = unix_seconds(now);
    let mut body = json!({
        "iss": shared.urls.idp_issuer,
        "sub": claims.user,
        "aud": claims.client_id,
        "iat": iat,
        "exp": iat + lifetime,
        "auth_time": claims.auth_time,
        "jti": random_jti(),
        "email": email(claims.user),
        "at_hash": at_hash(claims.access_token),
    });
    let Value::Object(mut body) = body.take() else {
        return String::new();
    };
    if let Some(nonce) = claims.nonce {
        body.insert("nonce".into(), Value::from(nonce));
    }
    let key = shared.sign_in.keys.current();
    let Some(fault) = fault else {
        return sign(&key, &default_header(&key), &body).unwrap_or_default();
    };
    let mut header = default_header(&key);
    match fault {
        IdTokenFault::WrongNonce => {
            body.insert("nonce".into(), Value::from(WRONG_NONCE));
        }
        IdTokenFault::WrongAudience => {
            body.insert("aud".into(), Value::from(WRONG_CLIENT_ID));
        }
        IdTokenFault::WrongIssuer => {
            body.insert("iss".into(), Value::from(EVIL_ORIGIN));
        }
        IdTokenFault::Expired => {
            let exp = iat.saturating_sub(EXPIRED_BY.as_secs());
            body.insert("exp".into(), Value::from(exp));
            body.insert("iat".into(), Value::from(exp.saturating_sub(lifetime)));
        }
        IdTokenFault::IssuedInFuture => {
            let future = iat + FUTURE_BY.as_secs();
            body.insert("iat".into(), Value::from(future));
            body.insert("exp".into(), Value::from(future + lifetime));
        }
        IdTokenFault::BadSignature => {
            let token = sign(&key, &header, &body).unwrap_or_default();
            return flip_signature_bit(&token);
        }
        IdTokenFault::UnknownKid => {
            let Ok(stranger) = SigningKey::generate_es256(UNKNOWN_KID) else {
                return String::new();
            };
            return sign(&stranger, &default_header(&stranger), &body).unwrap_or_default();
        }
        IdTokenFault::AlgNone => {
            header.insert("alg".into(), Value::from("none"));
            return format!(
                "{}.{}.",
                xaa::jwt::encode_segment(&header),
                xaa::jwt::encode_segment(&body)
            );
        }
        IdTokenFault::Hmac => {
            let secret = shared.identity.idp_client.secret.expose_secret().as_bytes();
            let Ok(hmac) = SharedKey::new(secret, SharedKeyAlgorithm::Hs256, key.kid()) else {
                return String::new();
            };
            header.insert("alg".into(), Value::from(hmac.algorithm()));
            return sign(&hmac, &header, &body).unwrap_or_default();
        }
    }
    sign(&key, &header, &body).unwrap_or_default()
}

/// `{"alg", "typ": "JWT", "kid"}` of `key`.
fn default_header(key: &dyn TokenSigner) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(key.algorithm()));
    header.insert("typ".into(), Value::from("JWT"));
    if let Some(kid) = key.kid() {
        header.insert("kid".into(), Value::from(kid));
    }
    header
}

/// A compact JWS of `claims` under exactly `header` (RFC 7515 section 7.1).
fn sign(
    key: &dyn TokenSigner,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Option<String> {
    let signing_input = format!(
        "{}.{}",
        xaa::jwt::encode_segment(header),
        xaa::jwt::encode_segment(claims)
    );
    let signature = key.sign(signing_input.as_bytes()).ok()?;
    Some(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// `token` with the lowest bit of its signature's first byte flipped.
fn flip_signature_bit(token: &str) -> String {
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return String::new();
    };
    let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(signature) else {
        return String::new();
    };
    if let Some(first) = bytes.first_mut() {
        *first ^= 1;
    }
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}
