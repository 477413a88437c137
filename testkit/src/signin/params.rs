//! The parameters of a query or form body, each allowed at most once (RFC 6749 section 3.1
//! and 3.2).

use super::responses::OAuthError;

/// Decoded `name=value` pairs.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// The pairs of a query string (none for a request without one).
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        Self(crate::form::decode(query.unwrap_or_default().as_bytes()))
    }

    /// The pairs of a form body.
    pub(crate) fn from_body(body: &[u8]) -> Self {
        Self(crate::form::decode(body))
    }

    /// The value of `name`, if sent once; an empty value counts as absent (RFC 6749
    /// section 3.1); sent twice is `invalid_request`.
    pub(crate) fn optional(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.0.iter().filter(|(key, _)| key == name);
        let first = values.next().map(|(_, value)| value.as_str());
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "the parameter {name} must not be sent more than once"
            )));
        }
        Ok(first.filter(|value| !value.is_empty()))
    }

    /// The value of `name`, which must be sent exactly once.
    pub(crate) fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.optional(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter {name} is required")))
    }
}

/// Whether the space-separated `scope` holds `value`.
pub(crate) fn scope_has(scope: &str, value: &str) -> bool {
    scope.split(' ').any(|token| token == value)
}
