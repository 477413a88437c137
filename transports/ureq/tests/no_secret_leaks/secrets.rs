//! Part of the leak test; see `main.rs`.

use super::*;

// ---------------------------------------------------------------------------------------------

/// What a secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    IdToken,
    SamlAssertion,
    IdpRefreshToken,
    IdJag,
    AccessToken,
    ClientSecret,
    /// `base64(id:secret)` of an `Authorization: Basic` header.
    BasicCredentials,
    PrivateKeyPem,
    ClientAssertion,
    /// A DPoP proof (RFC 9449): valid for its request within its time window.
    DpopProof,
}

pub(crate) const KINDS: [Kind; 10] = [
    Kind::IdToken,
    Kind::SamlAssertion,
    Kind::IdpRefreshToken,
    Kind::IdJag,
    Kind::AccessToken,
    Kind::ClientSecret,
    Kind::BasicCredentials,
    Kind::PrivateKeyPem,
    Kind::ClientAssertion,
    Kind::DpopProof,
];

/// Every secret seen during the run, by kind.
#[derive(Default)]
pub(crate) struct Secrets(BTreeSet<(Kind, String)>);

impl Secrets {
    pub(crate) fn add(&mut self, kind: Kind, value: &str) {
        if !value.is_empty() {
            self.0.insert((kind, value.to_owned()));
        }
    }

    pub(crate) fn count(&self, kind: Kind) -> usize {
        self.0.iter().filter(|(k, _)| *k == kind).count()
    }

    pub(crate) fn values(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, value)| value.as_str())
    }

    /// The client secret or private key of both registrations, under the methods now in
    /// force at the kit.
    pub(crate) fn add_registrations(&mut self, kit: &Testkit) {
        for registration in [kit.idp_client(), kit.as_client()] {
            if let Some(secret) = registration.secret() {
                self.add(Kind::ClientSecret, secret.expose_secret());
            }
            if let Some(key) = registration.key() {
                self.add(Kind::PrivateKeyPem, key.expose_private_pem());
            }
        }
    }

    /// What every request the kit recorded carried: subject tokens, ID-JAGs, client secrets
    /// and assertions, bearer tokens, Basic credentials.
    pub(crate) fn add_recorded_requests(&mut self, kit: &Testkit) {
        for request in kit.requests() {
            for (name, value) in &request.form {
                match name.as_str() {
                    "subject_token" => {
                        let kind = match request.param("subject_token_type") {
                            Some(TOKEN_TYPE_SAML2) => Kind::SamlAssertion,
                            Some(TOKEN_TYPE_REFRESH_TOKEN) => Kind::IdpRefreshToken,
                            _ => Kind::IdToken,
                        };
                        self.add(kind, value);
                    }
                    "assertion" => self.add(Kind::IdJag, value),
                    "client_assertion" => self.add(Kind::ClientAssertion, value),
                    "client_secret" => self.add(Kind::ClientSecret, value),
                    "refresh_token" => self.add(Kind::IdpRefreshToken, value),
                    _ => {}
                }
            }
            if let Some(proof) = request.header("dpop") {
                self.add(Kind::DpopProof, proof);
            }
            let Some(authorization) = request.header("authorization") else {
                continue;
            };
            if let Some(token) = authorization
                .strip_prefix("Bearer ")
                .or_else(|| authorization.strip_prefix("DPoP "))
            {
                self.add(Kind::AccessToken, token);
            } else if let Some((_, secret)) =
                xaa_testkit::form::parse_basic_authorization(authorization)
            {
                self.add(Kind::ClientSecret, secret.expose_secret());
                if let Some((_, encoded)) = authorization.trim().split_once(' ') {
                    self.add(Kind::BasicCredentials, encoded.trim());
                }
            }
        }
    }

    /// The tokens a flow's result holds.
    pub(crate) fn add_authorization(&mut self, authorization: &Authorization) {
        self.add(
            Kind::AccessToken,
            authorization.access_token.expose_secret(),
        );
        if let Some(issued) = &authorization.id_jag {
            self.add(Kind::IdJag, issued.id_jag.expose_secret());
        }
        if let Some(refresh) = &authorization.idp_refresh_token {
            self.add(Kind::IdpRefreshToken, refresh.expose_secret());
        }
    }

    /// The tokens of a token endpoint's JSON answer: the exchange's `access_token` is an
    /// ID-JAG (or an IdP refresh token, by `issued_token_type`), the authorization server's
    /// an access token; any `refresh_token` member.
    pub(crate) fn add_token_response(&mut self, from_idp: bool, body: &[u8]) {
        let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(body) else {
            return;
        };
        let text = |name: &str| object.get(name).and_then(serde_json::Value::as_str);
        if let Some(token) = text("access_token") {
            // Only token-exchange answers carry `issued_token_type`.
            let kind = match (from_idp, text("issued_token_type")) {
                (_, Some(TOKEN_TYPE_REFRESH_TOKEN)) => Kind::IdpRefreshToken,
                (true, _) | (_, Some(_)) => Kind::IdJag,
                (false, None) => Kind::AccessToken,
            };
            self.add(kind, token);
        }
        if let Some(token) = text("refresh_token") {
            self.add(Kind::IdpRefreshToken, token);
        }
    }
}

/// The strings that must not appear for `value`: the value itself; for a JWT its payload and
/// signature segments alone; for a PEM each base64 line and the whole base64 body.
pub(crate) fn needles(kind: Kind, value: &str) -> Vec<String> {
    let mut needles = vec![value.to_owned()];
    if kind == Kind::PrivateKeyPem {
        let body: Vec<&str> = value
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("-----"))
            .collect();
        needles.extend(body.iter().map(|line| (*line).to_owned()));
        needles.push(body.concat());
    } else if value.split('.').count() == 3 {
        needles.extend(value.split('.').skip(1).map(str::to_owned));
    }
    // A short fragment could match by chance; the whole value is always kept.
    needles.retain(|needle| needle.len() >= 16 || needle == value);
    needles
}

/// Every place in `buffer` where a secret appears, with the line it is on.
pub(crate) fn leaks(buffer: &str, secrets: &Secrets) -> Vec<String> {
    let mut found = Vec::new();
    for (kind, value) in &secrets.0 {
        for needle in needles(*kind, value) {
            if let Some(at) = buffer.find(&needle) {
                found.push(format!(
                    "{kind:?} ({} of its {} chars) in: {}",
                    needle.len(),
                    value.len(),
                    line_around(buffer, at)
                ));
            }
        }
    }
    found
}

/// Every JWS-shaped string in `text` (`eyJ...` then `.` then a base64url payload), whatever
/// issued it, with the line it is on.
pub(crate) fn jwt_shaped(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let base64url_run = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
            .count()
    };
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("eyJ") {
        let start = from + offset;
        let header = base64url_run(start);
        let dot = start + header;
        if header >= 10 && bytes.get(dot) == Some(&b'.') && base64url_run(dot + 1) >= 10 {
            found.push(line_around(text, start));
        }
        from = start + 3;
    }
    found
}

/// The line of `text` around byte `at`, shortened to a few hundred bytes.
pub(crate) fn line_around(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[start..end];
    if line.len() <= 600 {
        return line.to_owned();
    }
    let mut from = (at - start).saturating_sub(200);
    while !line.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (from + 600).min(line.len());
    while !line.is_char_boundary(to) {
        to -= 1;
    }
    format!("...{}...", &line[from..to])
}

// ---------------------------------------------------------------------------------------------
// The run: secrets collected, results formatted.
