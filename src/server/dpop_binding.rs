//! Whether the MCP authorization server binds the access token it issues to a DPoP key, and
//! to which (protocol.md 3.3 step 14; ID-JAG draft section 9.8; RFC 9449 sections 5 and 6.1;
//! draft-parecki-oauth-jwt-dpop-grant).

use super::dpop_validator::ValidatedProof;
use super::token_fault::TokenFault;
use crate::constant_time_eq;

/// What the request and the server's settings demand of the binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BindingRules {
    /// The request uses the `jwt-dpop` grant: the assertion must be bound to a key and
    /// redeemed with a proof by it (draft-parecki-oauth-jwt-dpop-grant).
    pub(crate) jwt_dpop_grant: bool,
}

/// The thumbprint the access token is bound to, or `None` for a bearer token, from the
/// ID-JAG's `cnf.jkt` and the request's checked proof:
///
/// - `cnf.jkt` and no proof: refused, the ID-JAG can only be redeemed by its key;
/// - `cnf.jkt` and a proof by another key: refused;
/// - `cnf.jkt` and a proof by that key: bound to it;
/// - no `cnf` and a proof: bound to the proof's key (RFC 9449 section 5: a token request with
///   a proof gets a token bound to its key);
/// - no `cnf` under the `jwt-dpop` grant: refused;
/// - neither: a bearer token (whether a proof was required is settled before, when the
///   request was read).
///
/// Every refusal is `invalid_grant`: the grant is what cannot be honoured.
pub(crate) fn bound_key(
    cnf_jkt: Option<&str>,
    proof: Option<&ValidatedProof>,
    rules: BindingRules,
) -> Result<Option<String>, TokenFault> {
    match (cnf_jkt, proof) {
        (Some(_), None) => Err(TokenFault::ConfirmationWithoutProof),
        (Some(bound), Some(proof)) => {
            if constant_time_eq(bound.as_bytes(), proof.jkt.as_bytes()) {
                Ok(Some(proof.jkt.clone()))
            } else {
                Err(TokenFault::ConfirmationKeyMismatch)
            }
        }
        (None, _) if rules.jwt_dpop_grant => Err(TokenFault::ConfirmationRequired),
        (None, Some(proof)) => Ok(Some(proof.jkt.clone())),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dpop::PublicJwk;

    fn proof_by(jkt: &str) -> ValidatedProof {
        ValidatedProof {
            jkt: jkt.to_owned(),
            jwk: PublicJwk::from_json(json!({"kty": "OKP", "crv": "Ed25519", "x": "eA"}))
                .expect("public key"),
            alg: "EdDSA".to_owned(),
            jti: "proof-1".to_owned(),
            iat: 0,
            htu: "https://as.example/token".to_owned(),
            nonce: None,
            content_digest: None,
        }
    }

    const BEARER: BindingRules = BindingRules {
        jwt_dpop_grant: false,
    };
    const JWT_DPOP: BindingRules = BindingRules {
        jwt_dpop_grant: true,
    };

    #[test]
    fn a_bound_id_jag_needs_a_proof_by_its_key() {
        let key_a = proof_by("key-a");
        assert_eq!(
            bound_key(Some("key-a"), None, BEARER),
            Err(TokenFault::ConfirmationWithoutProof)
        );
        assert_eq!(
            bound_key(Some("key-b"), Some(&key_a), BEARER),
            Err(TokenFault::ConfirmationKeyMismatch)
        );
        assert_eq!(
            bound_key(Some("key-a"), Some(&key_a), BEARER),
            Ok(Some("key-a".to_owned()))
        );
        assert_eq!(
            bound_key(Some("key-a"), Some(&key_a), JWT_DPOP),
            Ok(Some("key-a".to_owned()))
        );
    }

    #[test]
    fn an_unbound_id_jag_is_bound_to_the_proof_except_under_jwt_dpop() {
        let key_a = proof_by("key-a");
        assert_eq!(
            bound_key(None, Some(&key_a), BEARER),
            Ok(Some("key-a".to_owned()))
        );
        assert_eq!(bound_key(None, None, BEARER), Ok(None));
        assert_eq!(
            bound_key(None, Some(&key_a), JWT_DPOP),
            Err(TokenFault::ConfirmationRequired)
        );
        assert_eq!(
            bound_key(None, None, JWT_DPOP),
            Err(TokenFault::ConfirmationRequired)
        );
    }
}
