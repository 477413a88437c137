//! A pure token cache (decisions.md D13, D19, D21, D26).
//!
//! [`TokenCache`] decides what is usable at a `now` the caller passes in: it never reads a clock,
//! takes no lock and does no I/O. Concurrency (single-flight per key, decisions.md D19) belongs
//! to the authorizer that owns the cache; persistence belongs to the application, through a
//! [`TokenStore`] (decisions.md D21). Both the cache and the in-memory store are bounded, and
//! an entry whose token and ID-JAG have both expired is dropped a few at a time as operations
//! pass, never by a walk over everything (decisions.md D26).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use xaa::cache::{CacheKey, CachedToken, Lookup, Principal, RefreshPlan, TokenCache};
//! use xaa::{AccessToken, Scope};
//!
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let key = CacheKey::new(
//!     "https://as.example",
//!     "https://mcp.example/mcp",
//!     "client-at-as",
//!     &Scope::parse("tools:read files:write"),
//!     Principal::subject("https://idp.example", "alice"),
//! );
//! let mut cache = TokenCache::new();
//! cache.insert(
//!     key.clone(),
//!     CachedToken::new(AccessToken::new("at"), now + Duration::from_secs(3600)),
//! );
//! assert!(matches!(cache.lookup(&key, now), Lookup::Fresh(_)));
//! // Due within the refresh lead (60 s by default), still usable until it expires.
//! let due = now + Duration::from_secs(3600 - 60);
//! assert!(matches!(cache.lookup(&key, due), Lookup::DueForRefresh(_)));
//! // decisions.md D13: by default a new access token starts with a fresh token exchange.
//! assert_eq!(cache.refresh_plan(&key, due), RefreshPlan::FreshExchange);
//! ```

mod entries;
mod key;
mod store;
mod token;
mod token_cache;

pub(crate) use entries::SWEEP_BUDGET;
pub use key::{CacheKey, Principal};
pub use store::{MemoryTokenStore, TokenStore};
pub use token::CachedToken;
pub use token_cache::{Lookup, RefreshPlan, TokenCache};
