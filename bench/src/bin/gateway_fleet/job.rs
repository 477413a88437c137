//! What the parent hands a child process, as one JSON line on the child's standard input
//! (the kit's client secret and the sealing key stay off the command line and out of the
//! environment), and what the child prints back: one line `GATEWAY_FLEET_REPORT <json>`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientCredentials, ClientSecret, IdToken, IdentityProvider, Policy,
};
use xaa_redis::{KeyPrefix, SealingKey, SealingKeys};
use xaa_testkit::Testkit;

use crate::BoxError;
use crate::summary::Summary;

/// The prefix of a child's report line.
pub(crate) const REPORT_PREFIX: &str = "GATEWAY_FLEET_REPORT ";

/// How to reach the parent's kit. No `Debug`: it holds the kit's client secret.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Kit {
    pub(crate) mcp_url: String,
    pub(crate) idp_issuer: String,
    pub(crate) as_client_id: String,
    pub(crate) as_secret: String,
}

impl Kit {
    /// The kit's addresses and its authorization server client.
    pub(crate) fn of(kit: &Testkit) -> Result<Self, BoxError> {
        let client = kit.as_client();
        let secret = client
            .secret()
            .ok_or("the kit's authorization server client has no secret")?
            .expose_secret()
            .to_owned();
        Ok(Self {
            mcp_url: kit.mcp_url().to_owned(),
            idp_issuer: kit.idp_issuer().to_owned(),
            as_client_id: client.client_id,
            as_secret: secret,
        })
    }

    /// An authorizer configuration for the kit's MCP server, refreshing `lead` before expiry
    /// and caching up to `max_entries` tokens.
    pub(crate) fn config(&self, lead: Duration, max_entries: usize) -> AuthorizerConfig {
        let credentials = ClientCredentials::basic(
            self.as_client_id.clone(),
            ClientSecret::new(self.as_secret.clone()),
        );
        AuthorizerConfig::new(
            self.mcp_url.as_str(),
            IdentityProvider::issuer(
                self.idp_issuer.as_str(),
                ClientCredentials::public(xaa_testkit::IDP_CLIENT_ID),
            ),
            AuthorizationServer::discovered(credentials),
        )
        .policy(Policy::loopback())
        .refresh_lead(lead)
        .max_entries(max_entries)
    }
}

/// The shared store a child connects to. No `Debug`: it holds the sealing key.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Store {
    pub(crate) redis_url: String,
    /// The AES-256-GCM key every replica seals with, drawn for this run.
    pub(crate) sealing_key: Vec<u8>,
    pub(crate) prefix: String,
}

impl Store {
    pub(crate) fn keys(&self) -> Result<SealingKeys, BoxError> {
        Ok(SealingKeys::new(SealingKey::new(1, &self.sealing_key)?))
    }

    pub(crate) fn prefix(&self) -> Result<KeyPrefix, BoxError> {
        Ok(KeyPrefix::new(self.prefix.as_str())?)
    }
}

/// A user from the ID token the kit signed for them.
pub(crate) fn user(id_token: &str) -> Result<User, BoxError> {
    Ok(User::from_id_token(SubjectToken::IdToken(IdToken::new(
        id_token,
    )))?)
}

/// What a child process does. No `Debug`: it holds secrets (the kit's client secret, the
/// sealing key, ID tokens).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Job {
    /// One replica of the gateway, in the fleet workload.
    Replica(ReplicaJob),
    /// The latency a shared store adds, in one process.
    Latency(LatencyJob),
    /// The local cache's memory and speed at a number of users.
    Memory(MemoryJob),
}

/// One replica's share of the fleet workload.
#[derive(Serialize, Deserialize)]
pub(crate) struct ReplicaJob {
    pub(crate) kit: Kit,
    /// `None`: each replica on its own (the comparison without Redis).
    pub(crate) store: Option<Store>,
    /// The ID token of a user of this replica alone, for its first (discovering) flow.
    pub(crate) warm_id_token: String,
    /// The ID tokens of the fleet's users.
    pub(crate) id_tokens: Vec<String>,
    pub(crate) callers: usize,
    pub(crate) calls_per_second: f64,
    pub(crate) duration: Duration,
    pub(crate) lead: Duration,
}

/// The latency measurement.
#[derive(Serialize, Deserialize)]
pub(crate) struct LatencyJob {
    pub(crate) kit: Kit,
    pub(crate) store: Store,
    /// Three users of the setup alone: the writer's, the reader's, the store-less one's.
    pub(crate) warm_id_tokens: [String; 3],
    /// One sample of each kind per user.
    pub(crate) id_tokens: Vec<String>,
}

/// The memory measurement.
#[derive(Serialize, Deserialize)]
pub(crate) struct MemoryJob {
    pub(crate) kit: Kit,
    pub(crate) warm_id_token: String,
    pub(crate) users: usize,
}

/// What a child reports.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Report {
    /// A replica's, after its workload.
    Replica(ReplicaReport),
    /// The latency measurement's.
    Latency(LatencyReport),
    /// A memory measurement's.
    Memory(MemoryReport),
}

/// One replica's calls.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ReplicaReport {
    /// Calls that got no token.
    pub(crate) failed: u64,
    /// The first failure's message, if any.
    pub(crate) first_failure: Option<String>,
    /// Every successful call's latency, nanoseconds.
    pub(crate) latencies_ns: Vec<u64>,
    /// Times the store did not answer and a call went on without it.
    pub(crate) fallbacks: u64,
}

/// The latency samples, interleaved user by user.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct LatencyReport {
    /// A Redis `PING` round trip.
    pub(crate) ping: Summary,
    /// A `token()` of an authorizer that has never seen the user, whose token is in Redis.
    pub(crate) miss_from_redis: Summary,
    /// A `token()` answered from the local cache of an authorizer sharing the store.
    pub(crate) hit_with_store: Summary,
    /// A `token()` answered from the local cache of an authorizer with no store.
    pub(crate) hit_without_store: Summary,
    /// The commands Redis served during the misses, but the `PING`s (calls per command).
    pub(crate) miss_commands: BTreeMap<String, u64>,
    /// The commands Redis served during the hits.
    pub(crate) hit_commands: BTreeMap<String, u64>,
    /// Times the store did not answer and a call went on without it.
    pub(crate) fallbacks: u64,
}

/// The local cache at one size.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct MemoryReport {
    /// The users cached.
    pub(crate) users: usize,
    /// The length of each cached access token's text.
    pub(crate) token_bytes: usize,
    /// Heap bytes the authorizer holds per cached user (its cache and its per-user records).
    pub(crate) authorizer_bytes_per_user: f64,
    /// `acquire` for a user the authorizer has not seen (its token read from the store).
    pub(crate) authorizer_insert: Summary,
    /// `acquire` for a user the authorizer holds.
    pub(crate) authorizer_lookup: Summary,
    /// Heap bytes per entry of a `TokenCache` alone.
    pub(crate) cache_bytes_per_entry: f64,
    /// `TokenCache::insert` of a new key.
    pub(crate) cache_insert: Summary,
    /// `TokenCache::lookup` of a held key.
    pub(crate) cache_lookup: Summary,
}
