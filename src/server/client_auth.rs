//! Client authentication at a token endpoint (RFC 6749 section 2.3, RFC 7523 section 2.2):
//! `none`, `client_secret_basic`, `client_secret_post` and `private_key_jwt`, each client
//! held to the one method it registered (see [`super::clients`]). Secrets are compared in
//! constant time (decisions.md D24).

use std::borrow::Cow;
use std::time::SystemTime;

use http::Request;
use http::header::AUTHORIZATION;

use super::claims::{TimeRules, check_single_audience, required_claim};
use super::clients::{
    AuthenticatedClient, ClientAuthMethod, ClientCredential, ClientRegistry, RegisteredClient,
};
use super::rejection::{ClientAuthFault, RejectReason, Rejection};
use super::replay::{ReplayMode, TokenKind, TokenUse};
use super::replay_step::ReplayChecks;
use super::request::FormRequest;
use super::token_fault::TokenFault;
use crate::constants::CLIENT_ASSERTION_TYPE_JWT_BEARER;
use crate::display_safety::sanitize;
use crate::jose::UnverifiedJws;
use crate::{ClientSecret, constant_time_eq, form};

/// Everything client authentication needs from the server it runs in.
pub(crate) struct ClientAuthenticator<'a> {
    /// The registered clients.
    pub(crate) registry: &'a ClientRegistry,
    /// The server's issuer: an accepted assertion `aud`, and the Basic realm.
    pub(crate) issuer: &'a str,
    /// The token endpoint: the other accepted assertion `aud` (RFC 7523 section 3 rule 3).
    pub(crate) token_endpoint: &'a str,
    /// Time rules for client assertions.
    pub(crate) assertion_times: &'a TimeRules,
}

impl ClientAuthenticator<'_> {
    /// Authenticates the client of a token request and checks it may use `grant_type`. A
    /// client assertion's `jti` is added to `uses`, for the replay step (decisions.md D29).
    pub(crate) fn authenticate(
        &self,
        request: &Request<Vec<u8>>,
        form: &FormRequest,
        grant_type: &str,
        now: SystemTime,
        uses: &mut ReplayChecks,
    ) -> Result<AuthenticatedClient, Box<Rejection>> {
        let authorization =
            authorization_header(request).map_err(|fault| self.basic_failure(fault))?;
        let secret = form.optional("client_secret")?;
        let assertion_type = form.optional("client_assertion_type")?;
        let assertion = form.optional("client_assertion")?;
        let client_id = form.optional("client_id")?;
        let uses_assertion = assertion_type.is_some() || assertion.is_some();
        let presented = [authorization.is_some(), secret.is_some(), uses_assertion];
        if presented.iter().filter(|used| **used).count() > 1 {
            return Err(auth_fault(ClientAuthFault::MultipleMethods));
        }
        let mut assertion_use = None;
        let client = if let Some(header) = authorization {
            self.basic(header, client_id)
                .map_err(|fault| self.basic_failure(fault))?
        } else if let Some(secret) = secret {
            let client_id =
                client_id.ok_or_else(|| auth_fault(ClientAuthFault::MissingCredentials))?;
            let secret = ClientSecret::new(secret);
            self.secret(client_id, &secret, ClientAuthMethod::ClientSecretPost)
                .map_err(auth_fault)?
        } else if uses_assertion {
            let assertion_type =
                assertion_type.ok_or(RejectReason::MissingParameter("client_assertion_type"))?;
            let assertion = assertion.ok_or(RejectReason::MissingParameter("client_assertion"))?;
            let (client, token_use) =
                self.private_key_jwt(assertion_type, assertion, client_id, now)?;
            assertion_use = Some(token_use);
            client
        } else {
            let client_id =
                client_id.ok_or_else(|| auth_fault(ClientAuthFault::MissingCredentials))?;
            self.public(client_id).map_err(auth_fault)?
        };
        let registered = self.registry.get(&client.client_id);
        if !registered.is_some_and(|registered| registered.allows_grant(grant_type)) {
            return Err(RejectReason::UnauthorizedClient.into());
        }
        if let Some(token_use) = assertion_use {
            uses.push(token_use);
        }
        Ok(client)
    }

    /// A failure after the client used the `Authorization` header: 401 with
    /// `WWW-Authenticate: Basic` (RFC 6749 section 5.2). `invalid_request` faults stay 400.
    fn basic_failure(&self, fault: ClientAuthFault) -> Box<Rejection> {
        let mut rejection = auth_fault(fault);
        if rejection.status == http::StatusCode::UNAUTHORIZED {
            rejection.set_basic_challenge(self.issuer);
        }
        rejection
    }

    /// `client_secret_basic`: the header's id (and the body's, if also sent) and secret.
    fn basic(
        &self,
        header: &str,
        body_client_id: Option<&str>,
    ) -> Result<AuthenticatedClient, ClientAuthFault> {
        let (client_id, secret) = form::parse_basic_authorization(header)
            .ok_or(ClientAuthFault::MalformedAuthorization)?;
        if body_client_id.is_some_and(|body| body != client_id) {
            return Err(ClientAuthFault::ClientIdMismatch);
        }
        self.secret(&client_id, &secret, ClientAuthMethod::ClientSecretBasic)
    }

    /// Checks a presented secret against the registration, in constant time.
    fn secret(
        &self,
        client_id: &str,
        presented: &ClientSecret,
        used: ClientAuthMethod,
    ) -> Result<AuthenticatedClient, ClientAuthFault> {
        let client = self.registered(client_id)?;
        let expected = match (&client.credential, used) {
            (ClientCredential::ClientSecretBasic(secret), ClientAuthMethod::ClientSecretBasic)
            | (ClientCredential::ClientSecretPost(secret), ClientAuthMethod::ClientSecretPost) => {
                secret
            }
            (credential, used) => return Err(method_not_allowed(credential, used)),
        };
        if !constant_time_eq(
            expected.expose_secret().as_bytes(),
            presented.expose_secret().as_bytes(),
        ) {
            return Err(ClientAuthFault::SecretMismatch);
        }
        Ok(authenticated(client_id, used))
    }

    /// A public client: registered with no credential.
    fn public(&self, client_id: &str) -> Result<AuthenticatedClient, ClientAuthFault> {
        let client = self.registered(client_id)?;
        match &client.credential {
            ClientCredential::None => Ok(authenticated(client_id, ClientAuthMethod::None)),
            credential => Err(method_not_allowed(credential, ClientAuthMethod::None)),
        }
    }

    /// `private_key_jwt` (RFC 7523 sections 2.2 and 3): the assertion's signature with the
    /// client's registered key, `iss` = `sub` = the client, `aud` the token endpoint or the
    /// issuer, `exp`/`iat`/`nbf`; and the `jti` to register, never seen before (rule 7).
    fn private_key_jwt(
        &self,
        assertion_type: &str,
        assertion: &str,
        body_client_id: Option<&str>,
        now: SystemTime,
    ) -> Result<(AuthenticatedClient, TokenUse), Box<Rejection>> {
        if assertion_type != CLIENT_ASSERTION_TYPE_JWT_BEARER {
            return Err(auth_fault(ClientAuthFault::UnsupportedAssertionType(
                sanitize(assertion_type),
            )));
        }
        let fault =
            |fault: TokenFault| Box::<Rejection>::from(RejectReason::ClientAssertion(fault));
        let jws = UnverifiedJws::parse(assertion).map_err(|error| fault(error.into()))?;
        let claimed = match body_client_id {
            Some(client_id) => Cow::Borrowed(client_id),
            None => required_claim(&jws.claims, "sub").map_err(fault)?,
        };
        let client = self.registered(&claimed).map_err(auth_fault)?;
        let ClientCredential::PrivateKeyJwt { keys, algorithms } = &client.credential else {
            return Err(auth_fault(method_not_allowed(
                &client.credential,
                ClientAuthMethod::PrivateKeyJwt,
            )));
        };
        let client_id = client.client_id.as_str();
        jws.verify(keys.as_ref(), algorithms)
            .map_err(|error| fault(TokenFault::from_jws(error, client_id)))?;
        for claim in ["iss", "sub"] {
            let value = required_claim(&jws.claims, claim).map_err(fault)?;
            if value != client_id {
                return Err(fault(TokenFault::ClaimMismatch {
                    claim,
                    found: sanitize(&value),
                }));
            }
        }
        check_single_audience(&jws.claims, |aud| {
            aud == self.token_endpoint || aud == self.issuer
        })
        .map_err(fault)?;
        let exp = self
            .assertion_times
            .check(&jws.claims, now)
            .map_err(fault)?;
        let jti = required_claim(&jws.claims, "jti").map_err(fault)?;
        let token_use = TokenUse::new(
            TokenKind::ClientAssertion,
            client_id,
            jti,
            assertion,
            exp.saturating_add(self.assertion_times.clock_skew.as_secs()),
            ReplayMode::Strict,
        );
        Ok((
            authenticated(client_id, ClientAuthMethod::PrivateKeyJwt),
            token_use,
        ))
    }

    fn registered(&self, client_id: &str) -> Result<&RegisteredClient, ClientAuthFault> {
        self.registry
            .get(client_id)
            .ok_or_else(|| ClientAuthFault::UnknownClient {
                client_id: sanitize(client_id),
            })
    }
}

/// The `Authorization` header, if sent once: a second one, a non-UTF-8 value or a scheme
/// other than Basic is [`ClientAuthFault::MalformedAuthorization`].
fn authorization_header(request: &Request<Vec<u8>>) -> Result<Option<&str>, ClientAuthFault> {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ClientAuthFault::MalformedAuthorization);
    }
    let value = value
        .to_str()
        .map_err(|_| ClientAuthFault::MalformedAuthorization)?;
    let is_basic = value
        .trim_start()
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "));
    if is_basic {
        Ok(Some(value))
    } else {
        Err(ClientAuthFault::MalformedAuthorization)
    }
}

fn auth_fault(fault: ClientAuthFault) -> Box<Rejection> {
    RejectReason::ClientAuthentication(fault).into()
}

fn method_not_allowed(registered: &ClientCredential, used: ClientAuthMethod) -> ClientAuthFault {
    ClientAuthFault::MethodNotAllowed {
        registered: registered.method().as_str(),
        used: used.as_str(),
    }
}

fn authenticated(client_id: &str, method: ClientAuthMethod) -> AuthenticatedClient {
    AuthenticatedClient {
        client_id: client_id.to_owned(),
        method,
    }
}
