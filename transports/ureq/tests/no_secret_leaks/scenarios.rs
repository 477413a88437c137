//! Part of the leak test; see `main.rs`.

use super::*;

// ---------------------------------------------------------------------------------------------

/// What the scenarios accumulate.
#[derive(Default)]
pub(crate) struct Evidence {
    /// Every result, error and object, formatted with `{}`, `{:?}` and `{:#?}`.
    pub(crate) formatted: String,
    pub(crate) secrets: Secrets,
    pub(crate) scenarios: Vec<&'static str>,
}

impl Evidence {
    pub(crate) fn scenario(&mut self, name: &'static str) {
        self.scenarios.push(name);
        let _ = writeln!(self.formatted, "== {name}");
    }

    /// Formats a result: the value with `{:?}` and `{:#?}`, an error with [`Self::error`].
    pub(crate) fn result<T: fmt::Debug, E: std::error::Error>(
        &mut self,
        label: &str,
        result: &Result<T, E>,
    ) {
        match result {
            Ok(value) => {
                let _ = writeln!(self.formatted, "{label}: Ok {value:?}\n{value:#?}");
            }
            Err(error) => self.error(label, error),
        }
    }

    /// Formats an error with `{}`, `{:?}` and `{:#?}`, and each of its sources likewise.
    pub(crate) fn error(&mut self, label: &str, error: &dyn std::error::Error) {
        let _ = writeln!(
            self.formatted,
            "{label}: Err {error}\n{error:?}\n{error:#?}"
        );
        let mut source = error.source();
        while let Some(cause) = source {
            let _ = writeln!(
                self.formatted,
                "{label}: caused by {cause}\n{cause:?}\n{cause:#?}"
            );
            source = cause.source();
        }
    }

    /// Formats any object with `{:?}` and `{:#?}`.
    pub(crate) fn object(&mut self, label: &str, value: &dyn fmt::Debug) {
        let _ = writeln!(self.formatted, "{label}: {value:?}\n{value:#?}");
    }

    /// Everything the kit holds or recorded; call before the kit is reset or dropped.
    pub(crate) fn collect(&mut self, kit: &Testkit) {
        self.secrets.add_registrations(kit);
        self.secrets.add_recorded_requests(kit);
    }

    /// A fresh ID token for `name`, remembered as a secret.
    pub(crate) fn id_token(&mut self, kit: &Testkit, name: &str) -> IdToken {
        let token = kit.id_token(name);
        self.secrets.add(Kind::IdToken, token.expose_secret());
        token
    }

    /// A user holding a fresh ID token for `name`.
    pub(crate) fn user(&mut self, kit: &Testkit, name: &str) -> User {
        let token = self.id_token(kit, name);
        User::from_id_token(SubjectToken::IdToken(token)).expect("an ID token with iss and sub")
    }

    /// `token()` through the blocking authorizer, formatted; the token remembered.
    pub(crate) fn token(
        &mut self,
        label: &str,
        authorizer: &Authorizer,
        user: &User,
    ) -> Result<AccessToken, Error> {
        let result = authorizer.token(user);
        if let Ok(token) = &result {
            self.secrets.add(Kind::AccessToken, token.expose_secret());
        }
        self.result(label, &result);
        result
    }

    /// `send()` through the blocking authorizer, formatted.
    pub(crate) fn send(
        &mut self,
        label: &str,
        authorizer: &Authorizer,
        user: &User,
        request: xaa::HttpRequest,
    ) -> Result<xaa::HttpResponse, Error> {
        let result = authorizer.send(user, request);
        self.result(label, &result);
        result
    }

    /// A whole flow through [`Client::run`], formatted; its tokens remembered.
    pub(crate) fn run(
        &mut self,
        label: &str,
        client: &Client,
        config: EnterpriseConfig,
        start: Start,
    ) -> Result<Authorization, Error> {
        self.object(&format!("{label} config"), &config);
        let flow = EnterpriseAuth::new(config, start).expect("the flow starts");
        let result = client.run(flow);
        if let Ok(authorization) = &result {
            self.secrets.add_authorization(authorization);
        }
        self.result(label, &result);
        result
    }

    /// A whole flow through [`xaa::drive`] with the driver's [`Client::send`], every response
    /// body tapped for the tokens in it: how the tokens a hostile server issued, which the
    /// client then refuses and never sends on, are learnt.
    pub(crate) fn tapped_run(
        &mut self,
        label: &str,
        kit: &Testkit,
        client: &Client,
        config: EnterpriseConfig,
    ) -> Result<Authorization, DriveError<Error>> {
        let flow = EnterpriseAuth::new(config, server_url(kit)).expect("the flow starts");
        let idp_token_endpoint = kit.idp_token_endpoint().to_owned();
        let mut bodies = Vec::new();
        let result = xaa::drive(flow, SystemTime::now, |request| {
            let from_idp = request.uri().to_string() == idp_token_endpoint;
            let response = client.send(request)?;
            bodies.push((from_idp, response.body().clone()));
            Ok::<_, Error>(response)
        });
        for (from_idp, body) in &bodies {
            self.secrets.add_token_response(*from_idp, body);
        }
        if let Ok(authorization) = &result {
            self.secrets.add_authorization(authorization);
        }
        self.result(label, &result);
        result
    }
}

/// The flow error inside a driver error, if that is what it is.
pub(crate) fn flow_error<T>(result: &Result<T, Error>) -> Option<&xaa::Error> {
    match result {
        Err(Error::Flow(error)) => Some(error),
        _ => None,
    }
}

/// A client with a generous timeout and no proxy, as the other kit tests use.
pub(crate) fn client() -> Client {
    common::client()
}

/// A client that gives up on any request after `timeout`.
pub(crate) fn impatient_client(timeout: Duration) -> Client {
    common::client_builder()
        .timeout(timeout)
        .build()
        .expect("client")
}

/// The cold start: nothing but the MCP server URL.
pub(crate) fn server_url(kit: &Testkit) -> Start {
    Start::ServerUrl(kit.mcp_url().into())
}

// ---------------------------------------------------------------------------------------------
// The scenarios.
// ---------------------------------------------------------------------------------------------

/// Cold, then hot; a revoked token answered 401 and replaced; a 403 stepped up; a server that
/// answers 401 forever.
pub(crate) fn authorizer_success_and_resource_rejections(ev: &mut Evidence, kit: &Testkit) {
    ev.scenario("authorizer: cold send, hot token, hot send");
    let authorizer = common::authorizer(kit);
    let alice = ev.user(kit, "alice");
    let cold = ev.send("cold send", &authorizer, &alice, tools_list(kit));
    assert!(cold.is_ok(), "the cold flow succeeds: {cold:?}");
    let hot = ev.token("hot token", &authorizer, &alice);
    assert!(hot.is_ok(), "{hot:?}");
    let mcp = authorizer.with_user(alice.clone());
    let hot = mcp.send(call_tool(kit, "echo", "hello"));
    ev.result("hot send through with_user", &hot);
    assert!(hot.is_ok(), "{hot:?}");
    ev.object("authorizer", &authorizer);
    ev.object("user authorizer", &mcp);
    ev.object("user", &alice);

    ev.scenario("authorizer: revoked token, 401, one re-exchange");
    let token = authorizer.token(&alice).expect("a cached token");
    ev.secrets.add(Kind::AccessToken, token.expose_secret());
    assert!(kit.revoke(token.expose_secret()), "a kit token");
    let replaced = ev.send("after revocation", &authorizer, &alice, tools_list(kit));
    assert!(replaced.is_ok(), "{replaced:?}");

    ev.scenario("authorizer: 403 insufficient_scope, stepped up");
    let stepped_up = ev.send(
        "admin_echo",
        &authorizer,
        &alice,
        call_tool(kit, "admin_echo", "root"),
    );
    assert!(stepped_up.is_ok(), "{stepped_up:?}");

    ev.scenario("authorizer: a server that answers 401 forever");
    kit.set_fault(Endpoint::McpServer, Fault::Unauthorized);
    let refused = ev.send("401 forever", &authorizer, &alice, tools_list(kit));
    assert!(
        matches!(
            flow_error(&refused),
            Some(xaa::Error::ResourceServerRejected { status: 401, .. })
        ),
        "{refused:?}"
    );
    kit.clear_faults();
    ev.collect(kit);
}

/// The cold flow through `Client::run`, then its ID-JAG re-submitted: the authorization server
/// refuses the replay (`invalid_grant`) and the flow exchanges afresh.
pub(crate) fn client_run_success_and_replayed_id_jag(ev: &mut Evidence, kit: &Testkit) {
    ev.scenario("Client::run: cold flow");
    let client = client();
    let subject = SubjectToken::IdToken(ev.id_token(kit, "bob"));
    let first = ev
        .run(
            "cold run",
            &client,
            kit.enterprise_config(subject.clone()),
            server_url(kit),
        )
        .expect("the cold flow succeeds");

    ev.scenario("Client::run: the authorization server refuses a replayed ID-JAG");
    let start = Start::Resubmit {
        discovery: first.discovery.clone(),
        id_jag: first.id_jag.clone().expect("an ID-JAG was kept"),
    };
    let resubmitted = ev.run(
        "resubmitted ID-JAG",
        &client,
        kit.enterprise_config(subject),
        start,
    );
    assert!(resubmitted.is_ok(), "{resubmitted:?}");
    let refused = kit
        .requests_to(Endpoint::AsToken)
        .iter()
        .filter(|request| request.status == Some(http::StatusCode::BAD_REQUEST))
        .count();
    assert!(refused >= 1, "the replayed ID-JAG was refused");
    ev.collect(kit);
}

/// The IdP refuses the exchange: a forged ID token (`invalid_grant`), then the client's
/// credentials (`invalid_client`).
pub(crate) fn idp_refusals(ev: &mut Evidence, kit: &Testkit) {
    ev.scenario("IdP refuses a forged ID token (invalid_grant)");
    let authorizer = common::authorizer(kit);
    let forged = common::forged_id_token(kit, "carol");
    ev.secrets.add(Kind::IdToken, forged.expose_secret());
    let carol = User::from_id_token(SubjectToken::IdToken(forged)).expect("user");
    let refused = ev.token("forged ID token", &authorizer, &carol);
    assert!(
        matches!(
            flow_error(&refused),
            Some(xaa::Error::ReauthenticationRequired { .. })
        ),
        "the IdP refused the forged token: {refused:?}"
    );

    ev.scenario("IdP refuses the client's credentials (invalid_client)");
    refused_client_credentials(ev, kit, Endpoint::IdpToken);
}

/// The authorization server refuses the jwt-bearer grant: the client's credentials
/// (`invalid_client`), sent with the ID-JAG.
pub(crate) fn authorization_server_refusal(ev: &mut Evidence, kit: &Testkit) {
    ev.scenario("authorization server refuses the client (invalid_client)");
    refused_client_credentials(ev, kit, Endpoint::AsToken);
    let last = kit.requests_to(Endpoint::AsToken).pop();
    assert!(
        last.is_some_and(|request| request.param("assertion").is_some()),
        "the ID-JAG reached the authorization server"
    );
}

/// The right client id under the method the kit requires, with credentials the server refuses:
/// another secret, or another key. Those are secrets too.
pub(crate) fn wrong_credentials(
    ev: &mut Evidence,
    registration: &ClientRegistration,
) -> ClientCredentials {
    let id = registration.client_id.as_str();
    match registration.method {
        ClientAuthMethod::PrivateKeyJwt => {
            let key = SigningKey::generate_es256("not-the-registered-key").expect("a key");
            ev.secrets
                .add(Kind::PrivateKeyPem, key.expose_private_pem());
            let signer = Arc::new(JwtAssertionSigner::new(key));
            let jwt = PrivateKeyJwt::new(signer, Arc::new(random_jti));
            ClientCredentials::new(id, ClientAuth::PrivateKeyJwt(jwt))
        }
        method => {
            let secret = ClientSecret::new(format!("not-the-secret-{}", random_jti()));
            ev.secrets.add(Kind::ClientSecret, secret.expose_secret());
            if method == ClientAuthMethod::ClientSecretPost {
                ClientCredentials::post(id, secret)
            } else {
                ClientCredentials::basic(id, secret)
            }
        }
    }
}

/// A cold authorizer whose credentials at the server of `endpoint` are wrong: the request is
/// sent, credentials and all, and refused with a client error.
pub(crate) fn refused_client_credentials(ev: &mut Evidence, kit: &Testkit, endpoint: Endpoint) {
    let (idp, authorization_server) = if endpoint == Endpoint::IdpToken {
        (
            wrong_credentials(ev, &kit.idp_client()),
            kit.as_credentials(),
        )
    } else {
        (
            kit.idp_credentials(),
            wrong_credentials(ev, &kit.as_client()),
        )
    };
    let config = AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), idp),
        AuthorizationServer::discovered(authorization_server),
    )
    .policy(Policy::loopback());
    let authorizer = Authorizer::with_client(config, client());
    ev.object("authorizer with wrong credentials", &authorizer);
    let before = kit.requests_to(endpoint).len();
    let dave = ev.user(kit, "dave");
    let refused = ev.send(
        &format!("wrong credentials at {endpoint:?}"),
        &authorizer,
        &dave,
        tools_list(kit),
    );
    assert!(flow_error(&refused).is_some(), "{refused:?}");
    let requests = kit.requests_to(endpoint);
    assert!(requests.len() > before, "the credentials were sent");
    let status = requests.last().and_then(|request| request.status);
    assert!(
        status.is_some_and(|status| status.is_client_error()),
        "the server refused them: {status:?}"
    );
    ev.collect(kit);
}

/// Hostile and broken answers: an ID-JAG for another audience, one with the wrong
/// `issued_token_type`, unsigned; a body that is not JSON; a lying issuer; a redirect; stray
/// refresh tokens.
pub(crate) fn hostile_responses(ev: &mut Evidence, kit: &Testkit) {
    let client = client();
    ev.scenario("hostile: an ID-JAG for another audience (tapped)");
    kit.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::WrongAudience));
    let bearer_grants = kit.requests_to(Endpoint::AsToken).len();
    let subject = SubjectToken::IdToken(ev.id_token(kit, "frank"));
    let wrong_audience = ev.tapped_run(
        "wrong audience",
        kit,
        &client,
        kit.enterprise_config(subject),
    );
    assert!(
        matches!(
            wrong_audience,
            Err(DriveError::Flow(xaa::Error::InvalidResponse { .. }))
        ),
        "{wrong_audience:?}"
    );
    assert_eq!(
        kit.requests_to(Endpoint::AsToken).len(),
        bearer_grants,
        "the refused ID-JAG went nowhere"
    );

    ev.scenario("hostile: an ID-JAG for another audience (Client::run)");
    let subject = SubjectToken::IdToken(ev.id_token(kit, "frank"));
    let refused = ev.run(
        "wrong audience",
        &client,
        kit.enterprise_config(subject),
        server_url(kit),
    );
    assert!(flow_error(&refused).is_some(), "{refused:?}");

    ev.scenario("hostile: wrong issued_token_type and an unsigned ID-JAG (authorizer)");
    for fault in [
        Fault::WrongIssuedTokenType,
        Fault::IdJag(IdJagFault::AlgNone),
    ] {
        kit.set_fault(Endpoint::IdpToken, fault.clone());
        let authorizer = common::authorizer(kit);
        let grace = ev.user(kit, "grace");
        let refused = ev.send(&format!("{fault:?}"), &authorizer, &grace, tools_list(kit));
        assert!(flow_error(&refused).is_some(), "{fault:?}: {refused:?}");
    }
    kit.clear_faults();

    ev.scenario("hostile: a token response that is not JSON (authorizer)");
    kit.set_fault(Endpoint::AsToken, Fault::NotJson);
    let authorizer = common::authorizer(kit);
    let heidi = ev.user(kit, "heidi");
    let refused = ev.send("not JSON", &authorizer, &heidi, tools_list(kit));
    assert!(flow_error(&refused).is_some(), "{refused:?}");
    kit.clear_faults();

    ev.scenario("hostile: metadata with a lying issuer, a redirect (Client::run)");
    for (endpoint, fault) in [
        (Endpoint::AsMetadata, Fault::WrongIssuer),
        (
            Endpoint::IdpToken,
            Fault::Redirect(kit.authorization_server_token_endpoint().to_owned()),
        ),
    ] {
        kit.set_fault(endpoint, fault.clone());
        let subject = SubjectToken::IdToken(ev.id_token(kit, "ivan"));
        let refused = ev.run(
            &format!("{fault:?}"),
            &client,
            kit.enterprise_config(subject),
            server_url(kit),
        );
        assert!(flow_error(&refused).is_some(), "{fault:?}: {refused:?}");
        kit.clear_faults();
    }

    ev.scenario("hostile: refresh tokens where none belong (tapped)");
    for endpoint in [Endpoint::IdpToken, Endpoint::AsToken] {
        kit.set_fault(endpoint, Fault::RefreshToken);
        let subject = SubjectToken::IdToken(ev.id_token(kit, "judy"));
        let ignored = ev.tapped_run(
            "stray refresh_token",
            kit,
            &client,
            kit.enterprise_config(subject),
        );
        assert!(ignored.is_ok(), "the stray member is ignored: {ignored:?}");
        kit.clear_faults();
    }
    ev.collect(kit);
}

/// An ID token that expired an hour ago: re-authentication, nothing sent.
pub(crate) fn expired_id_token(ev: &mut Evidence, kit: &Testkit) {
    ev.scenario("expired ID token");
    let expired = common::expired_id_token(kit, "mallory");
    ev.secrets.add(Kind::IdToken, expired.expose_secret());
    let authorizer = common::authorizer(kit);
    let mallory = User::from_id_token(SubjectToken::IdToken(expired.clone())).expect("user");
    let refused = ev.token("expired through the authorizer", &authorizer, &mallory);
    assert!(
        matches!(
            flow_error(&refused),
            Some(xaa::Error::ReauthenticationRequired { .. })
        ),
        "re-authentication is needed: {refused:?}"
    );
    let refused = ev.run(
        "expired through Client::run",
        &client(),
        kit.enterprise_config(SubjectToken::IdToken(expired)),
        server_url(kit),
    );
    assert!(flow_error(&refused).is_some(), "{refused:?}");
    ev.collect(kit);
}

/// No response: an unreachable authorization server, a response slower than the client's
/// timeout, a connection closed mid-body, a body over the cap.
pub(crate) fn transport_failures(ev: &mut Evidence, kit: &Testkit) {
    ev.scenario("transport: unreachable authorization server (connection refused)");
    kit.set_fault(
        Endpoint::ResourceMetadata,
        Fault::UnreachableAuthorizationServer,
    );
    let subject = SubjectToken::IdToken(ev.id_token(kit, "niaj"));
    let refused = ev.run(
        "unreachable",
        &client(),
        kit.enterprise_config(subject),
        server_url(kit),
    );
    assert!(
        refused.as_ref().is_err_and(Error::is_transport),
        "{refused:?}"
    );
    kit.clear_faults();

    ev.scenario("transport: slower than the client's timeout (authorizer)");
    kit.set_fault(Endpoint::IdpToken, Fault::Slow(Duration::from_secs(2)));
    let authorizer = Authorizer::with_client(
        common::config(kit),
        impatient_client(Duration::from_millis(700)),
    );
    let olivia = ev.user(kit, "olivia");
    let timed_out = ev.send("timeout", &authorizer, &olivia, tools_list(kit));
    assert!(
        matches!(timed_out, Err(Error::Timeout { .. })),
        "{timed_out:?}"
    );
    kit.clear_faults();

    ev.scenario("transport: connection closed mid-body (authorizer)");
    kit.set_fault(Endpoint::AsToken, Fault::CloseMidBody);
    let authorizer = common::authorizer(kit);
    let peggy = ev.user(kit, "peggy");
    let closed = ev.send("closed mid-body", &authorizer, &peggy, tools_list(kit));
    assert!(
        closed.as_ref().is_err_and(Error::is_transport),
        "{closed:?}"
    );
    kit.clear_faults();

    ev.scenario("transport: body over the cap (Client::run)");
    kit.set_fault(Endpoint::IdpToken, Fault::OversizedBody);
    let subject = SubjectToken::IdToken(ev.id_token(kit, "rupert"));
    let too_large = ev.run(
        "oversized",
        &client(),
        kit.enterprise_config(subject),
        server_url(kit),
    );
    assert!(
        matches!(too_large, Err(Error::BodyTooLarge { .. })),
        "{too_large:?}"
    );
    kit.clear_faults();
    ev.collect(kit);
}

/// A token due for refresh: the call gets it and starts a background refresh, which fails (the
/// IdP answers 500) and is logged by the driver on its own thread.
///
/// The cache refreshes at most half a lifetime early, so tokens live 3 s here and the second
/// call comes 1.6 s after the first: due for refresh, still valid.
pub(crate) fn failed_background_refresh(ev: &mut Evidence, kit: &Testkit) {
    const LIFETIME: Duration = Duration::from_secs(3);
    const DUE_AFTER: Duration = Duration::from_millis(1600);
    ev.scenario("background refresh that fails");
    let lifetime = kit.options().access_token_lifetime;
    kit.set_access_token_lifetime(LIFETIME);
    let config = common::config(kit).refresh_lead(LIFETIME);
    let authorizer = Authorizer::with_client(config, client());
    let sybil = ev.user(kit, "sybil");
    let cold = ev.token("cold", &authorizer, &sybil);
    let landed = Instant::now();
    assert!(cold.is_ok(), "{cold:?}");
    kit.set_fault(Endpoint::IdpToken, Fault::ServerError);
    std::thread::sleep(DUE_AFTER.saturating_sub(landed.elapsed()));
    let still_valid = ev.token("due for refresh, still valid", &authorizer, &sybil);
    assert!(still_valid.is_ok(), "{still_valid:?}");
    assert!(
        wait_for_captured_line(
            &["xaa_ureq", "event=refresh_failed", "error="],
            Duration::from_secs(20)
        ),
        "the driver logged the failed background refresh:\n{}",
        captured()
            .lines()
            .filter(|line| line.contains("refresh") || line.contains("xaa_ureq"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    kit.clear_faults();
    kit.set_access_token_lifetime(lifetime);
    ev.collect(kit);
}

/// Remembers the IdP refresh tokens the authorizer hands back (a SAML assertion exchanged for
/// one, decisions.md D15).
pub(crate) struct SamlSource {
    pub(crate) assertion: SubjectToken,
    pub(crate) rotated: Mutex<Vec<RefreshToken>>,
}

impl SubjectTokenSource for SamlSource {
    fn subject_token(&self, _now: SystemTime) -> Option<SubjectToken> {
        Some(self.assertion.clone())
    }

    fn refresh_token_rotated(&self, token: RefreshToken) {
        self.rotated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(token);
    }
}

/// Other subject tokens: a SAML assertion exchanged first for an IdP refresh token (through
/// the authorizer), and an IdP refresh token as the subject (through `Client::run`).
pub(crate) fn saml_and_refresh_token_subjects(ev: &mut Evidence, kit: &Testkit) {
    ev.scenario("SAML assertion exchanged for an IdP refresh token (authorizer)");
    let assertion = kit.saml_assertion("trent");
    ev.secrets
        .add(Kind::SamlAssertion, assertion.expose_secret());
    let source = Arc::new(SamlSource {
        assertion: SubjectToken::Saml2(assertion),
        rotated: Mutex::new(Vec::new()),
    });
    let config = AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials())
            .with_saml(SamlMode::ExchangeForRefreshToken),
        AuthorizationServer::discovered(kit.as_credentials()),
    )
    .policy(Policy::loopback());
    let authorizer = Authorizer::with_client(config, client());
    let trent = User::new(Principal::key("trent"), source.clone());
    let sent = ev.send("SAML subject", &authorizer, &trent, tools_list(kit));
    assert!(sent.is_ok(), "{sent:?}");
    let rotated = source
        .rotated
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert!(!rotated.is_empty(), "the IdP issued a refresh token");
    for token in &rotated {
        ev.secrets.add(Kind::IdpRefreshToken, token.expose_secret());
    }
    ev.object("rotated refresh tokens", &rotated);

    ev.scenario("IdP refresh token as the subject (Client::run)");
    let refresh = kit.idp_refresh_token("trent");
    ev.secrets
        .add(Kind::IdpRefreshToken, refresh.expose_secret());
    let result = ev.run(
        "refresh-token subject",
        &client(),
        kit.enterprise_config(SubjectToken::RefreshToken(refresh)),
        server_url(kit),
    );
    assert!(result.is_ok(), "{result:?}");
    ev.collect(kit);
}

/// A kit whose client registrations use `idp` at the IdP and `authorization_server` at the
/// authorization server.
pub(crate) fn kit_with_client_auth(
    idp: ClientAuthMethod,
    authorization_server: ClientAuthMethod,
) -> Testkit {
    common::kit_with(
        Options::default()
            .idp_client_auth(idp)
            .as_client_auth(authorization_server),
    )
}

// ---------------------------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------------------------

/// DPoP-bound tokens through the authorizer: a bound flow with the MCP server's nonce demand,
/// a refused proof and a nonce loop. The key's PEM, every proof and every bound token are
/// secrets of the run.
pub(crate) fn dpop_bound_requests(ev: &mut Evidence) {
    use xaa::dpop::{DpopBinding, DpopPolicy, EsDpopKey};
    use xaa::jose::RandomJti;
    use xaa_testkit::Server;

    let kit = common::kit_with(common::dpop::options().dpop_nonce(Server::Mcp));
    let key = EsDpopKey::generate().expect("a P-256 key");
    ev.secrets.add(
        Kind::PrivateKeyPem,
        &key.expose_private_pem().expect("its PEM"),
    );
    let binding = DpopBinding::new(Arc::new(key), Arc::new(RandomJti), DpopPolicy::Required)
        .with_content_digest(true);
    ev.object("binding", &binding);
    let authorizer =
        Authorizer::new(common::dpop::bound(common::config(&kit), &binding)).expect("authorizer");
    let alice = ev.user(&kit, "alice");

    ev.scenario("DPoP: bound flow, the MCP server's nonce, one resend");
    let bound = ev.send("bound send", &authorizer, &alice, tools_list(&kit));
    assert!(bound.is_ok(), "{bound:?}");
    let token = ev.token("bound token", &authorizer, &alice);
    assert!(token.is_ok(), "{token:?}");

    ev.scenario("DPoP: a refused proof");
    kit.set_fault(Endpoint::McpServer, Fault::InvalidDpopProof);
    let refused = ev.send("invalid_dpop_proof", &authorizer, &alice, tools_list(&kit));
    assert!(
        matches!(flow_error(&refused), Some(xaa::Error::Dpop { .. })),
        "{refused:?}"
    );
    kit.clear_faults();

    ev.scenario("DPoP: a nonce loop");
    kit.set_fault(Endpoint::McpServer, Fault::DpopNonceLoop);
    let looped = ev.send("nonce loop", &authorizer, &alice, tools_list(&kit));
    assert!(
        matches!(flow_error(&looped), Some(xaa::Error::Dpop { .. })),
        "{looped:?}"
    );
    kit.clear_faults();
    ev.collect(&kit);
    kit.stop();
}
