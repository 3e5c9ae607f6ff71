//! Reading the request head: bytes arrive in pieces, the head ends at the first empty line
//! (RFC 9112 §2.1), and it must stay within the size limits while it arrives.

use crate::http::RequestError;
use crate::limits::{MAX_HEAD_BYTES, MAX_REQUEST_LINE_BYTES};

/// What the bytes received so far amount to.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadScan {
    /// The head ends at this offset; anything after it is body or a pipelined request.
    Complete(usize),
    /// More bytes are needed.
    Incomplete,
}

/// Looks for the end of the head in `buf`, resuming from `scanned` (bytes already known
/// not to end the head), so a head sent one byte at a time costs linear, not quadratic, work.
/// RFC 9112 §2.2 lets a recipient accept a bare LF as a line end, so `\n\n` ends it too.
pub fn scan_head(buf: &[u8], scanned: &mut usize) -> Result<HeadScan, RequestError> {
    // Leading empty lines before the request line are to be ignored (RFC 9112 §2.2).
    let start = buf.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    let from = (*scanned).max(start);
    let mut end = None;
    let mut i = from;
    while let Some(offset) = memchr::memchr(b'\n', &buf[i..]) {
        let lf = i + offset;
        if lf > start {
            let prev = buf[lf - 1];
            if prev == b'\n' || (prev == b'\r' && lf >= start + 2 && buf[lf - 2] == b'\n') {
                end = Some(lf + 1);
                break;
            }
        }
        i = lf + 1;
    }
    if end.is_none() {
        // Keep the last two bytes unscanned: they may begin the terminating CRLF CRLF.
        *scanned = buf.len().saturating_sub(2).max(from);
    }
    if buf.len() - start > MAX_REQUEST_LINE_BYTES {
        let line = &buf[start..];
        let line_len = line.iter().position(|b| *b == b'\n').unwrap_or(line.len());
        if line_len > MAX_REQUEST_LINE_BYTES {
            return Err(RequestError::RequestLineTooLong);
        }
    }
    match end {
        Some(end) if end <= MAX_HEAD_BYTES => Ok(HeadScan::Complete(end)),
        Some(_) => Err(RequestError::HeadTooLarge),
        None if buf.len() >= MAX_HEAD_BYTES => Err(RequestError::HeadTooLarge),
        None => {
            reject_hopeless_request_line(&buf[start..])?;
            Ok(HeadScan::Incomplete)
        }
    }
}

/// Garbage, a TLS ClientHello or binary bytes can never become a request: say 400 as soon
/// as the request line shows it, rather than wait out the head deadline. Only while the
/// request line is incomplete (bounded by `MAX_REQUEST_LINE_BYTES`), and a version error is
/// not final yet: `HTTP/2` may still become `HTTP/2.0` (505).
fn reject_hopeless_request_line(received: &[u8]) -> Result<(), RequestError> {
    if received.contains(&b'\n') {
        return Ok(());
    }
    let mut slots = [httparse::EMPTY_HEADER; 1];
    match httparse::Request::new(&mut slots).parse(received) {
        Err(httparse::Error::Token) => Err(RequestError::Malformed("invalid method or request line")),
        Err(httparse::Error::Version) if !could_become_a_version(received) => {
            Err(RequestError::Malformed("malformed HTTP version"))
        }
        Err(httparse::Error::Version | httparse::Error::TooManyHeaders) | Ok(_) => Ok(()),
        Err(_) => Err(RequestError::Malformed("invalid request line")),
    }
}

/// Whether the bytes after the last space are a prefix of `HTTP/d.d`.
fn could_become_a_version(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let token = &line[line.iter().rposition(|b| *b == b' ').map_or(0, |space| space + 1)..];
    token.len() <= 8
        && token.iter().zip(b"HTTP/0.0").all(|(got, want)| match want {
            b'0' => got.is_ascii_digit(),
            want => got == want,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(buf: &[u8]) -> Result<HeadScan, RequestError> {
        let mut scanned = 0;
        scan_head(buf, &mut scanned)
    }

    #[test]
    fn finds_crlf_crlf_and_bare_lf_ends() {
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY"), Ok(HeadScan::Complete(27)));
        assert_eq!(scan_all(b"GET / HTTP/1.1\nHost: a\n\n"), Ok(HeadScan::Complete(24)));
        assert_eq!(scan_all(b"GET / HTTP/1.1\r\nHost: a\r\n"), Ok(HeadScan::Incomplete));
    }

    #[test]
    fn leading_empty_lines_do_not_end_the_head() {
        assert_eq!(scan_all(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n"), Ok(HeadScan::Complete(22)));
        assert_eq!(scan_all(b"\r\n\r\n"), Ok(HeadScan::Incomplete));
    }

    #[test]
    fn byte_at_a_time_finds_the_same_end() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
        let mut scanned = 0;
        for n in 1..head.len() {
            assert_eq!(scan_head(&head[..n], &mut scanned), Ok(HeadScan::Incomplete), "at {n}");
        }
        assert_eq!(scan_head(head, &mut scanned), Ok(HeadScan::Complete(head.len())));
    }

    #[test]
    fn hopeless_request_lines_are_refused_before_they_end() {
        let tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
        assert!(matches!(scan_all(tls), Err(RequestError::Malformed(_))));
        assert!(matches!(scan_all(b"\x00\x01\x02\xff"), Err(RequestError::Malformed(_))));
        assert!(matches!(scan_all(b"GET /a b"), Err(RequestError::Malformed(_))));
        assert_eq!(scan_all(b"GET / HTTP/2"), Ok(HeadScan::Incomplete));
        assert_eq!(scan_all(b"GET / HTTP/2.0\r"), Ok(HeadScan::Incomplete));
        assert_eq!(scan_all(b"GET / HTT"), Ok(HeadScan::Incomplete));
        assert_eq!(scan_all(b"GE"), Ok(HeadScan::Incomplete));
    }

    #[test]
    fn limits_give_414_and_431_errors() {
        let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_LINE_BYTES));
        assert_eq!(scan_all(long_line.as_bytes()), Err(RequestError::RequestLineTooLong));
        let partial_line = "a".repeat(MAX_REQUEST_LINE_BYTES + 1);
        assert_eq!(scan_all(partial_line.as_bytes()), Err(RequestError::RequestLineTooLong));
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "b".repeat(MAX_HEAD_BYTES));
        assert_eq!(scan_all(big.as_bytes()), Err(RequestError::HeadTooLarge));
    }
}
