//! Reading the command's local input files: every read is bounded, and files that hold a
//! secret must be private to their owner.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::exit::Failure;
use crate::terminal::shown;

/// The most bytes read from a secret, a key, a subject token or a config file (1 MiB: a SAML
/// assertion or a certificate chain fits many times over; `/dev/zero` does not).
pub(crate) const MAX_INPUT_BYTES: usize = 1024 * 1024;

/// The most bytes read from a DPoP key file: a P-256 key in PKCS#8 PEM takes about 250.
pub(crate) const MAX_KEY_BYTES: usize = 16 * 1024;

/// The most bytes read from a request body given to `xaa dpop-proof --body-file`.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The most bytes read from a JWKS document given as a file.
pub(crate) const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Whether a file must be private to its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Privacy {
    /// Holds a secret (a client secret, a private key, a subject token): a regular file must be
    /// owned by this user (or root) and neither readable nor writable by anyone else, as ssh
    /// demands of a private key.
    Secret,
    /// Holds settings: must not be writable by others, who could otherwise redirect the
    /// command's requests (and the secrets they carry).
    Settings,
    /// Anything may read it (a public JWKS).
    Public,
}

/// Reads at most `limit` bytes of `path`; a longer input is refused, never truncated.
pub(crate) fn read_bounded(
    path: &Path,
    what: &str,
    limit: usize,
    privacy: Privacy,
) -> Result<Vec<u8>, Failure> {
    let name = shown(&path.to_string_lossy()).into_owned();
    let file =
        File::open(path).map_err(|e| Failure::Usage(format!("{what}: cannot read {name}: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| Failure::Usage(format!("{what}: cannot read {name}: {e}")))?;
    if metadata.is_file() {
        check_privacy(&metadata, privacy)
            .map_err(|rule| Failure::Usage(format!("{what}: refusing {name}: {rule}")))?;
    }
    read_capped(file, limit).map_err(|e| match e {
        Capped::TooLarge => Failure::Usage(format!("{what}: {name} is larger than {limit} bytes")),
        Capped::Io(e) => Failure::Usage(format!("{what}: cannot read {name}: {e}")),
    })
}

/// Why a capped read failed.
pub(crate) enum Capped {
    /// More than the limit.
    TooLarge,
    /// The read itself failed.
    Io(std::io::Error),
}

/// Reads all of `reader`, failing once more than `limit` bytes arrive.
pub(crate) fn read_capped(reader: impl Read, limit: usize) -> Result<Vec<u8>, Capped> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    if bytes.len() > limit {
        return Err(Capped::TooLarge);
    }
    Ok(bytes)
}

#[cfg(unix)]
fn check_privacy(metadata: &std::fs::Metadata, privacy: Privacy) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let mode = metadata.mode() & 0o7777;
    let me = rustix::process::geteuid().as_raw();
    let owner = metadata.uid();
    let forbidden = match privacy {
        Privacy::Public => return Ok(()),
        Privacy::Settings => 0o022,
        Privacy::Secret => 0o077,
    };
    if owner != me && owner != 0 {
        return Err(format!(
            "it is owned by another user (uid {owner}); it must belong to this user"
        ));
    }
    if mode & forbidden != 0 {
        let who = if privacy == Privacy::Secret {
            "readable or writable by other users"
        } else {
            "writable by other users"
        };
        return Err(format!(
            "it is {who} (mode {mode:04o}); run chmod {} on it",
            if privacy == Privacy::Secret {
                "600"
            } else {
                "go-w"
            }
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_privacy(_: &std::fs::Metadata, _: Privacy) -> Result<(), String> {
    Ok(())
}
