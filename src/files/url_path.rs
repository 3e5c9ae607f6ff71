//! A path inside the site as the file layer sees it — decoded, checked segments — and how to
//! write one back as a URL path. `http::target` makes them from request-targets.

use std::borrow::Cow;
use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, PercentEncode, NON_ALPHANUMERIC};

/// A checked, decoded URL path: no empty, `.` or `..` segments; no segment holds `/` or NUL
/// (a `\` is an ordinary byte of a name: `http::target` explains why). `relative` joins the
/// segments with `/` and has no leading slash (`""` is the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPath<'a> {
    pub relative: Cow<'a, str>,
    /// The raw path ended with `/` (or was the root): a request for a folder.
    pub trailing_slash: bool,
    /// The raw query, without `?`, kept for redirects; never used to find a file.
    pub query: Option<&'a str>,
}

impl UrlPath<'_> {
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.relative.split('/').filter(|s| !s.is_empty())
    }

    /// True when any segment names a dotfile or dot-folder (`.git`, `.env`), the root's
    /// `.well-known` aside (`is_hidden`).
    pub fn has_hidden_segment(&self) -> bool {
        is_hidden(&self.relative)
    }
}

/// The one dot-folder served without `--hidden`: RFC 8615 reserves `/.well-known/` at the top
/// of a site for files that clients fetch by a fixed name (`security.txt`, ACME challenges,
/// `assetlinks.json`, `apple-app-site-association`). Only as the first segment, only in
/// lower case (as the registry spells it), and only the folder itself: a dot-name below it
/// (`/.well-known/.git`) is as hidden as anywhere else.
pub const WELL_KNOWN: &str = ".well-known";

/// Whether a path below the root (segments joined by `/`) holds a dotfile or dot-folder that
/// `--hidden` would be needed for. The one rule for URL paths and for the real paths that
/// symlinks lead to.
pub fn is_hidden(relative: &str) -> bool {
    let mut segments = relative.split('/').filter(|s| !s.is_empty());
    let first_is_hidden = segments.next().is_some_and(|first| first.starts_with('.') && first != WELL_KNOWN);
    first_is_hidden || segments.any(|s| s.starts_with('.'))
}

/// Every byte but RFC 3986 unreserved ones is escaped: the result is safe in a `Location`
/// field, in an HTML attribute, and as a relative reference (`a:b` cannot read as a scheme).
const SEGMENT_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one decoded path segment (the inverse of `http::target::percent_decode`).
pub fn encode_segment(segment: &str) -> PercentEncode<'_> {
    utf8_percent_encode(segment, SEGMENT_ESCAPES)
}

/// `/` + the encoded segments of `relative`: an absolute path on this host that can never
/// start with `//` or hold a `\` (no open redirect, CVE-2021-28861).
pub fn encode_path(relative: &str) -> String {
    let mut out = String::with_capacity(relative.len() + 1);
    for segment in relative.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.extend(encode_segment(segment));
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// A request's query for a `Location` field, as RFC 3986 §3.4 allows it there: `pchar`, `/`
/// and `?` are kept as sent, valid `%XX` escapes too (the query is never decoded); every other
/// byte — the `[ ] { } | ^` that browsers send raw, a `%` that starts no escape — is
/// percent-encoded. So the field is a valid URI reference and nothing from the request reaches
/// it unencoded.
pub fn encode_query(query: &str) -> Cow<'_, str> {
    let bytes = query.as_bytes();
    let is_escape = |at: usize| bytes.get(at + 1..at + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
    let keeps = |at: usize| {
        let b = bytes[at];
        b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) || (b == b'%' && is_escape(at))
    };
    if (0..bytes.len()).all(keeps) {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len() + 16);
    for (at, &b) in bytes.iter().enumerate() {
        if keeps(at) {
            out.push(char::from(b));
        } else {
            // Writing into a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    Cow::Owned(out)
}
