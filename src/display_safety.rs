//! Which characters must never reach a display raw: text a server sent ends up in error
//! messages, log lines and terminals, where these characters act instead of showing.
//!
//! - Control characters (C0, DEL, C1): ESC and the C1 controls start terminal escape
//!   sequences, CR and LF forge lines, BEL rings.
//! - Unicode format characters (general category Cf): bidi overrides and isolates (U+202E
//!   shows text backwards), zero-width characters, tag characters.
//! - The line and paragraph separators U+2028 and U+2029.
//!
//! [`sanitize`] applies the rule to text kept in error messages.

/// Longest server-supplied text kept in an error (descriptions, bodies, URLs).
pub(crate) const MAX_ERROR_TEXT: usize = 256;

/// Keeps at most [`MAX_ERROR_TEXT`] characters of server-supplied text, with every character
/// unsafe for display (controls, bidi and other format characters, line separators) made a
/// space, so an error message stays one line that reads as it is.
pub(crate) fn sanitize(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if is_unsafe_for_display(c) { ' ' } else { c })
        .take(MAX_ERROR_TEXT)
        .collect();
    if text.chars().count() > MAX_ERROR_TEXT {
        out.push('…');
    }
    out
}

/// An optional value in a message: quoted (`Debug`, so escaped), or `(absent)`.
#[cfg(feature = "jose")]
pub(crate) fn quoted_or_absent(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "(absent)".to_owned(), |value| format!("{value:?}"))
}

/// Whether `c` must be replaced or escaped before text holding it is displayed.
pub fn is_unsafe_for_display(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode general category Cf (format characters), as of Unicode 16.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_format_characters_and_separators() {
        for c in [
            '\0',
            '\u{7}',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{9b}',
            '\u{ad}',
            '\u{200b}',
            '\u{200e}',
            '\u{202e}',
            '\u{2066}',
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{e0041}',
        ] {
            assert!(is_unsafe_for_display(c), "{:04X}", u32::from(c));
        }
        for c in [
            'a',
            ' ',
            '~',
            'é',
            '東',
            '\u{a0}',
            '\u{1f600}',
            '\u{2027}',
            '\u{202f}',
        ] {
            assert!(!is_unsafe_for_display(c), "{:04X}", u32::from(c));
        }
    }
}
