//! The public key a DPoP proof carries in its `jwk` header (RFC 9449 section 4.2), held as the
//! JSON object it is, checked to be a public key of a type whose thumbprint is defined.

use serde_json::{Map, Value};

/// The members that make a JWK a private or a symmetric key (RFC 7518 sections 6.2.2, 6.3.2
/// and 6.4.1, RFC 8037 section 2). A DPoP proof's `jwk` must hold none of them (RFC 9449
/// section 4.3 item 7).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The key types whose required members RFC 7638 section 3.2 (and RFC 8037 section 2 for
/// `OKP`) defines, with those members in lexicographic order.
const REQUIRED_MEMBERS: [(&str, &[&str]); 3] = [
    ("EC", &["crv", "kty", "x", "y"]),
    ("RSA", &["e", "kty", "n"]),
    ("OKP", &["crv", "kty", "x"]),
];

/// Why a JSON value is not a usable public JWK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicJwkError {
    /// Not a JSON object (RFC 7517 section 4).
    #[error("a JWK must be a JSON object (RFC 7517 section 4)")]
    NotAnObject,
    /// A private or symmetric key member is present: `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth` or
    /// `k` (RFC 9449 section 4.3 item 7).
    #[error(
        "the JWK holds the private or symmetric member `{0}`: only a public key may be sent (RFC 9449 section 4.3 item 7)"
    )]
    PrivateMember(&'static str),
    /// `kty` is absent, not a string, or not `EC`, `RSA` or `OKP`: the key types whose
    /// thumbprint is defined (RFC 7638 section 3.2, RFC 8037 section 2).
    #[error(
        "the JWK's kty must be EC, RSA or OKP, the public key types with a thumbprint (RFC 7638 section 3.2)"
    )]
    UnsupportedKeyType,
    /// A member its key type requires is absent or not a string (RFC 7638 section 3.2).
    #[error(
        "the JWK lacks the member `{0}` its key type requires, as a string (RFC 7638 section 3.2)"
    )]
    MissingMember(&'static str),
}

/// A public JSON Web Key as a DPoP proof carries it (RFC 9449 section 4.2): a JSON object
/// with an `EC`, `RSA` or `OKP` `kty`, every member RFC 7638 section 3.2 requires for that
/// type as a string, and no private member (RFC 9449 section 4.3 item 7). Other public
/// members (`kid`, `alg`, `use`, ...) are kept as they are.
///
/// The checks happen when it is made, so a value of this type can be put in a proof's header
/// as it is, and its [thumbprint](Self::thumbprint) is always defined.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct PublicJwk {
    members: Map<String, Value>,
}

impl PublicJwk {
    /// Checks a JSON value: an object, no private member, and the members its `kty` requires.
    pub fn from_json(value: Value) -> Result<Self, PublicJwkError> {
        match value {
            Value::Object(members) => Self::from_object(members),
            _ => Err(PublicJwkError::NotAnObject),
        }
    }

    /// Checks a JSON object: no private member, and the members its `kty` requires.
    pub fn from_object(members: Map<String, Value>) -> Result<Self, PublicJwkError> {
        if let Some(private) = PRIVATE_MEMBERS
            .iter()
            .find(|name| members.contains_key(**name))
        {
            return Err(PublicJwkError::PrivateMember(private));
        }
        let kty = members.get("kty").and_then(Value::as_str);
        let required =
            required_members(kty.unwrap_or_default()).ok_or(PublicJwkError::UnsupportedKeyType)?;
        if let Some(missing) = required
            .iter()
            .find(|name| !members.get(**name).is_some_and(Value::is_string))
        {
            return Err(PublicJwkError::MissingMember(missing));
        }
        Ok(Self { members })
    }

    /// `kty`: `EC`, `RSA` or `OKP`.
    pub fn kty(&self) -> &str {
        self.member("kty").unwrap_or_default()
    }

    /// A member that is a string (`crv`, `x`, `n`, `kid`, ...).
    pub fn member(&self, name: &str) -> Option<&str> {
        self.members.get(name).and_then(Value::as_str)
    }

    /// The JSON object.
    pub fn as_object(&self) -> &Map<String, Value> {
        &self.members
    }

    /// The members RFC 7638 section 3.2 requires for this key's type, in lexicographic order.
    pub(crate) fn required_members(&self) -> &'static [&'static str] {
        required_members(self.kty()).unwrap_or_default()
    }
}

fn required_members(kty: &str) -> Option<&'static [&'static str]> {
    REQUIRED_MEMBERS
        .iter()
        .find(|(name, _)| *name == kty)
        .map(|(_, members)| *members)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn public_keys_of_the_three_types_are_accepted() {
        for key in [
            json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "kid": "k"}),
            json!({"kty": "RSA", "n": "a", "e": "AQAB"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "a"}),
        ] {
            let jwk = PublicJwk::from_json(key.clone()).expect("a public key");
            assert_eq!(serde_json::to_value(&jwk).expect("JSON"), key);
        }
    }

    #[test]
    fn private_symmetric_and_incomplete_keys_are_refused() {
        let refused = [
            (json!("EC"), PublicJwkError::NotAnObject),
            (
                json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "s"}),
                PublicJwkError::PrivateMember("d"),
            ),
            (
                json!({"kty": "RSA", "n": "a", "e": "AQAB", "qi": "s"}),
                PublicJwkError::PrivateMember("qi"),
            ),
            (
                json!({"kty": "oct", "k": "s"}),
                PublicJwkError::PrivateMember("k"),
            ),
            (json!({"kty": "oct"}), PublicJwkError::UnsupportedKeyType),
            (json!({"crv": "P-256"}), PublicJwkError::UnsupportedKeyType),
            (
                json!({"kty": "EC", "crv": "P-256", "x": "a"}),
                PublicJwkError::MissingMember("y"),
            ),
            (
                json!({"kty": "RSA", "n": 1, "e": "AQAB"}),
                PublicJwkError::MissingMember("n"),
            ),
        ];
        for (value, error) in refused {
            assert_eq!(PublicJwk::from_json(value.clone()), Err(error), "{value}");
        }
    }
}
