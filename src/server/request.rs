//! Reading a token request: a `POST` with an `application/x-www-form-urlencoded` body whose
//! parameters each appear at most once (RFC 6749 section 3.2).

use http::header::CONTENT_TYPE;
use http::{Method, Request};

use super::rejection::RejectReason;
use crate::form;

/// The decoded parameters of a token request. They include secrets (`client_secret`,
/// assertions, subject tokens), so they are zeroized on drop (decisions.md D24).
pub(crate) struct FormRequest {
    pairs: Vec<(String, String)>,
}

impl Drop for FormRequest {
    fn drop(&mut self) {
        for (_, value) in &mut self.pairs {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

impl FormRequest {
    /// Checks the method, media type and size, then decodes the body.
    pub(crate) fn read(
        request: &Request<Vec<u8>>,
        max_body_bytes: usize,
    ) -> Result<Self, RejectReason> {
        if request.method() != Method::POST {
            return Err(RejectReason::MethodNotAllowed);
        }
        let is_form = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| {
                media
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(RejectReason::ContentType);
        }
        if request.body().len() > max_body_bytes {
            return Err(RejectReason::BodyTooLarge {
                limit: max_body_bytes,
            });
        }
        Ok(Self {
            pairs: form::decode(request.body()),
        })
    }

    /// The parameter's value: `None` when absent or empty (RFC 6749 section 3.2: "parameters
    /// sent without a value MUST be treated as if they were omitted"), an error when repeated.
    pub(crate) fn optional(&self, name: &'static str) -> Result<Option<&str>, RejectReason> {
        match form::single(&self.pairs, name) {
            Ok(value) => Ok(value.filter(|value| !value.is_empty())),
            Err(form::Repeated) => Err(RejectReason::DuplicateParameter(name)),
        }
    }

    /// The parameter's value, which must be present once.
    pub(crate) fn required(&self, name: &'static str) -> Result<&str, RejectReason> {
        self.optional(name)?
            .ok_or(RejectReason::MissingParameter(name))
    }

    /// How many times the parameter appears.
    pub(crate) fn count(&self, name: &str) -> usize {
        self.pairs.iter().filter(|(key, _)| key == name).count()
    }
}
