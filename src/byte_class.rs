//! Scanning tokens for the bytes of one class, many bytes per step: the two scans every exchange
//! runs over each JWT it handles (the base64url alphabet of its segments, the bytes a form body
//! copies unescaped).
//!
//! Each class is a branch-free predicate, folded over blocks of [`BLOCK`] bytes, which the
//! compiler turns into vector compares; what is left is looked up byte by byte in a table.

/// Bytes looked at in one step.
const BLOCK: usize = 16;

/// The length of the longest prefix of `bytes` in the base64url alphabet.
pub(crate) fn base64url_prefix_len(bytes: &[u8]) -> usize {
    class_prefix_len(bytes, is_base64url, &BASE64URL)
}

/// The length of the longest prefix of `bytes` that a form body copies unescaped.
pub(crate) fn form_unescaped_prefix_len(bytes: &[u8]) -> usize {
    class_prefix_len(bytes, is_form_unescaped, &FORM_UNESCAPED)
}

/// The longest prefix of `bytes` in a class: whole blocks through the branch-free `class`
/// (vector compares), then the rest byte by byte through the same class as a table (short runs,
/// such as those between the colons of a URN, never reach a whole block).
#[inline(always)]
fn class_prefix_len(bytes: &[u8], class: fn(u8) -> bool, table: &[bool; 256]) -> usize {
    let (blocks, _) = bytes.as_chunks::<BLOCK>();
    let clean_blocks = blocks
        .iter()
        .take_while(|block| block.iter().fold(true, |all, &byte| all & class(byte)))
        .count();
    let start = clean_blocks * BLOCK;
    let rest = &bytes[start..];
    start
        + rest
            .iter()
            .position(|&byte| !table[usize::from(byte)])
            .unwrap_or(rest.len())
}

/// A class as a table, for the bytes looked at one at a time.
macro_rules! class_table {
    ($class:ident) => {{
        let mut table = [false; 256];
        let mut byte = 0;
        while byte < 256 {
            table[byte] = $class(byte as u8);
            byte += 1;
        }
        table
    }};
}

static BASE64URL: [bool; 256] = class_table!(is_base64url);
static FORM_UNESCAPED: [bool; 256] = class_table!(is_form_unescaped);

/// ASCII letters and digits, without branches.
#[inline(always)]
const fn is_alphanumeric(byte: u8) -> bool {
    // Setting bit 5 maps `A-Z` onto `a-z` and nothing else onto them.
    ((byte | 0x20).wrapping_sub(b'a') < 26) | (byte.wrapping_sub(b'0') < 10)
}

/// The base64url alphabet (RFC 4648 section 5), without padding.
#[inline(always)]
const fn is_base64url(byte: u8) -> bool {
    is_alphanumeric(byte) | (byte == b'-') | (byte == b'_')
}

/// The bytes the `application/x-www-form-urlencoded` serializer leaves as they are (the WHATWG
/// URL standard): ASCII letters and digits and `*-._`.
#[inline(always)]
const fn is_form_unescaped(byte: u8) -> bool {
    is_alphanumeric(byte) | (byte == b'*') | (byte == b'-') | (byte == b'.') | (byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_exactly_their_alphabets() {
        for byte in 0..=u8::MAX {
            let alphanumeric = byte.is_ascii_alphanumeric();
            assert_eq!(BASE64URL[usize::from(byte)], is_base64url(byte));
            assert_eq!(FORM_UNESCAPED[usize::from(byte)], is_form_unescaped(byte));
            assert_eq!(
                is_base64url(byte),
                alphanumeric || matches!(byte, b'-' | b'_'),
                "{byte:#04x}"
            );
            assert_eq!(
                is_form_unescaped(byte),
                alphanumeric || matches!(byte, b'*' | b'-' | b'.' | b'_'),
                "{byte:#04x}"
            );
        }
    }

    #[test]
    fn the_prefix_ends_at_the_first_outsider_wherever_it_is() {
        for length in 0..70 {
            let clean = vec![b'a'; length];
            assert_eq!(base64url_prefix_len(&clean), length);
            assert_eq!(form_unescaped_prefix_len(&clean), length);
            for at in 0..length {
                let mut dirty = clean.clone();
                dirty[at] = b'%';
                assert_eq!(base64url_prefix_len(&dirty), at, "{length} {at}");
                assert_eq!(form_unescaped_prefix_len(&dirty), at, "{length} {at}");
                dirty[length - 1] = 0xff;
                assert_eq!(base64url_prefix_len(&dirty), at, "{length} {at}");
            }
        }
    }
}
