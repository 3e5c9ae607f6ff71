//! The access log: one line per request, in the format `--log-format` names. The HTTP side
//! fills in what the request was and how it was answered (`AccessRecord`); the socket side
//! adds the peer, the bytes it sent and the time it took, and calls `AccessLog::write` when
//! the connection ends. The line is formatted straight into a `LineSink` (stderr's or the
//! `--access-log` file's, see `log_output`), which never makes the caller wait.
//!
//! Formats (one example each in the README, Access logs):
//! - `rawserve` (the default): the server log's prefix, the peer, the request line, status,
//!   body bytes, the duration and, for a refusal, why. For a person reading the terminal.
//! - `combined`: exactly the Combined Log Format,
//!   `%h %l %u [%d/%b/%Y:%H:%M:%S %z] "%r" %>s %b "Referer" "User-Agent"`, for GoAccess,
//!   AWStats, fail2ban and every other tool that reads nginx's and Apache's default log.
//! - `common`: the Common Log Format (combined without the last two fields).
//! - `json`: one object per line, with the duration and the refusal reason as fields.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::date::{push_padded, Civil};
use crate::limits::{LOGGED_FIELD_MAX, LOGGED_REQUEST_LINE_MAX};

/// What the access line says about one request.
#[derive(Debug, Default)]
pub struct AccessRecord {
    /// The request line as received (`METHOD target VERSION` once parsed); `-` when the bytes
    /// received were not a request line; `None` when nothing was received (no line is logged
    /// then: a preconnect that timed out is not a request). Filled only while access lines
    /// are logged; escaped by each format as it writes.
    pub request_line: Option<Vec<u8>>,
    pub status: u16,
    /// Why the request was refused (400, 403, 404, …), in a few words.
    pub refusal: Option<&'static str>,
    /// `Referer` and `User-Agent`, for the formats that log them.
    pub referer: Option<Vec<u8>>,
    pub user_agent: Option<Vec<u8>>,
    /// `X-Forwarded-For` and `Forwarded` (all their lines), kept only when some peers are
    /// trusted proxies: whether this peer is one is decided when the line is written.
    pub x_forwarded_for: Option<String>,
    pub forwarded: Option<String>,
    /// For the debug narration: the parsed request (method, target, field count)...
    pub parsed: Option<String>,
    /// ...and what it resolved to (the file, or why not).
    pub resolved: Option<String>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// The default: what a person at the terminal wants — the duration and why a request
    /// was refused, which the Combined Log Format has no field for — in the same shape as
    /// the server's other log lines beside it on stderr. Tools get `combined` or `json`.
    #[default]
    Rawserve,
    Combined,
    Common,
    Json,
}

impl LogFormat {
    pub const NAMES: &'static str = "combined, common, rawserve or json";

    pub fn parse(text: &str) -> Option<LogFormat> {
        match text {
            "rawserve" => Some(LogFormat::Rawserve),
            "combined" => Some(LogFormat::Combined),
            "common" => Some(LogFormat::Common),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Rawserve => "rawserve",
            LogFormat::Combined => "combined",
            LogFormat::Common => "common",
            LogFormat::Json => "json",
        }
    }

    /// Logs `Referer` and `User-Agent`.
    pub fn logs_agent(self) -> bool {
        matches!(self, LogFormat::Combined | LogFormat::Json)
    }
}

/// `--trusted-proxy`: an address or a CIDR block, IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `127.0.0.1`, `fd00::/8`, `[::1]`, `::1/128`.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let bare = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(address);
        let network = bare.parse::<IpAddr>().ok()?.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse::<u8>().ok().filter(|p| *p <= max)?
            }
            Some(_) => return None,
        };
        Some(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Where formatted access lines go. `line` appends one whole line, `\n` included, to the
/// sink's buffer; a sink that cannot take more drops the line and counts it.
pub trait LineSink: Send + Sync {
    fn push_line(&self, line: &mut dyn FnMut(&mut Vec<u8>));
}

/// The access log: its format, the trusted proxies, and its sink (`None`: no access log).
pub struct AccessLog {
    format: LogFormat,
    trusted: Vec<Cidr>,
    sink: Option<&'static dyn LineSink>,
}

impl Default for AccessLog {
    /// No access log (benches, fuzzing).
    fn default() -> AccessLog {
        AccessLog { format: LogFormat::default(), trusted: Vec::new(), sink: None }
    }
}

impl AccessLog {
    pub fn new(format: LogFormat, trusted: Vec<Cidr>, sink: Option<&'static dyn LineSink>) -> AccessLog {
        AccessLog { format, trusted, sink }
    }

    /// Access lines are written: the HTTP side records what they need.
    pub fn enabled(&self) -> bool {
        self.sink.is_some()
    }

    pub fn logs_agent(&self) -> bool {
        self.enabled() && self.format.logs_agent()
    }

    /// Some peers are trusted proxies: keep the forwarding fields.
    pub fn reads_forwarding(&self) -> bool {
        self.enabled() && !self.trusted.is_empty()
    }

    /// Writes the access line for a request that was received (nothing for a connection that
    /// sent nothing).
    pub fn write(&self, record: &AccessRecord, peer: SocketAddr, body_bytes: u64, elapsed: Duration) {
        let (Some(sink), Some(request_line)) = (self.sink, &record.request_line) else { return };
        let peer_ip = peer.ip().to_canonical();
        let client = if self.trusted.iter().any(|c| c.contains(peer_ip)) {
            Some(forwarded_client(record, peer_ip, &self.trusted)).filter(|client| *client != peer_ip)
        } else {
            None
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let line = Line { record, request_line, peer, peer_ip, client, body_bytes, elapsed, now };
        sink.push_line(&mut |out| match self.format {
            LogFormat::Rawserve => line.rawserve(out),
            LogFormat::Combined => line.common(out, true),
            LogFormat::Common => line.common(out, false),
            LogFormat::Json => line.json(out),
        });
    }
}

/// The client a chain of trusted proxies reports: the rightmost hop that is not itself a
/// trusted proxy. Each proxy appends the address it received the request from, so walking
/// from the right, every hop added by a trusted proxy is believed; the first address that
/// is not a trusted proxy is the client, and anything to its left is whatever that client
/// chose to send. A hop that is not an address (`unknown`, an obfuscated `_name`, garbage)
/// stops the walk at the last address known. `X-Forwarded-For` wins over `Forwarded` when
/// both are present: it is the field nginx, HAProxy (`option forwardfor`), and the cloud load
/// balancers append, while most of them pass a client's `Forwarded` through untouched — so
/// preferring `Forwarded` would let any client choose its logged address behind them.
fn forwarded_client(record: &AccessRecord, peer: IpAddr, trusted: &[Cidr]) -> IpAddr {
    let hops: Vec<Option<IpAddr>> = match (&record.x_forwarded_for, &record.forwarded) {
        (Some(xff), _) => split_outside_quotes(xff, b',').into_iter().map(parse_node).collect(),
        (None, Some(forwarded)) => split_outside_quotes(forwarded, b',').into_iter().map(forwarded_for).collect(),
        (None, None) => return peer,
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        if !trusted.iter().any(|c| c.contains(client)) {
            break;
        }
        match hop {
            Some(ip) => client = ip.to_canonical(),
            None => break,
        }
    }
    client
}

/// The `for=` node of one `Forwarded` element (RFC 7239 §4, §6).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    split_outside_quotes(element, b';').into_iter().find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            // quoted-string (RFC 9110 §5.6.4): a backslash quotes the next character.
            Some(quoted) => {
                let mut unquoted = String::with_capacity(quoted.len());
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    unquoted.push(if c == '\\' { chars.next()? } else { c });
                }
                parse_node(&unquoted)
            }
            None => parse_node(value),
        }
    })
}

/// A node: `192.0.2.43`, `192.0.2.43:47011`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`. `unknown` and obfuscated names are not addresses.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim_matches([' ', '\t']);
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse::<IpAddr>().ok())
}

/// Splits on `separator` where it is not inside a quoted-string.
fn split_outside_quotes(text: &str, separator: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in text.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if b == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One line's fields, formatted by each format.
struct Line<'a> {
    record: &'a AccessRecord,
    request_line: &'a [u8],
    peer: SocketAddr,
    peer_ip: IpAddr,
    /// The client a trusted proxy reported, when it is not the peer.
    client: Option<IpAddr>,
    body_bytes: u64,
    elapsed: Duration,
    now: Duration,
}

impl Line<'_> {
    /// `2026-11-26T08:34:39.023` (UTC, no zone letter): the time of both the rawserve and the
    /// json line.
    fn push_rfc3339_millis(&self, out: &mut Vec<u8>) {
        let civil = Civil::from_unix(self.now.as_secs());
        for (value, width, separator) in [
            (civil.year, 4, b'-'),
            (civil.month, 2, b'-'),
            (civil.day, 2, b'T'),
            (civil.hour, 2, b':'),
            (civil.minute, 2, b':'),
            (civil.second, 2, b'.'),
        ] {
            push_padded(out, value, width);
            out.push(separator);
        }
        push_padded(out, u64::from(self.now.subsec_millis()), 3);
    }

    /// `[2026-11-26T08:34:39.023Z INFO  rawserve::access] 127.0.0.1:51234 "GET /style.css
    /// HTTP/1.1" 200 2048 0.3ms (reason)`; behind a trusted proxy the client comes first:
    /// `203.0.113.7 via 127.0.0.1:51234 "GET …`.
    fn rawserve(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        self.push_rfc3339_millis(out);
        out.extend_from_slice(b"Z INFO  rawserve::access] ");
        // Writing into a Vec cannot fail.
        if let Some(client) = self.client {
            let _ = write!(Utf8(out), "{client} via ");
        }
        let _ = write!(Utf8(out), "{} \"", self.peer);
        out.extend_from_slice(escape_for_log(&String::from_utf8_lossy(self.request_line)).as_bytes());
        // Milliseconds with one decimal, from integers (float formatting costs more).
        let tenths = self.elapsed.as_micros() / 100;
        let _ = write!(Utf8(out), "\" {} {} {}.{}ms", self.record.status, self.body_bytes, tenths / 10, tenths % 10);
        if let Some(why) = self.record.refusal {
            let _ = write!(Utf8(out), " ({why})");
        }
        out.push(b'\n');
    }

    /// `::1 - - [02/Dec/2026:16:51:14 +0000] "GET / HTTP/1.1" 200 2048 "-" "curl/8.11"`:
    /// `%h` the client address (no port), `%l` and `%u` unknown, the time in UTC, `%b` the
    /// body bytes or `-` for none, as CLF defines it.
    fn common(&self, out: &mut Vec<u8>, combined: bool) {
        let civil = Civil::from_unix(self.now.as_secs());
        let _ = write!(Utf8(out), "{} - - [", self.client.unwrap_or(self.peer_ip));
        push_padded(out, civil.day, 2);
        out.push(b'/');
        out.extend_from_slice(civil.month_abbreviation().as_bytes());
        out.push(b'/');
        push_padded(out, civil.year, 4);
        for value in [civil.hour, civil.minute, civil.second] {
            out.push(b':');
            push_padded(out, value, 2);
        }
        out.extend_from_slice(b" +0000] \"");
        push_clf_escaped(out, self.request_line, LOGGED_REQUEST_LINE_MAX);
        let _ = write!(Utf8(out), "\" {} ", self.record.status);
        match self.body_bytes {
            0 => out.push(b'-'),
            n => drop(write!(Utf8(out), "{n}")),
        }
        if combined {
            for field in [&self.record.referer, &self.record.user_agent] {
                out.extend_from_slice(b" \"");
                match field {
                    Some(value) if !value.is_empty() => push_clf_escaped(out, value, LOGGED_FIELD_MAX),
                    _ => out.push(b'-'),
                }
                out.push(b'"');
            }
        }
        out.push(b'\n');
    }

    /// `{"time":"2026-12-02T16:51:14.123Z","client":"::1","peer":"[::1]:51234",
    /// "request":"GET / HTTP/1.1","status":200,"bytes":2048,"duration_ms":0.312,
    /// "referer":null,"user_agent":"curl/8.11","refusal":null}`
    fn json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"time\":\"");
        self.push_rfc3339_millis(out);
        let micros = self.elapsed.as_micros();
        let _ = write!(
            Utf8(out),
            "Z\",\"client\":\"{}\",\"peer\":\"{}\",\"request\":",
            self.client.unwrap_or(self.peer_ip),
            self.peer
        );
        push_json_string(out, Some(self.request_line));
        let _ = write!(
            Utf8(out),
            ",\"status\":{},\"bytes\":{},\"duration_ms\":{}.{:03},\"referer\":",
            self.record.status,
            self.body_bytes,
            micros / 1000,
            micros % 1000
        );
        push_json_string(out, self.record.referer.as_deref());
        out.extend_from_slice(b",\"user_agent\":");
        push_json_string(out, self.record.user_agent.as_deref());
        out.extend_from_slice(b",\"refusal\":");
        push_json_string(out, self.record.refusal.map(str::as_bytes));
        out.extend_from_slice(b"}\n");
    }
}

/// `write!` into a byte buffer (only ever given UTF-8).
struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A request field inside a CLF quoted field, as nginx escapes it: `"`, `\`, control bytes
/// and every byte outside ASCII become `\xHH`, so a field can neither end its quotes early,
/// nor split the line, nor hand a terminal an escape sequence, and every line is ASCII. Past
/// `limit` escaped bytes the field is cut and ends `...` (see `LOGGED_FIELD_MAX`).
fn push_clf_escaped(out: &mut Vec<u8>, field: &[u8], limit: usize) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let escaped = |b: u8| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b);
    let full: usize = field.iter().map(|&b| if escaped(b) { 4 } else { 1 }).sum();
    let room = if full <= limit { full } else { limit - 3 };
    let start = out.len();
    for &b in field {
        let width = if escaped(b) { 4 } else { 1 };
        if out.len() - start + width > room {
            break;
        }
        if escaped(b) {
            out.extend_from_slice(&[b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
    if full > limit {
        out.extend_from_slice(b"...");
    }
}

/// A JSON string (RFC 8259 §7), or `null`. Bytes that are not UTF-8 become U+FFFD, since a
/// JSON text is Unicode.
fn push_json_string(out: &mut Vec<u8>, value: Option<&[u8]>) {
    let Some(value) = value else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'"');
    for c in String::from_utf8_lossy(value).chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => drop(write!(Utf8(out), "\\u{:04x}", c as u32)),
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Log fields come from the client: quotes, backslashes and control bytes are escaped so a
/// request cannot forge or split log lines (darkhttpd's `logencode`). The rawserve format
/// and the debug narration.
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

    /// 2026-11-26T08:24:39.005Z, 312 µs, from [::1]:5000.
    fn line_for(record: &AccessRecord, format: LogFormat, client: Option<IpAddr>, body_bytes: u64) -> String {
        let peer: SocketAddr = "[::1]:5000".parse().unwrap();
        let line = Line {
            record,
            request_line: record.request_line.as_deref().unwrap(),
            peer,
            peer_ip: peer.ip(),
            client,
            body_bytes,
            elapsed: Duration::from_micros(312),
            now: Duration::from_millis(1_795_681_479_005),
        };
        let mut out = Vec::new();
        match format {
            LogFormat::Rawserve => line.rawserve(&mut out),
            LogFormat::Combined => line.common(&mut out, true),
            LogFormat::Common => line.common(&mut out, false),
            LogFormat::Json => line.json(&mut out),
        }
        String::from_utf8(out).expect("every format writes UTF-8")
    }

    fn hostile() -> AccessRecord {
        AccessRecord {
            request_line: Some(b"GET /a\"b\\c\x1b[31m\xff\xfe HTTP/1.1".to_vec()),
            status: 404,
            refusal: Some("no such file"),
            referer: Some(b"http://x/\"\r\nforged".to_vec()),
            user_agent: Some("caf\u{e9}/1".as_bytes().to_vec()),
            ..AccessRecord::default()
        }
    }

    #[test]
    fn combined_and_common_are_exactly_clf_with_fields_escaped() {
        let record = hostile();
        assert_eq!(
            line_for(&record, LogFormat::Combined, None, 151),
            "::1 - - [26/Nov/2026:08:24:39 +0000] \"GET /a\\x22b\\x5Cc\\x1B[31m\\xFF\\xFE HTTP/1.1\" 404 151 \
             \"http://x/\\x22\\x0D\\x0Aforged\" \"caf\\xC3\\xA9/1\"\n"
        );
        assert_eq!(
            line_for(&record, LogFormat::Common, None, 0),
            "::1 - - [26/Nov/2026:08:24:39 +0000] \"GET /a\\x22b\\x5Cc\\x1B[31m\\xFF\\xFE HTTP/1.1\" 404 -\n"
        );
        let plain = AccessRecord { request_line: Some(b"-".to_vec()), status: 408, ..AccessRecord::default() };
        let client = Some("203.0.113.7".parse().unwrap());
        assert_eq!(
            line_for(&plain, LogFormat::Combined, client, 0),
            "203.0.113.7 - - [26/Nov/2026:08:24:39 +0000] \"-\" 408 - \"-\" \"-\"\n"
        );
    }

    #[test]
    fn clf_fields_are_cut_to_their_limit() {
        let mut out = Vec::new();
        push_clf_escaped(&mut out, &[b'"'; 10], 20);
        assert_eq!(out, b"\\x22\\x22\\x22\\x22...");
        out.clear();
        push_clf_escaped(&mut out, b"abcdef", 6);
        assert_eq!(out, b"abcdef");
        let mut record = hostile();
        record.user_agent = Some(vec![b'u'; 100_000]);
        record.request_line = Some(vec![b'\xff'; 100_000]);
        let line = line_for(&record, LogFormat::Combined, None, 1);
        assert!(line.len() < 4096 - 100, "{}", line.len());
        assert!(line.ends_with(&format!("\"{}...\"\n", "u".repeat(LOGGED_FIELD_MAX - 3))));
    }

    #[test]
    fn json_is_one_object_with_duration_and_refusal() {
        assert_eq!(
            line_for(&hostile(), LogFormat::Json, None, 151),
            "{\"time\":\"2026-11-26T08:24:39.005Z\",\"client\":\"::1\",\"peer\":\"[::1]:5000\",\
             \"request\":\"GET /a\\\"b\\\\c\\u001b[31m\u{fffd}\u{fffd} HTTP/1.1\",\"status\":404,\"bytes\":151,\
             \"duration_ms\":0.312,\"referer\":\"http://x/\\\"\\u000d\\u000aforged\",\
             \"user_agent\":\"caf\u{e9}/1\",\"refusal\":\"no such file\"}\n"
        );
    }

    #[test]
    fn rawserve_keeps_todays_line() {
        let line = line_for(&hostile(), LogFormat::Rawserve, Some("203.0.113.7".parse().unwrap()), 151);
        assert_eq!(
            line,
            "[2026-11-26T08:24:39.005Z INFO  rawserve::access] 203.0.113.7 via [::1]:5000 \
             \"GET /a\\\"b\\\\c\\u{1b}[31m\u{fffd}\u{fffd} HTTP/1.1\" 404 151 0.3ms (no such file)\n"
        );
    }

    #[test]
    fn cidrs_parse_and_match_v4_v6_and_mapped() {
        let net = |text| Cidr::parse(text).unwrap_or_else(|| panic!("{text} should parse"));
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.200.1.1")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")), "a v4-mapped peer is its v4 address");
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")) && !net("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(net("0.0.0.0/0").contains(ip("198.51.100.1")) && !net("0.0.0.0/0").contains(ip("::1")));
        assert!(net("fd00::/8").contains(ip("fd12::1")) && !net("fd00::/8").contains(ip("fe80::1")));
        assert!(net("[::1]").contains(ip("::1")) && net("::/0").contains(ip("2001:db8::1")));
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/+8", "example.com", "10.0.0.0/8/8", "1.2.3"] {
            assert_eq!(Cidr::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let trusted = [Cidr::parse("127.0.0.1").unwrap(), Cidr::parse("10.0.0.0/8").unwrap()];
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let client = |xff: Option<&str>, forwarded: Option<&str>| {
            let record = AccessRecord {
                x_forwarded_for: xff.map(str::to_string),
                forwarded: forwarded.map(str::to_string),
                ..AccessRecord::default()
            };
            forwarded_client(&record, peer, &trusted).to_string()
        };
        assert_eq!(client(None, None), "127.0.0.1");
        assert_eq!(client(Some("203.0.113.7"), None), "203.0.113.7");
        // The client forged a leftmost hop; the proxies appended the real one and themselves.
        assert_eq!(client(Some("6.6.6.6, 203.0.113.7, 10.1.1.1"), None), "203.0.113.7");
        assert_eq!(client(Some("10.0.0.2, 10.0.0.3"), None), "10.0.0.2", "all trusted: the leftmost");
        assert_eq!(client(Some("6.6.6.6, unknown, 10.1.1.1"), None), "10.1.1.1", "stops at a non-address");
        assert_eq!(client(Some("[2001:db8::7]:443"), None), "2001:db8::7");
        assert_eq!(client(Some("198.51.100.2:5050"), None), "198.51.100.2");
        assert_eq!(client(Some("::ffff:198.51.100.2"), None), "198.51.100.2");
        assert_eq!(client(Some(""), None), "127.0.0.1");
        // RFC 7239 §4: elements, pairs, quoted IPv6 with a port, case-insensitive names.
        assert_eq!(client(None, Some("for=192.0.2.60;proto=http;by=203.0.113.43")), "192.0.2.60");
        assert_eq!(
            client(None, Some("for=6.6.6.6, For=\"[2001:db8:cafe::17]:4711\";proto=\"a,b\", for=10.0.0.9")),
            "2001:db8:cafe::17"
        );
        assert_eq!(client(None, Some("for=_hidden, for=10.0.0.9")), "10.0.0.9");
        assert_eq!(client(None, Some("proto=https")), "127.0.0.1");
        // Both: X-Forwarded-For wins.
        assert_eq!(client(Some("203.0.113.7"), Some("for=6.6.6.6")), "203.0.113.7");
    }
}
