//! WWW-Authenticate parsing (RFC 9110 section 11.6.1, RFC 6750 section 3, RFC 9728 section 5.1).
//!
//! [`parse`] reads one field value into [`Challenge`]s; [`from_headers`] reads
//! every `WWW-Authenticate` field of a response (RFC 9110 section 5.3: a recipient may combine
//! several fields of a list-based header into one list). [`BearerChallenge`] interprets the
//! `Bearer` (RFC 6750 section 3) and `DPoP` (RFC 9449 section 7.1) schemes, with the
//! `resource_metadata` parameter of RFC 9728 section 5.1 and the `max_age` of RFC 9470 section 3.
//!
//! The grammar (RFC 9110 sections 11.6.1, 11.2 and 5.6):
//!
//! ```text
//! WWW-Authenticate = #challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! Parsing is strict about syntax and lenient about meaning: malformed input is a
//! [`ChallengeError`], never a panic and never a best guess, while unknown schemes and parameters
//! are kept as they are. The work is bounded: at most 16 KiB of input,
//! 64 challenges and 64 parameters per challenge.

use crate::display_safety::sanitize;
use crate::{ErrorCode, Scope};

/// The most input [`parse`] and [`from_headers`] accept, in bytes, summed over all fields
/// (16 KiB).
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The most challenges accepted, summed over all fields.
pub(crate) const MAX_CHALLENGES: usize = 64;

/// The most parameters accepted in one challenge.
pub(crate) const MAX_PARAMS: usize = 64;

/// Why a `WWW-Authenticate` value could not be parsed, or a [`Challenge`] could not be built.
///
/// Positions are byte offsets into the field value being parsed (for [`from_headers`], into the
/// field that failed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// The input is larger than 16 KiB.
    #[error("WWW-Authenticate is at least {len} bytes long, more than the {limit}-byte limit")]
    TooLong {
        /// The bytes seen when the limit was crossed.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// More than 64 challenges.
    #[error("WWW-Authenticate holds more than {limit} challenges")]
    TooManyChallenges {
        /// The limit.
        limit: usize,
    },
    /// More than 64 parameters in one challenge.
    #[error("a challenge holds more than {limit} parameters")]
    TooManyParams {
        /// The limit.
        limit: usize,
    },
    /// A byte outside ASCII: non-UTF-8 or obs-text (RFC 9110 section 5.5), which this parser
    /// refuses rather than guess an encoding.
    #[error("non-ASCII byte at position {position}")]
    NonAscii {
        /// Where.
        position: usize,
    },
    /// A control character (RFC 9110 section 5.5) other than whitespace between elements; CR and
    /// LF are never allowed inside a quoted-string.
    #[error("control character at position {position}")]
    ControlCharacter {
        /// Where.
        position: usize,
    },
    /// A token (auth-scheme or parameter name, RFC 9110 section 5.6.2) was expected: `Bearer =x`.
    #[error("expected a scheme or parameter name at position {position}")]
    ExpectedToken {
        /// Where.
        position: usize,
    },
    /// A parameter's `=` is not followed by a token or quoted-string (RFC 9110 section 11.2).
    #[error("expected a parameter value at position {position}")]
    ExpectedValue {
        /// Where.
        position: usize,
    },
    /// Something other than a comma or the end follows a complete parameter or token68:
    /// `Bearer a="b" c`.
    #[error("unexpected {found:?} at position {position}")]
    UnexpectedCharacter {
        /// Where.
        position: usize,
        /// The character found.
        found: char,
    },
    /// A quoted-string has no closing quote (RFC 9110 section 5.6.4).
    #[error("the quoted-string opened at position {position} is not terminated")]
    UnterminatedQuote {
        /// Where the opening quote is.
        position: usize,
    },
    /// A parameter comes before any auth-scheme.
    #[error("a parameter at position {position} precedes any auth-scheme")]
    ParamWithoutScheme {
        /// Where.
        position: usize,
    },
    /// A parameter follows a token68; a challenge has one or the other (RFC 9110 section 11.6.1).
    #[error("a parameter at position {position} follows a token68")]
    ParamAfterToken68 {
        /// Where.
        position: usize,
    },
    /// A parameter name appears twice in one challenge (RFC 9110 section 11.2: "Each parameter
    /// name MUST only occur once per challenge").
    #[error("parameter {name:?} appears twice in one challenge")]
    DuplicateParam {
        /// The lowercased name, truncated.
        name: String,
    },
    /// A [`Challenge`] builder got a scheme or parameter name that is not a token.
    #[error("the {what} is not a token (RFC 9110 section 5.6.2)")]
    NotAToken {
        /// `"auth-scheme"` or `"parameter name"`.
        what: &'static str,
    },
    /// A [`Challenge`] builder got a value with characters a quoted-string cannot carry
    /// (anything but SP, HTAB and visible ASCII).
    #[error("the value of parameter {name:?} cannot be carried in a quoted-string")]
    UnrenderableValue {
        /// The parameter, truncated.
        name: String,
    },
    /// A [`Challenge`] builder got a value that is not a token68 (RFC 9110 section 11.2).
    #[error("the value is not a token68 (RFC 9110 section 11.2)")]
    InvalidToken68,
    /// A [`Challenge`] builder was asked for both a token68 and parameters.
    #[error("a challenge carries a token68 or parameters, not both (RFC 9110 section 11.6.1)")]
    Token68WithParams,
}

/// One challenge: an auth-scheme with either a token68 or a list of parameters
/// (RFC 9110 section 11.6.1).
///
/// Parameter names are lowercased (they are case-insensitive, RFC 9110 section 11.2); the scheme
/// is kept as sent and compared case-insensitively ([`Challenge::is_scheme`]). A `Challenge` from
/// [`parse`] or from the builders always renders to a valid field value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// A challenge with no token68 and no parameters. The scheme must be a token
    /// (RFC 9110 section 11.1).
    pub fn new(scheme: &str) -> Result<Self, ChallengeError> {
        if !is_token(scheme) {
            return Err(ChallengeError::NotAToken {
                what: "auth-scheme",
            });
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            token68: None,
            params: Vec::new(),
        })
    }

    /// Adds a parameter (RFC 9110 section 11.2). The name must be a token and new to this
    /// challenge (it is lowercased); the value may hold SP, HTAB and visible ASCII.
    pub fn with_param(mut self, name: &str, value: &str) -> Result<Self, ChallengeError> {
        if !is_token(name) {
            return Err(ChallengeError::NotAToken {
                what: "parameter name",
            });
        }
        if !value.bytes().all(is_qdtext_or_escapable) {
            return Err(ChallengeError::UnrenderableValue {
                name: sanitize(name),
            });
        }
        if self.token68.is_some() {
            return Err(ChallengeError::Token68WithParams);
        }
        self.push_param(name, value.to_owned())?;
        Ok(self)
    }

    /// Sets the token68 (RFC 9110 section 11.2), for a challenge without parameters.
    pub fn with_token68(mut self, token68: &str) -> Result<Self, ChallengeError> {
        if !is_token68(token68) {
            return Err(ChallengeError::InvalidToken68);
        }
        if !self.params.is_empty() {
            return Err(ChallengeError::Token68WithParams);
        }
        self.token68 = Some(token68.to_owned());
        Ok(self)
    }

    /// The auth-scheme as sent.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the auth-scheme is `scheme`, ignoring ASCII case (RFC 9110 section 11.1).
    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The token68, when the challenge carries one instead of parameters.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The value of parameter `name`, ignoring ASCII case (RFC 9110 section 11.2). Names are
    /// unique within a challenge, so this is the first and only occurrence.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The parameters in order, names lowercased, values unquoted.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The challenge as a field value: `scheme`, `scheme token68` or
    /// `scheme name="value", ...`, every parameter value a quoted-string with `"` and `\`
    /// escaped (RFC 9110 section 5.6.4).
    pub fn render(&self) -> String {
        let mut out = self.scheme.clone();
        if let Some(token68) = &self.token68 {
            out.push(' ');
            out.push_str(token68);
        }
        for (i, (name, value)) in self.params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            push_param(&mut out, name, value);
        }
        out
    }

    /// Appends a parameter after the parser or builder checked name and value; enforces
    /// uniqueness (RFC 9110 section 11.2) and [`MAX_PARAMS`].
    fn push_param(&mut self, name: &str, value: String) -> Result<(), ChallengeError> {
        let name = name.to_ascii_lowercase();
        if self.params.iter().any(|(n, _)| *n == name) {
            return Err(ChallengeError::DuplicateParam {
                name: sanitize(&name),
            });
        }
        if self.params.len() >= MAX_PARAMS {
            return Err(ChallengeError::TooManyParams { limit: MAX_PARAMS });
        }
        self.params.push((name, value));
        Ok(())
    }
}

/// Parses one `WWW-Authenticate` field value into its challenges, in order
/// (RFC 9110 section 11.6.1).
///
/// - Several challenges may share the field, and both challenges and their parameters are
///   comma-separated (RFC 9110 section 11.6.1 warns about this). After a comma, `token BWS "="`
///   continues the current challenge with a parameter; any other token starts a new challenge.
/// - Empty list elements (`, ,`) are skipped (RFC 9110 section 5.6.1). RFC 9110 section 11.6.1
///   notes that such a sequence may be read as belonging to the preceding challenge, and so it
///   is: `Bearer, realm="x"` is one challenge.
/// - Whitespace (SP, HTAB, and CR and LF of folded lines, as in the RFC 6750 examples) is
///   accepted wherever OWS or BWS is (RFC 9110 section 5.6.3), never inside a token.
/// - After an auth-scheme, `name=value` is the first parameter; otherwise the text is a
///   token68, whose trailing `=` padding is followed by a comma or the end, not by a value.
/// - Quoted-strings are unquoted, `\x` becoming `x` (RFC 9110 section 5.6.4).
/// - Any non-ASCII character is refused ([`ChallengeError::NonAscii`]): obs-text is obsolete
///   (RFC 9110 section 5.5) and no charset can be assumed for it.
///
/// # Errors
///
/// A [`ChallengeError`] for any syntax error, or when a limit (16 KiB,
/// 64, 64 parameters) is exceeded; no partial result.
pub fn parse(value: &str) -> Result<Vec<Challenge>, ChallengeError> {
    if value.len() > MAX_HEADER_BYTES {
        return Err(ChallengeError::TooLong {
            len: value.len(),
            limit: MAX_HEADER_BYTES,
        });
    }
    let mut out = Vec::new();
    parse_into(value, &mut out)?;
    Ok(out)
}

/// Parses several `WWW-Authenticate` field values as one list ([`from_headers`]) (RFC 9110 section 5.3), the
/// challenges in field order.
///
/// A field that is not visible ASCII (RFC 9110 section 5.5 obs-text, which
/// [`http::HeaderValue::to_str`] refuses) is an error ([`ChallengeError::NonAscii`]). The limits
/// (16 KiB, 64 challenges) apply to all fields together.
fn parse_all<'a>(
    values: impl IntoIterator<Item = &'a http::HeaderValue>,
) -> Result<Vec<Challenge>, ChallengeError> {
    let mut out = Vec::new();
    let mut total = 0usize;
    for value in values {
        total = total.saturating_add(value.len());
        if total > MAX_HEADER_BYTES {
            return Err(ChallengeError::TooLong {
                len: total,
                limit: MAX_HEADER_BYTES,
            });
        }
        let text = value
            .to_str()
            .map_err(|_| header_bytes_error(value.as_bytes()))?;
        parse_into(text, &mut out)?;
    }
    Ok(out)
}

/// Parses every `WWW-Authenticate` field of `headers` as one list (RFC 9110 section 5.3), the
/// challenges in field order. No field gives an empty list.
///
/// A field that is not visible ASCII (RFC 9110 section 5.5 obs-text, which
/// [`http::HeaderValue::to_str`] refuses) is an error ([`ChallengeError::NonAscii`]). The limits
/// (16 KiB, 64 challenges) apply to all fields together.
///
/// # Errors
///
/// As [`parse`], for the first field that fails; positions are within that field.
pub fn from_headers(headers: &http::HeaderMap) -> Result<Vec<Challenge>, ChallengeError> {
    parse_all(headers.get_all(http::header::WWW_AUTHENTICATE))
}

/// The two token-bearing schemes an MCP server may offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// `Bearer` (RFC 6750 section 3).
    Bearer,
    /// `DPoP` (RFC 9449 section 7.1).
    DPoP,
}

impl AuthScheme {
    /// The scheme as this library sends it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::DPoP => "DPoP",
        }
    }

    /// The scheme named `scheme`, ignoring ASCII case (RFC 9110 section 11.1).
    pub fn from_scheme(scheme: &str) -> Option<Self> {
        if scheme.eq_ignore_ascii_case("Bearer") {
            Some(Self::Bearer)
        } else if scheme.eq_ignore_ascii_case("DPoP") {
            Some(Self::DPoP)
        } else {
            None
        }
    }
}

/// A `Bearer` (RFC 6750 section 3) or `DPoP` (RFC 9449 section 7.1) challenge, interpreted.
///
/// Syntax errors are caught by [`parse`]; the meaning of the parameters is read leniently:
/// unknown parameters are ignored (RFC 6750 section 3), unknown error codes are kept
/// ([`ErrorCode::Other`]), and a `max_age` that is not a decimal integer is treated as absent.
/// That last choice keeps [`BearerChallenge::from_challenge`] total and is safe: `max_age` only
/// tightens what the authorization server demands, and the resource server still enforces it.
/// The raw value stays available through [`Challenge::param`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BearerChallenge {
    /// `Bearer` or `DPoP`.
    pub scheme: AuthScheme,
    /// `realm` (RFC 9110 section 11.5, RFC 6750 section 3).
    pub realm: Option<String>,
    /// `resource_metadata`: the URL of the protected-resource metadata (RFC 9728 section 5.1).
    pub resource_metadata: Option<String>,
    /// `scope`, space-delimited (RFC 6750 section 3).
    pub scope: Option<Scope>,
    /// `error` (RFC 6750 section 3.1).
    pub error: Option<ErrorCode>,
    /// `error_description` (RFC 6750 section 3).
    pub error_description: Option<String>,
    /// `error_uri` (RFC 6750 section 3).
    pub error_uri: Option<String>,
    /// `max_age` in seconds, with `insufficient_user_authentication` (RFC 9470 section 3).
    pub max_age: Option<u64>,
}

impl BearerChallenge {
    /// A challenge of `scheme` with no parameters; set the fields, then [`render`](Self::render).
    pub fn new(scheme: AuthScheme) -> Self {
        Self {
            scheme,
            realm: None,
            resource_metadata: None,
            scope: None,
            error: None,
            error_description: None,
            error_uri: None,
            max_age: None,
        }
    }

    /// Interprets `challenge` when its scheme is `Bearer` or `DPoP` (case-insensitive,
    /// RFC 9110 section 11.1); `None` for any other scheme. A token68 on such a challenge has no
    /// meaning and is ignored.
    pub fn from_challenge(challenge: &Challenge) -> Option<Self> {
        let scheme = AuthScheme::from_scheme(challenge.scheme())?;
        let text = |name: &str| challenge.param(name).map(str::to_owned);
        Some(Self {
            scheme,
            realm: text("realm"),
            resource_metadata: text("resource_metadata"),
            scope: challenge.param("scope").map(Scope::parse),
            error: challenge.param("error").map(ErrorCode::parse),
            error_description: text("error_description"),
            error_uri: text("error_uri"),
            max_age: challenge.param("max_age").and_then(parse_decimal),
        })
    }

    /// The first `Bearer` challenge, if any. A list offering only `DPoP` gives `None`: the caller
    /// reports the scheme as unsupported.
    pub fn preferred(challenges: &[BearerChallenge]) -> Option<&BearerChallenge> {
        challenges.iter().find(|c| c.scheme == AuthScheme::Bearer)
    }

    /// The challenge as a field value, every parameter a quoted-string (RFC 6750 section 3):
    /// `realm`, `resource_metadata`, `scope`, `error`, `error_description`, `error_uri`,
    /// `max_age`, those that are set. Characters a quoted-string cannot carry (controls,
    /// non-ASCII) are replaced by `?` so the result is always a valid field value.
    pub fn render(&self) -> String {
        let mut out = self.scheme.as_str().to_owned();
        let scope = self.scope.as_ref().map(ToString::to_string);
        let max_age = self.max_age.map(|m| m.to_string());
        let params = [
            ("realm", self.realm.as_deref()),
            ("resource_metadata", self.resource_metadata.as_deref()),
            ("scope", scope.as_deref()),
            ("error", self.error.as_ref().map(ErrorCode::as_str)),
            ("error_description", self.error_description.as_deref()),
            ("error_uri", self.error_uri.as_deref()),
            ("max_age", max_age.as_deref()),
        ];
        let mut first = true;
        for (name, value) in params {
            if let Some(value) = value {
                out.push_str(if first { " " } else { ", " });
                first = false;
                push_param(&mut out, name, value);
            }
        }
        out
    }
}

/// The `Bearer` and `DPoP` challenges of every `WWW-Authenticate` field of `headers`, in order;
/// other schemes are skipped. A syntax error anywhere fails the whole list, since a challenge
/// after it could not be told apart from its parameters.
///
/// # Errors
///
/// As [`from_headers`]; the parameters' meaning never fails (see [`BearerChallenge`]).
pub fn bearer_challenges(
    headers: &http::HeaderMap,
) -> Result<Vec<BearerChallenge>, ChallengeError> {
    Ok(from_headers(headers)?
        .iter()
        .filter_map(BearerChallenge::from_challenge)
        .collect())
}

/// `1*DIGIT` as a `u64`; `None` for signs, spaces, empty text or overflow.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// tchar (RFC 9110 section 5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The characters of token68 before the padding (RFC 9110 section 11.2).
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// OWS / BWS, widened to CR and LF for folded lines (RFC 9110 section 5.6.3, RFC 6750 examples).
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// What a quoted-string can carry, directly or as a quoted-pair: HTAB, SP, VCHAR
/// (RFC 9110 section 5.6.4, obs-text excluded).
fn is_qdtext_or_escapable(b: u8) -> bool {
    b == b'\t' || (0x20..=0x7e).contains(&b)
}

fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_tchar)
}

fn is_token68(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(is_token68_char)
}

/// Appends `name="value"`, escaping `"` and `\` and replacing what a quoted-string cannot carry.
fn push_param(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' | ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
}

/// The error for a header value [`http::HeaderValue::to_str`] refused: the first byte that is
/// neither HTAB nor visible ASCII.
fn header_bytes_error(bytes: &[u8]) -> ChallengeError {
    let found = bytes
        .iter()
        .position(|&b| !is_qdtext_or_escapable(b))
        .unwrap_or(0);
    match bytes.get(found) {
        Some(&b) if b < 0x80 => ChallengeError::ControlCharacter { position: found },
        _ => ChallengeError::NonAscii { position: found },
    }
}

/// Refuses non-ASCII characters and controls other than HTAB, CR and LF, so the parser below
/// only sees ASCII and can slice at any byte.
fn check_chars(value: &str) -> Result<(), ChallengeError> {
    for (position, b) in value.bytes().enumerate() {
        if !b.is_ascii() {
            return Err(ChallengeError::NonAscii { position });
        }
        if (b.is_ascii_control() && !is_ws(b)) || b == 0x7f {
            return Err(ChallengeError::ControlCharacter { position });
        }
    }
    Ok(())
}

/// Parses `value` and appends its challenges to `out`, enforcing 64 over `out`.
fn parse_into(value: &str, out: &mut Vec<Challenge>) -> Result<(), ChallengeError> {
    check_chars(value)?;
    let mut p = Parser { src: value, pos: 0 };
    let mut current: Option<Challenge> = None;
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b',') => {
                p.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let start = p.pos;
        let name = p.token();
        if name.is_empty() {
            return Err(ChallengeError::ExpectedToken { position: start });
        }
        let name_end = p.pos;
        p.skip_ws();
        if p.peek() == Some(b'=') {
            // `token BWS "="`: another auth-param of the current challenge (RFC 9110 11.6.1).
            let Some(challenge) = current.as_mut() else {
                return Err(ChallengeError::ParamWithoutScheme { position: start });
            };
            if challenge.token68.is_some() {
                return Err(ChallengeError::ParamAfterToken68 { position: start });
            }
            p.pos += 1;
            p.skip_ws();
            let value = p.param_value()?;
            challenge.push_param(name, value)?;
            p.end_of_element()?;
        } else {
            // A new challenge: `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`.
            if let Some(done) = current.take() {
                push_challenge(out, done)?;
            }
            let mut challenge = Challenge {
                scheme: name.to_owned(),
                token68: None,
                params: Vec::new(),
            };
            match p.peek() {
                None | Some(b',') => {}
                Some(found) if p.pos == name_end => {
                    return Err(ChallengeError::UnexpectedCharacter {
                        position: p.pos,
                        found: char::from(found),
                    });
                }
                Some(_) => p.challenge_body(&mut challenge)?,
            }
            current = Some(challenge);
        }
    }
    if let Some(done) = current {
        push_challenge(out, done)?;
    }
    Ok(())
}

fn push_challenge(out: &mut Vec<Challenge>, challenge: Challenge) -> Result<(), ChallengeError> {
    if out.len() >= MAX_CHALLENGES {
        return Err(ChallengeError::TooManyChallenges {
            limit: MAX_CHALLENGES,
        });
    }
    out.push(challenge);
    Ok(())
}

/// A cursor over a value [`check_chars`] accepted (ASCII only, so every index is a char
/// boundary; slicing still goes through `get`).
struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    fn skip_while(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
    }

    /// The longest run of tchar at the cursor, possibly empty.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        self.skip_while(is_tchar);
        self.slice(start, self.pos)
    }

    /// After `auth-scheme 1*SP`, at a character that is neither whitespace nor a comma: the
    /// first auth-param or a token68 (RFC 9110 section 11.6.1). It is a parameter when a
    /// non-empty token is followed by `BWS "=" BWS` and then a value (a tchar or a quote);
    /// otherwise it must be a token68, whose `=` padding ends the element.
    fn challenge_body(&mut self, challenge: &mut Challenge) -> Result<(), ChallengeError> {
        let start = self.pos;
        let name = self.token();
        self.skip_ws();
        if !name.is_empty() && self.peek() == Some(b'=') {
            self.pos += 1;
            self.skip_ws();
            if self.peek().is_some_and(|b| is_tchar(b) || b == b'"') {
                let value = self.param_value()?;
                challenge.push_param(name, value)?;
                return self.end_of_element();
            }
        }
        self.pos = start;
        self.skip_while(is_token68_char);
        if self.pos == start {
            return Err(ChallengeError::ExpectedToken { position: start });
        }
        self.skip_while(|b| b == b'=');
        let token68 = self.slice(start, self.pos);
        self.end_of_element()?;
        challenge.token68 = Some(token68.to_owned());
        Ok(())
    }

    /// `token / quoted-string` at the cursor (RFC 9110 section 11.2).
    fn param_value(&mut self) -> Result<String, ChallengeError> {
        match self.peek() {
            Some(b'"') => self.quoted_string(),
            Some(b) if is_tchar(b) => Ok(self.token().to_owned()),
            _ => Err(ChallengeError::ExpectedValue { position: self.pos }),
        }
    }

    /// A quoted-string at the cursor, unescaped (RFC 9110 section 5.6.4).
    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        let open = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(ChallengeError::UnterminatedQuote { position: open });
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(value);
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        None => return Err(ChallengeError::UnterminatedQuote { position: open }),
                        Some(escaped) if is_qdtext_or_escapable(escaped) => {
                            value.push(char::from(escaped));
                        }
                        Some(_) => {
                            return Err(ChallengeError::ControlCharacter { position: self.pos });
                        }
                    }
                }
                b if is_qdtext_or_escapable(b) => value.push(char::from(b)),
                _ => return Err(ChallengeError::ControlCharacter { position: self.pos }),
            }
            self.pos += 1;
        }
    }

    /// After a complete auth-param or token68: OWS, then a comma or the end. The comma is left
    /// for the list loop.
    fn end_of_element(&mut self) -> Result<(), ChallengeError> {
        self.skip_ws();
        match self.peek() {
            None | Some(b',') => Ok(()),
            Some(found) => Err(ChallengeError::UnexpectedCharacter {
                position: self.pos,
                found: char::from(found),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str) -> Challenge {
        match parse(value) {
            Ok(mut list) if list.len() == 1 => list.remove(0),
            other => panic!("{value:?} gave {other:?}"),
        }
    }

    fn schemes(value: &str) -> Vec<String> {
        parse(value)
            .unwrap_or_else(|e| panic!("{value:?}: {e}"))
            .iter()
            .map(|c| c.scheme().to_owned())
            .collect()
    }

    #[test]
    fn token68_padding_is_not_a_param() {
        let c = one("Negotiate abc==");
        assert_eq!(c.token68(), Some("abc=="));
        assert!(c.params().is_empty());
        let c = one("Negotiate abc=");
        assert_eq!(c.token68(), Some("abc="));
        let list = parse("Negotiate abc= , Bearer realm=\"x\"").unwrap_or_default();
        assert_eq!(list.len(), 2);
        assert_eq!(list.first().and_then(Challenge::token68), Some("abc="));
    }

    #[test]
    fn token68_with_non_tchar_characters() {
        assert_eq!(one("Basic a/b+c=").token68(), Some("a/b+c="));
        assert_eq!(one("Basic a.b~c_d-e").token68(), Some("a.b~c_d-e"));
    }

    #[test]
    fn first_param_with_bws() {
        let c = one("Bearer realm = \"x\"");
        assert_eq!(c.param("realm"), Some("x"));
        assert_eq!(c.token68(), None);
        // `abc= def` cannot be a token68 (padding ends the element), so it is a parameter.
        assert_eq!(one("Foo abc= def").param("abc"), Some("def"));
    }

    #[test]
    fn bare_token_after_comma_starts_a_challenge() {
        assert_eq!(schemes("Bearer realm=\"a\", Basic"), ["Bearer", "Basic"]);
        assert_eq!(
            schemes("Bearer realm=\"a\", Negotiate abc==, Basic x=y"),
            ["Bearer", "Negotiate", "Basic"]
        );
        assert_eq!(schemes("A, B, C"), ["A", "B", "C"]);
    }

    #[test]
    fn param_after_empty_element_joins_the_current_challenge() {
        let c = one("Bearer, , realm=\"x\"");
        assert_eq!(c.param("realm"), Some("x"));
        let c = one("Bearer ,realm=x");
        assert_eq!(c.param("realm"), Some("x"));
    }

    #[test]
    fn token68_then_token68_scheme() {
        let list = parse("Negotiate a=, Basic b==").unwrap_or_default();
        let t: Vec<_> = list.iter().map(Challenge::token68).collect();
        assert_eq!(t, [Some("a="), Some("b==")]);
    }

    #[test]
    fn grammar_errors() {
        use ChallengeError as E;
        // With BWS, `Bearer =x` is the auth-param `bearer=x`, which has no challenge to join.
        assert_eq!(
            parse("Bearer =x"),
            Err(E::ParamWithoutScheme { position: 0 })
        );
        assert_eq!(
            parse("Bearer realm=x, =y"),
            Err(E::ExpectedToken { position: 16 })
        );
        assert_eq!(
            parse("realm=\"x\""),
            Err(E::ParamWithoutScheme { position: 0 })
        );
        assert_eq!(
            parse("Basic abc, realm=x"),
            Err(E::ParamAfterToken68 { position: 11 })
        );
        assert_eq!(
            parse("Bearer a=\"b\" c"),
            Err(E::UnexpectedCharacter {
                position: 13,
                found: 'c'
            })
        );
        assert_eq!(
            parse("Bearer\"x\""),
            Err(E::UnexpectedCharacter {
                position: 6,
                found: '"'
            })
        );
        assert_eq!(
            parse("Bearer a=b, c="),
            Err(E::ExpectedValue { position: 14 })
        );
        assert_eq!(
            parse("Bearer a=b, c=="),
            Err(E::ExpectedValue { position: 14 })
        );
        assert_eq!(
            parse("Basic abc =="),
            Err(E::UnexpectedCharacter {
                position: 10,
                found: '='
            })
        );
        assert_eq!(
            parse("Basic abc==x"),
            Err(E::UnexpectedCharacter {
                position: 11,
                found: 'x'
            })
        );
        assert_eq!(
            parse("Bearer a=\"b"),
            Err(E::UnterminatedQuote { position: 9 })
        );
        assert_eq!(
            parse("Bearer a=\"b\\"),
            Err(E::UnterminatedQuote { position: 9 })
        );
        assert_eq!(
            parse("Bearer a=\"b\nc\""),
            Err(E::ControlCharacter { position: 11 })
        );
        assert_eq!(
            parse("Bearer a=\"b\\\rc\""),
            Err(E::ControlCharacter { position: 12 })
        );
        assert_eq!(
            parse("Bearer a=\u{1}"),
            Err(E::ControlCharacter { position: 9 })
        );
        assert_eq!(parse("Bearer a=\"é\""), Err(E::NonAscii { position: 10 }));
        assert_eq!(
            parse("Bearer a=1, A=2"),
            Err(E::DuplicateParam { name: "a".into() })
        );
    }

    #[test]
    fn limits() {
        let many = vec!["A"; MAX_CHALLENGES].join(", ");
        assert_eq!(parse(&many).map(|l| l.len()), Ok(MAX_CHALLENGES));
        assert_eq!(
            parse(&format!("{many}, B")),
            Err(ChallengeError::TooManyChallenges {
                limit: MAX_CHALLENGES
            })
        );
        let params: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=v")).collect();
        let ok = format!(
            "Bearer {}",
            params.get(..MAX_PARAMS).unwrap_or_default().join(", ")
        );
        assert_eq!(parse(&ok).map(|l| l.len()), Ok(1));
        assert_eq!(
            parse(&format!("Bearer {}", params.join(", "))),
            Err(ChallengeError::TooManyParams { limit: MAX_PARAMS })
        );
        let long = format!("Bearer realm=\"{}\"", "a".repeat(MAX_HEADER_BYTES));
        assert!(matches!(parse(&long), Err(ChallengeError::TooLong { .. })));
    }

    #[test]
    fn builders_validate() {
        use ChallengeError as E;
        assert_eq!(
            Challenge::new("Bad Scheme"),
            Err(E::NotAToken {
                what: "auth-scheme"
            })
        );
        assert_eq!(
            Challenge::new(""),
            Err(E::NotAToken {
                what: "auth-scheme"
            })
        );
        let c = Challenge::new("X").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.clone().with_param("a b", "v").is_err());
        assert!(c.clone().with_param("a", "\n").is_err());
        assert!(c.clone().with_token68("=").is_err());
        assert!(c.clone().with_token68("a b").is_err());
        let with_param = c
            .clone()
            .with_param("A", "1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(with_param.params(), [("a".to_owned(), "1".to_owned())]);
        assert_eq!(
            with_param.clone().with_token68("t"),
            Err(E::Token68WithParams)
        );
        assert_eq!(
            with_param.with_param("a", "2"),
            Err(E::DuplicateParam { name: "a".into() })
        );
        let with_t68 = c.with_token68("t=").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(with_t68.render(), "X t=");
        assert_eq!(with_t68.with_param("a", "1"), Err(E::Token68WithParams));
    }

    #[test]
    fn header_bytes_error_positions() {
        assert_eq!(
            header_bytes_error(b"ab\xffc"),
            ChallengeError::NonAscii { position: 2 }
        );
        assert_eq!(
            header_bytes_error(b"ab\x7f"),
            ChallengeError::ControlCharacter { position: 2 }
        );
    }

    #[test]
    fn max_age_must_be_decimal() {
        assert_eq!(parse_decimal("300"), Some(300));
        assert_eq!(parse_decimal("0"), Some(0));
        for bad in [
            "",
            "+5",
            "-1",
            " 5",
            "5.0",
            "1e3",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }
}
