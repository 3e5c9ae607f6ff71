//! The small pieces of HTTP syntax several parsers share (RFC 9110 §5.6): optional
//! whitespace, tokens, and the request line of a raw head.

/// `OWS = *( SP / HTAB )` trimmed from both ends (RFC 9110 §5.6.3).
pub trait TrimOws {
    fn trim_ows(&self) -> &Self;
}

impl TrimOws for [u8] {
    fn trim_ows(&self) -> &[u8] {
        let start = self.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(self.len());
        let end = self.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
        &self[start..end]
    }
}

impl TrimOws for str {
    fn trim_ows(&self) -> &str {
        let trimmed = self.as_bytes().trim_ows();
        let start = trimmed.as_ptr() as usize - self.as_ptr() as usize;
        // Only ASCII bytes were trimmed, so both ends are character boundaries.
        &self[start..start + trimmed.len()]
    }
}

/// `trim_ows` as a function, for `.map(trim_ows)`.
pub fn trim_ows<T: TrimOws + ?Sized>(text: &T) -> &T {
    text.trim_ows()
}

/// `tchar` (RFC 9110 §5.6.2): what tokens (methods, field names, codings) are made of.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty run of `tchar`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// The request line of a raw head: after any leading empty lines (RFC 9112 §2.2), up to the
/// first CR or LF.
pub fn first_line(head: &[u8]) -> &[u8] {
    let start = head.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(head.len());
    let line = &head[start..];
    &line[..line.iter().position(|b| *b == b'\r' || *b == b'\n').unwrap_or(line.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ows_is_spaces_and_tabs_only() {
        assert_eq!(trim_ows(" \t a b\t "), "a b");
        assert_eq!(b"\t\t".trim_ows(), b"");
        assert_eq!(" \u{e9} ".trim_ows(), "\u{e9}");
        assert_eq!("\r x \n".trim_ows(), "\r x \n");
    }

    #[test]
    fn tokens_and_request_lines() {
        assert!(is_token("GET") && is_token("x-gzip") && !is_token("") && !is_token("a b") && !is_token("a,b"));
        assert_eq!(first_line(b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n"), b"GET / HTTP/1.1");
        assert_eq!(first_line(b"GET /"), b"GET /");
    }
}
