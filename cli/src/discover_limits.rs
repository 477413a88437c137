//! How much of what servers publish `xaa discover` examines and shows: a hostile document may
//! list thousands of authorization servers or scopes, or strings of any length, and none of
//! that may turn into thousands of requests or an unbounded report.

use serde_json::Value;

/// The most `authorization_servers` entries examined (and shown); the rest are only counted.
pub(crate) const MAX_AUTHORIZATION_SERVERS: usize = 4;

/// The most items of any other list shown (`scopes_supported`,
/// `token_endpoint_auth_methods_supported`); the rest are only counted.
pub(crate) const MAX_LIST_ITEMS: usize = 64;

/// The most characters shown of one server-provided string (a URL, an issuer, a scope, a
/// header); the rest are only counted.
pub(crate) const MAX_TEXT_CHARS: usize = 512;

/// The most characters shown of one finding (an error text that may quote two URLs).
pub(crate) const MAX_FINDING_CHARS: usize = 1024;

/// What `xaa discover --help` says about these bounds.
pub(crate) fn help() -> String {
    format!(
        "Bounds: at most {MAX_AUTHORIZATION_SERVERS} of the authorization servers a document \
         lists are examined, the first ones (each at up to 3 well-known metadata URLs); the rest \
         are counted as not examined. At most {MAX_LIST_ITEMS} items of any other list and \
         {MAX_TEXT_CHARS} characters of any string a server sent are shown; the rest are \
         counted (\"N more\")."
    )
}

/// `text` cut to `max_chars` characters, saying how many more there were.
pub(crate) fn clipped(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((end, _)) => {
            let more = text[end..].chars().count();
            format!("{}… ({more} more characters)", &text[..end])
        }
    }
}

/// The first `max_items` items of `items`, each clipped to [`MAX_TEXT_CHARS`], as a JSON
/// array, and how many items were left out.
pub(crate) fn listed(items: &[String], max_items: usize) -> (Value, usize) {
    let shown = items
        .iter()
        .take(max_items)
        .map(|item| Value::String(clipped(item, MAX_TEXT_CHARS)))
        .collect();
    (Value::Array(shown), items.len().saturating_sub(max_items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_and_counted() {
        assert_eq!(clipped("abc", 3), "abc");
        assert_eq!(clipped("abcdé", 3), "abc… (2 more characters)");
        assert_eq!(clipped("", 0), "");
        let long = "x".repeat(5000);
        let cut = clipped(&long, MAX_TEXT_CHARS);
        assert!(cut.ends_with("… (4488 more characters)"), "{cut}");
        assert_eq!(cut.chars().filter(|c| *c == 'x').count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn long_lists_are_cut_and_counted() {
        let items: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let (shown, more) = listed(&items, MAX_LIST_ITEMS);
        assert_eq!(shown.as_array().map(Vec::len), Some(MAX_LIST_ITEMS));
        assert_eq!(more, 36);
        let (shown, more) = listed(&items[..2], MAX_LIST_ITEMS);
        assert_eq!(shown, serde_json::json!(["0", "1"]));
        assert_eq!(more, 0);
    }
}
