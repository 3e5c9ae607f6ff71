//! httplint (the library behind REDbot, `python3 -m pip install httplint`) over the raw bytes of
//! real answers: a 200, a 304 (plain, and one with `Vary`), a 206, a multipart 206, a 416, a
//! listing and its 304, a precompressed variant and a `.svgz`. Each request is linted with its
//! response (`tests/support/httplint_check.py`), so the checks that depend on the request run.
//!
//! What counts: every note of level `WARN` or `BAD`, subnotes included (httplint's own levels;
//! `GOOD` and `INFO` are remarks, such as "this response allows all caches to store it"). A
//! response that httplint cannot parse fails too. One note is allowed, for one response, and
//! named: httplint's `PARTIAL_WITHOUT_RANGE` on the multipart 206, because RFC 9110 §15.3.7.2
//! says "a server MUST NOT generate a Content-Range header field in the HTTP header section of
//! a multiple part response" (each part has its own): the linter asks for what the RFC forbids.
//!
//! Without httplint, locally, the test says how to install it and passes; with `CI` set it
//! fails (`.ci/run` installs it).

mod support;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use support::{Response, TestServer};

const CHECK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/httplint_check.py");

/// The levels of httplint's notes that fail the test.
const COUNTED_LEVELS: &[&str] = &["WARN", "BAD"];

fn httplint_available() -> bool {
    let ran = Command::new("python3").args(["-c", "import httplint"]).output();
    match ran {
        Ok(output) if output.status.success() => true,
        _ if std::env::var_os("CI").is_some() => {
            panic!("httplint is missing (CI is set): python3 -m pip install httplint")
        }
        _ => {
            eprintln!("skipping the httplint checks: httplint is not installed (python3 -m pip install httplint)");
            false
        }
    }
}

/// A gzip member (RFC 1952) holding `data` in stored deflate blocks (RFC 1951 §3.2.4): valid
/// gzip that any decoder (httplint's included) reads back, without a compressor in the tests.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// The notes httplint gives this exchange that count, as `LEVEL NAME: summary`, and the raw
/// response (for the failure message).
fn counted_notes(server: &TestServer, name: &str, request: &str) -> (Vec<String>, Vec<u8>) {
    // "Now" for httplint's Date check is when the request was sent, not when Python started.
    let sent = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs_f64();
    let raw = server.raw(request);
    let dir = server.outside();
    let (request_file, response_file) = (dir.join(format!("{name}.request")), dir.join(format!("{name}.response")));
    std::fs::write(&request_file, request).expect("write request");
    std::fs::write(&response_file, &raw).expect("write response");
    let output = Command::new("python3")
        .arg(CHECK)
        .arg(&request_file)
        .arg(&response_file)
        .arg(format!("{sent:.3}"))
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{name}: httplint_check.py failed: {}", String::from_utf8_lossy(&output.stderr));
    let notes = parse_report(&stdout);
    assert!(!notes.is_empty(), "{name}: httplint said nothing at all");
    let counted = notes
        .into_iter()
        .filter(|(level, _, _)| level == "ERROR" || COUNTED_LEVELS.contains(&level.as_str()))
        .map(|(level, note, summary)| format!("{level} {note}: {summary}"))
        .collect();
    (counted, raw)
}

/// The helper's lines: `LEVEL\tNAME\tsummary`.
fn parse_report(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .map(|line| {
            let mut fields = line.splitn(3, '\t').map(str::to_string);
            let mut next = || fields.next().unwrap_or_else(|| panic!("not a report line: {line:?}"));
            (next(), next(), next())
        })
        .collect()
}

#[test]
fn httplint_finds_nothing_to_warn_about() {
    if !httplint_available() {
        return;
    }
    let server = TestServer::start();
    let page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>t</title></head><body><p>text</p></body></html>\n";
    server.write("page.html", page);
    server.write("style.css", "body { color: #123; }\n".repeat(30));
    server.write("style.css.gz", gzip_stored("body { color: #123; }\n".repeat(30).as_bytes()));
    server.write("data.bin", support::pseudo_random_bytes(3000, 5));
    server.write("logo.svgz", gzip_stored(b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>\n"));
    server.write("list/a.txt", "a\n");
    server.write("list/b.txt", "b\n");
    let host = format!("Host: 127.0.0.1:{}\r\nUser-Agent: rawserve-tests\r\n", server.port);
    let etag = |target: &str, fields: &str| -> String {
        let response = Response::parse(&server.raw(format!("GET {target} HTTP/1.1\r\n{host}{fields}\r\n")));
        response.expect_header("ETag").to_string()
    };
    let (page_tag, gzip_tag, list_tag) =
        (etag("/page.html", ""), etag("/style.css", "Accept-Encoding: gzip\r\n"), etag("/list/", ""));
    let last_modified = Response::parse(&server.raw(format!("GET /page.html HTTP/1.1\r\n{host}\r\n")))
        .expect_header("Last-Modified")
        .to_string();
    let exchanges: Vec<(&str, String, u16)> = vec![
        ("200", format!("GET /page.html HTTP/1.1\r\n{host}\r\n"), 200),
        ("200 HEAD", format!("HEAD /page.html HTTP/1.1\r\n{host}\r\n"), 200),
        ("304 If-None-Match", format!("GET /page.html HTTP/1.1\r\n{host}If-None-Match: {page_tag}\r\n\r\n"), 304),
        (
            "304 If-Modified-Since",
            format!("GET /page.html HTTP/1.1\r\n{host}If-Modified-Since: {last_modified}\r\n\r\n"),
            304,
        ),
        (
            "304 of a gzip variant, with Vary",
            format!("GET /style.css HTTP/1.1\r\n{host}Accept-Encoding: gzip\r\nIf-None-Match: {gzip_tag}\r\n\r\n"),
            304,
        ),
        ("200 gzip variant", format!("GET /style.css HTTP/1.1\r\n{host}Accept-Encoding: gzip\r\n\r\n"), 200),
        ("200 svgz", format!("GET /logo.svgz HTTP/1.1\r\n{host}Accept-Encoding: gzip\r\n\r\n"), 200),
        ("206", format!("GET /data.bin HTTP/1.1\r\n{host}Range: bytes=0-99\r\n\r\n"), 206),
        ("206 multipart", format!("GET /data.bin HTTP/1.1\r\n{host}Range: bytes=0-9,100-109,-5\r\n\r\n"), 206),
        ("416", format!("GET /data.bin HTTP/1.1\r\n{host}Range: bytes=5000-\r\n\r\n"), 416),
        ("listing", format!("GET /list/ HTTP/1.1\r\n{host}\r\n"), 200),
        ("304 listing", format!("GET /list/ HTTP/1.1\r\n{host}If-None-Match: {list_tag}\r\n\r\n"), 304),
    ];
    let mut failures = Vec::new();
    for (name, request, status) in &exchanges {
        let (mut counted, raw) = counted_notes(&server, &name.replace(' ', "-"), request);
        let response = Response::parse(&raw);
        assert_eq!(response.status, *status, "{name}: {}", response.status_line);
        if *name == "206 multipart" {
            assert!(response.expect_header("Content-Type").starts_with("multipart/byteranges; boundary="));
            assert_eq!(response.header("Content-Range"), None, "RFC 9110 §15.3.7.2: MUST NOT");
            counted.retain(|note| !note.starts_with("BAD PARTIAL_WITHOUT_RANGE:"));
        }
        if !counted.is_empty() {
            let head_end = support::find(&raw, b"\r\n\r\n").unwrap_or(raw.len());
            failures.push(format!("{name}: {counted:?}\n{}", String::from_utf8_lossy(&raw[..head_end])));
        }
    }
    assert!(failures.is_empty(), "httplint warns:\n{}", failures.join("\n\n"));
}

#[test]
fn the_report_reader_and_the_gzip_writer() {
    let report = parse_report("GOOD\tCL_CORRECT\tThe Content-Length header is correct.\nERROR\t-\tbad framing: x\n");
    assert_eq!(report[0], ("GOOD".into(), "CL_CORRECT".into(), "The Content-Length header is correct.".into()));
    assert_eq!(report[1], ("ERROR".into(), "-".into(), "bad framing: x".into()));
    // The gzip the tests write is gzip: the stored-block header and the CRC-32 of "a".
    let gz = gzip_stored(b"a");
    assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(&gz[gz.len() - 8..], &[0x43, 0xbe, 0xb7, 0xe8, 1, 0, 0, 0]);
}

#[test]
fn httplint_finds_nothing_to_warn_about_with_added_fields() {
    if !httplint_available() {
        return;
    }
    let server = TestServer::start_with(&[
        "--cors",
        "--cross-origin-isolation",
        "--header",
        "X-Frame-Options: DENY",
        "--header",
        "Content-Security-Policy: default-src 'self'",
    ]);
    let page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>t</title></head><body><p>text</p></body></html>\n";
    server.write("page.html", page);
    let host = format!("Host: 127.0.0.1:{}\r\nUser-Agent: rawserve-tests\r\n", server.port);
    let page_tag = Response::parse(&server.raw(format!("GET /page.html HTTP/1.1\r\n{host}\r\n")))
        .expect_header("ETag")
        .to_string();
    let origin = "Origin: http://127.0.0.1:9\r\n";
    let exchanges: Vec<(&str, String, u16)> = vec![
        ("200 with added fields", format!("GET /page.html HTTP/1.1\r\n{host}{origin}\r\n"), 200),
        ("304 with added fields", format!("GET /page.html HTTP/1.1\r\n{host}If-None-Match: {page_tag}\r\n\r\n"), 304),
        (
            "204 preflight",
            format!(
                "OPTIONS /page.html HTTP/1.1\r\n{host}{origin}Access-Control-Request-Method: GET\r\n\
                 Access-Control-Request-Headers: x-probe\r\n\r\n"
            ),
            204,
        ),
        ("404 with added fields", format!("GET /missing HTTP/1.1\r\n{host}\r\n"), 404),
    ];
    let mut failures = Vec::new();
    for (name, request, status) in &exchanges {
        let (counted, raw) = counted_notes(&server, &name.replace(' ', "-"), request);
        let response = Response::parse(&raw);
        assert_eq!(response.status, *status, "{name}: {}", response.status_line);
        if !counted.is_empty() {
            let head_end = support::find(&raw, b"\r\n\r\n").unwrap_or(raw.len());
            failures.push(format!("{name}: {counted:?}\n{}", String::from_utf8_lossy(&raw[..head_end])));
        }
    }
    assert!(failures.is_empty(), "httplint warns:\n{}", failures.join("\n\n"));
}
