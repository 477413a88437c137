//! The reading of a JSON object the core promises for token responses, error bodies and JWT
//! segments, written here apart from it: what serde_json parses into a map, less an object
//! that names a member twice (RFC 8259 section 4; RFC 7519 section 4 lets a JWT parser refuse
//! it). Names compare after unescaping; only the top level is checked. The repeated name is
//! the first one seen again, in document order, reported once its value is read.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, MapAccess, Visitor};
use serde_json::{Map, Value};

/// Why bytes are not an object with unique member names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ObjectFault {
    /// Not exactly one JSON object.
    NotAnObject,
    /// This name appears twice.
    Repeated(String),
}

/// Reads `json` as one object whose member names are unique.
pub(crate) fn unique_object(json: &[u8]) -> Result<Map<String, Value>, ObjectFault> {
    let mut repeated = None;
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let read = deserializer.deserialize_map(Members {
        repeated: &mut repeated,
    });
    if let Some(name) = repeated {
        return Err(ObjectFault::Repeated(name));
    }
    let object = read.map_err(|_| ObjectFault::NotAnObject)?;
    deserializer.end().map_err(|_| ObjectFault::NotAnObject)?;
    Ok(object)
}

/// Collects members into a map, stopping at the first repeated name.
struct Members<'r> {
    repeated: &'r mut Option<String>,
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut object = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            let value = access.next_value::<Value>()?;
            if !seen.insert(name.clone()) {
                *self.repeated = Some(name);
                return Err(de::Error::custom("a repeated member"));
            }
            object.insert(name, value);
        }
        Ok(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings() {
        assert!(unique_object(br#"{"a": 1, "b": {"a": 2, "a": 3}}"#).is_ok());
        assert_eq!(
            unique_object(br#"{"a": 1, "\u0061": 2}"#),
            Err(ObjectFault::Repeated("a".into()))
        );
        assert_eq!(
            unique_object(br#"{"b": 1, "b": 2, "b" "#),
            Err(ObjectFault::Repeated("b".into()))
        );
        assert_eq!(unique_object(b"[1]"), Err(ObjectFault::NotAnObject));
        assert_eq!(unique_object(b"{} x"), Err(ObjectFault::NotAnObject));
    }
}
