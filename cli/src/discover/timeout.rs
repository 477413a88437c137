//! The per-request timeout of `xaa discover` and `xaa decode --verify-jwks URL`: whole seconds
//! within fixed bounds, refused as a usage error outside them.

use std::time::Duration;

/// The shortest timeout accepted, in seconds.
pub(crate) const MIN_TIMEOUT_SECS: u64 = 1;

/// The longest timeout accepted, in seconds (an hour).
pub(crate) const MAX_TIMEOUT_SECS: u64 = 3600;

/// The timeout when none is given, in seconds (as `xaa token`).
pub(crate) const DEFAULT_TIMEOUT_SECS: &str = "30";

/// Reads `--timeout SECS` (a clap value parser).
pub(crate) fn parse_timeout(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(seconds) if (MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&seconds) => {
            Ok(Duration::from_secs(seconds))
        }
        _ => Err(format!(
            "the timeout must be a whole number of seconds from {MIN_TIMEOUT_SECS} to \
             {MAX_TIMEOUT_SECS}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_seconds_within_the_bounds() {
        assert_eq!(parse_timeout("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_timeout("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            parse_timeout(DEFAULT_TIMEOUT_SECS),
            Ok(Duration::from_secs(30))
        );
        for refused in [
            "0",
            "3601",
            "9223372036854775807",
            "18446744073709551616",
            "-1",
            "1.5",
            "",
            " 5",
            "ten",
        ] {
            let error = parse_timeout(refused).expect_err(refused);
            assert!(error.contains("from 1 to 3600"), "{error}");
        }
    }
}
