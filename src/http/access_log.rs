//! The access log: one line per request at `info`, target `rawserve::access`. The HTTP side
//! fills in what the request was and how it was answered; the socket side adds the peer, the
//! bytes it sent and the time it took, and writes the line when the connection ends.

use std::net::SocketAddr;
use std::time::Duration;

use log::info;

/// What the access line says about one request.
#[derive(Debug, Default)]
pub struct AccessRecord {
    /// `METHOD target VERSION`, log-escaped; `-` when the bytes received were not a request
    /// line; `None` when nothing was received (no line is logged then: a preconnect that
    /// timed out is not a request). Filled only while access lines are logged.
    pub request_line: Option<String>,
    pub status: u16,
    /// Why the request was refused (400, 403, 404, …), in a few words.
    pub refusal: Option<&'static str>,
    /// For the debug narration: the parsed request (method, target, field count)...
    pub parsed: Option<String>,
    /// ...and what it resolved to (the file, or why not).
    pub resolved: Option<String>,
}

/// Writes the access line:
/// `127.0.0.1:51234 "GET /style.css HTTP/1.1" 200 2048 0.3ms (reason)`.
pub fn log_access(record: &AccessRecord, peer: SocketAddr, body_bytes: u64, elapsed: Duration) {
    let Some(request_line) = &record.request_line else { return };
    // Milliseconds with one decimal, from integers (float formatting costs more).
    let tenths = elapsed.as_micros() / 100;
    match record.refusal {
        Some(why) => info!(
            target: "rawserve::access",
            "{peer} \"{request_line}\" {} {body_bytes} {}.{}ms ({why})",
            record.status,
            tenths / 10,
            tenths % 10
        ),
        None => info!(
            target: "rawserve::access",
            "{peer} \"{request_line}\" {} {body_bytes} {}.{}ms",
            record.status,
            tenths / 10,
            tenths % 10
        ),
    }
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
}
