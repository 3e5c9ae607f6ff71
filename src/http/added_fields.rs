//! The fields added to every response: `--header 'Name: value'`, `--cors` and
//! `--cross-origin-isolation`. Checked once, when the server starts, and kept as the encoded
//! field lines that `response::write_response_head` copies into every head — the 200s, the
//! listings, the 301, 304, 206, 416, the error pages, and the 408 and 503 the socket side
//! sends — so each is there exactly once.
//!
//! A field this server sets itself is refused by name: two `Content-Length`s, a second
//! `Cache-Control` or an `ETag` shared by every file would break the response, or lie to a
//! cache, instead of adding to it.

use std::fmt;

use crate::http::syntax::{is_token, trim_ows};

/// `--cors`: every response may be read by a page of any origin (Fetch standard §3.2.3).
/// Without credentials: `*` is refused for requests with cookies, which a local static
/// server has no use for.
pub const CORS_ALLOW_ORIGIN: (&str, &str) = ("Access-Control-Allow-Origin", "*");

/// `--cross-origin-isolation`: what makes a page `crossOriginIsolated` (the HTML standard's
/// "cross-origin isolation"), so it may use `SharedArrayBuffer` (WebAssembly threads)
/// and precise timers. COOP `same-origin` puts the page in a browsing context group of its
/// own; COEP `require-corp` lets it load only same-origin resources and those that agree by
/// CORS or `Cross-Origin-Resource-Policy`. The server's own files are same-origin to its
/// pages, so they need no CORP; a `Cross-Origin-Resource-Policy` would instead decide who
/// else may embed them, which is a separate choice (`--header`).
pub const CROSS_ORIGIN_ISOLATION: [(&str, &str); 2] =
    [("Cross-Origin-Opener-Policy", "same-origin"), ("Cross-Origin-Embedder-Policy", "require-corp")];

/// The fields rawserve sets itself, lower-case, and why `--header` cannot set them.
const SERVER_OWNED: &[(&str, &str)] = &[
    ("content-length", "rawserve sets Content-Length from each body"),
    ("transfer-encoding", "rawserve frames every response with Content-Length"),
    ("connection", "rawserve sends Connection: close and closes after every response"),
    ("keep-alive", "rawserve sends Connection: close and closes after every response"),
    ("proxy-connection", "rawserve sends Connection: close and closes after every response"),
    ("upgrade", "rawserve speaks HTTP/1.1 only and closes after every response"),
    ("trailer", "rawserve sends no trailers (every response has a Content-Length)"),
    ("te", "TE is a request field"),
    ("date", "rawserve sets Date on every response"),
    ("server", "rawserve sets Server on every response"),
    ("x-content-type-options", "rawserve sends X-Content-Type-Options: nosniff on every response"),
    ("content-type", "rawserve sets Content-Type per file from its extension, and none on a 304"),
    ("content-encoding", "rawserve sets Content-Encoding when it sends a .br or .gz sibling"),
    ("content-language", "Content-Language describes one file's content, which a 304 must not carry (RFC 9110 §15.4.5)"),
    ("content-location", "Content-Location names one representation's URL: the same on every response would be false"),
    ("content-md5", "a digest describes one body: the same on every response would be false"),
    ("content-digest", "a digest describes one body: the same on every response would be false"),
    ("repr-digest", "a digest describes one body: the same on every response would be false"),
    ("content-range", "rawserve sets Content-Range on its 206 and 416 answers"),
    ("accept-ranges", "rawserve sets Accept-Ranges on files"),
    ("etag", "rawserve sets ETag per file and listing: one tag on every response would make caches reuse one file for another"),
    ("last-modified", "rawserve sets Last-Modified per file"),
    ("cache-control", "rawserve sets Cache-Control on files and listings; use --cache-control"),
    ("vary", "rawserve sets Vary from what it negotiates (Accept-Encoding)"),
    ("allow", "rawserve sets Allow on its 405 answers"),
    ("location", "rawserve sets Location on its redirects"),
    ("retry-after", "rawserve sets Retry-After on its 503 answers"),
];

/// What `--cors` sets (on every response, or on a preflight's 204), lower-case.
const CORS_OWNED: &[&str] = &[
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
];

/// Why a `--header` cannot be sent; `main` prints it as one `rawserve: ` line (exit 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// No `:` between a name and a value.
    NoColon(String),
    /// The name is not a token (RFC 9110 §5.1): empty, spaces, `(`, `"`…
    BadName(String),
    /// Nothing after the colon.
    EmptyValue(String),
    /// A control character other than HTAB: CR or LF would split the head, NUL ends it.
    ControlCharacter(String),
    /// Field values are visible ASCII, space and tab (RFC 9110 §5.5).
    NotAscii(String),
    /// A field this server (or one of its flags) sets; the reason says which.
    ServerOwned { name: String, why: String },
    /// The same name in two `--header`s.
    Repeated(String),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::NoColon(text) => write!(f, "--header takes 'Name: value', not {text:?}"),
            HeaderError::BadName(text) => write!(
                f,
                "--header {text:?}: a field name is letters, digits and !#$%&'*+-.^_`|~ only, with no spaces (RFC 9110 §5.1)"
            ),
            HeaderError::EmptyValue(text) => write!(f, "--header {text:?} has no value after the colon"),
            HeaderError::ControlCharacter(text) => write!(
                f,
                "--header {text:?}: the value holds a control character (CR, LF and NUL would split or end the head)"
            ),
            HeaderError::NotAscii(text) => {
                write!(f, "--header {text:?}: field values are ASCII (RFC 9110 §5.5); percent-encode the rest")
            }
            HeaderError::ServerOwned { name, why } => write!(f, "--header {name}: {why}"),
            HeaderError::Repeated(name) => write!(
                f,
                "--header {name} is given twice; give it once (a list joins its values with \", \")"
            ),
        }
    }
}

impl std::error::Error for HeaderError {}

/// The field lines every response carries beyond the server's own, and whether CORS
/// preflights are answered. `Default` is none of them: today's responses.
#[derive(Debug, Clone, Default)]
pub struct AddedFields {
    /// `Name: value\r\n` lines, in the order they are sent: `--cors`, then
    /// `--cross-origin-isolation`, then each `--header` as given.
    lines: Vec<u8>,
    /// `--cors`: `handler::respond` answers preflights (`http::cors`).
    cors: bool,
}

impl AddedFields {
    /// Checks every `--header` (`Name: value`) and encodes them with what the flags add.
    pub fn new(headers: &[String], cors: bool, cross_origin_isolation: bool) -> Result<AddedFields, HeaderError> {
        let mut fields: Vec<(&str, &str)> = Vec::new();
        if cors {
            fields.push(CORS_ALLOW_ORIGIN);
        }
        if cross_origin_isolation {
            fields.extend(CROSS_ORIGIN_ISOLATION);
        }
        let mut given: Vec<(&str, &str)> = Vec::with_capacity(headers.len());
        for text in headers {
            let (name, value) = parse_header(text)?;
            let lower = name.to_ascii_lowercase();
            if let Some((_, why)) = SERVER_OWNED.iter().find(|(owned, _)| *owned == lower) {
                return Err(HeaderError::ServerOwned { name: name.to_string(), why: why.to_string() });
            }
            if cors && CORS_OWNED.contains(&lower.as_str()) {
                return Err(HeaderError::ServerOwned { name: name.to_string(), why: format!("--cors sets {name}") });
            }
            if cors && lower == "access-control-allow-credentials" {
                // Fetch standard §3.2.5: a credentialed response with `Allow-Origin: *` fails.
                let why = "browsers refuse credentials with the Access-Control-Allow-Origin: * that --cors sends";
                return Err(HeaderError::ServerOwned { name: name.to_string(), why: why.to_string() });
            }
            if cross_origin_isolation && CROSS_ORIGIN_ISOLATION.iter().any(|(set, _)| set.eq_ignore_ascii_case(name)) {
                let why = format!("--cross-origin-isolation sets {name}");
                return Err(HeaderError::ServerOwned { name: name.to_string(), why });
            }
            if given.iter().any(|(earlier, _)| earlier.eq_ignore_ascii_case(name)) {
                return Err(HeaderError::Repeated(name.to_string()));
            }
            given.push((name, value));
        }
        fields.extend(given);
        let mut lines = Vec::new();
        for (name, value) in fields {
            lines.extend_from_slice(name.as_bytes());
            lines.extend_from_slice(b": ");
            lines.extend_from_slice(value.as_bytes());
            lines.extend_from_slice(b"\r\n");
        }
        Ok(AddedFields { lines, cors })
    }

    /// The encoded field lines (empty when nothing is added).
    pub fn as_bytes(&self) -> &[u8] {
        &self.lines
    }

    /// `--cors`: CORS preflights get their 204.
    pub fn cors(&self) -> bool {
        self.cors
    }
}

/// `Name: value` → the name and the value without the whitespace around it (RFC 9110 §5.5:
/// leading and trailing whitespace is not part of a field value).
fn parse_header(text: &str) -> Result<(&str, &str), HeaderError> {
    let Some((name, value)) = text.split_once(':') else { return Err(HeaderError::NoColon(text.to_string())) };
    // RFC 9112 §5.1: no whitespace between the name and the colon.
    if !is_token(name) {
        return Err(HeaderError::BadName(text.to_string()));
    }
    let value = trim_ows(value);
    if value.is_empty() {
        return Err(HeaderError::EmptyValue(text.to_string()));
    }
    if value.bytes().any(|b| b != b'\t' && b.is_ascii_control()) {
        return Err(HeaderError::ControlCharacter(text.to_string()));
    }
    if !value.is_ascii() {
        return Err(HeaderError::NotAscii(text.to_string()));
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn added(headers: &[&str], cors: bool, isolation: bool) -> Result<String, HeaderError> {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        AddedFields::new(&headers, cors, isolation).map(|a| String::from_utf8(a.as_bytes().to_vec()).expect("ascii"))
    }

    #[test]
    fn flags_then_headers_in_the_order_given() {
        assert_eq!(added(&[], false, false).as_deref(), Ok(""));
        assert_eq!(
            added(&["X-Frame-Options:DENY", "Permissions-Policy: \t geolocation=() \t"], true, true).as_deref(),
            Ok("Access-Control-Allow-Origin: *\r\nCross-Origin-Opener-Policy: same-origin\r\n\
                Cross-Origin-Embedder-Policy: require-corp\r\nX-Frame-Options: DENY\r\n\
                Permissions-Policy: geolocation=()\r\n")
        );
        // The value may hold colons and tabs; the name keeps the case it was given in.
        assert_eq!(
            added(&["link: <a>; rel=x;\tt=\"1:2\""], false, false).as_deref(),
            Ok("link: <a>; rel=x;\tt=\"1:2\"\r\n")
        );
    }

    #[test]
    fn bad_headers_are_refused_with_the_reason() {
        let refused = |text: &str| added(&[text], false, false).expect_err(text);
        assert_eq!(refused("X-A"), HeaderError::NoColon("X-A".into()));
        assert_eq!(refused("X A: 1"), HeaderError::BadName("X A: 1".into()));
        assert_eq!(refused("X-A : 1"), HeaderError::BadName("X-A : 1".into()));
        assert_eq!(refused(": 1"), HeaderError::BadName(": 1".into()));
        assert_eq!(refused("X-A:  "), HeaderError::EmptyValue("X-A:  ".into()));
        for value in ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\0b", "a\x7fb", "a\x01"] {
            let text = format!("X-A: {value}");
            assert_eq!(refused(&text), HeaderError::ControlCharacter(text.clone()));
        }
        assert_eq!(refused("X-A: caf\u{e9}"), HeaderError::NotAscii("X-A: caf\u{e9}".into()));
        for name in [
            "Content-Length",
            "content-type",
            "ETAG",
            "Cache-Control",
            "Vary",
            "Date",
            "Transfer-Encoding",
            "Content-Language",
            "Content-Location",
            "Repr-Digest",
        ] {
            assert!(matches!(refused(&format!("{name}: 1")), HeaderError::ServerOwned { .. }), "{name}");
        }
        assert_eq!(
            added(&["X-A: 1", "x-a: 2"], false, false),
            Err(HeaderError::Repeated("x-a".into())),
            "the same name twice"
        );
    }

    #[test]
    fn flag_fields_are_refused_only_with_their_flag() {
        for name in ["Access-Control-Allow-Origin", "access-control-max-age", "Access-Control-Allow-Credentials"] {
            let text = format!("{name}: x");
            assert!(added(&[&text], false, false).is_ok(), "{name} without --cors");
            assert!(matches!(added(&[&text], true, false), Err(HeaderError::ServerOwned { .. })), "{name}");
        }
        assert!(added(&["Access-Control-Expose-Headers: ETag"], true, false).is_ok());
        let coop = "Cross-Origin-Opener-Policy: same-origin-allow-popups";
        assert!(added(&[coop], false, false).is_ok());
        assert!(matches!(added(&[coop], false, true), Err(HeaderError::ServerOwned { .. })));
        assert!(added(&["Cross-Origin-Resource-Policy: same-site"], false, true).is_ok(), "CORP is the user's choice");
    }

    #[test]
    fn messages_are_one_line() {
        let error = added(&["X-A: a\r\nb"], false, false).expect_err("CR LF");
        assert_eq!(
            error.to_string(),
            "--header \"X-A: a\\r\\nb\": the value holds a control character (CR, LF and NUL would split or end the head)"
        );
    }
}
