//! The advisory lock around every use of the token store: `flock` on a lock file next to it
//! (created 0600, never through a link, held to the store's rules), shared to read,
//! exclusive to read, change and write. The wait is bounded, so a stuck process cannot hang
//! every later run.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, OFlags};
use rustix::io::Errno;

use super::files::is_symlink_refusal;
use super::rules::{self, Broken, PRIVATE};

/// The longest a run waits for the lock.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long to sleep between two tries.
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// Shared (to read) or exclusive (to change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockKind {
    Shared,
    Exclusive,
}

/// A held lock, released when dropped (closing the descriptor releases it). The lock file
/// itself stays: removing it would let two processes lock two different files.
pub(crate) struct Lock {
    _descriptor: OwnedFd,
}

/// Why the lock was not taken.
pub(crate) enum LockError {
    /// The lock file breaks a rule.
    Refused(Broken),
    /// Another process held it for all of [`LOCK_WAIT`].
    Busy,
    /// The lock file could not be opened or locked.
    Io(io::Error),
}

impl From<Errno> for LockError {
    fn from(error: Errno) -> Self {
        Self::Io(error.into())
    }
}

/// Opens (creating it if need be) the lock file `name` in `directory`, checks it, and takes
/// the lock, waiting at most [`LOCK_WAIT`].
pub(crate) fn acquire(
    directory: BorrowedFd<'_>,
    name: &OsStr,
    kind: LockKind,
) -> Result<Lock, LockError> {
    let flags = OFlags::RDONLY
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let descriptor = match rustix::fs::openat(directory, name, flags, PRIVATE) {
        Ok(descriptor) => descriptor,
        Err(e) if is_symlink_refusal(e) => {
            return Err(LockError::Refused("it is a symbolic link".into()));
        }
        Err(e) => return Err(e.into()),
    };
    rules::lock_file(&rustix::fs::fstat(&descriptor)?).map_err(LockError::Refused)?;
    let operation = match kind {
        LockKind::Shared => FlockOperation::NonBlockingLockShared,
        LockKind::Exclusive => FlockOperation::NonBlockingLockExclusive,
    };
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match rustix::fs::flock(&descriptor, operation) {
            Ok(()) => {
                return Ok(Lock {
                    _descriptor: descriptor,
                });
            }
            Err(Errno::INTR) => {}
            Err(Errno::WOULDBLOCK) if Instant::now() < deadline => std::thread::sleep(RETRY_EVERY),
            Err(Errno::WOULDBLOCK) => return Err(LockError::Busy),
            Err(e) => return Err(e.into()),
        }
    }
}
