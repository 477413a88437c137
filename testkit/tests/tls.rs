//! The kit over https: a caller-supplied certificate (PEM or DER), URLs on `127.0.0.1` or
//! `localhost`, and the whole flow under the strict default policy.

mod common;

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::pki_types::{CertificateDer, ServerName};
use xaa::grant::SubjectToken;
use xaa::{EnterpriseAuth, HttpRequest, HttpResponse, Start};
use xaa_testkit::{Options, Testkit, TlsIdentity};

struct Certificate {
    pem: String,
    der: Vec<u8>,
    key_pem: String,
    key_der: Vec<u8>,
}

fn certificate() -> Certificate {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("certificate");
    Certificate {
        pem: certified.cert.pem(),
        der: certified.cert.der().to_vec(),
        key_pem: certified.signing_key.serialize_pem(),
        key_der: certified.signing_key.serialize_der(),
    }
}

/// An https client trusting only `certificate`.
fn client(certificate: &Certificate) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(certificate.der.clone()))
        .expect("root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn send(config: &Arc<rustls::ClientConfig>, request: HttpRequest) -> io::Result<HttpResponse> {
    let (host, port) = common::host_port(&request)?;
    let name = ServerName::try_from(host.clone()).map_err(io::Error::other)?;
    let connection =
        rustls::ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
    let socket = TcpStream::connect((host.as_str(), port))?;
    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
    common::exchange(rustls::StreamOwned::new(connection, socket), &request)
}

#[test]
fn https_with_a_pem_certificate_on_127_0_0_1() {
    let certificate = certificate();
    let identity =
        TlsIdentity::from_pem(certificate.pem.as_bytes(), certificate.key_pem.as_bytes())
            .expect("identity");
    let kit = Testkit::start(Options::default().tls(identity)).expect("kit starts");
    assert!(kit.mcp_url().starts_with("https://127.0.0.1:"));
    assert!(kit.idp_issuer().starts_with("https://127.0.0.1:"));
    let config = client(&certificate);
    let response = send(&config, common::get(&kit.resource_metadata_url())).expect("PRM");
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
    assert_eq!(document["resource"], kit.mcp_url());
    // Plain http on the same port is refused by the TLS layer.
    assert!(
        common::send(common::get(
            &kit.resource_metadata_url().replace("https", "http")
        ))
        .is_err()
    );
    kit.stop();
}

#[test]
fn the_whole_flow_over_https_on_localhost_under_the_default_policy() {
    let certificate = certificate();
    let identity =
        TlsIdentity::from_der(vec![certificate.der.clone()], certificate.key_der.clone())
            .expect("identity");
    let kit =
        Testkit::start(Options::default().host("localhost").tls(identity)).expect("kit starts");
    assert!(kit.mcp_url().starts_with("https://localhost:"));
    let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
    assert!(!config.policy.allow_http_loopback);
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
    let client = client(&certificate);
    let authorization = xaa::drive(flow, SystemTime::now, |request| send(&client, request))
        .expect("the flow succeeds over https");
    assert_eq!(authorization.resource, kit.mcp_url());
    assert_eq!(kit.token_requests().len(), 2);
    kit.stop();
}

#[test]
fn unusable_identities_are_refused() {
    assert!(TlsIdentity::from_pem(b"", b"").is_err());
    assert!(TlsIdentity::from_der(vec![], vec![1, 2, 3]).is_err());
    let certificate = certificate();
    let other = self::certificate();
    // A key that does not match the certificate.
    let identity = TlsIdentity::from_pem(certificate.pem.as_bytes(), other.key_pem.as_bytes())
        .expect("parses");
    assert!(Testkit::start(Options::default().tls(identity)).is_err());
}
