//! [`DpopBinding`]: the client's DPoP key, its policy and the servers' nonces, shared by every
//! request that carries a proof.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use super::nonces::{NonceMemory, origin_of};
use super::policy::DpopPolicy;
use crate::discovery::AuthorizationServerMetadata;
use crate::dpop::{DpopProof, DpopProofClaims, DpopProofError, DpopSigner};
use crate::error::sanitize;
use crate::{AccessToken, DpopRefusal, JtiSource};

/// A client's DPoP key pair and how it is used (RFC 9449): the policy, whether proofs to the
/// MCP server carry `content_digest`, and the nonces servers supplied. Cloning shares the key
/// and the nonce memory.
///
/// ```
/// # #[cfg(feature = "jwt")] {
/// use std::sync::Arc;
/// use xaa::dpop::{DpopBinding, DpopPolicy, EsDpopKey};
///
/// let key = Arc::new(EsDpopKey::generate()?);
/// let binding = DpopBinding::new(key, Arc::new(xaa::jose::RandomJti), DpopPolicy::Required);
/// assert_eq!(binding.algorithm(), "ES256");
/// assert_eq!(binding.jkt().len(), 43);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DpopBinding {
    signer: Arc<dyn DpopSigner>,
    jti: Arc<dyn JtiSource>,
    policy: DpopPolicy,
    content_digest: bool,
    jkt: Arc<str>,
    nonces: Arc<NonceMemory>,
}

impl fmt::Debug for DpopBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopBinding")
            .field("policy", &self.policy)
            .field("algorithm", &self.signer.algorithm())
            .field("jkt", &self.jkt)
            .field("content_digest", &self.content_digest)
            .finish_non_exhaustive()
    }
}

impl DpopBinding {
    /// Binds tokens to `signer`'s key under `policy`, with proof `jti`s from `jti`.
    pub fn new(signer: Arc<dyn DpopSigner>, jti: Arc<dyn JtiSource>, policy: DpopPolicy) -> Self {
        let jkt = Arc::from(signer.jkt());
        Self {
            signer,
            jti,
            policy,
            content_digest: false,
            jkt,
            nonces: Arc::default(),
        }
    }

    /// Adds `content_digest` (the SHA-256 of the exact body) to every proof sent to the MCP
    /// server, as one revision of MCP's draft DPoP extension requires; off by default, since
    /// SEP-1932 adopts plain RFC 9449 and a server that does not know the claim ignores it.
    pub fn with_content_digest(mut self, on: bool) -> Self {
        self.content_digest = on;
        self
    }

    /// The policy.
    pub fn policy(&self) -> DpopPolicy {
        self.policy
    }

    /// The key's RFC 7638 thumbprint: the `jkt` a token bound to it names in `cnf`.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The key's JWS algorithm.
    pub fn algorithm(&self) -> &str {
        self.signer.algorithm()
    }

    /// Whether proofs to the MCP server carry `content_digest`.
    pub fn sends_content_digest(&self) -> bool {
        self.content_digest
    }

    /// Whether proofs are sent at all.
    pub(crate) fn is_on(&self) -> bool {
        self.policy != DpopPolicy::Off
    }

    /// Whether proofs go to the server `metadata` describes (RFC 9449 section 5.1): yes unless
    /// its `dpop_signing_alg_values_supported` lists other algorithms only, which under
    /// [`DpopPolicy::Required`] is [`DpopRefusal::AlgorithmNotAccepted`]. A server known
    /// without metadata (a configured token endpoint) gets proofs.
    pub(crate) fn sends_proofs_to(
        &self,
        metadata: Option<&AuthorizationServerMetadata>,
    ) -> Result<bool, DpopRefusal> {
        if !self.is_on() {
            return Ok(false);
        }
        let listed = metadata.and_then(|m| m.dpop_signing_alg_values_supported.as_ref());
        match listed {
            Some(algorithms) if !algorithms.iter().any(|a| a == self.algorithm()) => {
                if self.policy == DpopPolicy::Required {
                    return Err(DpopRefusal::AlgorithmNotAccepted {
                        algorithm: sanitize(self.algorithm()),
                    });
                }
                tracing::info!(
                    algorithm = %sanitize(self.algorithm()),
                    "the server does not list the DPoP key's algorithm; its token will be a bearer token"
                );
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    /// A proof for a request with `method` to `uri`, made at `now`, with the nonce the server
    /// last supplied, `ath` for `access_token` and `content_digest` of `body` when given (RFC
    /// 9449 section 4.2).
    pub fn proof(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        access_token: Option<&AccessToken>,
        body: Option<&[u8]>,
        now: SystemTime,
    ) -> Result<DpopProof, DpopRefusal> {
        let mut claims = DpopProofClaims::new(method, &uri.to_string(), self.jti.as_ref(), now)
            .map_err(not_made)?;
        if let Some(nonce) = self.nonces.get(&origin_of(uri)) {
            claims = claims.with_nonce(nonce);
        }
        if let Some(token) = access_token {
            claims = claims.with_access_token(token, self.signer.as_ref());
        }
        if let Some(body) = body {
            claims = claims.with_content_digest(body, self.signer.as_ref());
        }
        claims.sign(self.signer.as_ref()).map_err(not_made)
    }

    /// Remembers the `DPoP-Nonce` of a response from `uri`'s server (RFC 9449 sections 8.2 and
    /// 9: a nonce may come with any response); returns whether there was a usable one.
    pub fn observe_nonce(&self, uri: &http::Uri, headers: &http::HeaderMap) -> bool {
        self.nonces.observe(&origin_of(uri), headers)
    }

    /// The `jkt` of an ID-JAG whose `cnf` is `confirmation`, judged under the policy (ID-JAG
    /// draft section 9.8; RFC 9449 section 6.1): another key's is refused; none is refused
    /// under [`DpopPolicy::Required`] and logged under [`DpopPolicy::Preferred`]. An encrypted
    /// ID-JAG cannot be read: its binding is logged as unknown and the access token's
    /// `token_type` is then the check.
    pub(crate) fn judge_id_jag(
        &self,
        confirmation: IdJagConfirmation<'_>,
    ) -> Result<Option<String>, DpopRefusal> {
        match confirmation {
            IdJagConfirmation::Jkt(jkt) if jkt == self.jkt() => Ok(Some(jkt.to_owned())),
            IdJagConfirmation::Jkt(_) => Err(DpopRefusal::IdJagBoundToAnotherKey),
            IdJagConfirmation::Malformed => Err(DpopRefusal::MalformedConfirmation),
            IdJagConfirmation::Absent if self.policy == DpopPolicy::Required => {
                Err(DpopRefusal::IdJagNotBound)
            }
            IdJagConfirmation::Absent => {
                tracing::info!(
                    purpose = "token_exchange",
                    "the IdP returned an ID-JAG without cnf.jkt: it is a bearer ID-JAG"
                );
                Ok(None)
            }
            IdJagConfirmation::Encrypted => {
                tracing::info!(
                    purpose = "token_exchange",
                    "the ID-JAG is encrypted: its binding cannot be read; the access token's token_type is checked instead"
                );
                Ok(None)
            }
        }
    }

    /// The binding of an access token issued to a request that carried a proof, from its
    /// `token_type` (RFC 9449 section 5): `DPoP` (any case) is bound to this key; `Bearer` is
    /// refused under [`DpopPolicy::Required`] and logged otherwise. `None` for a bearer token;
    /// any other type is for the caller to refuse.
    pub(crate) fn judge_token_type(&self, token_type: &str) -> Result<Option<String>, DpopRefusal> {
        if token_type.eq_ignore_ascii_case("dpop") {
            return Ok(Some(self.jkt.to_string()));
        }
        if token_type.eq_ignore_ascii_case("bearer") {
            if self.policy == DpopPolicy::Required {
                return Err(DpopRefusal::AccessTokenNotBound {
                    token_type: sanitize(token_type),
                });
            }
            tracing::info!(
                purpose = "jwt_bearer",
                "the authorization server issued a bearer token to a request with a DPoP proof"
            );
        }
        Ok(None)
    }
}

/// What an ID-JAG says of its binding (`cnf`, RFC 7800 section 3.1), as the client peeks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdJagConfirmation<'a> {
    /// No `cnf`.
    Absent,
    /// `cnf.jkt`.
    Jkt(&'a str),
    /// A `cnf` that is not an object with a string `jkt`.
    Malformed,
    /// A JWE: the claims cannot be read.
    Encrypted,
}

fn not_made(error: DpopProofError) -> DpopRefusal {
    DpopRefusal::ProofNotMade {
        reason: sanitize(&error.to_string()),
    }
}
