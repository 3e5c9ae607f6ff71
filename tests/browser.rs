//! The site in `www/`, served by rawserve, in a real browser.
//!
//! Starts the built `rawserve` on a free loopback port, drives headless Debian Chromium through
//! `chromedriver` (WebDriver spoken over a plain `TcpStream`, no async runtime, no extra crates),
//! loads the home page and checks what a person would see: the page rendered with its
//! stylesheet, its JavaScript modules ran, the PNG, SVG and JSON loaded, the WebAssembly module
//! was instantiated by streaming (which needs `application/wasm`), the video's metadata loaded,
//! the connection demo saw one new TCP connection per fetch and the right response fields, and
//! nothing went wrong: no error recorded by the page's own hooks (`www/js/errors.js`) and no
//! SEVERE entry in Chromium's console log (which also reports failed loads such as a favicon 404).
//!
//! Needs the Debian packages `chromium` and `chromium-driver`. Without them the test is skipped,
//! except under CI (`CI` set), where it fails.
//!
//! `RAWSERVE_BROWSER_TEST_SERVER=/path/to/program` runs another program, with the same arguments,
//! in place of the built rawserve: a way to see this test fail against a server that gets
//! something wrong (a wrong media type, kept-alive connections).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
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

#[test]
fn site_works_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        if std::env::var_os("CI").is_some() {
            panic!("the browser test needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver");
        }
        println!("skipping browser test: install chromium (apt-get install chromium chromium-driver)");
        return;
    }
    let started = Instant::now();
    let temp = TempDir::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("www");
    let server = Server::start(&root, &temp.path);
    let base = server.url.clone();

    let mut failures = Vec::new();
    check_on_the_wire(&server, &mut failures);

    let mut driver = Driver::start(&temp.path);
    driver.new_session(&temp.path.join("profile"));

    // The home page.
    driver.navigate(&base);
    // Wait until the demo has finished, the WebAssembly has settled and the video has its
    // metadata; or, when the modules never ran, until the page has been loaded for 3 s.
    let state = driver.wait_for(
        "const d = document.documentElement.dataset; \
         const settled = (d.demo === 'done' || d.demo === 'failed') && !!d.wasm && !!d.video; \
         const dead = document.readyState === 'complete' && !d.modules && performance.now() > 3000; \
         return settled || dead ? { settled } : null;",
        |_| true,
        Duration::from_secs(20),
    );
    if state.as_ref().is_none_or(|s| s.get("settled").as_bool() != Some(true)) {
        failures.push("the page did not finish its demo, WebAssembly and video".into());
    }
    let mut report = driver.execute(COLLECT);
    // Chromium may hand a fetch a socket that it opened ahead of time for something else (the
    // video's range requests, say); Resource Timing then shows no connect phase. The page says so.
    // Such a race is rare and never repeats for every fetch, whereas a server that keeps
    // connections alive shows it on every run: so one more run of the demo is allowed.
    let all_new = |r: &Json| r.get("rows").items().iter().all(|row| row.get("opened").as_bool() == Some(true));
    if report.get("demo").as_str() == Some("done") && !all_new(&report) {
        println!("note: a fetch showed no connect phase; running the demo once more with its button");
        driver.execute("document.getElementById('run-demo').click(); return null;");
        let again = driver.wait_for(
            "const d = document.documentElement.dataset; \
             return (window.rawserve?.demoRuns?.length ?? 0) >= 2 && d.demo !== 'running' ? true : null;",
            |_| true,
            Duration::from_secs(20),
        );
        if again.is_none() {
            failures.push("the demo's second run did not finish".into());
        }
        report = driver.execute(COLLECT);
    }
    check_home_page(&report, &server, &mut failures);

    // The wire page: renders with the stylesheet and records no error.
    driver.navigate(&format!("{base}wire.html"));
    let wire = driver.execute(
        "return { h1: document.querySelector('h1')?.textContent ?? null, \
                  css: getComputedStyle(document.documentElement).getPropertyValue('--rawserve-css').trim(), \
                  log: document.getElementById('debug-log')?.textContent ?? '', \
                  errors: window.__pageErrors ?? ['js/errors.js did not run'] };",
    );
    expect(&mut failures, wire.get("h1").as_str() == Some("The bytes on the wire"), || {
        format!("wire.html: unexpected <h1>: {:?}", wire.get("h1"))
    });
    expect(&mut failures, wire.get("css").as_str() == Some("loaded"), || "wire.html: style.css did not apply".into());
    expect(&mut failures, wire.get("log").as_str().is_some_and(|l| l.contains("rawserve::")), || {
        "wire.html: the RUST_LOG=debug block is missing".into()
    });
    for error in wire.get("errors").items() {
        failures.push(format!("wire.html recorded an error: {}", error.as_str().unwrap_or("?")));
    }

    // Everything Chromium logged to the console on both pages, failed loads included.
    for entry in driver.browser_log().items() {
        let level = entry.get("level").as_str().unwrap_or("");
        let message = entry.get("message").as_str().unwrap_or("");
        println!("console {level}: {message}");
        if level == "SEVERE" {
            failures.push(format!("console error: {message}"));
        }
    }
    drop(driver);

    println!("browser test took {:.1} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        panic!(
            "{} browser check(s) failed:\n  - {}\n(server log: {})",
            failures.len(),
            failures.join("\n  - "),
            server.log_tail()
        );
    }
}

/// The script that gathers what the home page shows. Runs after the demo finished.
const COLLECT: &str = r##"
const d = document.documentElement.dataset;
const image = (selector) => {
  const img = document.querySelector(selector);
  return img ? { complete: img.complete, width: img.naturalWidth, height: img.naturalHeight } : null;
};
const imfFixdate = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;
const video = document.getElementById("video");
const seekable = video.seekable;
const results = window.rawserve || {};
const runs = results.demoRuns || [];
return {
  title: document.title,
  h1: document.querySelector("h1")?.textContent ?? null,
  cssMarker: getComputedStyle(document.documentElement).getPropertyValue("--rawserve-css").trim(),
  bodyMargin: getComputedStyle(document.body).marginTop,
  diagramSteps: document.querySelectorAll("svg.diagram .step").length,
  diagramFiles: [...document.querySelectorAll("svg.diagram .file")].map((t) => t.textContent),
  modules: d.modules ?? null,
  json: d.json ?? null,
  wasm: d.wasm ?? null,
  demo: d.demo ?? null,
  video: d.video ?? null,
  png: image("#frames-img"),
  svg: image(".brand img"),
  checksum: document.getElementById("checksum-out").textContent,
  videoInfo: {
    readyState: video.readyState,
    duration: Number.isFinite(video.duration) ? video.duration : -1,
    width: video.videoWidth,
    seekableEnd: seekable.length ? seekable.end(seekable.length - 1) : 0,
  },
  planLength: results.plan?.fetches?.length ?? 0,
  cards: document.querySelectorAll("#fetches > li").length,
  summary: document.getElementById("demo-summary").textContent,
  runs: runs.length,
  rows: (runs[runs.length - 1] || []).map((r) => ({
    path: r.path,
    error: r.error ?? null,
    status: r.status ?? 0,
    expectedType: r.expectedType,
    bytes: r.bytes ?? -1,
    contentType: r.headers?.["content-type"] ?? null,
    contentLength: r.headers?.["content-length"] ?? null,
    date: r.headers?.date ?? null,
    dateOk: !!r.headers?.date && imfFixdate.test(r.headers.date) &&
      Math.abs(Date.parse(r.headers.date) - Date.now()) < 300000,
    connection: r.headers?.connection ?? null,
    opened: r.connection?.opened ?? null,
    connectionText: r.connection?.text ?? "",
    ms: r.timing ? r.timing.duration : -1,
  })),
  errors: window.__pageErrors ?? ["js/errors.js did not run"],
};
"##;

fn check_home_page(report: &Json, server: &Server, failures: &mut Vec<String>) {
    let str_of = |key: &str| report.get(key).as_str().map(str::to_owned);
    let f = failures;

    // It rendered, with its stylesheet.
    expect(f, str_of("h1").as_deref() == Some("rawserve"), || format!("unexpected <h1>: {:?}", str_of("h1")));
    expect(f, str_of("title").is_some_and(|t| t.starts_with("rawserve")), || {
        format!("unexpected <title>: {:?}", str_of("title"))
    });
    expect(f, str_of("cssMarker").as_deref() == Some("loaded"), || {
        "style.css did not apply (the custom property --rawserve-css is not set)".into()
    });
    expect(f, str_of("bodyMargin").as_deref() == Some("0px"), || {
        format!("style.css did not apply (body margin is {:?}, not 0px)", str_of("bodyMargin"))
    });
    let steps = report.get("diagramSteps").as_f64().unwrap_or(0.0);
    expect(f, steps == 10.0, || format!("the diagram shows {steps} steps, not 10"));
    let files =
        report.get("diagramFiles").items().iter().filter_map(|j| j.as_str()).map(str::to_owned).collect::<Vec<_>>();
    for file in files.iter().filter(|file| !file.starts_with("src/")) {
        f.push(format!("the diagram names {file:?}, not a file under src/"));
    }

    // The modules ran, and read the JSON.
    expect(f, str_of("modules").as_deref() == Some("ran"), || {
        "the JavaScript modules did not run (js/main.js never set data-modules)".into()
    });
    expect(f, str_of("json").as_deref() == Some("loaded"), || {
        format!("demo.json was not read: data-json = {:?}", str_of("json"))
    });

    // The images decoded.
    for (key, what) in [("png", "media/frames.png"), ("svg", "logo.svg")] {
        let img = report.get(key);
        let ok = img.get("complete").as_bool() == Some(true) && img.get("width").as_f64().unwrap_or(0.0) > 0.0;
        expect(f, ok, || format!("the {key} image {what} did not load: {img:?}"));
    }

    // WebAssembly, instantiated by streaming: only possible with Content-Type application/wasm.
    expect(f, str_of("wasm").as_deref() == Some("ok"), || {
        format!(
            "WebAssembly.instantiateStreaming of wasm/checksum.wasm did not succeed: data-wasm = {:?}, the page says {:?}",
            str_of("wasm"),
            str_of("checksum")
        )
    });

    // The video's metadata loaded (its moov atom is at the front); when the server answers
    // range requests, the whole video is seekable too.
    let video = report.get("videoInfo");
    let duration = video.get("duration").as_f64().unwrap_or(-1.0);
    expect(f, str_of("video").as_deref() == Some("metadata") && (duration - 6.0).abs() < 0.2, || {
        format!("the video's metadata did not load: {video:?}")
    });
    if server.serves_ranges {
        let end = video.get("seekableEnd").as_f64().unwrap_or(0.0);
        expect(f, end > duration - 0.2, || {
            format!("the server answers Range requests, but the video is seekable only to {end} s of {duration} s")
        });
    } else {
        println!("note: the server does not answer Range requests yet, so the video's seek bar is not checked");
    }

    // The connection demo: every fetch on a new connection, with the right status and fields.
    expect(f, str_of("demo").as_deref() == Some("done"), || {
        format!("the connection demo did not finish: data-demo = {:?}, {:?}", str_of("demo"), str_of("summary"))
    });
    let rows = report.get("rows").items();
    let planned = report.get("planLength").as_f64().unwrap_or(0.0) as usize;
    expect(f, planned >= 8 && rows.len() == planned, || {
        format!("the demo planned {planned} fetches and reported {}", rows.len())
    });
    let cards = report.get("cards").as_f64().unwrap_or(0.0) as usize;
    expect(f, cards == rows.len(), || format!("the demo shows {cards} cards for {} fetches", rows.len()));
    for row in rows {
        let path = row.get("path").as_str().unwrap_or("?");
        let field = |key: &str| row.get(key).as_str().map(str::to_owned);
        println!(
            "demo {path}: {} {} {} bytes, Connection {:?}, {:.1} ms; {}",
            row.get("status").as_f64().unwrap_or(0.0),
            field("contentType").unwrap_or_default(),
            row.get("bytes").as_f64().unwrap_or(-1.0),
            field("connection"),
            row.get("ms").as_f64().unwrap_or(-1.0),
            field("connectionText").unwrap_or_default(),
        );
        if let Some(error) = field("error") {
            f.push(format!("demo {path}: the fetch failed: {error}"));
            continue;
        }
        let status = row.get("status").as_f64().unwrap_or(0.0);
        expect(f, status == 200.0, || format!("demo {path}: status {status}, not 200"));
        expect(f, row.get("opened").as_bool() == Some(true), || {
            format!(
                "demo {path}: Resource Timing shows no new connection: {}",
                field("connectionText").unwrap_or_default()
            )
        });
        expect(f, field("contentType") == field("expectedType"), || {
            format!("demo {path}: Content-Type {:?}, expected {:?}", field("contentType"), field("expectedType"))
        });
        let bytes = row.get("bytes").as_f64().unwrap_or(-1.0);
        let length = field("contentLength").and_then(|l| l.parse::<f64>().ok());
        expect(f, length == Some(bytes), || {
            format!("demo {path}: Content-Length {:?} but {bytes} bytes were read", field("contentLength"))
        });
        expect(f, row.get("dateOk").as_bool() == Some(true), || {
            format!("demo {path}: Date {:?} is missing, not an IMF-fixdate, or not now", field("date"))
        });
        // Chromium shows Connection to scripts; a browser that hides it gives null. On the wire it
        // is checked by check_on_the_wire.
        let connection = field("connection");
        expect(f, connection.as_deref().is_none_or(|c| c.eq_ignore_ascii_case("close")), || {
            format!("demo {path}: Connection {connection:?}, not close")
        });
    }

    for error in report.get("errors").items() {
        f.push(format!("the page recorded an error: {}", error.as_str().unwrap_or("?")));
    }
}

/// What the browser can't show a script: the raw response head. Every response says
/// `Connection: close` and the server then closes; the favicon exists.
fn check_on_the_wire(server: &Server, failures: &mut Vec<String>) {
    let home = raw_get(&server.addr, "/", &[]);
    expect(failures, home.head.starts_with("HTTP/1.1 200 "), || format!("GET / answered {:?}", first_line(&home.head)));
    expect(failures, has_field(&home.head, "connection", "close"), || {
        format!("GET / did not say Connection: close:\n{}", home.head)
    });
    expect(failures, home.closed, || "GET /: the server did not close the connection after the response".into());
    let icon = raw_get(&server.addr, "/favicon.ico", &["Connection: close"]);
    expect(failures, icon.head.starts_with("HTTP/1.1 200 ") && !icon.body.is_empty(), || {
        format!("GET /favicon.ico answered {:?}", first_line(&icon.head))
    });
}

fn first_line(head: &str) -> &str {
    head.lines().next().unwrap_or("")
}

fn has_field(head: &str, name: &str, value: &str) -> bool {
    head.lines().skip(1).any(|line| {
        line.split_once(':')
            .is_some_and(|(n, v)| n.trim().eq_ignore_ascii_case(name) && v.trim().eq_ignore_ascii_case(value))
    })
}

struct RawResponse {
    head: String,
    body: Vec<u8>,
    /// The server closed the connection within 5 s of the request.
    closed: bool,
}

/// One GET on its own connection, read until the server closes it (or 5 s pass).
fn raw_get(addr: &str, path: &str, extra: &[&str]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for field in extra {
        request.push_str(field);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    // On a timeout the bytes read so far stay in `response`.
    let closed = stream.read_to_end(&mut response).is_ok();
    let end = find(&response, b"\r\n\r\n").unwrap_or_else(|| panic!("GET {path}: no complete response head"));
    RawResponse {
        head: String::from_utf8_lossy(&response[..end + 4]).into_owned(),
        body: response[end + 4..].to_vec(),
        closed,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn expect(failures: &mut Vec<String>, ok: bool, message: impl FnOnce() -> String) {
    if !ok {
        failures.push(message());
    }
}

// --- The server under test -------------------------------------------------------------------

/// rawserve serving `www/` on a free loopback port; killed (by its PID, `Child::kill`) on drop.
struct Server {
    child: Child,
    url: String,
    addr: String,
    log: PathBuf,
    serves_ranges: bool,
}

impl Server {
    fn start(root: &Path, temp: &Path) -> Server {
        let program = std::env::var_os("RAWSERVE_BROWSER_TEST_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rawserve")));
        let log = temp.join("server.log");
        let mut child = Command::new(&program)
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("create the server log"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        // Read the start-up line on a thread, so a server that never prints can't hang the test;
        // keep draining stdout afterwards so the server never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let mut server = Server { child, url: String::new(), addr: String::new(), log, serves_ranges: false };
        let line = match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(Some(Ok(line))) => line,
            other => panic!("rawserve printed no start-up line ({other:?}); its log: {}", server.log_tail()),
        };
        // "rawserve 0.1.0 serving /abs/path/to/www at http://127.0.0.1:PORT/"
        let url = line
            .strip_prefix("rawserve ")
            .and_then(|rest| rest.split_once(" serving "))
            .and_then(|(_, rest)| rest.rsplit_once(" at "))
            .map(|(_, url)| url.to_owned())
            .filter(|url| url.starts_with("http://127.0.0.1:") && url.ends_with('/'))
            .unwrap_or_else(|| panic!("unexpected start-up line: {line:?}"));
        server.addr = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        server.url = url;
        let probe = raw_get(&server.addr, "/media/testsrc2.mp4", &["Range: bytes=0-99", "Connection: close"]);
        server.serves_ranges = probe.head.starts_with("HTTP/1.1 206 ");
        server
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            "empty".into()
        } else {
            format!("\n{tail}")
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- Chromium, through chromedriver ----------------------------------------------------------

/// chromedriver on a free loopback port, and at most one Chromium session through it. On drop
/// the session is deleted (which ends Chromium) and chromedriver is killed by its PID.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl Driver {
    fn start(temp: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", temp.join("chromedriver.log").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {CHROMEDRIVER}: {e}"));
        let driver = Driver { child, port, session: None };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok((200, body)) = http(port, "GET", "/status", None) {
                if Json::parse(&body).get("value").get("ready").as_bool() == Some(true) {
                    return driver;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn new_session(&mut self, profile: &Path) {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
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

    fn navigate(&mut self, url: &str) {
        self.session_command("POST", "/url", &format!(r#"{{"url":{}}}"#, json_string(url)));
    }

    /// Runs a script in the page (a function body; `return` gives the value).
    fn execute(&mut self, script: &str) -> Json {
        self.session_command("POST", "/execute/sync", &format!(r#"{{"script":{},"args":[]}}"#, json_string(script)))
    }

    /// Runs `script` until it returns a value that satisfies `done`, or the time is up.
    fn wait_for(&mut self, script: &str, done: impl Fn(&Json) -> bool, limit: Duration) -> Option<Json> {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.execute(script);
            if !value.is_null() && done(&value) {
                return Some(value);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Chromium's console log since the last call: page errors, console.error, failed loads.
    fn browser_log(&mut self) -> Json {
        self.session_command("POST", "/se/log", r#"{"type":"browser"}"#)
    }

    fn session_command(&mut self, method: &str, path: &str, body: &str) -> Json {
        let session = self.session.clone().expect("a session");
        self.command(method, &format!("/session/{session}{path}"), Some(body))
    }

    fn command(&mut self, method: &str, path: &str, body: Option<&str>) -> Json {
        let (status, text) =
            http(self.port, method, path, body).unwrap_or_else(|e| panic!("chromedriver {method} {path}: {e}"));
        let json = Json::parse(&text);
        assert!(status == 200, "chromedriver {method} {path} answered {status}: {text}");
        json.get("value").clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = http(self.port, "DELETE", &format!("/session/{session}"), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange with chromedriver on its own connection. Returns status and body.
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).map_err(|e| e.to_string())?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut bytes = Vec::new();
    match length {
        Some(n) => {
            bytes.resize(n, 0);
            reader.read_exact(&mut bytes).map_err(|e| e.to_string())?;
        }
        None => {
            reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        }
    }
    let _ = reader.get_ref().shutdown(Shutdown::Both);
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

// --- A temporary folder ----------------------------------------------------------------------

struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> TempDir {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("rawserve-browser-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a temporary folder");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

// --- Just enough JSON for WebDriver --------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

static NULL: Json = Json::Null;

impl Json {
    fn parse(text: &str) -> Json {
        let mut parser = JsonParser { bytes: text.as_bytes(), at: 0 };
        let value = parser.value().unwrap_or_else(|e| panic!("bad JSON ({e}) in {text:?}"));
        parser.space();
        assert!(parser.at == parser.bytes.len(), "trailing bytes after JSON in {text:?}");
        value
    }

    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map_or(&NULL, |(_, v)| v),
            _ => &NULL,
        }
    }

    fn items(&self) -> &[Json] {
        match self {
            Json::Arr(items) => items,
            _ => &[],
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
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

fn json_string(s: &str) -> String {
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
