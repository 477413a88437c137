//! Where secret values come from: a file, an environment variable or stdin, never the command
//! line (it would show in the process list).

use std::io::Read;

use crate::exit::Failure;

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

    /// Reads the value. Errors name the source, never the value.
    pub(crate) fn read(&self, what: &str) -> Result<String, Failure> {
        let value = match self {
            Self::File(path) => std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("{what}: cannot read {path}: {e}")))?,
            Self::Env(name) => std::env::var(name).map_err(|_| {
                Failure::Usage(format!("{what}: environment variable {name} is not set"))
            })?,
            Self::Stdin => {
                let mut value = String::new();
                std::io::stdin()
                    .read_to_string(&mut value)
                    .map_err(|e| Failure::Usage(format!("{what}: cannot read stdin: {e}")))?;
                value
            }
        };
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
