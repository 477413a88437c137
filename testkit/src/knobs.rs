//! The knobs of a running kit: every setting marked *runtime* in [`Options`], faults, and a
//! reset, so one kit can serve many tests.

use std::time::Duration;

use xaa::Scope;
use xaa::server::{ClientAuthMethod, ReplayMode};

use crate::Testkit;
use crate::endpoint::{Endpoint, Server};
use crate::faults::Fault;
use crate::options::{Options, Tool};

impl Testkit {
    /// The settings now in force (the start-only fields as they were at start).
    pub fn options(&self) -> Options {
        self.shared.settings().clone()
    }

    /// Publishes the IdP metadata only at `/.well-known/openid-configuration`, or at both URLs.
    pub fn set_idp_oidc_only(&self, oidc_only: bool) {
        self.shared
            .update(|settings| settings.idp_oidc_only = oidc_only);
    }

    /// Publishes the protected-resource metadata only at the root, or at both URLs.
    pub fn set_prm_root_only(&self, root_only: bool) {
        self.shared
            .update(|settings| settings.prm_root_only = root_only);
    }

    /// Whether the MCP server's 401 challenge carries `resource_metadata`.
    pub fn set_challenge_resource_metadata(&self, send: bool) {
        self.shared
            .update(|settings| settings.challenge_resource_metadata = send);
    }

    /// Sets the lifetime of ID tokens minted from now on.
    pub fn set_id_token_lifetime(&self, lifetime: Duration) {
        self.shared
            .update(|settings| settings.id_token_lifetime = lifetime);
    }

    /// Sets the lifetime of ID-JAGs minted from now on.
    pub fn set_id_jag_lifetime(&self, lifetime: Duration) {
        self.shared
            .update(|settings| settings.id_jag_lifetime = lifetime);
    }

    /// Sets the lifetime of access tokens issued from now on (whole seconds, at least 1).
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        self.shared
            .update(|settings| settings.access_token_lifetime = lifetime);
    }

    /// Sets the scope a tool needs (and so what the servers may grant).
    pub fn set_tool_scope(&self, tool: Tool, scope: Scope) {
        self.shared.update(|settings| match tool {
            Tool::Echo => settings.echo_scope = scope,
            Tool::AdminEcho => settings.admin_echo_scope = scope,
        });
    }

    /// Sets how the client must authenticate at the IdP; [`idp_client`](Self::idp_client)
    /// follows.
    pub fn set_idp_client_auth(&self, method: ClientAuthMethod) {
        self.shared
            .update(|settings| settings.idp_client_auth = method);
    }

    /// Sets how the client must authenticate at the authorization server;
    /// [`as_client`](Self::as_client) follows.
    pub fn set_as_client_auth(&self, method: ClientAuthMethod) {
        self.shared
            .update(|settings| settings.as_client_auth = method);
    }

    /// Sets what the authorization server makes of an ID-JAG it has seen (decisions.md D13,
    /// D23); the `jti`s already seen stay seen.
    pub fn set_id_jag_replay(&self, mode: ReplayMode) {
        self.shared.update(|settings| settings.id_jag_replay = mode);
    }

    /// Turns DPoP on or off on all three servers ([`Options::dpop`]).
    pub fn set_dpop(&self, on: bool) {
        self.shared.update(|settings| settings.dpop = on);
    }

    /// Whether the authorization server and the MCP server accept only DPoP-bound tokens
    /// ([`Options::dpop_required`]).
    pub fn set_dpop_required(&self, required: bool) {
        self.shared
            .update(|settings| settings.dpop_required = required);
    }

    /// Whether `server` requires its DPoP nonce ([`Options::dpop_nonce_servers`]).
    pub fn set_dpop_nonce_required(&self, server: Server, required: bool) {
        self.shared.update(|settings| {
            settings
                .dpop_nonce_servers
                .retain(|listed| *listed != server);
            if required {
                settings.dpop_nonce_servers.push(server);
            }
        });
    }

    /// Whether the authorization server serves and offers the `jwt-dpop` grant
    /// ([`Options::jwt_dpop_grant`]).
    pub fn set_jwt_dpop_grant(&self, offered: bool) {
        self.shared
            .update(|settings| settings.jwt_dpop_grant = offered);
    }

    /// Whether the MCP server requires `content_digest` in proofs
    /// ([`Options::mcp_content_digest_required`]).
    pub fn set_mcp_content_digest_required(&self, required: bool) {
        self.shared
            .update(|settings| settings.mcp_content_digest_required = required);
    }

    /// The DPoP nonce `server` supplies now (it rotates every 5 minutes).
    pub fn dpop_nonce(&self, server: Server) -> String {
        self.shared
            .dpop_nonces
            .of(server)
            .current(std::time::SystemTime::now())
    }

    /// Rotates `server`'s DPoP nonce now: the previous one stays accepted for a minute, and
    /// a successful response to a proof carrying it supplies the new one (RFC 9449 section
    /// 8.2). Returns the new nonce.
    pub fn rotate_dpop_nonce(&self, server: Server) -> String {
        self.shared
            .dpop_nonces
            .of(server)
            .rotate(std::time::SystemTime::now())
    }

    /// Delays every answer of `endpoint` (zero removes the delay).
    pub fn set_delay(&self, endpoint: Endpoint, delay: Duration) {
        self.shared.update(|settings| {
            settings.delays.insert(endpoint, delay);
        });
    }

    /// Removes every delay.
    pub fn clear_delays(&self) {
        self.shared.update(|settings| settings.delays.clear());
    }

    /// Arms a fault on `endpoint` until cleared (replacing any other fault there).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.set_fault(endpoint, fault, None);
    }

    /// Arms a fault on `endpoint` for its next `times` requests only.
    pub fn set_fault_times(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        self.shared.set_fault(endpoint, fault, Some(times));
    }

    /// Disarms the fault of `endpoint`.
    pub fn clear_fault(&self, endpoint: Endpoint) {
        self.shared.clear_fault(endpoint);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Back to the state at start: the runtime settings and faults of the start options, no
    /// recorded request, every access token revoked, no MCP session, no sign-in code,
    /// refresh token or device grant (a rotated IdP signing key stays rotated).
    pub fn reset(&self) {
        let initial = self.initial.clone();
        self.shared.update(|settings| *settings = initial.clone());
        self.shared.clear_faults();
        for (endpoint, fault) in &initial.faults {
            self.shared.set_fault(*endpoint, fault.clone(), None);
        }
        self.shared.tokens.revoke_all();
        self.shared.sign_in.forget_all();
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        self.shared.recorder.clear();
    }
}
