//! A client's `private_key_jwt` authentication (RFC 7523 section 2.2, OpenID Connect Core 1.0
//! section 9) from a PEM private key file, for `xaa token` at either server and `xaa login`
//! at the IdP: one reading of the key, under the same rules as every secret file.

use std::path::Path;
use std::sync::Arc;

use xaa::jose::{JwtAssertionSigner, RandomJti, SigningKey};
use xaa::{ClientAuth, PrivateKeyJwt};

use crate::exit::Failure;
use crate::local_file::{MAX_INPUT_BYTES, Privacy, read_bounded};

/// The algorithm of a key when none is named.
pub(crate) const DEFAULT_KEY_ALG: &str = "ES256";

/// The `private_key_jwt` authentication of `client_id` at `side` with the key in `key_file`
/// (private to its owner, at most [`MAX_INPUT_BYTES`]), signing with `alg` (default ES256)
/// under `key_id` (default the client id).
pub(crate) fn private_key_jwt(
    side: &str,
    client_id: &str,
    key_file: &str,
    key_id: Option<&str>,
    alg: Option<&str>,
) -> Result<ClientAuth, Failure> {
    let pem = read_bounded(
        Path::new(key_file),
        &format!("{side} private key"),
        MAX_INPUT_BYTES,
        Privacy::Secret,
    )?;
    let kid = key_id.unwrap_or(client_id).to_owned();
    let key = SigningKey::from_pem(&pem, alg.unwrap_or(DEFAULT_KEY_ALG), kid)
        .map_err(|e| Failure::Usage(format!("{side}: key {}: {e}", shown_path(key_file))))?;
    Ok(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(
        Arc::new(JwtAssertionSigner::new(key)),
        Arc::new(RandomJti),
    )))
}

fn shown_path(path: &str) -> std::borrow::Cow<'_, str> {
    crate::terminal::shown(path)
}
