//! The command line: clap for flags and `XAA_*` variables, a TOML file for the rest.
//! Precedence: flags, then environment, then file (clap resolves the first two).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::exit::EXIT_CODES;
use crate::network::{NetworkSettings, parse_deadline, parse_timeout};

/// Get an MCP access token through enterprise-managed authorization (SEP-990, ID-JAG), debug a
/// setup, or watch the whole flow against loopback servers.
#[derive(Debug, Parser)]
#[command(name = "xaa", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the whole flow against an IdP, an MCP authorization server and an MCP server started
    /// on 127.0.0.1, printing each step.
    Demo {
        /// Print one JSON document instead of the steps.
        #[arg(long)]
        json: bool,
        /// Bind the tokens to a DPoP key made for the run (RFC 9449): the servers require
        /// proofs and the authorization server a nonce, so the run shows one nonce retry.
        #[arg(long)]
        dpop: bool,
        /// Sign in at the IdP first (authorization code flow with PKCE, the demo filling in
        /// the IdP's sign-in page itself) and use the ID token it gets as the subject token.
        #[arg(long)]
        sign_in: bool,
    },
    /// Get an access token for an MCP server and print it (stdout: the token alone).
    Token(Box<TokenArgs>),
    /// Discover an MCP server's authorization setup and diagnose it.
    Discover(DiscoverArgs),
    /// Show a JWT's header and claims (nothing is verified unless --verify-jwks is given).
    Decode(DecodeArgs),
    /// Print one DPoP proof (RFC 9449) for one request: the value of its `DPoP` header.
    #[command(after_help = crate::dpop_proof_help::HELP)]
    DpopProof(DpopProofArgs),
    /// Sign in at the enterprise IdP in the browser (or with --device) and keep the session
    /// in the token store, so that `xaa token` needs no subject token.
    Login(Box<LoginArgs>),
    /// Show who is signed in, at which IdP, until when, and the access tokens kept (never a
    /// token).
    Status(StatusArgs),
    /// Sign out: revoke the refresh token at the IdP when it has a revocation endpoint, and
    /// delete the session and the access tokens kept.
    Logout(LogoutArgs),
}

/// `xaa login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// The IdP's issuer (its metadata is discovered and checked).
    #[arg(long, env = "XAA_IDP_ISSUER")]
    pub(crate) idp_issuer: String,
    /// The client id at the IdP.
    #[arg(long, env = "XAA_IDP_CLIENT_ID")]
    pub(crate) client_id: String,
    /// The file holding the client secret at the IdP (mode 0600); without it the client is
    /// public.
    #[arg(long, env = "XAA_IDP_SECRET_FILE")]
    pub(crate) client_secret_file: Option<String>,
    /// The PEM private key of the client at the IdP, for private_key_jwt (mode 0600).
    #[arg(long, env = "XAA_IDP_KEY_FILE", conflicts_with = "client_secret_file")]
    pub(crate) client_key_file: Option<String>,
    /// The `kid` of the client's assertions (default: the client id).
    #[arg(long, env = "XAA_IDP_KEY_ID", requires = "client_key_file")]
    pub(crate) client_key_id: Option<String>,
    /// The algorithm of the private key (ES256 or RS256; default ES256).
    #[arg(long, env = "XAA_KEY_ALG", requires = "client_key_file")]
    pub(crate) key_alg: Option<String>,
    /// How the client authenticates at the IdP (default: private_key_jwt with a key file,
    /// client_secret_basic with a secret file, none without either).
    #[arg(long, env = "XAA_IDP_AUTH", value_enum)]
    pub(crate) client_auth: Option<AuthMethod>,
    /// The scope to ask for beyond `openid` (space-separated).
    #[arg(long, env = "XAA_LOGIN_SCOPE")]
    pub(crate) scope: Option<String>,
    /// The most seconds since the person last authenticated at the IdP (`max_age`).
    #[arg(long, value_name = "SECS")]
    pub(crate) max_age: Option<u64>,
    /// Print the sign-in URL on stdout instead of opening the browser.
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Sign in with the device authorization grant (RFC 8628): a code to enter on another
    /// device.
    #[arg(long, conflicts_with = "no_browser")]
    pub(crate) device: bool,
    /// Keep the session in this file (mode 0600; default $XDG_STATE_HOME/xaa/store.json).
    #[arg(long, env = "XAA_TOKEN_STORE")]
    pub(crate) token_store: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) credential_store: CredentialStoreArgs,
    #[command(flatten)]
    pub(crate) network: NetworkArgs,
}

/// `xaa status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The token store to read (default $XDG_STATE_HOME/xaa/store.json).
    #[arg(long, env = "XAA_TOKEN_STORE")]
    pub(crate) token_store: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) credential_store: CredentialStoreArgs,
}

/// `xaa logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// The token store to clear (default $XDG_STATE_HOME/xaa/store.json).
    #[arg(long, env = "XAA_TOKEN_STORE")]
    pub(crate) token_store: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) credential_store: CredentialStoreArgs,
    #[command(flatten)]
    pub(crate) network: NetworkArgs,
}

/// Whether the token store is sealed with a data key kept in the OS credential store
/// (`--credential-store`, docs/signin.md "Storage").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub(crate) enum CredentialStoreChoice {
    /// Use the OS credential store when it answers; else keep the file unencrypted (0600)
    /// and say so once.
    #[default]
    Auto,
    /// Use the OS credential store; fail when it does not answer.
    Os,
    /// Never ask the OS credential store: the file is unencrypted (0600).
    None,
}

/// The `--credential-store` option of the commands that use the token store.
#[derive(Clone, Copy, Debug, Default, Args)]
pub(crate) struct CredentialStoreArgs {
    /// Seal the token store with a key kept in the OS credential store (Secret Service,
    /// Keychain, Credential Manager): auto (when one answers), os (required) or none.
    #[arg(
        long = "credential-store",
        env = "XAA_CREDENTIAL_STORE",
        value_enum,
        default_value_t,
        value_name = "auto|os|none"
    )]
    pub(crate) choice: CredentialStoreChoice,
}

/// How strictly tokens are bound to the DPoP key (RFC 9449).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub(crate) enum DpopPolicyArg {
    /// Send proofs; accept a bearer token from a server that does not bind it.
    Preferred,
    /// Every token must come back bound to the key, or the run fails.
    Required,
}

/// How a client authenticates at a token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub(crate) enum AuthMethod {
    /// A public client: client_id only.
    None,
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// client_id and client_secret in the body.
    ClientSecretPost,
    /// A client assertion signed with a private key (PEM file).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The method's name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// The kind of subject token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub(crate) enum SubjectKind {
    /// An OpenID Connect ID token.
    IdToken,
    /// A SAML 2.0 assertion (base64url).
    Saml2,
    /// An IdP refresh token.
    RefreshToken,
}

/// Every setting of `xaa token`. Each is a flag, an `XAA_*` variable, or a key of the TOML
/// file given by `--config` (same names with underscores). Secrets are never values here:
/// only the file or variable that holds them.
#[derive(Clone, Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenArgs {
    /// A TOML file with any of these settings.
    #[arg(long, env = "XAA_CONFIG")]
    #[serde(skip)]
    pub(crate) config: Option<PathBuf>,
    /// The MCP server URL.
    #[arg(long, env = "XAA_SERVER")]
    pub(crate) server: Option<String>,
    /// The IdP's issuer (its metadata is discovered and checked).
    #[arg(long, env = "XAA_IDP_ISSUER", conflicts_with = "idp_token_endpoint")]
    pub(crate) idp_issuer: Option<String>,
    /// The IdP's token endpoint (no discovery).
    #[arg(long, env = "XAA_IDP_TOKEN_ENDPOINT")]
    pub(crate) idp_token_endpoint: Option<String>,
    /// The subject token's kind.
    #[arg(long, env = "XAA_SUBJECT_TOKEN_TYPE", value_enum)]
    pub(crate) subject_token_type: Option<SubjectKind>,
    /// Read the subject token from this file.
    #[arg(long, env = "XAA_SUBJECT_TOKEN_FILE")]
    pub(crate) subject_token_file: Option<String>,
    /// Read the subject token from this environment variable.
    #[arg(long, env = "XAA_SUBJECT_TOKEN_ENV")]
    pub(crate) subject_token_env: Option<String>,
    /// Read the subject token from stdin.
    #[arg(long)]
    #[serde(default)]
    pub(crate) subject_token_stdin: bool,
    /// The client id at the IdP.
    #[arg(long, env = "XAA_IDP_CLIENT_ID")]
    pub(crate) idp_client_id: Option<String>,
    /// How the client authenticates at the IdP.
    #[arg(long, env = "XAA_IDP_AUTH", value_enum)]
    pub(crate) idp_auth: Option<AuthMethod>,
    /// The file holding the IdP client secret.
    #[arg(long, env = "XAA_IDP_SECRET_FILE")]
    pub(crate) idp_secret_file: Option<String>,
    /// The environment variable holding the IdP client secret.
    #[arg(long, env = "XAA_IDP_SECRET_ENV")]
    pub(crate) idp_secret_env: Option<String>,
    /// The PEM private key for private_key_jwt at the IdP.
    #[arg(long, env = "XAA_IDP_KEY_FILE")]
    pub(crate) idp_key_file: Option<String>,
    /// The client id at the MCP authorization server.
    #[arg(long, env = "XAA_AS_CLIENT_ID")]
    pub(crate) as_client_id: Option<String>,
    /// How the client authenticates at the MCP authorization server.
    #[arg(long, env = "XAA_AS_AUTH", value_enum)]
    pub(crate) as_auth: Option<AuthMethod>,
    /// The file holding the MCP authorization server client secret.
    #[arg(long, env = "XAA_AS_SECRET_FILE")]
    pub(crate) as_secret_file: Option<String>,
    /// The environment variable holding the MCP authorization server client secret.
    #[arg(long, env = "XAA_AS_SECRET_ENV")]
    pub(crate) as_secret_env: Option<String>,
    /// The PEM private key for private_key_jwt at the MCP authorization server.
    #[arg(long, env = "XAA_AS_KEY_FILE")]
    pub(crate) as_key_file: Option<String>,
    /// The signing algorithm of the private keys (ES256 or RS256).
    #[arg(long, env = "XAA_KEY_ALG")]
    pub(crate) key_alg: Option<String>,
    /// The `kid` of the IdP client assertions (default: the IdP client id).
    #[arg(long, env = "XAA_IDP_KEY_ID")]
    pub(crate) idp_key_id: Option<String>,
    /// The `kid` of the authorization server client assertions (default: that client id).
    #[arg(long, env = "XAA_AS_KEY_ID")]
    pub(crate) as_key_id: Option<String>,
    /// The scope to request (space-separated); default: what the server asks for.
    #[arg(long, env = "XAA_SCOPE")]
    pub(crate) scope: Option<String>,
    /// Pin the MCP authorization server: only this issuer may receive the ID-JAG.
    #[arg(long, env = "XAA_AUTHORIZATION_SERVER")]
    pub(crate) authorization_server: Option<String>,
    /// Allow plain http for loopback hosts (testing only).
    #[arg(long, env = "XAA_INSECURE_LOOPBACK", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) insecure_loopback: Option<bool>,
    /// Keep tokens in this file (mode 0600) and reuse a valid one (decisions.md D21). Without
    /// it and without a subject token, the session of `xaa login` is read from the default
    /// store ($XDG_STATE_HOME/xaa/store.json), and no access token is kept.
    #[arg(long, env = "XAA_TOKEN_STORE")]
    pub(crate) token_store: Option<PathBuf>,
    /// Seal the token store with a key kept in the OS credential store: auto (default: when
    /// one answers), os (required) or none.
    #[arg(
        long,
        env = "XAA_CREDENTIAL_STORE",
        value_enum,
        value_name = "auto|os|none"
    )]
    pub(crate) credential_store: Option<CredentialStoreChoice>,
    /// Bind the tokens to the ES256 key in this file (PKCS#8 PEM, mode 0600) with DPoP
    /// (RFC 9449).
    #[arg(long, env = "XAA_DPOP_KEY")]
    pub(crate) dpop_key: Option<PathBuf>,
    /// Bind the tokens with DPoP to a key xaa keeps beside the token store (made on first
    /// use; needs --token-store).
    #[arg(long, env = "XAA_DPOP", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) dpop: Option<bool>,
    /// With a DPoP key: whether a bearer token is acceptable (default: required).
    #[arg(long, env = "XAA_DPOP_POLICY", value_enum)]
    pub(crate) dpop_policy: Option<DpopPolicyArg>,
    /// Let HOST resolve to private and loopback addresses (repeatable): a server on the company
    /// network, whether these settings or a server's document name it. Link-local and
    /// unspecified addresses stay refused.
    #[arg(long = "allow-private-host", value_name = "HOST")]
    #[serde(default)]
    pub(crate) allow_private_host: Vec<String>,
    /// Switch the private-address guard off for every host (link-local and unspecified
    /// addresses stay refused).
    #[arg(long, env = "XAA_ALLOW_PRIVATE_ADDRESSES", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) allow_private_addresses: Option<bool>,
    /// Use these addresses for HOST instead of DNS: `HOST=ADDR[,ADDR...]` (repeatable). The
    /// address guard still applies.
    #[arg(long, value_name = "HOST=ADDR")]
    #[serde(default)]
    pub(crate) resolve: Vec<String>,
    /// Seconds each request may take, a whole number from 1 to 3600 (default 30).
    #[arg(long, value_name = "SECS", env = "XAA_TIMEOUT", value_parser = parse_timeout)]
    pub(crate) timeout: Option<u64>,
    /// Seconds the whole run may take, a whole number from 1 to 7200 (default twice --timeout).
    #[arg(long, value_name = "SECS", env = "XAA_DEADLINE", value_parser = parse_deadline)]
    pub(crate) deadline: Option<u64>,
    /// Print token, type, expiry, scope, resource, authorization server and the DPoP key the
    /// token is bound to (`jkt`, null for a bearer token) as JSON.
    #[arg(long)]
    #[serde(default)]
    pub(crate) json: bool,
}

macro_rules! fill {
    ($target:ident, $file:ident, $($field:ident),+) => {
        $( if $target.$field.is_none() { $target.$field = $file.$field; } )+
    };
}

impl TokenArgs {
    /// Fills every setting still unset from `file` (flags and environment win).
    pub(crate) fn fill_from(mut self, file: TokenArgs) -> TokenArgs {
        fill!(
            self,
            file,
            server,
            idp_issuer,
            idp_token_endpoint,
            subject_token_type,
            subject_token_file,
            subject_token_env,
            idp_client_id,
            idp_auth,
            idp_secret_file,
            idp_secret_env,
            idp_key_file,
            as_client_id,
            as_auth,
            as_secret_file,
            as_secret_env,
            as_key_file,
            key_alg,
            idp_key_id,
            as_key_id,
            scope,
            authorization_server,
            insecure_loopback,
            token_store,
            credential_store,
            dpop_key,
            dpop,
            dpop_policy,
            timeout,
            deadline,
            allow_private_addresses
        );
        if self.allow_private_host.is_empty() {
            self.allow_private_host = file.allow_private_host;
        }
        if self.resolve.is_empty() {
            self.resolve = file.resolve;
        }
        self.subject_token_stdin |= file.subject_token_stdin;
        self
    }
}

/// `xaa discover`.
#[derive(Debug, Args)]
#[command(after_help = crate::discover_limits::help())]
pub(crate) struct DiscoverArgs {
    /// The MCP server URL.
    pub(crate) url: String,
    /// Also check this IdP issuer's metadata.
    #[arg(long, env = "XAA_IDP_ISSUER")]
    pub(crate) idp_issuer: Option<String>,
    #[command(flatten)]
    pub(crate) network: NetworkArgs,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `xaa decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The token, `-` for stdin, or omitted with --file.
    pub(crate) token: Option<String>,
    /// Read the token from this file.
    #[arg(long)]
    pub(crate) file: Option<String>,
    /// Verify the signature with this JWKS (a file, or an http(s) URL).
    #[arg(long)]
    pub(crate) verify_jwks: Option<String>,
    #[command(flatten)]
    pub(crate) network: NetworkArgs,
    /// Print one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `xaa dpop-proof`.
#[derive(Debug, Args)]
pub(crate) struct DpopProofArgs {
    /// The request's HTTP method (the proof's `htm`).
    #[arg(long, default_value = "POST")]
    pub(crate) method: String,
    /// The request's URL (the proof's `htu` is it without query and fragment).
    #[arg(long)]
    pub(crate) url: String,
    /// Sign with the ES256 key in this file (PKCS#8 PEM, mode 0600).
    #[arg(
        long,
        env = "XAA_DPOP_KEY",
        conflicts_with = "dpop",
        required_unless_present = "dpop"
    )]
    pub(crate) dpop_key: Option<PathBuf>,
    /// Sign with the key xaa keeps beside the token store (what `xaa token --dpop` uses).
    #[arg(long)]
    pub(crate) dpop: bool,
    /// The token store (for --dpop and --from-store).
    #[arg(long, env = "XAA_TOKEN_STORE")]
    pub(crate) token_store: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) credential_store: CredentialStoreArgs,
    /// The access token sent with the request, from this file (mode 0600): the proof gets
    /// its hash, `ath`.
    #[arg(long, conflicts_with = "from_store")]
    pub(crate) access_token_file: Option<String>,
    /// The access token sent with the request, from the token store: the one token bound to
    /// this key for this URL.
    #[arg(long)]
    pub(crate) from_store: bool,
    /// The nonce the server sent in its last `DPoP-Nonce` header.
    #[arg(long)]
    pub(crate) nonce: Option<String>,
    /// Add `content_digest`, the SHA-256 of the exact bytes of --body-file.
    #[arg(long, requires = "body_file")]
    pub(crate) content_digest: bool,
    /// The request's body, for --content-digest.
    #[arg(long, requires = "content_digest")]
    pub(crate) body_file: Option<PathBuf>,
}

/// How `discover` and `decode --verify-jwks URL` reach servers (`xaa token` has the same
/// settings among its own, which a config file may also give).
#[derive(Debug, Args)]
pub(crate) struct NetworkArgs {
    /// Allow plain http for loopback hosts, and loopback addresses (testing only).
    #[arg(long)]
    pub(crate) insecure_loopback: bool,
    /// Seconds each request may take, a whole number from 1 to 3600 (default 30).
    #[arg(long, value_name = "SECS", env = "XAA_TIMEOUT", value_parser = parse_timeout)]
    pub(crate) timeout: Option<u64>,
    /// Seconds the whole run may take, a whole number from 1 to 7200 (default twice --timeout).
    #[arg(long, value_name = "SECS", env = "XAA_DEADLINE", value_parser = parse_deadline)]
    pub(crate) deadline: Option<u64>,
    /// Let this host resolve to private addresses (repeatable).
    #[arg(long = "allow-private-host", value_name = "HOST")]
    pub(crate) allow_private_host: Vec<String>,
    /// Switch the private-address guard off for every host (link-local and unspecified
    /// addresses stay refused).
    #[arg(long)]
    pub(crate) allow_private_addresses: bool,
    /// Use these addresses for HOST instead of DNS: `HOST=ADDR[,ADDR...]` (repeatable). The
    /// address guard still applies.
    #[arg(long, value_name = "HOST=ADDR")]
    pub(crate) resolve: Vec<String>,
}

impl NetworkArgs {
    /// The settings, for [`crate::network::Network::new`].
    pub(crate) fn settings(&self) -> NetworkSettings<'_> {
        NetworkSettings {
            timeout: self.timeout,
            deadline: self.deadline,
            allow_private_hosts: &self.allow_private_host,
            allow_private_addresses: self.allow_private_addresses,
            resolve: &self.resolve,
        }
    }
}
