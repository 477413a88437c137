//! OAuth scope values (RFC 6749 section 3.3): space-delimited, order kept, duplicates dropped.

use std::fmt;

/// A set of scope tokens, kept in the order first seen.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    tokens: Vec<String>,
}

impl Scope {
    /// Parses a space-delimited scope string. Empty tokens are dropped; duplicates are kept once.
    pub fn parse(value: &str) -> Self {
        value.split(' ').filter(|t| !t.is_empty()).collect()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(String::as_str)
    }

    /// Whether `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.tokens.iter().any(|t| t == token)
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.iter().all(|t| other.contains(t))
    }

    /// The tokens of `self` that are not in `other`.
    pub fn difference(&self, other: &Scope) -> Scope {
        self.iter().filter(|t| !other.contains(t)).collect()
    }

    /// The tokens of both, `self`'s first.
    pub fn union(&self, other: &Scope) -> Scope {
        self.iter().chain(other.iter()).collect()
    }

    /// The tokens in both, in `self`'s order.
    pub fn intersection(&self, other: &Scope) -> Scope {
        self.iter().filter(|t| other.contains(t)).collect()
    }

    /// The same tokens in a canonical (sorted) order, for cache keys (decisions.md D19).
    pub fn canonical(&self) -> Scope {
        let mut tokens = self.tokens.clone();
        tokens.sort();
        Scope { tokens }
    }
}

impl<'a> FromIterator<&'a str> for Scope {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut tokens: Vec<String> = Vec::new();
        for token in iter {
            if !token.is_empty() && !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_owned());
            }
        }
        Scope { tokens }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.to_string())
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Scope::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_drops_empty_and_duplicates() {
        let scope = Scope::parse("  a b  a c ");
        assert_eq!(scope.to_string(), "a b c");
    }

    #[test]
    fn set_operations() {
        let a = Scope::parse("read write");
        let b = Scope::parse("write admin");
        assert_eq!(a.union(&b).to_string(), "read write admin");
        assert_eq!(a.intersection(&b).to_string(), "write");
        assert_eq!(a.difference(&b).to_string(), "read");
        assert!(Scope::parse("write").is_subset_of(&a));
        assert!(!b.is_subset_of(&a));
        assert_eq!(Scope::parse("b a").canonical(), Scope::parse("a b"));
    }
}
