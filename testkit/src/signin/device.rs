//! The device authorization grant's endpoints (RFC 8628): the device authorization endpoint
//! (section 3.1) and the verification page where a person enters the user code and picks a
//! user (section 3.3).

use std::time::{Duration, SystemTime};

use http::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::OPENID;
use super::html::{self, escape};
use super::params::{Params, scope_has};
use super::responses::{OAuthError, success};
use super::store::{DeviceGrant, DeviceStatus};
use crate::endpoint::Endpoint;
use crate::http_util::method_not_allowed;
use crate::sign_in_record::SignInRecord;
use crate::state::Shared;
use crate::urls::DEVICE_PATH;
use crate::users::{USERS, unix_seconds};

/// The user-code alphabet: consonants only, no look-alikes (RFC 8628 section 6.1).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// `POST /device_authorization`: a device code and a user code for the client.
pub(crate) fn authorize(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let mut record = SignInRecord::new(Endpoint::IdpDeviceAuthorization);
    let result = start(shared, request, now, &mut record);
    if let Err(error) = &result {
        record.error = Some(error.code.to_owned());
    }
    shared.recorder.note_sign_in(record);
    match result {
        Ok(response) => response,
        Err(error) => error.to_response(),
    }
}

fn start(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    now: SystemTime,
    record: &mut SignInRecord,
) -> Result<Response<Vec<u8>>, OAuthError> {
    let params = Params::from_body(request.body());
    let client_id = super::client::authenticate(shared, request.headers(), &params, now)?;
    record.client_id = Some(client_id.clone());
    let scope = params.optional("scope")?.unwrap_or(OPENID);
    if !scope_has(scope, OPENID) {
        return Err(OAuthError::new(
            "invalid_scope",
            "the scope must contain openid",
        ));
    }
    let (lifetime, interval) = {
        let settings = shared.settings();
        let interval = settings.device_poll_interval.as_secs().max(1);
        (settings.device_code_lifetime.as_secs().max(1), interval)
    };
    let device_code = format!("idp-device-{}", xaa::jose::random_jti());
    let user_code = new_user_code();
    let verification_uri = &shared.urls.idp_device_verification_uri;
    let body = json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
        "expires_in": lifetime,
        "interval": interval,
    });
    let mut store = shared.sign_in.store();
    store.prune(now);
    store.devices.insert(
        device_code,
        DeviceGrant {
            client_id,
            scope: scope.to_owned(),
            user_code,
            expires_at: now + Duration::from_secs(lifetime),
            interval: Duration::from_secs(interval),
            last_poll: None,
            status: DeviceStatus::Pending,
        },
    );
    Ok(success(&body))
}

/// `XXXX-XXXX` from [`USER_CODE_ALPHABET`] (about 34 bits: RFC 8628 section 5.1 asks for
/// enough entropy with rate limiting; this is a test kit).
fn new_user_code() -> String {
    let random = xaa::jose::random_jti();
    let letters: Vec<char> = random
        .bytes()
        .take(8)
        .map(|byte| char::from(USER_CODE_ALPHABET[usize::from(byte) % USER_CODE_ALPHABET.len()]))
        .collect();
    let (first, second) = letters.split_at(letters.len() / 2);
    format!(
        "{}-{}",
        first.iter().collect::<String>(),
        second.iter().collect::<String>()
    )
}

/// `/device`: `GET` shows the form (the user code filled in from `?user_code=`), `POST`
/// approves or denies the grant with that user code.
pub(crate) fn verification(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    match *request.method() {
        Method::GET => {
            let params = Params::from_query(request.uri().query());
            let user_code = params
                .optional("user_code")
                .ok()
                .flatten()
                .unwrap_or_default();
            verification_page(user_code)
        }
        Method::POST => decide(shared, &Params::from_body(request.body()), now),
        _ => method_not_allowed("GET, POST"),
    }
}

fn verification_page(user_code: &str) -> Response<Vec<u8>> {
    let body = format!(
        "<p>Enter the code your device shows, and choose who you are.</p>\n\
         <form method=\"post\" action=\"{DEVICE_PATH}\" id=\"device\">\n\
         <p><label for=\"user_code\">Code</label> <input type=\"text\" id=\"user_code\" \
         name=\"user_code\" value=\"{code}\" autocomplete=\"off\"></p>\n{choices}{buttons}\n</form>",
        code = escape(user_code),
        choices = html::user_choices(&USERS, None),
        buttons = html::decision_buttons("Allow"),
    );
    html::page(
        StatusCode::OK,
        "Connect a device to the xaa test kit IdP",
        &body,
    )
}

fn decide(shared: &Shared, params: &Params, now: SystemTime) -> Response<Vec<u8>> {
    let user_code = params
        .optional("user_code")
        .ok()
        .flatten()
        .unwrap_or_default();
    let user = params.optional("user").ok().flatten();
    let allow = params
        .optional("decision")
        .ok()
        .flatten()
        .unwrap_or("allow")
        == "allow";
    if allow && !user.is_some_and(|user| USERS.contains(&user)) {
        return html::error_page(StatusCode::BAD_REQUEST, "Choose one of the listed users.");
    }
    let mut store = shared.sign_in.store();
    store.prune(now);
    let Some(grant) = store
        .device_by_user_code(user_code)
        .filter(|grant| matches!(grant.status, DeviceStatus::Pending))
    else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "This code is unknown, expired or already used: check your device.",
        );
    };
    grant.status = match user {
        Some(user) if allow => DeviceStatus::Approved {
            user: user.to_owned(),
            auth_time: unix_seconds(now),
        },
        _ => DeviceStatus::Denied,
    };
    let message = if allow {
        "Your device is connected: you may close this page."
    } else {
        "The request was denied: you may close this page."
    };
    html::page(
        StatusCode::OK,
        "Device",
        &format!("<p id=\"done\">{}</p>", escape(message)),
    )
}
