//! The request-target (RFC 9112 §3.2): origin-form `/path?query` or absolute-form
//! `http://host/path?query`, percent-decoded exactly once into a path inside the site.

use std::borrow::Cow;

pub use crate::files::url_path::{encode_path, encode_segment, UrlPath};
use crate::http::request::valid_authority;
use crate::http::RequestError;

/// Splits the target into path and query and decodes the path.
pub fn parse_target(target: &str) -> Result<UrlPath<'_>, RequestError> {
    let path_and_query = if target.starts_with('/') {
        target
    } else if let Some(rest) = strip_scheme(target) {
        // absolute-form: the authority is checked like Host, then ignored (one site).
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        if end == 0 || !valid_authority(&rest.as_bytes()[..end]) {
            return Err(RequestError::Malformed("invalid authority in absolute-form target"));
        }
        match &rest[end..] {
            "" => "/",
            tail if tail.starts_with('?') => return Ok(root_with_query(&tail[1..])),
            tail => tail,
        }
    } else {
        return Err(RequestError::Malformed("request-target is not origin-form or absolute-form"));
    };
    if path_and_query.bytes().any(|b| !allowed_in_target(b)) {
        return Err(RequestError::Malformed("character not allowed in request-target"));
    }
    let (raw_path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let (relative, ends_in_dot_segment) = decode_path(raw_path)?;
    // RFC 3986 §5.2.4: removing a final `.` or `..` leaves the slash before it, so
    // `/dir/..` is `/` and `/index.html/.` is `/index.html/` (a folder request).
    let trailing_slash = raw_path.ends_with('/') || ends_in_dot_segment;
    Ok(UrlPath { relative, trailing_slash, query })
}

fn root_with_query(query: &str) -> UrlPath<'_> {
    UrlPath { relative: Cow::Borrowed(""), trailing_slash: true, query: Some(query) }
}

fn strip_scheme(target: &str) -> Option<&str> {
    for scheme in ["http://", "https://"] {
        // Compare bytes: the target may hold non-ASCII bytes (httparse passes them), and
        // slicing a str inside a UTF-8 sequence would panic.
        if target.as_bytes().get(..scheme.len()).is_some_and(|p| p.eq_ignore_ascii_case(scheme.as_bytes())) {
            return Some(&target[scheme.len()..]);
        }
    }
    None
}

/// RFC 3986 pchar plus `/`, `?` and `%`; also `[ ] { } | ^`, which browsers send unescaped
/// in paths (WHATWG URL). Control bytes, space, `"`, `<`, `>`, `\`, `` ` ``, `#` and
/// non-ASCII bytes are refused: they are never valid in a request-target.
fn allowed_in_target(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%[]{}|^".contains(&b)
}

/// Decodes each segment once (so `%252e` stays the literal `%2e`), as UTF-8, applies the
/// segment rules (no encoded `/` or NUL), then removes dot-segments over the decoded segments
/// (RFC 3986 §5.2.4), so `.%2e` is `..` as in WHATWG URL. Empty segments are dropped first
/// (`//a` is `a`, as nginx's `merge_slashes`), so `..` pops the last name. A `..` with nothing left to pop would climb
/// above the root: refused in every spelling. Returns the path and whether its last segment
/// was a dot-segment (which leaves a trailing slash). Borrows the input when it holds no
/// escapes and no segments to drop.
pub fn decode_path(raw_path: &str) -> Result<(Cow<'_, str>, bool), RequestError> {
    let trimmed = raw_path.trim_matches('/');
    let simple = !trimmed.contains('%') && trimmed.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
    if trimmed.is_empty() || simple {
        return Ok((Cow::Borrowed(trimmed), false));
    }
    // Every segment is decoded and checked before any is removed: a bad escape or an encoded
    // `/` is a bad request even in a segment that a later `..` pops.
    let mut decoded = Vec::new();
    for raw_segment in trimmed.split('/') {
        let segment = percent_decode(raw_segment)?;
        // An encoded `/` would be a separator the URL did not show, and NUL ends a C path: both
        // refused. An encoded `\` (`%5C`) is a byte of the name. On Linux, macOS and FreeBSD the
        // kernel's only separator is `/`, so `a\b` names one file in this folder and `..\x` is
        // a name, not a `..` (it is never removed as a dot-segment, and opening it finds the
        // file literally called `..\x` or nothing). Linux's SMB client refuses `\` in a name
        // itself (EINVAL: 404). A raw `\` never gets here (`allowed_in_target`): browsers turn
        // it into `/` (WHATWG URL), so a raw one is a probe, and stays 400. A Windows port
        // would have to refuse `%5C` again: there it is a separator.
        if segment.contains(['/', '\0']) {
            return Err(RequestError::Malformed("encoded `/` or NUL in a path segment"));
        }
        decoded.push(segment);
    }
    let mut kept: Vec<&str> = Vec::with_capacity(decoded.len());
    let mut ends_in_dot_segment = false;
    for segment in &decoded {
        ends_in_dot_segment = matches!(segment.as_ref(), "." | "..");
        match segment.as_ref() {
            "" | "." => {}
            ".." => {
                if kept.pop().is_none() {
                    return Err(RequestError::Malformed("`..` above the root"));
                }
            }
            s => kept.push(s),
        }
    }
    Ok((Cow::Owned(kept.join("/")), ends_in_dot_segment))
}

/// `%XX` escapes to bytes, then the bytes as UTF-8. A `%` not followed by two hex digits, or
/// bytes that are not UTF-8 (overlong `%c0%ae` included), are a bad request.
pub fn percent_decode(segment: &str) -> Result<Cow<'_, str>, RequestError> {
    if !segment.contains('%') {
        return Ok(Cow::Borrowed(segment));
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(RequestError::Malformed("invalid percent-escape"));
            };
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| RequestError::Malformed("path is not UTF-8 after percent-decoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(target: &str) -> Result<String, RequestError> {
        parse_target(target).map(|p| p.relative.into_owned())
    }

    fn bad(target: &str) -> bool {
        matches!(parse_target(target), Err(RequestError::Malformed(_)))
    }

    #[test]
    fn origin_form_and_query() {
        let p = parse_target("/a/b.html?x=1&y=/..").expect("valid");
        assert_eq!(p.relative, "a/b.html");
        assert_eq!(p.query, Some("x=1&y=/.."));
        assert!(!p.trailing_slash);
        assert!(parse_target("/").expect("root").trailing_slash);
        assert_eq!(rel("/dir/"), Ok("dir".into()));
    }

    #[test]
    fn absolute_form() {
        assert_eq!(rel("http://example.com/a%20b"), Ok("a b".into()));
        assert_eq!(rel("HTTPS://[::1]:8080/x"), Ok("x".into()));
        assert_eq!(rel("http://example.com"), Ok("".into()));
        assert_eq!(parse_target("http://h?q").expect("valid").query, Some("q"));
        assert!(bad("http:///x"));
        assert!(bad("http://u@h/x"));
        assert!(bad("ftp://h/x"));
        assert!(bad("http:/\u{21a}xampl:80/sub"), "found by fuzzing: a multi-byte character across the scheme");
        assert!(bad("*"));
        assert!(bad("dir/../"));
        assert!(bad("example.com:80"));
    }

    #[test]
    fn decodes_once_as_utf8() {
        assert_eq!(rel("/a%20b"), Ok("a b".into()));
        assert_eq!(rel("/%E6%97%A5"), Ok("日".into()));
        assert_eq!(rel("/%e6%97%a5"), Ok("日".into()));
        assert_eq!(rel("/100%25"), Ok("100%".into()));
        assert_eq!(rel("/a%23b"), Ok("a#b".into()));
        assert_eq!(rel("/.%252e/x"), Ok(".%2e/x".into()));
        assert!(bad("/%zz"));
        assert!(bad("/%4"));
        assert!(bad("/.%%32%65/"));
        assert!(bad("/%ff"));
        assert!(bad("/%c0%ae%c0%ae/etc/passwd"));
    }

    #[test]
    fn segment_rules() {
        assert_eq!(rel("//etc//passwd"), Ok("etc/passwd".into()));
        assert!(parse_target("/./a/./b/.").expect("valid").trailing_slash);
        assert_eq!(rel("/./a/./b/"), Ok("a/b".into()));
        for target in [
            "/../etc/passwd",
            "/a/../../etc",
            "/%2e%2e/etc",
            "/..%2f..%2fetc",
            "/a%2fb",
            "/a%00.txt",
            "/a\\..\\b",
            "/a b",
            "/a\"b",
            "/<script>",
            "/a#frag",
            "/caf\u{e9}",
        ] {
            assert!(bad(target), "{target:?}");
        }
    }

    #[test]
    fn an_encoded_backslash_is_a_byte_of_the_name_and_a_raw_one_is_refused() {
        // `%5C` decodes to a name holding `\`: one segment, never a separator or a `..`.
        assert_eq!(rel("/a%5Cb.txt"), Ok("a\\b.txt".into()));
        assert_eq!(rel("/..%5c..%5cwindows"), Ok("..\\..\\windows".into()));
        assert_eq!(rel("/dir/..%5C"), Ok("dir/..\\".into()));
        assert_eq!(rel("/%5c"), Ok("\\".into()));
        // It is a name, so a real `..` after it pops it like any other name.
        assert_eq!(rel("/a%5c/../b"), Ok("b".into()));
        // Raw backslashes are not valid in a request-target: 400, in every position.
        for target in ["/a\\b", "/..\\x", "/\\evil.com", "/a/\\", "http://h/a\\b"] {
            assert!(bad(target), "{target:?}");
        }
        // `..` spelled with an encoded backslash still cannot climb: `x%5C..` is one name.
        assert_eq!(rel("/x%5C../y"), Ok("x\\../y".into()));
        assert!(bad("/%5C/../../x"));
    }

    fn folder(target: &str) -> Result<(String, bool), RequestError> {
        parse_target(target).map(|p| (p.relative.into_owned(), p.trailing_slash))
    }

    #[test]
    fn dot_segments_are_removed_after_decoding() {
        // RFC 3986 §5.2.4 over the decoded segments: `..` pops the name before it.
        assert_eq!(folder("/docs/../style.css"), Ok(("style.css".into(), false)));
        assert_eq!(folder("/a/b/../../c"), Ok(("c".into(), false)));
        assert_eq!(folder("/a/./b/../c/"), Ok(("a/c".into(), true)));
        assert_eq!(folder("/a//..//b"), Ok(("b".into(), false)));
        // Decoded once, `%2e` is `.`: `.%2e`, `%2e.`, `%2E%2E` are `..` (as WHATWG URL).
        for spelling in ["..", ".%2e", "%2e.", "%2e%2e", "%2E%2E", "%2e%2E"] {
            assert_eq!(folder(&format!("/dir/{spelling}/a.txt")), Ok(("a.txt".into(), false)), "{spelling}");
        }
        assert_eq!(folder("/%2e/a.txt"), Ok(("a.txt".into(), false)));
        // Decoded once only: `%252e` is the literal `%2e`, a name like any other.
        assert_eq!(folder("/.%252e/a.txt"), Ok((".%2e/a.txt".into(), false)));
        assert_eq!(folder("/a/%252e%252e"), Ok(("a/%2e%2e".into(), false)));
        // Names that merely hold dots are names.
        assert_eq!(folder("/.../..;/..a/a.."), Ok((".../..;/..a/a..".into(), false)));
    }

    #[test]
    fn a_final_dot_segment_leaves_a_trailing_slash() {
        assert_eq!(folder("/index.html/."), Ok(("index.html".into(), true)));
        assert_eq!(folder("/index.html/%2e"), Ok(("index.html".into(), true)));
        assert_eq!(folder("/dir/.."), Ok(("".into(), true)));
        assert_eq!(folder("/dir/sub/%2e%2e"), Ok(("dir".into(), true)));
        assert_eq!(folder("/."), Ok(("".into(), true)));
        assert_eq!(folder("/dir/../a.txt"), Ok(("a.txt".into(), false)));
    }

    #[test]
    fn climbing_above_the_root_is_refused_in_every_spelling() {
        for target in [
            "/..",
            "/../",
            "/../x",
            "/./../x",
            "/a/../../x",
            "/a/b/../../../x",
            "/%2e%2e/x",
            "/%2E%2E/x",
            "/.%2e/x",
            "/%2e./x",
            "/a/%2e%2e/%2e%2e/x",
            "//..//x",
            "/a/./../..",
            "http://h/../x",
            "http://h/a/%2e%2e/%2e%2e",
        ] {
            assert_eq!(parse_target(target), Err(RequestError::Malformed("`..` above the root")), "{target:?}");
        }
    }

    #[test]
    fn segment_rules_hold_in_segments_that_dot_segments_remove() {
        // Each segment is decoded and checked before `..` is applied.
        for target in ["/%zz/../a", "/a%2fb/../c", "/%ff/../a", "/a%00/../b", "/a/..%2f../b"] {
            assert!(bad(target), "{target:?}");
        }
    }

    #[test]
    fn encoding_is_the_inverse_of_decoding() {
        assert_eq!(encode_path("a b/日/%#?"), "/a%20b/%E6%97%A5/%25%23%3F");
        assert_eq!(encode_path(""), "/");
        let decoded = rel(&encode_path("x y/\u{e9}t\u{e9}/a:b")).expect("valid");
        assert_eq!(decoded, "x y/\u{e9}t\u{e9}/a:b");
    }

    #[test]
    fn hidden_segments() {
        assert!(parse_target("/.git/config").expect("valid").has_hidden_segment());
        assert!(parse_target("/a/.env").expect("valid").has_hidden_segment());
        assert!(!parse_target("/a.b/c").expect("valid").has_hidden_segment());
        // RFC 8615: the root's /.well-known/ only, and not what is hidden below it.
        assert!(!parse_target("/.well-known/security.txt").expect("valid").has_hidden_segment());
        assert!(!parse_target("/.well-known").expect("valid").has_hidden_segment());
        assert!(parse_target("/.well-known/.git/config").expect("valid").has_hidden_segment());
        assert!(parse_target("/a/.well-known/x").expect("valid").has_hidden_segment());
        assert!(parse_target("/.WELL-KNOWN/x").expect("valid").has_hidden_segment());
        assert!(parse_target("/.well-knownx/x").expect("valid").has_hidden_segment());
    }
}
