//! NumericDate (RFC 7519 section 2): seconds since the epoch, read from JSON and converted to
//! and from `SystemTime` without overflow.

use std::time::{Duration, SystemTime};

use serde_json::Value;

/// A NumericDate (RFC 7519 section 2) from a JSON value: seconds since the epoch, fractions
/// truncated, saturating at `u64::MAX`; `None` for negative, non-finite or non-numbers.
pub fn numeric_date(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    seconds_from_float(value.as_f64()?)
}

/// A JSON number read as a float (a fraction, or beyond `u64`) as NumericDate seconds:
/// truncated, saturating at `u64::MAX`; `None` when negative or not finite.
pub(crate) fn seconds_from_float(value: f64) -> Option<u64> {
    (value.is_finite() && value >= 0.0).then(|| value.min(u64::MAX as f64) as u64)
}

/// A time as a NumericDate: seconds since the epoch, 0 for a time before it.
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The latest time this crate represents: far beyond any real expiry, and representable on
/// every platform's `SystemTime`.
const FAR_FUTURE: Duration = Duration::from_secs(1 << 40);

/// A NumericDate as a `SystemTime`, saturating: a hostile `exp` of `u64::MAX` becomes the far
/// future instead of an overflow.
pub(crate) fn time_from_numeric_date(seconds: u64) -> SystemTime {
    saturating_add(SystemTime::UNIX_EPOCH, Duration::from_secs(seconds))
}

/// `time + duration`, saturating at the far future instead of overflowing.
pub(crate) fn saturating_add(time: SystemTime, duration: Duration) -> SystemTime {
    let limit = SystemTime::UNIX_EPOCH + FAR_FUTURE;
    time.checked_add(duration).map_or(limit, |t| t.min(limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&json!(10)), Some(10));
        assert_eq!(numeric_date(&json!(10.9)), Some(10));
        assert_eq!(numeric_date(&json!(-1)), None);
        assert_eq!(numeric_date(&json!(-0.5)), None);
        assert_eq!(numeric_date(&json!(1e300)), Some(u64::MAX));
        assert_eq!(numeric_date(&json!("10")), None);
    }

    #[test]
    fn times_saturate_instead_of_overflowing() {
        let far = SystemTime::UNIX_EPOCH + FAR_FUTURE;
        assert_eq!(time_from_numeric_date(u64::MAX), far);
        assert_eq!(saturating_add(far, Duration::from_secs(1)), far);
        assert_eq!(
            time_from_numeric_date(10),
            SystemTime::UNIX_EPOCH + Duration::from_secs(10)
        );
        assert_eq!(
            unix_seconds(SystemTime::UNIX_EPOCH - Duration::from_secs(5)),
            0
        );
        assert_eq!(unix_seconds(time_from_numeric_date(42)), 42);
    }
}
