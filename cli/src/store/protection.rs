//! Whether the token store file is sealed, and with which key (docs/signin.md, "Storage": the
//! profile asks clients to keep tokens in the platform's secure storage, MCP
//! Enterprise-Managed Authorization section 7.5.4).
//!
//! `--credential-store auto` (the default) seals the file with the data key kept in the OS
//! credential store when that store answers, and otherwise writes it unencrypted (0600) with
//! one notice that says so; `os` fails instead; `none` never asks the credential store. A
//! sealed file is always opened with the key it names, whatever the choice allows for new
//! files, or refused with the fix: it is never read as plaintext nor silently overwritten.
//! A plaintext file found while the credential store answers is sealed on its next write.

use std::cell::{Cell, OnceCell, RefCell};

use zeroize::Zeroizing;

use super::credential_store::{DataKey, KeyEntry, OsVault, Vault, VaultError};
use super::sealed::{self, SealError};
use crate::args::CredentialStoreChoice;
use crate::exit::Failure;
use crate::terminal::shown;

/// How the file was found when it was read: what its next write keeps.
pub(crate) enum Found {
    /// No file.
    Missing,
    /// The plaintext format.
    Plain,
    /// Sealed with `key`, kept under `entry`.
    Sealed { entry: KeyEntry, key: DataKey },
}

/// Why no key came from the credential store.
enum Trouble {
    /// It did not answer, or refused access (why).
    Unavailable(String),
    /// The entry holds something other than a data key.
    Foreign(KeyEntry),
}

/// The token store's use of the OS credential store.
pub(crate) struct Protection {
    choice: CredentialStoreChoice,
    vault: Box<dyn Vault>,
    /// This store's own key entry, for a new key.
    entry: KeyEntry,
    /// Why the credential store did not answer, once it did not: it is not asked again in
    /// this run (each try may wait the whole bound).
    unavailable: OnceCell<String>,
    /// The keys read in this run, so that each is asked for once.
    known: RefCell<Vec<(KeyEntry, DataKey)>>,
    /// Whether the notice of an unencrypted write was printed (once a run).
    noticed: Cell<bool>,
    /// The store's path, as printed.
    shown: String,
}

impl Protection {
    /// The protection of the store at `canonical_path`, shown as `shown`, in the OS
    /// credential store.
    pub(crate) fn new(choice: CredentialStoreChoice, canonical_path: &[u8], shown: &str) -> Self {
        Self::with_vault(choice, Box::new(OsVault), canonical_path, shown)
    }

    /// The same in `vault` (tests use an in-memory one).
    pub(crate) fn with_vault(
        choice: CredentialStoreChoice,
        vault: Box<dyn Vault>,
        canonical_path: &[u8],
        shown: &str,
    ) -> Self {
        Self {
            choice,
            vault,
            entry: KeyEntry::for_store(canonical_path),
            unavailable: OnceCell::new(),
            known: RefCell::new(Vec::new()),
            noticed: Cell::new(false),
            shown: shown.to_owned(),
        }
    }

    /// A missing file; under `os`, refused when no credential store answers (so that a run
    /// fails before its work, not when it writes).
    pub(crate) fn missing(&self) -> Result<Found, Failure> {
        if self.choice == CredentialStoreChoice::Os {
            self.get(&self.entry)
                .map_err(|trouble| self.failure(trouble))?;
        }
        Ok(Found::Missing)
    }

    /// The plaintext of the file `bytes`, and how it was found. A sealed file is opened with
    /// the key its envelope names; under `os`, a file that is not sealed is refused when no
    /// credential store answers.
    pub(crate) fn unseal(&self, bytes: Vec<u8>) -> Result<(Zeroizing<Vec<u8>>, Found), Failure> {
        if !sealed::is_sealed(&bytes) {
            if self.choice == CredentialStoreChoice::Os {
                self.get(&self.entry)
                    .map_err(|trouble| self.failure(trouble))?;
            }
            return Ok((Zeroizing::new(bytes), Found::Plain));
        }
        let entry = sealed::entry_of(&bytes).map_err(|e| self.unopenable(&e))?;
        if self.choice == CredentialStoreChoice::None {
            return Err(Failure::Usage(format!(
                "token store {} is sealed with a key in the OS credential store ({entry}), \
                 which --credential-store none forbids asking; use --credential-store auto \
                 or os",
                self.shown
            )));
        }
        let key = match self.get(&entry) {
            Ok(Some(key)) => key,
            Ok(None) => {
                return Err(self.lost(&format!(
                    "its data key is missing from the OS credential store ({entry})"
                )));
            }
            Err(Trouble::Foreign(entry)) => return Err(self.failure(Trouble::Foreign(entry))),
            Err(Trouble::Unavailable(why)) => {
                return Err(Failure::Usage(format!(
                    "token store {} is sealed with a key in the OS credential store ({entry}), \
                     which does not answer: {}; unlock or start the credential store (on \
                     Linux a Secret Service such as gnome-keyring) and retry",
                    self.shown,
                    shown(&why)
                )));
            }
        };
        let plaintext = sealed::open(&bytes, &key).map_err(|e| self.unopenable(&e))?;
        Ok((plaintext, Found::Sealed { entry, key }))
    }

    /// The file to write for `plaintext`, read as `found`: sealed again with the same key,
    /// or with this store's key (made now, the caller holding the exclusive lock, when there
    /// is none), or plaintext when the choice or the credential store leaves no key.
    pub(crate) fn seal(
        &self,
        found: &Found,
        plaintext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let sealing = |key: &DataKey, entry: &KeyEntry| {
            sealed::seal(plaintext, key, entry)
                .map(Zeroizing::new)
                .map_err(|e| {
                    Failure::Usage(format!("token store {}: cannot seal it: {e}", self.shown))
                })
        };
        if let Found::Sealed { entry, key } = found {
            return sealing(key, entry);
        }
        if self.choice == CredentialStoreChoice::None {
            return Ok(Zeroizing::new(plaintext.to_vec()));
        }
        match self.own_key() {
            Ok(key) => sealing(&key, &self.entry),
            Err(Trouble::Unavailable(why)) if self.choice == CredentialStoreChoice::Auto => {
                self.notice(&why);
                Ok(Zeroizing::new(plaintext.to_vec()))
            }
            Err(trouble) => Err(self.failure(trouble)),
        }
    }

    /// The protection, for `xaa status`.
    pub(crate) fn describe(&self, found: &Found) -> String {
        match found {
            Found::Sealed { entry, .. } => {
                format!("sealed with a key in the OS credential store ({entry})")
            }
            _ if self.choice == CredentialStoreChoice::None => {
                "unencrypted: --credential-store none (the file is readable by you alone)".into()
            }
            Found::Missing | Found::Plain => match self.get(&self.entry) {
                Err(Trouble::Unavailable(why)) => format!(
                    "unencrypted: no OS credential store ({}); the file is readable by you \
                     alone",
                    shown(&why)
                ),
                Err(Trouble::Foreign(entry)) => format!(
                    "unencrypted: the OS credential store's entry {entry} holds no data key \
                     of xaa"
                ),
                Ok(_) if matches!(found, Found::Missing) => {
                    "nothing stored yet; it will be sealed with a key in the OS credential store"
                        .into()
                }
                Ok(_) => "unencrypted for now: sealed with a key in the OS credential store on \
                          its next write"
                    .into(),
            },
        }
    }

    /// This store's key: the one kept, or a new one kept now and read back, so that two
    /// first runs (one after the other under the exclusive lock) agree on one key.
    fn own_key(&self) -> Result<DataKey, Trouble> {
        if let Some(key) = self.get(&self.entry)? {
            return Ok(key);
        }
        let key = DataKey::generate().map_err(Trouble::Unavailable)?;
        self.remember(self.vault.set(&self.entry, &key.encoded()))?;
        self.get(&self.entry)?
            .ok_or_else(|| Trouble::Unavailable("it kept no data key when asked to".into()))
    }

    /// The key under `entry`; an entry that holds no data key of xaa is an error, never
    /// replaced (it may be another program's).
    fn get(&self, entry: &KeyEntry) -> Result<Option<DataKey>, Trouble> {
        if let Some((_, key)) = self.known.borrow().iter().find(|(known, _)| known == entry) {
            return Ok(Some(key.clone()));
        }
        let Some(text) = self.remember(self.vault.get(entry))? else {
            return Ok(None);
        };
        let key = DataKey::decode(&text).ok_or_else(|| Trouble::Foreign(entry.clone()))?;
        self.known.borrow_mut().push((entry.clone(), key.clone()));
        Ok(Some(key))
    }

    /// `outcome`, remembering a credential store that did not answer.
    fn remember<T>(&self, outcome: Result<T, VaultError>) -> Result<T, Trouble> {
        if let Some(why) = self.unavailable.get() {
            return Err(Trouble::Unavailable(why.clone()));
        }
        outcome.map_err(|VaultError::Unavailable(why)| {
            Trouble::Unavailable(self.unavailable.get_or_init(|| why).clone())
        })
    }

    /// `trouble` as the run's failure.
    fn failure(&self, trouble: Trouble) -> Failure {
        match trouble {
            Trouble::Unavailable(why) => self.required(&why),
            Trouble::Foreign(entry) => Failure::Usage(format!(
                "token store {}: the OS credential store's entry {entry} does not hold a data \
                 key of xaa (32 bytes of base64); remove that entry, and delete the store if \
                 it is sealed",
                self.shown
            )),
        }
    }

    fn notice(&self, why: &str) {
        if self.noticed.replace(true) {
            return;
        }
        eprintln!(
            "xaa: notice: no OS credential store answered ({}), so the token store {} keeps \
             the session and tokens unencrypted, protected only by its file permissions \
             (0600); run a Secret Service (such as gnome-keyring) or the platform's \
             credential store to have it sealed, or pass --credential-store none to keep it \
             unencrypted without this notice",
            shown(why),
            self.shown
        );
    }

    /// Whether the notice was printed in this run.
    #[cfg(test)]
    fn noticed(&self) -> bool {
        self.noticed.get()
    }

    fn required(&self, why: &str) -> Failure {
        Failure::Usage(format!(
            "token store {}: --credential-store os, but no OS credential store answered: \
             {}; unlock or start one (on Linux a Secret Service such as gnome-keyring), or \
             use --credential-store auto",
            self.shown,
            shown(why)
        ))
    }

    /// A sealed file this run cannot open: a key that does not open it is a lost key, a
    /// malformed envelope is no store of this xaa.
    fn unopenable(&self, error: &SealError) -> Failure {
        match error {
            SealError::WrongKey => self.lost(&error.to_string()),
            SealError::Malformed(_) | SealError::Cipher => Failure::Usage(format!(
                "token store {} cannot be opened: {error}; delete it or name another file",
                self.shown
            )),
        }
    }

    /// A sealed file whose key is gone or wrong: what is in it is lost.
    fn lost(&self, why: &str) -> Failure {
        Failure::Usage(format!(
            "token store {} cannot be opened: {why}; its session and tokens cannot be read \
             without that key: run xaa logout (or delete the file), then sign in again with \
             xaa login",
            self.shown
        ))
    }

    /// Whether `bytes` are a sealed file whose key is lost: the credential store answers
    /// and holds no key under the entry the file names, or a key that does not open it.
    /// A credential store that does not answer, an entry that holds something else, an
    /// envelope this xaa cannot read, or `none`: nothing is known, so it is not lost.
    pub(crate) fn is_lost(&self, bytes: &[u8]) -> bool {
        if !sealed::is_sealed(bytes) || self.choice == CredentialStoreChoice::None {
            return false;
        }
        let Ok(entry) = sealed::entry_of(bytes) else {
            return false;
        };
        match self.get(&entry) {
            Ok(None) => true,
            Ok(Some(key)) => sealed::open(bytes, &key) == Err(SealError::WrongKey),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use super::*;

    /// An in-memory credential store; `answers: false` is one that does not answer.
    #[derive(Clone, Default)]
    struct MemoryVault {
        entries: Rc<RefCell<HashMap<String, String>>>,
        silent: bool,
    }

    impl Vault for MemoryVault {
        fn get(&self, entry: &KeyEntry) -> Result<Option<Zeroizing<String>>, VaultError> {
            if self.silent {
                return Err(VaultError::Unavailable("no bus".into()));
            }
            let entries = self.entries.borrow();
            Ok(entries.get(entry.account()).cloned().map(Zeroizing::new))
        }

        fn set(&self, entry: &KeyEntry, secret: &str) -> Result<(), VaultError> {
            if self.silent {
                return Err(VaultError::Unavailable("no bus".into()));
            }
            let mut entries = self.entries.borrow_mut();
            entries.insert(entry.account().to_owned(), secret.to_owned());
            Ok(())
        }
    }

    const PLAIN: &[u8] = br#"{"version": 1, "session": "refresh-secret"}"#;

    fn protection(choice: CredentialStoreChoice, vault: &MemoryVault) -> Protection {
        Protection::with_vault(
            choice,
            Box::new(vault.clone()),
            b"/s/store.json",
            "/s/store.json",
        )
    }

    #[test]
    fn a_plain_store_is_sealed_on_its_next_write_with_a_key_made_once() {
        let vault = MemoryVault::default();
        let first = protection(CredentialStoreChoice::Auto, &vault);
        let written = first.seal(&Found::Plain, PLAIN).expect("sealed");
        assert!(sealed::is_sealed(&written));
        assert_eq!(vault.entries.borrow().len(), 1, "one key made");
        let kept = vault.entries.borrow().values().next().cloned();

        let second = protection(CredentialStoreChoice::Auto, &vault);
        let (plaintext, found) = second.unseal(written.to_vec()).expect("opens");
        assert_eq!(plaintext.as_slice(), PLAIN);
        assert!(matches!(found, Found::Sealed { .. }));
        assert!(second.describe(&found).starts_with("sealed with a key"));
        second.seal(&Found::Missing, PLAIN).expect("sealed");
        assert_eq!(
            vault.entries.borrow().values().next().cloned(),
            kept,
            "the key is reused, not replaced"
        );
    }

    #[test]
    fn a_sealed_store_whose_key_is_missing_or_wrong_is_refused_with_the_fix() {
        let vault = MemoryVault::default();
        let sealer = protection(CredentialStoreChoice::Auto, &vault);
        let written = sealer.seal(&Found::Missing, PLAIN).expect("sealed");

        let other = DataKey::generate().expect("key");
        for value in vault.entries.borrow_mut().values_mut() {
            *value = other.encoded().to_string();
        }
        let wrong = protection(CredentialStoreChoice::Auto, &vault)
            .unseal(written.to_vec())
            .err()
            .map(|f| f.to_string())
            .unwrap_or_default();
        assert!(wrong.contains("does not open it"), "{wrong}");
        assert!(
            wrong.contains("run xaa logout (or delete the file)"),
            "{wrong}"
        );

        assert!(protection(CredentialStoreChoice::Auto, &vault).is_lost(&written));
        assert!(!protection(CredentialStoreChoice::None, &vault).is_lost(&written));
        assert!(!protection(CredentialStoreChoice::Auto, &vault).is_lost(PLAIN));

        vault.entries.borrow_mut().clear();
        assert!(protection(CredentialStoreChoice::Auto, &vault).is_lost(&written));
        let silent = MemoryVault {
            silent: true,
            ..MemoryVault::default()
        };
        assert!(
            !protection(CredentialStoreChoice::Auto, &silent).is_lost(&written),
            "a credential store that does not answer says nothing of the key"
        );
        let missing = protection(CredentialStoreChoice::Os, &vault)
            .unseal(written.to_vec())
            .err()
            .map(|f| f.to_string())
            .unwrap_or_default();
        assert!(missing.contains("its data key is missing"), "{missing}");

        let forbidden = protection(CredentialStoreChoice::None, &vault).unseal(written.to_vec());
        assert!(
            forbidden
                .err()
                .is_some_and(|f| f.to_string().contains("--credential-store none forbids"))
        );
    }

    #[test]
    fn without_a_credential_store_auto_writes_plaintext_with_one_notice_and_os_fails() {
        let vault = MemoryVault {
            silent: true,
            ..MemoryVault::default()
        };
        let auto = protection(CredentialStoreChoice::Auto, &vault);
        assert_eq!(
            auto.seal(&Found::Missing, PLAIN).expect("plain").as_slice(),
            PLAIN
        );
        assert!(auto.noticed());
        assert_eq!(
            auto.seal(&Found::Plain, PLAIN).expect("plain").as_slice(),
            PLAIN
        );
        assert_eq!(
            auto.describe(&Found::Plain),
            "unencrypted: no OS credential store (no bus); the file is readable by you alone"
        );

        let os = protection(CredentialStoreChoice::Os, &vault);
        let failure = os.seal(&Found::Missing, PLAIN).expect_err("required");
        assert_eq!(failure.code(), 2);
        assert!(failure.to_string().contains("--credential-store os"));
        assert!(os.unseal(PLAIN.to_vec()).is_err());

        let none = protection(CredentialStoreChoice::None, &MemoryVault::default());
        assert_eq!(
            none.seal(&Found::Plain, PLAIN).expect("plain").as_slice(),
            PLAIN
        );
        assert!(!none.noticed());
    }

    #[test]
    fn an_entry_that_holds_no_data_key_is_refused_not_replaced() {
        let vault = MemoryVault::default();
        let auto = protection(CredentialStoreChoice::Auto, &vault);
        vault
            .entries
            .borrow_mut()
            .insert(auto.entry.account().to_owned(), "hunter2".into());
        let failure = auto.seal(&Found::Plain, PLAIN).expect_err("refused");
        assert!(failure.to_string().contains("does not hold a data key"));
        assert_eq!(
            vault
                .entries
                .borrow()
                .get(auto.entry.account())
                .map(String::as_str),
            Some("hunter2")
        );
    }
}
