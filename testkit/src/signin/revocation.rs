//! The revocation endpoint (RFC 7009): revokes a refresh token and its whole family; an
//! unknown token, or an access token, is answered `200` all the same (section 2.2).

use std::time::SystemTime;

use http::{Method, Request, Response, StatusCode};

use super::params::Params;
use super::responses::OAuthError;
use crate::endpoint::Endpoint;
use crate::http_util::{empty, method_not_allowed};
use crate::sign_in_record::SignInRecord;
use crate::state::Shared;

/// `POST /revoke`.
pub(crate) fn handle(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let mut record = SignInRecord::new(Endpoint::IdpRevocation);
    let result = revoke(shared, request, now, &mut record);
    if let Err(error) = &result {
        record.error = Some(error.code.to_owned());
    }
    shared.recorder.note_sign_in(record);
    match result {
        Ok(()) => empty(StatusCode::OK),
        Err(error) => error.to_response(),
    }
}

fn revoke(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    now: SystemTime,
    record: &mut SignInRecord,
) -> Result<(), OAuthError> {
    let params = Params::from_body(request.body());
    let client_id = super::client::authenticate(shared, request.headers(), &params, now)?;
    record.client_id = Some(client_id.clone());
    let token = params.required("token")?;
    // The hint only speeds up a lookup (RFC 7009 section 2.1); there is one kind to look in.
    let _hint = params.optional("token_type_hint")?;
    let mut store = shared.sign_in.store();
    record.refresh_generation = store.refresh_generation(token);
    store.revoke_refresh_token(token, &client_id);
    Ok(())
}
