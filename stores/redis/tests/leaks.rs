//! What must never leave xaa-redis in clear: the sealing key's bytes, in any `Debug` or
//! `Display` of the crate's types and errors; the tokens, in those and in what the stores
//! write to a real Redis (neither raw nor in base64 or base64url); the user's id, in the key
//! names.

mod harness;

use std::time::{Duration, SystemTime};

use harness::gateway::{config, user};
use harness::{RedisServer, raw};
use xaa::cache::{CacheKey, CachedToken, Principal};
use xaa::driver::{SharedStore, SharedTokenStore};
use xaa::server::{ReplayMode, TokenKind, TokenUse};
use xaa::{AccessToken, IdJag, Scope};
use xaa_redis::{
    AsyncRedisSharedStore, ConfigError, KeyPrefix, ReconnectingConnection, RedisLeases,
    RedisReplayStore, RedisSharedStore, RedisTokenStore, SealingKey, SealingKeys, StoreError,
    Timeouts,
};
use xaa_reqwest::{Authorizer, Client, ProxySetting};
use xaa_testkit::{Endpoint, Options, Testkit};

/// Key material no other byte string of a test resembles: 0xC0, 0xC1, ... 0xDF.
fn material() -> [u8; 32] {
    std::array::from_fn(|i| 0xC0 + i as u8)
}

fn keys() -> SealingKeys {
    SealingKeys::new(SealingKey::new(1, &material()).expect("32 bytes"))
        .with_previous(SealingKey::new(2, &material()).expect("32 bytes"))
        .expect("distinct ids")
}

/// Standard base64 (RFC 4648 section 4), padded.
fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (i, byte)| {
            word | u32::from(*byte) << (16 - 8 * i)
        });
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(word >> (18 - 6 * i) & 0x3f) as usize]));
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#[test]
fn the_base64_helper_matches_rfc_4648_test_vectors() {
    for (input, expected) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes(), STANDARD, true), expected);
    }
    assert_eq!(base64(&[0xfb, 0xff], URL_SAFE, false), "-_8");
}

/// The ways a secret can be written: as it is, in base64 (padded or not) and base64url, and
/// for bytes, in hexadecimal and as Rust prints a byte array.
fn forms_of(secret: &[u8]) -> Vec<Vec<u8>> {
    let hex: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
    let debug = format!("{secret:?}");
    let debug_start = debug
        .get(..debug.len().min(24))
        .unwrap_or_default()
        .to_owned();
    let mut forms = vec![
        secret.to_vec(),
        base64(secret, STANDARD, true).into_bytes(),
        base64(secret, STANDARD, false).into_bytes(),
        base64(secret, URL_SAFE, false).into_bytes(),
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        debug_start.into_bytes(),
    ];
    // A secret inside a longer text may start at any offset: its base64 then differs in
    // the first and last few characters only, so the middle of each offset's form is looked
    // for too.
    for offset in 0..3 {
        let shifted = [&b"xx"[..offset], secret].concat();
        for alphabet in [STANDARD, URL_SAFE] {
            let encoded = base64(&shifted, alphabet, false);
            if let Some(middle) = encoded.as_bytes().get(4..encoded.len().saturating_sub(4)) {
                forms.push(middle.to_vec());
            }
        }
    }
    forms.retain(|form| form.len() >= 4);
    forms
}

fn assert_hidden(haystack: &[u8], secret: &[u8], what: &str, place: &str) {
    for form in forms_of(secret) {
        assert!(
            !haystack.windows(form.len()).any(|window| window == form),
            "{what} in clear in {place}: {}",
            String::from_utf8_lossy(haystack)
        );
    }
}

#[test]
fn the_search_finds_a_secret_encoded_within_a_longer_text_at_any_offset() {
    for before in ["", "a", "ab", "abc"] {
        for alphabet in [STANDARD, URL_SAFE] {
            let text = format!("{before}{ACCESS_TOKEN} and more");
            let encoded = base64(text.as_bytes(), alphabet, true);
            let found = forms_of(ACCESS_TOKEN.as_bytes())
                .iter()
                .any(|form| encoded.as_bytes().windows(form.len()).any(|w| w == form));
            assert!(found, "{encoded}");
        }
    }
}

fn cache_key() -> CacheKey {
    CacheKey::new(
        "https://as.example",
        "https://mcp.example/mcp",
        "client-at-as",
        &Scope::parse("tools:read"),
        Principal::subject("https://idp.example", "alice"),
    )
}

const ACCESS_TOKEN: &str = "access-token-QUxJQ0UncyBhY2Nlc3MgdG9rZW4";
const ID_JAG: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl-id-jag";

#[test]
fn no_debug_or_display_shows_the_key_material_or_a_token() {
    let Some(mut server) = RedisServer::start("no_debug_or_display_shows_the_key") else {
        return;
    };
    let prefix = KeyPrefix::new("leaks").expect("a valid prefix");
    let token = CachedToken::new(
        AccessToken::new(ACCESS_TOKEN),
        SystemTime::now() + Duration::from_secs(600),
    )
    .with_id_jag(
        IdJag::new(ID_JAG),
        SystemTime::now() + Duration::from_secs(900),
    );
    let store = RedisTokenStore::new(prefix.clone(), keys());
    let shared =
        RedisSharedStore::new(server.client(), Timeouts::default(), prefix.clone(), keys());
    let mut connection: ReconnectingConnection = server.connection();
    store
        .put(&mut connection, &cache_key(), &token)
        .expect("put");
    shared.save(&cache_key(), &token).expect("save");
    let leased = shared
        .try_lease(&cache_key(), Duration::from_secs(5))
        .expect("a lease");
    let acquisition = RedisLeases::new(prefix.clone())
        .try_acquire(&mut connection, &cache_key(), Duration::from_secs(5))
        .expect("held");
    let replay = RedisReplayStore::new(prefix.clone());
    let token_use = TokenUse::new(
        TokenKind::IdJag,
        "https://idp.example",
        "jti-1",
        ID_JAG,
        4_000_000_000,
        ReplayMode::AllowIdenticalResubmission,
    );
    replay
        .register(&mut connection, &token_use)
        .expect("first use");
    let replayed = replay
        .register(
            &mut connection,
            &TokenUse::new(
                TokenKind::IdJag,
                "https://idp.example",
                "jti-1",
                "another token, same jti",
                4_000_000_000,
                ReplayMode::AllowIdenticalResubmission,
            ),
        )
        .expect_err("a replay");

    let other = CacheKey::new("a", "b", "c", &Scope::default(), Principal::key("k"));
    let _: i64 = raw(
        &server,
        redis::cmd("HSET")
            .arg(store.key_name(&other))
            .arg("f")
            .arg("v"),
    );
    let refused = store
        .get(&mut connection, &other)
        .expect_err("a hash is no token");
    server.stop();
    let unreachable = store
        .get(&mut connection, &cache_key())
        .expect_err("stopped");
    let unavailable = shared.load(&cache_key()).expect_err("stopped");

    let shown = [
        format!("{:?}", SealingKey::new(3, &material()).expect("32 bytes")),
        format!("{:?}", keys()),
        format!("{store:?}"),
        format!("{shared:?}"),
        format!("{connection:?}"),
        format!("{leased:?} {acquisition:?}"),
        format!("{replay:?} {replayed:?} {replayed}"),
        format!("{refused:?} {refused}"),
        format!("{unreachable:?} {unreachable}"),
        format!("{unavailable:?} {unavailable}"),
        format!("{prefix:?}"),
        format!("{:?} {}", StoreError::Sealing, StoreError::Sealing),
        format!(
            "{:?} {}",
            ConfigError::KeyLength(31),
            ConfigError::KeyLength(31)
        ),
    ];
    for text in &shown {
        assert_hidden(text.as_bytes(), &material(), "the key material", text);
        assert_hidden(
            text.as_bytes(),
            ACCESS_TOKEN.as_bytes(),
            "the access token",
            text,
        );
        assert_hidden(text.as_bytes(), ID_JAG.as_bytes(), "the ID-JAG", text);
    }
    assert!(shown[0].contains("[redacted]"), "{}", shown[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_holds_no_token_and_no_user_id_in_clear() {
    let Some(server) = RedisServer::start("redis_holds_no_token_in_clear") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let store = AsyncRedisSharedStore::connect(
        server.client(),
        Timeouts::default(),
        KeyPrefix::new("leaks").expect("a valid prefix"),
        keys(),
    )
    .await
    .expect("connected");
    let shown = format!("{store:?}");
    assert_hidden(shown.as_bytes(), &material(), "the key material", &shown);
    let shared = SharedStore::non_blocking(store);
    let client = Client::builder()
        .proxy(ProxySetting::None)
        .build()
        .expect("a client")
        .with_shared_store(shared.clone());
    // The ID-JAG is kept with the token (for its re-submission), so the store holds it too.
    let authorizer = Authorizer::with_client(config(&kit).resubmit_id_jag(true), client);
    authorizer
        .token(&user(&kit, "bob"))
        .await
        .expect("discovery and bob's token");
    kit.clear_requests();
    let access_token = authorizer
        .token(&user(&kit, "alice"))
        .await
        .expect("alice's token");
    let exchange = kit.requests_to(Endpoint::AsToken);
    let id_jag = exchange[0]
        .form
        .iter()
        .find(|(name, _)| name == "assertion")
        .map(|(_, value)| value.clone())
        .expect("the ID-JAG presented");
    let subject_token = kit.id_token("alice");
    assert_eq!(shared.fallbacks(), 0, "every step went through Redis");

    let names: Vec<String> = raw(&server, redis::cmd("KEYS").arg("*"));
    let token_names: Vec<&String> = names
        .iter()
        .filter(|name| name.starts_with("leaks:tok:"))
        .collect();
    assert_eq!(token_names.len(), 2, "bob's and alice's tokens: {names:?}");
    let secrets = [
        ("the access token", access_token.expose_secret()),
        ("the ID-JAG", id_jag.as_str()),
        ("the subject token", subject_token.expose_secret()),
    ];
    for name in &names {
        for (what, secret) in secrets {
            assert_hidden(name.as_bytes(), secret.as_bytes(), what, "a key name");
        }
        for user_id in ["alice", "bob"] {
            assert!(!name.contains(user_id), "a user id in the key name {name}");
        }
        let kind: String = raw(&server, redis::cmd("TYPE").arg(name));
        assert_eq!(kind, "string", "{name}");
        let value: Vec<u8> = raw(&server, redis::cmd("GET").arg(name));
        for (what, secret) in secrets {
            assert_hidden(&value, secret.as_bytes(), what, name);
        }
        for user_id in [&b"alice"[..], b"bob"] {
            assert_hidden(&value, user_id, "a user id", name);
        }
    }
    // The sealed values do hold the tokens: each is longer than the access token and the
    // ID-JAG together, so the test looked where they are.
    for name in token_names {
        let value: Vec<u8> = raw(&server, redis::cmd("GET").arg(name));
        assert!(
            value.len() > access_token.expose_secret().len() + id_jag.len(),
            "{name}: {} bytes",
            value.len()
        );
    }
}
