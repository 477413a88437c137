//! Output hygiene, in one place: every string that came from a server, a token, a file or the
//! environment passes through here before it reaches a terminal or a log.
//!
//! A terminal acts on more than the printable text it is given: ESC and the C1 controls start
//! escape sequences (retitle the window, rewrite the screen, on some terminals run commands),
//! CR and LF forge extra lines, BEL rings, and Unicode format characters (bidi overrides such as
//! U+202E, zero-width joiners, tag characters) make text read differently from what it is.
//! Such characters are shown as `\u{XXXX}` in text output and as `\uXXXX` escapes in JSON,
//! which keeps the JSON value identical while no raw control reaches the terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

/// Whether `c` must not reach a terminal raw (the core's rule, shared with its error texts).
pub(crate) fn is_unsafe(c: char) -> bool {
    xaa::is_unsafe_for_display(c)
}

/// `text` with every unsafe character written as `\u{XXXX}`; borrowed when there is none.
pub(crate) fn shown(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A JSON document for a terminal: serde_json's text with every unsafe character that it
/// leaves raw (DEL, C1, format characters, separators) written as a `\uXXXX` escape (a surrogate pair
/// above U+FFFF). The value is unchanged; such characters only occur inside strings.
pub(crate) fn json(value: &Value, pretty: bool) -> String {
    let text = if pretty {
        format!("{value:#}")
    } else {
        value.to_string()
    };
    // serde_json escapes every C0 control inside strings, so a raw one is the layout's own
    // newline or indentation.
    let raw_and_unsafe = |c: char| c > '\u{1f}' && is_unsafe(c);
    if !text.chars().any(raw_and_unsafe) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut units = [0u16; 2];
    for c in text.chars() {
        if raw_and_unsafe(c) {
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_format_characters_and_separators_are_escaped() {
        let hostile = "a\u{1b}[2Jb\u{7}c\rd\ne\u{7f}f\u{9b}g\u{202e}h\u{2028}i\u{e0041}j\u{200b}k";
        assert_eq!(
            shown(hostile),
            "a\\u{001B}[2Jb\\u{0007}c\\u{000D}d\\u{000A}e\\u{007F}f\\u{009B}g\\u{202E}h\\u{2028}i\\u{E0041}j\\u{200B}k"
        );
        assert!(matches!(shown("plain text, é, 東京"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_keeps_the_value_and_escapes_what_serde_leaves_raw() {
        let value = serde_json::json!({"k\u{9b}": "x\u{7f}\u{202e}\u{e0041}\u{1b}y", "n": 1});
        for pretty in [false, true] {
            let text = json(&value, pretty);
            assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
            let back: Value = serde_json::from_str(&text).expect("still JSON");
            assert_eq!(back, value);
        }
        assert!(json(&value, false).contains("\\udb40\\udc41"));
    }
}
