//! Reading a DPoP key file the user names (`--dpop-key`): held to the rules of every secret
//! file of the command and one more, since the key is what a bound token's security rests on.
//!
//! The file is opened without following a link (a link could be re-pointed at another key
//! between two runs), then judged on its opened descriptor: a regular file of this user's,
//! neither readable nor writable by anyone else, at most [`MAX_KEY_BYTES`]. The key is never
//! echoed: errors name the file and the rule, and the bytes read are wiped when dropped.

use std::fs::File;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use xaa::dpop::EsDpopKey;
use zeroize::Zeroizing;

use crate::exit::Failure;
use crate::local_file::{Capped, MAX_KEY_BYTES, read_capped};
use crate::terminal::shown;

/// How to make a key the command accepts, for the error that refuses another.
const MAKE_ONE: &str = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out KEY";

/// Reads and parses the ES256 key in `path` (PKCS#8 PEM, RFC 7468 section 10).
pub(crate) fn read(path: &Path) -> Result<EsDpopKey, Failure> {
    let name = shown(&path.to_string_lossy()).into_owned();
    let failure = |what: &str| Failure::Usage(format!("DPoP key {name}: {what}"));
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let descriptor = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(descriptor) => descriptor,
        Err(Errno::LOOP | Errno::MLINK) => {
            return Err(failure(
                "refusing it: it is a symbolic link; name the key file itself",
            ));
        }
        Err(e) => {
            return Err(failure(&format!(
                "cannot read it: {}",
                std::io::Error::from(e)
            )));
        }
    };
    let stat = rustix::fs::fstat(&descriptor)
        .map_err(|e| failure(&format!("cannot read it: {}", std::io::Error::from(e))))?;
    private_regular_file(&stat).map_err(|broken| failure(&format!("refusing it: {broken}")))?;
    let pem = Zeroizing::new(read_capped(File::from(descriptor), MAX_KEY_BYTES).map_err(
        |e| match e {
            Capped::TooLarge => failure(&format!(
                "refusing it: it is larger than {MAX_KEY_BYTES} bytes"
            )),
            Capped::Io(e) => failure(&format!("cannot read it: {e}")),
        },
    )?);
    EsDpopKey::from_pkcs8_pem(&pem).map_err(|e| {
        failure(&format!(
            "it is not a P-256 private key in PKCS#8 PEM ({e}); make one with: {MAKE_ONE}"
        ))
    })
}

/// A regular file owned by this user, with no permission for anyone else (as ssh demands of
/// a private key).
fn private_regular_file(stat: &Stat) -> Result<(), String> {
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err("it is not a regular file".into());
    }
    let me = rustix::process::geteuid().as_raw();
    if stat.st_uid != me {
        return Err(format!(
            "it is owned by uid {}, not by this user (uid {me})",
            stat.st_uid
        ));
    }
    let mode = Mode::from_raw_mode(stat.st_mode);
    if mode.intersects(Mode::RWXG | Mode::RWXO) {
        return Err(format!(
            "it is readable or writable by other users (mode {:04o}); run chmod 600 on it",
            mode.bits()
        ));
    }
    Ok(())
}
