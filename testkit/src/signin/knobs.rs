//! The sign-in side's URLs, knobs and records on [`Testkit`].

use std::time::Duration;

use super::SignInRecord;
use crate::Testkit;

impl Testkit {
    /// The IdP's authorization endpoint, `…/authorize` (the sign-in page).
    pub fn idp_authorization_endpoint(&self) -> &str {
        &self.shared.urls.idp_authorization_endpoint
    }

    /// The IdP's device authorization endpoint (RFC 8628 section 3.1).
    pub fn idp_device_authorization_endpoint(&self) -> &str {
        &self.shared.urls.idp_device_authorization_endpoint
    }

    /// The IdP's device verification page (RFC 8628 section 3.3).
    pub fn idp_device_verification_uri(&self) -> &str {
        &self.shared.urls.idp_device_verification_uri
    }

    /// The IdP's revocation endpoint (RFC 7009).
    pub fn idp_revocation_endpoint(&self) -> &str {
        &self.shared.urls.idp_revocation_endpoint
    }

    /// A redirect URI the IdP client may use on `port`: `http://127.0.0.1:<port>` and the
    /// first registered path ([`Options::sign_in_redirect_paths`](crate::Options)).
    pub fn sign_in_redirect_uri(&self, port: u16) -> String {
        let settings = self.shared.settings();
        let path = settings
            .sign_in_redirect_paths
            .first()
            .map_or("/", String::as_str);
        format!("http://127.0.0.1:{port}{path}")
    }

    /// Registers these redirect-URI paths for the IdP client (any loopback port).
    pub fn set_sign_in_redirect_paths(&self, paths: &[&str]) {
        let paths = paths.iter().map(|path| (*path).to_owned()).collect();
        self.shared
            .update(|settings| settings.sign_in_redirect_paths = paths);
    }

    /// Sets the lifetime of device codes issued from now on.
    pub fn set_device_code_lifetime(&self, lifetime: Duration) {
        self.shared
            .update(|settings| settings.device_code_lifetime = lifetime);
    }

    /// Sets the polling interval of device codes issued from now on (whole seconds, at
    /// least 1).
    pub fn set_device_poll_interval(&self, interval: Duration) {
        self.shared
            .update(|settings| settings.device_poll_interval = interval);
    }

    /// Rotates the key sign-in ID tokens are signed with: a new ES256 key with a new `kid`
    /// signs from now on and is published first in the JWKS; the previous keys stay
    /// published when `keep_previous`, else the JWKS holds only the new key. The kit's token
    /// exchange keeps accepting ID tokens signed by every key. [`id_token`](Self::id_token)
    /// and the ID-JAGs keep the key of the start. Returns the new `kid`.
    pub fn rotate_idp_signing_key(&self, keep_previous: bool) -> Result<String, crate::Error> {
        Ok(self
            .shared
            .sign_in
            .keys
            .rotate(keep_previous, &self.shared.idp_keys)?)
    }

    /// The `kid` sign-in ID tokens are signed under now.
    pub fn idp_signing_kid(&self) -> Option<String> {
        self.shared.sign_in.keys.current_kid()
    }

    /// Revokes every sign-in refresh token issued so far, as an administrator ending every
    /// session would: the next refresh is `invalid_grant`.
    pub fn revoke_sign_in_refresh_tokens(&self) {
        self.shared.sign_in.store().revoke_all_families();
    }

    /// Every request to a sign-in endpoint since the start or the last
    /// [`clear_requests`](Self::clear_requests), as the IdP judged it, in arrival order.
    pub fn sign_in_records(&self) -> Vec<SignInRecord> {
        self.shared.recorder.sign_ins()
    }

    /// How many refresh tokens were redeemed successfully (see
    /// [`sign_in_records`](Self::sign_in_records)).
    pub fn refresh_token_redemptions(&self) -> usize {
        self.sign_in_records()
            .iter()
            .filter(|record| record.is_refresh_redemption())
            .count()
    }
}
