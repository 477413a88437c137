//! TLS: a rustls `ClientConfig` built here with aws-lc-rs and handed to reqwest whole.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use xaa::driver::ClientOptions;

use crate::Error;

/// The client's TLS configuration: aws-lc-rs, the one crypto backend of the workspace, set
/// explicitly (rustls's process-wide default is neither read nor installed), HTTP/1.1 by ALPN,
/// and Mozilla's roots (when the options keep them) plus the options' own (DER).
pub(crate) fn config(options: &ClientOptions) -> Result<ClientConfig, Error> {
    let mut roots = RootCertStore::empty();
    if options.webpki_roots {
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    }
    for (index, der) in options.extra_roots.iter().enumerate() {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| Error::Config(format!("root certificate #{index}: {e}")))?;
    }
    options.check_roots()?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
