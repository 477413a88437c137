//! The sign-in pages' HTML: every value from a request or a setting is escaped.

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};

/// `text` with `&`, `<`, `>`, `"` and `'` as character references, safe in element content
/// and in quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A complete page: `title` is escaped here, `body` must already be HTML. Not cached, not
/// framed, and no script, style or subresource may load (`Content-Security-Policy`); form
/// submissions and the redirects after them are left alone.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response<Vec<u8>> {
    let title = escape(title);
    let document = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    );
    let mut response = Response::new(document.into_bytes());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    response
}

/// An error page: `message` is escaped.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    page(
        status,
        "Sign-in error",
        &format!("<p id=\"error\">{}</p>", escape(message)),
    )
}

/// Radio buttons, one per user, each with its label; `selected` is checked (or the first).
pub(crate) fn user_choices(users: &[&str], selected: Option<&str>) -> String {
    let selected = selected
        .filter(|wanted| users.contains(wanted))
        .or(users.first().copied());
    let mut out = String::from("<fieldset>\n<legend>Sign in as</legend>\n");
    for user in users {
        let user_html = escape(user);
        let checked = if Some(*user) == selected {
            " checked"
        } else {
            ""
        };
        out.push_str(&format!(
            "<p><input type=\"radio\" name=\"user\" id=\"user-{user_html}\" \
             value=\"{user_html}\"{checked}> <label for=\"user-{user_html}\">{user_html} \
             ({email})</label></p>\n",
            email = escape(&crate::users::email(user)),
        ));
    }
    out.push_str("</fieldset>\n");
    out
}

/// The two buttons of a decision: `decision=allow` and `decision=deny`.
pub(crate) fn decision_buttons(allow: &str) -> String {
    format!(
        "<p><button type=\"submit\" id=\"allow\" name=\"decision\" value=\"allow\">{}</button> \
         <button type=\"submit\" id=\"deny\" name=\"decision\" value=\"deny\">Cancel</button></p>",
        escape(allow)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn checks_the_hinted_user_or_the_first() {
        let html = user_choices(&["alice", "bob"], Some("bob"));
        assert!(html.contains("value=\"bob\" checked"));
        assert!(!html.contains("value=\"alice\" checked"));
        let html = user_choices(&["alice", "bob"], Some("<mallory>"));
        assert!(html.contains("value=\"alice\" checked"));
    }
}
