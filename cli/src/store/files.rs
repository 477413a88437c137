//! The token store's file operations, all relative to the descriptor of its directory and
//! none following a symbolic link: opening the store to read it, and replacing it through an
//! exclusive temporary file with an unpredictable name.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::rules::PRIVATE;

/// Opens the store's directory (the path is the user's; the directory reached is what the
/// caller checks) and returns its status.
pub(crate) fn open_directory(path: &Path) -> io::Result<(OwnedFd, Stat)> {
    let directory = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let stat = rustix::fs::fstat(&directory)?;
    Ok((directory, stat))
}

/// What stands at a name.
pub(crate) enum Existing {
    /// Nothing.
    Missing,
    /// A symbolic link (not followed).
    Symlink,
    /// A file, opened, and its status (of any type: the caller checks).
    Opened(File, Stat),
}

/// Opens `name` in `directory` read-only, never following a link, never blocking (on a FIFO)
/// and never becoming a controlling terminal.
pub(crate) fn open_existing(directory: BorrowedFd<'_>, name: &OsStr) -> io::Result<Existing> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
    match rustix::fs::openat(directory, name, flags | OFlags::CLOEXEC, Mode::empty()) {
        Ok(descriptor) => {
            let stat = rustix::fs::fstat(&descriptor)?;
            Ok(Existing::Opened(File::from(descriptor), stat))
        }
        Err(Errno::NOENT) => Ok(Existing::Missing),
        Err(e) if is_symlink_refusal(e) => Ok(Existing::Symlink),
        Err(e) => Err(e.into()),
    }
}

/// Whether `open` with `O_NOFOLLOW` failed because the name is a symbolic link (ELOOP on
/// Linux, EMLINK on the BSDs).
pub(crate) fn is_symlink_refusal(error: Errno) -> bool {
    error == Errno::LOOP || error == Errno::MLINK
}

/// Sets `file`'s permission bits to 0600.
pub(crate) fn make_private(file: impl AsFd) -> io::Result<()> {
    Ok(rustix::fs::fchmod(file, PRIVATE)?)
}

/// How many fresh temporary names are tried before giving up (a clash of 128 random bits
/// means something else is going on).
const TEMPORARY_ATTEMPTS: usize = 3;

/// Replaces `name` in `directory` with `contents`: written to a new temporary file (random
/// name, `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600), synced, renamed over `name` (which
/// replaces whatever stood there, a link included, without following it), then the
/// directory synced. The temporary file is removed on any failure.
pub(crate) fn replace(directory: BorrowedFd<'_>, name: &OsStr, contents: &[u8]) -> io::Result<()> {
    let (temporary, descriptor) = create_temporary(directory, name)?;
    let mut file = File::from(descriptor);
    make_private(&file)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    rustix::fs::renameat(directory, &temporary.name, directory, name)?;
    temporary.renamed();
    match rustix::fs::fsync(directory) {
        // A file system that cannot sync a directory (EINVAL) has no entry to sync.
        Ok(()) | Err(Errno::INVAL) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A temporary file in the store's directory, removed when dropped unless renamed.
struct Temporary<'d> {
    directory: BorrowedFd<'d>,
    name: OsString,
    renamed: bool,
}

impl Temporary<'_> {
    /// It has become the store: nothing to remove.
    fn renamed(mut self) {
        self.renamed = true;
    }
}

impl Drop for Temporary<'_> {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = rustix::fs::unlinkat(self.directory, &self.name, AtFlags::empty());
        }
    }
}

fn create_temporary<'d>(
    directory: BorrowedFd<'d>,
    name: &OsStr,
) -> io::Result<(Temporary<'d>, OwnedFd)> {
    let flags = OFlags::WRONLY
        | OFlags::CREATE
        | OFlags::EXCL
        | OFlags::NOFOLLOW
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let mut attempt = 0;
    loop {
        let candidate = temporary_name(name)?;
        match rustix::fs::openat(directory, &candidate, flags, PRIVATE) {
            Ok(descriptor) => {
                let temporary = Temporary {
                    directory,
                    name: candidate,
                    renamed: false,
                };
                return Ok((temporary, descriptor));
            }
            Err(Errno::EXIST) if attempt + 1 < TEMPORARY_ATTEMPTS => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// `.NAME.<32 random hex digits>.tmp`: hidden, recognizable, unpredictable.
fn temporary_name(name: &OsStr) -> io::Result<OsString> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut random = [0u8; 16];
    SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| io::Error::other("no random bytes for a temporary file name"))?;
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut temporary = OsString::from(".");
    temporary.push(name);
    temporary.push(format!(".{hex}.tmp"));
    Ok(temporary)
}
