//! The end of `xaa dpop-proof --help`: how a shell user sends a DPoP-bound token with curl.
//! Apart from the command so that the flags (`crate::args`) can name it.

/// The end of `xaa dpop-proof --help`: how to send a bound token with curl.
pub(crate) const HELP: &str = "\
A proof is good for one request: make a new one for each request. When the server answers
with a DPoP-Nonce header (error use_dpop_nonce), make the proof again with --nonce.

Example: a token bound to the key xaa keeps, then one MCP request with it.
  S=~/.cache/xaa/tokens.json URL=https://mcp.example.com/mcp
  T=$(xaa token --dpop --token-store $S --server $URL ...)
  P=$(xaa dpop-proof --dpop --token-store $S --from-store --url $URL \\
        --body-file request.json --content-digest)
  curl -H \"Authorization: DPoP $T\" -H \"DPoP: $P\" \\
       -H 'Content-Type: application/json' --data-binary @request.json $URL
With a key file of your own, give --dpop-key FILE to both commands instead of --dpop.";
