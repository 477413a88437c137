//! `application/x-www-form-urlencoded` bodies and HTTP Basic client credentials, shared by the
//! client flows and the server handlers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::byte_class::form_unescaped_prefix_len;
use crate::constants;
use crate::secret::ClientSecret;

/// Encodes name-value pairs as a form body (the WHATWG URL standard's
/// `application/x-www-form-urlencoded` serializer, which RFC 6749 appendix B refers to).
#[cfg(test)]
pub(crate) fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
    let parts: Vec<(&str, FormValue<'_>)> = pairs
        .iter()
        .map(|&(name, value)| (name, FormValue::Text(value)))
        .collect();
    encode_values(&parts)
}

/// One value of a form body: text to encode, or a constant already encoded.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FormValue<'v> {
    Text(&'v str),
    Constant(&'static FormConstant),
}

/// A constant value of the protocol (a URN) with its form encoding written out, so that a
/// request copies it instead of escaping its colons each time (most of a form's encoding work
/// before). A test checks every one against the encoder.
#[derive(Debug)]
pub(crate) struct FormConstant {
    /// The value, one of [`crate::constants`].
    pub(crate) value: &'static str,
    /// Its form encoding.
    pub(crate) encoded: &'static str,
}

/// RFC 8693 token-exchange grant type.
pub(crate) static GRANT_TOKEN_EXCHANGE: FormConstant = FormConstant {
    value: constants::GRANT_TYPE_TOKEN_EXCHANGE,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange",
};
/// RFC 7523 JWT-bearer grant type.
pub(crate) static GRANT_JWT_BEARER: FormConstant = FormConstant {
    value: constants::GRANT_TYPE_JWT_BEARER,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
};
/// The JWT authorization grant with DPoP binding (draft-parecki-oauth-jwt-dpop-grant).
pub(crate) static GRANT_JWT_DPOP: FormConstant = FormConstant {
    value: constants::GRANT_TYPE_JWT_DPOP,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-dpop",
};
/// The ID-JAG token type.
pub(crate) static TOKEN_ID_JAG: FormConstant = FormConstant {
    value: constants::TOKEN_TYPE_ID_JAG,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid-jag",
};
/// An ID token's token type.
pub(crate) static TOKEN_ID_TOKEN: FormConstant = FormConstant {
    value: constants::TOKEN_TYPE_ID_TOKEN,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token",
};
/// A SAML 2.0 assertion's token type.
pub(crate) static TOKEN_SAML2: FormConstant = FormConstant {
    value: constants::TOKEN_TYPE_SAML2,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Asaml2",
};
/// A refresh token's token type.
pub(crate) static TOKEN_REFRESH_TOKEN: FormConstant = FormConstant {
    value: constants::TOKEN_TYPE_REFRESH_TOKEN,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Arefresh_token",
};
/// RFC 7523 section 2.2 client assertion type.
pub(crate) static CLIENT_ASSERTION_JWT_BEARER: FormConstant = FormConstant {
    value: constants::CLIENT_ASSERTION_TYPE_JWT_BEARER,
    encoded: "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
};

/// [`encode`], with constants copied as they were encoded.
pub(crate) fn encode_values(pairs: &[(&str, FormValue<'_>)]) -> Vec<u8> {
    // Tokens are long and need no escaping: sized once, copied in runs.
    let size: usize = pairs
        .iter()
        .map(|(name, value)| {
            name.len()
                + 2
                + match value {
                    FormValue::Text(text) => text.len(),
                    FormValue::Constant(constant) => constant.encoded.len(),
                }
        })
        .sum();
    let mut body = Vec::with_capacity(size + size / 8);
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            body.push(b'&');
        }
        append_encoded(&mut body, name);
        body.push(b'=');
        match value {
            FormValue::Text(text) => append_encoded(&mut body, text),
            FormValue::Constant(constant) => body.extend_from_slice(constant.encoded.as_bytes()),
        }
    }
    body
}

/// Appends `text` form-urlencoded: ASCII alphanumerics and `*-._` as they are, a space as `+`,
/// every other byte of its UTF-8 as `%XX` (upper-case hex). Runs of unescaped bytes (a whole JWT
/// is one) are found by a block scan and copied at once.
fn append_encoded(body: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = text.as_bytes();
    loop {
        let run = form_unescaped_prefix_len(rest);
        body.extend_from_slice(&rest[..run]);
        let Some((&byte, after)) = rest[run..].split_first() else {
            return;
        };
        if byte == b' ' {
            body.push(b'+');
        } else {
            body.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 15)],
            ]);
        }
        rest = after;
    }
}

/// Decodes a form body into its pairs, in order, duplicates kept.
#[cfg(feature = "server")]
pub(crate) fn decode(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A parameter named more than once (RFC 6749 section 3.2: request parameters MUST NOT be
/// included more than once).
#[cfg(feature = "server")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Repeated;

/// The value of `name` in a decoded form: `Ok(None)` when absent, [`Repeated`] when named more
/// than once.
#[cfg(feature = "server")]
pub(crate) fn single<'a>(
    pairs: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, Repeated> {
    let mut found = None;
    for (key, value) in pairs {
        if key == name {
            if found.is_some() {
                return Err(Repeated);
            }
            found = Some(value.as_str());
        }
    }
    Ok(found)
}

/// The `Authorization` header value for `client_secret_basic` (RFC 6749 section 2.3.1 and
/// appendix B): `Basic base64(urlencode(id) ":" urlencode(secret))`, the id and the secret
/// form-urlencoded before they are joined, as section 2.3.1 requires. The encoded credentials
/// are built in a buffer sized for the worst case (no reallocation leaves a copy behind) and
/// zeroized; the caller owns, and should zeroize, the header.
pub(crate) fn basic_authorization(client_id: &str, secret: &ClientSecret) -> String {
    let secret = secret.expose_secret();
    let mut credentials = Vec::with_capacity(3 * (client_id.len() + secret.len()) + 1);
    append_encoded(&mut credentials, client_id);
    credentials.push(b':');
    append_encoded(&mut credentials, secret);
    const SCHEME: &str = "Basic ";
    let mut header = String::with_capacity(SCHEME.len() + credentials.len().div_ceil(3) * 4);
    header.push_str(SCHEME);
    STANDARD.encode_string(&credentials, &mut header);
    zeroize::Zeroize::zeroize(&mut credentials);
    header
}

/// Reads `client_secret_basic` credentials from an `Authorization` header value, undoing the
/// form-urlencoding of RFC 6749 section 2.3.1. `None` when it is not well-formed Basic.
#[cfg(feature = "server")]
pub(crate) fn parse_basic_authorization(value: &str) -> Option<(String, ClientSecret)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(
            format!("x={}", s.replace('&', "%26").replace('=', "%3D")).as_bytes(),
        )
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
    };
    Some((unescape(id), ClientSecret::new(unescape(secret))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference serializer this encoder must agree with byte for byte.
    fn reference(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            serializer.append_pair(name, value);
        }
        serializer.finish().into_bytes()
    }

    #[test]
    fn encodes_as_the_whatwg_serializer_does() {
        let every_ascii: String = (0u8..128).map(char::from).collect();
        let cases: &[&[(&str, &str)]] = &[
            &[],
            &[("", "")],
            &[("a", "b")],
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("x", "a b+c&d=e"),
            ],
            &[("s", "caf\u{e9} \u{1f600} %41 *-._~!'()")],
            &[("all", &every_ascii), ("tail", "z")],
        ];
        for pairs in cases {
            assert_eq!(encode(pairs), reference(pairs), "{pairs:?}");
        }
    }

    quickcheck::quickcheck! {
        fn agrees_with_the_reference(pairs: Vec<(String, String)>) -> bool {
            let borrowed: Vec<(&str, &str)> =
                pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            encode(&borrowed) == reference(&borrowed)
        }

        // Long unescaped runs with a few outsiders, wherever they fall: the block scan's cases.
        fn agrees_with_the_reference_on_token_like_text(picks: Vec<(u8, u8)>) -> bool {
            const ALPHABET: [&str; 12] = ["a", "Z", "0", "-", "_", ".", "*", "~", " ", ":", "é", "%"];
            let text: String = picks
                .iter()
                .map(|&(kind, byte)| match kind % 8 {
                    0 => ALPHABET[usize::from(byte) % ALPHABET.len()],
                    _ => ALPHABET[usize::from(byte) % 3],
                })
                .collect();
            encode(&[("assertion", text.as_str())]) == reference(&[("assertion", text.as_str())])
        }
    }

    #[test]
    fn every_constant_is_written_as_the_encoder_writes_it() {
        for constant in [
            &GRANT_TOKEN_EXCHANGE,
            &GRANT_JWT_BEARER,
            &GRANT_JWT_DPOP,
            &TOKEN_ID_JAG,
            &TOKEN_ID_TOKEN,
            &TOKEN_SAML2,
            &TOKEN_REFRESH_TOKEN,
            &CLIENT_ASSERTION_JWT_BEARER,
        ] {
            let value = constant.value;
            assert_eq!(
                constant.encoded.as_bytes(),
                &encode(&[("", value)])[1..],
                "{value}"
            );
            assert_eq!(
                encode_values(&[
                    ("a", FormValue::Constant(constant)),
                    ("b", FormValue::Text("c"))
                ]),
                encode(&[("a", value), ("b", "c")])
            );
        }
    }

    #[cfg(feature = "server")]
    #[test]
    fn basic_form_encodes_before_base64() {
        // RFC 6749 appendix B: a space becomes '+', reserved characters are percent-encoded.
        let header = basic_authorization("my client", &ClientSecret::new("p@ss:w&rd"));
        let encoded = header.strip_prefix("Basic ").expect("scheme");
        let raw = String::from_utf8(STANDARD.decode(encoded).expect("base64")).expect("utf8");
        assert_eq!(raw, "my+client:p%40ss%3Aw%26rd");
        let (id, secret) = parse_basic_authorization(&header).expect("parses back");
        assert_eq!(id, "my client");
        assert_eq!(secret.expose_secret(), "p@ss:w&rd");
    }

    #[cfg(feature = "server")]
    #[test]
    fn parse_rejects_other_schemes() {
        assert!(parse_basic_authorization("Bearer abc").is_none());
        assert!(parse_basic_authorization("Basic !!!").is_none());
        assert!(parse_basic_authorization("Basic bm9jb2xvbg").is_none());
    }

    #[cfg(feature = "server")]
    #[test]
    fn form_round_trip_and_duplicates() {
        let body = encode(&[("a", "1 2"), ("b", "x&y=z")]);
        let pairs = decode(&body);
        assert_eq!(single(&pairs, "b"), Ok(Some("x&y=z")));
        assert_eq!(single(&pairs, "c"), Ok(None));
        let pairs = decode(b"a=1&a=2");
        assert_eq!(single(&pairs, "a"), Err(Repeated));
    }

    /// Characters that stress the form and Basic encodings: their delimiters, percent and plus,
    /// controls, non-ASCII, bidi and byte-order marks.
    const TRICKY: [char; 22] = [
        ':',
        '%',
        '+',
        '&',
        '=',
        ' ',
        '#',
        '?',
        '/',
        '\\',
        '"',
        '\'',
        '\0',
        '\n',
        '\u{7f}',
        '\u{e9}',
        '\u{df}',
        '\u{65e5}',
        '\u{672c}',
        '\u{1f511}',
        '\u{202e}',
        '\u{feff}',
    ];

    /// `base` with the [`TRICKY`] characters `picks` chooses mixed in.
    fn tricky(base: &str, picks: &[u8]) -> String {
        let mut text: String = base.to_owned();
        for (index, pick) in picks.iter().enumerate() {
            let c = TRICKY[usize::from(*pick) % TRICKY.len()];
            match text.char_indices().nth(index) {
                Some((at, _)) => text.insert(at, c),
                None => text.push(c),
            }
        }
        text
    }

    #[cfg(feature = "server")]
    quickcheck::quickcheck! {
        fn decode_inverts_encode(pairs: Vec<(String, String, Vec<u8>)>) -> bool {
            let all: Vec<(String, String)> = pairs
                .iter()
                .map(|(name, value, picks)| (tricky(name, picks), tricky(value, picks)))
                .collect();
            let borrowed: Vec<(&str, &str)> =
                all.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            decode(&encode(&borrowed)) == all
        }

        fn basic_authorization_round_trips(id: String, secret: String, picks: Vec<u8>) -> bool {
            let (tricky_id, tricky_secret) = (tricky(&id, &picks), tricky(&secret, &picks));
            [
                (id.clone(), secret.clone()),
                (tricky_id.clone(), tricky_secret.clone()),
                (format!("{tricky_id}:{id}"), format!(":{secret}:")),
            ]
            .into_iter()
            .all(|(id, secret)| {
                let header = basic_authorization(&id, &ClientSecret::new(secret.as_str()));
                http::HeaderValue::from_str(&header).is_ok()
                    && parse_basic_authorization(&header).is_some_and(|(got_id, got_secret)| {
                        got_id == id && got_secret.expose_secret() == secret
                    })
            })
        }
    }
}
