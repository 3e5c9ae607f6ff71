//! One exchange at the HTTP layer, independent of sockets: the bytes of a request head in,
//! the response to send out. The socket layer calls it; so do the fuzz targets and benches.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::files::body::{Piece, Source};
use crate::files::site::Site;
use crate::http::handler::respond;
use crate::http::head::{scan_head, HeadScan};
use crate::http::request::{empty_field_slots, parse_request};
use crate::http::response::{write_response_head, Response, Status};
use crate::http::RequestError;

/// What the HTTP layer answers to a complete request head.
pub struct Answer {
    pub response: Response,
    /// The client announced a body, or was refused before its request was understood:
    /// more input may follow, so the connection closes with a lingering drain.
    pub expect_more_input: bool,
    /// `METHOD target VERSION` for the access log (only when asked for), log-escaped.
    pub request_line: Option<String>,
    /// Why the request was refused, when it was.
    pub error: Option<RequestError>,
}

/// Parses and checks the head, then answers it. A panic while answering becomes a 500 for
/// this request alone.
pub fn answer_head(head_bytes: &[u8], site: &Site, describe: bool) -> Answer {
    let head_bytes = &*higher_minor_as_http11(head_bytes);
    let mut slots = empty_field_slots();
    match parse_request(head_bytes, &mut slots) {
        Ok(head) => {
            let request_line = describe
                .then(|| format!("{} {} {}", head.method_name, escape_for_log(head.target), head.version.as_str()));
            let response = catch_unwind(AssertUnwindSafe(|| respond(&head, site))).unwrap_or_else(|_| {
                log::error!("panic while answering {}; sent 500", escape_for_log(head.target));
                Response::error(Status::InternalServerError)
            });
            Answer { response, expect_more_input: head.has_body, request_line, error: None }
        }
        Err(error) => {
            let request_line = describe.then(|| escape_for_log(&String::from_utf8_lossy(first_line(head_bytes))));
            Answer {
                response: refuse_head(head_bytes, &error),
                expect_more_input: true,
                request_line,
                error: Some(error),
            }
        }
    }
}

/// The error response for a head that was refused (possibly before it was complete). A
/// HEAD request gets the head alone (RFC 9110 §9.3.2), as far as the request line tells.
pub fn refuse_head(received: &[u8], error: &RequestError) -> Response {
    let response = Response::refused(error);
    if first_line(received).starts_with(b"HEAD ") {
        response.without_body()
    } else {
        response
    }
}

/// A whole exchange in memory: scans `bytes` for a head, answers it, and returns the bytes
/// the server would send (file regions are read from the file). For fuzzing and benches.
pub fn respond_to_bytes(bytes: &[u8], site: &Site) -> Vec<u8> {
    let mut scanned = 0;
    let response = match scan_head(bytes, &mut scanned) {
        Ok(HeadScan::Complete(len)) => answer_head(&bytes[..len], site, false).response,
        Ok(HeadScan::Incomplete) => refuse_head(bytes, &RequestError::HeadTimeout),
        Err(error) => refuse_head(bytes, &error),
    };
    response_bytes(&response)
}

/// The bytes of a whole response: its head, then its body (file regions read from the file),
/// or the head alone when it sends no body.
pub fn response_bytes(response: &Response) -> Vec<u8> {
    let mut out = Vec::new();
    write_response_head(&mut out, response);
    if response.send_body {
        for piece in &response.body.pieces {
            match piece {
                Piece::Bytes(bytes) => out.extend_from_slice(bytes),
                Piece::Region { offset, len } => match &response.body.source {
                    Some(Source::File(file)) => {
                        let mut region = vec![0; *len as usize];
                        if std::os::unix::fs::FileExt::read_exact_at(file, &mut region, *offset).is_ok() {
                            out.extend_from_slice(&region);
                        }
                    }
                    Some(memory) => out.extend_from_slice(memory.memory_region(*offset, *len).unwrap_or_default()),
                    None => {}
                },
            }
        }
    }
    out
}

/// RFC 9110 §6.2: a recipient of a higher minor version of HTTP/1 (`HTTP/1.2`) treats the
/// message as if it were HTTP/1.1 — same major version, compatible syntax. httparse knows
/// only 1.0 and 1.1, so such a request line is handed to it as 1.1.
fn higher_minor_as_http11(head: &[u8]) -> Cow<'_, [u8]> {
    let line = first_line(head);
    match line {
        [.., b' ', b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() && *minor > b'1' => {
            let at = line.as_ptr() as usize - head.as_ptr() as usize + line.len() - 1;
            let mut patched = head.to_vec();
            patched[at] = b'1';
            Cow::Owned(patched)
        }
        _ => Cow::Borrowed(head),
    }
}

fn first_line(buf: &[u8]) -> &[u8] {
    let start = buf.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(buf.len());
    let line = &buf[start..];
    &line[..line.iter().position(|b| *b == b'\r' || *b == b'\n').unwrap_or(line.len())]
}

/// Log fields come from the client: quotes, backslashes and control bytes are escaped so a
/// request cannot forge or split log lines (darkhttpd's `logencode`).
pub fn escape_for_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_escaping_cannot_split_lines() {
        assert_eq!(escape_for_log("/a\"b\\c\r\nd\0"), "/a\\\"b\\\\c\\r\\nd\\u{0}");
    }

    #[test]
    fn higher_http1_minor_versions_are_read_as_http11() {
        assert_eq!(
            &*higher_minor_as_http11(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        );
        assert!(matches!(higher_minor_as_http11(b"GET / HTTP/1.1\r\n\r\n"), Cow::Borrowed(_)));
        assert!(matches!(higher_minor_as_http11(b"GET / HTTP/2.0\r\n\r\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn refused_head_request_gets_no_body() {
        let response = refuse_head(b"HEAD / HTTP/2.0\r\n", &RequestError::VersionNotSupported);
        assert_eq!(response.status, Status::HttpVersionNotSupported);
        assert!(!response.send_body);
        assert!(refuse_head(b"GET / HTTP/2.0\r\n", &RequestError::VersionNotSupported).send_body);
    }
}
