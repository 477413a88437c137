//! Parsing exactly one JSON object whose member names are unique, through one visitor
//! ([`UniqueMembers`]) for both readings: into a map ([`parse_object`]), or only the members
//! asked for, in one pass without building a map ([`read_members`]).
//!
//! Every value is parsed to the end either way (strings unescaped and checked, numbers read),
//! so both readings accept exactly the objects `serde_json` parses into a map, less those with
//! a repeated member name (RFC 8259 section 4; RFC 7519 section 4 lets a JWT parser refuse
//! them). Names compare after unescaping: `"b"` and `"\u0062"` are the same member. Only the
//! top level is checked: nested objects are values.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, Deserialize, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::member::Member;
use super::skipped::Skipped;

/// Why an object could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ObjectError {
    /// Not a single JSON object (or trailing data after it).
    NotAnObject,
    /// A member name appears twice: the first name repeated, in document order, as written
    /// (unsanitized: the caller sanitizes it for its error).
    DuplicateMember(String),
}

/// Parses `json` as one object into a map.
pub(crate) fn parse_object(json: &[u8]) -> Result<Map<String, Value>, ObjectError> {
    read_object(json, IntoMap(Map::new()))
}

/// Reads the members `names` of the JSON object `json`, in the order asked; the others are
/// parsed and dropped.
pub(crate) fn read_members<'a, const N: usize>(
    json: &'a [u8],
    names: [&str; N],
) -> Result<[Member<'a>; N], ObjectError> {
    let found = std::array::from_fn(|_| Member::Absent);
    read_object(json, Named { names, found })
}

fn read_object<'de, C: Collect<'de>>(
    json: &'de [u8],
    collect: C,
) -> Result<C::Output, ObjectError> {
    let mut duplicate = None;
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let read = deserializer.deserialize_map(UniqueMembers {
        collect,
        duplicate: &mut duplicate,
    });
    if let Some(name) = duplicate {
        return Err(ObjectError::DuplicateMember(name));
    }
    let output = read.map_err(|_| ObjectError::NotAnObject)?;
    deserializer.end().map_err(|_| ObjectError::NotAnObject)?;
    Ok(output)
}

/// A JSON object nested in another, read with the same refusal of a repeated member name as
/// the top level (a JWK inside a JOSE header, RFC 9449 section 4.2): deserializing fails on a
/// repeated name or on anything but an object.
#[cfg(all(feature = "dpop", feature = "server"))]
pub(crate) struct UniqueObject(pub(crate) Map<String, Value>);

#[cfg(all(feature = "dpop", feature = "server"))]
impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut duplicate = None;
        deserializer
            .deserialize_map(UniqueMembers {
                collect: IntoMap(Map::new()),
                duplicate: &mut duplicate,
            })
            .map(Self)
    }
}

/// What is kept of each member: the visitor hands every value to it.
trait Collect<'de> {
    type Output;

    /// Consumes the value of the member `name` from `access`.
    fn collect<A: MapAccess<'de>>(&mut self, name: &str, access: &mut A) -> Result<(), A::Error>;

    fn finish(self) -> Self::Output;
}

/// Every member, into a map.
struct IntoMap(Map<String, Value>);

impl<'de> Collect<'de> for IntoMap {
    type Output = Map<String, Value>;

    fn collect<A: MapAccess<'de>>(&mut self, name: &str, access: &mut A) -> Result<(), A::Error> {
        let value = access.next_value::<Value>()?;
        self.0.insert(name.to_owned(), value);
        Ok(())
    }

    fn finish(self) -> Self::Output {
        self.0
    }
}

/// The members named, each where its name is in `names`.
struct Named<'n, 'de, const N: usize> {
    names: [&'n str; N],
    found: [Member<'de>; N],
}

impl<'de, const N: usize> Collect<'de> for Named<'_, 'de, N> {
    type Output = [Member<'de>; N];

    fn collect<A: MapAccess<'de>>(&mut self, name: &str, access: &mut A) -> Result<(), A::Error> {
        match self.names.iter().position(|wanted| *wanted == name) {
            Some(index) => self.found[index] = access.next_value()?,
            None => {
                access.next_value::<Skipped>()?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Self::Output {
        self.found
    }
}

/// The one visitor: hands each member to `collect` and refuses a name seen before, as soon as
/// its value is read. The names seen are kept in a B-tree: a hostile object with many members
/// costs `n log n` comparisons, with no hashing (and so no randomness) involved.
struct UniqueMembers<'d, C> {
    collect: C,
    duplicate: &'d mut Option<String>,
}

impl<'de, C: Collect<'de>> Visitor<'de> for UniqueMembers<'_, C> {
    type Value = C::Output;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut seen: BTreeSet<Cow<'de, str>> = BTreeSet::new();
        while let Some(Name(name)) = access.next_key()? {
            self.collect.collect(&name, &mut access)?;
            if seen.contains(name.as_ref()) {
                *self.duplicate = Some(name.into_owned());
                return Err(de::Error::custom("duplicate member"));
            }
            seen.insert(name);
        }
        Ok(self.collect.finish())
    }
}

/// A member name, borrowed from the input when it has no escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor).map(Name)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str, name: &str) -> Result<Member<'static>, ObjectError> {
        let json: &'static str = Box::leak(json.to_owned().into_boxed_str());
        read_members(json.as_bytes(), [name]).map(|[member]| member)
    }

    /// Both readings, which must agree on what they refuse.
    fn both(json: &str) -> Result<(), ObjectError> {
        let mapped = parse_object(json.as_bytes()).map(drop);
        let read = read_members(json.as_bytes(), ["a"]).map(drop);
        assert_eq!(mapped, read, "{json}");
        mapped
    }

    #[test]
    fn reads_the_named_members_in_the_order_asked() {
        let json = br#"{"exp": 10, "aud": ["a"], "iss": "i", "x": {"y": [1, 2]}}"#;
        let [iss, aud, exp, missing] =
            read_members(json, ["iss", "aud", "exp", "nbf"]).expect("an object");
        assert_eq!(iss.as_str(), Some("i"));
        assert_eq!(aud.single_string(), Some("a"));
        assert_eq!(aud.as_str(), None);
        assert_eq!(exp.numeric_date(), Some(10));
        assert!(!missing.is_present());
        let object = parse_object(json).expect("an object");
        assert_eq!(object.len(), 4);
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
        assert_eq!(one(r#"{"a": 1e400}"#, "a"), Err(ObjectError::NotAnObject));
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
        let twice = |name: &str| Err(ObjectError::DuplicateMember(name.into()));
        assert_eq!(both(r#"{"a": 1, "a": 2}"#), twice("a"));
        assert_eq!(both(r#"{"a": 1, "b": 2, "b": 3}"#), twice("b"));
        assert_eq!(both(r#"{"b": 1, "\u0062": 2}"#), twice("b"));
        assert_eq!(
            both(r#"{"c": 1, "b": 1, "c": 2, "b": 2}"#),
            twice("c"),
            "the first repeated in document order"
        );
        assert_eq!(
            both(r#"{"a": 1, "a": 2, "#),
            twice("a"),
            "reported where it occurs, even if the body breaks later"
        );
        assert_eq!(
            both(r#"{"x at line 1": 1, "x at line 1": 2}"#),
            twice("x at line 1")
        );
        assert!(
            parse_object(br#"{"a":{"b":1,"b":2}}"#).is_ok(),
            "only the top level matters"
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
            assert_eq!(both(json), Err(ObjectError::NotAnObject), "{json}");
            assert!(serde_json::from_str::<Value>(json).is_err());
        }
        let mut invalid_utf8 = br#"{"a": 1, "b": "x"}"#.to_vec();
        invalid_utf8[15] = 0xff;
        assert_eq!(
            read_members(&invalid_utf8, ["a"]),
            Err(ObjectError::NotAnObject)
        );
        assert_eq!(parse_object(&invalid_utf8), Err(ObjectError::NotAnObject));
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
            "[1]",
            "\u{ff}",
        ] {
            assert_eq!(both(json), Err(ObjectError::NotAnObject), "{json}");
        }
    }
}
