//! The DPoP key the command keeps beside the token store (`xaa token --dpop`): made on first
//! use and reused after, so that the tokens bound to it stay usable from one run to the next.
//!
//! It is held to the store's rules and more: opened relative to the checked directory without
//! following a link, under the store's lock, believed only when it is a regular file of this
//! user's with one name that nobody else can read or write, and written only through
//! [`files::replace`] (a fresh 0600 file renamed over the name). A key that breaks a rule or
//! does not parse is refused, never replaced: deleting it is the user's decision, since the
//! tokens bound to it go with it.

use std::ffi::OsString;
use std::os::fd::AsFd;

use xaa::dpop::EsDpopKey;
use zeroize::Zeroizing;

use super::files::{self, Existing};
use super::lock::LockKind;
use super::{FileStore, rules};
use crate::exit::Failure;
use crate::local_file::{Capped, MAX_KEY_BYTES, read_capped};

/// The suffix of the key's name: `tokens.json` keeps its key in `tokens.json.dpop-key.pem`.
pub(crate) const KEPT_KEY_SUFFIX: &str = ".dpop-key.pem";

/// Whether a missing key is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IfMissing {
    /// Make one, keep it, and use it (`xaa token --dpop`).
    Make,
    /// Refuse: no token can be bound to a key that did not exist (`xaa dpop-proof --dpop`).
    Refuse,
}

/// The kept key, and whether this run made it.
pub(crate) struct KeptKey {
    /// The key pair.
    pub(crate) key: EsDpopKey,
    /// Whether it was made now.
    pub(crate) made: bool,
    /// Its path, as printed.
    pub(crate) shown: String,
}

impl FileStore {
    /// The kept DPoP key: read under the store's lock (exclusive when a missing key is to be
    /// made, so that two runs cannot make two keys), or made and written when missing and
    /// `if_missing` says so.
    pub(crate) fn kept_dpop_key(&self, if_missing: IfMissing) -> Result<KeptKey, Failure> {
        let mut name = self.name.clone();
        name.push(KEPT_KEY_SUFFIX);
        let shown = format!("{}{KEPT_KEY_SUFFIX}", self.shown);
        let kind = match if_missing {
            IfMissing::Make => LockKind::Exclusive,
            IfMissing::Refuse => LockKind::Shared,
        };
        let _lock = self.lock(kind)?;
        let kept = Kept {
            store: self,
            name,
            shown,
        };
        match kept.read()? {
            Some(key) => Ok(kept.found(key, false)),
            None if if_missing == IfMissing::Make => {
                let key = kept.make()?;
                Ok(kept.found(key, true))
            }
            None => Err(Failure::Usage(format!(
                "kept DPoP key {}: there is none yet; xaa token --dpop makes it",
                kept.shown
            ))),
        }
    }
}

/// The kept key's name beside one store; the caller holds the lock.
struct Kept<'s> {
    store: &'s FileStore,
    name: OsString,
    shown: String,
}

impl Kept<'_> {
    fn found(self, key: EsDpopKey, made: bool) -> KeptKey {
        KeptKey {
            key,
            made,
            shown: self.shown,
        }
    }

    /// The key, or `None` when nothing stands at its name.
    fn read(&self) -> Result<Option<EsDpopKey>, Failure> {
        let directory = self.store.directory.as_fd();
        let (file, stat) = match files::open_existing(directory, &self.name)
            .map_err(|e| self.failure(&format!("cannot read it: {e}")))?
        {
            Existing::Missing => return Ok(None),
            Existing::Symlink => return Err(self.refused("it is a symbolic link")),
            Existing::Opened(file, stat) => (file, stat),
        };
        rules::kept_key_file(&stat).map_err(|broken| self.refused(&broken))?;
        let pem = Zeroizing::new(read_capped(&file, MAX_KEY_BYTES).map_err(|e| match e {
            Capped::TooLarge => self.refused(&format!("it is larger than {MAX_KEY_BYTES} bytes")),
            Capped::Io(e) => self.failure(&format!("cannot read it: {e}")),
        })?);
        let key = EsDpopKey::from_pkcs8_pem(&pem).map_err(|e| {
            self.refused(&format!(
                "it is not a P-256 private key in PKCS#8 PEM ({e}); delete it (xaa makes a new \
                 key, and tokens bound to the old one are obtained again)"
            ))
        })?;
        Ok(Some(key))
    }

    /// A new key, written 0600 through a temporary file renamed over the name.
    fn make(&self) -> Result<EsDpopKey, Failure> {
        let key =
            EsDpopKey::generate().map_err(|e| self.failure(&format!("cannot make a key: {e}")))?;
        let pem = key
            .expose_private_pem()
            .map_err(|e| self.failure(&format!("cannot encode the new key: {e}")))?;
        files::replace(self.store.directory.as_fd(), &self.name, pem.as_bytes())
            .map_err(|e| self.failure(&format!("cannot write it: {e}")))?;
        Ok(key)
    }

    fn refused(&self, broken: &str) -> Failure {
        self.failure(&format!("refusing it: {broken}"))
    }

    fn failure(&self, what: &str) -> Failure {
        Failure::Usage(format!("kept DPoP key {}: {what}", self.shown))
    }
}
