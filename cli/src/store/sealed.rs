//! The sealed token store file: the plaintext format of [`super::format`] encrypted with
//! AES-256-GCM (NIST SP 800-38D) under the data key kept in the OS credential store
//! ([`super::credential_store`]), in a small JSON envelope that says it is sealed and by
//! which credential-store entry:
//!
//! ```json
//! {"sealed": {"format": 1, "cipher": "A256GCM", "key": {"service": "xaa", "account": "..."}},
//!  "nonce": "<base64, 12 bytes>", "ciphertext": "<base64, ciphertext and 16-byte tag>"}
//! ```
//!
//! Each write draws a fresh random 96-bit nonce. The associated data binds the envelope's
//! format version, what the file is, and the key entry, so a ciphertext cannot be moved into
//! another kind of file or presented as sealed by another entry.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::credential_store::{DataKey, KeyEntry, SERVICE};

/// The envelope format this command reads and writes.
pub(crate) const SEALED_FORMAT: u64 = 1;

/// The cipher's name in the envelope (the JOSE name of AES-256-GCM, RFC 7518 section 5.3).
const CIPHER: &str = "A256GCM";

/// The envelope as read and written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    sealed: Header,
    nonce: String,
    ciphertext: String,
}

/// What the envelope says of itself.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: u64,
    cipher: String,
    key: EntryName,
}

/// The credential-store entry of the key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryName {
    service: String,
    account: String,
}

/// Only whether the file has a `sealed` member, read first.
#[derive(Deserialize)]
struct SealedProbe {
    sealed: Option<serde::de::IgnoredAny>,
}

/// Why an envelope could not be opened. Never quotes the file's contents.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SealError {
    /// The envelope is not of the shape above, or of another format or cipher.
    Malformed(String),
    /// The key does not open it: another key, or a file changed since it was sealed.
    WrongKey,
    /// No random nonce could be drawn, or the cipher failed.
    Cipher,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "its sealed envelope is malformed: {why}"),
            Self::WrongKey => f.write_str(
                "the data key in the OS credential store does not open it (the key was \
                 replaced, or the file was changed since it was sealed)",
            ),
            Self::Cipher => f.write_str("the cipher failed"),
        }
    }
}

/// Whether `bytes` are a sealed envelope (a JSON object with a `sealed` member); anything
/// else is read as the plaintext format.
pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
    serde_json::from_slice::<SealedProbe>(bytes).is_ok_and(|probe| probe.sealed.is_some())
}

/// The key entry a sealed envelope names.
pub(crate) fn entry_of(bytes: &[u8]) -> Result<KeyEntry, SealError> {
    let envelope = parse(bytes)?;
    named_entry(&envelope.sealed.key)
}

/// `plaintext` sealed with `key`, kept under `entry`, as the whole file.
pub(crate) fn seal(
    plaintext: &[u8],
    key: &DataKey,
    entry: &KeyEntry,
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Cipher)?;
    let mut in_out = plaintext.to_vec();
    cipher(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated_data(entry)),
            &mut in_out,
        )
        .map_err(|_| SealError::Cipher)?;
    let envelope = Envelope {
        sealed: Header {
            format: SEALED_FORMAT,
            cipher: CIPHER.to_owned(),
            key: EntryName {
                service: SERVICE.to_owned(),
                account: entry.account().to_owned(),
            },
        },
        nonce: STANDARD.encode(nonce),
        ciphertext: STANDARD.encode(&in_out),
    };
    let mut bytes =
        serde_json::to_vec_pretty(&envelope).map_err(|e| SealError::Malformed(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The plaintext of the envelope `bytes`, opened with `key`.
pub(crate) fn open(bytes: &[u8], key: &DataKey) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let envelope = parse(bytes)?;
    let entry = named_entry(&envelope.sealed.key)?;
    let nonce: [u8; NONCE_LEN] = STANDARD
        .decode(&envelope.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| {
            SealError::Malformed(format!("the nonce is not {NONCE_LEN} bytes of base64"))
        })?;
    let mut in_out = Zeroizing::new(
        STANDARD
            .decode(&envelope.ciphertext)
            .map_err(|_| SealError::Malformed("the ciphertext is not base64".into()))?,
    );
    let length = cipher(key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(associated_data(&entry)),
            &mut in_out,
        )
        .map_err(|_| SealError::WrongKey)?
        .len();
    in_out.truncate(length);
    Ok(in_out)
}

fn parse(bytes: &[u8]) -> Result<Envelope, SealError> {
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| SealError::Malformed(format!("line {}, column {}", e.line(), e.column())))?;
    if envelope.sealed.format != SEALED_FORMAT {
        return Err(SealError::Malformed(format!(
            "it has sealed format {}; this xaa reads format {SEALED_FORMAT}",
            envelope.sealed.format
        )));
    }
    if envelope.sealed.cipher != CIPHER {
        return Err(SealError::Malformed(format!(
            "its cipher is not {CIPHER}, the one this xaa uses"
        )));
    }
    Ok(envelope)
}

fn named_entry(name: &EntryName) -> Result<KeyEntry, SealError> {
    let entry = (name.service == SERVICE)
        .then(|| KeyEntry::parse(&name.account))
        .flatten();
    entry.ok_or_else(|| {
        SealError::Malformed(
            "its key entry is not one xaa makes (service xaa, account token-store-key:...)".into(),
        )
    })
}

/// The associated data: the envelope format, what the file is, and the key entry.
fn associated_data(entry: &KeyEntry) -> Vec<u8> {
    format!(
        "xaa token store, sealed format {SEALED_FORMAT}, cipher {CIPHER}, key {SERVICE}/{}",
        entry.account()
    )
    .into_bytes()
}

fn cipher(key: &DataKey) -> Result<LessSafeKey, SealError> {
    let unbound =
        UnboundKey::new(&AES_256_GCM, key.expose_secret()).map_err(|_| SealError::Cipher)?;
    Ok(LessSafeKey::new(unbound))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> KeyEntry {
        KeyEntry::for_store(path.as_bytes())
    }

    #[test]
    fn a_sealed_file_opens_with_its_key_and_hides_the_plaintext() {
        let key = DataKey::generate().expect("key");
        let plaintext = br#"{"version": 1, "session": {"refresh_token": "refresh-secret"}}"#;
        let sealed = seal(plaintext, &key, &entry("/s.json")).expect("sealed");
        assert!(is_sealed(&sealed));
        assert!(!is_sealed(plaintext));
        assert!(!sealed.windows(14).any(|w| w == b"refresh-secret"));
        assert_eq!(entry_of(&sealed), Ok(entry("/s.json")));
        assert_eq!(open(&sealed, &key).expect("opens").as_slice(), plaintext);
        let again = seal(plaintext, &key, &entry("/s.json")).expect("sealed");
        assert_ne!(sealed, again, "a fresh nonce for each write");
    }

    #[test]
    fn another_key_or_a_changed_file_is_refused() {
        let key = DataKey::generate().expect("key");
        let sealed = seal(b"{}", &key, &entry("/s.json")).expect("sealed");
        let other = DataKey::generate().expect("key");
        assert_eq!(open(&sealed, &other).err(), Some(SealError::WrongKey));

        let mut envelope: serde_json::Value = serde_json::from_slice(&sealed).expect("json");
        envelope["sealed"]["key"]["account"] = entry("/elsewhere.json").account().into();
        let moved = serde_json::to_vec(&envelope).expect("json");
        assert_eq!(
            open(&moved, &key).err(),
            Some(SealError::WrongKey),
            "the entry is bound by the associated data"
        );

        envelope["sealed"]["key"]["account"] = "gmail".into();
        let foreign = serde_json::to_vec(&envelope).expect("json");
        assert!(matches!(open(&foreign, &key), Err(SealError::Malformed(_))));
        envelope["sealed"]["format"] = 2.into();
        let newer = serde_json::to_vec(&envelope).expect("json");
        assert_eq!(
            open(&newer, &key).err(),
            Some(SealError::Malformed(
                "it has sealed format 2; this xaa reads format 1".into()
            ))
        );
    }
}
