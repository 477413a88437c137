//! Opening the sign-in URL in the person's browser: the system's opener (`open` on macOS,
//! `xdg-open` elsewhere) run directly, never through a shell, with the URL as its one
//! argument and no access to the terminal.

use std::process::{Command, Stdio};

/// The program that opens a URL in the default browser.
const OPENER: &str = if cfg!(target_os = "macos") {
    "open"
} else {
    "xdg-open"
};

/// Starts the opener on `url`; whether a browser appeared is not known, so the caller also
/// prints the URL. The opener is not waited for beyond its start.
pub(crate) fn open(url: &str) -> Result<(), String> {
    Command::new(OPENER)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot run {OPENER}: {e}"))
}
