//! Why a DPoP proof was refused: one variant per check of RFC 9449 section 4.3.

use crate::display_safety::quoted_or_absent as shown;

/// Why a DPoP proof was refused, one variant per rule (RFC 9449 section 4.3). The message
/// states the rule and its section; it never holds the proof, a token or a key.
///
/// [`error_code`](Self::error_code) is the OAuth error to answer with: `use_dpop_nonce` for
/// a missing or wrong nonce, which the server answers with a fresh `DPoP-Nonce` header (a
/// 400 from an authorization server, RFC 9449 section 8; a 401 from a resource server,
/// section 9), and `invalid_dpop_proof` for the others (sections 5 and 7.1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// The request has no `DPoP` header.
    #[error("the request carries no DPoP header (RFC 9449 section 4.1)")]
    Missing,
    /// The request has more than one `DPoP` header (RFC 9449 section 4.3 item 1).
    #[error(
        "DPoP proof refused: a request must carry exactly one DPoP header (RFC 9449 section 4.3 item 1)"
    )]
    MultipleHeaders,
    /// The header is not one well-formed compact JWS: not visible ASCII, too long, not three
    /// base64url segments, a header or claims that are not a JSON object, or a member name
    /// given twice (RFC 9449 section 4.3 item 2, RFC 7519 section 4).
    #[error(
        "DPoP proof refused: the DPoP header must hold one well-formed signed JWT, each JSON member once (RFC 9449 section 4.3 item 2)"
    )]
    Malformed,
    /// `typ` is absent, not a string, or not exactly `dpop+jwt` (RFC 9449 section 4.3 item 4).
    #[error("DPoP proof refused: its typ must be dpop+jwt (RFC 9449 section 4.3 item 4)")]
    WrongType,
    /// `alg` is absent, not a string, `none`, an HMAC algorithm, or not on the allow-list (RFC
    /// 9449 section 4.3 item 5).
    #[error(
        "DPoP proof refused: its alg must be an allowed asymmetric algorithm, never none or HMAC; found {} (RFC 9449 section 4.3 item 5)",
        shown(.alg)
    )]
    AlgorithmNotAllowed {
        /// The `alg` found, sanitized, if it was a string.
        alg: Option<String>,
    },
    /// The header has `crit`, naming extensions not understood here (RFC 7515 section
    /// 4.1.11).
    #[error("DPoP proof refused: its header must name no crit extension (RFC 7515 section 4.1.11)")]
    CriticalHeader,
    /// `jwk` is absent, not a JSON object (or one with a member given twice), not of type
    /// `EC`, `RSA` or `OKP`, or lacks a member its type requires (RFC 9449 section 4.2, RFC
    /// 7638 section 3.2).
    #[error(
        "DPoP proof refused: its header must carry its public key in jwk, an EC, RSA or OKP key with its required members (RFC 9449 section 4.2)"
    )]
    InvalidJwk,
    /// `jwk` holds a private or symmetric key member (RFC 9449 section 4.3 item 7).
    #[error(
        "DPoP proof refused: its jwk must be a public key, without private members (RFC 9449 section 4.3 item 7)"
    )]
    PrivateKeyInJwk,
    /// The `jwk` is not a key for `alg`, or not one the verifier can use (RFC 9449 section 4.3
    /// items 5 and 6, RFC 8725 section 3.1).
    #[error(
        "DPoP proof refused: its jwk must be a usable key for its alg (RFC 9449 section 4.3 items 5 and 6)"
    )]
    KeyAlgorithmMismatch,
    /// The signature does not verify with the `jwk` (RFC 9449 section 4.3 item 6).
    #[error(
        "DPoP proof refused: its signature must verify with the key in its jwk header (RFC 9449 section 4.3 item 6)"
    )]
    BadSignature,
    /// A claim is absent or not of its type: `jti`, `htm` and `htu` non-empty strings, `iat`
    /// a NumericDate, and `ath` a string when the proof comes with an access token (RFC 9449
    /// section 4.3 item 3, section 4.2).
    #[error(
        "DPoP proof refused: it must carry the claim {claim} (RFC 9449 section 4.2, section 4.3 item 3)"
    )]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// `htm` is not the request's method (RFC 9449 section 4.3 item 8).
    #[error(
        "DPoP proof refused: its htm must be the request's method (RFC 9449 section 4.3 item 8)"
    )]
    MethodMismatch,
    /// `htu` is not the request's URI, ignoring query and fragment, after normalisation (RFC
    /// 9449 section 4.3 item 9, RFC 3986 sections 6.2.2 and 6.2.3).
    #[error(
        "DPoP proof refused: its htu must be the request's URI without query and fragment (RFC 9449 section 4.3 item 9)"
    )]
    UriMismatch,
    /// The server requires a nonce and the proof has none (RFC 9449 section 4.3 item 10,
    /// sections 8 and 9): answer `use_dpop_nonce` with a fresh `DPoP-Nonce`.
    #[error(
        "DPoP proof refused: it must carry the nonce the server supplied in DPoP-Nonce (RFC 9449 section 4.3 item 10, section 8)"
    )]
    NonceRequired,
    /// The proof's nonce is not the one the server expects (RFC 9449 section 4.3 item 10,
    /// sections 8 and 9): answer `use_dpop_nonce` with a fresh `DPoP-Nonce`.
    #[error(
        "DPoP proof refused: its nonce must be the current one the server supplied (RFC 9449 section 4.3 item 10, section 8)"
    )]
    NonceMismatch,
    /// `iat` is further in the past than the window allows (RFC 9449 section 4.3 item 11,
    /// section 11.1).
    #[error(
        "DPoP proof refused: it must be made within the accepted window, and its iat is too old (RFC 9449 section 4.3 item 11)"
    )]
    IssuedTooLongAgo,
    /// `iat` is further in the future than the window allows (RFC 9449 section 4.3 item 11).
    #[error(
        "DPoP proof refused: it must be made within the accepted window, and its iat is in the future (RFC 9449 section 4.3 item 11)"
    )]
    IssuedInTheFuture,
    /// `ath` is not the hash of the access token presented with the proof (RFC 9449 section
    /// 4.3 item 12, section 7.1).
    #[error(
        "DPoP proof refused: its ath must be the SHA-256 hash of the access token it comes with (RFC 9449 section 4.3 item 12)"
    )]
    AccessTokenHashMismatch,
    /// The proof's key is not the one the access token is bound to: its thumbprint differs
    /// from the token's `cnf.jkt` (RFC 9449 section 4.3 item 12, section 6.1).
    #[error(
        "DPoP proof refused: it must be signed by the key the access token is bound to (cnf.jkt; RFC 9449 section 4.3 item 12, section 6.1)"
    )]
    KeyMismatch,
    /// The proof carries a `content_digest` that is not the digest of the exact request body
    /// (MCP's draft DPoP extension; RFC 9530 section 2 for the syntax).
    #[error(
        "DPoP proof refused: its content_digest must be the SHA-256 digest of the exact request body (RFC 9530 section 2)"
    )]
    ContentDigestMismatch,
    /// The server requires a `content_digest` claim and the proof has none (MCP's draft DPoP
    /// extension).
    #[error(
        "DPoP proof refused: this server requires a content_digest claim binding the proof to the request body (RFC 9530 section 2)"
    )]
    ContentDigestRequired,
    /// The proof's `jti` was seen before within its window (RFC 9449 section 11.1).
    #[error(
        "DPoP proof refused: it may be used once, and its jti was seen before (RFC 9449 section 11.1)"
    )]
    Replayed,
    /// The replay store is full of live entries; accepting would mean forgetting one
    /// (decisions.md D23). A server answers 503.
    #[error(
        "the replay store is full: the proof's jti cannot be remembered (RFC 9449 section 11.1)"
    )]
    ReplayStoreFull,
    /// The replay store could not answer, so the proof's `jti` could not be checked: the
    /// proof is refused rather than risk accepting a replay (decisions.md D29). A server
    /// answers 503.
    #[error(
        "the replay store could not answer: the proof's jti could not be checked (RFC 9449 section 11.1)"
    )]
    ReplayStoreUnavailable,
}

impl DpopError {
    /// The OAuth error code to answer with: `use_dpop_nonce` for
    /// [`NonceRequired`](Self::NonceRequired) and [`NonceMismatch`](Self::NonceMismatch)
    /// (RFC 9449 sections 8 and 9), `temporarily_unavailable` for
    /// [`ReplayStoreFull`](Self::ReplayStoreFull) and
    /// [`ReplayStoreUnavailable`](Self::ReplayStoreUnavailable) (decisions.md D23), and
    /// `invalid_dpop_proof` for every other refusal (RFC 9449 sections 5 and 7.1).
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::NonceRequired | Self::NonceMismatch => "use_dpop_nonce",
            Self::ReplayStoreFull | Self::ReplayStoreUnavailable => "temporarily_unavailable",
            _ => "invalid_dpop_proof",
        }
    }
}
