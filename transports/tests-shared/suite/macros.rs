//! The suite's own macros, over each driver's (`wait!`, `sleep!`, ...).

/// Polls `condition` until it holds or `timeout` passes; whether it held.
macro_rules! wait_until {
    ($timeout:expr, $condition:expr) => {{
        let deadline = std::time::Instant::now() + $timeout;
        loop {
            if $condition {
                break true;
            }
            if std::time::Instant::now() >= deadline {
                break false;
            }
            sleep!(std::time::Duration::from_millis(10));
        }
    }};
}
