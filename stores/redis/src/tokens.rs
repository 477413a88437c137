//! The shared token store: sealed [`CachedToken`]s under their [`CacheKey`]s, expiring in
//! Redis when nothing in them is of use any more.

use std::io::{self, Write};
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::{ConnectionLike, Script, Value, aio, cmd};
use xaa::AccessToken;
use xaa::cache::{CacheKey, CachedToken};
use zeroize::Zeroizing;

use crate::digest::Digest;
use crate::error::StoreError;
use crate::prefix::KeyPrefix;
use crate::request::{Request, ScriptCall};
use crate::sealing::SealingKeys;

/// `KEYS[1]` the token's key, `ARGV[1]` the sealed value read before. Deletes the key only
/// while it still holds exactly that value; returns 1 when deleted, 0 otherwise.
static DELETE_IF_UNCHANGED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Cached tokens in Redis, sealed (AES-256-GCM) under keys the application supplies.
///
/// Each token is stored under `<prefix>:tok:<hex SHA-256 of the cache key>` as a sealed JSON
/// [`CachedToken`] (the serde form the core defines for stores, decisions.md D21), and expires
/// in Redis when the entry is dead: the access token and the ID-JAG kept with it both
/// expired (decisions.md D26). A value that does not open or parse reads as absent.
///
/// Every operation comes twice, over a blocking [`ConnectionLike`] (a
/// [`ReconnectingConnection`](crate::ReconnectingConnection), a `redis::Connection`) and over
/// an async [`aio::ConnectionLike`] (a `redis::aio::ConnectionManager`, a
/// `MultiplexedConnection`); both build the same request and read the same reply.
#[derive(Debug)]
pub struct RedisTokenStore {
    prefix: KeyPrefix,
    keys: SealingKeys,
}

impl RedisTokenStore {
    /// A store writing under `prefix`, sealing with `keys`.
    pub fn new(prefix: KeyPrefix, keys: SealingKeys) -> Self {
        Self { prefix, keys }
    }

    /// The Redis key a token for `key` is stored under. Carries no secret.
    pub fn key_name(&self, key: &CacheKey) -> String {
        self.prefix.token_key(&Digest::of_cache_key(key))
    }

    /// The token stored for `key`, if any; it may be expired (judge it with a
    /// [`TokenCache`](xaa::cache::TokenCache)). A value that does not open or parse is `None`.
    pub fn get(
        &self,
        connection: &mut impl ConnectionLike,
        key: &CacheKey,
    ) -> Result<Option<CachedToken>, StoreError> {
        let digest = Digest::of_cache_key(key);
        let reply = self.get_request(&digest).run(connection)?;
        self.read_token(&digest, reply)
    }

    /// [`RedisTokenStore::get`] over an async connection.
    pub async fn get_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        key: &CacheKey,
    ) -> Result<Option<CachedToken>, StoreError> {
        let digest = Digest::of_cache_key(key);
        let reply = self.get_request(&digest).run_async(connection).await?;
        self.read_token(&digest, reply)
    }

    /// Stores `token` for `key`, replacing any previous one, with a Redis expiry at the moment
    /// the entry is dead (`SET ... PXAT`): the token's expiry, or the kept ID-JAG's when that
    /// is later. A token already dead by Redis' clock is not kept.
    pub fn put(
        &self,
        connection: &mut impl ConnectionLike,
        key: &CacheKey,
        token: &CachedToken,
    ) -> Result<(), StoreError> {
        let request = self.put_request(key, token)?;
        expect_ok(request.run(connection)?, "SET")
    }

    /// [`RedisTokenStore::put`] over an async connection.
    pub async fn put_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        key: &CacheKey,
        token: &CachedToken,
    ) -> Result<(), StoreError> {
        let request = self.put_request(key, token)?;
        expect_ok(request.run_async(connection).await?, "SET")
    }

    /// Forgets the token stored for `key`; returns whether there was one.
    pub fn delete(
        &self,
        connection: &mut impl ConnectionLike,
        key: &CacheKey,
    ) -> Result<bool, StoreError> {
        let reply = self.delete_request(key).run(connection)?;
        read_deleted(reply)
    }

    /// [`RedisTokenStore::delete`] over an async connection.
    pub async fn delete_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        key: &CacheKey,
    ) -> Result<bool, StoreError> {
        let reply = self.delete_request(key).run_async(connection).await?;
        read_deleted(reply)
    }

    /// Forgets the token stored for `key` only if it is still `refused` (its access token);
    /// returns whether it was. A newer token saved meanwhile, or a value that does not open,
    /// is left alone.
    ///
    /// Two round trips: the sealed value is read and opened here (Redis cannot open it), then
    /// a script deletes the key only while it holds those very bytes. Every value is sealed
    /// with a fresh nonce, so a token saved between the two, even the same token again, is a
    /// different value and survives. No digest of the token is kept beside the sealed value
    /// for Redis to compare, and no `WATCH` transaction needs a connection of its own.
    pub fn delete_if(
        &self,
        connection: &mut impl ConnectionLike,
        key: &CacheKey,
        refused: &AccessToken,
    ) -> Result<bool, StoreError> {
        let digest = Digest::of_cache_key(key);
        let Some(sealed) = self.sealed_value(self.get_request(&digest).run(connection)?)? else {
            return Ok(false);
        };
        if !self.holds(&digest, &sealed, refused) {
            return Ok(false);
        }
        read_deleted(
            self.delete_if_unchanged_request(&digest, sealed)
                .run(connection)?,
        )
    }

    /// [`RedisTokenStore::delete_if`] over an async connection.
    pub async fn delete_if_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        key: &CacheKey,
        refused: &AccessToken,
    ) -> Result<bool, StoreError> {
        let digest = Digest::of_cache_key(key);
        let reply = self.get_request(&digest).run_async(connection).await?;
        let Some(sealed) = self.sealed_value(reply)? else {
            return Ok(false);
        };
        if !self.holds(&digest, &sealed, refused) {
            return Ok(false);
        }
        let request = self.delete_if_unchanged_request(&digest, sealed);
        read_deleted(request.run_async(connection).await?)
    }

    fn get_request(&self, digest: &Digest) -> Request {
        let mut get = cmd("GET");
        get.arg(self.prefix.token_key(digest));
        Request::Command(get)
    }

    fn put_request(&self, key: &CacheKey, token: &CachedToken) -> Result<Request, StoreError> {
        let digest = Digest::of_cache_key(key);
        let plaintext = serialize(token)?;
        let sealed = self.keys.seal(&digest, &plaintext)?;
        let mut set = cmd("SET");
        set.arg(self.prefix.token_key(&digest))
            .arg(sealed)
            .arg("PXAT")
            .arg(unix_millis(token.dead_at()));
        Ok(Request::Command(set))
    }

    fn delete_request(&self, key: &CacheKey) -> Request {
        let mut del = cmd("DEL");
        del.arg(self.key_name(key));
        Request::Command(del)
    }

    fn delete_if_unchanged_request(&self, digest: &Digest, sealed: Vec<u8>) -> Request {
        Request::Script(ScriptCall {
            script: &DELETE_IF_UNCHANGED,
            keys: vec![self.prefix.token_key(digest)],
            args: vec![sealed],
        })
    }

    fn read_token(&self, digest: &Digest, reply: Value) -> Result<Option<CachedToken>, StoreError> {
        Ok(self
            .sealed_value(reply)?
            .and_then(|sealed| self.open(digest, &sealed)))
    }

    /// The sealed value a `GET` answered, if any.
    fn sealed_value(&self, reply: Value) -> Result<Option<Vec<u8>>, StoreError> {
        match reply {
            Value::Nil => Ok(None),
            Value::BulkString(value) => Ok(Some(value)),
            _ => Err(StoreError::UnexpectedReply { command: "GET" }),
        }
    }

    /// The token `sealed` holds for `digest`; `None` when it does not open or parse.
    fn open(&self, digest: &Digest, sealed: &[u8]) -> Option<CachedToken> {
        self.keys
            .open(digest, sealed)
            .and_then(|plaintext| serde_json::from_slice(&plaintext).ok())
    }

    /// Whether `sealed` holds `refused` as its access token.
    fn holds(&self, digest: &Digest, sealed: &[u8], refused: &AccessToken) -> bool {
        self.open(digest, sealed)
            .is_some_and(|stored| stored.access_token == *refused)
    }
}

/// The token's JSON, written into a buffer of the exact size so that no reallocation leaves a
/// copy of a secret behind; wiped when dropped.
fn serialize(token: &CachedToken) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, token).map_err(|_| StoreError::Sealing)?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(counter.0));
    serde_json::to_writer(&mut *buffer, token).map_err(|_| StoreError::Sealing)?;
    Ok(buffer)
}

/// Counts the bytes written to it and keeps none.
struct ByteCounter(usize);

impl Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(bytes.len());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Milliseconds since the Unix epoch, at least 1: Redis refuses an expiry of 0, and a time
/// in the past deletes the key, which is what a dead token deserves.
pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    u64::try_from(millis).unwrap_or(u64::MAX).max(1)
}

fn expect_ok(reply: Value, command: &'static str) -> Result<(), StoreError> {
    match reply {
        Value::Okay => Ok(()),
        _ => Err(StoreError::UnexpectedReply { command }),
    }
}

fn read_deleted(reply: Value) -> Result<bool, StoreError> {
    match reply {
        Value::Int(count) => Ok(count > 0),
        _ => Err(StoreError::UnexpectedReply { command: "DEL" }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use xaa::{AccessToken, IdJag};

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn the_json_fills_its_buffer_exactly() {
        let token =
            CachedToken::new(AccessToken::new("t"), at(10)).with_id_jag(IdJag::new("j"), at(30));
        let json = serialize(&token).expect("serializable");
        assert_eq!(json.len(), json.capacity());
        assert_eq!(
            serde_json::from_slice::<CachedToken>(&json).ok(),
            Some(token)
        );
    }

    #[test]
    fn a_sealed_value_that_is_not_a_token_reads_as_absent() {
        let keys = SealingKeys::new(crate::SealingKey::new(1, &[7; 32]).expect("32 bytes"));
        let store = RedisTokenStore::new(KeyPrefix::default(), keys);
        let digest = Digest::of_parts("test", &[b"a cache key"]);
        let token = CachedToken::new(AccessToken::new("t"), at(10));
        let json = serialize(&token).expect("serializable");
        let plaintexts: [&[u8]; 5] = [b"", b"not json", b"{}", b"{\"access_token\":5}", &json];
        let read: Vec<Option<CachedToken>> = plaintexts
            .iter()
            .map(|plaintext| {
                let sealed = store.keys.seal(&digest, plaintext).expect("sealed");
                store
                    .read_token(&digest, Value::BulkString(sealed))
                    .expect("a GET reply")
            })
            .collect();
        assert_eq!(read, [None, None, None, None, Some(token)]);
        assert!(matches!(
            store.read_token(&digest, Value::Int(1)),
            Err(StoreError::UnexpectedReply { command: "GET" })
        ));
    }

    #[test]
    fn expiries_are_whole_milliseconds_never_zero() {
        assert_eq!(unix_millis(at(2) + Duration::from_micros(1_500)), 2_001);
        assert_eq!(unix_millis(UNIX_EPOCH), 1);
        assert_eq!(unix_millis(UNIX_EPOCH - Duration::from_secs(5)), 1);
    }
}
