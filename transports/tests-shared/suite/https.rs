//! The whole flow over https: the testkit serves a certificate from a CA generated here, the
//! client trusts that CA, and the policy is the strict default (https only).

use crate::common;

use crate::driver::{Authorizer, Error};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use xaa::grant::SubjectToken;
use xaa::{EnterpriseAuth, Start};
use xaa_testkit::{Endpoint, Options, Testkit, TlsIdentity};

/// A CA and a `localhost` certificate it signed: (CA DER, leaf PEM, leaf key PEM).
fn pki() -> (Vec<u8>, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    (ca.der().to_vec(), leaf.pem(), leaf_key.serialize_pem())
}

fn https_kit() -> (Testkit, Vec<u8>) {
    let (ca, chain, key) = pki();
    let identity = TlsIdentity::from_pem(chain.as_bytes(), key.as_bytes()).expect("identity");
    let kit = common::kit_with(Options::default().host("localhost").tls(identity));
    assert!(kit.mcp_url().starts_with("https://localhost:"));
    (kit, ca)
}

driver_test! {
    fn the_whole_flow_over_https_with_a_ca_trusted_by_the_client() {
        let (kit, ca) = https_kit();
        let config = common::config(&kit);
        assert!(!config.policy.allow_http_loopback, "the strict default");
        assert_eq!(config.policy, xaa::Policy::default());
        let client = common::client_builder()
            .add_root_certificate(ca)
            .build()
            .expect("client");

        // Client::run of a cold flow.
        let enterprise = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
        let flow =
            EnterpriseAuth::new(enterprise, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
        let authorization = wait!(client.run(flow)).expect("the flow over https");
        assert_eq!(authorization.resource, kit.mcp_url());
        assert_eq!(kit.token_requests().len(), 2);

        // The authorizer: cold flow and an MCP request.
        kit.clear_requests();
        let authorizer = Authorizer::with_client(config, client);
        let alice = common::user(&kit, "alice");
        let response = wait!(authorizer.send(&alice, common::tools_list(&kit)))
            .expect("tools/list over https");
        common::assert_tools_listed(&response);
        assert_eq!(kit.requests().len(), 7, "{:#?}", kit.requests());
        assert_eq!(common::count(&kit, Endpoint::McpServer), 2);
    }
}

driver_test! {
    fn a_client_that_does_not_trust_the_ca_fails_with_a_transport_error() {
        let (kit, _ca) = https_kit();
        // Mozilla's roots only.
        let client = common::client();

        let enterprise = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
        let flow =
            EnterpriseAuth::new(enterprise, Start::ServerUrl(kit.mcp_url().into())).expect("flow");
        let error = wait!(client.run(flow)).expect_err("the certificate is not trusted");
        assert!(
            matches!(
                error,
                Error::Transport {
                    purpose: Some(_),
                    ..
                }
            ),
            "{error:?}"
        );

        let authorizer = Authorizer::with_client(common::config(&kit), client);
        let alice = common::user(&kit, "alice");
        let error = wait!(authorizer.send(&alice, common::tools_list(&kit)))
            .expect_err("the certificate is not trusted");
        assert!(
            matches!(
                error,
                Error::Transport {
                    purpose: Some(_),
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(
            kit.requests().is_empty(),
            "no request got past the handshake: {:#?}",
            kit.requests()
        );
    }
}
