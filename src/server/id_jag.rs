//! Validating an ID-JAG at the MCP authorization server, in the order of protocol.md 3.3
//! (RFC 7521 section 5.2, RFC 7523 section 3, ID-JAG draft section 4.4.1, EMA section 5.1 and 7). The `jti`
//! is only checked for presence here; it is registered once every other rule has passed, so
//! a request refused for another reason does not burn the ID-JAG.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::claims::{TimeRules, check_single_audience, json_text, optional_claim, required_claim};
use super::token_fault::TokenFault;
use crate::Scope;
use crate::display_safety::sanitize;
use crate::jose::UnverifiedJws;
use crate::jose::{AlgorithmAllowList, KeySet};
use crate::json::Member;
use crate::jwt::is_id_jag_typ;

/// An IdP whose ID-JAGs this authorization server accepts: trust comes from this
/// configuration, never from the token (protocol.md 3.3 step 4).
#[derive(Clone)]
#[non_exhaustive]
pub struct TrustedIssuer {
    /// The IdP's issuer identifier, compared exactly with the ID-JAG's `iss`.
    pub issuer: String,
    /// Its signing keys (from its `jwks_uri`), selected by `kid`.
    pub keys: Arc<dyn KeySet>,
    /// The algorithms accepted from it.
    pub algorithms: AlgorithmAllowList,
}

impl TrustedIssuer {
    /// Trusts `issuer`, whose keys are `keys`, under the default asymmetric algorithms.
    pub fn new(issuer: impl Into<String>, keys: Arc<dyn KeySet>) -> Self {
        Self {
            issuer: issuer.into(),
            keys,
            algorithms: AlgorithmAllowList::default(),
        }
    }

    /// Accepts exactly these algorithms from this issuer.
    pub fn with_algorithms(mut self, algorithms: AlgorithmAllowList) -> Self {
        self.algorithms = algorithms;
        self
    }
}

impl std::fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuer", &self.issuer)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// A resource this authorization server issues tokens for, and the scope allowed on it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServedResource {
    /// The resource identifier (RFC 8707, RFC 9728 `resource`), compared exactly.
    pub resource: String,
    /// The scope that may be granted for it (EMA section 7.6.2); `None` for any.
    pub allowed_scopes: Option<Scope>,
}

impl ServedResource {
    /// A resource with no scope limit.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            allowed_scopes: None,
        }
    }

    /// Limits the scope granted for this resource.
    pub fn with_allowed_scopes(mut self, scope: Scope) -> Self {
        self.allowed_scopes = Some(scope);
        self
    }
}

/// What an ID-JAG is checked against.
pub(crate) struct IdJagRules<'a> {
    /// This authorization server's issuer identifier.
    pub(crate) issuer: &'a str,
    /// Also accept `aud` differing from the issuer by one trailing `/`.
    pub(crate) lenient_trailing_slash: bool,
    /// The trusted IdPs.
    pub(crate) trusted: &'a [TrustedIssuer],
    /// Skew and maximum lifetime.
    pub(crate) times: &'a TimeRules,
    /// The resources served.
    pub(crate) resources: &'a [ServedResource],
    /// The resource assumed when the ID-JAG has none (protocol.md Q4); `None` rejects.
    pub(crate) default_resource: Option<&'a str>,
    /// Whether the server checks DPoP proofs, and so can honour a `cnf.jkt` binding
    /// (protocol.md 3.3 step 14); without, an ID-JAG with `cnf` is refused.
    #[cfg(feature = "dpop")]
    pub(crate) honours_dpop_binding: bool,
}

/// An ID-JAG that passed every rule but replay.
pub(crate) struct ValidatedIdJag<'a> {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) jti: String,
    pub(crate) exp: u64,
    pub(crate) resource: &'a ServedResource,
    pub(crate) scope: Scope,
    pub(crate) claims: Map<String, Value>,
    /// The key the ID-JAG is bound to (`cnf.jkt`, ID-JAG draft section 9.8), if any.
    #[cfg(feature = "dpop")]
    pub(crate) cnf_jkt: Option<String>,
}

impl IdJagRules<'_> {
    /// Checks `token`, presented by `client_id`, at `now`.
    pub(crate) fn validate(
        &self,
        token: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<ValidatedIdJag<'_>, TokenFault> {
        // Step 3: the header, before any cryptography.
        let jws = UnverifiedJws::parse(token)?;
        let typ = jws.header_str("typ")?;
        if !typ.is_some_and(is_id_jag_typ) {
            return Err(TokenFault::Type {
                found: typ.map(sanitize),
            });
        }
        match jws.header_str("alg")? {
            Some(alg) if !alg.eq_ignore_ascii_case("none") => {}
            alg => {
                return Err(TokenFault::AlgorithmNotAllowed {
                    alg: alg.map(sanitize),
                });
            }
        }
        // Step 4: a trusted issuer, by exact match; never this server itself (ID-JAG draft section 9.3).
        let iss = optional_claim(&jws.claims, "iss")?;
        let iss = iss.as_deref();
        let trusted = iss
            .filter(|iss| *iss != self.issuer)
            .and_then(|iss| self.trusted.iter().find(|trusted| trusted.issuer == iss))
            .ok_or_else(|| TokenFault::UntrustedIssuer {
                iss: iss.map(sanitize),
            })?;
        // Step 5: the signature, under the issuer's algorithms and keys.
        jws.verify(trusted.keys.as_ref(), &trusted.algorithms)
            .map_err(|error| TokenFault::from_jws(error, &trusted.issuer))?;
        // Step 6: times; `iat` is required of an ID-JAG whatever the lifetime bound.
        if !jws.claims.contains_key("iat") {
            return Err(TokenFault::MissingClaim("iat"));
        }
        let exp = self.times.check(&jws.claims, now)?;
        // Step 7: aud is this server, alone.
        check_single_audience(&jws.claims, |aud| self.is_own_audience(aud))?;
        // Step 8: issued for the authenticated client.
        let claimed_client = required_claim(&jws.claims, "client_id")?;
        if claimed_client != client_id {
            return Err(TokenFault::ClaimMismatch {
                claim: "client_id",
                found: sanitize(&claimed_client),
            });
        }
        // Steps 9 and 10: a subject and a jti.
        let subject = required_claim(&jws.claims, "sub")?.into_owned();
        let jti = required_claim(&jws.claims, "jti")?.into_owned();
        // Step 11: a resource served here.
        let resource = self.resource(&jws.claims)?;
        let scope = optional_claim(&jws.claims, "scope")?
            .as_deref()
            .map(Scope::parse)
            .unwrap_or_default();
        // Step 14: the binding is read here and checked against the proof by the caller.
        #[cfg(feature = "dpop")]
        let cnf_jkt = self.confirmation(&jws.claims)?;
        #[cfg(not(feature = "dpop"))]
        if jws.claims.contains_key("cnf") {
            return Err(TokenFault::ConfirmationUnsupported);
        }
        Ok(ValidatedIdJag {
            issuer: trusted.issuer.clone(),
            subject,
            jti,
            exp,
            resource,
            scope,
            claims: jws.claims,
            #[cfg(feature = "dpop")]
            cnf_jkt,
        })
    }

    /// The `cnf.jkt` the ID-JAG is bound to (RFC 7800 section 3.1, RFC 9449 section 6.1). A
    /// server that checks no proofs cannot honour a binding, and no server honours another
    /// confirmation method than `jkt`: both refuse rather than issue an unbound token
    /// (protocol.md 3.3 step 14).
    #[cfg(feature = "dpop")]
    fn confirmation(&self, claims: &Map<String, Value>) -> Result<Option<String>, TokenFault> {
        let Some(cnf) = claims.get("cnf") else {
            return Ok(None);
        };
        if !self.honours_dpop_binding {
            return Err(TokenFault::ConfirmationUnsupported);
        }
        let Value::Object(cnf) = cnf else {
            return Err(TokenFault::ConfirmationMalformed);
        };
        match Member::of(cnf, "jkt") {
            Member::String(jkt) if !jkt.is_empty() => Ok(Some(jkt.into_owned())),
            Member::Absent => Err(TokenFault::ConfirmationUnsupported),
            _ => Err(TokenFault::ConfirmationMalformed),
        }
    }

    fn is_own_audience(&self, aud: &str) -> bool {
        aud == self.issuer
            || (self.lenient_trailing_slash
                && aud.strip_suffix('/').unwrap_or(aud)
                    == self.issuer.strip_suffix('/').unwrap_or(self.issuer))
    }

    /// The `resource` claim (a string or one-element array, decisions.md D10), or the default.
    fn resource(&self, claims: &Map<String, Value>) -> Result<&ServedResource, TokenFault> {
        let member = Member::of(claims, "resource");
        let found = match claims.get("resource") {
            Some(value) => member
                .single_string()
                .ok_or_else(|| TokenFault::UnknownResource {
                    found: json_text(value),
                })?,
            None => self
                .default_resource
                .ok_or(TokenFault::MissingClaim("resource"))?,
        };
        self.resources
            .iter()
            .find(|served| served.resource == found)
            .ok_or_else(|| TokenFault::UnknownResource {
                found: json_text(&Value::from(found)),
            })
    }
}
