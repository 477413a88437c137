//! The client-side checks of an ID-JAG the IdP issued (protocol.md 6 rule 5, decisions.md D8,
//! D10 and D11), before it is forwarded to the authorization server.
//!
//! The client cannot verify the signature or decrypt the token (the authorization server does,
//! with the IdP's keys or its own), so it peeks: a signed ID-JAG must have the ID-JAG `typ`, a
//! real algorithm with a signature, and the claims that were asked for; an encrypted one is
//! opaque, but its protected header must still describe a JWE that carries a signed JWT.

use std::time::SystemTime;

use super::exchange_request::TokenExchangeRequest;
use crate::error::sanitize;
use crate::json::Member;
use crate::jwt::{self, HeaderRule, JwtError};
use crate::{Scope, Violation};

/// What the client learns from peeking at a signed ID-JAG.
pub(super) struct PeekedIdJag {
    /// The `exp` claim, in seconds since the epoch.
    pub(super) exp: u64,
    /// The `scope` claim, when there is one.
    pub(super) scope: Option<Scope>,
    /// The `cnf` claim (ID-JAG draft section 9.8; RFC 7800 section 3.1).
    pub(super) cnf: Confirmation,
}

/// An ID-JAG's `cnf` claim as the client reads it: the key the token is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// No `cnf`: a bearer ID-JAG.
    Absent,
    /// `cnf.jkt`: bound to the DPoP key with this RFC 7638 thumbprint (RFC 9449 section 6.1).
    Jkt(String),
    /// A `cnf` that is not an object holding a string `jkt` (an mTLS `x5t#S256` binding is not
    /// one this client can honour).
    Malformed,
}

impl Confirmation {
    /// The `cnf` of the claims of a signed ID-JAG, `claims` being its decoded payload.
    pub(crate) fn of_claims(claims: &[u8]) -> Self {
        let Ok(object) = crate::json::parse_object(claims) else {
            return Self::Malformed;
        };
        match object.get("cnf") {
            None => Self::Absent,
            Some(serde_json::Value::Object(cnf)) => match cnf.get("jkt") {
                Some(serde_json::Value::String(jkt)) if !jkt.is_empty() => Self::Jkt(jkt.clone()),
                _ => Self::Malformed,
            },
            Some(_) => Self::Malformed,
        }
    }

    /// The `cnf` of an ID-JAG, peeked without verification: nothing for a JWE, whose claims
    /// cannot be read.
    pub(crate) fn of_token(token: &str) -> Option<Self> {
        jwt::unverified_claims(token).map(|claims| Self::of_claims(&claims))
    }

    /// The form the DPoP binding judges.
    pub(crate) fn as_judged(&self) -> crate::dpop_hook::IdJagConfirmation<'_> {
        use crate::dpop_hook::IdJagConfirmation;
        match self {
            Self::Absent => IdJagConfirmation::Absent,
            Self::Jkt(jkt) => IdJagConfirmation::Jkt(jkt),
            Self::Malformed => IdJagConfirmation::Malformed,
        }
    }

    /// The thumbprint named, if any.
    pub(crate) fn jkt(&self) -> Option<&str> {
        match self {
            Self::Jkt(jkt) => Some(jkt),
            Self::Absent | Self::Malformed => None,
        }
    }
}

/// A segment that cannot be read is not a JWT; a member named twice is refused by name
/// (RFC 7519 section 4).
fn unreadable(error: JwtError) -> Violation {
    match error {
        JwtError::DuplicateMember(name) => Violation::DuplicateField(name),
        _ => Violation::NotAJwt,
    }
}

/// A header member that breaks `rule`; a string value is kept, sanitized.
fn header_violation(member: &'static str, value: &Member<'_>, rule: HeaderRule) -> Violation {
    Violation::IdJagHeader {
        member,
        found: value.as_str().map(sanitize),
        rule,
    }
}

/// The `alg` or `enc` member, held to [`jwt::check_algorithm_name`].
fn algorithm<'a>(member: &'static str, value: &'a Member<'_>) -> Result<&'a str, Violation> {
    jwt::check_algorithm_name(value.as_str()).map_err(|rule| header_violation(member, value, rule))
}

/// The checks of a signed ID-JAG (protocol.md 6 rule 5, decisions.md D8 and D10), peeked
/// without verification.
pub(super) fn check_signed_id_jag(
    token: &str,
    request: &TokenExchangeRequest,
    now: SystemTime,
) -> Result<PeekedIdJag, Violation> {
    let claim = |claim: &'static str, found: &str| Violation::IdJagClaim {
        claim,
        found: sanitize(found),
    };
    let (header, claims) = jwt::jws_segments(token).map_err(unreadable)?;
    let header = jwt::decode_segment(header).map_err(unreadable)?;
    let claims = jwt::decode_segment(claims).map_err(unreadable)?;
    let [typ, alg, enc] = jwt::read_members(&header, ["typ", "alg", "enc"]).map_err(unreadable)?;
    let names = ["aud", "client_id", "resource", "exp", "scope"];
    let [aud, client_id, resource, exp, scope] =
        jwt::read_members(&claims, names).map_err(unreadable)?;
    match typ.as_str() {
        Some(typ) if jwt::is_id_jag_typ(typ) => {}
        other => return Err(claim("typ", other.unwrap_or("(none)"))),
    }
    check_signature(token, &alg)?;
    // RFC 7516 section 9: `enc` is what tells a JWE from a JWS.
    if enc.is_present() {
        return Err(header_violation(
            "enc",
            &enc,
            HeaderRule::EncryptionInSignedToken,
        ));
    }
    let aud = aud.single_string();
    if aud != Some(request.audience.as_str()) {
        return Err(claim("aud", aud.unwrap_or("(not one string)")));
    }
    let client_id = client_id.as_str();
    if client_id != Some(request.authorization_server_client_id.as_str()) {
        return Err(claim("client_id", client_id.unwrap_or("(none)")));
    }
    if resource.is_present() {
        let single = resource.single_string();
        if single != Some(request.resource.as_str()) {
            return Err(claim("resource", single.unwrap_or("(not one string)")));
        }
    }
    let exp = exp
        .numeric_date()
        .ok_or_else(|| claim("exp", "(missing or not a number)"))?;
    if crate::json::time_from_numeric_date(exp) <= now {
        return Err(claim("exp", "already expired"));
    }
    let scope = scope.as_str().map(Scope::parse);
    if let (Some(requested), Some(scope)) = (request.scope.as_ref(), scope.as_ref()) {
        let extra = scope.difference(requested);
        if !extra.is_empty() {
            return Err(Violation::ScopeWidened {
                extra: extra.to_string(),
            });
        }
    }
    Ok(PeekedIdJag {
        exp,
        scope,
        cnf: Confirmation::of_claims(&claims),
    })
}

/// A signed token names a real algorithm (RFC 7515 section 4.1.1, never `none`: RFC 8725
/// sections 2.1 and 3.1) and carries a signature made with it: a non-empty base64url segment
/// (RFC 7515 section 7.1). An empty signature is the unsecured form (RFC 7519 section 6.1),
/// whatever `alg` claims.
fn check_signature(token: &str, alg: &Member<'_>) -> Result<(), Violation> {
    algorithm("alg", alg)?;
    let signature = jwt::jws_signature(token).map_err(unreadable)?;
    if signature.is_empty() || jwt::decode_segment(signature).is_err() {
        return Err(header_violation("alg", alg, HeaderRule::MissingSignature));
    }
    Ok(())
}

/// The checks of an encrypted ID-JAG (decisions.md D11): its claims are opaque, but its
/// protected header (RFC 7516 section 4.1) must be a JSON object without a repeated member,
/// naming a real key-management `alg` and content-encryption `enc` (never `none`), with a
/// `typ` of the ID-JAG type or `JWT` and a `cty` of `JWT` when they are present (RFC 7519
/// sections 5.1 and 5.2: the plaintext is the signed ID-JAG); every segment must be base64url,
/// and the encrypted key empty exactly for direct encryption and direct key agreement (RFC 7516
/// sections 5.1 and 5.2).
pub(super) fn check_encrypted_id_jag(token: &str) -> Result<(), Violation> {
    let segments = jwt::jwe_segments(token).map_err(unreadable)?;
    let header = jwt::decode_segment(segments.header).map_err(unreadable)?;
    for segment in [
        segments.encrypted_key,
        segments.initialization_vector,
        segments.ciphertext,
        segments.tag,
    ] {
        jwt::decode_segment(segment).map_err(unreadable)?;
    }
    let [alg_member, enc, typ, cty] =
        jwt::read_members(&header, ["alg", "enc", "typ", "cty"]).map_err(unreadable)?;
    let alg = algorithm("alg", &alg_member)?;
    algorithm("enc", &enc)?;
    match typ {
        Member::Absent => {}
        Member::String(ref typ) if jwt::is_id_jag_typ(typ) || jwt::is_jwt_media_type(typ) => {}
        _ => return Err(header_violation("typ", &typ, HeaderRule::EncryptedType)),
    }
    match cty {
        Member::Absent => {}
        Member::String(ref cty) if jwt::is_jwt_media_type(cty) => {}
        _ => return Err(header_violation("cty", &cty, HeaderRule::NotNestedJwt)),
    }
    // RFC 7518 sections 4.5 and 4.6: only `dir` and `ECDH-ES` agree on the content key
    // directly; `alg` values are case-sensitive (RFC 7515 section 4.1.1).
    let direct = matches!(alg, "dir" | "ECDH-ES");
    match (direct, segments.encrypted_key.is_empty()) {
        (true, false) => Err(header_violation(
            "alg",
            &alg_member,
            HeaderRule::EncryptedKeyNotEmpty,
        )),
        (false, true) => Err(header_violation(
            "alg",
            &alg_member,
            HeaderRule::EncryptedKeyEmpty,
        )),
        _ => Ok(()),
    }
}
