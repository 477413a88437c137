//! The value of one member of a JSON object, as far as this crate reads it: the one model for
//! members read from a parsed map ([`Member::of`]) and by the one-pass reader
//! ([`read_members`](super::read_members)).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::numeric_date::{numeric_date, seconds_from_float};
use super::skipped::Skipped;

/// One member's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Member<'a> {
    /// Not in the object.
    Absent,
    /// `null`.
    Null,
    /// A string.
    String(Cow<'a, str>),
    /// A number: its NumericDate reading (RFC 7519 section 2, fractions truncated) when it is
    /// non-negative and finite, else `None`.
    Number(Option<u64>),
    /// An array of exactly one string (decisions.md D10: `aud` and `resource` may be one).
    OneStringArray(Cow<'a, str>),
    /// Anything else: a boolean, an object, another array.
    Other,
}

impl<'a> Member<'a> {
    /// The member `name` of a parsed object, its strings borrowed from the map.
    pub(crate) fn of(object: &'a Map<String, Value>, name: &str) -> Self {
        match object.get(name) {
            None => Self::Absent,
            Some(Value::Null) => Self::Null,
            Some(Value::String(text)) => Self::String(Cow::Borrowed(text)),
            Some(number @ Value::Number(_)) => Self::Number(numeric_date(number)),
            Some(Value::Array(items)) => match items.as_slice() {
                [Value::String(text)] => Self::OneStringArray(Cow::Borrowed(text)),
                _ => Self::Other,
            },
            Some(Value::Bool(_) | Value::Object(_)) => Self::Other,
        }
    }
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

    /// Present and not `null`.
    pub(crate) fn is_given(&self) -> bool {
        !matches!(self, Self::Absent | Self::Null)
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
        Ok(Member::Number(seconds_from_float(value)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(value: Value) -> Member<'static> {
        let object: &'static Map<String, Value> = Box::leak(Box::new(
            json!({ "m": value })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ));
        Member::of(object, "m")
    }

    #[test]
    fn a_parsed_map_reads_as_the_one_pass_reader_does() {
        let cases = [
            r#""x""#,
            "10",
            "10.9",
            "-1",
            "1e300",
            "null",
            "true",
            r#"["x"]"#,
            r#"["x", "y"]"#,
            "[1]",
            "[]",
            r#"{"a": 1}"#,
        ];
        for text in cases {
            let json = format!(r#"{{"m": {text}}}"#);
            let Ok([read]) = super::super::read_members(json.as_bytes(), ["m"]) else {
                panic!("{json} reads");
            };
            let parsed: Value = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(of(parsed), read, "{text}");
        }
        let empty = Map::new();
        assert_eq!(Member::of(&empty, "m"), Member::Absent);
    }

    #[test]
    fn accessors() {
        assert_eq!(of(json!("a")).as_str(), Some("a"));
        assert_eq!(of(json!(["a"])).as_str(), None);
        assert_eq!(of(json!(["a"])).single_string(), Some("a"));
        assert_eq!(of(json!("a")).single_string(), Some("a"));
        assert_eq!(of(json!(["a", "b"])).single_string(), None);
        assert_eq!(of(json!(1)).single_string(), None);
        assert_eq!(of(json!(10.9)).numeric_date(), Some(10));
        assert_eq!(of(json!("10")).numeric_date(), None);
        assert!(of(json!(null)).is_present());
        assert!(!of(json!(null)).is_given());
    }
}
