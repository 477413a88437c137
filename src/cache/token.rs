//! A cached access token, its expiries, and their serde form for a
//! [`TokenStore`](super::TokenStore).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::{AccessToken, IdJag, Scope};

/// An access token and what is known about it. `Debug` shows no token text: the secrets are
/// redacted newtypes.
///
/// Serializable for a [`TokenStore`](super::TokenStore); times are whole seconds since the Unix epoch (rounded
/// down, so a restored token never lives longer than it did).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredToken", into = "StoredToken")]
#[non_exhaustive]
pub struct CachedToken {
    /// The access token, with its DPoP binding when it has one
    /// ([`AccessToken::dpop_jkt`]).
    pub access_token: AccessToken,
    /// The `token_type` it was issued with (`Bearer`, or `DPoP` when bound).
    pub token_type: String,
    /// When it expires.
    pub expires_at: SystemTime,
    /// The scope granted, when the server said or it was inferred (decisions.md D8).
    pub scope: Option<Scope>,
    /// The ID-JAG it was obtained with and the ID-JAG's own expiry, kept only for the opt-in
    /// re-submission of decisions.md D13.
    pub id_jag: Option<(IdJag, SystemTime)>,
    /// When it was issued, when known: the refresh lead is then at most half its lifetime, so
    /// a token shorter-lived than the lead is not refreshed on every use.
    pub issued_at: Option<SystemTime>,
}

/// The serialized form of a [`CachedToken`]: the token's DPoP binding is a member of its own,
/// so a restored bound token is still never sent as a bearer token.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    access_token: AccessToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_jkt: Option<String>,
    token_type: String,
    #[serde(with = "epoch_seconds")]
    expires_at: SystemTime,
    scope: Option<Scope>,
    #[serde(with = "id_jag_with_expiry", default)]
    id_jag: Option<(IdJag, SystemTime)>,
    #[serde(with = "optional_epoch_seconds", default)]
    issued_at: Option<SystemTime>,
}

impl From<StoredToken> for CachedToken {
    fn from(stored: StoredToken) -> Self {
        let access_token = match stored.dpop_jkt {
            Some(jkt) => stored.access_token.bound_to(jkt),
            None => stored.access_token,
        };
        Self {
            access_token,
            token_type: stored.token_type,
            expires_at: stored.expires_at,
            scope: stored.scope,
            id_jag: stored.id_jag,
            issued_at: stored.issued_at,
        }
    }
}

impl From<CachedToken> for StoredToken {
    fn from(token: CachedToken) -> Self {
        Self {
            dpop_jkt: token.access_token.dpop_jkt().map(str::to_owned),
            access_token: token.access_token.clone(),
            token_type: token.token_type.clone(),
            expires_at: token.expires_at,
            scope: token.scope.clone(),
            id_jag: token.id_jag.clone(),
            issued_at: token.issued_at,
        }
    }
}

impl CachedToken {
    /// A `Bearer` token expiring at `expires_at`, without scope or ID-JAG.
    pub fn new(access_token: AccessToken, expires_at: SystemTime) -> Self {
        Self {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_at,
            scope: None,
            id_jag: None,
            issued_at: None,
        }
    }

    /// Sets when the token was issued.
    pub fn with_issued_at(mut self, issued_at: SystemTime) -> Self {
        self.issued_at = Some(issued_at);
        self
    }

    /// Sets the `token_type`.
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = token_type.into();
        self
    }

    /// Sets the granted scope.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Keeps the ID-JAG the token was obtained with, and when the ID-JAG expires.
    pub fn with_id_jag(mut self, id_jag: IdJag, expires_at: SystemTime) -> Self {
        self.id_jag = Some((id_jag, expires_at));
        self
    }

    /// When nothing in the entry is of use any more: the token and the ID-JAG kept with it
    /// (for decisions.md D13's re-submission) have both expired. Caches and stores drop the
    /// entry from then on (decisions.md D26).
    pub fn dead_at(&self) -> SystemTime {
        match &self.id_jag {
            Some((_, id_jag_expires_at)) => self.expires_at.max(*id_jag_expires_at),
            None => self.expires_at,
        }
    }
}

/// `SystemTime` as whole seconds since the Unix epoch, rounded down (0 before the epoch).
mod epoch_seconds {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn to_secs(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }

    pub(super) fn from_secs<E: serde::de::Error>(secs: u64) -> Result<SystemTime, E> {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(|| E::custom("time out of range"))
    }

    pub(super) fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(to_secs(*time))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        from_secs(u64::deserialize(d)?)
    }
}

/// `Option<SystemTime>` as `null` or whole seconds since the epoch.
mod optional_epoch_seconds {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => s.serialize_some(&super::epoch_seconds::to_secs(*time)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Option::<u64>::deserialize(d)?
            .map(super::epoch_seconds::from_secs)
            .transpose()
    }
}

/// `Option<(IdJag, SystemTime)>` as `null` or `{"token": .., "expires_at": secs}`.
mod id_jag_with_expiry {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::epoch_seconds;
    use crate::IdJag;

    #[derive(Serialize)]
    struct Borrowed<'a> {
        token: &'a IdJag,
        expires_at: u64,
    }

    #[derive(Deserialize)]
    struct Owned {
        token: IdJag,
        expires_at: u64,
    }

    pub(super) fn serialize<S: Serializer>(
        value: &Option<(IdJag, SystemTime)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        value
            .as_ref()
            .map(|(token, expires_at)| Borrowed {
                token,
                expires_at: epoch_seconds::to_secs(*expires_at),
            })
            .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(IdJag, SystemTime)>, D::Error> {
        Option::<Owned>::deserialize(d)?
            .map(|Owned { token, expires_at }| Ok((token, epoch_seconds::from_secs(expires_at)?)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        crate::json::time_from_numeric_date(secs)
    }

    #[test]
    fn epoch_seconds_round_down_and_clamp() {
        assert_eq!(
            epoch_seconds::to_secs(at(5) + Duration::from_millis(999)),
            5
        );
        assert_eq!(
            epoch_seconds::to_secs(SystemTime::UNIX_EPOCH - Duration::from_secs(1)),
            0
        );
    }

    #[test]
    fn an_entry_dies_with_the_last_of_its_token_and_id_jag() {
        let token = CachedToken::new(AccessToken::new("t"), at(10));
        assert_eq!(token.dead_at(), at(10));
        assert_eq!(
            token.clone().with_id_jag(IdJag::new("j"), at(30)).dead_at(),
            at(30)
        );
        assert_eq!(token.with_id_jag(IdJag::new("j"), at(5)).dead_at(), at(10));
    }
}
