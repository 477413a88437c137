//! Reading a few named members of a JSON object in one pass, without building a map: what the
//! client needs from a JWT's header and claims on every exchange.
//!
//! The values not asked for are still parsed to the end (strings unescaped and checked, numbers
//! read), so an object is accepted exactly when `serde_json` would parse it into a map: a lone
//! surrogate or invalid UTF-8 in a member nobody reads is refused here too.
//!
//! Member names must be unique. RFC 7519 section 4 lets a JWT parser either refuse duplicate
//! claim names or keep the last one; this reader refuses them, for every member of the object
//! and not only the ones asked for, as `wire` does for the JSON documents servers send.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, Deserialize, MapAccess, SeqAccess, Visitor};

/// One member's value, as far as the client reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Member<'a> {
    /// Not in the object.
    Absent,
    /// A string.
    String(Cow<'a, str>),
    /// A number: its NumericDate reading (RFC 7519 section 2, fractions truncated) when it is
    /// non-negative and finite, else `None`.
    Number(Option<u64>),
    /// An array of exactly one string (decisions.md D10: `aud` and `resource` may be one).
    OneStringArray(Cow<'a, str>),
    /// `null`.
    Null,
    /// Anything else: a boolean, an object, another array.
    Other,
}

impl Member<'_> {
    /// The value when it is a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The single string of a member that may be a string or a one-element array of one
    /// (decisions.md D10); anything else is `None`.
    pub(crate) fn single_string(&self) -> Option<&str> {
        match self {
            Self::String(s) | Self::OneStringArray(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a NumericDate (seconds since the epoch).
    pub(crate) fn numeric_date(&self) -> Option<u64> {
        match self {
            Self::Number(seconds) => *seconds,
            _ => None,
        }
    }

    /// Whether the object has this member at all.
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }
}

/// Why an object could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MembersError {
    /// Not a single JSON object (or trailing data after it).
    NotAnObject,
    /// A member name appears twice; the name, as written.
    Duplicate(String),
}

/// Reads the members `names` of the JSON object `json`, in the order asked.
pub(crate) fn read<'a, const N: usize>(
    json: &'a [u8],
    names: [&str; N],
) -> Result<[Member<'a>; N], MembersError> {
    let mut duplicate = None;
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let visitor = ObjectVisitor {
        names,
        duplicate: &mut duplicate,
    };
    let read = deserializer.deserialize_map(visitor);
    if let Some(name) = duplicate {
        return Err(MembersError::Duplicate(name));
    }
    let members = read.map_err(|_| MembersError::NotAnObject)?;
    deserializer.end().map_err(|_| MembersError::NotAnObject)?;
    Ok(members)
}

struct ObjectVisitor<'n, 'd, const N: usize> {
    names: [&'n str; N],
    duplicate: &'d mut Option<String>,
}

impl<'de, const N: usize> Visitor<'de> for ObjectVisitor<'_, '_, N> {
    type Value = [Member<'de>; N];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut found: [Member<'de>; N] = std::array::from_fn(|_| Member::Absent);
        // Every name is kept to find duplicates by sorting at the end: linear in the number of
        // members plus a sort, whatever a hostile object holds.
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(16);
        while let Some(Name(name)) = access.next_key()? {
            match self.names.iter().position(|wanted| *wanted == name) {
                Some(index) => found[index] = access.next_value()?,
                None => {
                    access.next_value::<Skipped>()?;
                }
            }
            seen.push(name);
        }
        seen.sort_unstable();
        if let Some(pair) = seen.windows(2).find(|pair| pair[0] == pair[1]) {
            *self.duplicate = Some(pair[0].clone().into_owned());
            return Err(de::Error::custom("duplicate member"));
        }
        Ok(found)
    }
}

/// A member name, borrowed from the input when it has no escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor).map(Name)
    }
}

/// A string, borrowed when it can be.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Member::String(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Member::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Member::String(Cow::Owned(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Member::Number(Some(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Member::Number(u64::try_from(value).ok()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Member::Number(crate::jwt::seconds_from_float(value)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Member::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Member::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        while access.next_entry::<Skipped, Skipped>()?.is_some() {}
        Ok(Member::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let first = access.next_element::<ArrayItem>()?;
        let mut more = false;
        while access.next_element::<Skipped>()?.is_some() {
            more = true;
        }
        Ok(match first {
            Some(ArrayItem(Some(text))) if !more => Member::OneStringArray(text),
            _ => Member::Other,
        })
    }
}

/// An array element: its text when it is a string, skipped otherwise.
struct ArrayItem<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for ArrayItem<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Member::deserialize(deserializer)? {
            Member::String(text) => Ok(ArrayItem(Some(text))),
            _ => Ok(ArrayItem(None)),
        }
    }
}

/// A value parsed and dropped. Unlike `serde::de::IgnoredAny`, which lets `serde_json` skip
/// strings without unescaping them, every string is read (and so checked) as a string.
struct Skipped;

impl<'de> Deserialize<'de> for Skipped {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skipped;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Skipped, E> {
        Ok(Skipped)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skipped, E> {
        Ok(Skipped)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skipped, E> {
        Ok(Skipped)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skipped, E> {
        Ok(Skipped)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skipped, E> {
        Ok(Skipped)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skipped, E> {
        Ok(Skipped)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skipped, E> {
        Ok(Skipped)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Skipped, A::Error> {
        while access.next_entry::<Skipped, Skipped>()?.is_some() {}
        Ok(Skipped)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Skipped, A::Error> {
        while access.next_element::<Skipped>()?.is_some() {}
        Ok(Skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str, name: &str) -> Result<Member<'static>, MembersError> {
        let json: &'static str = Box::leak(json.to_owned().into_boxed_str());
        read(json.as_bytes(), [name]).map(|[member]| member)
    }

    #[test]
    fn reads_the_named_members_in_the_order_asked() {
        let json = br#"{"exp": 10, "aud": ["a"], "iss": "i", "x": {"y": [1, 2]}}"#;
        let [iss, aud, exp, missing] = read(json, ["iss", "aud", "exp", "nbf"]).expect("object");
        assert_eq!(iss.as_str(), Some("i"));
        assert_eq!(aud.single_string(), Some("a"));
        assert_eq!(aud.as_str(), None);
        assert_eq!(exp.numeric_date(), Some(10));
        assert!(!missing.is_present());
    }

    #[test]
    fn strings_with_escapes_are_unescaped() {
        assert_eq!(
            one(r#"{"a": "x\"y\u00e9"}"#, "a"),
            Ok(Member::String(Cow::Owned("x\"y\u{e9}".into())))
        );
        assert_eq!(
            one(r#"{"\u0061": "v"}"#, "a").map(|m| m.as_str().map(str::to_owned)),
            Ok(Some("v".into()))
        );
    }

    #[test]
    fn numbers_read_as_numeric_dates() {
        assert_eq!(one(r#"{"a": 10.9}"#, "a"), Ok(Member::Number(Some(10))));
        assert_eq!(one(r#"{"a": -1}"#, "a"), Ok(Member::Number(None)));
        assert_eq!(one(r#"{"a": -0.5}"#, "a"), Ok(Member::Number(None)));
        assert_eq!(one(r#"{"a": 1e400}"#, "a"), Err(MembersError::NotAnObject));
        assert_eq!(
            one(r#"{"a": 1e300}"#, "a"),
            Ok(Member::Number(Some(u64::MAX)))
        );
        assert_eq!(
            one(r#"{"a": "10"}"#, "a").map(|m| m.numeric_date()),
            Ok(None)
        );
    }

    #[test]
    fn arrays_of_one_string_only() {
        assert_eq!(one(r#"{"a": ["x", "y"]}"#, "a"), Ok(Member::Other));
        assert_eq!(one(r#"{"a": [1]}"#, "a"), Ok(Member::Other));
        assert_eq!(one(r#"{"a": []}"#, "a"), Ok(Member::Other));
        assert_eq!(one(r#"{"a": [["x"]]}"#, "a"), Ok(Member::Other));
        assert_eq!(one(r#"{"a": null}"#, "a"), Ok(Member::Null));
        assert_eq!(one(r#"{"a": true}"#, "a"), Ok(Member::Other));
    }

    #[test]
    fn duplicates_are_refused_whether_asked_for_or_not() {
        assert_eq!(
            one(r#"{"a": 1, "a": 2}"#, "a"),
            Err(MembersError::Duplicate("a".into()))
        );
        assert_eq!(
            one(r#"{"a": 1, "b": 2, "b": 3}"#, "a"),
            Err(MembersError::Duplicate("b".into()))
        );
        assert_eq!(
            one(r#"{"b": 1, "\u0062": 2}"#, "a"),
            Err(MembersError::Duplicate("b".into()))
        );
    }

    #[test]
    fn members_not_asked_for_are_still_checked() {
        for json in [
            r#"{"a": 1, "b": "\ud800"}"#,
            r#"{"a": 1, "b": {"c": ["\ud800"]}}"#,
            r#"{"a": 1, "\ud800": 2}"#,
            r#"{"a": 1, "b": "\x"}"#,
            r#"{"a": 1, "b": 1e400}"#,
        ] {
            assert_eq!(one(json, "a"), Err(MembersError::NotAnObject), "{json}");
            assert!(serde_json::from_str::<serde_json::Value>(json).is_err());
        }
        let mut invalid_utf8 = br#"{"a": 1, "b": "x"}"#.to_vec();
        invalid_utf8[15] = 0xff;
        assert_eq!(read(&invalid_utf8, ["a"]), Err(MembersError::NotAnObject));
    }

    #[test]
    fn anything_but_one_object_is_refused() {
        for json in [
            "[]",
            "1",
            "\"a\"",
            "{",
            "{} {}",
            "{\"a\": 1} x",
            "",
            "{\"a\" 1}",
        ] {
            assert_eq!(one(json, "a"), Err(MembersError::NotAnObject), "{json}");
        }
    }
}
