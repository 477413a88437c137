//! `application/x-www-form-urlencoded` bodies and HTTP Basic client credentials as the
//! harness reads and writes them: written from the specifications (the WHATWG URL standard's
//! form serializer and parser, which RFC 6749 appendix B refers to; RFC 6749 section 2.3.1;
//! RFC 7617), apart from the core's own encoder, so that the targets check the core against
//! an independent reading.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A form body's pairs, in order, duplicates kept (the WHATWG parser).
pub(crate) fn decode(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A form body of `pairs` (the WHATWG serializer).
pub(crate) fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes()
}

/// The `Authorization` value of `client_secret_basic` (RFC 6749 section 2.3.1): the id and the
/// secret each form-urlencoded, joined by a colon, in base64.
pub(crate) fn basic_authorization(client_id: &str, secret: &str) -> String {
    let escape =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", escape(client_id), escape(secret));
    format!("Basic {}", STANDARD.encode(credentials))
}

/// The client id and secret of a `client_secret_basic` value: the scheme `Basic` in any case,
/// a space, the base64 of `id:secret` (optionally surrounded by spaces or tabs), the id and
/// the secret form-urlencoded (RFC 6749 section 2.3.1). `None` when it is not that.
pub(crate) fn parse_basic_authorization(value: &str) -> Option<(String, String)> {
    let blank: &[char] = &[' ', '\t'];
    let (scheme, encoded) = value.trim_matches(blank).split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim_matches(blank)).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((unescape(id), unescape(secret)))
}

/// Form-urldecodes one name or value: `+` is a space, `%XX` a byte, the result UTF-8 with
/// invalid sequences replaced (the WHATWG parser's reading of one value).
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
        match (byte, hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits make one byte: high * 16 + low is below 256.
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                index += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_round_trip() {
        for (id, secret) in [("mcp-client", "s3cr:t"), ("a b+c", "%41&=é"), ("", "")] {
            let header = basic_authorization(id, secret);
            assert_eq!(
                parse_basic_authorization(&header),
                Some((id.to_owned(), secret.to_owned()))
            );
        }
        // RFC 6749 appendix B's encoding, read back.
        assert_eq!(unescape("a%20b+c%2"), "a b c%2");
        assert_eq!(parse_basic_authorization("Bearer abc"), None);
        assert_eq!(parse_basic_authorization("Basic !!!"), None);
    }

    #[test]
    fn forms_round_trip() {
        let pairs = [("grant_type", "urn:x"), ("scope", "a b"), ("x", "&=+%")];
        let decoded = decode(&encode(&pairs));
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(decoded, expected);
    }
}
