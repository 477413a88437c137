//! A gateway's configuration against the loopback testkit, for the tests that run replicas:
//! the kit's enterprise flow for one MCP server, and its users.

use xaa::GrantSource;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa_testkit::Testkit;

/// The authorizer's configuration for the kit's MCP server, IdP and authorization server.
pub(crate) fn config(kit: &Testkit) -> AuthorizerConfig {
    let enterprise = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("nobody")));
    let GrantSource::Enterprise { idp, .. } = enterprise.grant else {
        panic!("the kit's configuration is the enterprise flow");
    };
    AuthorizerConfig::new(kit.mcp_url(), idp, enterprise.authorization_server)
        .policy(enterprise.policy)
}

/// The kit's user `name`, signed in with an ID token.
pub(crate) fn user(kit: &Testkit, name: &str) -> User {
    User::from_id_token(SubjectToken::IdToken(kit.id_token(name))).expect("a user")
}
