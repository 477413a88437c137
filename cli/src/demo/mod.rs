//! `xaa demo`: the whole flow against loopback servers started in-process, step by step.
//!
//! The servers are the testkit's, but what they answer is printed as any server's would be:
//! every string escaped by [`shown`], every JSON value and document by [`terminal::json`].
//! With `--sign-in` the demo first signs in at the kit's IdP as `xaa login` does, playing the
//! person itself ([`sign_in`]), and uses the ID token it got as the subject token.

mod mcp;
mod sign_in;
mod sign_in_page;
mod steps;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;

use xaa::dpop::{DpopBinding, DpopPolicy, EsDpopKey};
use xaa::grant::SubjectToken;
use xaa::jose::RandomJti;
use xaa::signin::SignIn;
use xaa::{EnterpriseAuth, Start};
use xaa_testkit::{Options, Server, Testkit};

use crate::exit::{Failure, classify};
use crate::secrets::fingerprint;
use crate::terminal::{self, shown};
use crate::timefmt::{human, rfc3339, unix};
use steps::{Steps, drive};

/// What `xaa demo` is asked to show.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DemoChoices {
    /// One JSON document instead of the steps.
    pub(crate) json: bool,
    /// Every token bound to a DPoP key made for the run.
    pub(crate) dpop: bool,
    /// Sign in at the IdP first, the demo playing the person.
    pub(crate) sign_in: bool,
}

/// Runs the demo: starts the kit's servers, runs the flow, stops them.
pub(crate) fn run(choices: DemoChoices) -> Result<(), Failure> {
    let mut options = Options::new();
    if choices.dpop {
        options = options
            .dpop(true)
            .dpop_required(true)
            .dpop_nonce(Server::AuthorizationServer);
    }
    let kit = Testkit::start(options)
        .map_err(|e| Failure::Protocol(format!("cannot start the loopback servers: {e}")))?;
    let binding = if choices.dpop {
        let key = EsDpopKey::generate()
            .map_err(|e| Failure::Protocol(format!("cannot make a DPoP key: {e}")))?;
        Some(DpopBinding::new(
            Arc::new(key),
            Arc::new(RandomJti),
            DpopPolicy::Required,
        ))
    } else {
        None
    };
    let result = demo(&kit, choices, binding.as_ref());
    kit.stop();
    result
}

fn demo(kit: &Testkit, choices: DemoChoices, binding: Option<&DpopBinding>) -> Result<(), Failure> {
    let json_output = choices.json;
    let mut steps = Steps::new(json_output);
    if !json_output {
        println!(
            "xaa demo: IdP {}, MCP authorization server {}, MCP server {}",
            shown(kit.idp_issuer()),
            shown(kit.authorization_server_issuer()),
            shown(kit.mcp_url())
        );
        if choices.sign_in {
            println!(
                "signing in at the IdP as user {} (authorization code flow with PKCE, the demo \
                 filling in the sign-in page), then starting from nothing but the MCP server URL",
                sign_in::USER
            );
        } else {
            println!("starting from nothing but the MCP server URL, as user alice");
        }
        if let Some(binding) = binding {
            println!(
                "every token bound to a DPoP key made for this run (jkt {})",
                shown(binding.jkt())
            );
        }
        println!();
    }
    let client = xaa_ureq::Client::builder()
        .deny_private_addresses(false)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let signed_in = if choices.sign_in {
        let signed_in = sign_in::sign_in(kit, &client, &mut steps)?;
        if !json_output {
            let redeemed = sign_in::IdpRecord::of(kit);
            println!(
                "\nsigned in as {}: ID token {}, valid until {}; the IdP redeemed {} code{} \
                 ({} with the PKCE verifier matching)\n",
                shown(&signed_in.claims.sub),
                fingerprint(signed_in.id_token.expose_secret()),
                rfc3339(signed_in.claims.exp),
                redeemed.code_redemptions,
                if redeemed.code_redemptions == 1 {
                    ""
                } else {
                    "s"
                },
                redeemed.pkce_verified
            );
        }
        Some(signed_in)
    } else {
        None
    };
    let subject = match &signed_in {
        Some(signed_in) => signed_in.id_token.clone(),
        None => kit.id_token("alice"),
    };
    let mut config = kit.enterprise_config(SubjectToken::IdToken(subject));
    if let Some(binding) = binding {
        config = config.dpop(binding.clone());
    }
    let mut flow = EnterpriseAuth::new(config, Start::ServerUrl(kit.mcp_url().to_owned()))
        .map_err(|e| classify(&e))?;
    let authorization = drive(&mut flow, &client, &mut steps)?;
    let token = authorization.access_token.clone();
    if !json_output {
        println!(
            "\n{} access token {} for {} (scope {}), expires {}\n",
            if token.dpop_jkt().is_some() {
                "DPoP-bound"
            } else {
                "bearer"
            },
            fingerprint(token.expose_secret()),
            shown(&authorization.resource),
            shown(
                &authorization
                    .scope
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
            rfc3339(unix(authorization.expires_at))
        );
    }
    mcp::calls(kit.mcp_url(), &token, binding, &client, &mut steps)?;
    let total_ms = steps.elapsed_ms();
    let expires_in = authorization
        .expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let mut summary = json!({
        "requests": steps.len(),
        "total_ms": total_ms,
        "resource": authorization.resource,
        "authorization_server": authorization.authorization_server,
        "access_token": fingerprint(token.expose_secret()),
        "token_type": authorization.token_type,
        "dpop_jkt": token.dpop_jkt(),
        "scope": authorization.scope.as_ref().map(ToString::to_string),
        "expires_at": rfc3339(unix(authorization.expires_at)),
        "expires_in_s": expires_in.as_secs(),
    });
    if let Some(signed_in) = &signed_in {
        summary["sign_in"] = sign_in_summary(signed_in, &sign_in::IdpRecord::of(kit));
    }
    if json_output {
        let document = json!({"steps": steps.into_values(), "summary": summary});
        println!("{}", terminal::json(&document, true));
    } else {
        println!(
            "\n{} requests in {:.1} ms; the token expires in {}",
            steps.len(),
            total_ms,
            human(expires_in)
        );
    }
    Ok(())
}

/// The sign-in in the summary: who, the ID token as a fingerprint with its expiry, and what
/// the IdP recorded of the code's redemption.
fn sign_in_summary(signed_in: &SignIn, record: &sign_in::IdpRecord) -> serde_json::Value {
    json!({
        "user": signed_in.claims.sub,
        "issuer": signed_in.claims.iss,
        "id_token": fingerprint(signed_in.id_token.expose_secret()),
        "id_token_expires_at": rfc3339(signed_in.claims.exp),
        "refresh_token": signed_in.refresh_token.is_some(),
        "idp_code_redemptions": record.code_redemptions,
        "idp_pkce_verified": record.pkce_verified,
    })
}
