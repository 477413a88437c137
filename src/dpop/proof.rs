//! Building one DPoP proof (RFC 9449 section 4.2): its claims for one request, its header,
//! and its signature through a [`DpopSigner`].

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::htu::proof_htu;
use super::proof_error::DpopProofError;
use super::signer::DpopSigner;
use super::{DPOP_TYP, is_asymmetric};
use crate::json::unix_seconds;
use crate::jwt::encode_segment;
use crate::{AccessToken, JtiSource};

/// The claims of a DPoP proof for one HTTP request (RFC 9449 section 4.2).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use xaa::dpop::DpopProofClaims;
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// let claims = DpopProofClaims::new(
///     &http::Method::POST,
///     "https://as.example.com/token?ignored=1",
///     &|| "a-unique-id".to_owned(),
///     now,
/// )?
/// .with_nonce("server-nonce");
/// assert_eq!(claims.htu, "https://as.example.com/token");
/// assert_eq!(claims.iat, 1_800_000_000);
/// // `claims.sign(&key)` then makes the `DPoP` header's value.
/// # Ok::<(), xaa::dpop::DpopProofError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DpopProofClaims {
    /// `jti`: a unique identifier, so a server can refuse a replayed proof (RFC 9449 section
    /// 4.2, section 11.1).
    pub jti: String,
    /// `htm`: the request's HTTP method (RFC 9110 section 9).
    pub htm: String,
    /// `htu`: the request's target URI without query and fragment (RFC 9449 section 4.2).
    pub htu: String,
    /// `iat`: when the proof was made, seconds since the epoch (RFC 7519 section 4.1.6).
    pub iat: u64,
    /// `ath`: the base64url SHA-256 hash of the access token sent with the request, for a
    /// request to a protected resource (RFC 9449 section 4.2, section 7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
    /// `nonce`: the last value the server sent in a `DPoP-Nonce` header (RFC 9449 sections 8
    /// and 9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `content_digest`: the digest of the exact request body, for MCP's draft DPoP extension
    /// (see [`content_digest`](super::content_digest)); off unless asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_digest: Option<String>,
}

impl DpopProofClaims {
    /// The claims for a request with `method` to `target_uri`, made at `now`: `htu` is the
    /// target URI without query and fragment (RFC 9449 section 4.2), `jti` the next value of
    /// `jti`. The target must be an absolute `http` or `https` URI without user information
    /// ([`DpopProofError::InvalidTarget`]).
    pub fn new(
        method: &http::Method,
        target_uri: &str,
        jti: &dyn JtiSource,
        now: SystemTime,
    ) -> Result<Self, DpopProofError> {
        Ok(Self {
            jti: jti.next_jti(),
            htm: method.as_str().to_owned(),
            htu: proof_htu(target_uri).ok_or(DpopProofError::InvalidTarget)?,
            iat: unix_seconds(now),
            ath: None,
            nonce: None,
            content_digest: None,
        })
    }

    /// The claims for `request`, whose URI must be absolute (as every request the core builds
    /// is); see [`new`](Self::new).
    pub fn for_request<B>(
        request: &http::Request<B>,
        jti: &dyn JtiSource,
        now: SystemTime,
    ) -> Result<Self, DpopProofError> {
        Self::new(request.method(), &request.uri().to_string(), jti, now)
    }

    /// Adds the server's nonce (RFC 9449 section 8 for an authorization server, section 9 for a
    /// resource server).
    pub fn with_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Binds the proof to the access token sent with the request: `ath` is the base64url
    /// SHA-256 hash of the token's ASCII value (RFC 9449 section 4.2), hashed by `signer`.
    pub fn with_access_token(
        mut self,
        access_token: &AccessToken,
        signer: &dyn DpopSigner,
    ) -> Self {
        let hash = signer.sha256(access_token.expose_secret().as_bytes());
        self.ath = Some(URL_SAFE_NO_PAD.encode(hash));
        self
    }

    /// Binds the proof to the exact bytes of the request body (`content_digest`, MCP's draft
    /// DPoP extension), hashed by `signer`.
    pub fn with_content_digest(mut self, body: &[u8], signer: &dyn DpopSigner) -> Self {
        self.content_digest = Some(super::content_digest(body, |data| signer.sha256(data)));
        self
    }

    /// Signs the claims into a proof: header `typ` `dpop+jwt`, `alg` and `jwk` (the public key
    /// only) from `signer` (RFC 9449 section 4.2). A signer whose algorithm is `none` or an
    /// HMAC one is refused ([`DpopProofError::UnsafeAlgorithm`]): a proof is signed with an
    /// asymmetric key.
    pub fn sign(&self, signer: &dyn DpopSigner) -> Result<DpopProof, DpopProofError> {
        let alg = signer.algorithm();
        if !is_asymmetric(alg) {
            return Err(DpopProofError::UnsafeAlgorithm);
        }
        let mut header = Map::new();
        header.insert("typ".into(), Value::from(DPOP_TYP));
        header.insert("alg".into(), Value::from(alg));
        header.insert(
            "jwk".into(),
            Value::Object(signer.public_jwk().as_object().clone()),
        );
        let mut proof = encode_segment(&header);
        proof.push('.');
        proof.push_str(&encode_segment(self));
        let signature = signer.sign(proof.as_bytes())?;
        proof.push('.');
        proof.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(DpopProof(proof))
    }
}

/// A signed DPoP proof: the value of one request's `DPoP` header (RFC 9449 section 4.1).
/// `Debug` shows only its length: within its time window the proof is accepted for its
/// request.
#[derive(Clone, PartialEq, Eq)]
pub struct DpopProof(String);

impl DpopProof {
    /// The compact JWS, for the `DPoP` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The compact JWS.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for DpopProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DpopProof({} bytes)", self.0.len())
    }
}
