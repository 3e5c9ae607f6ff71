//! The site in `www/`, served by rawserve, in a real browser.
//!
//! Starts the built `rawserve` on a free loopback port, drives headless Debian Chromium through
//! `chromedriver` (`tests/support/browser.rs`: WebDriver spoken over a plain `TcpStream`, no
//! async runtime, no extra crates), loads the home page and checks what a person would see: the
//! page rendered with its stylesheet, its JavaScript modules ran, the PNG, SVG and JSON loaded,
//! the WebAssembly module was instantiated by streaming (which needs `application/wasm`), the
//! video's metadata loaded, the connection demo saw one new TCP connection per fetch and the
//! right response fields, and nothing went wrong: no error recorded by the page's own hooks
//! (`www/js/errors.js`) and no SEVERE entry in Chromium's console log (which also reports failed
//! loads such as a favicon 404).
//!
//! Needs the Debian packages `chromium` and `chromium-driver`. Without them the test is skipped,
//! except under CI (`CI` set), where it fails.
//!
//! `RAWSERVE_BROWSER_TEST_SERVER=/path/to/program` runs another program, with the same arguments,
//! in place of the built rawserve: a way to see this test fail against a server that gets
//! something wrong (a wrong media type, kept-alive connections). It must print rawserve's
//! start-up line.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::browser::{program_under_test, Browser, Json};
use support::{format_request, request_until_close, Launch, Response, TestServer};

#[test]
fn site_works_in_headless_chromium() {
    let started = Instant::now();
    let Some(browser) = Browser::start() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("www");
    let server = Launch::serving(&root).program(program_under_test()).start();

    let mut failures = Vec::new();
    check_on_the_wire(&server, &mut failures);

    // The home page.
    browser.open(&server.url("/"));
    // Wait until the demo has finished, the WebAssembly has settled and the video has its
    // metadata; or, when the modules never ran, until the page has been loaded for 3 s.
    let state = browser.wait_until(
        "const d = document.documentElement.dataset; \
         const settled = (d.demo === 'done' || d.demo === 'failed') && !!d.wasm && !!d.video; \
         const dead = document.readyState === 'complete' && !d.modules && performance.now() > 3000; \
         return settled || dead ? { settled } : null;",
        Duration::from_secs(20),
    );
    if state.as_ref().is_none_or(|s| s.get("settled").as_bool() != Some(true)) {
        failures.push("the page did not finish its demo, WebAssembly and video".into());
    }
    let mut report = browser.eval(COLLECT);
    // Chromium may hand a fetch a socket that it opened ahead of time for something else (the
    // video's range requests, say); Resource Timing then shows no connect phase. The page says so.
    // Such a race is rare and never repeats for every fetch, whereas a server that keeps
    // connections alive shows it on every run: so one more run of the demo is allowed.
    let all_new = |r: &Json| r.get("rows").items().iter().all(|row| row.get("opened").as_bool() == Some(true));
    if report.get("demo").as_str() == Some("done") && !all_new(&report) {
        println!("note: a fetch showed no connect phase; running the demo once more with its button");
        browser.eval("document.getElementById('run-demo').click(); return null;");
        let again = browser.wait_until(
            "const d = document.documentElement.dataset; \
             return (window.rawserve?.demoRuns?.length ?? 0) >= 2 && d.demo !== 'running' ? true : null;",
            Duration::from_secs(20),
        );
        if again.is_none() {
            failures.push("the demo's second run did not finish".into());
        }
        report = browser.eval(COLLECT);
    }
    check_home_page(&report, serves_ranges(&server), &mut failures);

    // The wire page: renders with the stylesheet and records no error.
    browser.open(&server.url("/wire.html"));
    let wire = browser.eval(
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
    for message in browser.severe_console_entries() {
        failures.push(format!("console error: {message}"));
    }
    drop(browser);

    println!("browser test took {:.1} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        let tail = server.log_tail(20);
        panic!(
            "{} browser check(s) failed:\n  - {}\n(server log: {})",
            failures.len(),
            failures.join("\n  - "),
            if tail.is_empty() { "empty".into() } else { format!("\n{tail}") }
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

fn check_home_page(report: &Json, serves_ranges: bool, failures: &mut Vec<String>) {
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
    if serves_ranges {
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
fn check_on_the_wire(server: &TestServer, failures: &mut Vec<String>) {
    let (home, closed) = wire_get(server, "/", &[]);
    expect(failures, home.status_line.starts_with("HTTP/1.1 200 "), || {
        format!("GET / answered {:?}", home.status_line)
    });
    let says_close = home.headers_named("connection").iter().any(|v| v.eq_ignore_ascii_case("close"));
    expect(failures, says_close, || format!("GET / did not say Connection: close:\n{:?}", home.headers));
    expect(failures, closed, || "GET /: the server did not close the connection after the response".into());
    let (icon, _) = wire_get(server, "/favicon.ico", &[("Connection", "close")]);
    expect(failures, icon.status_line.starts_with("HTTP/1.1 200 ") && !icon.body.is_empty(), || {
        format!("GET /favicon.ico answered {:?}", icon.status_line)
    });
}

/// Whether the server answers a Range request with 206 (the video's seek bar needs it).
fn serves_ranges(server: &TestServer) -> bool {
    let (probe, _) = wire_get(server, "/media/testsrc2.mp4", &[("Range", "bytes=0-99"), ("Connection", "close")]);
    probe.status_line.starts_with("HTTP/1.1 206 ")
}

/// One GET on its own connection, read until the server closes it (or a read waits 5 s): the
/// response, and whether the server closed.
fn wire_get(server: &TestServer, path: &str, fields: &[(&str, &str)]) -> (Response, bool) {
    let request = format_request(server.addr, "GET", path, fields);
    request_until_close(server.addr, request.as_bytes(), Duration::from_secs(5))
}

fn expect(failures: &mut Vec<String>, ok: bool, message: impl FnOnce() -> String) {
    if !ok {
        failures.push(message());
    }
}
