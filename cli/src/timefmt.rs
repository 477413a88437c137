//! Dates for people: NumericDate seconds as RFC 3339 UTC, and durations as "4m 10s".
//!
//! Every function here is total: a NumericDate comes from a token or a server and may be any
//! `u64` (`xaa::jwt::numeric_date` saturates `1e308` to `u64::MAX`), so nothing adds to a
//! `SystemTime` or casts to a signed integer that could overflow.

use std::time::{Duration, SystemTime};

/// The last second RFC 3339 can write with a four-digit year: 9999-12-31T23:59:59Z.
pub(crate) const LAST_WRITABLE_SECOND: u64 = 253_402_300_799;

/// `1970-01-01T00:00:00Z` style, UTC (civil-from-days, proleptic Gregorian calendar); a later
/// date than [`LAST_WRITABLE_SECOND`] is "after 9999-12-31T23:59:59Z".
pub(crate) fn rfc3339(seconds: u64) -> String {
    if seconds > LAST_WRITABLE_SECOND {
        return format!("after {}", rfc3339(LAST_WRITABLE_SECOND));
    }
    // At most 2_932_896 days: every value below fits a u64 with room to spare.
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A short human duration: `2h 3m`, `4m 10s`, `12s`, `3d 4h`.
pub(crate) fn human(duration: Duration) -> String {
    let s = duration.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// "in 4m 10s" or "4m 10s ago": the NumericDate `seconds` relative to `now`.
pub(crate) fn relative(seconds: u64, now: SystemTime) -> String {
    let at = Duration::from_secs(seconds);
    let ahead = match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since_epoch) => at
            .checked_sub(since_epoch)
            .ok_or_else(|| since_epoch.saturating_sub(at)),
        // A clock before 1970: every NumericDate is ahead.
        Err(before_epoch) => Ok(at.saturating_add(before_epoch.duration())),
    };
    match ahead {
        Ok(ahead) => format!("in {}", human(ahead)),
        Err(behind) => format!("{} ago", human(behind)),
    }
}

/// Seconds since the epoch.
pub(crate) fn unix(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_311_281_970), "2011-07-21T20:59:30Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_651_200), "2026-11-26T00:00:00Z");
        assert_eq!(rfc3339(LAST_WRITABLE_SECOND), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn dates_after_year_9999_are_said_to_be() {
        for seconds in [LAST_WRITABLE_SECOND + 1, 1 << 63, u64::MAX] {
            assert_eq!(rfc3339(seconds), "after 9999-12-31T23:59:59Z");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(human(Duration::from_secs(12)), "12s");
        assert_eq!(human(Duration::from_secs(250)), "4m 10s");
        assert_eq!(human(Duration::from_secs(7380)), "2h 3m");
        assert_eq!(human(Duration::from_secs(u64::MAX)), "213503982334601d 7h");
    }

    #[test]
    fn relative_times() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(relative(1_000_250, now), "in 4m 10s");
        assert_eq!(relative(999_750, now), "4m 10s ago");
        assert_eq!(relative(1_000_000, now), "in 0s");
        assert_eq!(relative(u64::MAX, now), "in 213503982334589d 17h");
    }

    /// Days since 1970-01-01 of a civil date (days-from-civil), to check [`rfc3339`] against.
    fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
        let year = if month <= 2 { year - 1 } else { year } + 400;
        let era = year / 400;
        let year_of_era = year % 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468 - 146_097
    }

    /// The seconds an RFC 3339 date of [`rfc3339`] names.
    fn parse(date: &str) -> u64 {
        let number = |range: std::ops::Range<usize>| -> u64 {
            date.get(range)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{date:?}"))
        };
        assert_eq!(date.len(), 20, "{date:?}");
        let days = days_from_civil(number(0..4), number(5..7), number(8..10));
        days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19)
    }

    /// Edge values, then a linear congruential sweep over the whole `u64` range and over the
    /// writable dates: never a panic, every writable date names its own second, later seconds
    /// sort later, and every later one says so.
    #[test]
    fn every_u64_is_a_date_or_said_to_be_too_late() {
        let mut samples = vec![
            0,
            1,
            59,
            86_399,
            86_400,
            951_782_399,
            951_782_400,
            LAST_WRITABLE_SECOND - 1,
            LAST_WRITABLE_SECOND,
            LAST_WRITABLE_SECOND + 1,
            u64::from(u32::MAX),
            i64::MAX as u64,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            samples.push(state);
            samples.push(state % (LAST_WRITABLE_SECOND + 1));
            samples.push(state >> (state % 64));
        }
        let nows = [
            SystemTime::UNIX_EPOCH,
            SystemTime::now(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(LAST_WRITABLE_SECOND),
            SystemTime::UNIX_EPOCH
                .checked_sub(Duration::from_secs(86_400))
                .unwrap_or(SystemTime::UNIX_EPOCH),
        ];
        for &seconds in &samples {
            let date = rfc3339(seconds);
            if seconds <= LAST_WRITABLE_SECOND {
                assert_eq!(parse(&date), seconds, "{date}");
                if seconds < LAST_WRITABLE_SECOND {
                    assert!(date < rfc3339(seconds + 1), "{seconds}");
                }
            } else {
                assert_eq!(date, "after 9999-12-31T23:59:59Z");
            }
            for now in nows {
                let said = relative(seconds, now);
                assert!(said.starts_with("in ") || said.ends_with(" ago"), "{said}");
            }
        }
    }
}
