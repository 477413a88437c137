//! Where secret values come from: a file, an environment variable or stdin, never the command
//! line (it would show in the process list).

use std::path::Path;

use crate::exit::Failure;
use crate::local_file::{Capped, MAX_INPUT_BYTES, Privacy, read_bounded, read_capped};

/// A reference to a secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SecretSource {
    /// Read from this file (trailing whitespace trimmed).
    File(String),
    /// Read from this environment variable.
    Env(String),
    /// Read from standard input.
    Stdin,
}

impl SecretSource {
    /// One of the two options naming a source, or none.
    pub(crate) fn pick(
        what: &str,
        file: Option<String>,
        env: Option<String>,
        stdin: bool,
    ) -> Result<Option<Self>, Failure> {
        let mut sources = Vec::new();
        if let Some(file) = file {
            sources.push(Self::File(file));
        }
        if let Some(env) = env {
            sources.push(Self::Env(env));
        }
        if stdin {
            sources.push(Self::Stdin);
        }
        match sources.len() {
            0 => Ok(None),
            1 => Ok(sources.pop()),
            _ => Err(Failure::Usage(format!(
                "{what}: give one source, not several"
            ))),
        }
    }

    /// Reads the value, at most [`MAX_INPUT_BYTES`]. A file must be private to this user.
    /// Errors name the file, never the value, and never the name of a variable: a value
    /// pasted where the variable's name belongs would otherwise be printed.
    pub(crate) fn read(&self, what: &str) -> Result<String, Failure> {
        let bytes = match self {
            Self::File(path) => {
                read_bounded(Path::new(path), what, MAX_INPUT_BYTES, Privacy::Secret)?
            }
            Self::Env(name) => std::env::var_os(name)
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "{what}: the environment variable it names is not set (the name is not \
                         shown, in case it is the secret itself)"
                    ))
                })?
                .into_encoded_bytes(),
            Self::Stdin => read_capped(std::io::stdin().lock(), MAX_INPUT_BYTES).map_err(|e| {
                Failure::Usage(match e {
                    Capped::TooLarge => {
                        format!("{what}: stdin holds more than {MAX_INPUT_BYTES} bytes")
                    }
                    Capped::Io(e) => format!("{what}: cannot read stdin: {e}"),
                })
            })?,
        };
        if bytes.len() > MAX_INPUT_BYTES {
            return Err(Failure::Usage(format!(
                "{what}: the value is longer than {MAX_INPUT_BYTES} bytes"
            )));
        }
        let value = String::from_utf8(bytes)
            .map_err(|_| Failure::Usage(format!("{what}: the value is not UTF-8 text")))?;
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(Failure::Usage(format!("{what}: the value is empty")));
        }
        Ok(value)
    }
}

/// A short, non-reversible fingerprint of a token for display: the first 8 bytes of its
/// SHA-256, in hex.
pub(crate) fn fingerprint(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}
