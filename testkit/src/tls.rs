//! The certificate a kit serves https with, and the rustls server configuration built from it.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// A certificate chain and its private key, for [`Options::tls`](crate::Options::tls). The
/// certificate must name the host of the kit's URLs ([`Options::host`](crate::Options::host):
/// `127.0.0.1` as an IP address SAN, or `localhost`).
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl TlsIdentity {
    /// From PEM: one or more `CERTIFICATE` blocks (leaf first) and a `PRIVATE KEY`,
    /// `EC PRIVATE KEY` or `RSA PRIVATE KEY` block.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| Error::Tls(format!("certificate PEM: {error}")))?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|error| Error::Tls(format!("private key PEM: {error}")))?;
        Self::new(chain, key)
    }

    /// From DER: the certificates (leaf first) and a PKCS#8, SEC1 or PKCS#1 private key.
    pub fn from_der(chain: Vec<Vec<u8>>, key: Vec<u8>) -> Result<Self, Error> {
        let chain = chain.into_iter().map(CertificateDer::from).collect();
        let key = PrivateKeyDer::try_from(key)
            .map_err(|error| Error::Tls(format!("private key DER: {error}")))?;
        Self::new(chain, key)
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, Error> {
        if chain.is_empty() {
            return Err(Error::Tls("no certificate".into()));
        }
        Ok(Self { chain, key })
    }

    /// The rustls server configuration: aws-lc-rs, passed explicitly; HTTP/1.1 by ALPN.
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| Error::Tls(error.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|error| Error::Tls(error.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl Clone for TlsIdentity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}
