//! What the sign-in side has handed out and is waiting for: sign-in transactions,
//! authorization codes, refresh-token families and device grants. Entries past their
//! lifetime are forgotten on the next [`Store::prune`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use xaa::jose::random_jti;

/// How long the sign-in page's transaction id stays usable: one-time and short-lived.
pub(crate) const TRANSACTION_LIFETIME: Duration = Duration::from_secs(600);

/// How long an authorization code stays redeemable (RFC 6749 section 4.1.2: at most ten
/// minutes is recommended).
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// How much longer the interval becomes at each `slow_down` (RFC 8628 section 3.5).
pub(crate) const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// A validated authorization request waiting for the person's choice on the sign-in page.
#[derive(Clone)]
pub(crate) struct Transaction {
    pub(crate) client_id: String,
    /// The redirect URI, parsed, to build the response on.
    pub(crate) redirect_uri: url::Url,
    /// The redirect URI exactly as sent, which the token request must repeat (RFC 6749
    /// section 4.1.3).
    pub(crate) redirect_uri_sent: String,
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) code_challenge: String,
    pub(crate) scope: String,
    pub(crate) expires_at: SystemTime,
}

/// An authorization code and what it was issued for.
#[derive(Clone)]
pub(crate) struct IssuedCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) user: String,
    pub(crate) nonce: String,
    pub(crate) scope: String,
    pub(crate) auth_time: u64,
    pub(crate) expires_at: SystemTime,
    /// Whether it was presented once already.
    pub(crate) redeemed: bool,
    /// The refresh-token family issued when it was redeemed.
    pub(crate) family: Option<u64>,
}

/// One sign-in's refresh tokens: each redemption replaces the current one (rotation).
#[derive(Clone)]
struct Family {
    user: String,
    client_id: String,
    scope: String,
    auth_time: u64,
    generation: u32,
    revoked: bool,
}

/// What a successful refresh-token redemption yields.
pub(crate) struct Rotated {
    pub(crate) user: String,
    pub(crate) scope: String,
    pub(crate) auth_time: u64,
    /// The generation of the token presented.
    pub(crate) generation: u32,
    /// Its replacement.
    pub(crate) refresh_token: String,
}

/// Why a refresh token was refused; all are `invalid_grant` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshRefusal {
    Unknown,
    /// Issued to another client.
    OtherClient,
    /// Its family was revoked.
    Revoked,
    /// Replaced already: presenting it again revoked the whole family.
    Reused {
        generation: u32,
    },
}

/// Where a device grant stands.
#[derive(Clone)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved { user: String, auth_time: u64 },
    Denied,
}

/// A device authorization (RFC 8628 section 3.2).
#[derive(Clone)]
pub(crate) struct DeviceGrant {
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) user_code: String,
    pub(crate) expires_at: SystemTime,
    pub(crate) interval: Duration,
    pub(crate) last_poll: Option<SystemTime>,
    pub(crate) status: DeviceStatus,
}

/// Everything issued and pending. No `Debug`: it holds codes and tokens.
#[derive(Default)]
pub(crate) struct Store {
    pub(crate) transactions: HashMap<String, Transaction>,
    pub(crate) codes: HashMap<String, IssuedCode>,
    /// By device code.
    pub(crate) devices: HashMap<String, DeviceGrant>,
    families: HashMap<u64, Family>,
    /// Refresh token to its family and generation.
    refresh_tokens: HashMap<String, (u64, u32)>,
    /// The `jti` of every client assertion accepted, until it expires.
    assertions: HashMap<String, SystemTime>,
    next_family: u64,
}

impl Store {
    /// Forgets transactions, codes and device grants past their lifetime.
    pub(crate) fn prune(&mut self, now: SystemTime) {
        self.transactions.retain(|_, entry| entry.expires_at > now);
        self.codes.retain(|_, entry| entry.expires_at > now);
        self.devices.retain(|_, entry| entry.expires_at > now);
        self.assertions.retain(|_, expires_at| *expires_at > now);
    }

    /// Remembers a client assertion's `jti` until `expires_at`; whether it was new.
    pub(crate) fn first_use_of_assertion(
        &mut self,
        jti: &str,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> bool {
        self.assertions.retain(|_, expiry| *expiry > now);
        self.assertions.insert(jti.to_owned(), expires_at).is_none()
    }

    /// Starts a refresh-token family; returns its id and its first token (generation 0).
    pub(crate) fn new_family(
        &mut self,
        user: &str,
        client_id: &str,
        scope: &str,
        auth_time: u64,
    ) -> (u64, String) {
        let id = self.next_family;
        self.next_family += 1;
        self.families.insert(
            id,
            Family {
                user: user.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                auth_time,
                generation: 0,
                revoked: false,
            },
        );
        let token = new_refresh_token();
        self.refresh_tokens.insert(token.clone(), (id, 0));
        (id, token)
    }

    /// Redeems `token` for `client_id`: the current generation is replaced by a new token;
    /// an older one revokes the family (RFC 9700 section 4.14.2).
    pub(crate) fn redeem_refresh_token(
        &mut self,
        token: &str,
        client_id: &str,
    ) -> Result<Rotated, RefreshRefusal> {
        let (id, generation) = *self
            .refresh_tokens
            .get(token)
            .ok_or(RefreshRefusal::Unknown)?;
        let family = self.families.get_mut(&id).ok_or(RefreshRefusal::Unknown)?;
        if family.client_id != client_id {
            return Err(RefreshRefusal::OtherClient);
        }
        if family.revoked {
            return Err(RefreshRefusal::Revoked);
        }
        if generation != family.generation {
            family.revoked = true;
            return Err(RefreshRefusal::Reused { generation });
        }
        family.generation += 1;
        let refresh_token = new_refresh_token();
        let rotated = Rotated {
            user: family.user.clone(),
            scope: family.scope.clone(),
            auth_time: family.auth_time,
            generation,
            refresh_token: refresh_token.clone(),
        };
        self.refresh_tokens
            .insert(refresh_token, (id, family.generation));
        Ok(rotated)
    }

    /// The generation of `token` within its family, if it is a refresh token of the kit.
    pub(crate) fn refresh_generation(&self, token: &str) -> Option<u32> {
        self.refresh_tokens
            .get(token)
            .map(|(_, generation)| *generation)
    }

    /// The scope granted to the sign-in `token` belongs to.
    pub(crate) fn refresh_scope(&self, token: &str) -> Option<&str> {
        let (id, _) = self.refresh_tokens.get(token)?;
        self.families.get(id).map(|family| family.scope.as_str())
    }

    /// Revokes the family `token` belongs to, if it was issued to `client_id`; whether it did.
    pub(crate) fn revoke_refresh_token(&mut self, token: &str, client_id: &str) -> bool {
        let Some((id, _)) = self.refresh_tokens.get(token) else {
            return false;
        };
        match self.families.get_mut(id) {
            Some(family) if family.client_id == client_id => {
                family.revoked = true;
                true
            }
            _ => false,
        }
    }

    /// Revokes a family by id.
    pub(crate) fn revoke_family(&mut self, id: u64) {
        if let Some(family) = self.families.get_mut(&id) {
            family.revoked = true;
        }
    }

    /// Revokes every refresh token issued so far.
    pub(crate) fn revoke_all_families(&mut self) {
        for family in self.families.values_mut() {
            family.revoked = true;
        }
    }

    /// The device code whose user code is `user_code` (compared without dashes, spaces or
    /// case, RFC 8628 section 6.1).
    pub(crate) fn device_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceGrant> {
        let wanted = normalize_user_code(user_code);
        self.devices
            .values_mut()
            .find(|grant| normalize_user_code(&grant.user_code) == wanted)
    }
}

fn new_refresh_token() -> String {
    format!("idp-signin-rt-{}", random_jti())
}

/// Upper case, without separators.
pub(crate) fn normalize_user_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_and_family_revocation() {
        let mut store = Store::default();
        let (_, first) = store.new_family("alice", "client", "openid offline_access", 1);
        let second = store
            .redeem_refresh_token(&first, "client")
            .expect("rotates");
        assert_eq!(second.generation, 0);
        assert_eq!(
            store.redeem_refresh_token(&first, "client").err(),
            Some(RefreshRefusal::Reused { generation: 0 })
        );
        assert_eq!(
            store
                .redeem_refresh_token(&second.refresh_token, "client")
                .err(),
            Some(RefreshRefusal::Revoked)
        );
        assert_eq!(
            store.redeem_refresh_token("nope", "client").err(),
            Some(RefreshRefusal::Unknown)
        );
    }

    #[test]
    fn user_codes_compare_loosely() {
        assert_eq!(normalize_user_code("wdjb-mjht"), "WDJBMJHT");
        assert_eq!(normalize_user_code(" WDJB MJHT "), "WDJBMJHT");
    }
}
