//! TLS with a CA generated here: the caller's root is trusted, Mozilla's alone are not enough,
//! and rustls never needs (or gets) a process-wide crypto provider.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;

use crate::driver::{Client, Error, ProxySetting};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

fn get(url: String) -> xaa::HttpRequest {
    http::Request::get(url).body(Vec::new()).expect("request")
}

/// A CA and a `localhost` certificate it signed: (CA DER, server config).
fn pki() -> (Vec<u8>, Arc<rustls::ServerConfig>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(leaf.der().to_vec())], key)
        .expect("server config");
    (ca.der().to_vec(), Arc::new(config))
}

/// Answers one TLS connection with `200 OK` and body `secure`.
fn serve_tls(config: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        let connection = rustls::ServerConnection::new(config).expect("connection");
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        crate::loopback::read_request(&mut tls);
        let _ = tls.write_all(&crate::loopback::response("200 OK", &[], b"secure"));
        tls.conn.send_close_notify();
        let _ = tls.flush();
    });
    addr
}

driver_test! {
    fn trusts_an_added_root_with_the_explicit_provider_only() {
        assert!(CryptoProvider::get_default().is_none());
        let (ca, server) = pki();
        let addr = serve_tls(server.clone());
        let client = Client::builder()
            .proxy(ProxySetting::None)
            .webpki_roots(false)
            .add_root_certificate(ca)
            .build()
            .expect("client");
        let url = format!("https://localhost:{}/", addr.port());
        let response = wait!(client.send(get(url)))
            .expect("TLS with the added root");
        assert_eq!(response.body(), b"secure");
        // The handshake ran on the provider the client was given: none was installed.
        assert!(CryptoProvider::get_default().is_none());

        // Mozilla's roots alone do not trust the test CA.
        let addr = serve_tls(server);
        let url = format!("https://localhost:{}/", addr.port());
        let mozilla_only = Client::builder()
            .proxy(ProxySetting::None)
            .build()
            .expect("client");
        let result = wait!(mozilla_only.send(get(url)));
        assert!(matches!(result, Err(Error::Transport { .. })), "{result:?}");
        assert!(CryptoProvider::get_default().is_none());
    }
}

driver_test! {
    fn a_bad_root_or_none_is_a_configuration_error() {
        let bad = Client::builder()
            .add_root_certificate(b"not DER".to_vec())
            .build();
        assert!(matches!(bad, Err(Error::Config(_))), "{bad:?}");
        let none = Client::builder().webpki_roots(false).build();
        assert!(matches!(none, Err(Error::Config(_))), "{none:?}");
    }
}
