//! Shared harness for the black-box tests: a fresh document root per test, the real
//! `rawserve` binary started on `--bind 127.0.0.1 --port 0`, raw-socket requests, and a
//! small HTTP/1.1 response parser. Only std: no HTTP client, so every byte is the server's.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest any single read may block: a server that stops answering fails the test
/// instead of hanging it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The exact `Server` field every response carries.
pub const SERVER_FIELD: &str = "rawserve/0.1.0";

pub const BIN: &str = env!("CARGO_BIN_EXE_rawserve");

// ---------------------------------------------------------------------------------------
// Temporary folders
// ---------------------------------------------------------------------------------------

/// A unique folder under the system temp dir, removed (with everything in it) on drop.
pub struct Sandbox {
    path: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("rawserve-it-{}-{n}-{nanos}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create sandbox folder");
        // Canonical, so paths built from it compare equal to what the server prints.
        let path = path.canonicalize().expect("canonical sandbox path");
        Sandbox { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for Sandbox {
    fn default() -> Sandbox {
        Sandbox::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // A FIFO or mode-000 file never stops remove_dir_all as root; ignore races anyway.
        let _ = fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------

/// A running `rawserve` on a fresh document root. Killed (by PID) and its folder removed
/// on drop.
pub struct TestServer {
    child: Child,
    pub addr: SocketAddr,
    pub port: u16,
    /// The document root (canonical).
    pub root: PathBuf,
    /// The first stdout line, without its newline.
    pub startup_line: String,
    log_path: PathBuf,
    // Dropped after `child` is killed (Drop below runs first, fields after).
    sandbox: Sandbox,
}

impl TestServer {
    /// A server with default options on an empty root.
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// A server with extra command-line options (placed before ROOT).
    pub fn start_with(args: &[&str]) -> TestServer {
        TestServer::start_in(Sandbox::new(), "root", |_| {}, args)
    }

    /// A server whose root folder `root_name` inside `sandbox` is prepared by `prepare`
    /// before the server starts.
    pub fn start_in(sandbox: Sandbox, root_name: &str, prepare: impl FnOnce(&Path), args: &[&str]) -> TestServer {
        TestServer::spawn(sandbox, root_name, prepare, args, None)
    }

    /// A server with extra options whose log has `RUST_LOG=debug` narration (written at once).
    pub fn start_debug(args: &[&str]) -> TestServer {
        TestServer::spawn(Sandbox::new(), "root", |_| {}, args, Some("debug"))
    }

    fn spawn(
        sandbox: Sandbox,
        root_name: &str,
        prepare: impl FnOnce(&Path),
        args: &[&str],
        log_level: Option<&str>,
    ) -> TestServer {
        let root = sandbox.path().join(root_name);
        fs::create_dir_all(&root).expect("create root");
        prepare(&root);
        let log_path = sandbox.path().join(format!("{root_name}.server-stderr.log"));
        let log = fs::File::create(&log_path).expect("create server log");
        let mut command = Command::new(BIN);
        command
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        if let Some(level) = log_level {
            command.env("RUST_LOG", level);
        }
        let mut child = command.spawn().expect("spawn rawserve");
        let line = match first_stdout_line(&mut child) {
            Ok(line) => line,
            Err(message) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                panic!("rawserve did not start: {message}; stderr: {log}");
            }
        };
        let port = parse_startup_port(&line, "127.0.0.1").unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("unexpected start-up line {line:?}")
        });
        let root = root.canonicalize().expect("canonical root");
        TestServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            port,
            root,
            startup_line: line,
            log_path,
            sandbox,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The folder that holds the root (for files that must stay outside it).
    pub fn outside(&self) -> &Path {
        self.sandbox.path()
    }

    /// What the server wrote to stderr so far (its log).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Writes a file below the root, creating parent folders.
    pub fn write(&self, relative: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create parent folders");
        }
        fs::write(&path, bytes).expect("write file");
        path
    }

    pub fn mkdir(&self, relative: &str) -> PathBuf {
        let path = self.root.join(relative);
        fs::create_dir_all(&path).expect("create folder");
        path
    }

    pub fn connect(&self) -> TcpStream {
        connect(self.addr)
    }

    /// Connects, writes `bytes`, reads to EOF. Panics on a reset or a read that blocks
    /// longer than `READ_TIMEOUT`.
    pub fn raw(&self, bytes: impl AsRef<[u8]>) -> Vec<u8> {
        raw_to(self.addr, bytes.as_ref())
    }

    /// Like `raw`, parsed.
    /// Sends `METHOD target HTTP/1.1` with a Host field and `fields`, and parses the answer.
    pub fn send(&self, method: &str, target: &str, fields: &[(&str, &str)]) -> Response {
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port);
        for (name, value) in fields {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.request(request)
    }

    pub fn request(&self, bytes: impl AsRef<[u8]>) -> Response {
        let raw = self.raw(bytes);
        Response::parse(&raw)
    }

    /// `GET target HTTP/1.1` with a Host field.
    pub fn get(&self, target: &str) -> Response {
        self.request(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", self.port))
    }

    /// `HEAD target HTTP/1.1` with a Host field.
    pub fn head(&self, target: &str) -> Response {
        self.request(format!("HEAD {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", self.port))
    }

    /// Entries of `/proc/PID/fd` of the server.
    pub fn fd_count(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid())).expect("read /proc/PID/fd").count()
    }

    /// Sends `signal` (e.g. "TERM") with kill(1).
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Waits at most `limit` for the server to exit; its exit status if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        wait_with_limit(&mut self.child, limit)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("run kill(1)");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Polls `child` until it exits or `limit` passes.
pub fn wait_with_limit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the first stdout line of `child` within `READ_TIMEOUT`. The rest of stdout is
/// drained in the background so the server never blocks on a full pipe.
pub fn first_stdout_line(child: &mut Child) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let result = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(result);
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    match rx.recv_timeout(READ_TIMEOUT) {
        Ok(Ok(line)) if line.ends_with('\n') => Ok(line.trim_end_matches('\n').to_string()),
        Ok(Ok(line)) => Err(format!("stdout closed without a full line (got {line:?})")),
        Ok(Err(e)) => Err(format!("reading stdout failed: {e}")),
        Err(_) => Err(format!("no start-up line within {READ_TIMEOUT:?}")),
    }
}

/// The port of a start-up line `rawserve 0.1.0 serving ROOT at http://HOST:PORT/`, where
/// HOST is as given (`127.0.0.1`, or `[::1]`).
pub fn parse_startup_port(line: &str, host: &str) -> Option<u16> {
    let rest = line.strip_prefix("rawserve 0.1.0 serving /")?;
    let marker = format!(" at http://{host}:");
    let at = rest.rfind(&marker)?;
    let port = rest[at + marker.len()..].strip_suffix('/')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse().ok().filter(|p| *p != 0)
}

// ---------------------------------------------------------------------------------------
// Raw sockets
// ---------------------------------------------------------------------------------------

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).expect("connect to rawserve");
    stream.set_read_timeout(Some(READ_TIMEOUT)).expect("read timeout");
    stream.set_write_timeout(Some(READ_TIMEOUT)).expect("write timeout");
    stream
}

pub fn raw_to(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(bytes).expect("write request");
    read_to_eof(&mut stream)
}

/// Reads until the server closes. Panics on a reset (the response may be lost to RST) or
/// on a read that waits longer than the stream's read timeout.
pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    match try_read_to_eof(stream) {
        Ok(bytes) => bytes,
        Err((e, partial)) => panic!(
            "reading the response failed after {} bytes: {e} ({:?}); got so far: {:?}",
            partial.len(),
            e.kind(),
            String::from_utf8_lossy(&partial[..partial.len().min(600)])
        ),
    }
}

/// Reads until EOF; on an error, returns it with the bytes read before it.
pub fn try_read_to_eof(stream: &mut TcpStream) -> Result<Vec<u8>, (io::Error, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((e, out)),
        }
    }
}

/// Half-closes our side: we will send nothing more.
pub fn shutdown_write(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
}

/// Runs `check` for each case and reports every failing case at once.
pub fn check_each<T: std::fmt::Debug>(cases: &[T], check: impl Fn(&T)) {
    let mut failures = Vec::new();
    for case in cases {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let mut label = format!("{case:?}");
            if label.len() > 120 {
                label = format!("{}...", label.chars().take(100).collect::<String>());
            }
            failures.push(format!("{label}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// A parsed response: the status line, the fields in order, and the bytes after the head.
#[derive(Debug, Clone)]
pub struct Response {
    pub status_line: String,
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Splits at the first CRLFCRLF; panics (showing the bytes) if the head is malformed.
    pub fn parse(raw: &[u8]) -> Response {
        let show = || String::from_utf8_lossy(&raw[..raw.len().min(600)]).into_owned();
        let end = find(raw, b"\r\n\r\n").unwrap_or_else(|| panic!("no CRLFCRLF in response: {:?}", show()));
        let head = std::str::from_utf8(&raw[..end]).unwrap_or_else(|_| panic!("head is not UTF-8: {:?}", show()));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_string();
        assert!(!status_line.contains('\n'), "bare LF in the status line: {status_line:?}");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_string();
        let code = parts.next().unwrap_or_default();
        let reason = parts.next().unwrap_or_default().to_string();
        assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()), "bad status code in {status_line:?}");
        let status = code.parse().expect("status code");
        let mut headers = Vec::new();
        for line in lines {
            assert!(!line.contains(['\r', '\n']), "bare CR or LF inside a field line: {line:?}");
            let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("field line without ':': {line:?}"));
            assert!(!name.is_empty() && name.bytes().all(is_tchar), "invalid field name {name:?} in {line:?}");
            headers.push((name.to_string(), value.trim_matches([' ', '\t']).to_string()));
        }
        Response { status_line, version, status, reason, headers, body: raw[end + 4..].to_vec() }
    }

    /// The value of the only field named `name` (case-insensitive); panics if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.headers_named(name);
        assert!(all.len() <= 1, "field {name} appears {} times: {:?}", all.len(), self.headers);
        all.first().copied()
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The field, which must be present.
    pub fn expect_header(&self, name: &str) -> &str {
        self.header(name).unwrap_or_else(|| panic!("no {name} field in {:?}", self.headers))
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The fields, lower-cased names, in order, without `Date` (which changes per second).
    pub fn headers_without_date(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect()
    }

    /// Asserts the exact status line and every field every response must carry, with a
    /// `Content-Length` equal to the body received (use `assert_head_response` for HEAD).
    pub fn assert_status(&self, status_line: &str) {
        assert_eq!(self.status_line, status_line, "status line; fields {:?}; body {:?}", self.headers, self.snippet());
        self.assert_common_fields();
        let length = self.content_length();
        assert_eq!(length, self.body.len() as u64, "Content-Length vs body received; fields {:?}", self.headers);
    }

    /// `assert_status` for an error: also a short HTML body that names the status.
    pub fn assert_error(&self, status_line: &str) {
        self.assert_status(status_line);
        let named = status_line.strip_prefix("HTTP/1.1 ").expect("HTTP/1.1 status line");
        assert_eq!(self.expect_header("Content-Type"), "text/html; charset=utf-8", "error page type");
        let body = self.body_text();
        assert!(body.contains(named), "error body does not name {named:?}: {body:?}");
        assert!(body.len() < 4096, "error body is not short: {} bytes", body.len());
    }

    /// The fields every response carries, checked for a response to HEAD: no body bytes.
    pub fn assert_head_response(&self, status_line: &str) {
        assert_eq!(self.status_line, status_line, "status line; fields {:?}", self.headers);
        self.assert_common_fields();
        assert!(self.body.is_empty(), "HEAD response carried {} body bytes: {:?}", self.body.len(), self.snippet());
    }

    /// A 304 (RFC 9110 §15.4.5, and nginx's not_modified filter): the fields every response
    /// carries (`Date`, `Server`, `Connection`, `X-Content-Type-Options`), an `ETag` and a
    /// `Cache-Control`, no body, and none of the representation metadata or content fields.
    /// `names` is then the exact list of field names, in order.
    pub fn assert_not_modified(&self, names: &[&str]) {
        assert_eq!(self.status_line, "HTTP/1.1 304 Not Modified", "status line; fields {:?}", self.headers);
        self.assert_transport_fields();
        for absent in [
            "Content-Type",
            "Content-Length",
            "Content-Encoding",
            "Content-Range",
            "Accept-Ranges",
            "Transfer-Encoding",
        ] {
            assert_eq!(self.header(absent), None, "{absent} in a 304: {:?}", self.headers);
        }
        assert!(!self.expect_header("ETag").is_empty());
        assert!(!self.expect_header("Cache-Control").is_empty());
        assert!(self.body.is_empty(), "a 304 carried {} body bytes: {:?}", self.body.len(), self.snippet());
        let found: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(found, names, "the fields of a 304");
    }

    pub fn content_length(&self) -> u64 {
        let value = self.expect_header("Content-Length");
        assert!(
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
            "Content-Length is not a number: {value:?}"
        );
        value.parse().expect("Content-Length")
    }

    fn assert_common_fields(&self) {
        self.assert_transport_fields();
        let content_type = self.expect_header("Content-Type");
        assert!(!content_type.is_empty(), "empty Content-Type");
        self.content_length();
    }

    /// The fields every response carries, 304 included.
    fn assert_transport_fields(&self) {
        assert_eq!(self.version, "HTTP/1.1", "version in {:?}", self.status_line);
        let date = self.expect_header("Date");
        let secs = parse_imf_fixdate(date).unwrap_or_else(|| panic!("Date is not an IMF-fixdate: {date:?}"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
        assert!(secs.abs_diff(now) < 300, "Date {date:?} is far from now");
        assert_eq!(self.expect_header("Server"), SERVER_FIELD);
        assert_eq!(self.expect_header("Connection"), "close");
        assert_eq!(self.expect_header("X-Content-Type-Options"), "nosniff");
    }

    fn snippet(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(400)]).into_owned()
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

// ---------------------------------------------------------------------------------------
// Dates (RFC 9110 §5.6.7 IMF-fixdate), written here: no date crate in dev-dependencies
// ---------------------------------------------------------------------------------------

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → seconds since the epoch; None unless exactly that form
/// with the right weekday.
pub fn parse_imf_fixdate(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || &b[25..] != b" GMT" {
        return None;
    }
    if b[19] != b':' || b[22] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = &text[range];
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok()).flatten()
    };
    let day = num(5..7)?;
    let month = MONTHS.iter().position(|m| *m == &text[8..11])? as i64 + 1;
    let year = num(12..16)?;
    let (hour, minute, second) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if civil_from_days(days) != (year, month, day) {
        return None; // 31 Feb and the like
    }
    if WEEKDAYS[days.rem_euclid(7) as usize] != &text[..3] {
        return None;
    }
    u64::try_from(days * 86_400 + hour * 3600 + minute * 60 + second).ok()
}

/// Seconds since the epoch → IMF-fixdate.
pub fn format_imf_fixdate(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------------------

/// `len` deterministic pseudo-random bytes (xorshift64*), different per `seed`.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Percent-decodes `%XX` escapes into bytes (for checking the server's encodings).
pub fn percent_decode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}
