//! Sealed values: AES-256-GCM under keys the application supplies, bound to the key name.
//!
//! A sealed value is `version (1 byte) | key id (2 bytes, big-endian) | nonce (12 bytes) |
//! ciphertext | tag (16 bytes)`. The associated data is the first three bytes followed by the
//! digest of the cache key, so a value copied under another key name, or with its header
//! edited, does not open. The nonce is random (96 bits, drawn by aws-lc for every value).

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use zeroize::Zeroizing;

use crate::digest::Digest;
use crate::error::{ConfigError, StoreError};

/// The format version this crate writes and reads.
const VERSION: u8 = 1;
/// The version byte and the key id.
const HEADER_LEN: usize = 3;
/// The length of an AES-GCM tag.
const TAG_LEN: usize = 16;
/// The length of an AES-256 key.
const KEY_LEN: usize = 32;

/// One AES-256-GCM key and its id, the short number written in every value it seals.
///
/// The key material lives only inside aws-lc, which wipes it when the key is dropped;
/// `Debug` shows the id alone.
pub struct SealingKey {
    id: u16,
    key: RandomizedNonceKey,
}

impl SealingKey {
    /// The key `material` (32 bytes) under `id`. The caller keeps its own copy of the
    /// material, and should zeroize it.
    pub fn new(id: u16, material: &[u8]) -> Result<Self, ConfigError> {
        if material.len() != KEY_LEN {
            return Err(ConfigError::KeyLength(material.len()));
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, material)
            .map_err(|_| ConfigError::KeyLength(material.len()))?;
        Ok(Self { id, key })
    }

    /// A new random key under `id`, for tests and for an application that keeps its keys in
    /// Redis' own lifetime (tokens sealed with it are lost when the process ends).
    pub fn generate(id: u16) -> Result<Self, ConfigError> {
        let mut material = Zeroizing::new([0u8; KEY_LEN]);
        aws_lc_rs::rand::fill(material.as_mut()).map_err(|_| ConfigError::Randomness)?;
        Self::new(id, material.as_ref())
    }

    /// The id written in every value this key seals.
    pub fn id(&self) -> u16 {
        self.id
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .field("material", &"[redacted]")
            .finish()
    }
}

/// The keys of a store, for rotation: the newest seals every new value, and every key opens
/// the values it sealed.
///
/// To rotate, deploy the new key as the newest with the old one kept as a previous key; once
/// every value sealed with the old key has expired (the longest token lifetime), drop it.
#[derive(Debug)]
pub struct SealingKeys {
    newest: SealingKey,
    previous: Vec<SealingKey>,
}

impl SealingKeys {
    /// A ring holding only `newest`.
    pub fn new(newest: SealingKey) -> Self {
        Self {
            newest,
            previous: Vec::new(),
        }
    }

    /// Adds a previous key: it opens the values it sealed and seals nothing new. Refused when
    /// its id is already in the ring.
    pub fn with_previous(mut self, key: SealingKey) -> Result<Self, ConfigError> {
        if self.all().any(|held| held.id == key.id) {
            return Err(ConfigError::DuplicateKeyId(key.id));
        }
        self.previous.push(key);
        Ok(self)
    }

    /// The id of the key that seals new values.
    pub fn newest_id(&self) -> u16 {
        self.newest.id
    }

    /// Seals `plaintext` with the newest key, bound to `digest`.
    pub(crate) fn seal(&self, digest: &Digest, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let key = &self.newest;
        let header = header(key.id);
        let start = HEADER_LEN + NONCE_LEN;
        let mut value = Vec::with_capacity(start + plaintext.len() + TAG_LEN);
        value.extend_from_slice(&header);
        value.extend_from_slice(&[0; NONCE_LEN]);
        value.extend_from_slice(plaintext);
        let sealed = value.split_at_mut_checked(start).and_then(|(head, body)| {
            let (nonce, tag) = key
                .key
                .seal_in_place_separate_tag(associated_data(&header, digest), body)
                .ok()?;
            head.get_mut(HEADER_LEN..)?.copy_from_slice(nonce.as_ref());
            Some(tag)
        });
        let Some(tag) = sealed else {
            // Whatever is left of the plaintext is wiped, not merely dropped.
            zeroize::Zeroize::zeroize(&mut value);
            return Err(StoreError::Sealing);
        };
        value.extend_from_slice(tag.as_ref());
        Ok(value)
    }

    /// Opens a value sealed by one of the keys for `digest`; `None` when it is not such a
    /// value: too short, another version, an unknown key id, bound to another key name,
    /// altered, or sealed with other key material under the same id.
    pub(crate) fn open(&self, digest: &Digest, value: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (header, rest) = value.split_first_chunk::<HEADER_LEN>()?;
        let (nonce, body) = rest.split_first_chunk::<NONCE_LEN>()?;
        let [version, id_high, id_low] = *header;
        if version != VERSION || body.len() < TAG_LEN {
            return None;
        }
        let id = u16::from_be_bytes([id_high, id_low]);
        let key = self.all().find(|key| key.id == id)?;
        let nonce = Nonce::assume_unique_for_key(*nonce);
        let mut buffer = Zeroizing::new(body.to_vec());
        let opened = key
            .key
            .open_in_place(
                nonce,
                associated_data(header, digest),
                buffer.as_mut_slice(),
            )
            .ok()?
            .len();
        buffer.truncate(opened);
        Some(buffer)
    }

    /// Every key, the newest first.
    fn all(&self) -> impl Iterator<Item = &SealingKey> {
        std::iter::once(&self.newest).chain(&self.previous)
    }
}

fn header(id: u16) -> [u8; HEADER_LEN] {
    let [high, low] = id.to_be_bytes();
    [VERSION, high, low]
}

/// The header followed by the cache key's digest.
fn associated_data(header: &[u8; HEADER_LEN], digest: &Digest) -> Aad<Vec<u8>> {
    let mut data = header.to_vec();
    data.extend_from_slice(digest.as_bytes());
    Aad::from(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(id: u16, byte: u8) -> SealingKeys {
        SealingKeys::new(SealingKey::new(id, &[byte; 32]).expect("32 bytes"))
    }

    fn digest(name: &str) -> Digest {
        Digest::of_parts("test", &[name.as_bytes()])
    }

    #[test]
    fn a_value_opens_under_its_own_key_name_only() {
        let ring = keys(1, 7);
        let sealed = ring.seal(&digest("a"), b"secret").expect("sealed");
        assert_eq!(sealed.len(), HEADER_LEN + NONCE_LEN + 6 + TAG_LEN);
        assert_eq!(&sealed[..HEADER_LEN], &[1, 0, 1]);
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            ring.open(&digest("a"), &sealed)
                .as_deref()
                .map(Vec::as_slice),
            Some(&b"secret"[..])
        );
        assert_eq!(ring.open(&digest("b"), &sealed), None);
    }

    #[test]
    fn every_value_has_its_own_nonce() {
        let ring = keys(1, 7);
        let first = ring.seal(&digest("a"), b"same").expect("sealed");
        let second = ring.seal(&digest("a"), b"same").expect("sealed");
        assert_ne!(
            first[HEADER_LEN..HEADER_LEN + NONCE_LEN],
            second[HEADER_LEN..HEADER_LEN + NONCE_LEN]
        );
    }

    #[test]
    fn edited_truncated_or_foreign_values_do_not_open() {
        let ring = keys(1, 7);
        let sealed = ring.seal(&digest("a"), b"secret").expect("sealed");
        for cut in 0..sealed.len() {
            assert_eq!(
                ring.open(&digest("a"), &sealed[..cut]),
                None,
                "cut at {cut}"
            );
        }
        for at in 0..sealed.len() {
            let mut edited = sealed.clone();
            edited[at] ^= 0x01;
            assert_eq!(
                ring.open(&digest("a"), &edited),
                None,
                "bit flipped at {at}"
            );
        }
        assert_eq!(
            keys(1, 8).open(&digest("a"), &sealed),
            None,
            "other material, same id"
        );
        assert_eq!(keys(2, 7).open(&digest("a"), &sealed), None, "unknown id");
    }

    #[test]
    fn rotation_seals_with_the_newest_and_opens_with_all() {
        let old = keys(1, 7);
        let sealed_old = old.seal(&digest("a"), b"old").expect("sealed");
        let ring = keys(2, 9)
            .with_previous(SealingKey::new(1, &[7; 32]).expect("32 bytes"))
            .expect("distinct ids");
        assert_eq!(ring.newest_id(), 2);
        assert!(ring.open(&digest("a"), &sealed_old).is_some());
        let sealed_new = ring.seal(&digest("a"), b"new").expect("sealed");
        assert_eq!(&sealed_new[..HEADER_LEN], &[1, 0, 2]);
        assert_eq!(old.open(&digest("a"), &sealed_new), None);
    }

    #[test]
    fn configuration_mistakes_are_refused() {
        assert_eq!(
            SealingKey::new(1, &[0; 16]).map(|_| ()),
            Err(ConfigError::KeyLength(16))
        );
        let duplicate = keys(1, 7).with_previous(SealingKey::new(1, &[8; 32]).expect("32 bytes"));
        assert_eq!(duplicate.map(|_| ()), Err(ConfigError::DuplicateKeyId(1)));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = SealingKey::new(3, &[0xAB; 32]).expect("32 bytes");
        let shown = format!("{:?}", SealingKeys::new(key));
        assert!(
            shown.contains("id: 3") && shown.contains("[redacted]"),
            "{shown}"
        );
        assert!(
            !shown.to_lowercase().contains("ab, ") && !shown.contains("171"),
            "{shown}"
        );
    }
}
