//! `xaa decode`: the header and claims of a JWT, with times as dates, verified only on request.
//!
//! Everything shown comes from the token (or the JWKS), so every name passes through
//! [`terminal::shown`] and every value is written as JSON by [`terminal::json`]: no control,
//! format or separator character of a token reaches the terminal raw.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use xaa::jose::Jwks;
use xaa::jose::{AlgorithmAllowList, verify_jws};

use crate::exit::Failure;
use crate::terminal::{self, shown};
use crate::timefmt::{relative, rfc3339};

const TIME_CLAIMS: [&str; 4] = ["exp", "iat", "nbf", "auth_time"];

/// What `decode` found.
pub(crate) struct Decoded {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    verified: Option<Result<(), String>>,
}

/// Decodes `token`; with `jwks` (the document's bytes), also checks the signature.
pub(crate) fn decode(token: &str, jwks: Option<&[u8]>) -> Result<Decoded, Failure> {
    let token = token.trim();
    let peeked = xaa::jwt::peek(token)
        .map_err(|e| Failure::Usage(format!("not a decodable JWT: {}", shown(&e.to_string()))))?;
    let verified = jwks
        .map(|document| -> Result<Result<(), String>, Failure> {
            let jwks = Jwks::from_json(document).map_err(|e| {
                Failure::Usage(format!("not a JWKS document: {}", shown(&e.to_string())))
            })?;
            let keys = jwks.key_ring();
            Ok(verify_jws(token, &keys, &AlgorithmAllowList::asymmetric())
                .map_err(|e| e.to_string()))
        })
        .transpose()?;
    Ok(Decoded {
        header: peeked.header,
        claims: peeked.claims,
        verified,
    })
}

/// What a time claim's value says: a NumericDate's seconds as `xaa::jwt::numeric_date` reads
/// them (fractions truncated, anything beyond `u64` saturated), or why it is none.
fn numeric_date(value: &Value) -> Result<u64, &'static str> {
    match xaa::jwt::numeric_date(value) {
        Some(seconds) => Ok(seconds),
        None if value.is_number() => Err("not a date: a NumericDate is never negative"),
        None => Err("not a date: a NumericDate is a number of seconds"),
    }
}

/// `  name: value`, the name escaped, the value as escaped JSON.
fn member(name: &str, value: &Value) -> String {
    format!("  {}: {}", shown(name), terminal::json(value, false))
}

/// What an `alg` header that names no signature means, for people.
fn alg_note(value: &Value) -> Option<&'static str> {
    match value.as_str()? {
        "none" => Some("no signature: the token claims to be unsigned"),
        "" => Some("empty: the token names no signature algorithm"),
        _ => None,
    }
}

impl Decoded {
    /// Whether a requested verification failed.
    pub(crate) fn verification_failed(&self) -> bool {
        matches!(self.verified, Some(Err(_)))
    }

    /// The text report: `name: value`, the name escaped, the value as escaped JSON.
    pub(crate) fn render_text(&self, now: SystemTime) -> String {
        let mut out = String::new();
        out.push_str("header:\n");
        for (name, value) in &self.header {
            out.push_str(&member(name, value));
            if name == "alg"
                && let Some(note) = alg_note(value)
            {
                out.push_str(&format!("  ({note})"));
            }
            out.push('\n');
        }
        out.push_str("claims:\n");
        for (name, value) in &self.claims {
            out.push_str(&member(name, value));
            if TIME_CLAIMS.contains(&name.as_str()) {
                match numeric_date(value) {
                    Ok(seconds) => out.push_str(&format!(
                        "  ({}, {})",
                        rfc3339(seconds),
                        relative(seconds, now)
                    )),
                    Err(problem) => out.push_str(&format!("  ({problem})")),
                }
            }
            out.push('\n');
        }
        out.push_str(match &self.verified {
            None => "signature: NOT VERIFIED (nothing about this token was checked; use --verify-jwks)\n",
            Some(Ok(())) => "signature: valid for the given JWKS (claims were not checked)\n",
            Some(Err(_)) => "signature: INVALID for the given JWKS\n",
        });
        if let Some(Err(reason)) = &self.verified {
            out.push_str(&format!("  reason: {}\n", shown(reason)));
        }
        out
    }

    /// The JSON report (print it with [`terminal::json`]).
    pub(crate) fn render_json(&self, now: SystemTime) -> Value {
        let times: Map<String, Value> = TIME_CLAIMS
            .iter()
            .filter_map(|name| {
                let time = match numeric_date(self.claims.get(*name)?) {
                    Ok(seconds) => {
                        json!({"date": rfc3339(seconds), "relative": relative(seconds, now)})
                    }
                    Err(problem) => json!({"date": null, "problem": problem}),
                };
                Some(((*name).to_owned(), time))
            })
            .collect();
        json!({
            "header": self.header,
            "claims": self.claims,
            "times": times,
            "signature": match &self.verified {
                None => json!({"checked": false}),
                Some(Ok(())) => json!({"checked": true, "valid": true}),
                Some(Err(reason)) => json!({"checked": true, "valid": false, "reason": reason}),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn decoded(header: Value, claims: Value) -> Decoded {
        let object = |value: Value| match value {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Decoded {
            header: object(header),
            claims: object(claims),
            verified: None,
        }
    }

    #[test]
    fn names_and_values_are_escaped_in_text() {
        let token = decoded(
            json!({"alg": "none", "k\u{1b}]0;x\u{7}": "v\u{9b}\u{202e}"}),
            json!({"n\u{7f}\r\nxaa: forged": "\u{2028}\u{e0041}"}),
        );
        let text = token.render_text(SystemTime::UNIX_EPOCH);
        assert_eq!(
            text,
            "header:\n  alg: \"none\"  (no signature: the token claims to be unsigned)\n  \
             k\\u{001B}]0;x\\u{0007}: \"v\\u009b\\u202e\"\nclaims:\n  \
             n\\u{007F}\\u{000D}\\u{000A}xaa: forged: \"\\u2028\\udb40\\udc41\"\n\
             signature: NOT VERIFIED (nothing about this token was checked; use --verify-jwks)\n"
        );
    }

    #[test]
    fn every_numeric_date_is_shown_without_a_panic() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let token = decoded(
            json!({"alg": ""}),
            json!({"exp": 1e308, "iat": u64::MAX, "nbf": -1, "auth_time": 1.5}),
        );
        let text = token.render_text(now);
        assert!(text.contains("  alg: \"\"  (empty: "), "{text}");
        assert!(
            text.contains("  exp: 1e+308  (after 9999-12-31T23:59:59Z, in "),
            "{text}"
        );
        assert!(
            text.contains("  iat: 18446744073709551615  (after 9999-12-31T23:59:59Z, in "),
            "{text}"
        );
        assert!(
            text.contains("  nbf: -1  (not a date: a NumericDate is never negative)"),
            "{text}"
        );
        assert!(
            text.contains("  auth_time: 1.5  (1970-01-01T00:00:01Z, 16m 39s ago)"),
            "{text}"
        );
        let document = token.render_json(now);
        assert_eq!(
            document["times"]["exp"]["date"],
            "after 9999-12-31T23:59:59Z"
        );
        assert_eq!(document["times"]["nbf"]["date"], Value::Null);
        assert_eq!(
            document["times"]["auth_time"]["date"],
            "1970-01-01T00:00:01Z"
        );
    }
}
