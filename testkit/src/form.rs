//! Form bodies and HTTP Basic client credentials, for the kit's recorder and for tests that
//! write requests by hand: `application/x-www-form-urlencoded` as the WHATWG URL standard
//! defines it (RFC 6749 appendix B), and `client_secret_basic` (RFC 6749 section 2.3.1). The
//! core keeps its own codec private; this one is the test side's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use xaa::ClientSecret;

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            body.push('&');
        }
        body.push_str(&escape(name));
        body.push('=');
        body.push_str(&escape(value));
    }
    body.into_bytes()
}

/// The pairs of a form body, in order, duplicates kept; malformed escapes are kept as written.
pub fn decode(body: &[u8]) -> Vec<(String, String)> {
    body.split(|byte| *byte == b'&')
        .filter(|sequence| !sequence.is_empty())
        .map(|sequence| {
            let (name, value) = match sequence.iter().position(|byte| *byte == b'=') {
                Some(at) => (&sequence[..at], &sequence[at + 1..]),
                None => (sequence, &[][..]),
            };
            (unescape(name), unescape(value))
        })
        .collect()
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 section 2.3.1).
pub fn basic_authorization(client_id: &str, secret: &ClientSecret) -> String {
    let credentials = format!("{}:{}", escape(client_id), escape(secret.expose_secret()));
    format!("Basic {}", STANDARD.encode(credentials))
}

/// The client id and secret of a `Basic` header value, form-urldecoded; `None` when it is not
/// well-formed Basic.
pub fn parse_basic_authorization(value: &str) -> Option<(String, ClientSecret)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((
        unescape(id.as_bytes()),
        ClientSecret::new(unescape(secret.as_bytes())),
    ))
}

/// The form-urlencoding of `text`: ASCII alphanumerics and `*-._` as they are, a space as
/// `+`, every other byte of its UTF-8 as `%XX`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Undoes [`escape`]: `+` is a space, `%XX` a byte; a `%` without two hex digits stays, and
/// invalid UTF-8 becomes U+FFFD.
fn unescape(text: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&byte, after)) = rest.split_first() {
        let hex = |index: usize| after.get(index).and_then(|b| char::from(*b).to_digit(16));
        match (byte, hex(0), hex(1)) {
            (b'+', _, _) => bytes.push(b' '),
            (b'%', Some(high), Some(low)) => {
                bytes.push(u8::try_from(high * 16 + low).unwrap_or_default());
                rest = &after[2..];
                continue;
            }
            _ => bytes.push(byte),
        }
        rest = after;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let pairs = [("a b", "x&y=z%+"), ("é", ""), ("", "日本")];
        let decoded = decode(&encode(&pairs));
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(decoded, expected);
        assert_eq!(encode(&[("k", "a b*~")]), b"k=a+b*%7E");
        assert_eq!(
            decode(b"a=%zz&&b"),
            [("a".into(), "%zz".into()), ("b".into(), String::new())]
        );
        let header = basic_authorization("my client", &ClientSecret::new("p@ss:w&rd"));
        let (id, secret) = parse_basic_authorization(&header).expect("Basic");
        assert_eq!(
            (id.as_str(), secret.expose_secret()),
            ("my client", "p@ss:w&rd")
        );
        assert!(parse_basic_authorization("Bearer x").is_none());
    }
}
