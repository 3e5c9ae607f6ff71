//! The request head: `httparse` does the syntax of RFC 9112 §2–5, and this module adds the
//! rules a server must enforce on top of it (Host, message framing, versions, methods).

use crate::http::syntax::{first_line, trim_ows};
use std::borrow::Cow;
use std::fmt;
use std::mem::MaybeUninit;

use crate::limits::MAX_HEADER_FIELDS;

/// Why a request cannot be served, at the HTTP layer. `http::response` maps each to a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Syntax or semantics that RFC 9112/9110 say to refuse with 400; the reason is logged.
    Malformed(&'static str),
    /// The head did not end within `MAX_HEAD_BYTES`.
    HeadTooLarge,
    /// More than `MAX_HEADER_FIELDS` fields.
    TooManyFields,
    /// The request line alone is longer than `MAX_REQUEST_LINE_BYTES`.
    RequestLineTooLong,
    /// A well-formed HTTP version other than 1.x (`HTTP/2.0`, `HTTP/3.0`).
    VersionNotSupported,
    /// A method RFC 9110 §9 or RFC 5789 defines that this server does not allow (405 with
    /// `Allow`): it never changes anything, and echoes nothing back (TRACE).
    MethodNotAllowed,
    /// A method token this server does not recognise, `get` included: methods are
    /// case-sensitive (RFC 9110 §9.1: 501).
    UnknownMethod,
    /// A transfer coding this server does not know (RFC 9112 §6.1: 501).
    UnknownTransferCoding,
    /// The head did not arrive within `HEAD_TIMEOUT`.
    HeadTimeout,
    /// The connection cap was full and this head had made the least progress: it made room
    /// for a new connection (`limits::EVICTION_MIN_AGE`).
    Evicted,
}

impl RequestError {
    /// Why, in a few words, for the log.
    pub fn reason(&self) -> &'static str {
        match self {
            RequestError::Malformed(reason) => reason,
            RequestError::HeadTooLarge => "request head too large",
            RequestError::TooManyFields => "too many header fields",
            RequestError::RequestLineTooLong => "request line too long",
            RequestError::VersionNotSupported => "HTTP version not supported",
            RequestError::MethodNotAllowed => "method not allowed",
            RequestError::UnknownMethod => "unknown method",
            RequestError::UnknownTransferCoding => "unknown transfer coding",
            RequestError::HeadTimeout => "request head not received in time",
            RequestError::Evicted => "evicted at the connection cap: the slowest head",
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// The methods that get past `parse_request`: the two this server serves, and OPTIONS, which
/// `handler::respond` answers (the one place a CORS preflight would be answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Options,
}

impl Method {
    /// RFC 9110 §9.1: a method is a case-sensitive token (httparse has checked the token). The
    /// methods RFC 9110 §9.3 and RFC 5789 (PATCH) define are known; this server serves only GET
    /// and HEAD, so the others are not allowed here (405); any other token is unknown (501).
    fn from_token(name: &str) -> Result<Method, RequestError> {
        match name {
            "GET" => Ok(Method::Get),
            "HEAD" => Ok(Method::Head),
            "OPTIONS" => Ok(Method::Options),
            "POST" | "PUT" | "DELETE" | "PATCH" | "TRACE" | "CONNECT" => Err(RequestError::MethodNotAllowed),
            _ => Err(RequestError::UnknownMethod),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// A parsed, checked request head. Borrows the receive buffer: nothing is copied.
#[derive(Debug)]
pub struct RequestHead<'h, 'b> {
    pub method: Method,
    pub method_name: &'b str,
    /// The request-target exactly as sent (checked and decoded later by `http::target`).
    pub target: &'b str,
    pub version: Version,
    pub fields: &'h [httparse::Header<'b>],
    /// True when the client announced a body (Content-Length > 0 or Transfer-Encoding):
    /// it is never read as a request, only drained before closing.
    pub has_body: bool,
}

impl<'h, 'b> RequestHead<'h, 'b> {
    /// The value of the first field with this name, if it is valid UTF-8.
    pub fn field(&self, name: &str) -> Option<&'b str> {
        self.fields.iter().find(|h| h.name.eq_ignore_ascii_case(name)).and_then(|h| std::str::from_utf8(h.value).ok())
    }

    /// A field that may appear once (RFC 9110 §5.3): `None` when absent, not UTF-8, or sent
    /// more than once — a repeated `Range` is invalid, and ignoring it is always safe.
    pub fn single_field(&self, name: &str) -> Option<&'b str> {
        let mut lines = self.field_lines(name);
        match (lines.next(), lines.next()) {
            (Some(value), None) => std::str::from_utf8(value).ok(),
            _ => None,
        }
    }

    /// A list-valued field (RFC 9110 §5.3): all its lines joined with ", ".
    pub fn field_list(&self, name: &str) -> Option<Cow<'b, str>> {
        join_lines(self.field_lines(name))
    }

    /// Every line of a field, for list-valued fields that may be split over several lines.
    pub fn field_lines<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b [u8]> + 's {
        self.fields.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }
}

/// Storage for the parsed fields, kept on the caller's stack. Left uninitialised: httparse
/// writes the slots it fills, so 100 empty fields are not zeroed (3 KiB) for every request.
pub type FieldSlots<'b> = [MaybeUninit<httparse::Header<'b>>; MAX_HEADER_FIELDS];

pub fn empty_field_slots<'b>() -> FieldSlots<'b> {
    [const { MaybeUninit::uninit() }; MAX_HEADER_FIELDS]
}

/// Parses and checks a complete head (`buf` ends at the blank line).
pub fn parse_request<'h, 'b>(
    buf: &'b [u8],
    slots: &'h mut FieldSlots<'b>,
) -> Result<RequestHead<'h, 'b>, RequestError> {
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(RequestError::Malformed("incomplete request head")),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyFields),
        Err(httparse::Error::Version) => return Err(version_error(buf)),
        Err(httparse::Error::Token) => return Err(RequestError::Malformed("invalid method or request line")),
        Err(httparse::Error::HeaderName) => return Err(RequestError::Malformed("invalid field name")),
        Err(httparse::Error::HeaderValue) => return Err(RequestError::Malformed("invalid field value")),
        Err(_) => return Err(RequestError::Malformed("invalid request line or line ending")),
    }
    let (Some(method_name), Some(target), Some(minor)) = (request.method, request.path, request.version) else {
        return Err(RequestError::Malformed("incomplete request line"));
    };
    let version = if minor == 0 { Version::Http10 } else { Version::Http11 };
    // Framing and Host are checked first (they do not look at the method, which is filled in
    // once they pass): a request that could be read two ways is a 400 whatever its method.
    let method = Method::from_token(method_name);
    let head =
        RequestHead { method: Method::Get, method_name, target, version, fields: request.headers, has_body: false };
    let has_body = check_framing(&head)?;
    check_host(&head)?;
    Ok(RequestHead { method: method?, has_body, ..head })
}

/// httparse only knows HTTP/1.0 and 1.1. A well-formed `HTTP/x.y` with another major
/// version gets 505 (RFC 9110 §15.6.6); anything else in that place is malformed: 400.
fn version_error(buf: &[u8]) -> RequestError {
    let line = first_line(buf);
    let Some(space) = line.iter().rposition(|b| *b == b' ') else {
        return RequestError::Malformed("no HTTP version in request line");
    };
    match &line[space + 1..] {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() && *major != b'1' =>
        {
            RequestError::VersionNotSupported
        }
        _ => RequestError::Malformed("malformed HTTP version"),
    }
}

/// RFC 9112 §6.1–6.3 and RFC 9110 §8.6: the framing rules that keep a request from being
/// read two ways (request smuggling). Returns whether the request announces a body.
fn check_framing(head: &RequestHead<'_, '_>) -> Result<bool, RequestError> {
    let mut content_length: Option<u64> = None;
    for value in head.field_lines("content-length") {
        // A list of identical values is tolerated (RFC 9110 §8.6); anything else is refused.
        for item in value.split(|b| *b == b',') {
            let item = trim_ows(item);
            if item.is_empty() || !item.iter().all(u8::is_ascii_digit) {
                return Err(RequestError::Malformed("invalid Content-Length"));
            }
            // `1*DIGIT` (RFC 9110 §8.6): leading zeros are valid, so the value is refused by
            // its size (more than u64 holds), never by its number of digits.
            let n = item
                .iter()
                .try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
                .ok_or(RequestError::Malformed("Content-Length too large"))?;
            if content_length.is_some_and(|seen| seen != n) {
                return Err(RequestError::Malformed("conflicting Content-Length values"));
            }
            content_length = Some(n);
        }
    }
    let mut codings = head.field_lines("transfer-encoding").peekable();
    if codings.peek().is_none() {
        return Ok(content_length.unwrap_or(0) > 0);
    }
    if content_length.is_some() {
        return Err(RequestError::Malformed("both Content-Length and Transfer-Encoding"));
    }
    if head.version == Version::Http10 {
        return Err(RequestError::Malformed("Transfer-Encoding in an HTTP/1.0 request"));
    }
    let mut last_is_chunked = false;
    let mut unknown = false;
    for value in codings {
        for item in value.split(|b| *b == b',') {
            let item = trim_ows(item);
            if item.is_empty() {
                continue;
            }
            if last_is_chunked {
                // chunked must be applied last, and only once (RFC 9112 §7).
                return Err(RequestError::Malformed("chunked is not the final transfer coding"));
            }
            let mut parts = item.split(|b| *b == b';');
            let name = parts.next().map(trim_ows).unwrap_or_default();
            let has_parameters = parts.next().is_some();
            if name.eq_ignore_ascii_case(b"chunked") {
                if has_parameters {
                    // RFC 9112 §7.1 defines no parameters for chunked, so `chunked;q=1` is not
                    // the chunked coding and the body length cannot be determined reliably
                    // (§6.3 (4): 400). Not the 501 of an unknown coding: a recipient that ignored
                    // the parameter would frame the body as chunked, another would not.
                    return Err(RequestError::Malformed("parameters on chunked"));
                }
                last_is_chunked = true;
            } else if has_parameters
                || !["gzip", "x-gzip", "deflate", "compress", "x-compress"]
                    .iter()
                    .any(|known| name.eq_ignore_ascii_case(known.as_bytes()))
            {
                // None of the known codings takes parameters either: with one, it is a coding
                // this server does not understand (§6.1: 501).
                unknown = true;
            }
        }
    }
    if unknown {
        return Err(RequestError::UnknownTransferCoding);
    }
    if !last_is_chunked {
        // RFC 9112 §6.3 (4): the body length of such a request cannot be determined.
        return Err(RequestError::Malformed("Transfer-Encoding without final chunked"));
    }
    Ok(true)
}

/// RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host, and any Host has a valid value.
fn check_host(head: &RequestHead<'_, '_>) -> Result<(), RequestError> {
    let mut hosts = head.field_lines("host");
    match (hosts.next(), hosts.next()) {
        (None, _) if head.version == Version::Http11 => Err(RequestError::Malformed("missing Host")),
        (None, _) => Ok(()),
        (Some(_), Some(_)) => Err(RequestError::Malformed("more than one Host")),
        (Some(value), None) if valid_authority(value) => Ok(()),
        (Some(_), None) => Err(RequestError::Malformed("invalid Host")),
    }
}

/// `uri-host [ ":" port ]` (RFC 3986 §3.2.2): a reg-name, an IPv4 address, or an IP-literal in
/// brackets. Userinfo (`@`) is not allowed in Host.
pub fn valid_authority(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|b| *b == b']') else { return false };
        let literal = &value[1..close];
        if literal.is_empty() || !literal.iter().all(|b| b.is_ascii_hexdigit() || b":.".contains(b)) {
            return false;
        }
        match &value[close + 1..] {
            [] => (&value[..0], None),
            [b':', port @ ..] => (&value[..0], Some(port)),
            _ => return false,
        }
    } else {
        match value.iter().rposition(|b| *b == b':') {
            Some(colon) => (&value[..colon], Some(&value[colon + 1..])),
            None => (value, None),
        }
    };
    let host_ok = host.iter().all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(b));
    let port_ok = port.is_none_or(|p| p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
    host_ok && port_ok
}

/// `Cow` keeps the common single-line case allocation-free.
/// Bytes that are not UTF-8 (obs-text, allowed in field values) become U+FFFD, so the field
/// stays present — an `If-Match: "\xff"` matches nothing and fails, it is not ignored.
fn join_lines<'b>(mut lines: impl Iterator<Item = &'b [u8]>) -> Option<Cow<'b, str>> {
    let first = String::from_utf8_lossy(lines.next()?);
    let mut joined: Option<String> = None;
    for line in lines {
        let text = joined.get_or_insert_with(|| first.to_string());
        text.push_str(", ");
        text.push_str(&String::from_utf8_lossy(line));
    }
    Some(joined.map_or(first, Cow::Owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<(Method, Version, bool), RequestError> {
        let mut slots = empty_field_slots();
        parse_request(raw.as_bytes(), &mut slots).map(|h| (h.method, h.version, h.has_body))
    }

    fn malformed(raw: &str) -> bool {
        matches!(parse(raw), Err(RequestError::Malformed(_)))
    }

    #[test]
    fn accepts_plain_get_head_and_http10() {
        assert_eq!(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Ok((Method::Get, Version::Http11, false)));
        assert_eq!(parse("HEAD / HTTP/1.1\r\nHost: a:80\r\n\r\n"), Ok((Method::Head, Version::Http11, false)));
        assert_eq!(parse("GET / HTTP/1.0\r\n\r\n"), Ok((Method::Get, Version::Http10, false)));
        assert_eq!(parse("\r\nGET / HTTP/1.1\nHost: a\n\n"), Ok((Method::Get, Version::Http11, false)));
    }

    #[test]
    fn versions() {
        assert_eq!(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), Err(RequestError::VersionNotSupported));
        assert_eq!(parse("GET / HTTP/3.1\r\nHost: a\r\n\r\n"), Err(RequestError::VersionNotSupported));
        assert!(malformed("GET / HTTP/1\r\nHost: a\r\n\r\n"));
        assert!(malformed("GET / http/1.1\r\nHost: a\r\n\r\n"));
        assert!(malformed("GET / FOO\r\nHost: a\r\n\r\n"));
        assert!(malformed("GET /\r\n\r\n"));
    }

    #[test]
    fn host_rules() {
        assert!(malformed("GET / HTTP/1.1\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"));
        assert!(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").is_ok());
        assert!(parse("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").is_ok());
    }

    #[test]
    fn framing_rules_against_smuggling() {
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"));
        assert!(malformed("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"));
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n"),
            Err(RequestError::UnknownTransferCoding)
        );
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;level=9, chunked\r\n\r\n"),
            Err(RequestError::UnknownTransferCoding)
        );
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"),
            Ok((Method::Get, Version::Http11, true))
        );
        assert_eq!(
            parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok((Method::Get, Version::Http11, true))
        );
    }

    #[test]
    fn content_length_is_refused_by_value_not_by_digits() {
        let length = |value: &str| {
            let raw = format!("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: {value}\r\n\r\n");
            let mut slots = empty_field_slots();
            parse_request(raw.as_bytes(), &mut slots).map(|h| h.has_body)
        };
        assert_eq!(length("000000000000000000001"), Ok(true));
        assert_eq!(length("0000000000000000000000000000000000000000"), Ok(false));
        assert_eq!(length("00000000000000000000000000000018446744073709551615"), Ok(true));
        assert_eq!(length("18446744073709551615"), Ok(true));
        assert_eq!(length("1, 0001"), Ok(true));
        let too_large = Err(RequestError::Malformed("Content-Length too large"));
        assert_eq!(length("18446744073709551616"), too_large);
        assert_eq!(length("000018446744073709551616"), too_large);
        assert_eq!(length("99999999999999999999"), too_large);
        assert_eq!(length("1, 0002"), Err(RequestError::Malformed("conflicting Content-Length values")));
    }

    #[test]
    fn chunked_takes_no_parameters() {
        for value in ["chunked;q=1", "chunked; q=1", "chunked ;foo=bar", "CHUNKED;x", "chunked;", "gzip, chunked;q=0"] {
            let raw = format!("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {value}\r\n\r\n");
            assert_eq!(parse(&raw), Err(RequestError::Malformed("parameters on chunked")), "{value}");
        }
    }

    #[test]
    fn list_fields_keep_non_utf8_lines_and_single_fields_refuse_repeats() {
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\nIf-Match: \"\xff\"\r\nIf-Match: \"x\"\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\nIf-Range: \"x\"\r\n\r\n";
        let mut slots = empty_field_slots();
        let head = parse_request(raw, &mut slots).expect("valid");
        assert_eq!(head.field_list("if-match").as_deref(), Some("\"\u{fffd}\", \"x\""));
        assert_eq!(head.single_field("range"), None);
        assert_eq!(head.single_field("if-range"), Some("\"x\""));
        assert_eq!(head.single_field("if-none-match"), None);
    }

    #[test]
    fn known_methods_are_not_allowed_and_other_tokens_are_unknown() {
        for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT"] {
            let raw = format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(parse(&raw), Err(RequestError::MethodNotAllowed), "{method}");
        }
        for method in ["FOO", "get", "Get", "head", "post", "MKCOL", "PROPFIND", "X-Y~z!", "GET2"] {
            let raw = format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(parse(&raw), Err(RequestError::UnknownMethod), "{method}");
        }
        // OPTIONS is left to the handler (where a CORS preflight would be answered).
        assert_eq!(parse("OPTIONS / HTTP/1.1\r\nHost: a\r\n\r\n"), Ok((Method::Options, Version::Http11, false)));
    }

    #[test]
    fn a_method_that_is_not_a_token_is_malformed() {
        for raw in
            ["G@T / HTTP/1.1\r\nHost: a\r\n\r\n", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", "G\"T / HTTP/1.1\r\n\r\n"]
        {
            assert!(malformed(raw), "{raw:?}");
        }
    }

    #[test]
    fn framing_and_host_are_checked_before_the_method() {
        assert!(malformed("FOO / HTTP/1.1\r\n\r\n"));
        assert!(malformed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"));
    }

    #[test]
    fn too_many_fields() {
        let mut raw = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..MAX_HEADER_FIELDS {
            raw.push_str(&format!("X-{i}: v\r\n"));
        }
        raw.push_str("\r\n");
        assert_eq!(parse(&raw), Err(RequestError::TooManyFields));
    }
}
