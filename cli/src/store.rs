//! The opt-in token store on disk (decisions.md D21): the last discovery and the tokens, in a
//! JSON file readable only by its owner (mode 0600), so repeated calls reuse a valid token.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xaa::Discovery;
use xaa::cache::{CacheKey, CachedToken};

use crate::exit::Failure;

/// What the file holds.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct Stored {
    /// Discovery per MCP server URL.
    #[serde(default)]
    pub(crate) discovery: BTreeMap<String, Discovery>,
    /// Tokens, keyed by the JSON of their cache key.
    #[serde(default)]
    pub(crate) tokens: Vec<(CacheKey, CachedToken)>,
}

/// A token store file.
pub(crate) struct FileStore {
    path: PathBuf,
}

impl FileStore {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    /// Reads the file; a missing file is an empty store, an unreadable one an error.
    pub(crate) fn load(&self) -> Result<Stored, Failure> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Failure::Usage(format!(
                    "token store {} is not valid: {e}",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Stored::default()),
            Err(e) => Err(Failure::Usage(format!(
                "cannot read token store {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// Writes the file atomically, readable and writable by the owner only.
    pub(crate) fn save(&self, stored: &Stored) -> Result<(), Failure> {
        let fail = |e: std::io::Error| {
            Failure::Usage(format!(
                "cannot write token store {}: {e}",
                self.path.display()
            ))
        };
        let json = serde_json::to_vec_pretty(stored)
            .map_err(|e| Failure::Usage(format!("cannot encode the token store: {e}")))?;
        let temporary = self.path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temporary).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(fail)?;
        }
        file.write_all(&json).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        std::fs::rename(&temporary, &self.path).map_err(fail)
    }
}

impl Stored {
    /// The token stored under `key`.
    pub(crate) fn token(&self, key: &CacheKey) -> Option<&CachedToken> {
        self.tokens.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// Stores `token` under `key`, replacing an older one.
    pub(crate) fn put(&mut self, key: CacheKey, token: CachedToken) {
        self.tokens.retain(|(k, _)| *k != key);
        self.tokens.push((key, token));
    }
}
