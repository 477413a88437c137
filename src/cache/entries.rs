//! Tokens by key in an expiry order: the one structure behind [`TokenCache`](super::TokenCache)
//! and [`MemoryTokenStore`](super::MemoryTokenStore) (decisions.md D26).
//!
//! A hash map holds the tokens; a B-tree orders every key by when its entry is dead (the token
//! and its ID-JAG both expired, [`CachedToken::dead_at`]), ties by insertion. The front of the
//! order is both what a sweep looks at and what a full map evicts: no operation walks the map.
//! The key is stored once and shared by the map and the order.

use std::collections::{BTreeMap, HashMap};
use std::mem;
use std::sync::Arc;
use std::time::SystemTime;

use super::{CacheKey, CachedToken};

/// How many entries one sweep examines at most: more than one operation adds, so dead entries
/// cannot pile up faster than operations remove them, and few enough that no operation pays for
/// a backlog (decisions.md D26).
pub(crate) const SWEEP_BUDGET: usize = 4;

/// Where an entry stands in the expiry order: when it is dead, then its insertion number.
type Position = (SystemTime, u64);

#[derive(Clone, Debug)]
struct Entry {
    token: CachedToken,
    position: Position,
}

/// Tokens by [`CacheKey`], with the order of their deaths.
#[derive(Clone, Debug, Default)]
pub(crate) struct Entries {
    map: HashMap<Arc<CacheKey>, Entry>,
    by_death: BTreeMap<Position, Arc<CacheKey>>,
    inserted: u64,
}

/// What [`Entries::insert`] did.
#[derive(Debug)]
pub(crate) struct Inserted {
    /// The key as stored (shared with the map).
    pub(crate) key: Arc<CacheKey>,
    /// The token the new one replaced, under the same key.
    pub(crate) replaced: Option<CachedToken>,
    /// The entry evicted to make room for a new key.
    pub(crate) evicted: Option<Arc<CacheKey>>,
}

impl Entries {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn get(&self, key: &CacheKey) -> Option<&CachedToken> {
        self.map.get(key).map(|entry| &entry.token)
    }

    /// Every entry, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&CacheKey, &CachedToken)> {
        self.map.iter().map(|(key, entry)| (&**key, &entry.token))
    }

    /// Stores `token` under `key`. A new key when `bound` entries are held first evicts the
    /// entry that is dead soonest (the new token is never the one evicted).
    pub(crate) fn insert(&mut self, key: CacheKey, token: CachedToken, bound: usize) -> Inserted {
        let position = (token.dead_at(), self.next_number());
        if let Some((stored, entry)) = self.map.get_key_value(&key) {
            let stored = Arc::clone(stored);
            self.by_death.remove(&entry.position);
            self.by_death.insert(position, Arc::clone(&stored));
            let replaced = self.map.get_mut(&key).map(|entry| {
                entry.position = position;
                mem::replace(&mut entry.token, token)
            });
            return Inserted {
                key: stored,
                replaced,
                evicted: None,
            };
        }
        let evicted = if self.map.len() >= bound.max(1) {
            self.evict_one()
        } else {
            None
        };
        let key = Arc::new(key);
        self.by_death.insert(position, Arc::clone(&key));
        self.map.insert(Arc::clone(&key), Entry { token, position });
        Inserted {
            key,
            replaced: None,
            evicted,
        }
    }

    pub(crate) fn remove(&mut self, key: &CacheKey) -> Option<CachedToken> {
        let entry = self.map.remove(key)?;
        self.by_death.remove(&entry.position);
        Some(entry.token)
    }

    /// Removes the entry under `key` when it is dead at `now`; returns the key if it did.
    pub(crate) fn remove_if_dead(
        &mut self,
        key: &CacheKey,
        now: SystemTime,
    ) -> Option<Arc<CacheKey>> {
        let (stored, entry) = self.map.get_key_value(key)?;
        if entry.position.0 > now {
            return None;
        }
        let stored = Arc::clone(stored);
        self.remove(key);
        Some(stored)
    }

    /// Removes the entry that is dead soonest, if it is dead at `now`: one step of a sweep.
    pub(crate) fn pop_dead(&mut self, now: SystemTime) -> Option<Arc<CacheKey>> {
        let first = self.by_death.first_entry()?;
        if first.key().0 > now {
            return None;
        }
        let key = first.remove();
        self.map.remove(&key);
        Some(key)
    }

    /// Removes the entry that is dead soonest, dead or not.
    pub(crate) fn evict_one(&mut self) -> Option<Arc<CacheKey>> {
        let (_, key) = self.by_death.pop_first()?;
        self.map.remove(&key);
        Some(key)
    }

    /// Keeps only the entries `keep` accepts; returns how many went. Walks every entry: for an
    /// explicit clean-up, never for an operation's own sweep.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&CachedToken) -> bool) -> usize {
        let before = self.map.len();
        let by_death = &mut self.by_death;
        self.map.retain(|_, entry| {
            let kept = keep(&entry.token);
            if !kept {
                by_death.remove(&entry.position);
            }
            kept
        });
        before - self.map.len()
    }

    fn next_number(&mut self) -> u64 {
        self.inserted = self.inserted.wrapping_add(1);
        self.inserted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Principal;
    use crate::{AccessToken, IdJag, Scope};

    fn key(name: &str) -> CacheKey {
        CacheKey::new(
            "https://as",
            "https://mcp",
            "c",
            &Scope::default(),
            Principal::key(name),
        )
    }

    fn at(secs: u64) -> SystemTime {
        crate::json::time_from_numeric_date(secs)
    }

    fn token(expires: u64) -> CachedToken {
        CachedToken::new(AccessToken::new("t"), at(expires))
    }

    fn consistent(entries: &Entries) {
        assert_eq!(entries.map.len(), entries.by_death.len());
        for (position, key) in &entries.by_death {
            assert_eq!(entries.map.get(&**key).map(|e| e.position), Some(*position));
        }
    }

    #[test]
    fn the_bound_evicts_the_soonest_dead_never_the_new_entry() {
        let mut entries = Entries::default();
        entries.insert(key("a"), token(30), 2);
        entries.insert(key("b"), token(10), 2);
        let inserted = entries.insert(key("c"), token(5), 2);
        assert_eq!(inserted.evicted.as_deref(), Some(&key("b")));
        assert!(entries.get(&key("c")).is_some());
        consistent(&entries);
    }

    #[test]
    fn an_id_jag_keeps_the_entry_alive_until_it_expires() {
        let mut entries = Entries::default();
        let with_jag = token(10).with_id_jag(IdJag::new("j"), at(50));
        entries.insert(key("a"), with_jag, 8);
        entries.insert(key("b"), token(20), 8);
        assert_eq!(entries.pop_dead(at(30)).as_deref(), Some(&key("b")));
        assert_eq!(entries.pop_dead(at(30)), None, "the ID-JAG still lives");
        assert!(entries.remove_if_dead(&key("a"), at(49)).is_none());
        assert!(entries.remove_if_dead(&key("a"), at(50)).is_some());
        assert_eq!(entries.len(), 0);
        consistent(&entries);
    }

    #[test]
    fn replacing_moves_the_entry_in_the_order() {
        let mut entries = Entries::default();
        entries.insert(key("a"), token(10), 8);
        entries.insert(key("b"), token(20), 8);
        let replaced = entries.insert(key("a"), token(30), 8);
        assert!(replaced.replaced.is_some() && replaced.evicted.is_none());
        assert_eq!(entries.pop_dead(at(25)).as_deref(), Some(&key("b")));
        assert_eq!(entries.pop_dead(at(25)), None);
        assert_eq!(entries.retain(|t| t.expires_at > at(40)), 1);
        consistent(&entries);
    }
}
