//! The small HTML page the browser gets back from the redirect listener: it says the sign-in
//! worked, or what went wrong. Every text placed in it is HTML-escaped, and the page loads
//! nothing (no script, no style sheet, no image) and may not be framed.

/// The page for an outcome: `Ok(())` signed in, `Err(message)` what went wrong.
pub(crate) fn render(outcome: Result<(), &str>) -> String {
    let (title, body) = match outcome {
        Ok(()) => (
            "Signed in",
            "You are signed in. You may close this window and return to the terminal.".to_owned(),
        ),
        Err(message) => (
            "Sign-in failed",
            format!(
                "The sign-in did not complete: {}. Return to the terminal for details.",
                escape(message)
            ),
        ),
    };
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>xaa: {title}</title></head>\
         <body><h1>{title}</h1><p>{body}</p></body></html>\n"
    )
}

/// `text` with the five characters that are markup in HTML written as references, and every
/// character unsafe on a terminal (controls, bidi overrides) as a numeric reference too.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if xaa::is_unsafe_for_display(c) => out.push_str(&format!("&#x{:X};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_message_is_escaped() {
        let page = render(Err("<script>alert('x')</script> & \u{202E}"));
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#x202E;"));
        assert!(!page.contains("<script>"));
        assert!(render(Ok(())).contains("You are signed in."));
    }
}
