//! The authorization endpoint (OpenID Connect Core 1.0 section 3.1.2) and its sign-in form.
//!
//! `GET /authorize` validates the request. Until `client_id` and `redirect_uri` are known
//! good, errors are shown on a page and never redirected (RFC 6749 section 4.1.2.1); after,
//! they are redirected with `error`, `state` and `iss` (RFC 9207 section 2). A valid request
//! gets a page listing the users, whose form posts a one-time, short-lived transaction id to
//! `POST /authorize/sign-in`, which answers `303` to `redirect_uri?code&state&iss`.

use std::time::SystemTime;

use http::{Method, Request, Response, StatusCode};
use url::Url;

use super::html::{self, escape};
use super::params::{Params, scope_has};
use super::pkce::{S256, is_s256_challenge};
use super::responses::{OAuthError, found, see_other};
use super::store::{CODE_LIFETIME, IssuedCode, TRANSACTION_LIFETIME, Transaction};
use super::{AuthorizationResponseFault, OPENID};
use crate::endpoint::Endpoint;
use crate::faults::{EVIL_ORIGIN, Fault};
use crate::http_util::method_not_allowed;
use crate::sign_in_record::SignInRecord;
use crate::state::Shared;
use crate::urls::SIGN_IN_PATH;
use crate::users::{USERS, unix_seconds};

/// The `state` of an [`AuthorizationResponseFault::WrongState`] response.
const WRONG_STATE: &str = "not-the-state-the-client-sent";

/// `GET /authorize`: the sign-in page, or the request's error.
pub(crate) fn page(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    if request.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let params = Params::from_query(request.uri().query());
    let redirect_uri = match trusted_redirect_uri(shared, &params) {
        Ok(redirect_uri) => redirect_uri,
        Err(message) => return html::error_page(StatusCode::BAD_REQUEST, &message),
    };
    let state = params.optional("state").ok().flatten();
    let transaction = match validate(&params, &redirect_uri, now) {
        Ok(transaction) => transaction,
        Err(error) => {
            let location = error_redirect(shared, &redirect_uri, &error, state, None);
            return found(&location);
        }
    };
    let login_hint = params.optional("login_hint").ok().flatten();
    let id = xaa::jose::random_jti();
    let client_id = transaction.client_id.clone();
    {
        let mut store = shared.sign_in.store();
        store.prune(now);
        store.transactions.insert(id.clone(), transaction);
    }
    sign_in_page(&client_id, &id, login_hint)
}

/// The page with the form.
fn sign_in_page(client_id: &str, transaction: &str, login_hint: Option<&str>) -> Response<Vec<u8>> {
    let body = format!(
        "<p>The application <code>{client}</code> asks you to sign in.</p>\n\
         <form method=\"post\" action=\"{SIGN_IN_PATH}\" id=\"sign-in\">\n\
         <input type=\"hidden\" name=\"transaction\" value=\"{transaction}\">\n\
         {choices}{buttons}\n</form>",
        client = escape(client_id),
        transaction = escape(transaction),
        choices = html::user_choices(&USERS, login_hint),
        buttons = html::decision_buttons("Sign in"),
    );
    html::page(StatusCode::OK, "Sign in to the xaa test kit IdP", &body)
}

/// `client_id` and `redirect_uri`, checked before anything may be redirected: a registered
/// client, and an `http` loopback IP literal with any port and a registered path, no
/// fragment (RFC 8252 sections 7.3 and 8.3; RFC 6749 section 3.1.2).
fn trusted_redirect_uri(shared: &Shared, params: &Params) -> Result<Url, String> {
    let client_id = params
        .optional("client_id")
        .map_err(|error| error.description)?
        .ok_or("The request names no client (client_id is missing).")?;
    if client_id != shared.identity.idp_client.client_id {
        return Err(format!("The client {client_id} is not registered here."));
    }
    let raw = params
        .optional("redirect_uri")
        .map_err(|error| error.description)?
        .ok_or("The request has no redirect_uri.")?;
    let url = Url::parse(raw).map_err(|_| format!("The redirect_uri {raw} is not a URL."))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    let registered = shared
        .settings()
        .sign_in_redirect_paths
        .iter()
        .any(|path| path == url.path());
    if url.scheme() != "http"
        || !loopback
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
        || !registered
    {
        return Err(format!(
            "The redirect_uri {raw} is not registered for this client: it must be \
             http://127.0.0.1:<port> or http://[::1]:<port> with a registered path."
        ));
    }
    Ok(url)
}

/// The rest of the request (OpenID Connect Core 1.0 section 3.1.2.1), into a transaction.
fn validate(
    params: &Params,
    redirect_uri: &Url,
    now: SystemTime,
) -> Result<Transaction, OAuthError> {
    match params.required("response_type")? {
        "code" => {}
        _ => {
            return Err(OAuthError::new(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    let state = params.required("state")?;
    let scope = params.required("scope")?;
    if !scope_has(scope, OPENID) {
        return Err(OAuthError::new(
            "invalid_scope",
            "the scope must contain openid",
        ));
    }
    let nonce = params.required("nonce")?;
    let code_challenge = params.optional("code_challenge")?;
    let method = params.optional("code_challenge_method")?;
    let code_challenge = match (code_challenge, method) {
        (Some(challenge), Some(S256)) if is_s256_challenge(challenge) => challenge,
        (Some(_), Some(S256)) => {
            return Err(OAuthError::invalid_request(
                "code_challenge must be 43 base64url characters (RFC 7636 section 4.2)",
            ));
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            ));
        }
    };
    // Every sign-in here is a fresh authentication, so any max_age is met.
    if params
        .optional("max_age")?
        .is_some_and(|max_age| max_age.parse::<u64>().is_err())
    {
        return Err(OAuthError::invalid_request(
            "max_age must be a number of seconds",
        ));
    }
    if params
        .optional("prompt")?
        .is_some_and(|prompt| scope_has(prompt, "none"))
    {
        return Err(OAuthError::new(
            "login_required",
            "nobody is signed in here: the person must sign in",
        ));
    }
    Ok(Transaction {
        client_id: params.required("client_id")?.to_owned(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_sent: params.required("redirect_uri")?.to_owned(),
        state: state.to_owned(),
        nonce: nonce.to_owned(),
        code_challenge: code_challenge.to_owned(),
        scope: scope.to_owned(),
        expires_at: now + TRANSACTION_LIFETIME,
    })
}

/// `POST /authorize/sign-in`: the person's choice, answered with the authorization response.
pub(crate) fn sign_in(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let fault = match fault {
        Some(Fault::AuthorizationResponse(fault)) => Some(*fault),
        _ => None,
    };
    let params = Params::from_body(request.body());
    let mut record = SignInRecord::new(Endpoint::IdpSignIn);
    let decision = params
        .optional("decision")
        .ok()
        .flatten()
        .unwrap_or("allow");
    let user = params.optional("user").ok().flatten();
    let allow = decision == "allow";
    if allow && !user.is_some_and(|user| USERS.contains(&user)) {
        return html::error_page(StatusCode::BAD_REQUEST, "Choose one of the listed users.");
    }
    let transaction = {
        let mut store = shared.sign_in.store();
        store.prune(now);
        params
            .optional("transaction")
            .ok()
            .flatten()
            .and_then(|id| store.transactions.remove(id))
    };
    let Some(transaction) = transaction else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired or was already used: start again from the application.",
        );
    };
    record.client_id = Some(transaction.client_id.clone());
    record.user = user.map(str::to_owned);
    let state = Some(transaction.state.as_str());
    let location = if !allow || fault == Some(AuthorizationResponseFault::AccessDenied) {
        let error = OAuthError::new("access_denied", "the person declined to sign in");
        record.error = Some(error.code.to_owned());
        error_redirect(shared, &transaction.redirect_uri, &error, state, fault)
    } else {
        let user = user.unwrap_or_default();
        let code = issue_code(shared, &transaction, user, now);
        response_redirect(
            shared,
            &transaction.redirect_uri,
            &[("code", &code)],
            state,
            fault,
        )
    };
    shared.recorder.note_sign_in(record);
    see_other(&location)
}

/// Remembers a fresh code for `user`.
fn issue_code(shared: &Shared, transaction: &Transaction, user: &str, now: SystemTime) -> String {
    let code = format!("idp-code-{}", xaa::jose::random_jti());
    shared.sign_in.store().codes.insert(
        code.clone(),
        IssuedCode {
            client_id: transaction.client_id.clone(),
            redirect_uri: transaction.redirect_uri_sent.clone(),
            code_challenge: transaction.code_challenge.clone(),
            user: user.to_owned(),
            nonce: transaction.nonce.clone(),
            scope: transaction.scope.clone(),
            auth_time: unix_seconds(now),
            expires_at: now + CODE_LIFETIME,
            redeemed: false,
            family: None,
        },
    );
    code
}

/// `redirect_uri` with `error`, `error_description`, `state` and `iss`.
fn error_redirect(
    shared: &Shared,
    redirect_uri: &Url,
    error: &OAuthError,
    state: Option<&str>,
    fault: Option<AuthorizationResponseFault>,
) -> String {
    let members = [
        ("error", error.code),
        ("error_description", error.description.as_str()),
    ];
    response_redirect(shared, redirect_uri, &members, state, fault)
}

/// `redirect_uri` with `members`, then `state` and `iss` (RFC 9207 section 2), as `fault`
/// says.
fn response_redirect(
    shared: &Shared,
    redirect_uri: &Url,
    members: &[(&str, &str)],
    state: Option<&str>,
    fault: Option<AuthorizationResponseFault>,
) -> String {
    let mut url = redirect_uri.clone();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in members {
            query.append_pair(name, value);
        }
        match (fault, state) {
            (Some(AuthorizationResponseFault::MissingState), _) | (_, None) => {}
            (Some(AuthorizationResponseFault::WrongState), Some(_)) => {
                query.append_pair("state", WRONG_STATE);
            }
            (_, Some(state)) => {
                query.append_pair("state", state);
            }
        }
        match fault {
            Some(AuthorizationResponseFault::MissingIssuer) => {}
            Some(AuthorizationResponseFault::WrongIssuer) => {
                query.append_pair("iss", EVIL_ORIGIN);
            }
            _ => {
                query.append_pair("iss", &shared.urls.idp_issuer);
            }
        }
    }
    url.to_string()
}
