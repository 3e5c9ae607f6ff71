//! Fields added to every response — `--header 'Name: value'`, `--cors`,
//! `--cross-origin-isolation` — and CORS preflights, over raw sockets; then two pages in
//! headless Chromium: a `fetch()` from one rawserve port to another, and a page that is
//! `crossOriginIsolated`. (The start-up checks of `--header` are in `cli.rs`.)
//!
//! Each response kind is asked of two servers on the same root, one with the flags and one
//! without: the answers must be the same bytes but for `Date` and the added fields, which
//! come once each, right after the fields every response carries.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use support::browser::{json_string, program_under_test, Browser, Json};
use support::{check_each, read_to_eof, Launch, Response, Sandbox, TestServer};

/// The flags under test, and the fields they must add, in the order they are sent.
const FLAGS: &[&str] = &[
    "--cors",
    "--cross-origin-isolation",
    "--header",
    "X-Frame-Options: DENY",
    "--header",
    "permissions-policy:geolocation=()",
];
const ADDED: &[(&str, &str)] = &[
    ("Access-Control-Allow-Origin", "*"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("X-Frame-Options", "DENY"),
    ("permissions-policy", "geolocation=()"),
];

/// The fields every response starts with (`Content-Length` where the response has one).
const TRANSPORT: &[&str] = &["Date", "Server", "Connection", "X-Content-Type-Options"];

/// A small site: a file, a stylesheet, a folder without index.html, a dotfile.
fn write_site(root: &Path) {
    std::fs::write(root.join("a.txt"), "alpha\n").expect("write a.txt");
    std::fs::write(root.join("style.css"), "body { margin: 0 }\n").expect("write style.css");
    std::fs::create_dir_all(root.join("dir")).expect("mkdir dir");
    std::fs::write(root.join("dir/b.txt"), "beta\n").expect("write b.txt");
    std::fs::write(root.join(".env"), "SECRET=1\n").expect("write .env");
}

/// One server with `FLAGS` and one without, on the same root, with `extra` options each.
fn pair(root: &Path, extra: &[&str]) -> (TestServer, TestServer) {
    let flagged = Launch::serving(root).args(FLAGS).args(extra).start();
    let plain = Launch::serving(root).args(extra).start();
    (flagged, plain)
}

/// The added fields are there once each, with their values, right after the transport fields.
fn assert_added(response: &Response) {
    for (name, value) in ADDED {
        assert_eq!(response.headers_named(name), [*value], "{name} in {:?}", response.headers);
    }
    let names: Vec<&str> = response.headers.iter().map(|(n, _)| n.as_str()).collect();
    let at = names.iter().position(|n| *n == "X-Content-Type-Options").expect("X-Content-Type-Options") + 1;
    let expected: Vec<&str> = ADDED.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.get(at..at + ADDED.len()), Some(&expected[..]), "order of {names:?}");
}

/// The fields without `Date` and without the added ones; a multipart boundary (new for every
/// response) replaced by `BOUNDARY`, in the fields and the body.
fn comparable(response: &Response) -> (String, Vec<(String, String)>, Vec<u8>) {
    let boundary = response
        .header("Content-Type")
        .and_then(|t| t.strip_prefix("multipart/byteranges; boundary="))
        .map(str::to_owned);
    let mut fields = response.headers_without_date();
    fields.retain(|(name, _)| !ADDED.iter().any(|(added, _)| added.eq_ignore_ascii_case(name)));
    let mut body = response.body.clone();
    if let Some(boundary) = boundary {
        for (_, value) in &mut fields {
            *value = value.replace(&boundary, "BOUNDARY");
        }
        body = String::from_utf8(body).expect("a text file's parts").replace(&boundary, "BOUNDARY").into_bytes();
    }
    (response.status_line.clone(), fields, body)
}

/// The flagged answer is the plain answer plus the added fields.
fn assert_same_but_added(flagged: &Response, plain: &Response) {
    assert_added(flagged);
    assert_eq!(comparable(flagged), comparable(plain), "flagged vs plain");
}

fn request(target: &str, fields: &[(&str, &str)]) -> String {
    request_with("GET", target, fields)
}

fn request_with(method: &str, target: &str, fields: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {target} HTTP/1.1\r\nHost: h\r\n");
    for (name, value) in fields {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + "\r\n"
}

#[test]
fn every_response_kind_carries_the_added_fields_once() {
    let sandbox = Sandbox::new();
    write_site(sandbox.path());
    let (flagged, plain) = pair(sandbox.path(), &["--head-timeout", "1"]);
    let file_etag = plain.get("/a.txt").expect_header("ETag").to_owned();
    let listing_etag = plain.get("/dir/").expect_header("ETag").to_owned();
    let many_fields: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    let cases: Vec<(&str, String, &str)> = vec![
        ("file", request("/a.txt", &[]), "HTTP/1.1 200 OK"),
        ("HEAD file", request_with("HEAD", "/a.txt", &[]), "HTTP/1.1 200 OK"),
        ("listing", request("/dir/", &[]), "HTTP/1.1 200 OK"),
        ("folder redirect", request("/dir?x=1", &[]), "HTTP/1.1 301 Moved Permanently"),
        ("file 304", request("/a.txt", &[("If-None-Match", &file_etag)]), "HTTP/1.1 304 Not Modified"),
        ("listing 304", request("/dir/", &[("If-None-Match", &listing_etag)]), "HTTP/1.1 304 Not Modified"),
        ("206", request("/a.txt", &[("Range", "bytes=1-3")]), "HTTP/1.1 206 Partial Content"),
        ("multipart 206", request("/a.txt", &[("Range", "bytes=0-0,2-3")]), "HTTP/1.1 206 Partial Content"),
        ("416", request("/a.txt", &[("Range", "bytes=100-")]), "HTTP/1.1 416 Range Not Satisfiable"),
        ("412", request("/a.txt", &[("If-Match", "\"other\"")]), "HTTP/1.1 412 Precondition Failed"),
        ("404", request("/missing.txt", &[]), "HTTP/1.1 404 Not Found"),
        ("hidden dotfile", request("/.env", &[]), "HTTP/1.1 404 Not Found"),
        ("400", request("/%zz", &[]), "HTTP/1.1 400 Bad Request"),
        ("traversal", request("/../a.txt", &[]), "HTTP/1.1 400 Bad Request"),
        ("405", request_with("DELETE", "/a.txt", &[]), "HTTP/1.1 405 Method Not Allowed"),
        ("OPTIONS, not a preflight", request_with("OPTIONS", "/a.txt", &[]), "HTTP/1.1 405 Method Not Allowed"),
        ("501", request_with("FOO", "/a.txt", &[]), "HTTP/1.1 501 Not Implemented"),
        ("505", "GET /a.txt HTTP/2.0\r\nHost: h\r\n\r\n".into(), "HTTP/1.1 505 HTTP Version Not Supported"),
        ("414", request(&format!("/{}", "a".repeat(9000)), &[]), "HTTP/1.1 414 URI Too Long"),
        (
            "431",
            format!("GET /a.txt HTTP/1.1\r\nHost: h\r\n{many_fields}\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large",
        ),
        ("500", request("/__panic", &[]), "HTTP/1.1 500 Internal Server Error"),
    ];
    check_each(&cases, |(_, raw, status_line)| {
        let answer = flagged.request(raw);
        assert_eq!(answer.status_line, *status_line, "{:?}", answer.headers);
        let without = plain.request(raw);
        assert_same_but_added(&answer, &without);
        if answer.status == 304 {
            // Still none of a 304's forbidden fields (RFC 9110 §15.4.5), and only these.
            let own = without.headers.iter().map(|(n, _)| n.as_str()).skip(TRANSPORT.len());
            let names: Vec<&str> = TRANSPORT.iter().copied().chain(ADDED.iter().map(|(n, _)| *n)).chain(own).collect();
            answer.assert_not_modified(&names);
        }
    });

    // 408, built when the head deadline passes (the socket side asks http/exchange.rs for it).
    let timed_out: Vec<Response> = [&flagged, &plain]
        .iter()
        .map(|server| {
            let mut stream = server.connect();
            stream.write_all(b"GET /a.txt HTTP/1.1\r\n").expect("partial head");
            Response::parse(&read_to_eof(&mut stream))
        })
        .collect();
    timed_out[0].assert_error("HTTP/1.1 408 Request Timeout");
    assert_same_but_added(&timed_out[0], &timed_out[1]);
}

#[test]
fn the_503_of_a_full_server_carries_them_too() {
    let sandbox = Sandbox::new();
    write_site(sandbox.path());
    let (flagged, plain) = pair(sandbox.path(), &["--max-connections", "1", "--head-timeout", "30"]);
    let answers: Vec<Response> = [&flagged, &plain]
        .iter()
        .map(|server| {
            let mut held = server.connect();
            held.write_all(b"GET /a.txt HTTP/1.1\r\n").expect("partial head");
            // Until the server has taken the held connection: probe (bounded) for the 503.
            let started = Instant::now();
            let response = loop {
                let response = server.get("/a.txt");
                if response.status == 503 || started.elapsed() > Duration::from_secs(5) {
                    break response;
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            drop(held);
            response
        })
        .collect();
    answers[0].assert_error("HTTP/1.1 503 Service Unavailable");
    assert_same_but_added(&answers[0], &answers[1]);
    assert_eq!(answers[0].expect_header("Retry-After"), "1");
}

/// Request fields, as `TestServer::send` takes them.
type Fields = &'static [(&'static str, &'static str)];

/// The fields of a preflight's 204, in order, after the ones every response carries.
fn preflight_fields(allow_headers: Option<&str>) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> =
        [("server", "rawserve/0.1.0"), ("connection", "close"), ("x-content-type-options", "nosniff")]
            .iter()
            .chain(ADDED)
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .collect();
    fields.push(("access-control-allow-methods".into(), "GET, HEAD".into()));
    if let Some(headers) = allow_headers {
        fields.push(("access-control-allow-headers".into(), headers.into()));
    }
    fields.push(("access-control-max-age".into(), "7200".into()));
    fields
}

#[test]
fn cors_preflights_get_204_with_what_is_allowed() {
    let server = Launch::new().prepare(write_site).args(FLAGS).log_level("debug").start();
    const ORIGIN: (&str, &str) = ("Origin", "http://127.0.0.1:9");
    let origin = ORIGIN;
    let preflights: &[(&str, &str, Fields, Option<&str>)] = &[
        (
            "GET with headers",
            "/a.txt",
            &[("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "x-probe,content-type")],
            Some("x-probe, content-type"),
        ),
        ("no headers asked", "/a.txt", &[("Access-Control-Request-Method", "GET")], None),
        (
            "empty list elements",
            "/a.txt",
            &[("Access-Control-Request-Method", "HEAD"), ("Access-Control-Request-Headers", " , x-a,,\tx-b ")],
            Some("x-a, x-b"),
        ),
        (
            "list over two lines",
            "/a.txt",
            &[
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "x-a"),
                ("Access-Control-Request-Headers", "x-b"),
            ],
            Some("x-a, x-b"),
        ),
        (
            "a name that is not a token",
            "/a.txt",
            &[("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "x-a, x(b)")],
            None,
        ),
        // The browser, not the server, refuses PUT: the 204 says GET and HEAD (Fetch standard).
        ("PUT", "/a.txt", &[("Access-Control-Request-Method", "PUT")], None),
        ("OPTIONS *", "*", &[("Access-Control-Request-Method", "GET")], None),
        ("a missing file", "/missing.txt", &[("Access-Control-Request-Method", "GET")], None),
        // The target is not even parsed: nothing is served, so nothing can leak.
        ("a dotfile", "/.env", &[("Access-Control-Request-Method", "GET")], None),
    ];
    check_each(preflights, |(_, target, fields, allow_headers)| {
        let fields: Vec<(&str, &str)> = std::iter::once(origin).chain(fields.iter().copied()).collect();
        let response = server.send("OPTIONS", target, &fields);
        assert_eq!(response.status_line, "HTTP/1.1 204 No Content");
        let date = response.expect_header("Date");
        assert!(support::parse_imf_fixdate(date).is_some(), "Date {date:?}");
        // No Content-Length (RFC 9110 §8.6), no Content-Type, no body.
        assert_eq!(response.headers_without_date(), preflight_fields(*allow_headers));
        assert!(response.body.is_empty(), "{:?}", response.body_text());
    });
    // An access line is written just after the connection is closed: let the last ones land.
    std::thread::sleep(support::LOG_SETTLE);
    let log = server.log();
    for narrated in ["CORS preflight for GET with x-probe, content-type", "CORS preflight for PUT"] {
        assert!(log.contains(narrated), "no {narrated:?} in the debug log:\n{}", server.log_tail(30));
    }
    assert!(log.contains("\"OPTIONS * HTTP/1.1\" 204 0"), "access line: {}", server.log_tail(30));

    // Not a preflight: today's 405, with the fields every response now carries.
    let not_preflights: &[(&str, Fields)] = &[
        ("no Origin", &[("Access-Control-Request-Method", "GET")]),
        ("no Access-Control-Request-Method", &[ORIGIN]),
        ("neither", &[]),
    ];
    check_each(not_preflights, |(_, fields)| {
        for target in ["/a.txt", "*"] {
            let response = server.send("OPTIONS", target, fields);
            response.assert_error("HTTP/1.1 405 Method Not Allowed");
            assert_eq!(response.expect_header("Allow"), "GET, HEAD");
            assert_added(&response);
        }
    });
    // A requested method no browser could send.
    for method in ["", "G T", "GET,PUT"] {
        let response = server.send("OPTIONS", "/a.txt", &[origin, ("Access-Control-Request-Method", method)]);
        response.assert_error("HTTP/1.1 400 Bad Request");
        assert_added(&response);
    }
}

#[test]
fn without_cors_every_options_keeps_its_405() {
    let server = Launch::new().prepare(write_site).args(&["--cross-origin-isolation"]).start();
    for target in ["/a.txt", "*"] {
        let response = server.send(
            "OPTIONS",
            target,
            &[("Origin", "http://127.0.0.1:9"), ("Access-Control-Request-Method", "GET")],
        );
        response.assert_error("HTTP/1.1 405 Method Not Allowed");
        assert_eq!(response.expect_header("Allow"), "GET, HEAD");
        assert_eq!(response.header("Access-Control-Allow-Origin"), None);
        assert_eq!(response.header("Access-Control-Allow-Methods"), None);
        assert_eq!(response.expect_header("Cross-Origin-Opener-Policy"), "same-origin");
    }
}

// --- In Chromium -----------------------------------------------------------------------------

/// A page that fetches `?api=URL` three ways and records what it got: a simple GET (no
/// preflight), a GET with a custom header (preflighted), and a PUT (preflighted, not allowed).
const FETCH_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>cross-origin fetch</title><link rel="icon" href="data:,"></head>
<body><p id="out"></p>
<script>
const api = new URLSearchParams(location.search).get("api");
const outcome = async (request) => {
  try {
    const response = await request();
    return response.ok ? (await response.json()).message : "status " + response.status;
  } catch (e) {
    return "failed: " + e.name;
  }
};
(async () => {
  const simple = await outcome(() => fetch(api));
  if (!simple.startsWith("failed")) document.getElementById("out").textContent = simple;
  const preflighted = await outcome(() => fetch(api, { headers: { "X-Probe": "1" } }));
  const put = await outcome(() => fetch(api, { method: "PUT" }));
  window.results = { simple, preflighted, put };
})();
</script></body></html>
"#;

const MESSAGE: &str = "hello from the other port";

#[test]
fn a_page_fetches_json_from_another_port_only_with_cors() {
    let Some(browser) = Browser::start() else { return };
    let page = Launch::new()
        .program(program_under_test())
        .prepare(|root| std::fs::write(root.join("fetch.html"), FETCH_PAGE).expect("write page"))
        .start();
    let write_json = |root: &Path| {
        std::fs::write(root.join("data.json"), format!("{{\"message\": {}}}\n", json_string(MESSAGE))).expect("json")
    };
    let api =
        Launch::new().program(program_under_test()).prepare(write_json).args(&["--cors"]).log_level("debug").start();
    let closed = Launch::new().program(program_under_test()).prepare(write_json).log_level("debug").start();

    let run = |server: &TestServer| -> (Json, Json, Vec<String>) {
        browser.open(&page.url(&format!("/fetch.html?api={}", server.url("/data.json"))));
        let results = browser
            .wait_until("return window.results ?? null;", Duration::from_secs(20))
            .unwrap_or_else(|| panic!("the page's fetches did not finish; {}", server.log_tail(20)));
        let shown = browser.eval("return document.getElementById('out').textContent;");
        (results, shown, browser.severe_console_entries())
    };

    let (results, shown, console) = run(&api);
    assert_eq!(results.get("simple").as_str(), Some(MESSAGE), "{results:?}; console {console:?}");
    assert_eq!(shown.as_str(), Some(MESSAGE), "the page shows the JSON");
    assert_eq!(results.get("preflighted").as_str(), Some(MESSAGE), "{results:?}; console {console:?}");
    assert_eq!(results.get("put").as_str(), Some("failed: TypeError"), "{results:?}");
    // The PUT alone was refused, and Chromium says why; nothing else went wrong.
    assert_eq!(console.len(), 2, "{console:?}");
    assert!(console[0].contains("Method PUT is not allowed by Access-Control-Allow-Methods"), "{console:?}");
    assert!(console[1].ends_with("/data.json - Failed to load resource: net::ERR_FAILED"), "{console:?}");
    std::thread::sleep(support::LOG_SETTLE);
    let log = api.log();
    for seen in ["CORS preflight for GET with x-probe", "CORS preflight for PUT", "\"OPTIONS /data.json HTTP/1.1\" 204"]
    {
        assert!(log.contains(seen), "no {seen:?} in the API server's log:\n{}", api.log_tail(30));
    }
    assert!(!log.contains("\"PUT /data.json"), "Chromium sent the PUT after the preflight refused it");

    // Without --cors the server answers, and the browser keeps the answer from the page.
    let (results, shown, console) = run(&closed);
    for fetch in ["simple", "preflighted", "put"] {
        assert_eq!(results.get(fetch).as_str(), Some("failed: TypeError"), "{fetch}: {results:?}");
    }
    assert_eq!(shown.as_str(), Some(""), "nothing shown");
    assert!(console.iter().any(|m| m.contains("blocked by CORS policy")), "{console:?}");
    std::thread::sleep(support::LOG_SETTLE);
    let log = closed.log();
    assert!(log.contains("\"GET /data.json HTTP/1.1\" 200"), "the simple GET reached the server:\n{log}");
    assert!(log.contains("\"OPTIONS /data.json HTTP/1.1\" 405"), "preflights got 405:\n{log}");
}

/// A page that loads a same-origin script (COEP require-corp lets same-origin resources in
/// without `Cross-Origin-Resource-Policy`) and reports whether it is cross-origin isolated.
const ISOLATION_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>isolation</title><link rel="icon" href="data:,">
<script src="marker.js"></script></head><body></body></html>
"#;

#[test]
fn cross_origin_isolation_makes_the_page_cross_origin_isolated() {
    let Some(browser) = Browser::start() else { return };
    let write_page = |root: &Path| {
        std::fs::write(root.join("isolated.html"), ISOLATION_PAGE).expect("write page");
        std::fs::write(root.join("marker.js"), "window.markerRan = true;\n").expect("write script");
    };
    let report = "return { isolated: self.crossOriginIsolated, script: window.markerRan === true, \
                  shared: self.crossOriginIsolated ? new SharedArrayBuffer(16).byteLength : null };";
    for (args, isolated) in [(&["--cross-origin-isolation"][..], true), (&[][..], false)] {
        let server = Launch::new().program(program_under_test()).prepare(write_page).args(args).start();
        browser.open(&server.url("/isolated.html"));
        let seen = browser.eval(report);
        assert_eq!(seen.get("isolated").as_bool(), Some(isolated), "{args:?}: {seen:?}");
        assert_eq!(seen.get("script").as_bool(), Some(true), "{args:?}: the same-origin script ran: {seen:?}");
        if isolated {
            assert_eq!(seen.get("shared").as_f64(), Some(16.0), "SharedArrayBuffer: {seen:?}");
        }
        let console = browser.severe_console_entries();
        assert!(console.is_empty(), "{args:?}: {console:?}");
    }
}
