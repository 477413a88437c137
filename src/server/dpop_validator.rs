//! Checking a received DPoP proof (RFC 9449 section 4.3), at an authorization server's token
//! endpoint or a resource server, with the proof's `jti` remembered in the server's
//! [`ReplayStore`] (section 11.1; decisions.md D27).
//!
//! The checks, in order, each a [`DpopError`] variant:
//!
//! 1. exactly one `DPoP` header (item 1);
//! 2. one well-formed compact JWS of at most 8 KiB, each JSON member once (item 2);
//! 3. `typ` exactly `dpop+jwt` (item 4);
//! 4. `alg` an asymmetric algorithm on the allow-list, never `none` or HMAC, and no `crit`
//!    (item 5);
//! 5. `jwk` a public `EC`, `RSA` or `OKP` key, no private member (item 7);
//! 6. the signature verified with that `jwk` (item 6);
//! 7. the claims present: `jti`, `htm`, `htu`, `iat` (item 3);
//! 8. `htm` the request's method (item 8);
//! 9. `htu` the request's URI, query and fragment ignored, both normalised (item 9);
//! 10. `nonce` the expected one (or the previous one, still accepted for a while after a
//!     rotation), when the server requires one (item 10, sections 8 and 9);
//! 11. `iat` within the window around now, 5 minutes either way by default (item 11);
//! 12. `ath` the hash of the access token, and the key's thumbprint the token's `cnf.jkt`,
//!     when they are expected (item 12, sections 6.1 and 7.1);
//! 13. `content_digest` the digest of the exact request body, when the proof carries one and
//!     the body is given, or when the server requires one (MCP's draft DPoP extension, see
//!     [`content_digest`](crate::dpop::content_digest));
//! 14. `jti` not seen before: registered last, so a proof refused for another reason is not
//!     used up (section 11.1).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderValue, Method};
use serde_json::{Map, Value};
use url::Url;

use super::dpop_error::DpopError;
use super::replay::{ReplayError, ReplayMode, ReplayStore, TokenKind, TokenUse};
use crate::constant_time_eq;
use crate::display_safety::sanitize;
use crate::dpop::{
    CONTENT_DIGEST_CLAIM, DPOP_TYP, DpopVerifier, PublicJwk, PublicJwkError, comparison_form,
    content_digest, is_asymmetric,
};
use crate::jose::{AlgorithmAllowList, VerifyError};
use crate::json::{Member, UniqueObject, parse_object, unix_seconds};
use crate::jwt::{decode_segment, jws_segments, jws_signature};
use crate::secret::AccessToken;

/// The longest `DPoP` header accepted, in bytes: an `RSA` 4096-bit `jwk` and signature with
/// the claims take about 2 KiB.
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// The default `iat` window: 5 minutes either side of now (RFC 9449 section 11.1 leaves the
/// size to the server).
const DEFAULT_IAT_WINDOW: Duration = Duration::from_secs(300);

/// What the request a proof came with must match (RFC 9449 section 4.3 items 8 to 12).
///
/// ```
/// use std::time::SystemTime;
/// use xaa::server::ProofExpectations;
///
/// let uri = url::Url::parse("https://mcp.example.com/mcp")?;
/// let expect = ProofExpectations::new(&http::Method::POST, &uri, SystemTime::now())
///     .with_nonce("current-nonce");
/// # let _ = expect;
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProofExpectations<'a> {
    /// The request's method, which `htm` must equal (item 8).
    pub method: &'a Method,
    /// The URI the request was received at, absolute (scheme and host as the client addressed
    /// them, not the address the server listens on), which `htu` must equal without query and
    /// fragment (item 9).
    pub uri: &'a Url,
    /// The current time, for the `iat` window (item 11).
    pub now: SystemTime,
    /// The nonce the server requires, if it requires one (item 10).
    pub nonce: Option<&'a str>,
    /// The access token presented with the proof at a resource server, whose hash `ath` must
    /// be (item 12, section 7.1).
    pub access_token: Option<&'a AccessToken>,
    /// The thumbprint the access token is bound to (its `cnf.jkt`, section 6.1), which the
    /// proof's key must have (item 12).
    pub jkt: Option<&'a str>,
    /// The nonce supplied before the current one, still accepted for a grace period after a
    /// rotation (section 8.2: a server may rotate its nonce at any time).
    pub previous_nonce: Option<&'a str>,
    /// The exact request body, against which a `content_digest` claim is checked (MCP's
    /// draft DPoP extension). Without it the claim is not checked.
    pub body: Option<&'a [u8]>,
    /// Refuse a proof without `content_digest` (the body must then be given).
    pub require_content_digest: bool,
}

impl<'a> ProofExpectations<'a> {
    /// A request with `method` received at `uri` at `now`; no nonce, access token or binding
    /// expected.
    pub fn new(method: &'a Method, uri: &'a Url, now: SystemTime) -> Self {
        Self {
            method,
            uri,
            now,
            nonce: None,
            access_token: None,
            jkt: None,
            previous_nonce: None,
            body: None,
            require_content_digest: false,
        }
    }

    /// Requires this nonce (RFC 9449 sections 8 and 9).
    pub fn with_nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// At a resource server: the proof comes with this access token, so `ath` must be its hash
    /// (RFC 9449 section 7.1).
    pub fn with_access_token(mut self, access_token: &'a AccessToken) -> Self {
        self.access_token = Some(access_token);
        self
    }

    /// The access token is bound to this key thumbprint (`cnf.jkt`, RFC 9449 section 6.1).
    pub fn with_jkt(mut self, jkt: &'a str) -> Self {
        self.jkt = Some(jkt);
        self
    }

    /// Also accepts this nonce, the one the server supplied before its last rotation (RFC
    /// 9449 section 8.2). Meaningful only with [`with_nonce`](Self::with_nonce).
    pub fn with_previous_nonce(mut self, nonce: &'a str) -> Self {
        self.previous_nonce = Some(nonce);
        self
    }

    /// The request's exact body: a `content_digest` claim in the proof must be its digest.
    pub fn with_body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }

    /// Requires a `content_digest` claim, the digest of the body given with
    /// [`with_body`](Self::with_body) (an empty body when none is given).
    pub fn requiring_content_digest(mut self) -> Self {
        self.require_content_digest = true;
        self
    }
}

/// A proof that passed every check: what the server binds a token to, or logs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidatedProof {
    /// The thumbprint of the proof's key (RFC 7638): the `cnf.jkt` of a token issued against
    /// it (RFC 9449 section 6.1).
    pub jkt: String,
    /// The proof's public key.
    pub jwk: PublicJwk,
    /// The proof's `alg`.
    pub alg: String,
    /// The proof's `jti`, now registered against replay.
    pub jti: String,
    /// The proof's `iat`, seconds since the epoch.
    pub iat: u64,
    /// The proof's `htu` as sent.
    pub htu: String,
    /// The proof's `nonce`, if it had one.
    pub nonce: Option<String>,
    /// The proof's `content_digest`, if it had one (checked against the body when the body
    /// was given).
    pub content_digest: Option<String>,
}

/// Checks DPoP proofs (RFC 9449 section 4.3): the server-side half of `xaa::dpop`.
///
/// Cryptography comes from a [`DpopVerifier`] (the `jwt` feature's `JwkDpopVerifier`), replay
/// detection from the server's [`ReplayStore`], where each proof's `jti` is registered under
/// the thumbprint of its key for as long as its `iat` stays in the window. At a token endpoint
/// the `jti` goes to the endpoint's replay step instead (decisions.md D29).
///
/// ```
/// # #[cfg(feature = "jwt")] {
/// use std::sync::Arc;
/// use std::time::SystemTime;
/// use xaa::dpop::{DpopProofClaims, DpopSigner, EsDpopKey, JwkDpopVerifier};
/// use xaa::jose::RandomJti;
/// use xaa::server::{DpopValidator, InMemoryReplayStore, ProofExpectations};
///
/// let key = EsDpopKey::generate()?;
/// let now = SystemTime::now();
/// let proof = DpopProofClaims::new(&http::Method::POST, "https://as.example/token", &RandomJti, now)?
///     .sign(&key)?;
///
/// let validator = DpopValidator::new(
///     Arc::new(JwkDpopVerifier),
///     Arc::new(InMemoryReplayStore::default()),
/// );
/// let header = http::HeaderValue::from_str(proof.as_str())?;
/// let uri = url::Url::parse("https://as.example/token")?;
/// let checked = validator.validate_proof([&header], &ProofExpectations::new(&http::Method::POST, &uri, now))?;
/// assert_eq!(checked.jkt, key.jkt());
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DpopValidator {
    verifier: Arc<dyn DpopVerifier>,
    replay: Arc<dyn ReplayStore>,
    algorithms: AlgorithmAllowList,
    iat_window: Duration,
}

impl DpopValidator {
    /// A validator over `verifier` and `replay`, with the asymmetric algorithms of
    /// [`AlgorithmAllowList::asymmetric`] and an `iat` window of 5 minutes either way.
    pub fn new(verifier: Arc<dyn DpopVerifier>, replay: Arc<dyn ReplayStore>) -> Self {
        Self {
            verifier,
            replay,
            algorithms: AlgorithmAllowList::asymmetric(),
            iat_window: DEFAULT_IAT_WINDOW,
        }
    }

    /// Accepts only these algorithms (RFC 9449 section 4.3 item 5). `none` and HMAC stay
    /// refused whatever the list holds: a proof is signed with an asymmetric key.
    pub fn with_algorithms(mut self, algorithms: AlgorithmAllowList) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Accepts an `iat` at most `window` before or after now (RFC 9449 section 4.3 item 11).
    pub fn with_iat_window(mut self, window: Duration) -> Self {
        self.iat_window = window;
        self
    }

    /// The store proofs' `jti`s are registered in by [`validate_proof`](Self::validate_proof).
    pub(crate) fn replay_store(&self) -> &dyn ReplayStore {
        self.replay.as_ref()
    }

    /// The algorithms accepted: the `dpop_signing_alg_values_supported` of the server's
    /// metadata (RFC 9449 section 5.1).
    pub fn algorithms(&self) -> &AlgorithmAllowList {
        &self.algorithms
    }

    /// Checks the proof in the request's `DPoP` header values (every value of the header, as
    /// `request.headers().get_all("dpop")` gives them) against `expected`, in the order of the
    /// module's list, and registers its `jti` once every other check has passed.
    pub fn validate_proof<'h>(
        &self,
        dpop_headers: impl IntoIterator<Item = &'h HeaderValue>,
        expected: &ProofExpectations<'_>,
    ) -> Result<ValidatedProof, DpopError> {
        let (proof, token_use) = self.validate_proof_deferring_replay(dpop_headers, expected)?;
        self.replay
            .register(&token_use, expected.now)
            .map_err(|error| match error {
                ReplayError::Replayed => DpopError::Replayed,
                ReplayError::Full => DpopError::ReplayStoreFull,
                _ => DpopError::ReplayStoreUnavailable,
            })?;
        Ok(proof)
    }

    /// [`validate_proof`](Self::validate_proof) but for the replay check: the proof, and the
    /// use of its `jti` the caller must register before accepting it (the replay step of a
    /// token endpoint, decisions.md D29).
    pub(crate) fn validate_proof_deferring_replay<'h>(
        &self,
        dpop_headers: impl IntoIterator<Item = &'h HeaderValue>,
        expected: &ProofExpectations<'_>,
    ) -> Result<(ValidatedProof, TokenUse), DpopError> {
        let mut headers = dpop_headers.into_iter();
        let header = headers.next().ok_or(DpopError::Missing)?;
        if headers.next().is_some() {
            return Err(DpopError::MultipleHeaders);
        }
        let proof = header.to_str().map_err(|_| DpopError::Malformed)?;
        if proof.len() > MAX_PROOF_BYTES {
            return Err(DpopError::Malformed);
        }
        let parts = ProofParts::parse(proof)?;
        let (alg, jwk) = self.check_header(&parts)?;
        self.verifier
            .verify(&jwk, alg, parts.signing_input.as_bytes(), &parts.signature)
            .map_err(|error| match error {
                VerifyError::AlgorithmMismatch => DpopError::KeyAlgorithmMismatch,
                VerifyError::InvalidSignature => DpopError::BadSignature,
            })?;
        let claims = Claims::read(&parts.claims, expected.access_token.is_some())?;
        self.check_claims(&claims, expected)?;
        let jkt = jwk.thumbprint(|data| self.verifier.sha256(data));
        if let Some(bound) = expected.jkt
            && !constant_time_eq(bound.as_bytes(), jkt.as_bytes())
        {
            return Err(DpopError::KeyMismatch);
        }
        self.check_content_digest(&claims, expected)?;
        let token_use = self.proof_use(proof, &jkt, &claims);
        let validated = ValidatedProof {
            jkt,
            jwk,
            alg: alg.to_owned(),
            jti: claims.jti,
            iat: claims.iat,
            htu: claims.htu,
            nonce: claims.nonce,
            content_digest: claims.content_digest,
        };
        Ok((validated, token_use))
    }

    /// `typ`, `alg`, `crit` and `jwk` (RFC 9449 section 4.3 items 4, 5 and 7).
    fn check_header<'p>(
        &self,
        parts: &'p ProofParts<'_>,
    ) -> Result<(&'p str, PublicJwk), DpopError> {
        if header_str(&parts.header, "typ") != Some(DPOP_TYP) {
            return Err(DpopError::WrongType);
        }
        let alg = header_str(&parts.header, "alg");
        let alg = match alg {
            Some(alg) if is_asymmetric(alg) && self.algorithms.allows(alg) => alg,
            _ => {
                return Err(DpopError::AlgorithmNotAllowed {
                    alg: alg.map(sanitize),
                });
            }
        };
        if parts.header.contains_key("crit") {
            return Err(DpopError::CriticalHeader);
        }
        let jwk = parts.jwk.clone().ok_or(DpopError::InvalidJwk)?;
        let jwk = PublicJwk::from_object(jwk).map_err(|error| match error {
            PublicJwkError::PrivateMember(_) => DpopError::PrivateKeyInJwk,
            _ => DpopError::InvalidJwk,
        })?;
        Ok((alg, jwk))
    }

    /// `htm`, `htu`, `nonce`, `iat` and `ath` (RFC 9449 section 4.3 items 8 to 12).
    fn check_claims(
        &self,
        claims: &Claims,
        expected: &ProofExpectations<'_>,
    ) -> Result<(), DpopError> {
        if claims.htm != expected.method.as_str() {
            return Err(DpopError::MethodMismatch);
        }
        let received = comparison_form(expected.uri.as_str());
        if received.is_none() || comparison_form(&claims.htu) != received {
            return Err(DpopError::UriMismatch);
        }
        if let Some(nonce) = expected.nonce {
            let Some(sent) = &claims.nonce else {
                return Err(DpopError::NonceRequired);
            };
            let is_current = constant_time_eq(sent.as_bytes(), nonce.as_bytes());
            let is_previous = expected
                .previous_nonce
                .is_some_and(|previous| constant_time_eq(sent.as_bytes(), previous.as_bytes()));
            if !(is_current || is_previous) {
                return Err(DpopError::NonceMismatch);
            }
        }
        let now = unix_seconds(expected.now);
        let window = self.iat_window.as_secs();
        if claims.iat.saturating_add(window) < now {
            return Err(DpopError::IssuedTooLongAgo);
        }
        if claims.iat > now.saturating_add(window) {
            return Err(DpopError::IssuedInTheFuture);
        }
        if let Some(token) = expected.access_token {
            let hash = self.verifier.sha256(token.expose_secret().as_bytes());
            let expected_ath = URL_SAFE_NO_PAD.encode(hash);
            let sent = claims.ath.as_deref().unwrap_or_default();
            if !constant_time_eq(sent.as_bytes(), expected_ath.as_bytes()) {
                return Err(DpopError::AccessTokenHashMismatch);
            }
        }
        Ok(())
    }

    /// `content_digest` against the exact body (MCP's draft DPoP extension): checked when the
    /// proof carries one and the body is given, required when the server says so.
    fn check_content_digest(
        &self,
        claims: &Claims,
        expected: &ProofExpectations<'_>,
    ) -> Result<(), DpopError> {
        let sent = match (&claims.content_digest, expected.require_content_digest) {
            (Some(sent), _) => sent,
            (None, true) => return Err(DpopError::ContentDigestRequired),
            (None, false) => return Ok(()),
        };
        let body = match (expected.body, expected.require_content_digest) {
            (Some(body), _) => body,
            (None, true) => &[][..],
            (None, false) => return Ok(()),
        };
        let computed = content_digest(body, |data| self.verifier.sha256(data));
        if constant_time_eq(sent.as_bytes(), computed.as_bytes()) {
            Ok(())
        } else {
            Err(DpopError::ContentDigestMismatch)
        }
    }

    /// The use of the `jti`, under the key's thumbprint until the proof's `iat` leaves the
    /// window (RFC 9449 section 11.1; decisions.md D27).
    fn proof_use(&self, proof: &str, jkt: &str, claims: &Claims) -> TokenUse {
        let retain_until = claims
            .iat
            .saturating_add(self.iat_window.as_secs())
            .saturating_add(1);
        TokenUse::new(
            TokenKind::DpopProof,
            jkt,
            claims.jti.as_str(),
            proof,
            retain_until,
            ReplayMode::Strict,
        )
    }
}

impl fmt::Debug for DpopValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopValidator")
            .field("algorithms", &self.algorithms)
            .field("iat_window", &self.iat_window)
            .finish_non_exhaustive()
    }
}

/// A compact JWS taken apart (RFC 7515 section 7.1), its header and claims read with the
/// crate's strict JSON reader, the `jwk` header too.
struct ProofParts<'a> {
    header: Map<String, Value>,
    /// The `jwk` header, read on its own so that a member given twice inside it is refused as
    /// well; `None` when absent or not such an object.
    jwk: Option<Map<String, Value>>,
    claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> ProofParts<'a> {
    fn parse(proof: &'a str) -> Result<Self, DpopError> {
        let (header, claims) = jws_segments(proof).map_err(|_| DpopError::Malformed)?;
        let signature = jws_signature(proof).map_err(|_| DpopError::Malformed)?;
        let signing_input = proof
            .get(..header.len() + 1 + claims.len())
            .ok_or(DpopError::Malformed)?;
        let header = decode_segment(header).map_err(|_| DpopError::Malformed)?;
        let claims = decode_segment(claims).map_err(|_| DpopError::Malformed)?;
        Ok(Self {
            jwk: serde_json::from_slice::<JwkHeader>(&header)
                .ok()
                .and_then(|read| read.jwk)
                .map(|object| object.0),
            header: parse_object(&header).map_err(|_| DpopError::Malformed)?,
            claims: parse_object(&claims).map_err(|_| DpopError::Malformed)?,
            signing_input,
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .map_err(|_| DpopError::Malformed)?,
        })
    }
}

/// The `jwk` member of a JOSE header, strictly read.
#[derive(serde::Deserialize)]
struct JwkHeader {
    jwk: Option<UniqueObject>,
}

/// A header member that is a string; `None` when absent or of another type, which the rule of
/// that member then refuses.
fn header_str<'m>(header: &'m Map<String, Value>, name: &str) -> Option<&'m str> {
    header.get(name).and_then(Value::as_str)
}

/// The claims a proof must carry (RFC 9449 section 4.2).
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    ath: Option<String>,
    nonce: Option<String>,
    content_digest: Option<String>,
}

impl Claims {
    /// Reads the claims; `ath` is required when the proof comes with an access token.
    fn read(claims: &Map<String, Value>, with_access_token: bool) -> Result<Self, DpopError> {
        let text = |claim: &'static str| match Member::of(claims, claim) {
            Member::String(value) if !value.is_empty() => Ok(value.into_owned()),
            _ => Err(DpopError::MissingClaim { claim }),
        };
        let optional = |claim: &'static str| match Member::of(claims, claim) {
            Member::Absent => Ok(None),
            Member::String(value) => Ok(Some(value.into_owned())),
            _ => Err(DpopError::MissingClaim { claim }),
        };
        let read = Self {
            jti: text("jti")?,
            htm: text("htm")?,
            htu: text("htu")?,
            iat: Member::of(claims, "iat")
                .numeric_date()
                .ok_or(DpopError::MissingClaim { claim: "iat" })?,
            ath: optional("ath")?,
            nonce: optional("nonce")?,
            content_digest: optional(CONTENT_DIGEST_CLAIM)?,
        };
        if with_access_token && read.ath.is_none() {
            return Err(DpopError::MissingClaim { claim: "ath" });
        }
        Ok(read)
    }
}
