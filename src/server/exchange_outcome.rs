//! What a successful token exchange issued, and its response (RFC 8693 section 2.2.1,
//! ID-JAG draft section 4.3.4).

use http::{Response, StatusCode};
use serde_json::{Map, Value};

use super::issuers::MintedRefreshToken;
use super::response;
use crate::constants::{TOKEN_TYPE_ID_JAG, TOKEN_TYPE_NOT_APPLICABLE, TOKEN_TYPE_REFRESH_TOKEN};
use crate::{IdJag, Scope};

/// An ID-JAG minted by the IdP.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MintedIdJag {
    /// The signed ID-JAG.
    pub id_jag: IdJag,
    /// Its claims.
    pub claims: Map<String, Value>,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// The granted scope, sent as `scope` when it differs from the request
    /// (RFC 8693 section 2.2.1).
    pub response_scope: Option<Scope>,
    /// The nonce to supply in `DPoP-Nonce`: the current one, when the request's proof
    /// carried the previous one (RFC 9449 section 8.2).
    #[cfg(feature = "dpop")]
    pub dpop_nonce: Option<String>,
}

/// What a successful token exchange issued.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ExchangeOutcome {
    /// An ID-JAG (ID-JAG draft section 4.3.4).
    IdJag(MintedIdJag),
    /// An IdP refresh token for a SAML assertion (protocol.md 2.7 option B).
    RefreshToken {
        /// The token and what it carries.
        minted: MintedRefreshToken,
        /// The scope sent back, when it differs from the request.
        response_scope: Option<Scope>,
    },
}

impl ExchangeOutcome {
    /// The RFC 8693 section 2.2.1 response: the token in `access_token`, `token_type` `N_A`,
    /// `Cache-Control: no-store`; and `DPoP-Nonce` when the IdP's nonce rotated (RFC 9449
    /// section 8.2).
    pub fn to_response(&self) -> Response<Vec<u8>> {
        let mut body = Map::new();
        let (token, issued_type, expires_in, scope) = match self {
            Self::IdJag(minted) => (
                minted.id_jag.expose_secret(),
                TOKEN_TYPE_ID_JAG,
                Some(minted.expires_in),
                &minted.response_scope,
            ),
            Self::RefreshToken {
                minted,
                response_scope,
            } => (
                minted.refresh_token.expose_secret(),
                TOKEN_TYPE_REFRESH_TOKEN,
                minted.expires_in,
                response_scope,
            ),
        };
        body.insert("access_token".into(), Value::from(token));
        body.insert("issued_token_type".into(), Value::from(issued_type));
        body.insert("token_type".into(), Value::from(TOKEN_TYPE_NOT_APPLICABLE));
        if let Some(expires_in) = expires_in {
            body.insert("expires_in".into(), Value::from(expires_in));
        }
        if let Some(scope) = scope {
            body.insert("scope".into(), Value::from(scope.to_string()));
        }
        #[cfg_attr(not(feature = "dpop"), allow(unused_mut))]
        let mut response = response::no_store(StatusCode::OK, &Value::Object(body));
        #[cfg(feature = "dpop")]
        if let Self::IdJag(MintedIdJag {
            dpop_nonce: Some(nonce),
            ..
        }) = self
        {
            response.headers_mut().insert(
                crate::dpop::DPOP_NONCE_HEADER,
                response::header_value(nonce),
            );
        }
        response
    }
}
