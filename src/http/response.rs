//! Building and writing responses: the status line, the fields every response carries,
//! error pages, and the one place where an error of any layer becomes a status code.

use std::fmt::Write as _;

use crate::files::body::{Body, Piece};
use crate::files::FileError;
use crate::http::added_fields::AddedFields;
use crate::http::date::Dates;
use crate::http::RequestError;
use crate::limits::RETRY_AFTER_SECS;

/// The status codes rawserve sends (RFC 9110 §15), with their reason phrases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    NoContent,
    PartialContent,
    MovedPermanently,
    NotModified,
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PreconditionFailed,
    UriTooLong,
    RangeNotSatisfiable,
    RequestHeaderFieldsTooLarge,
    InternalServerError,
    NotImplemented,
    ServiceUnavailable,
    HttpVersionNotSupported,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::NoContent => 204,
            Status::PartialContent => 206,
            Status::MovedPermanently => 301,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::PreconditionFailed => 412,
            Status::UriTooLong => 414,
            Status::RangeNotSatisfiable => 416,
            Status::RequestHeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::HttpVersionNotSupported => 505,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::NoContent => "No Content",
            Status::PartialContent => "Partial Content",
            Status::MovedPermanently => "Moved Permanently",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestTimeout => "Request Timeout",
            Status::PreconditionFailed => "Precondition Failed",
            Status::UriTooLong => "URI Too Long",
            Status::RangeNotSatisfiable => "Range Not Satisfiable",
            Status::RequestHeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::InternalServerError => "Internal Server Error",
            Status::NotImplemented => "Not Implemented",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::HttpVersionNotSupported => "HTTP Version Not Supported",
        }
    }
}

impl From<&RequestError> for Status {
    fn from(error: &RequestError) -> Status {
        match error {
            RequestError::Malformed(_) => Status::BadRequest,
            RequestError::HeadTooLarge | RequestError::TooManyFields => Status::RequestHeaderFieldsTooLarge,
            RequestError::RequestLineTooLong => Status::UriTooLong,
            RequestError::VersionNotSupported => Status::HttpVersionNotSupported,
            RequestError::MethodNotAllowed => Status::MethodNotAllowed,
            RequestError::UnknownMethod | RequestError::UnknownTransferCoding => Status::NotImplemented,
            RequestError::HeadTimeout | RequestError::Evicted => Status::RequestTimeout,
        }
    }
}

impl From<&FileError> for Status {
    fn from(error: &FileError) -> Status {
        match error {
            FileError::Missing | FileError::NotFound(_) => Status::NotFound,
            FileError::Forbidden(_) => Status::Forbidden,
            FileError::OutOfFileDescriptors => Status::ServiceUnavailable,
            FileError::Io(_) => Status::InternalServerError,
        }
    }
}

/// A response ready to be written: status, the fields particular to it, and the body. The
/// fields are private so that `Content-Length` is always the body's length (or, for HEAD,
/// the length the body would have had), or absent from a 304 or 204: nothing can set one by hand.
#[derive(Debug)]
pub struct Response {
    status: Status,
    /// Field lines (`Name: value\r\n`) beyond the ones every response carries.
    fields: String,
    body: Body,
    /// The `Content-Length`: the body's length, or for HEAD the length a GET would have had
    /// (RFC 9110 §8.6); `None` for a 304 and a 204, which send none (below).
    content_length: Option<u64>,
    /// For a refused request, why: the access log says it (never the client).
    refusal: Option<&'static str>,
}

impl Response {
    pub fn new(status: Status, body: Body) -> Response {
        let content_length = Some(body.len());
        Response { status, fields: String::with_capacity(256), body, content_length, refusal: None }
    }

    /// A 304 (RFC 9110 §15.4.5): no content, and no `Content-Length`. The caller adds the
    /// fields a 200 would have for caching (ETag, Last-Modified, Cache-Control, Vary) and no
    /// other representation metadata (Content-Type, Content-Encoding), as nginx's
    /// not_modified filter does. §8.6 would allow a `Content-Length` equal to the 200's, but
    /// it describes content that is not there, and a cache gains nothing from it.
    pub fn not_modified() -> Response {
        Response { content_length: None, ..Response::new(Status::NotModified, Body::empty()) }
    }

    /// A 204 (RFC 9110 §15.3.5): no content, and RFC 9110 §8.6 forbids a `Content-Length`
    /// on it. The answer to a CORS preflight (`http::cors`).
    pub fn no_content() -> Response {
        Response { content_length: None, ..Response::new(Status::NoContent, Body::empty()) }
    }

    /// A `200` whose body has no end but the connection's (a live-reload event stream, RFC
    /// 9112 §6.3 item 8): no `Content-Length`; `body` is only what is sent with the head.
    pub fn event_stream(body: Body) -> Response {
        Response { content_length: None, ..Response::new(Status::Ok, body) }
    }

    /// Rewrites a page made in memory (an error page, a listing) with `edit`, keeping the
    /// `Content-Length` its length: the live-reload script goes in this way.
    pub fn edit_page(&mut self, edit: impl FnOnce(&[u8]) -> Vec<u8>) {
        if let (Some(_), [Piece::Bytes(page)]) = (self.content_length, self.body.pieces.as_mut_slice()) {
            *page = edit(page);
            self.content_length = Some(self.body.len());
        }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// The `Content-Length` this response announces (none for a 304).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The body that will be sent (empty for HEAD and 304).
    pub fn body(&self) -> &Body {
        &self.body
    }

    pub fn into_body(self) -> Body {
        self.body
    }

    pub fn refusal(&self) -> Option<&'static str> {
        self.refusal
    }

    /// Adds a field. Values are made by this server, never copied from the request, and a
    /// CR or LF in one would split the head (response splitting), so they are dropped.
    pub fn field(&mut self, name: &str, value: &str) -> &mut Response {
        debug_assert!(!name.eq_ignore_ascii_case("content-length"), "Content-Length is derived from the body");
        self.fields.push_str(name);
        self.fields.push_str(": ");
        if has_line_break(value.as_bytes()) {
            self.fields.extend(value.chars().filter(|c| *c != '\r' && *c != '\n'));
        } else {
            self.fields.push_str(value);
        }
        self.fields.push_str("\r\n");
        self
    }

    /// Adds a field whose value is formatted, without a temporary string.
    pub fn field_fmt(&mut self, name: &str, value: std::fmt::Arguments<'_>) -> &mut Response {
        debug_assert!(!name.eq_ignore_ascii_case("content-length"), "Content-Length is derived from the body");
        // Writing into a String cannot fail.
        let _ = write!(self.fields, "{name}: {value}\r\n");
        self
    }

    /// The short HTML page every error status gets, naming the status (and nothing from the
    /// request, so nothing can be injected into it).
    pub fn error(status: Status) -> Response {
        let page = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\
             <body><h1>{code} {reason}</h1><hr><p>rawserve</p></body></html>\n",
            code = status.code(),
            reason = status.reason()
        );
        let mut response = Response::new(status, Body::bytes(page.into_bytes()));
        response.field("Content-Type", "text/html; charset=utf-8");
        match status {
            Status::MethodNotAllowed => {
                response.field("Allow", "GET, HEAD");
            }
            Status::ServiceUnavailable => {
                response.field_fmt("Retry-After", format_args!("{RETRY_AFTER_SECS}"));
            }
            _ => {}
        }
        response
    }

    /// The error page for a request refused at the HTTP layer, remembering why.
    pub fn refused(error: &RequestError) -> Response {
        Response::error(Status::from(error)).because(error.reason())
    }

    /// The error page for a path the file layer cannot serve, remembering why.
    pub fn file_error(error: &FileError) -> Response {
        let status = Status::from(error);
        match error {
            FileError::Missing => Response::error(status).because("no such file"),
            FileError::NotFound(why) | FileError::Forbidden(why) => Response::error(status).because(why),
            FileError::OutOfFileDescriptors => Response::error(status).because("out of file descriptors"),
            FileError::Io(e) => {
                log::warn!("I/O error while answering: {e}");
                Response::error(status).because("I/O error")
            }
        }
    }

    /// Records why the request was refused, for the access log.
    pub fn because(mut self, why: &'static str) -> Response {
        self.refusal = Some(why);
        self
    }

    /// Keeps the head (with the `Content-Length` of the full response) and drops the body.
    pub fn without_body(mut self) -> Response {
        self.body = Body::empty();
        self
    }
}

pub const SERVER: &str = concat!("rawserve/", env!("CARGO_PKG_VERSION"));

/// Writes the status line and every field into `out`, ending with the blank line: the one
/// place a response head is encoded. Every response says `Connection: close` (RFC 9112
/// §9.6): the server closes after it. `added` (`--header`, `--cors`,
/// `--cross-origin-isolation`) goes on every response, once: its names were checked at
/// start-up against every field this server sets, so it can neither repeat one nor break a
/// 304's, 206's or 204's own rules.
pub fn write_response_head(out: &mut Vec<u8>, response: &Response, added: &AddedFields, dates: &mut Dates) {
    let status = response.status;
    out.extend_from_slice(b"HTTP/1.1 ");
    append_decimal(out, u64::from(status.code()));
    out.push(b' ');
    out.extend_from_slice(status.reason().as_bytes());
    out.extend_from_slice(b"\r\nDate: ");
    dates.append_now(out);
    out.extend_from_slice(b"\r\nServer: ");
    out.extend_from_slice(SERVER.as_bytes());
    if let Some(length) = response.content_length {
        out.extend_from_slice(b"\r\nContent-Length: ");
        append_decimal(out, length);
    }
    out.extend_from_slice(b"\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n");
    out.extend_from_slice(added.as_bytes());
    out.extend_from_slice(response.fields.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Whether `bytes` holds a CR or an LF, eight bytes at a time: a response's values are short
/// (5–40 bytes), where a byte loop cost 563 instructions a response, `memchr2` 371 and this
/// 153 (callgrind). A byte of `word ^ CR` is zero where `word` has a CR, and `x - 0x01…01 & !x &
/// 0x80…80` is non-zero exactly when some byte of `x` is zero.
fn has_line_break(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_ne_bytes(word.try_into().expect("chunks_exact(8) gives 8 bytes"));
        if has_zero_byte(word ^ (ONES * u64::from(b'\r'))) || has_zero_byte(word ^ (ONES * u64::from(b'\n'))) {
            return true;
        }
    }
    words.remainder().iter().any(|b| *b == b'\r' || *b == b'\n')
}

/// Appends `n` in decimal without going through a `String`.
pub fn append_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_text(response: &Response) -> String {
        let mut out = Vec::new();
        write_response_head(&mut out, response, &AddedFields::default(), &mut Dates::default());
        String::from_utf8(out).expect("ascii head")
    }

    #[test]
    fn error_page_head_has_every_mandatory_field() {
        let response = Response::error(Status::NotFound);
        let head = head_text(&response);
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\nDate: "), "{head}");
        assert!(head.contains("\r\nServer: rawserve/0.1.0\r\n"));
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", response.body().len())));
        assert!(head.contains("\r\nConnection: close\r\n"));
        assert!(head.contains("\r\nX-Content-Type-Options: nosniff\r\n"));
        assert!(head.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        assert!(head_text(&Response::error(Status::MethodNotAllowed)).contains("\r\nAllow: GET, HEAD\r\n"));
        assert!(head_text(&Response::error(Status::ServiceUnavailable)).contains("\r\nRetry-After: 1\r\n"));
    }

    #[test]
    fn field_values_never_split_the_head() {
        let mut response = Response::new(Status::Ok, Body::empty());
        response.field("Location", "/a\r\nSet-Cookie: x=1");
        let head = head_text(&response);
        assert!(head.contains("\r\nLocation: /aSet-Cookie: x=1\r\n"), "{head}");
    }

    #[test]
    fn line_breaks_are_found_anywhere() {
        for len in 0..40 {
            let clean = vec![b'a'; len];
            assert!(!has_line_break(&clean));
            for at in 0..len {
                for (byte, found) in [(b'\r', true), (b'\n', true), (b'\t', false), (0x8d, false), (0x0c, false)] {
                    let mut value = clean.clone();
                    value[at] = byte;
                    assert_eq!(has_line_break(&value), found, "{value:?}");
                }
            }
        }
    }

    #[test]
    fn decimals_match_display() {
        for n in [0, 7, 10, 99, 100, 12345, u64::MAX] {
            let mut out = Vec::new();
            append_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn head_keeps_content_length_without_body() {
        let response = Response::error(Status::NotFound).without_body();
        let length = response.content_length().expect("a Content-Length");
        assert!(length > 0);
        assert_eq!(response.body().len(), 0);
        assert!(head_text(&response).contains(&format!("Content-Length: {length}\r\n")));
    }

    #[test]
    fn not_modified_has_no_content_length_and_no_body() {
        let mut response = Response::not_modified();
        response.field("ETag", "\"x\"");
        assert_eq!(response.content_length(), None);
        assert!(response.body().is_empty());
        let head = head_text(&response.without_body());
        assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\nDate: "), "{head}");
        let names: Vec<&str> = head.split("\r\n").skip(1).filter_map(|l| l.split_once(": ")).map(|(n, _)| n).collect();
        assert_eq!(names, ["Date", "Server", "Connection", "X-Content-Type-Options", "ETag"], "{head}");
    }
}
