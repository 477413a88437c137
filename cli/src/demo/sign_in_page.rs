//! Reading the IdP's sign-in page as a browser would, just enough to fill it in: the form's
//! `action`, its hidden inputs, the users offered (`<input type="radio" name="user">`) and
//! its first submit button, the one a person pressing Enter submits with.
//!
//! The page comes from the kit, but it is read as any server's answer: a page without the
//! form, the action, or the user asked for is a typed [`PageError`], never a panic, and the
//! form is submitted only to the origin the page came from.

use std::fmt;

use url::Url;

/// The sign-in form, read.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SignInForm {
    /// Where the form posts, resolved against the page's URL.
    pub(super) action: Url,
    /// The hidden inputs, to send back as they are.
    pub(super) hidden: Vec<(String, String)>,
    /// The users offered, in page order.
    pub(super) users: Vec<String>,
    /// The name and value of the first submit button that has both, sent as a browser
    /// sends the button that submitted the form.
    pub(super) submit: Option<(String, String)>,
}

/// Why the page cannot be filled in.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PageError {
    /// No `<form>` element.
    NoForm,
    /// The form has no `action`, or one that is not a URL.
    BadAction,
    /// The form posts to another origin than the page's.
    ForeignAction(String),
    /// The form offers no user choice.
    NoUsers,
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoForm => f.write_str("the sign-in page holds no form"),
            Self::BadAction => f.write_str("the sign-in form has no usable action URL"),
            Self::ForeignAction(action) => write!(
                f,
                "the sign-in form posts to {action}, another origin than the page's"
            ),
            Self::NoUsers => f.write_str("the sign-in form offers no user to choose"),
        }
    }
}

impl SignInForm {
    /// Reads the first form of `html`, the page at `page_url`.
    pub(super) fn read(html: &str, page_url: &Url) -> Result<Self, PageError> {
        let start = find_tag(html, 0, "form").ok_or(PageError::NoForm)?;
        let (form_tag, body_start) = tag_at(html, start).ok_or(PageError::NoForm)?;
        let end = find_closing(html, body_start, "form").ok_or(PageError::NoForm)?;
        let action = attribute(form_tag, "action").ok_or(PageError::BadAction)?;
        let action = page_url.join(&action).map_err(|_| PageError::BadAction)?;
        if action.origin() != page_url.origin() {
            return Err(PageError::ForeignAction(action.to_string()));
        }
        let body = &html[body_start..end];
        let mut hidden = Vec::new();
        let mut users = Vec::new();
        let mut at = 0;
        while let Some(input) = find_tag(body, at, "input") {
            let Some((tag, next)) = tag_at(body, input) else {
                break;
            };
            at = next;
            let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value"))
            else {
                continue;
            };
            match attribute(tag, "type").as_deref() {
                Some(kind) if kind.eq_ignore_ascii_case("hidden") => hidden.push((name, value)),
                Some(kind) if kind.eq_ignore_ascii_case("radio") && name == "user" => {
                    users.push(value);
                }
                _ => {}
            }
        }
        if users.is_empty() {
            return Err(PageError::NoUsers);
        }
        Ok(Self {
            action,
            hidden,
            users,
            submit: first_submit_button(body),
        })
    }
}

/// The name and value of the first `<button>` of `form_body` that submits (no `type`, or
/// `type="submit"`) and has both.
fn first_submit_button(form_body: &str) -> Option<(String, String)> {
    let mut at = 0;
    while let Some(start) = find_tag(form_body, at, "button") {
        let (tag, next) = tag_at(form_body, start)?;
        at = next;
        let submits = attribute(tag, "type").is_none_or(|kind| kind.eq_ignore_ascii_case("submit"));
        if let (true, Some(name), Some(value)) =
            (submits, attribute(tag, "name"), attribute(tag, "value"))
        {
            return Some((name, value));
        }
    }
    None
}

/// Where the next `<name` tag (any case, followed by a space, `/` or `>`) starts at or after
/// `from`.
fn find_tag(html: &str, from: usize, name: &str) -> Option<usize> {
    let lower = html.get(from..)?.to_ascii_lowercase();
    let opening = format!("<{name}");
    let mut at = 0;
    while let Some(found) = lower[at..].find(&opening) {
        let start = at + found;
        let after = lower[start + opening.len()..].chars().next();
        if matches!(after, Some(c) if c.is_ascii_whitespace() || c == '>' || c == '/') {
            return Some(from + start);
        }
        at = start + opening.len();
    }
    None
}

/// The tag starting at `start` (up to its `>`, quotes respected) and where its content begins.
fn tag_at(html: &str, start: usize) -> Option<(&str, usize)> {
    let mut quote = None;
    for (offset, c) in html.get(start..)?.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), c) if c == open => quote = None,
            (None, '>') => return Some((&html[start..start + offset], start + offset + 1)),
            _ => {}
        }
    }
    None
}

/// Where `</name>` starts at or after `from`.
fn find_closing(html: &str, from: usize, name: &str) -> Option<usize> {
    let lower = html.get(from..)?.to_ascii_lowercase();
    lower.find(&format!("</{name}>")).map(|at| from + at)
}

/// The value of attribute `name` of `tag` (quoted or not), its character references decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag.split_once(|c: char| c.is_ascii_whitespace())?.1;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let (attribute_name, after) = rest.split_at(name_end);
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('=') {
            Some(value) => {
                let value = value.trim_start();
                match value.chars().next() {
                    Some(quote @ ('"' | '\'')) => {
                        let inner = &value[1..];
                        let close = inner.find(quote)?;
                        (&inner[..close], &inner[close + 1..])
                    }
                    _ => {
                        let end = value
                            .find(|c: char| c.is_ascii_whitespace())
                            .unwrap_or(value.len());
                        value.split_at(end)
                    }
                }
            }
            None => ("", after),
        };
        if attribute_name.eq_ignore_ascii_case(name) {
            return Some(decode_references(value));
        }
        rest = remaining;
    }
}

/// `text` with the character references an escaped attribute holds decoded: the five of
/// markup and numeric ones; anything else is left as written.
fn decode_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|end| *end <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let decoded = match &rest[1..end] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            numeric => numeric
                .strip_prefix("#x")
                .or_else(|| numeric.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| numeric.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_url() -> Url {
        Url::parse("http://127.0.0.1:4000/authorize?client_id=c").expect("a URL")
    }

    #[test]
    fn reads_the_kit_form() {
        let html = "<h1>Sign in</h1>\n<FORM method=\"post\" action=\"/authorize/sign-in\" \
                    id=\"sign-in\">\n<input type=\"hidden\" name=\"transaction\" \
                    value=\"t&amp;1\">\n<p><input type=\"radio\" name=\"user\" id=\"user-alice\" \
                    value=\"alice\" checked> <label>alice</label></p>\n<p><input type='radio' \
                    name=user value=bob></p>\n<button type=\"submit\" name=\"decision\" \
                    value=\"allow\">Sign in</button></form><input type=\"hidden\" name=\"x\" \
                    value=\"outside\">";
        let form = SignInForm::read(html, &page_url()).expect("the form");
        assert_eq!(
            form.action.as_str(),
            "http://127.0.0.1:4000/authorize/sign-in"
        );
        assert_eq!(
            form.hidden,
            vec![("transaction".to_owned(), "t&1".to_owned())]
        );
        assert_eq!(form.users, vec!["alice".to_owned(), "bob".to_owned()]);
        assert_eq!(
            form.submit,
            Some(("decision".to_owned(), "allow".to_owned()))
        );
    }

    #[test]
    fn a_malformed_page_is_a_typed_error() {
        let url = page_url();
        let read = |html: &str| SignInForm::read(html, &url);
        assert_eq!(read("<p>no form</p>"), Err(PageError::NoForm));
        assert_eq!(read("<form action=\"/x\""), Err(PageError::NoForm));
        assert_eq!(read("<form action=\"/x\">"), Err(PageError::NoForm));
        assert_eq!(read("<formula></formula>"), Err(PageError::NoForm));
        assert_eq!(read("<form id=a></form>"), Err(PageError::BadAction));
        assert_eq!(
            read("<form action=\"http://[x\"></form>"),
            Err(PageError::BadAction)
        );
        assert_eq!(
            read(
                "<form action=\"http://evil.example/steal\"><input type=radio name=user \
                  value=a></form>"
            ),
            Err(PageError::ForeignAction(
                "http://evil.example/steal".to_owned()
            ))
        );
        assert_eq!(
            read("<form action=\"/x\"><input type=\"radio\" name=\"user\"></form>"),
            Err(PageError::NoUsers)
        );
        assert_eq!(
            read("<form action=\"/x\"><input name=\"user"),
            Err(PageError::NoForm)
        );
    }

    #[test]
    fn references_are_decoded_and_broken_ones_kept() {
        assert_eq!(decode_references("a&lt;b&#x41;&#66;&quot;"), "a<bAB\"");
        assert_eq!(
            decode_references("&unknown; & &#xZZ; &"),
            "&unknown; & &#xZZ; &"
        );
        assert_eq!(decode_references("&#x110000;"), "&#x110000;");
    }
}
