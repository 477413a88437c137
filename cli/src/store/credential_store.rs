//! The OS credential store that keeps the token store's data key (docs/signin.md, "Storage"):
//! the Secret Service on Linux and the BSDs, the Keychain on macOS, the Credential Manager on
//! Windows, through the `keyring` crate.
//!
//! A credential store has no lock and small size limits, so it holds only a key: 32 random
//! bytes, base64, under the service [`SERVICE`] and an account named after the store file
//! ([`KeyEntry::for_store`]). The session and the tokens stay in the store file, sealed with
//! that key ([`super::sealed`]).
//!
//! Every call is bounded by [`CREDENTIAL_STORE_WAIT`]: a session bus without a Secret Service
//! would otherwise hold a run for D-Bus activation's 25 seconds. A call still running then is
//! left to its thread, and the store counts as not answering.

use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

/// The service name of every data key xaa keeps.
pub(crate) const SERVICE: &str = "xaa";

/// The prefix of a data key's account name; the rest is a digest of the store's path.
const ACCOUNT_PREFIX: &str = "token-store-key:";

/// How many hex digits of the path's SHA-256 the account name carries (128 bits).
const ACCOUNT_DIGEST_HEX: usize = 32;

/// The longest one call to the OS credential store may take.
pub(crate) const CREDENTIAL_STORE_WAIT: Duration = Duration::from_secs(3);

/// The bytes of a data key (AES-256).
pub(crate) const DATA_KEY_BYTES: usize = 32;

/// The name of one data key in the credential store: service [`SERVICE`], this account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyEntry {
    account: String,
}

impl KeyEntry {
    /// The entry of the store at `canonical_path` (the path with every link resolved): one
    /// key per store file, so two stores have two keys, and the key is made under the lock of
    /// the one store it serves.
    pub(crate) fn for_store(canonical_path: &[u8]) -> Self {
        let hash = digest(&SHA256, canonical_path);
        let hex: String = hash
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .take(ACCOUNT_DIGEST_HEX / 2)
            .collect();
        Self {
            account: format!("{ACCOUNT_PREFIX}{hex}"),
        }
    }

    /// The entry a sealed file names, if the name is one xaa makes (so a file cannot point
    /// at another program's secret).
    pub(crate) fn parse(account: &str) -> Option<Self> {
        let digest = account.strip_prefix(ACCOUNT_PREFIX)?;
        let well_formed = digest.len() == ACCOUNT_DIGEST_HEX
            && digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Self {
            account: account.to_owned(),
        })
    }

    /// The account name.
    pub(crate) fn account(&self) -> &str {
        &self.account
    }
}

impl fmt::Display for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service {SERVICE}, account {}", self.account)
    }
}

/// A data key: 32 bytes, wiped when dropped, never shown.
#[derive(Clone)]
pub(crate) struct DataKey(Zeroizing<[u8; DATA_KEY_BYTES]>);

impl DataKey {
    /// A new key from the system's random source.
    pub(crate) fn generate() -> Result<Self, String> {
        let mut bytes = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| "the system's random source failed".to_owned())?;
        Ok(Self(bytes))
    }

    /// The key as kept in the credential store: base64.
    pub(crate) fn encoded(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }

    /// A key as kept in the credential store; `None` when it is not 32 bytes of base64.
    pub(crate) fn decode(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(STANDARD.decode(text.trim()).ok()?);
        let array: [u8; DATA_KEY_BYTES] = bytes.as_slice().try_into().ok()?;
        Some(Self(Zeroizing::new(array)))
    }

    /// The key's bytes, for the cipher.
    pub(crate) fn expose_secret(&self) -> &[u8; DATA_KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(redacted)")
    }
}

/// Why the credential store did not serve.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VaultError {
    /// Nothing answered, or it refused access: there is no usable credential store. The
    /// text says why (escaped before it is printed).
    Unavailable(String),
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(why) => f.write_str(why),
        }
    }
}

/// The few operations the token store asks of a credential store (a trait, so the sealing
/// logic is tested with an in-memory one).
pub(crate) trait Vault {
    /// The secret kept under `entry`, `None` when there is none.
    fn get(&self, entry: &KeyEntry) -> Result<Option<Zeroizing<String>>, VaultError>;
    /// Keeps `secret` under `entry`, replacing what was there.
    fn set(&self, entry: &KeyEntry, secret: &str) -> Result<(), VaultError>;
}

/// The OS credential store, each call bounded by [`CREDENTIAL_STORE_WAIT`].
pub(crate) struct OsVault;

impl Vault for OsVault {
    fn get(&self, entry: &KeyEntry) -> Result<Option<Zeroizing<String>>, VaultError> {
        let account = entry.account.clone();
        bounded(move || os::get(&account))
    }

    fn set(&self, entry: &KeyEntry, secret: &str) -> Result<(), VaultError> {
        let account = entry.account.clone();
        let secret = Zeroizing::new(secret.to_owned());
        bounded(move || os::set(&account, &secret))
    }
}

/// Runs `call` on a thread of its own and waits for it at most [`CREDENTIAL_STORE_WAIT`].
fn bounded<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    let (sender, receiver) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("xaa-credential-store".into())
        .spawn(move || {
            let _ = sender.send(call());
        });
    if let Err(e) = spawned {
        return Err(VaultError::Unavailable(format!(
            "cannot start a thread to ask it: {e}"
        )));
    }
    match receiver.recv_timeout(CREDENTIAL_STORE_WAIT) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(VaultError::Unavailable(format!(
            "it did not answer within {} s",
            CREDENTIAL_STORE_WAIT.as_secs()
        ))),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(VaultError::Unavailable(
            "the call to it ended without an answer".into(),
        )),
    }
}

#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
))]
mod os {
    //! The platform's store through `keyring` (its default backend for the features chosen
    //! in Cargo.toml).

    use keyring::{Entry, Error};
    use zeroize::Zeroizing;

    use super::{SERVICE, VaultError};

    pub(super) fn get(account: &str) -> Result<Option<Zeroizing<String>>, VaultError> {
        match Entry::new(SERVICE, account).and_then(|entry| entry.get_password()) {
            Ok(secret) => Ok(Some(Zeroizing::new(secret))),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    pub(super) fn set(account: &str, secret: &str) -> Result<(), VaultError> {
        Entry::new(SERVICE, account)
            .and_then(|entry| entry.set_password(secret))
            .map_err(|e| unavailable(&e))
    }

    /// The error as a reason; keyring's texts name the platform's failure, never a secret.
    fn unavailable(error: &Error) -> VaultError {
        VaultError::Unavailable(error.to_string())
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
)))]
mod os {
    //! No credential store xaa knows on this platform.

    use zeroize::Zeroizing;

    use super::VaultError;

    pub(super) fn get(_account: &str) -> Result<Option<Zeroizing<String>>, VaultError> {
        Err(none())
    }

    pub(super) fn set(_account: &str, _secret: &str) -> Result<(), VaultError> {
        Err(none())
    }

    fn none() -> VaultError {
        VaultError::Unavailable("xaa knows no credential store on this platform".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_named_after_the_store_path_and_only_such_names_are_accepted() {
        let one = KeyEntry::for_store(b"/home/a/.local/state/xaa/store.json");
        let other = KeyEntry::for_store(b"/home/a/other.json");
        assert_ne!(one, other);
        assert!(one.account().starts_with("token-store-key:"));
        assert_eq!(one.account().len(), "token-store-key:".len() + 32);
        assert_eq!(KeyEntry::parse(one.account()), Some(one.clone()));
        assert_eq!(
            one.to_string(),
            format!("service xaa, account {}", one.account())
        );
        for foreign in [
            "",
            "token-store-key:",
            "token-store-key:0123",
            "token-store-key:0123456789ABCDEF0123456789abcdef",
            "gmail-password",
            "token-store-key:0123456789abcdef0123456789abcdef0",
        ] {
            assert_eq!(KeyEntry::parse(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn a_data_key_round_trips_through_base64_and_is_never_shown() {
        let key = DataKey::generate().expect("random");
        let encoded = key.encoded();
        let back = DataKey::decode(&encoded).expect("decodes");
        assert_eq!(back.expose_secret(), key.expose_secret());
        assert_eq!(format!("{key:?}"), "DataKey(redacted)");
        assert!(DataKey::decode("c2hvcnQ=").is_none(), "too short");
        assert!(DataKey::decode("not base64!").is_none());
    }

    #[test]
    fn a_call_that_does_not_answer_is_cut_off() {
        let started = std::time::Instant::now();
        let outcome: Result<(), VaultError> = bounded(|| {
            std::thread::sleep(CREDENTIAL_STORE_WAIT * 3);
            Ok(())
        });
        assert_eq!(
            outcome,
            Err(VaultError::Unavailable(
                "it did not answer within 3 s".into()
            ))
        );
        assert!(started.elapsed() < CREDENTIAL_STORE_WAIT * 2);
    }
}
