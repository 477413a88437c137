//! The secrets a token request carried, taken back out of an error answer that echoes them.
//!
//! Some servers, and the proxies in front of them, answer a failed request with a page that
//! quotes it: a debugging error page, a firewall's report. The client's errors quote the start
//! of such an answer and the OAuth error's text, so an echo would carry the subject token, the
//! client secret or the refresh token into the caller's logs and terminal, where no token may
//! go (protocol.md 6.11). So before a non-2xx answer to a token request is judged, every
//! secret the request carried is replaced with `[redacted]` in its body and its header values:
//! the credential parameters of its form, as sent and decoded, and the credentials of its
//! `Authorization` header (with HTTP Basic, the encoded pair and the decoded secret too).
//! A 2xx answer is judged as it came: a token response may rightly hold the refresh token sent.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use http::header::AUTHORIZATION;
use memchr::memmem;

use crate::{HttpRequest, HttpResponse};

/// The form parameters whose values are credentials (RFC 6749 sections 2.3.1, 4.1.3 and 6,
/// RFC 7521 section 4.2, RFC 7636 section 4.5, RFC 7009 section 2.1, RFC 8628 section 3.4,
/// RFC 8693 section 2.1).
const SECRET_PARAMETERS: [&str; 10] = [
    "subject_token",
    "actor_token",
    "assertion",
    "client_secret",
    "client_assertion",
    "refresh_token",
    "code",
    "code_verifier",
    "device_code",
    "token",
];

/// Shorter values are not searched for: an echo of a few characters is no credential, and
/// replacing them would garble the answer.
const MIN_SECRET_BYTES: usize = 8;

/// What an echoed secret becomes.
const REDACTED: &[u8] = b"[redacted]";

/// The secrets of one request.
#[derive(Default)]
pub(crate) struct EchoGuard {
    secrets: Vec<Vec<u8>>,
}

/// `Debug` counts the secrets and shows none.
impl fmt::Debug for EchoGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EchoGuard")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl EchoGuard {
    /// The secrets `request` carries.
    pub(crate) fn of(request: &HttpRequest) -> Self {
        let mut secrets = Vec::new();
        for pair in request.body().split(|byte| *byte == b'&') {
            let Some((name, value)) = url::form_urlencoded::parse(pair).next() else {
                continue;
            };
            if SECRET_PARAMETERS.contains(&name.as_ref()) {
                secrets.push(value.as_bytes().to_vec());
                if let Some(position) = memchr::memchr(b'=', pair) {
                    secrets.push(pair[position + 1..].to_vec());
                }
            }
        }
        if let Some(credentials) = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.as_bytes().splitn(2, |byte| *byte == b' ').nth(1))
        {
            secrets.push(credentials.to_vec());
            if let Ok(pair) = STANDARD.decode(credentials)
                && let Some(position) = memchr::memchr(b':', &pair)
            {
                let secret = &pair[position + 1..];
                secrets.push(secret.to_vec());
                // The secret is form-encoded before Basic encoding (RFC 6749 section 2.3.1).
                let decoded: String = url::form_urlencoded::parse(&[&b"s="[..], secret].concat())
                    .map(|(_, value)| value.into_owned())
                    .collect();
                secrets.push(decoded.into_bytes());
            }
        }
        secrets.retain(|secret| secret.len() >= MIN_SECRET_BYTES);
        // Longest first: a secret that contains another is replaced whole.
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Self { secrets }
    }

    /// `response` with every secret replaced in its body and header values, when it is not a
    /// success; a success as it came.
    pub(crate) fn scrub(&self, mut response: HttpResponse) -> HttpResponse {
        if self.secrets.is_empty() || response.status().is_success() {
            return response;
        }
        if let Some(body) = self.redacted(response.body()) {
            *response.body_mut() = body;
        }
        for value in response.headers_mut().values_mut() {
            if let Some(redacted) = self.redacted(value.as_bytes())
                && let Ok(replacement) = HeaderValue::from_bytes(&redacted)
            {
                *value = replacement;
            }
        }
        response
    }

    /// `text` with every secret replaced, or `None` when it holds none. Each secret costs one
    /// linear pass over the text.
    fn redacted(&self, text: &[u8]) -> Option<Vec<u8>> {
        let mut current: Option<Vec<u8>> = None;
        for secret in &self.secrets {
            let finder = memmem::Finder::new(secret);
            let source = current.as_deref().unwrap_or(text);
            let mut found = finder.find_iter(source).peekable();
            if found.peek().is_none() {
                continue;
            }
            let mut replaced = Vec::with_capacity(source.len());
            let mut from = 0;
            for start in found {
                if start < from {
                    continue;
                }
                replaced.extend_from_slice(&source[from..start]);
                replaced.extend_from_slice(REDACTED);
                from = start + secret.len();
            }
            replaced.extend_from_slice(&source[from..]);
            current = Some(replaced);
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBJECT: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
    const SECRET: &str = "s3cret+value/with=chars";

    fn request() -> HttpRequest {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            )
            .append_pair("subject_token", SUBJECT)
            .append_pair("client_secret", SECRET)
            .append_pair("resource", "https://mcp.example.com/mcp")
            .finish();
        let basic = STANDARD.encode(format!("client:{}", "basic%2Bsecret%3Dvalue"));
        http::Request::post("https://idp.example.com/token")
            .header(AUTHORIZATION, format!("Basic {basic}"))
            .body(body.into_bytes())
            .expect("request")
    }

    fn answer(status: u16, body: &str, location: &str) -> HttpResponse {
        http::Response::builder()
            .status(status)
            .header("location", location)
            .body(body.as_bytes().to_vec())
            .expect("response")
    }

    #[test]
    fn an_error_answer_loses_every_secret_the_request_carried() {
        let guard = EchoGuard::of(&request());
        let sent = String::from_utf8(request().body().clone()).expect("utf-8");
        let basic = request().headers()[AUTHORIZATION]
            .to_str()
            .expect("ascii")
            .to_owned();
        let echo = format!(
            "you sent {sent} with {basic}; subject {SUBJECT}, secret {SECRET}, basic \
             basic+secret=value"
        );
        let scrubbed = guard.scrub(answer(400, &echo, &format!("https://x/?t={SUBJECT}")));
        let body = String::from_utf8(scrubbed.body().clone()).expect("utf-8");
        for secret in [
            SUBJECT,
            SECRET,
            "s3cret%2Bvalue",
            "basic+secret=value",
            &basic[6..],
        ] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
        assert!(
            body.contains("resource=https%3A%2F%2Fmcp.example.com%2Fmcp"),
            "{body}"
        );
        assert!(body.contains("[redacted]"));
        let location = scrubbed.headers()["location"].to_str().expect("ascii");
        assert_eq!(location, "https://x/?t=[redacted]");
    }

    #[test]
    fn a_success_is_judged_as_it_came() {
        let guard = EchoGuard::of(&request());
        let body = format!(r#"{{"refresh_token":"{SUBJECT}"}}"#);
        let scrubbed = guard.scrub(answer(200, &body, "https://x/"));
        assert_eq!(scrubbed.body(), body.as_bytes());
    }

    #[test]
    fn short_values_and_other_parameters_are_left_alone() {
        let request = http::Request::post("https://idp.example.com/token")
            .body(b"grant_type=refresh_token&refresh_token=short&scope=openid+profile".to_vec())
            .expect("request");
        let guard = EchoGuard::of(&request);
        assert_eq!(format!("{guard:?}"), "EchoGuard { secrets: 0 }");
        let scrubbed = guard.scrub(answer(500, "short openid profile", "https://x/"));
        assert_eq!(scrubbed.body(), b"short openid profile");
    }
}
