//! The reqwest client that carries the MCP traffic (not the token flows: those go through
//! [`xaa_reqwest::Client`]).

use std::time::Duration;

/// The connect timeout (resolve, TCP and TLS) of MCP requests.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A reqwest builder set up for MCP traffic, to adjust and build:
///
/// * **No redirects**: a 3xx comes back to rmcp as a response, so the bearer token is never
///   replayed to another location (decisions.md D4). rmcp's own default follows same-origin
///   307/308; pass a client with that policy to
///   [`AuthorizedHttpClient::with_client`](crate::AuthorizedHttpClient::with_client) if you
///   need it.
/// * **A connect timeout** ([`CONNECT_TIMEOUT`]) and **no total timeout**: a Streamable HTTP
///   response may be an SSE stream that stays open for the whole session.
/// * **No idle pooling**, as rmcp's own default client: an SSE response that was not read to
///   its end leaves a connection that would stall the next request on Linux.
/// * **TLS** (feature `rustls`, on by default) through rustls with **aws-lc-rs**, the one crypto
///   backend of the workspace: reqwest's `rustls-no-provider`, with the whole `ClientConfig`
///   handed over (`tls_backend_preconfigured`), Mozilla's roots (`webpki-root-certs`) and
///   HTTP/1.1. rustls's process-wide default provider is neither read nor installed.
/// * **Proxies**: reqwest's default (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, and the system
///   settings with the `system-proxy` feature).
///
/// # Errors
///
/// [`xaa_reqwest::Error::Config`] when rustls refuses the configuration (it does not with
/// aws-lc-rs and Mozilla's roots).
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, xaa_reqwest::Error> {
    #[cfg(feature = "rustls")]
    return http_client_builder_with_roots(&[]);
    #[cfg(not(feature = "rustls"))]
    return Ok(base_builder());
}

fn base_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_max_idle_per_host(0)
        .referer(false)
        .user_agent(concat!("xaa-rmcp/", env!("CARGO_PKG_VERSION")))
}

/// [`http_client_builder`] trusting these root certificates (DER) besides Mozilla's: a company
/// CA, or one a test generated.
///
/// # Errors
///
/// [`xaa_reqwest::Error::Config`] for a certificate rustls cannot parse.
#[cfg(feature = "rustls")]
pub fn http_client_builder_with_roots(
    extra_roots: &[Vec<u8>],
) -> Result<reqwest::ClientBuilder, xaa_reqwest::Error> {
    Ok(base_builder().tls_backend_preconfigured(tls::config(extra_roots)?))
}

/// [`http_client_builder`], built.
///
/// # Errors
///
/// [`xaa_reqwest::Error::Config`] when the client cannot be built.
pub fn http_client() -> Result<reqwest::Client, xaa_reqwest::Error> {
    http_client_builder()?
        .build()
        .map_err(|e| xaa_reqwest::Error::Config(format!("reqwest: {e}")))
}

#[cfg(feature = "rustls")]
mod tls {
    use std::sync::Arc;

    use rustls::pki_types::CertificateDer;
    use rustls::{ClientConfig, RootCertStore};

    /// aws-lc-rs set explicitly, safe default versions, Mozilla's roots plus `extra_roots`,
    /// HTTP/1.1 by ALPN.
    pub(super) fn config(extra_roots: &[Vec<u8>]) -> Result<ClientConfig, xaa_reqwest::Error> {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        for (index, der) in extra_roots.iter().enumerate() {
            roots.add(CertificateDer::from(der.clone())).map_err(|e| {
                xaa_reqwest::Error::Config(format!("root certificate #{index}: {e}"))
            })?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| xaa_reqwest::Error::Config(format!("TLS versions: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}
