//! Form bodies and HTTP Basic credentials as the tests write and read them (RFC 6749 section
//! 2.3.1 and appendix B), on the `url` crate's WHATWG form codec: a reference the crate's own
//! encoder is held to, not a copy of it.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use xaa::ClientSecret;

/// `pairs` as an `application/x-www-form-urlencoded` body.
pub fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish().into_bytes()
}

/// The pairs of a form body, in order, duplicates kept.
pub fn decode(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 section 2.3.1).
pub fn basic_authorization(client_id: &str, secret: &ClientSecret) -> String {
    let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let id: String = encode(client_id);
    let secret: String = encode(secret.expose_secret());
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
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
    // One form value: `&` and `=` inside it are data, not delimiters.
    let decode = |text: &str| -> String {
        let escaped = text.replace('&', "%26").replace('=', "%3D");
        url::form_urlencoded::parse(format!("v={escaped}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), ClientSecret::new(decode(secret))))
}
