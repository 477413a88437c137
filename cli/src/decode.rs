//! `xaa decode`: the header and claims of a JWT, with times as dates, verified only on request.

use std::time::SystemTime;

use serde_json::{Map, Value, json};
use xaa::jose::Jwks;
use xaa::server::{AlgorithmAllowList, verify_jws};

use crate::exit::Failure;
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
    let peeked =
        xaa::jwt::peek(token).map_err(|e| Failure::Usage(format!("not a decodable JWT: {e}")))?;
    let verified = jwks
        .map(|document| -> Result<Result<(), String>, Failure> {
            let jwks = Jwks::from_json(document)
                .map_err(|e| Failure::Usage(format!("not a JWKS document: {e}")))?;
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

impl Decoded {
    /// Whether a requested verification failed.
    pub(crate) fn verification_failed(&self) -> bool {
        matches!(self.verified, Some(Err(_)))
    }

    /// The text report.
    pub(crate) fn render_text(&self, now: SystemTime) -> String {
        let mut out = String::new();
        out.push_str("header:\n");
        for (name, value) in &self.header {
            out.push_str(&format!("  {name}: {value}\n"));
        }
        out.push_str("claims:\n");
        for (name, value) in &self.claims {
            out.push_str(&format!("  {name}: {value}"));
            if TIME_CLAIMS.contains(&name.as_str())
                && let Some(seconds) = xaa::jwt::numeric_date(value)
            {
                out.push_str(&format!(
                    "  ({}, {})",
                    rfc3339(seconds),
                    relative(seconds, now)
                ));
            }
            out.push('\n');
        }
        out.push_str(match &self.verified {
            None => "signature: NOT VERIFIED (nothing about this token was checked; use --verify-jwks)\n",
            Some(Ok(())) => "signature: valid for the given JWKS (claims were not checked)\n",
            Some(Err(_)) => "signature: INVALID for the given JWKS\n",
        });
        if let Some(Err(reason)) = &self.verified {
            out.push_str(&format!("  reason: {reason}\n"));
        }
        out
    }

    /// The JSON report.
    pub(crate) fn render_json(&self, now: SystemTime) -> Value {
        let times: Map<String, Value> = TIME_CLAIMS
            .iter()
            .filter_map(|name| {
                let seconds = xaa::jwt::numeric_date(self.claims.get(*name)?)?;
                Some((
                    (*name).to_owned(),
                    json!({"date": rfc3339(seconds), "relative": relative(seconds, now)}),
                ))
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
