//! Every URL and path the kit serves, fixed at start.

/// Well-known paths.
pub(crate) const OAUTH_METADATA: &str = xaa::constants::WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER;
pub(crate) const OIDC_METADATA: &str = xaa::constants::WELL_KNOWN_OPENID_CONFIGURATION;
pub(crate) const PRM_ROOT: &str = xaa::constants::WELL_KNOWN_PROTECTED_RESOURCE;
pub(crate) const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
pub(crate) const MCP_PATH: &str = "/mcp";
pub(crate) const TOKEN_PATH: &str = "/token";
pub(crate) const JWKS_PATH: &str = "/jwks";
pub(crate) const AUTHORIZE_PATH: &str = "/authorize";
pub(crate) const SIGN_IN_PATH: &str = "/authorize/sign-in";
pub(crate) const DEVICE_AUTHORIZATION_PATH: &str = "/device_authorization";
pub(crate) const DEVICE_PATH: &str = "/device";
pub(crate) const REVOCATION_PATH: &str = "/revoke";

/// Every URL of the kit, fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    pub(crate) idp_issuer: String,
    pub(crate) idp_token_endpoint: String,
    pub(crate) idp_jwks_uri: String,
    pub(crate) idp_authorization_endpoint: String,
    pub(crate) idp_device_authorization_endpoint: String,
    pub(crate) idp_device_verification_uri: String,
    pub(crate) idp_revocation_endpoint: String,
    pub(crate) as_origin: String,
    pub(crate) as_issuer: String,
    pub(crate) as_metadata_path: String,
    /// The token endpoint's path on the issuer's origin; `None` when it lives elsewhere.
    pub(crate) as_token_path: Option<String>,
    pub(crate) as_token_endpoint: String,
    pub(crate) mcp_origin: String,
    pub(crate) mcp_url: String,
    pub(crate) prm_path_url: String,
    pub(crate) prm_root_url: String,
}

impl Urls {
    /// `origins` are those of the IdP, the AS, the MCP server and the optional fourth
    /// listener; `as_issuer_path` is normalized (`""` or `/segment...`).
    pub(crate) fn new(
        idp: String,
        authorization_server: String,
        mcp: String,
        as_token_origin: Option<String>,
        as_issuer_path: &str,
    ) -> Self {
        let as_issuer = format!("{authorization_server}{as_issuer_path}");
        let (as_token_path, as_token_endpoint) = match as_token_origin {
            Some(origin) => (None, format!("{origin}{TOKEN_PATH}")),
            None => {
                let path = format!("{as_issuer_path}{TOKEN_PATH}");
                let endpoint = format!("{authorization_server}{path}");
                (Some(path), endpoint)
            }
        };
        Self {
            idp_token_endpoint: format!("{idp}{TOKEN_PATH}"),
            idp_jwks_uri: format!("{idp}{JWKS_PATH}"),
            idp_authorization_endpoint: format!("{idp}{AUTHORIZE_PATH}"),
            idp_device_authorization_endpoint: format!("{idp}{DEVICE_AUTHORIZATION_PATH}"),
            idp_device_verification_uri: format!("{idp}{DEVICE_PATH}"),
            idp_revocation_endpoint: format!("{idp}{REVOCATION_PATH}"),
            idp_issuer: idp,
            as_metadata_path: format!("{OAUTH_METADATA}{as_issuer_path}"),
            as_token_path,
            as_token_endpoint,
            as_issuer,
            as_origin: authorization_server,
            mcp_url: format!("{mcp}{MCP_PATH}"),
            prm_path_url: format!("{mcp}{PRM_PATH}"),
            prm_root_url: format!("{mcp}{PRM_ROOT}"),
            mcp_origin: mcp,
        }
    }

    /// The resource identifiers the MCP server answers to: its URL (path-inserted PRM) and
    /// its origin (root PRM).
    pub(crate) fn resources(&self) -> [&str; 2] {
        [self.mcp_url.as_str(), self.mcp_origin.as_str()]
    }
}

/// `""`, or the path with one leading `/` and no trailing one.
pub(crate) fn normalize_path(path: Option<&str>) -> String {
    let trimmed = path.unwrap_or_default().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}
