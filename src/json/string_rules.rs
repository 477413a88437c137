//! The one reading of string members, required or optional, with the two sources' treatments
//! of `null` and of the empty string made explicit ([`JsonSource`]).

use std::borrow::Cow;

use super::member::Member;

/// Where a JSON object came from, which decides how `null` and `""` read.
///
/// In both, a *required* string that is empty is missing: an empty `issuer`, `access_token`
/// or `sub` names nothing (RFC 8414 section 2, RFC 6749 section 5.1, RFC 7519 section 4.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonSource {
    /// A document a server sent: metadata (RFC 8414 section 2, RFC 9728 section 2) or a token
    /// response (RFC 6749 section 5.1, RFC 8693 section 2.2.1). `null` reads as absent, as
    /// OpenID Connect Discovery 1.0 section 3 omits what a provider does not support; an
    /// optional empty string is a value (an empty `scope` grants nothing, which differs from no
    /// `scope` at all: RFC 6749 section 5.1).
    Document,
    /// The header or claims of a JWT (RFC 7519 section 4). `null` is a claim of the wrong
    /// type, never an absent one; an optional empty string reads as absent (an empty `iss`,
    /// `azp` or `scope` names no party and grants nothing).
    #[cfg_attr(
        not(feature = "server"),
        expect(dead_code, reason = "only the server reads JWT claims as strings")
    )]
    JwtClaims,
}

/// Why a string member is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StringFault {
    /// A required member is absent (or, per [`JsonSource`], `null` or empty).
    Missing,
    /// The member is present with another JSON type.
    NotAString,
}

impl<'a> Member<'a> {
    /// The member as a required, non-empty string.
    pub(crate) fn required_str(self, source: JsonSource) -> Result<Cow<'a, str>, StringFault> {
        self.optional_str(source)?
            .filter(|text| !text.is_empty())
            .ok_or(StringFault::Missing)
    }

    /// The member as an optional string: `Ok(None)` when absent (or, per [`JsonSource`],
    /// `null` or empty), an error when present with another type.
    pub(crate) fn optional_str(
        self,
        source: JsonSource,
    ) -> Result<Option<Cow<'a, str>>, StringFault> {
        match (self, source) {
            (Self::Absent, _) | (Self::Null, JsonSource::Document) => Ok(None),
            (Self::String(text), JsonSource::JwtClaims) if text.is_empty() => Ok(None),
            (Self::String(text), _) => Ok(Some(text)),
            (Self::Null | Self::Number(_) | Self::OneStringArray(_) | Self::Other, _) => {
                Err(StringFault::NotAString)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JsonSource::{Document, JwtClaims};

    fn text(value: &'static str) -> Member<'static> {
        Member::String(Cow::Borrowed(value))
    }

    #[test]
    fn required_strings_are_present_and_non_empty() {
        for source in [Document, JwtClaims] {
            assert_eq!(text("a").required_str(source), Ok(Cow::Borrowed("a")));
            assert_eq!(text("").required_str(source), Err(StringFault::Missing));
            assert_eq!(
                Member::Absent.required_str(source),
                Err(StringFault::Missing)
            );
            assert_eq!(
                Member::Number(Some(1)).required_str(source),
                Err(StringFault::NotAString)
            );
            assert_eq!(
                Member::OneStringArray(Cow::Borrowed("a")).required_str(source),
                Err(StringFault::NotAString)
            );
        }
        assert_eq!(
            Member::Null.required_str(Document),
            Err(StringFault::Missing)
        );
        assert_eq!(
            Member::Null.required_str(JwtClaims),
            Err(StringFault::NotAString)
        );
    }

    #[test]
    fn optional_strings_differ_on_null_and_empty_by_source() {
        assert_eq!(Member::Null.optional_str(Document), Ok(None));
        assert_eq!(
            Member::Null.optional_str(JwtClaims),
            Err(StringFault::NotAString)
        );
        assert_eq!(text("").optional_str(Document), Ok(Some(Cow::Borrowed(""))));
        assert_eq!(text("").optional_str(JwtClaims), Ok(None));
        for source in [Document, JwtClaims] {
            assert_eq!(Member::Absent.optional_str(source), Ok(None));
            assert_eq!(text("a").optional_str(source), Ok(Some(Cow::Borrowed("a"))));
            assert_eq!(
                Member::Other.optional_str(source),
                Err(StringFault::NotAString)
            );
        }
    }
}
