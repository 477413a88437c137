//! How the core shows text a server chose in an error, written here apart from it: at most 256
//! characters, each one unsafe for display (`xaa::is_unsafe_for_display`) made a space, and an
//! ellipsis after a cut.

/// The longest server-supplied text kept in an error, in characters.
const MAX_SHOWN: usize = 256;

/// `text` as an error shows it.
pub(crate) fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_SHOWN)
        .map(|c| {
            if xaa::is_unsafe_for_display(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    if text.chars().nth(MAX_SHOWN).is_some() {
        out.push('…');
    }
    out
}
