//! What the token store demands of its directory, its file and its lock file, checked on the
//! status of an opened descriptor (never by path, which could change between the check and
//! the use).

use rustix::fs::{FileType, Mode, Stat};

/// A rule a file or directory breaks, as a clause: "it is ...".
pub(crate) type Broken = String;

/// Who may read an acceptable store file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Readers {
    /// Its owner only.
    Owner,
    /// Others too (the permission bits, for the warning): to be tightened to 0600.
    Others(Mode),
}

/// The permission bits of a store file.
pub(crate) const PRIVATE: Mode = Mode::RUSR.union(Mode::WUSR);

/// This process's effective user id.
fn me() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The store's directory: owned by this user or root, and not writable by others unless
/// sticky (then they cannot rename or remove what is ours).
pub(crate) fn directory(stat: &Stat) -> Result<(), Broken> {
    let mode = Mode::from_raw_mode(stat.st_mode);
    let owner = stat.st_uid;
    if owner != me() && owner != 0 {
        return Err(format!(
            "it is owned by uid {owner}, neither this user (uid {}) nor root",
            me()
        ));
    }
    if mode.intersects(Mode::WGRP | Mode::WOTH) && !mode.contains(Mode::SVTX) {
        return Err(format!(
            "it is writable by other users (mode {:04o}) without the sticky bit, so they \
             could replace the store",
            mode.bits()
        ));
    }
    Ok(())
}

/// The store file: a regular file with one name, owned by this user, writable by nobody
/// else (who could have changed where its tokens and secrets are sent).
pub(crate) fn store_file(stat: &Stat) -> Result<Readers, Broken> {
    owned_regular_with_one_name(stat)?;
    let mode = Mode::from_raw_mode(stat.st_mode);
    if mode.intersects(Mode::WGRP | Mode::WOTH) {
        return Err(format!(
            "it is writable by other users (mode {:04o}), who could have changed where its \
             tokens and secrets are sent",
            mode.bits()
        ));
    }
    if mode.intersects(Mode::RGRP | Mode::ROTH) {
        return Ok(Readers::Others(mode));
    }
    Ok(Readers::Owner)
}

/// The lock file: the store's rules on owner, type and links, and writable by nobody else;
/// it holds nothing, so others may read it.
pub(crate) fn lock_file(stat: &Stat) -> Result<(), Broken> {
    owned_regular_with_one_name(stat)?;
    let mode = Mode::from_raw_mode(stat.st_mode);
    if mode.intersects(Mode::WGRP | Mode::WOTH) {
        return Err(format!(
            "it is writable by other users (mode {:04o}); the store's files are this \
             user's alone",
            mode.bits()
        ));
    }
    Ok(())
}

/// The DPoP key kept beside the store: the store's rules on owner, type and links, and
/// neither readable nor writable by anyone else. A key others could read may have been
/// copied, so it is refused rather than tightened.
pub(crate) fn kept_key_file(stat: &Stat) -> Result<(), Broken> {
    owned_regular_with_one_name(stat)?;
    let mode = Mode::from_raw_mode(stat.st_mode);
    if mode.intersects(Mode::RWXG | Mode::RWXO) {
        return Err(format!(
            "it is open to other users (mode {:04o}), so the private key may have been \
             copied; delete it (xaa makes a new key, and tokens bound to the old one are \
             obtained again)",
            mode.bits()
        ));
    }
    Ok(())
}

/// A regular file (no device, FIFO or directory), owned by this user, with no other name (a
/// hard link planted by another user to one of this user's files is not the store).
fn owned_regular_with_one_name(stat: &Stat) -> Result<(), Broken> {
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err("it is not a regular file".into());
    }
    let owner = stat.st_uid;
    if owner != me() {
        return Err(format!(
            "it is owned by uid {owner}, not by this user (uid {})",
            me()
        ));
    }
    if stat.st_nlink != 1 {
        return Err(format!(
            "it has {} names (hard links); the store's files have one",
            stat.st_nlink
        ));
    }
    Ok(())
}
