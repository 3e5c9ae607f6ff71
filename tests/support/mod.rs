//! Shared harness for the black-box tests: a fresh document root per test, the real
//! `rawserve` binary started on `--bind 127.0.0.1 --port 0`, raw-socket requests, and a
//! small HTTP/1.1 response parser. Only std: no HTTP client, so every byte is the server's.
//!
//! Each test binary uses a different subset of these helpers.
//!
//! - [`TestServer`]: the server under test; [`TestServer::start_with`] for options,
//!   [`Launch`] for the rest (a `RUST_LOG` level, an fd limit, another program, a prepared or
//!   an existing root). Its log, pid, signals, exit, fd counts and the waits on them.
//! - Requests: [`TestServer::get`] and friends panic on anything but a whole response; the
//!   fallible ones ([`try_connect`], [`try_get`], [`read_head`], [`read_at_least`],
//!   [`start_download`]) return `io::Result` for tests where refusals, resets and cut-off
//!   downloads are the point. [`Response`] parses what comes back.
//! - [`browser`]: headless Chromium through chromedriver.
#![allow(dead_code)]

pub mod browser;

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

/// The fallible helpers give up on a loopback connect after this long: by then the accept
/// queue is full and the kernel is retransmitting SYNs (after 1 s, then 3 s); an overload
/// test gets that as an error instead of waiting through the retransmits.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long `settled_log_lines` waits: three of the server's log flush intervals.
pub const LOG_SETTLE: Duration = rawserve::limits::LOG_FLUSH_INTERVAL.saturating_mul(3);

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
    /// With [`Launch::stderr_piped`]: the read end of the server's stderr, until taken.
    stderr: Option<std::process::ChildStderr>,
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
        Launch::new().args(args).start()
    }

    /// A server whose root folder `root_name` inside `sandbox` is prepared by `prepare`
    /// before the server starts.
    pub fn start_in(sandbox: Sandbox, root_name: &str, prepare: impl FnOnce(&Path), args: &[&str]) -> TestServer {
        Launch::in_sandbox(sandbox, root_name).prepare(prepare).args(args).start()
    }

    /// A server with extra options whose log has `RUST_LOG=debug` narration (written at once).
    pub fn start_debug(args: &[&str]) -> TestServer {
        Launch::new().args(args).log_level("debug").start()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The folder that holds the root (for files that must stay outside it).
    pub fn outside(&self) -> &Path {
        self.sandbox.path()
    }

    /// The read end of the server's stderr ([`Launch::stderr_piped`]); nobody reads it
    /// until the test does.
    pub fn take_stderr(&mut self) -> std::process::ChildStderr {
        self.stderr.take().expect("started with Launch::stderr_piped, taken once")
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
        self.request(format_request(self.addr, method, target, fields))
    }

    pub fn request(&self, bytes: impl AsRef<[u8]>) -> Response {
        let raw = self.raw(bytes);
        Response::parse(&raw)
    }

    /// `GET target HTTP/1.1` with a Host field.
    pub fn get(&self, target: &str) -> Response {
        self.send("GET", target, &[])
    }

    /// `HEAD target HTTP/1.1` with a Host field.
    pub fn head(&self, target: &str) -> Response {
        self.send("HEAD", target, &[])
    }

    /// Entries of `/proc/PID/fd` of the server.
    pub fn fd_count(&self) -> usize {
        self.fds_below(usize::MAX)
    }

    /// How many of the server's open fds are numbered below `limit` (RLIMIT_NOFILE bounds
    /// the numbers: these are the slots taken).
    pub fn fds_below(&self, limit: usize) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("read /proc/PID/fd")
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<usize>().ok())
            .filter(|fd| *fd < limit)
            .count()
    }

    /// Sends `signal` (e.g. "TERM") with kill(1).
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// Waits at most `limit` for the server to exit; its exit status if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        wait_with_limit(&mut self.child, limit)
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Lines of the server's own log (not access lines) that contain `needle`, as written so far.
    pub fn log_lines_containing(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle) && !l.contains("rawserve::access")).count()
    }

    /// `log_lines_containing` once what the server logged so far has been written: below
    /// `debug` the logger batches lines and writes them at least every `LOG_FLUSH_INTERVAL`.
    pub fn settled_log_lines(&self, needle: &str) -> usize {
        std::thread::sleep(LOG_SETTLE);
        self.log_lines_containing(needle)
    }

    /// Polls (every 50 ms, at most `limit`) until the fd count is at most `target`; the last count.
    pub fn wait_fds_at_most(&self, target: usize, limit: Duration) -> usize {
        self.wait_fds(|count| count <= target, limit, Duration::from_millis(50))
    }

    /// Polls (every 20 ms, at most `limit`) until the fd count is at least `target`; the last count.
    pub fn wait_fds_at_least(&self, target: usize, limit: Duration) -> usize {
        self.wait_fds(|count| count >= target, limit, Duration::from_millis(20))
    }

    fn wait_fds(&self, done: impl Fn(usize) -> bool, limit: Duration, every: Duration) -> usize {
        let until = Instant::now() + limit;
        loop {
            let count = self.fd_count();
            if done(count) || Instant::now() >= until {
                return count;
            }
            std::thread::sleep(every);
        }
    }

    /// The fd count of the idle server: after a `GET /` that must answer 200 (so the event
    /// loops are up and hold their fds) and 200 ms for that connection to be closed.
    pub fn idle_fd_count(&self) -> usize {
        let response = try_get(self.addr, "/").expect("GET /");
        assert_eq!(response.status, 200, "GET /: {:?}", response.status_line);
        std::thread::sleep(Duration::from_millis(200));
        self.fd_count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start a server when [`TestServer::start_with`] is not enough. Always
/// `PROGRAM --bind 127.0.0.1 --port 0 ARGS... ROOT` (another loopback address with
/// [`Launch::bind`]), stdout piped (the start-up line is read,
/// the rest drained), stderr to a file in the sandbox ([`TestServer::log`]).
///
/// ```ignore
/// let server = Launch::new().prepare(|root| write_files(root)).args(&["--head-timeout", "2"])
///     .log_level("info").fd_limit(64).start();
/// ```
pub struct Launch {
    sandbox: Sandbox,
    root_name: String,
    root: PathBuf,
    args: Vec<String>,
    log_level: Option<String>,
    fd_limit: Option<u32>,
    program: PathBuf,
    bind: String,
    stderr_piped: bool,
}

impl Launch {
    /// The built rawserve on a fresh, empty root.
    pub fn new() -> Launch {
        Launch::in_sandbox(Sandbox::new(), "root")
    }

    /// The built rawserve on the folder `root_name` inside `sandbox` (created if missing).
    pub fn in_sandbox(sandbox: Sandbox, root_name: &str) -> Launch {
        let root = sandbox.path().join(root_name);
        fs::create_dir_all(&root).expect("create root");
        Launch::with_root(sandbox, root_name, root)
    }

    /// The built rawserve on an existing folder (e.g. the repository's `www/`), which is
    /// neither copied nor removed; a fresh sandbox holds the log.
    pub fn serving(root: &Path) -> Launch {
        assert!(root.is_dir(), "{} is not a folder", root.display());
        Launch::with_root(Sandbox::new(), "root", root.to_path_buf())
    }

    fn with_root(sandbox: Sandbox, root_name: &str, root: PathBuf) -> Launch {
        Launch {
            sandbox,
            root_name: root_name.to_string(),
            root,
            args: Vec::new(),
            log_level: None,
            fd_limit: None,
            program: PathBuf::from(BIN),
            bind: "127.0.0.1".to_string(),
            stderr_piped: false,
        }
    }

    /// Runs `prepare` on the root now, before the server starts.
    pub fn prepare(self, prepare: impl FnOnce(&Path)) -> Launch {
        prepare(&self.root);
        self
    }

    /// More command-line options, placed before ROOT.
    pub fn args(mut self, args: &[&str]) -> Launch {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// `RUST_LOG` for the server; without it the server inherits the test's environment.
    pub fn log_level(mut self, level: &str) -> Launch {
        self.log_level = Some(level.to_string());
        self
    }

    /// Starts the server through `sh -c 'ulimit -n LIMIT && exec PROGRAM ...'`, which sets the
    /// soft and the hard limit; `exec` keeps the pid, so [`TestServer::pid`] is the server's.
    pub fn fd_limit(mut self, limit: u32) -> Launch {
        self.fd_limit = Some(limit);
        self
    }

    /// Runs `program`, with the same arguments, in place of the built rawserve. It must print
    /// rawserve's start-up line (see [`parse_startup_port`]).
    pub fn program(mut self, program: impl Into<PathBuf>) -> Launch {
        self.program = program.into();
        self
    }

    /// Listens on `address` (a loopback address: `127.0.0.1` by default, or `::1`).
    pub fn bind(mut self, address: &str) -> Launch {
        self.bind = address.to_string();
        self
    }

    /// stderr to a pipe that nobody reads until the test takes it
    /// ([`TestServer::take_stderr`]); [`TestServer::log`] is empty then.
    pub fn stderr_piped(mut self) -> Launch {
        self.stderr_piped = true;
        self
    }

    /// Starts it and waits (at most `READ_TIMEOUT`) for the start-up line.
    pub fn start(self) -> TestServer {
        let Launch { sandbox, root_name, root, args, log_level, fd_limit, program, bind, stderr_piped } = self;
        let log_path = sandbox.path().join(format!("{root_name}.server-stderr.log"));
        let log = fs::File::create(&log_path).expect("create server log");
        let mut command = match fd_limit {
            None => Command::new(&program),
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\"")).arg(&program);
                sh
            }
        };
        command
            .args(["--bind", &bind, "--port", "0"])
            .args(&args)
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if stderr_piped { Stdio::piped() } else { Stdio::from(log) });
        if let Some(level) = log_level {
            command.env("RUST_LOG", level);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let line = match first_stdout_line(&mut child) {
            Ok(line) => line,
            Err(message) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                panic!("rawserve did not start: {message}; stderr: {log}");
            }
        };
        let ip: std::net::IpAddr = bind.parse().expect("a loopback IP address");
        let host = if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
        let port = parse_startup_port(&line, &host).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("unexpected start-up line {line:?}")
        });
        let root = root.canonicalize().expect("canonical root");
        let stderr = child.stderr.take();
        TestServer { child, addr: SocketAddr::new(ip, port), port, root, startup_line: line, log_path, stderr, sandbox }
    }
}

impl Default for Launch {
    fn default() -> Launch {
        Launch::new()
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

/// A connection with `READ_TIMEOUT` on reads and writes, or why not within `CONNECT_TIMEOUT`.
pub fn try_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    Ok(stream)
}

/// `METHOD target HTTP/1.1` with a Host field naming `addr` and then `fields`: the request
/// `TestServer::send` sends.
pub fn format_request(addr: SocketAddr, method: &str, target: &str, fields: &[(&str, &str)]) -> String {
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in fields {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// `GET target` on a new connection, read to EOF; every failure (refused, reset, timed out,
/// closed before a whole head) is returned, for tests where the server may shed load.
pub fn try_get(addr: SocketAddr, target: &str) -> io::Result<Response> {
    try_get_connecting_within(addr, target, CONNECT_TIMEOUT)
}

/// [`try_get`] with its own connect deadline: for a client that must ride out a SYN the
/// kernel dropped and the retransmission a second later (a port being handed over).
pub fn try_get_connecting_within(addr: SocketAddr, target: &str, connect_timeout: Duration) -> io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, connect_timeout)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    stream.write_all(format_request(addr, "GET", target, &[]).as_bytes())?;
    let mut response = read_head(&mut stream)?;
    stream.read_to_end(&mut response.body)?;
    Ok(response)
}

/// The longest response head `read_head` waits for.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Reads until the end of the response head and parses it; `body` holds the bytes that came
/// with the head. An EOF before the head ended is `UnexpectedEof`.
pub fn read_head(stream: &mut TcpStream) -> io::Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while find(&buf, b"\r\n\r\n").is_none() {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("closed after {} bytes", buf.len())));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_RESPONSE_HEAD {
            return Err(io::Error::other("response head too long"));
        }
    }
    Ok(Response::parse(&buf))
}

/// Reads into `body` until it holds at least `len` bytes; an EOF first is `UnexpectedEof`.
pub fn read_at_least(stream: &mut TcpStream, body: &mut Vec<u8>, len: usize) -> io::Result<()> {
    let mut chunk = vec![0u8; 64 * 1024];
    while body.len() < len {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            let message = format!("closed after {} of at least {len} body bytes", body.len());
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

/// A download under way: `GET target` on a new connection, its head read and at least
/// `at_least` body bytes (in `body`). The caller reads the rest, or stops reading.
pub fn start_download(addr: SocketAddr, target: &str, at_least: usize) -> io::Result<(TcpStream, Response)> {
    let mut stream = try_connect(addr)?;
    stream.write_all(format_request(addr, "GET", target, &[]).as_bytes())?;
    let mut response = read_head(&mut stream)?;
    read_at_least(&mut stream, &mut response.body, at_least)?;
    Ok((stream, response))
}

/// Sends `request` on a new connection and reads until the server closes it, or until a
/// read waits longer than `limit`: the response (which must have a whole head), and whether
/// the server closed the connection (false on that timeout or a reset).
pub fn request_until_close(addr: SocketAddr, request: &[u8], limit: Duration) -> (Response, bool) {
    let mut stream = connect(addr);
    stream.set_read_timeout(Some(limit)).expect("read timeout");
    stream.write_all(request).expect("write request");
    let (raw, closed) = match try_read_to_eof(&mut stream) {
        Ok(raw) => (raw, true),
        Err((_, partial)) => (partial, false),
    };
    (Response::parse(&raw), closed)
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
