//! The `content_digest` claim of MCP's draft DPoP extension: a proof bound to the exact bytes
//! of the request body (the JSON-RPC message), in the `Content-Digest` field syntax of RFC 9530
//! section 2 with its `sha-256` algorithm.
//!
//! The MCP drafts disagree on it (one revision of the extension requires it, SEP-1932 adopts
//! plain RFC 9449), so both sides treat it as an option: a client adds it when asked to, a
//! resource server checks it when present and may require it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The name of the claim in a DPoP proof.
pub const CONTENT_DIGEST_CLAIM: &str = "content_digest";

/// The `content_digest` value for `body`: `sha-256=:<base64 of SHA-256 of the exact bytes>:`
/// (RFC 9530 section 2: a Structured Field dictionary member whose value is a byte sequence,
/// RFC 8941 section 3.3.5, standard base64 with padding). `sha256` is the signer's or the
/// verifier's hash, so the core holds no hash function.
///
/// ```
/// use xaa::dpop::content_digest;
///
/// // SHA-256 of the empty body, as the RFC 9530 examples spell a digest.
/// let empty = [
///     0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
///     0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
///     0xb8, 0x55,
/// ];
/// let digest = content_digest(b"", |_| empty);
/// assert_eq!(digest, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
/// ```
pub fn content_digest(body: &[u8], sha256: impl FnOnce(&[u8]) -> [u8; 32]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(sha256(body)))
}
