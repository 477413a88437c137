//! The opt-in token store on disk (decisions.md D21): the last discovery and the tokens, in a
//! JSON file private to its owner, so repeated calls reuse a valid token.
//!
//! The file is believed only when nobody else could have written it: it, its lock file and
//! its directory are checked on their opened descriptors ([`rules`]), every name in the
//! directory is opened relative to the directory's descriptor without following a link
//! ([`files`]), every read happens under a shared lock and every change under an exclusive
//! one, re-reading the file first ([`lock`]), and a file of another format is refused, never
//! overwritten ([`format`]). The DPoP key of `--dpop` is kept beside it under the same
//! rules ([`kept_key`]).
//!
//! The file is sealed with a data key kept in the OS credential store when one answers
//! ([`protection`], [`sealed`], [`credential_store`]); `xaa login`, `status` and `logout`
//! use the default store unless told otherwise ([`location`]).

mod credential_store;
mod files;
mod format;
mod kept_key;
mod location;
mod lock;
mod protection;
mod rules;
mod sealed;
mod session;

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::SystemTime;

pub(crate) use format::Stored;
pub(crate) use kept_key::IfMissing;
pub(crate) use location::{existing_default_path, path_or_default};
pub(crate) use session::{ClientSettings, Session};

use crate::args::CredentialStoreChoice;
use crate::exit::Failure;
use crate::local_file::{Capped, read_capped};
use crate::terminal::shown;
use files::Existing;
use lock::{Lock, LockError, LockKind};
use protection::{Found, Protection};
use rules::Readers;
use rustix::fs::AtFlags;
use zeroize::Zeroizing;

/// The most bytes the store file may hold.
pub(crate) const MAX_STORE_BYTES: usize = 16 * 1024 * 1024;

/// A token store file, its directory open and checked.
pub(crate) struct FileStore {
    directory: OwnedFd,
    name: OsString,
    lock_name: OsString,
    /// The store's path, as printed.
    shown: String,
    /// The lock file's path, as printed.
    lock_shown: String,
    /// Whether the file is sealed, and with which key.
    protection: Protection,
}

impl FileStore {
    /// Opens the directory of the store at `path` and checks it: owned by this user or
    /// root, not writable by others unless sticky. `choice` says whether the file is sealed
    /// with a key in the OS credential store.
    pub(crate) fn open(path: &Path, choice: CredentialStoreChoice) -> Result<FileStore, Failure> {
        let path_shown = shown(&path.to_string_lossy()).into_owned();
        let name = path.file_name().ok_or_else(|| {
            Failure::Usage(format!(
                "token store {path_shown}: the path does not name a file"
            ))
        })?;
        let directory_path = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let directory_shown = shown(&directory_path.to_string_lossy()).into_owned();
        let (directory, stat) = files::open_directory(directory_path).map_err(|e| {
            Failure::Usage(format!(
                "token store directory {directory_shown}: cannot open it: {e}"
            ))
        })?;
        rules::directory(&stat).map_err(|broken| {
            Failure::Usage(format!(
                "token store directory {directory_shown}: refusing it: {broken}; keep the \
                 store in a directory only you can write to"
            ))
        })?;
        let mut lock_name = name.to_owned();
        lock_name.push(".lock");
        let lock_path = path.with_file_name(&lock_name);
        // The key's entry is named after the canonical path, so that one store reached by
        // two paths has one key.
        let canonical = std::fs::canonicalize(directory_path)
            .map_err(|e| {
                Failure::Usage(format!(
                    "token store directory {directory_shown}: cannot resolve its path: {e}"
                ))
            })?
            .join(name);
        let protection = Protection::new(
            choice,
            canonical.as_os_str().as_encoded_bytes(),
            &path_shown,
        );
        Ok(FileStore {
            directory,
            name: name.to_owned(),
            lock_name,
            shown: path_shown,
            lock_shown: shown(&lock_path.to_string_lossy()).into_owned(),
            protection,
        })
    }

    /// Reads the store under a shared lock; a missing file is an empty store.
    pub(crate) fn load(&self) -> Result<Stored, Failure> {
        let _lock = self.lock(LockKind::Shared)?;
        Ok(self.read()?.0)
    }

    /// [`load`](Self::load), and how the file is protected, in words (for `xaa status`).
    pub(crate) fn load_described(&self) -> Result<(Stored, String), Failure> {
        let _lock = self.lock(LockKind::Shared)?;
        let (stored, found) = self.read()?;
        Ok((stored, self.protection.describe(&found)))
    }

    /// Under the exclusive lock: reads the store as it is now, applies `change`, prunes
    /// what expired, and writes the result atomically.
    pub(crate) fn update(&self, change: impl FnOnce(&mut Stored)) -> Result<(), Failure> {
        self.update_with(change)
    }

    /// [`update`](Self::update) whose `change` also returns a value, handed back once the
    /// store is written. The exclusive lock is held from the read to the write, so what
    /// `change` read (a refresh token) cannot be used by another process meanwhile.
    pub(crate) fn update_with<T>(
        &self,
        change: impl FnOnce(&mut Stored) -> T,
    ) -> Result<T, Failure> {
        let _lock = self.lock(LockKind::Exclusive)?;
        let (mut stored, found) = self.read()?;
        let value = change(&mut stored);
        stored.prune(SystemTime::now());
        let plaintext = Zeroizing::new(stored.encode().map_err(|e| {
            Failure::Usage(format!("token store {}: cannot encode it: {e}", self.shown))
        })?);
        // Sealed with the key it was read with, or this store's key (made now, under the
        // exclusive lock, when there is none), or plaintext without a credential store.
        let bytes = self.protection.seal(&found, &plaintext)?;
        if bytes.len() > MAX_STORE_BYTES {
            return Err(Failure::Usage(format!(
                "token store {}: it would grow beyond {MAX_STORE_BYTES} bytes; delete it",
                self.shown
            )));
        }
        files::replace(self.directory.as_fd(), &self.name, &bytes)
            .map_err(|e| self.cannot("write", &e))?;
        Ok(value)
    }

    fn lock(&self, kind: LockKind) -> Result<Lock, Failure> {
        lock::acquire(self.directory.as_fd(), &self.lock_name, kind).map_err(|e| match e {
            LockError::Refused(broken) => Failure::Usage(format!(
                "token store lock {}: refusing it: {broken}; delete it",
                self.lock_shown
            )),
            LockError::Busy => Failure::Usage(format!(
                "token store {}: another process held its lock {} for over {} s; retry, or \
                 find the process",
                self.shown,
                self.lock_shown,
                lock::LOCK_WAIT.as_secs()
            )),
            LockError::Io(e) => Failure::Usage(format!(
                "token store lock {}: cannot lock it: {e}",
                self.lock_shown
            )),
        })
    }

    /// `xaa logout`'s way out of a sealed store whose key is lost (missing from the
    /// credential store that answers, or another key): under the exclusive lock, the file is
    /// deleted when, and only when, it is such a store that passes the store's rules.
    /// `Ok(true)` when it was deleted.
    pub(crate) fn remove_if_lost(&self) -> Result<bool, Failure> {
        let _lock = self.lock(LockKind::Exclusive)?;
        let Ok(Existing::Opened(file, stat)) =
            files::open_existing(self.directory.as_fd(), &self.name)
        else {
            return Ok(false);
        };
        if rules::store_file(&stat).is_err() {
            return Ok(false);
        }
        let Ok(bytes) = read_capped(&file, MAX_STORE_BYTES) else {
            return Ok(false);
        };
        if !self.protection.is_lost(&bytes) {
            return Ok(false);
        }
        rustix::fs::unlinkat(self.directory.as_fd(), &self.name, AtFlags::empty())
            .map_err(|e| self.cannot("delete", &e.into()))?;
        Ok(true)
    }

    /// Reads, checks and (when sealed) opens the file; the caller holds the lock.
    fn read(&self) -> Result<(Stored, Found), Failure> {
        let refuse = |broken: &str| {
            Failure::Usage(format!(
                "token store {}: refusing it: {broken}; delete it or name another file",
                self.shown
            ))
        };
        let (file, stat) = match files::open_existing(self.directory.as_fd(), &self.name)
            .map_err(|e| self.cannot("read", &e))?
        {
            Existing::Missing => return Ok((Stored::default(), self.protection.missing()?)),
            Existing::Symlink => return Err(refuse("it is a symbolic link")),
            Existing::Opened(file, stat) => (file, stat),
        };
        let readers = rules::store_file(&stat).map_err(|broken| refuse(&broken))?;
        let bytes = read_capped(&file, MAX_STORE_BYTES).map_err(|e| match e {
            Capped::TooLarge => refuse(&format!("it is larger than {MAX_STORE_BYTES} bytes")),
            Capped::Io(e) => self.cannot("read", &e),
        })?;
        let (plaintext, found) = self.protection.unseal(bytes)?;
        let stored = Stored::parse(&plaintext).map_err(|e| {
            Failure::Usage(format!(
                "token store {} is not a token store of this xaa: {e}; if it is an old \
                 token store, delete it (xaa obtains new tokens), otherwise name another file",
                self.shown
            ))
        })?;
        // Tightened only once it parsed as a store: a file that is not one is never changed.
        if let Readers::Others(mode) = readers {
            files::make_private(&file).map_err(|e| self.cannot("make private", &e))?;
            eprintln!(
                "xaa: warning: token store {} was readable by other users (mode {:04o}), so \
                 its tokens may have been read; it is now 0600",
                self.shown,
                mode.bits()
            );
        }
        Ok((stored, found))
    }

    fn cannot(&self, what: &str, error: &io::Error) -> Failure {
        Failure::Usage(format!(
            "token store {}: cannot {what} it: {error}",
            self.shown
        ))
    }
}
