//! TLS: rustls with aws-lc-rs, handed to ureq explicitly; Mozilla's roots plus the caller's.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use xaa::driver::ClientOptions;

use crate::Error;

/// The agent's TLS configuration: aws-lc-rs, the one crypto backend of the workspace, as the
/// provider (ureq picks the provider set here before rustls's process-wide default, so this
/// one is used whatever another crate installed; none is ever installed by this crate), and
/// Mozilla's roots (when the options keep them) plus the options' own (DER).
pub(crate) fn config(options: &ClientOptions) -> Result<TlsConfig, Error> {
    // ureq skips certificates it cannot parse; check the caller's here so a bad one is an
    // error at build time, not an unexplained verification failure later.
    let mut check = rustls::RootCertStore::empty();
    for (index, der) in options.extra_roots.iter().enumerate() {
        check
            .add(CertificateDer::from(der.as_slice()))
            .map_err(|e| Error::Config(format!("root certificate #{index}: {e}")))?;
    }
    options.check_roots()?;
    let mozilla = options
        .webpki_roots
        .then_some(webpki_root_certs::TLS_SERVER_ROOT_CERTS);
    let roots: Vec<Certificate<'static>> = (mozilla.unwrap_or_default().iter())
        .map(|der| Certificate::from_der(der).to_owned())
        .chain(
            options
                .extra_roots
                .iter()
                .map(|der| Certificate::from_der(der).to_owned()),
        )
        .collect();
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::new_with_certs(&roots))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build())
}
