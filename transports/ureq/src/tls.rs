//! TLS: rustls with aws-lc-rs, handed to ureq explicitly; Mozilla's roots plus the caller's.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::Error;

/// The crypto provider of every connection: aws-lc-rs, the one backend of the workspace.
///
/// ureq picks the provider set on the [`TlsConfig`] before rustls's process-wide default, so
/// this one is used whatever another crate installed; none is ever installed by this crate.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The agent's TLS configuration: the explicit provider, and Mozilla's roots (when
/// `webpki_roots`) plus `extra_roots` (DER).
pub(crate) fn config(webpki_roots: bool, extra_roots: &[Vec<u8>]) -> Result<TlsConfig, Error> {
    // ureq skips certificates it cannot parse; check the caller's here so a bad one is an
    // error at build time, not an unexplained verification failure later.
    let mut check = rustls::RootCertStore::empty();
    for (index, der) in extra_roots.iter().enumerate() {
        check
            .add(CertificateDer::from(der.as_slice()))
            .map_err(|e| Error::Config(format!("root certificate #{index}: {e}")))?;
    }
    let mut roots: Vec<Certificate<'static>> = Vec::new();
    if webpki_roots {
        roots.extend(
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der).to_owned()),
        );
    }
    roots.extend(
        extra_roots
            .iter()
            .map(|der| Certificate::from_der(der).to_owned()),
    );
    if roots.is_empty() {
        return Err(Error::Config(
            "no root certificates: keep Mozilla's roots or add one".into(),
        ));
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::new_with_certs(&roots))
        .unversioned_rustls_crypto_provider(provider())
        .build())
}
