//! Sender-constrained tokens through the driver's `send`, against the testkit with DPoP
//! required on all three servers (RFC 9449): every MCP request carries `Authorization: DPoP`
//! and a fresh proof the kit accepts, a nonce demand gets exactly one resend, and a refused
//! proof or a nonce loop is a typed error after which nothing further is sent.

use crate::common;
use crate::dpop::{assert_bound_request, authorized_mcp_requests, binding, bound, statuses};

use crate::common::{assert_echoed, assert_tools_listed, call_tool, count, tools_list, user};
use crate::driver::{Authorizer, Error};
use http::StatusCode;
use xaa::DpopRefusal;
use xaa_testkit::{Endpoint, Fault, Server};

fn dpop_refusal(result: Result<xaa::HttpResponse, Error>) -> DpopRefusal {
    match result {
        Err(Error::Flow(xaa::Error::Dpop {
            purpose: None,
            refusal,
        })) => refusal,
        other => panic!("expected a DPoP refusal, got {other:?}"),
    }
}

driver_test! {
    fn dpop_bound_end_to_end_every_mcp_request_carries_its_own_proof() {
        let kit = common::kit_with(crate::dpop::options());
        let binding = binding();
        let authorizer =
            Authorizer::with_client(bound(common::config(&kit), &binding), common::client());
        let alice = user(&kit, "alice");

        let token = wait!(authorizer.token(&alice)).expect("a bound token");
        assert_eq!(token.dpop_jkt(), Some(binding.jkt()));
        assert_tools_listed(&wait!(authorizer.send(&alice, tools_list(&kit))).expect("tools/list"));
        assert_echoed(
            &wait!(authorizer.send(&alice, call_tool(&kit, "echo", "bound"))).expect("echo"),
            "bound",
        );

        let mcp = authorized_mcp_requests(&kit);
        assert_eq!(statuses(&mcp), [Some(StatusCode::OK), Some(StatusCode::OK)]);
        let first = assert_bound_request(&kit, &mcp[0], token.expose_secret(), None);
        let second = assert_bound_request(&kit, &mcp[1], token.expose_secret(), None);
        assert_ne!(first["jti"], second["jti"], "a fresh proof per request");
        assert_eq!(count(&kit, Endpoint::IdpToken), 1);
        assert_eq!(count(&kit, Endpoint::AsToken), 1);
    }
}

driver_test! {
    fn dpop_nonce_demand_gets_one_resend_and_a_rotated_nonce_is_followed() {
        let kit = common::kit_with(crate::dpop::options().dpop_nonce(Server::Mcp));
        let binding = binding();
        let authorizer =
            Authorizer::with_client(bound(common::config(&kit), &binding), common::client());
        let alice = user(&kit, "alice");
        let token = wait!(authorizer.token(&alice)).expect("a bound token");
        let nonce = kit.dpop_nonce(Server::Mcp);

        assert_tools_listed(&wait!(authorizer.send(&alice, tools_list(&kit))).expect("tools/list"));
        let mcp = authorized_mcp_requests(&kit);
        assert_eq!(
            statuses(&mcp),
            [Some(StatusCode::UNAUTHORIZED), Some(StatusCode::OK)],
            "one resend after the nonce demand"
        );
        assert_bound_request(&kit, &mcp[0], token.expose_secret(), None);
        assert_bound_request(&kit, &mcp[1], token.expose_secret(), Some(&nonce));
        assert_eq!(mcp[0].body, mcp[1].body, "the same body");

        // The server rotates: the old nonce is still taken once, and its answer supplies the
        // new one, which the next request carries.
        let rotated = kit.rotate_dpop_nonce(Server::Mcp);
        kit.clear_requests();
        for message in ["old nonce", "new nonce"] {
            assert_echoed(
                &wait!(authorizer.send(&alice, call_tool(&kit, "echo", message))).expect("echo"),
                message,
            );
        }
        let mcp = authorized_mcp_requests(&kit);
        assert_eq!(statuses(&mcp), [Some(StatusCode::OK), Some(StatusCode::OK)]);
        assert_bound_request(&kit, &mcp[0], token.expose_secret(), Some(&nonce));
        assert_bound_request(&kit, &mcp[1], token.expose_secret(), Some(&rotated));
    }
}

driver_test! {
    fn dpop_refused_proof_is_a_typed_error_and_nothing_further_is_sent() {
        let kit = common::kit_with(crate::dpop::options());
        let authorizer =
            Authorizer::with_client(bound(common::config(&kit), &binding()), common::client());
        let alice = user(&kit, "alice");
        wait!(authorizer.token(&alice)).expect("a bound token");
        kit.clear_requests();
        kit.set_fault(Endpoint::McpServer, Fault::InvalidDpopProof);

        let refusal = dpop_refusal(wait!(authorizer.send(&alice, tools_list(&kit))));
        assert!(
            matches!(&refusal, DpopRefusal::ProofRefused { description: Some(d) } if d == "the DPoP proof is refused"),
            "{refusal:?}"
        );
        let requests = kit.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        assert_eq!(requests[0].status, Some(StatusCode::UNAUTHORIZED));
        assert!(requests[0].has_dpop_proof());
    }
}

driver_test! {
    fn dpop_nonce_loop_gets_one_resend_then_a_typed_error() {
        let kit = common::kit_with(crate::dpop::options());
        let authorizer =
            Authorizer::with_client(bound(common::config(&kit), &binding()), common::client());
        let alice = user(&kit, "alice");
        let token = wait!(authorizer.token(&alice)).expect("a bound token");
        kit.clear_requests();
        kit.set_fault(Endpoint::McpServer, Fault::DpopNonceLoop);

        let refusal = dpop_refusal(wait!(authorizer.send(&alice, tools_list(&kit))));
        assert_eq!(refusal, DpopRefusal::NonceLoop);
        let requests = kit.requests();
        assert_eq!(requests.len(), 2, "{requests:#?}");
        assert_bound_request(&kit, &requests[0], token.expose_secret(), None);
        // The resend carries the nonce the first answer supplied; the second answer supplied
        // yet another, which nothing carries.
        let resend = crate::dpop::jws_claims(requests[1].dpop_proof.as_deref().expect("a proof"));
        let carried = resend["nonce"].as_str().expect("a nonce");
        assert_bound_request(&kit, &requests[1], token.expose_secret(), Some(carried));
        assert_ne!(carried, kit.dpop_nonce(Server::Mcp));
    }
}
