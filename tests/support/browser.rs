//! Headless Debian Chromium driven through `chromedriver`: WebDriver spoken over a plain
//! `TcpStream` with the harness's own request and response code, no async runtime, no extra
//! crates. For tests of what a page does with the server's answers.
//!
//! ```ignore
//! let Some(browser) = Browser::start() else { return }; // skipped: the message is printed
//! let server = Launch::new().program(program_under_test()).prepare(|root| write_site(root)).start();
//! browser.open(&server.url("/"));
//! let title = browser.eval("return document.title;");              // a function body
//! let status = browser.eval_async(                                  // the last argument is the callback
//!     "const done = arguments[arguments.length - 1]; fetch('/a.json').then((r) => done(r.status));",
//! );
//! let ready = browser.wait_until("return document.body.dataset.ready ?? null;", Duration::from_secs(5));
//! let errors: Vec<String> = browser.severe_console_entries();      // prints every entry, too
//! ```
//!
//! - [`Browser::start`] needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's
//!   `chromium` and `chromium-driver`). Without them it prints `skipping browser test: …` and
//!   returns `None`, except under CI (`CI` set), where it panics.
//! - Each `Browser` is its own chromedriver (on a port the kernel chose, `--port=0`), its own
//!   Chromium session and its own profile folder (`--user-data-dir`), so several may run at
//!   once, in one test binary or many. On drop the session is deleted (which ends Chromium),
//!   chromedriver is killed by its PID, and the folder is removed.
//! - Values come back as [`Json`]; [`json_string`] quotes a string for a script or a request.
//! - [`program_under_test`] is the built rawserve, or the program named by
//!   `RAWSERVE_BROWSER_TEST_SERVER`: run with the same arguments, it is a way to see a browser
//!   test fail against a server that gets something wrong (a wrong media type, kept-alive
//!   connections). It must print rawserve's start-up line (see `parse_startup_port`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{format_request, read_at_least, read_head, try_connect, Sandbox, BIN};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The flags this machine's Chromium needs: as root it needs --no-sandbox, and with no network
/// beyond loopback it must not try to reach Google's services.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
];

/// How long chromedriver may take to say where it listens and to report itself ready.
const DRIVER_START: Duration = Duration::from_secs(15);

/// The longest one WebDriver command may take: longer than the session's page-load and script
/// timeouts (30 s), so that chromedriver reports those itself.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The built rawserve, or the program `RAWSERVE_BROWSER_TEST_SERVER` names.
pub fn program_under_test() -> PathBuf {
    std::env::var_os("RAWSERVE_BROWSER_TEST_SERVER").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(BIN))
}

/// One entry of Chromium's console log.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    /// `SEVERE`, `WARNING`, `INFO`, …
    pub level: String,
    pub message: String,
}

/// chromedriver and one Chromium session through it.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: Option<String>,
    // Removed after Drop below has ended Chromium and chromedriver.
    folder: Sandbox,
}

impl Browser {
    /// chromedriver and a headless Chromium session, or `None` (with the message printed) when
    /// they are not installed; under CI their absence is a failure.
    pub fn start() -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "the browser test needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver"
                );
            }
            println!("skipping browser test: install chromium (apt-get install chromium chromium-driver)");
            return None;
        }
        let folder = Sandbox::new();
        let log = folder.path().join("chromedriver.log");
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {CHROMEDRIVER}: {e}"));
        let started = Instant::now();
        // With --port=0 the kernel picks the port and chromedriver prints it: no race with
        // another chromedriver for a port probed beforehand. Stdout stays drained afterwards.
        let stdout = driver.stdout.take().expect("chromedriver stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some((_, port)) = line.split_once("started successfully on port ") {
                    let _ = tx.send(port.trim_end_matches('.').parse::<u16>());
                    break;
                }
            }
            for _ in lines {}
        });
        let mut browser = Browser { driver, addr: SocketAddr::from(([127, 0, 0, 1], 0)), session: None, folder };
        let port = match rx.recv_timeout(DRIVER_START) {
            Ok(Ok(port)) => port,
            other => panic!(
                "chromedriver did not say which port it listens on ({other:?}); its log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        browser.addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if let Ok((200, body)) = browser.exchange("GET", "/status", None) {
                if Json::parse(&body).get("value").get("ready").as_bool() == Some(true) {
                    break;
                }
            }
            assert!(started.elapsed() < DRIVER_START, "chromedriver did not become ready on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        browser.new_session();
        Some(browser)
    }

    fn new_session(&mut self) {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", self.folder.path().join("profile").display()));
        let args = args.iter().map(|a| json_string(a)).collect::<Vec<_>>().join(",");
        let body = format!(
            r#"{{"capabilities":{{"alwaysMatch":{{"browserName":"chrome","goog:chromeOptions":{{"binary":{},"args":[{args}]}},"goog:loggingPrefs":{{"browser":"ALL"}}}}}}}}"#,
            json_string(CHROMIUM)
        );
        let value = self.command("POST", "/session", Some(&body));
        let id = value.get("sessionId").as_str().unwrap_or_else(|| panic!("no session id in {value:?}")).to_owned();
        self.session = Some(id);
        self.session_command("POST", "/timeouts", r#"{"script":30000,"pageLoad":30000}"#);
    }

    /// Loads `url` and waits for the page's load event (at most 30 s).
    pub fn open(&self, url: &str) {
        self.session_command("POST", "/url", &format!(r#"{{"url":{}}}"#, json_string(url)));
    }

    /// Runs `js` in the page as a function body (`return` gives the value; `undefined` is null).
    pub fn eval(&self, js: &str) -> Json {
        self.session_command("POST", "/execute/sync", &format!(r#"{{"script":{},"args":[]}}"#, json_string(js)))
    }

    /// Runs `js` as a function body whose last argument is a callback, and gives the value it
    /// is called with (at most 30 s): `arguments[arguments.length - 1](value)`.
    pub fn eval_async(&self, js: &str) -> Json {
        self.session_command("POST", "/execute/async", &format!(r#"{{"script":{},"args":[]}}"#, json_string(js)))
    }

    /// Runs `js` (a function body) every 50 ms until it returns something other than null
    /// (or undefined) and false, and gives that value; None when `timeout` passed first.
    pub fn wait_until(&self, js: &str, timeout: Duration) -> Option<Json> {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(js);
            if !matches!(value, Json::Null | Json::Bool(false)) {
                return Some(value);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`) and
    /// gives its result: `Emulation.setEmulatedMedia` for `prefers-color-scheme`,
    /// `Emulation.setDeviceMetricsOverride` for a phone's viewport. `params` is a JSON object.
    pub fn cdp(&self, command: &str, params: &str) -> Json {
        self.session_command(
            "POST",
            "/goog/cdp/execute",
            &format!(r#"{{"cmd":{},"params":{params}}}"#, json_string(command)),
        )
    }

    /// Chromium's console log since the last call (page errors, console.*, failed loads).
    pub fn console_entries(&self) -> Vec<ConsoleEntry> {
        let log = self.session_command("POST", "/se/log", r#"{"type":"browser"}"#);
        log.items()
            .iter()
            .map(|entry| ConsoleEntry {
                level: entry.get("level").as_str().unwrap_or("").to_owned(),
                message: entry.get("message").as_str().unwrap_or("").to_owned(),
            })
            .collect()
    }

    /// Prints every console entry since the last call (`console LEVEL: MESSAGE`) and gives the
    /// messages of the SEVERE ones: errors, and failed loads such as a favicon 404.
    pub fn severe_console_entries(&self) -> Vec<String> {
        let mut severe = Vec::new();
        for entry in self.console_entries() {
            println!("console {}: {}", entry.level, entry.message);
            if entry.level == "SEVERE" {
                severe.push(entry.message);
            }
        }
        severe
    }

    fn session_command(&self, method: &str, path: &str, body: &str) -> Json {
        let session = self.session.as_deref().expect("a session");
        self.command(method, &format!("/session/{session}{path}"), Some(body))
    }

    /// One WebDriver command; panics unless chromedriver answers 200. Gives its `value`.
    fn command(&self, method: &str, path: &str, body: Option<&str>) -> Json {
        let (status, text) =
            self.exchange(method, path, body).unwrap_or_else(|e| panic!("chromedriver {method} {path}: {e}"));
        let json = Json::parse(&text);
        assert!(status == 200, "chromedriver {method} {path} answered {status}: {text}");
        json.get("value").clone()
    }

    /// One HTTP/1.1 exchange with chromedriver on its own connection: status and body.
    fn exchange(&self, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
        let body = body.unwrap_or("");
        let length = body.len().to_string();
        let fields = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", length.as_str()),
            ("Connection", "close"),
        ];
        let mut stream = try_connect(self.addr)?;
        stream.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        stream.write_all((format_request(self.addr, method, path, &fields) + body).as_bytes())?;
        let mut response = read_head(&mut stream)?;
        match response.header("Content-Length").and_then(|l| l.parse::<usize>().ok()) {
            Some(length) => {
                read_at_least(&mut stream, &mut response.body, length)?;
                response.body.truncate(length);
            }
            None => {
                stream.read_to_end(&mut response.body)?;
            }
        }
        let _ = stream.shutdown(Shutdown::Both);
        Ok((response.status, String::from_utf8_lossy(&response.body).into_owned()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = self.exchange("DELETE", &format!("/session/{session}"), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

// --- Just enough JSON for WebDriver --------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

static NULL: Json = Json::Null;

impl Json {
    /// Parses a whole JSON text; panics (showing it) if it is not one.
    pub fn parse(text: &str) -> Json {
        let mut parser = JsonParser { bytes: text.as_bytes(), at: 0 };
        let value = parser.value().unwrap_or_else(|e| panic!("bad JSON ({e}) in {text:?}"));
        parser.space();
        assert!(parser.at == parser.bytes.len(), "trailing bytes after JSON in {text:?}");
        value
    }

    /// The member `key` of an object; `Null` if absent or not an object.
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    /// The items of an array; none if not an array.
    pub fn items(&self) -> &[Json] {
        match self {
            Json::Arr(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        *self == Json::Null
    }
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self.bytes[self.at..].starts_with(literal.as_bytes()) {
            self.at += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        match self.bytes.get(self.at) {
            None => Err("unexpected end".into()),
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.space();
                if self.eat("}") {
                    return Ok(Json::Obj(members));
                }
                loop {
                    self.space();
                    let key = self.string()?;
                    self.space();
                    if !self.eat(":") {
                        return Err(format!("expected ':' at {}", self.at));
                    }
                    members.push((key, self.value()?));
                    self.space();
                    if self.eat("}") {
                        return Ok(Json::Obj(members));
                    }
                    if !self.eat(",") {
                        return Err(format!("expected ',' or '}}' at {}", self.at));
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.space();
                if self.eat("]") {
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.space();
                    if self.eat("]") {
                        return Ok(Json::Arr(items));
                    }
                    if !self.eat(",") {
                        return Err(format!("expected ',' or ']' at {}", self.at));
                    }
                }
            }
            Some(b'"') => self.string().map(Json::Str),
            Some(_) if self.eat("null") => Ok(Json::Null),
            Some(_) if self.eat("true") => Ok(Json::Bool(true)),
            Some(_) if self.eat("false") => Ok(Json::Bool(false)),
            Some(_) => {
                let start = self.at;
                while self.bytes.get(self.at).is_some_and(|b| b"+-.eE0123456789".contains(b)) {
                    self.at += 1;
                }
                std::str::from_utf8(&self.bytes[start..self.at])
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .map(Json::Num)
                    .ok_or_else(|| format!("bad value at {start}"))
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        if !self.eat("\"") {
            return Err(format!("expected a string at {}", self.at));
        }
        let mut out = String::new();
        loop {
            let start = self.at;
            while self.bytes.get(self.at).is_some_and(|&b| b != b'"' && b != b'\\') {
                self.at += 1;
            }
            out.push_str(std::str::from_utf8(&self.bytes[start..self.at]).map_err(|e| e.to_string())?);
            match self.bytes.get(self.at) {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(_) => {
                    let escape = *self.bytes.get(self.at + 1).ok_or("unterminated escape")?;
                    self.at += 2;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) && self.eat("\\u") {
                                let low = self.hex4()?;
                                code = 0x10000 + ((code - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        other => return Err(format!("bad escape \\{}", other as char)),
                    }
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or("short \\u escape")?;
        let code =
            std::str::from_utf8(digits).ok().and_then(|s| u32::from_str_radix(s, 16).ok()).ok_or("bad \\u escape")?;
        self.at += 4;
        Ok(code)
    }
}

/// `s` as a JSON string literal, quotes included.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
