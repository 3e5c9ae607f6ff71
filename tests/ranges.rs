//! Range requests (issue 5; RFC 9110 §14, §13.1.5), black-box: the real binary on a fresh root,
//! raw bytes over a loopback socket, every 206 checked byte for byte and every
//! `multipart/byteranges` body parsed part by part.

mod support;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use support::{format_imf_fixdate, pseudo_random_bytes, Response, TestServer};

const T: u64 = 1_700_000_000;
const T_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const SIZE: usize = 1000;
const BIN: &str = "application/octet-stream";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn set_mtime(path: &Path, secs: u64) {
    let file = OpenOptions::new().write(true).open(path).expect("open for set_modified");
    file.set_modified(UNIX_EPOCH + Duration::new(secs, 0)).expect("set_modified");
}

fn put(server: &TestServer, relative: &str, bytes: &[u8]) -> PathBuf {
    let path = server.write(relative, bytes);
    set_mtime(&path, T);
    path
}

fn get(server: &TestServer, target: &str, fields: &[(&str, &str)]) -> Response {
    server.send("GET", target, fields)
}

fn head(server: &TestServer, target: &str, fields: &[(&str, &str)]) -> Response {
    server.send("HEAD", target, fields)
}

fn range(server: &TestServer, target: &str, value: &str) -> Response {
    get(server, target, &[("Range", value)])
}

/// A server with `/data.bin`: `SIZE` pseudo-random bytes, modified at `T`.
fn data_server() -> (TestServer, Vec<u8>) {
    let server = TestServer::start();
    let data = pseudo_random_bytes(SIZE, 5);
    put(&server, "data.bin", &data);
    (server, data)
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()
}

/// A 200 with the whole file.
fn assert_whole(response: &Response, data: &[u8], context: &str) {
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{context}: body {:?}", show(&response.body));
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.header("Content-Range"), None, "{context}");
    assert_eq!(response.expect_header("Accept-Ranges"), "bytes", "{context}");
    assert!(response.body == data, "{context}: body differs from the file ({} bytes)", response.body.len());
}

/// A single-part 206 with bytes `start..=end` of `data`.
fn assert_partial(response: &Response, data: &[u8], start: usize, end: usize, content_type: &str, context: &str) {
    assert_eq!(response.status_line, "HTTP/1.1 206 Partial Content", "{context}: body {:?}", show(&response.body));
    response.assert_status("HTTP/1.1 206 Partial Content");
    assert_eq!(response.expect_header("Content-Range"), format!("bytes {start}-{end}/{}", data.len()), "{context}");
    assert_eq!(response.content_length(), (end - start + 1) as u64, "{context}");
    assert_eq!(response.expect_header("Content-Type"), content_type, "{context}");
    assert!(
        response.body == data[start..=end],
        "{context}: wrong bytes for {start}-{end}: got {} bytes",
        response.body.len()
    );
    // §15.3.7: a 206 carries the validators a 200 would.
    assert_eq!(response.expect_header("Last-Modified"), T_DATE, "{context}");
    assert!(response.expect_header("ETag").starts_with('"'), "{context}");
}

/// A 416 naming the current length.
fn assert_unsatisfiable(response: &Response, size: usize, context: &str) {
    assert_eq!(
        response.status_line,
        "HTTP/1.1 416 Range Not Satisfiable",
        "{context}: body {:?}",
        show(&response.body)
    );
    response.assert_error("HTTP/1.1 416 Range Not Satisfiable");
    assert_eq!(response.expect_header("Content-Range"), format!("bytes */{size}"), "{context}");
}

/// The `boundary` parameter of a `multipart/byteranges` Content-Type.
fn boundary_of(content_type: &str) -> String {
    let params = content_type
        .strip_prefix("multipart/byteranges;")
        .unwrap_or_else(|| panic!("not multipart/byteranges: {content_type:?}"));
    let value = params
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .unwrap_or_else(|| panic!("no boundary in {content_type:?}"));
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
    assert!((1..=70).contains(&value.len()) && !value.ends_with(' '), "RFC 2046 §5.1.1: bad boundary {value:?}");
    value.to_string()
}

/// One part of a multipart body: its fields and its bytes.
struct Part {
    fields: Vec<(String, String)>,
    bytes: Vec<u8>,
}

impl Part {
    fn field(&self, name: &str) -> &str {
        let all: Vec<&str> =
            self.fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        assert_eq!(all.len(), 1, "part field {name} in {:?}", self.fields);
        all[0]
    }
}

/// Parses a `multipart/byteranges` body strictly: `--B CRLF`, fields, CRLF, exactly as many
/// bytes as the part's Content-Range says, CRLF, ... and finally `--B--` (an optional CRLF).
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let mut at = 0usize;
    let mut parts = Vec::new();
    // Each part is at least a delimiter line long, so this bounds the loop.
    for _ in 0..=body.len() / delimiter.len() {
        assert!(
            body[at..].starts_with(delimiter.as_bytes()),
            "expected the delimiter at byte {at}: {:?}",
            show(&body[at..])
        );
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            let epilogue = &body[at + 2..];
            assert!(
                epilogue.is_empty() || epilogue == b"\r\n",
                "bytes after the close delimiter: {:?}",
                show(epilogue)
            );
            return parts;
        }
        assert!(body[at..].starts_with(b"\r\n"), "no CRLF after the delimiter at byte {at}");
        at += 2;
        let end = support::find(&body[at..], b"\r\n\r\n").expect("end of the part's fields") + at;
        let head = std::str::from_utf8(&body[at..end]).expect("part fields are UTF-8");
        let fields: Vec<(String, String)> = head
            .split("\r\n")
            .map(|line| {
                let (n, v) = line.split_once(':').unwrap_or_else(|| panic!("bad part field line {line:?}"));
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        at = end + 4;
        let mut part = Part { fields, bytes: Vec::new() };
        let (first, last, _) = parse_content_range(part.field("Content-Range"));
        let len = usize::try_from(last - first + 1).expect("part length");
        assert!(at + len <= body.len(), "part {first}-{last} runs past the body");
        part.bytes = body[at..at + len].to_vec();
        at += len;
        assert!(body[at..].starts_with(b"\r\n"), "no CRLF after the part's bytes at {at}: {:?}", show(&body[at..]));
        at += 2;
        parts.push(part);
    }
    panic!("no close delimiter found");
}

/// `bytes FIRST-LAST/SIZE` → (FIRST, LAST, SIZE).
fn parse_content_range(value: &str) -> (u64, u64, u64) {
    let rest = value.strip_prefix("bytes ").unwrap_or_else(|| panic!("Content-Range {value:?}"));
    let (span, size) = rest.split_once('/').unwrap_or_else(|| panic!("Content-Range {value:?}"));
    let (first, last) = span.split_once('-').unwrap_or_else(|| panic!("Content-Range {value:?}"));
    let number = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("Content-Range {value:?}"));
    let (first, last, size) = (number(first), number(last), number(size));
    assert!(first <= last && last < size, "Content-Range out of order: {value:?}");
    (first, last, size)
}

/// A multipart 206 whose parts are exactly `expected` (inclusive ranges, in order) of `data`.
fn assert_multipart(response: &Response, data: &[u8], expected: &[(usize, usize)], part_type: &str, context: &str) {
    assert_eq!(response.status_line, "HTTP/1.1 206 Partial Content", "{context}: body {:?}", show(&response.body));
    response.assert_status("HTTP/1.1 206 Partial Content");
    assert_eq!(response.header("Content-Range"), None, "{context}: no Content-Range on a multipart response");
    let boundary = boundary_of(response.expect_header("Content-Type"));
    assert!(!support::contains(data, boundary.as_bytes()), "boundary occurs in the file");
    let parts = parse_multipart(&response.body, &boundary);
    let got: Vec<(usize, usize)> = parts
        .iter()
        .map(|p| {
            let (first, last, _) = parse_content_range(p.field("Content-Range"));
            (first as usize, last as usize)
        })
        .collect();
    assert_eq!(got, expected, "{context}: the parts' ranges");
    for (part, &(first, last)) in parts.iter().zip(expected) {
        assert_eq!(part.field("Content-Type"), part_type, "{context}: part {first}-{last}");
        assert_eq!(part.field("Content-Range"), format!("bytes {first}-{last}/{}", data.len()), "{context}");
        assert!(part.bytes == data[first..=last], "{context}: bytes of part {first}-{last}");
    }
    assert_eq!(response.expect_header("Last-Modified"), T_DATE, "{context}");
}

// ---------------------------------------------------------------------------------------
// Single ranges (§14.1.2, §14.4)
// ---------------------------------------------------------------------------------------

#[test]
fn files_advertise_byte_ranges() {
    let (server, data) = data_server();
    let response = get(&server, "/data.bin", &[]);
    assert_whole(&response, &data, "no Range");
    assert_eq!(response.expect_header("Content-Type"), BIN);
    let response = head(&server, "/data.bin", &[]);
    response.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Accept-Ranges"), "bytes");
}

#[test]
fn single_ranges_give_206_with_the_exact_bytes() {
    let (server, data) = data_server();
    let cases = [
        ("bytes=0-99", 0, 99),
        ("bytes=5-5", 5, 5),
        ("bytes=-500", 500, 999),
        ("bytes=100-", 100, 999),
        ("bytes=990-2000", 990, 999),
        ("bytes=999-999", 999, 999),
        ("bytes=0-999", 0, 999),
        ("bytes=0-", 0, 999),
        ("bytes=-1", 999, 999),
        ("bytes=-1000", 0, 999),
        ("bytes=-5000", 0, 999),
        ("bytes=0-99999999999999999999999", 0, 999),
        ("BYTES=10-19", 10, 19),
        ("bytes=10-19,", 10, 19),
    ];
    for (value, start, end) in cases {
        let response = range(&server, "/data.bin", value);
        assert_partial(&response, &data, start, end, BIN, value);
    }
}

#[test]
fn unsatisfiable_ranges_give_416_with_the_length() {
    let (server, _) = data_server();
    for value in ["bytes=1000-", "bytes=1000-1000", "bytes=1500-1600", "bytes=-0", "bytes=1000-,2000-3000"] {
        let response = range(&server, "/data.bin", value);
        assert_unsatisfiable(&response, SIZE, value);
    }
}

#[test]
fn malformed_ranges_and_unknown_units_are_ignored() {
    let (server, data) = data_server();
    for value in [
        "bytes=abc",
        "bytes=5-4",
        "items=0-1",
        "bytes 0-1",
        "bytes=",
        "bytes=,",
        "bytes=0-1-2",
        "bytes=--1",
        "bytes=+1-2",
        "bytes=0x10-0x20",
        "bytes=0-9,abc",
        "bytes=0-9,5-4",
        "bytes=1 -2",
        "=0-1",
        "",
    ] {
        let response = range(&server, "/data.bin", value);
        assert_whole(&response, &data, &format!("Range: {value:?}"));
    }
}

#[test]
fn zero_byte_file_has_no_satisfiable_first_byte() {
    let server = TestServer::start();
    put(&server, "empty.bin", b"");
    let response = get(&server, "/empty.bin", &[]);
    assert_whole(&response, b"", "no Range");
    for value in ["bytes=0-", "bytes=0-0", "bytes=0-10"] {
        let response = range(&server, "/empty.bin", value);
        assert_unsatisfiable(&response, 0, value);
    }
}

// ---------------------------------------------------------------------------------------
// Several ranges (§14.6)
// ---------------------------------------------------------------------------------------

#[test]
fn several_ranges_give_a_multipart_body_parsed_part_by_part() {
    let (server, data) = data_server();
    let response = range(&server, "/data.bin", "bytes=0-9,20-29,-5");
    assert_multipart(&response, &data, &[(0, 9), (20, 29), (995, 999)], BIN, "0-9,20-29,-5");
}

#[test]
fn multipart_parts_carry_the_files_media_type() {
    let server = TestServer::start();
    let text: Vec<u8> = (0..400).map(|i| b'a' + (i % 26) as u8).collect();
    put(&server, "notes.txt", &text);
    let response = range(&server, "/notes.txt", "bytes=1-2, 100-199,\t300-");
    assert_multipart(&response, &text, &[(1, 2), (100, 199), (300, 399)], "text/plain; charset=utf-8", "notes.txt");
}

#[test]
fn overlapping_and_adjacent_ranges_coalesce() {
    let (server, data) = data_server();
    // Overlapping, adjacent, and out of order: one range each time.
    for (value, start, end) in [
        ("bytes=0-9,5-19", 0, 19),
        ("bytes=0-9,10-19", 0, 19),
        ("bytes=10-19,0-9", 0, 19),
        ("bytes=100-199,150-", 100, 999),
        ("bytes=-10,990-", 990, 999),
    ] {
        let response = range(&server, "/data.bin", value);
        assert_partial(&response, &data, start, end, BIN, value);
    }
    // Out of order and partly overlapping: sorted, merged parts.
    let response = range(&server, "/data.bin", "bytes=50-59,0-9,5-14");
    assert_multipart(&response, &data, &[(0, 14), (50, 59)], BIN, "50-59,0-9,5-14");
}

#[test]
fn unsatisfiable_specs_among_satisfiable_ones_are_dropped() {
    let (server, data) = data_server();
    let response = range(&server, "/data.bin", "bytes=2000-3000,10-19");
    assert_partial(&response, &data, 10, 19, BIN, "2000-3000,10-19");
    let response = range(&server, "/data.bin", "bytes=0-0,5000-,-0,998-");
    assert_multipart(&response, &data, &[(0, 0), (998, 999)], BIN, "0-0,5000-,-0,998-");
}

#[test]
fn multipart_from_a_file_sent_with_sendfile() {
    // Larger than the small-file buffer, so the bytes come from the file itself.
    let server = TestServer::start();
    let data = pseudo_random_bytes(300_000, 9);
    put(&server, "big.bin", &data);
    let response = range(&server, "/big.bin", "bytes=0-0,65536-131071,-70000");
    assert_multipart(&response, &data, &[(0, 0), (65536, 131_071), (230_000, 299_999)], BIN, "big.bin");
    let response = range(&server, "/big.bin", "bytes=100000-");
    assert_partial(&response, &data, 100_000, 299_999, BIN, "big.bin 100000-");
}

// ---------------------------------------------------------------------------------------
// No amplification (§14.2, CVE-2011-3192)
// ---------------------------------------------------------------------------------------

/// The answer to a hostile Range: the whole file with 200, or a 206 no larger than the file
/// whose bytes are right.
fn assert_not_amplified(response: &Response, data: &[u8], context: &str) {
    assert!(
        response.body.len() <= data.len(),
        "{context}: {} response body bytes for a {}-byte file",
        response.body.len(),
        data.len()
    );
    match response.status {
        200 => assert_whole(response, data, context),
        206 => {
            response.assert_status("HTTP/1.1 206 Partial Content");
            match response.header("Content-Range") {
                Some(value) => {
                    let (first, last, size) = parse_content_range(value);
                    assert_eq!(size, data.len() as u64);
                    assert!(response.body == data[first as usize..=last as usize], "{context}: bytes");
                }
                None => {
                    let boundary = boundary_of(response.expect_header("Content-Type"));
                    for part in parse_multipart(&response.body, &boundary) {
                        let (first, last, _) = parse_content_range(part.field("Content-Range"));
                        assert!(part.bytes == data[first as usize..=last as usize], "{context}: part bytes");
                    }
                }
            }
        }
        other => panic!("{context}: status {other}"),
    }
}

#[test]
fn apache_killer_range_is_not_amplified() {
    let (server, data) = data_server();
    // The CVE-2011-3192 request: `bytes=0-,5-0,5-1,5-2,...,5-1299`.
    let mut value = String::from("bytes=0-");
    for i in 0..1300 {
        value.push_str(&format!(",5-{i}"));
    }
    let response = range(&server, "/data.bin", &value);
    assert_not_amplified(&response, &data, "bytes=0-,5-0,5-1,...");
    // The variant without the invalid `5-0`..`5-4`: every spec valid and overlapping.
    let mut value = String::from("bytes=0-");
    for i in 5..1300 {
        value.push_str(&format!(",5-{i}"));
    }
    let response = range(&server, "/data.bin", &value);
    assert_not_amplified(&response, &data, "bytes=0-,5-5,5-6,...");
}

#[test]
fn two_hundred_overlapping_ranges_are_not_amplified() {
    let (server, data) = data_server();
    let specs: Vec<String> = (0..200).map(|i| format!("{i}-{}", i + 99)).collect();
    let response = range(&server, "/data.bin", &format!("bytes={}", specs.join(",")));
    assert_not_amplified(&response, &data, "200 overlapping ranges");
    let specs: Vec<String> = (0..200).map(|_| "0-".to_string()).collect();
    let response = range(&server, "/data.bin", &format!("bytes={}", specs.join(",")));
    assert_not_amplified(&response, &data, "200 x 0-");
    // Many small disjoint ranges: the part headers alone would outweigh the bytes.
    let specs: Vec<String> = (0..200).map(|i| format!("{}-{}", i * 5, i * 5)).collect();
    let response = range(&server, "/data.bin", &format!("bytes={}", specs.join(",")));
    assert_not_amplified(&response, &data, "200 one-byte ranges");
}

#[test]
fn huge_positions_never_crash_the_server() {
    let (server, data) = data_server();
    let response = range(&server, "/data.bin", "bytes=-17208,-9223372036854758792");
    assert_not_amplified(&response, &data, "bytes=-17208,-9223372036854758792");
    let response = get(&server, "/data.bin", &[]);
    assert_whole(&response, &data, "after huge suffixes");

    for value in ["bytes=18446744073709551615-", "bytes=18446744073709551616-", "bytes=99999999999999999999999999-"] {
        let response = range(&server, "/data.bin", value);
        assert_unsatisfiable(&response, SIZE, value);
        let response = range(&server, "/data.bin", "bytes=0-9");
        assert_partial(&response, &data, 0, 9, BIN, &format!("after {value}"));
    }

    for value in [
        "bytes=0-18446744073709551615",
        "bytes=0-18446744073709551616",
        "bytes=-18446744073709551615",
        "bytes=-18446744073709551616",
    ] {
        let response = range(&server, "/data.bin", value);
        assert_partial(&response, &data, 0, 999, BIN, value);
    }
    // Last below first only once both are compared exactly, beyond u64.
    let response = range(&server, "/data.bin", "bytes=18446744073709551617-18446744073709551616");
    assert_whole(&response, &data, "inverted huge range");
    let response = get(&server, "/data.bin", &[]);
    assert_whole(&response, &data, "at the end");
}

// ---------------------------------------------------------------------------------------
// If-Range (§13.1.5)
// ---------------------------------------------------------------------------------------

#[test]
fn if_range_with_the_current_validators_gives_ranges() {
    let (server, data) = data_server();
    let etag = get(&server, "/data.bin", &[]).expect_header("ETag").to_string();
    let response = get(&server, "/data.bin", &[("Range", "bytes=10-19"), ("If-Range", &etag)]);
    assert_partial(&response, &data, 10, 19, BIN, "If-Range: current ETag");
    let response = get(&server, "/data.bin", &[("If-Range", T_DATE), ("Range", "bytes=10-19")]);
    assert_partial(&response, &data, 10, 19, BIN, "If-Range: exact Last-Modified");
    let response = get(&server, "/data.bin", &[("Range", "bytes=0-9,20-29"), ("If-Range", &etag)]);
    assert_multipart(&response, &data, &[(0, 9), (20, 29)], BIN, "If-Range with several ranges");
}

#[test]
fn if_range_with_other_validators_gives_the_whole_file() {
    let (server, data) = data_server();
    let etag = get(&server, "/data.bin", &[]).expect_header("ETag").to_string();
    let weak = format!("W/{etag}");
    let later = format_imf_fixdate(T + 1);
    let earlier = format_imf_fixdate(T - 1);
    for value in ["\"nope\"", &weak, &later, &earlier, "garbage", &format!("{etag}, \"nope\"")] {
        let response = get(&server, "/data.bin", &[("Range", "bytes=10-19"), ("If-Range", value)]);
        assert_whole(&response, &data, &format!("If-Range: {value}"));
    }
}

#[test]
fn if_range_with_an_old_etag_after_the_file_changed_gives_the_whole_file() {
    let (server, data) = data_server();
    let old = get(&server, "/data.bin", &[]).expect_header("ETag").to_string();
    let path = server.root.join("data.bin");
    let new_data = pseudo_random_bytes(SIZE + 24, 6);
    std::fs::write(&path, &new_data).expect("rewrite");
    set_mtime(&path, T + 60);
    let response = get(&server, "/data.bin", &[("Range", "bytes=10-19"), ("If-Range", &old)]);
    assert_whole(&response, &new_data, "If-Range: old ETag");
    assert_ne!(response.expect_header("ETag"), old);
    let response = get(&server, "/data.bin", &[("Range", "bytes=10-19"), ("If-Range", T_DATE)]);
    assert_whole(&response, &new_data, "If-Range: old date");
    let response = get(&server, "/data.bin", &[("Range", "bytes=10-19"), ("If-Range", &format_imf_fixdate(T + 60))]);
    assert_eq!(response.status, 206, "If-Range: new date");
    assert_eq!(response.expect_header("Content-Range"), format!("bytes 10-19/{}", new_data.len()));
    assert!(response.body == new_data[10..20]);
    // Unmodified data is what a resumed download would have appended to: not the old bytes.
    assert!(data[10..20] != new_data[10..20]);
}

#[test]
fn conditional_headers_are_evaluated_before_range() {
    let (server, _) = data_server();
    let etag = get(&server, "/data.bin", &[]).expect_header("ETag").to_string();
    let response = get(&server, "/data.bin", &[("Range", "bytes=0-9"), ("If-None-Match", &etag)]);
    response.assert_not_modified(&[
        "Date",
        "Server",
        "Connection",
        "X-Content-Type-Options",
        "ETag",
        "Last-Modified",
        "Cache-Control",
    ]);
    assert_eq!(response.header("Content-Range"), None);
    assert_eq!(response.expect_header("ETag"), etag);
    let response = get(&server, "/data.bin", &[("Range", "bytes=0-9"), ("If-Match", "\"nope\"")]);
    response.assert_error("HTTP/1.1 412 Precondition Failed");
    let response = get(&server, "/data.bin", &[("Range", "bytes=5000-"), ("If-Match", "\"nope\"")]);
    response.assert_error("HTTP/1.1 412 Precondition Failed");
}

// ---------------------------------------------------------------------------------------
// A large file
// ---------------------------------------------------------------------------------------

#[test]
fn range_deep_into_a_large_file() {
    let server = TestServer::start();
    let data = pseudo_random_bytes(8 * 1024 * 1024, 77);
    put(&server, "large.bin", &data);
    let response = range(&server, "/large.bin", "bytes=8000000-8000099");
    assert_partial(&response, &data, 8_000_000, 8_000_099, BIN, "8000000-8000099");
    let response = range(&server, "/large.bin", "bytes=-100");
    assert_partial(&response, &data, data.len() - 100, data.len() - 1, BIN, "last 100 of 8 MiB");
    let response = range(&server, "/large.bin", "bytes=4194304-4194304,8388600-");
    assert_multipart(&response, &data, &[(4_194_304, 4_194_304), (8_388_600, 8_388_607)], BIN, "deep multipart");
}

// ---------------------------------------------------------------------------------------
// HEAD
// ---------------------------------------------------------------------------------------

#[test]
fn head_with_range_reports_the_same_status_and_headers_as_get() {
    let (server, _) = data_server();
    for value in ["bytes=0-99", "bytes=-500", "bytes=1000-", "bytes=abc", "bytes=0-9,20-29,-5"] {
        let with_get = range(&server, "/data.bin", value);
        let with_head = head(&server, "/data.bin", &[("Range", value)]);
        with_head.assert_head_response(&with_get.status_line);
        for name in ["Content-Range", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges"] {
            assert_eq!(with_head.header(name), with_get.header(name), "{name} for Range: {value}");
        }
        let (head_type, get_type) = (with_head.expect_header("Content-Type"), with_get.expect_header("Content-Type"));
        if get_type.starts_with("multipart/") {
            boundary_of(head_type);
            assert_eq!(
                head_type.split_once("boundary=").map(|(a, b)| (a, b.len())),
                get_type.split_once("boundary=").map(|(a, b)| (a, b.len())),
                "multipart Content-Type for Range: {value}"
            );
        } else {
            assert_eq!(head_type, get_type, "Content-Type for Range: {value}");
        }
    }
    let response = head(&server, "/data.bin", &[("Range", "bytes=0-99")]);
    response.assert_head_response("HTTP/1.1 206 Partial Content");
    assert_eq!(response.expect_header("Content-Range"), "bytes 0-99/1000");
    assert_eq!(response.content_length(), 100);
}

// ---------------------------------------------------------------------------------------
// Compressed variants
// ---------------------------------------------------------------------------------------

#[test]
fn ranges_on_a_compressed_variant_address_its_own_bytes() {
    let server = TestServer::start();
    let plain = pseudo_random_bytes(500, 1);
    let gzip = [&b"\x1f\x8b\x08\x00"[..], &pseudo_random_bytes(200, 2)].concat();
    put(&server, "app.js", &plain);
    put(&server, "app.js.gz", &gzip);
    let js = "text/javascript; charset=utf-8";
    let response = get(&server, "/app.js", &[("Accept-Encoding", "gzip"), ("Range", "bytes=0-3")]);
    assert_partial(&response, &gzip, 0, 3, js, "gzip variant 0-3");
    assert_eq!(response.expect_header("Content-Encoding"), "gzip");
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"]);
    let response = get(&server, "/app.js", &[("Accept-Encoding", "gzip"), ("Range", "bytes=300-")]);
    assert_unsatisfiable(&response, gzip.len(), "past the gzip variant's end");
    let response = get(&server, "/app.js", &[("Range", "bytes=300-")]);
    assert_partial(&response, &plain, 300, 499, js, "plain 300-");
    assert_eq!(response.header("Content-Encoding"), None);
}

#[test]
fn a_repeated_range_field_is_ignored() {
    let server = TestServer::start();
    put(&server, "r.txt", b"0123456789");
    let response = server.send("GET", "/r.txt", &[("Range", "bytes=0-1"), ("Range", "bytes=2-3")]);
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"0123456789");
}
