//! The one way this crate reads JSON: documents servers send (RFC 8414, RFC 9728, RFC 6749
//! section 5), and the header and claims of JWTs (RFC 7519 section 4).
//!
//! * [`parse_object`] and [`read_members`] parse exactly one JSON object and refuse a member
//!   name given twice, through one visitor (`object`): RFC 8259 section 4 leaves duplicate
//!   names to the reader, RFC 7519 section 4 lets a JWT parser refuse them, and two readers
//!   that kept different copies would see different documents.
//! * [`Member`] is the one model of a member's value, whether it came from a parsed map or the
//!   one-pass reader, and [`Member::required_str`] / [`Member::optional_str`] the one reading of
//!   strings ([`JsonSource`] says how `null` and `""` read).
//! * `numeric_date` reads NumericDates (RFC 7519 section 2) and converts times.
//!
//! Nothing here depends on the rest of the crate: errors are this module's own, and each caller
//! maps them to its own (`Violation`, `JwtError`, `TokenFault`).

mod member;
mod numeric_date;
mod object;
mod skipped;
mod string_rules;

pub(crate) use member::Member;
pub use numeric_date::numeric_date;
pub(crate) use numeric_date::{saturating_add, time_from_numeric_date, unix_seconds};
#[cfg(all(feature = "dpop", feature = "server"))]
pub(crate) use object::UniqueObject;
pub(crate) use object::{ObjectError, parse_object, read_members};
pub(crate) use string_rules::{JsonSource, StringFault};
