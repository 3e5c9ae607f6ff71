//! Validators, conditional requests and precompressed siblings (issue 5; RFC 9110 §8.8, §13,
//! §12.5.3), black-box: the real binary on a fresh root, raw bytes over a loopback socket.
//!
//! Every file gets a modification time set with `File::set_modified`, so `Last-Modified` is
//! known exactly and dates before, at and after it can be written by hand.

mod support;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use support::{format_imf_fixdate, parse_imf_fixdate, Response, TestServer};

/// The modification time most files get: 1 700 000 000 s after the epoch, plus some nanoseconds.
const T: u64 = 1_700_000_000;
const T_NANOS: u32 = 123_456_789;
/// `T` as an IMF-fixdate, written out by hand.
const T_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const HTML: &str = "text/html; charset=utf-8";

const PAGE: &[u8] = b"<!DOCTYPE html>\n<title>caching</title>\n<p>the plain representation, long enough</p>\n";
const PAGE_BR: &[u8] = b"\x0b\x1a\x80BROTLI-BYTES-not-really";
const PAGE_GZ: &[u8] = b"\x1f\x8b\x08\x00GZIP-BYTES-not-really-compressed";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn set_mtime(path: &Path, secs: u64, nanos: u32) {
    let file = OpenOptions::new().write(true).open(path).expect("open for set_modified");
    file.set_modified(UNIX_EPOCH + Duration::new(secs, nanos)).expect("set_modified");
}

/// Writes `relative` below the root with modification time `T` (+ `T_NANOS`).
fn put(server: &TestServer, relative: &str, bytes: &[u8]) -> PathBuf {
    let path = server.write(relative, bytes);
    set_mtime(&path, T, T_NANOS);
    path
}

fn get(server: &TestServer, target: &str, fields: &[(&str, &str)]) -> Response {
    server.send("GET", target, fields)
}

fn head(server: &TestServer, target: &str, fields: &[(&str, &str)]) -> Response {
    server.send("HEAD", target, fields)
}

/// A 200 carrying exactly `body` as `content_type`.
fn assert_ok(response: &Response, body: &[u8], content_type: &str) {
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), content_type);
    assert!(
        response.body == body,
        "body: expected {:?}, got {:?}",
        String::from_utf8_lossy(body),
        response.body_text()
    );
}

/// A strong entity-tag (RFC 9110 §8.8.3): quoted, no `W/`, only `etagc` inside.
fn assert_strong_etag(tag: &str) {
    assert!(!tag.starts_with("W/"), "ETag is weak: {tag:?}");
    assert!(tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"'), "ETag is not quoted: {tag:?}");
    let inner = &tag.as_bytes()[1..tag.len() - 1];
    assert!(inner.iter().all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80), "bad etagc in {tag:?}");
}

/// A 304 (§15.4.5): no body bytes; the validators, `Date`, the same `Cache-Control` a 200
/// has, and `Vary` when the file has precompressed siblings; and nothing else but the fields
/// every response carries: no `Content-Type`, `Content-Encoding`, `Content-Length` or
/// `Accept-Ranges` (representation metadata a 304 SHOULD NOT send; nginx drops them too).
fn assert_not_modified(response: &Response, etag: &str, last_modified: &str, vary: bool) {
    let mut names = vec!["Date", "Server", "Connection", "X-Content-Type-Options"];
    if vary {
        names.push("Vary");
    }
    names.extend(["ETag", "Last-Modified", "Cache-Control"]);
    response.assert_not_modified(&names);
    assert_eq!(response.expect_header("ETag"), etag);
    assert_eq!(response.expect_header("Last-Modified"), last_modified);
    assert!(parse_imf_fixdate(response.expect_header("Date")).is_some());
    assert_eq!(response.expect_header("Cache-Control"), "no-cache");
    if vary {
        assert_eq!(response.expect_header("Vary"), "Accept-Encoding");
    }
}

fn assert_precondition_failed(response: &Response) {
    response.assert_error("HTTP/1.1 412 Precondition Failed");
}

/// The ETag of a 200 GET for `target` with `fields`.
fn etag_of(server: &TestServer, target: &str, fields: &[(&str, &str)]) -> String {
    let response = get(server, target, fields);
    response.assert_status("HTTP/1.1 200 OK");
    response.expect_header("ETag").to_string()
}

/// A server with `/page.html` (modified at `T`) and its ETag.
fn page_server() -> (TestServer, String) {
    let server = TestServer::start();
    put(&server, "page.html", PAGE);
    let etag = etag_of(&server, "/page.html", &[]);
    (server, etag)
}

// ---------------------------------------------------------------------------------------
// The test's own date helper, against the RFC's example and the constant above
// ---------------------------------------------------------------------------------------

#[test]
fn date_helper_matches_known_dates() {
    assert_eq!(format_imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(format_imf_fixdate(T), T_DATE);
    assert_eq!(parse_imf_fixdate(T_DATE), Some(T));
}

// ---------------------------------------------------------------------------------------
// Validators (§8.8)
// ---------------------------------------------------------------------------------------

#[test]
fn file_response_carries_last_modified_strong_etag_and_no_cache() {
    let server = TestServer::start();
    put(&server, "page.html", PAGE);
    let response = get(&server, "/page.html", &[]);
    assert_ok(&response, PAGE, HTML);
    assert_eq!(response.expect_header("Last-Modified"), T_DATE);
    assert_strong_etag(response.expect_header("ETag"));
    assert_eq!(response.expect_header("Cache-Control"), "no-cache");
    assert_eq!(response.expect_header("Accept-Ranges"), "bytes");
    assert_eq!(response.header("Vary"), None, "no sibling, so no Vary");
    assert_eq!(response.header("Content-Encoding"), None);

    // The same file asked again: the same validators.
    let again = get(&server, "/page.html", &[]);
    assert_eq!(again.expect_header("ETag"), response.expect_header("ETag"));
    assert_eq!(again.expect_header("Last-Modified"), T_DATE);
}

#[test]
fn last_modified_follows_the_mtime_set() {
    let server = TestServer::start();
    let path = put(&server, "a.txt", b"abc");
    for secs in [0, 784_111_777, 951_782_400, 4_102_444_799] {
        set_mtime(&path, secs, 0);
        let response = get(&server, "/a.txt", &[]);
        assert_ok(&response, b"abc", "text/plain; charset=utf-8");
        assert_eq!(response.expect_header("Last-Modified"), format_imf_fixdate(secs), "mtime {secs}");
    }
}

#[test]
fn etag_changes_when_size_or_mtime_changes() {
    let server = TestServer::start();
    let path = put(&server, "page.html", PAGE);
    let first = etag_of(&server, "/page.html", &[]);
    assert_strong_etag(&first);

    // New content of another size, the same mtime: a new tag, the same Last-Modified.
    let longer = [PAGE, b"<p>more</p>\n"].concat();
    std::fs::write(&path, &longer).expect("rewrite");
    set_mtime(&path, T, T_NANOS);
    let response = get(&server, "/page.html", &[]);
    assert_ok(&response, &longer, HTML);
    let second = response.expect_header("ETag").to_string();
    assert_strong_etag(&second);
    assert_ne!(second, first, "size changed, ETag did not");
    assert_eq!(response.expect_header("Last-Modified"), T_DATE);

    // The same content, a later mtime: a new tag and a new Last-Modified.
    set_mtime(&path, T + 10, T_NANOS);
    let response = get(&server, "/page.html", &[]);
    assert_ok(&response, &longer, HTML);
    let third = response.expect_header("ETag").to_string();
    assert_strong_etag(&third);
    assert_ne!(third, second, "mtime changed, ETag did not");
    assert_ne!(third, first);
    assert_eq!(response.expect_header("Last-Modified"), format_imf_fixdate(T + 10));

    // A cache holding an old tag gets the new file; one holding the new tag gets a 304.
    let stale = get(&server, "/page.html", &[("If-None-Match", &first)]);
    assert_ok(&stale, &longer, HTML);
    let stale = get(&server, "/page.html", &[("If-None-Match", &second)]);
    assert_ok(&stale, &longer, HTML);
    let fresh = get(&server, "/page.html", &[("If-None-Match", &third)]);
    assert_not_modified(&fresh, &third, &format_imf_fixdate(T + 10), false);
}

#[test]
fn etag_changes_on_a_same_size_rewrite_within_the_same_second() {
    // Last-Modified cannot see this change (whole seconds); the strong tag must (issue 5: the
    // tag is derived from size and mtime in nanoseconds).
    let server = TestServer::start();
    let path = put(&server, "a.txt", b"version-1");
    let first = etag_of(&server, "/a.txt", &[]);
    std::fs::write(&path, b"version-2").expect("rewrite");
    set_mtime(&path, T, T_NANOS + 1_000);
    let response = get(&server, "/a.txt", &[("If-None-Match", &first)]);
    assert_ok(&response, b"version-2", "text/plain; charset=utf-8");
    assert_eq!(response.expect_header("Last-Modified"), T_DATE);
    assert_ne!(response.expect_header("ETag"), first);
}

// ---------------------------------------------------------------------------------------
// If-None-Match (§13.1.2)
// ---------------------------------------------------------------------------------------

#[test]
fn if_none_match_with_the_current_tag_is_304_without_a_body() {
    let (server, etag) = page_server();
    let response = get(&server, "/page.html", &[("If-None-Match", &etag)]);
    assert_not_modified(&response, &etag, T_DATE, false);
}

#[test]
fn if_none_match_list_star_and_weak_form_are_304() {
    let (server, etag) = page_server();
    let weak = format!("W/{etag}");
    let values = [
        format!("\"nope\", {etag}"),
        format!("\"a\",\t\"b\" , {etag} ,\"c\""),
        format!("{etag}, \"nope\""),
        "*".to_string(),
        weak.clone(),
        format!("\"nope\", {weak}"),
    ];
    for value in &values {
        let response = get(&server, "/page.html", &[("If-None-Match", value)]);
        assert_eq!(response.status, 304, "If-None-Match: {value}");
        assert_not_modified(&response, &etag, T_DATE, false);
    }
}

#[test]
fn if_none_match_split_over_two_field_lines_is_one_list() {
    let (server, etag) = page_server();
    let response = get(&server, "/page.html", &[("If-None-Match", "\"nope\""), ("If-None-Match", &etag)]);
    assert_not_modified(&response, &etag, T_DATE, false);
}

#[test]
fn if_none_match_without_the_tag_is_200() {
    let (server, etag) = page_server();
    let inner = etag.trim_matches('"');
    let values = [
        "\"nope\"".to_string(),
        "\"nope\", W/\"other\"".to_string(),
        format!("\"{inner}x\""),
        // Unquoted, or lower-case weak prefix: not an entity-tag at all.
        inner.to_string(),
        format!("w/{etag}"),
    ];
    for value in &values {
        let response = get(&server, "/page.html", &[("If-None-Match", value)]);
        assert_eq!(response.status, 200, "If-None-Match: {value}");
        assert_ok(&response, PAGE, HTML);
        assert_eq!(response.expect_header("ETag"), etag);
    }
}

// ---------------------------------------------------------------------------------------
// If-Modified-Since (§13.1.3)
// ---------------------------------------------------------------------------------------

#[test]
fn if_modified_since_at_or_after_last_modified_is_304() {
    let (server, etag) = page_server();
    for date in [T_DATE.to_string(), format_imf_fixdate(T + 1), format_imf_fixdate(T + 86_400 * 365)] {
        let response = get(&server, "/page.html", &[("If-Modified-Since", &date)]);
        assert_eq!(response.status, 304, "If-Modified-Since: {date}");
        assert_not_modified(&response, &etag, T_DATE, false);
    }
}

#[test]
fn if_modified_since_in_the_obsolete_date_forms_is_understood() {
    // §5.6.7: recipients MUST accept the RFC 850 and asctime forms too.
    let (server, etag) = page_server();
    for date in ["Tuesday, 14-Nov-23 22:13:20 GMT", "Tue Nov 14 22:13:20 2023"] {
        let response = get(&server, "/page.html", &[("If-Modified-Since", date)]);
        assert_eq!(response.status, 304, "If-Modified-Since: {date}");
        assert_not_modified(&response, &etag, T_DATE, false);
    }
}

#[test]
fn if_modified_since_before_last_modified_is_200() {
    let (server, _) = page_server();
    for date in [format_imf_fixdate(T - 1), format_imf_fixdate(T - 86_400), format_imf_fixdate(0)] {
        let response = get(&server, "/page.html", &[("If-Modified-Since", &date)]);
        assert_eq!(response.status, 200, "If-Modified-Since: {date}");
        assert_ok(&response, PAGE, HTML);
    }
}

#[test]
fn if_modified_since_is_ignored_when_if_none_match_is_present() {
    let (server, etag) = page_server();
    let future = format_imf_fixdate(T + 3600);
    // A tag that does not match, with a date that would give 304: the tag decides, 200.
    let response = get(&server, "/page.html", &[("If-None-Match", "\"nope\""), ("If-Modified-Since", &future)]);
    assert_ok(&response, PAGE, HTML);
    // The order of the fields does not matter.
    let response = get(&server, "/page.html", &[("If-Modified-Since", &future), ("If-None-Match", "\"nope\"")]);
    assert_ok(&response, PAGE, HTML);
    // A matching tag with a date that would give 200: still 304 (If-None-Match beats it).
    let past = format_imf_fixdate(T - 3600);
    let response = get(&server, "/page.html", &[("If-None-Match", &etag), ("If-Modified-Since", &past)]);
    assert_not_modified(&response, &etag, T_DATE, false);
}

#[test]
fn if_modified_since_with_an_invalid_date_is_ignored() {
    let (server, _) = page_server();
    let after = format_imf_fixdate(T + 3600);
    let values = [
        "garbage".to_string(),
        "".to_string(),
        "2030-01-01T00:00:00Z".to_string(),
        format!("{after} x"),
        format!("{after}, {after}"),
        "Tue, 32 Nov 2030 22:13:20 GMT".to_string(),
    ];
    for value in &values {
        let response = get(&server, "/page.html", &[("If-Modified-Since", value)]);
        assert_eq!(response.status, 200, "If-Modified-Since: {value:?}");
        assert_ok(&response, PAGE, HTML);
    }
}

// ---------------------------------------------------------------------------------------
// If-Match (§13.1.1) and If-Unmodified-Since (§13.1.4)
// ---------------------------------------------------------------------------------------

#[test]
fn if_match_without_the_current_tag_is_412() {
    let (server, etag) = page_server();
    let values = [
        "\"nope\"".to_string(),
        "\"a\", \"b\"".to_string(),
        // If-Match uses the strong comparison: the weak form of the tag does not match.
        format!("W/{etag}"),
        etag.trim_matches('"').to_string(),
    ];
    for value in &values {
        let response = get(&server, "/page.html", &[("If-Match", value)]);
        assert_eq!(response.status, 412, "If-Match: {value}");
        assert_precondition_failed(&response);
    }
}

#[test]
fn if_match_with_the_current_tag_or_star_is_200() {
    let (server, etag) = page_server();
    for value in [etag.clone(), format!("\"nope\", {etag}"), "*".to_string()] {
        let response = get(&server, "/page.html", &[("If-Match", &value)]);
        assert_eq!(response.status, 200, "If-Match: {value}");
        assert_ok(&response, PAGE, HTML);
        assert_eq!(response.expect_header("ETag"), etag);
    }
}

#[test]
fn if_unmodified_since_before_last_modified_is_412() {
    let (server, _) = page_server();
    for date in [format_imf_fixdate(T - 1), format_imf_fixdate(0)] {
        let response = get(&server, "/page.html", &[("If-Unmodified-Since", &date)]);
        assert_eq!(response.status, 412, "If-Unmodified-Since: {date}");
        assert_precondition_failed(&response);
    }
}

#[test]
fn if_unmodified_since_at_or_after_last_modified_or_invalid_is_200() {
    let (server, _) = page_server();
    for date in [T_DATE.to_string(), format_imf_fixdate(T + 3600), "garbage".to_string()] {
        let response = get(&server, "/page.html", &[("If-Unmodified-Since", &date)]);
        assert_eq!(response.status, 200, "If-Unmodified-Since: {date}");
        assert_ok(&response, PAGE, HTML);
    }
}

#[test]
fn if_unmodified_since_is_ignored_when_if_match_is_present() {
    let (server, etag) = page_server();
    let past = format_imf_fixdate(T - 3600);
    let response = get(&server, "/page.html", &[("If-Match", &etag), ("If-Unmodified-Since", &past)]);
    assert_ok(&response, PAGE, HTML);
    let response = get(&server, "/page.html", &[("If-Unmodified-Since", &past), ("If-Match", "*")]);
    assert_ok(&response, PAGE, HTML);
}

// ---------------------------------------------------------------------------------------
// The order of §13.2.2
// ---------------------------------------------------------------------------------------

#[test]
fn failing_if_match_beats_matching_if_none_match() {
    let (server, etag) = page_server();
    let response = get(&server, "/page.html", &[("If-None-Match", &etag), ("If-Match", "\"nope\"")]);
    assert_precondition_failed(&response);
    let future = format_imf_fixdate(T + 3600);
    let response = get(&server, "/page.html", &[("If-Match", "\"nope\""), ("If-Modified-Since", &future)]);
    assert_precondition_failed(&response);
}

#[test]
fn failing_if_unmodified_since_beats_if_none_match_and_if_modified_since() {
    let (server, etag) = page_server();
    let past = format_imf_fixdate(T - 3600);
    let response = get(&server, "/page.html", &[("If-None-Match", &etag), ("If-Unmodified-Since", &past)]);
    assert_precondition_failed(&response);
    let future = format_imf_fixdate(T + 3600);
    let response = get(&server, "/page.html", &[("If-Modified-Since", &future), ("If-Unmodified-Since", &past)]);
    assert_precondition_failed(&response);
}

#[test]
fn passing_if_match_then_if_none_match_decides() {
    let (server, etag) = page_server();
    let response = get(&server, "/page.html", &[("If-Match", "*"), ("If-None-Match", &etag)]);
    assert_not_modified(&response, &etag, T_DATE, false);
    let future = format_imf_fixdate(T + 3600);
    let response = get(&server, "/page.html", &[("If-Match", &etag), ("If-Modified-Since", &future)]);
    assert_not_modified(&response, &etag, T_DATE, false);
    let response = get(&server, "/page.html", &[("If-Match", &etag), ("If-None-Match", "\"nope\"")]);
    assert_ok(&response, PAGE, HTML);
}

// ---------------------------------------------------------------------------------------
// HEAD
// ---------------------------------------------------------------------------------------

#[test]
fn head_gives_the_same_conditional_statuses_as_get() {
    let (server, etag) = page_server();
    let past = format_imf_fixdate(T - 3600);
    let future = format_imf_fixdate(T + 3600);
    let cases: [(&str, &str, &str); 8] = [
        ("If-None-Match", &etag, "HTTP/1.1 304 Not Modified"),
        ("If-None-Match", "*", "HTTP/1.1 304 Not Modified"),
        ("If-None-Match", "\"nope\"", "HTTP/1.1 200 OK"),
        ("If-Modified-Since", &future, "HTTP/1.1 304 Not Modified"),
        ("If-Modified-Since", &past, "HTTP/1.1 200 OK"),
        ("If-Match", "\"nope\"", "HTTP/1.1 412 Precondition Failed"),
        ("If-Match", &etag, "HTTP/1.1 200 OK"),
        ("If-Unmodified-Since", &past, "HTTP/1.1 412 Precondition Failed"),
    ];
    for (name, value, status_line) in cases {
        let with_get = get(&server, "/page.html", &[(name, value)]);
        assert_eq!(with_get.status_line, status_line, "GET with {name}: {value}");
        let with_head = head(&server, "/page.html", &[(name, value)]);
        if with_head.status == 304 {
            assert_not_modified(&with_head, &etag, T_DATE, false);
            assert_eq!(with_head.headers_without_date(), with_get.headers_without_date(), "HEAD with {name}: {value}");
        } else {
            with_head.assert_head_response(status_line);
        }
        if with_head.status != 412 {
            assert_eq!(with_head.expect_header("ETag"), etag, "HEAD with {name}: {value}");
            assert_eq!(with_head.expect_header("Last-Modified"), T_DATE);
            assert_eq!(with_head.expect_header("Cache-Control"), "no-cache");
        }
        if with_head.status == 200 {
            assert_eq!(with_head.content_length(), PAGE.len() as u64);
            assert_eq!(with_head.expect_header("Content-Type"), HTML);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cache-Control
// ---------------------------------------------------------------------------------------

#[test]
fn cache_control_option_replaces_the_default() {
    let server = TestServer::start_with(&["--cache-control", "max-age=60"]);
    put(&server, "page.html", PAGE);
    let response = get(&server, "/page.html", &[]);
    assert_ok(&response, PAGE, HTML);
    assert_eq!(response.headers_named("Cache-Control"), ["max-age=60"]);
    let etag = response.expect_header("ETag").to_string();
    let response = get(&server, "/page.html", &[("If-None-Match", &etag)]);
    response.assert_not_modified(&[
        "Date",
        "Server",
        "Connection",
        "X-Content-Type-Options",
        "ETag",
        "Last-Modified",
        "Cache-Control",
    ]);
    assert_eq!(response.headers_named("Cache-Control"), ["max-age=60"]);
}

// ---------------------------------------------------------------------------------------
// Precompressed siblings (§12.5.3, §8.4)
// ---------------------------------------------------------------------------------------

/// `/a.html` with `.br` and `.gz` siblings, all with mtime `T`.
fn siblings_server() -> TestServer {
    let server = TestServer::start();
    put(&server, "a.html", PAGE);
    put(&server, "a.html.br", PAGE_BR);
    put(&server, "a.html.gz", PAGE_GZ);
    server
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Variant {
    Plain,
    Gzip,
    Brotli,
}

/// A 200 with the bytes of `variant`, labelled as HTML, with `Vary: Accept-Encoding`.
fn assert_variant(response: &Response, variant: Variant, context: &str) {
    let (body, coding) = match variant {
        Variant::Plain => (PAGE, None),
        Variant::Gzip => (PAGE_GZ, Some("gzip")),
        Variant::Brotli => (PAGE_BR, Some("br")),
    };
    assert_eq!(response.status, 200, "{context}");
    assert_ok(response, body, HTML);
    assert_eq!(response.header("Content-Encoding"), coding, "{context}");
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"], "{context}");
    assert_eq!(response.expect_header("Last-Modified"), T_DATE, "{context}");
    assert_eq!(response.expect_header("Accept-Ranges"), "bytes", "{context}");
    assert_strong_etag(response.expect_header("ETag"));
}

#[test]
fn brotli_is_preferred_when_both_are_accepted() {
    let server = siblings_server();
    let plain = get(&server, "/a.html", &[]);
    assert_variant(&plain, Variant::Plain, "no Accept-Encoding");
    for value in ["br, gzip", "gzip, br", "gzip, deflate, br, zstd"] {
        let response = get(&server, "/a.html", &[("Accept-Encoding", value)]);
        assert_variant(&response, Variant::Brotli, value);
        assert_ne!(response.expect_header("ETag"), plain.expect_header("ETag"), "br variant has its own tag");
    }
}

#[test]
fn gzip_only_accepted_gets_the_gz_file() {
    let server = siblings_server();
    let plain = get(&server, "/a.html", &[]);
    let brotli = get(&server, "/a.html", &[("Accept-Encoding", "br")]);
    assert_variant(&brotli, Variant::Brotli, "br");
    let response = get(&server, "/a.html", &[("Accept-Encoding", "gzip")]);
    assert_variant(&response, Variant::Gzip, "gzip");
    let gzip_tag = response.expect_header("ETag");
    assert_ne!(gzip_tag, plain.expect_header("ETag"));
    assert_ne!(gzip_tag, brotli.expect_header("ETag"));
}

#[test]
fn q_values_choose_the_coding() {
    let server = siblings_server();
    let cases = [
        ("br;q=0, gzip", Variant::Gzip),
        ("gzip;q=0.5, br;q=0.8", Variant::Brotli),
        ("gzip;q=0.9, br;q=0.1", Variant::Gzip),
        ("gzip;q=1.0, br;q=0.999", Variant::Gzip),
        ("gzip; q=0.2, br ; q=0.3", Variant::Brotli),
        ("br;q=0, gzip;q=0", Variant::Plain),
        ("gzip;q=0", Variant::Plain),
        ("GZIP", Variant::Gzip),
        ("*", Variant::Brotli),
        ("*, br;q=0", Variant::Gzip),
        ("identity", Variant::Plain),
        ("identity, deflate", Variant::Plain),
        ("", Variant::Plain),
    ];
    for (value, expected) in cases {
        let response = get(&server, "/a.html", &[("Accept-Encoding", value)]);
        assert_variant(&response, expected, &format!("Accept-Encoding: {value:?}"));
    }
}

#[test]
fn plain_answer_for_a_file_with_siblings_still_varies() {
    let server = siblings_server();
    let none = get(&server, "/a.html", &[]);
    assert_variant(&none, Variant::Plain, "no Accept-Encoding");
    let identity = get(&server, "/a.html", &[("Accept-Encoding", "identity")]);
    assert_variant(&identity, Variant::Plain, "identity");
    assert_eq!(identity.expect_header("ETag"), none.expect_header("ETag"));
    let head_plain = head(&server, "/a.html", &[]);
    head_plain.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(head_plain.headers_named("Vary"), ["Accept-Encoding"]);
    assert_eq!(head_plain.header("Content-Encoding"), None);
    assert_eq!(head_plain.content_length(), PAGE.len() as u64);
}

#[test]
fn head_on_a_compressed_variant_reports_its_headers() {
    let server = siblings_server();
    let got = get(&server, "/a.html", &[("Accept-Encoding", "gzip")]);
    let response = head(&server, "/a.html", &[("Accept-Encoding", "gzip")]);
    response.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(response.content_length(), PAGE_GZ.len() as u64);
    assert_eq!(response.expect_header("Content-Encoding"), "gzip");
    assert_eq!(response.expect_header("Content-Type"), HTML);
    assert_eq!(response.expect_header("ETag"), got.expect_header("ETag"));
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"]);
}

#[test]
fn file_with_only_a_gzip_sibling() {
    let server = TestServer::start();
    let css: &[u8] = b"body { color: #123456; margin: 0 auto; }\n";
    let css_gz: &[u8] = b"\x1f\x8b\x08\x00css-gzip";
    put(&server, "b.css", css);
    put(&server, "b.css.gz", css_gz);
    let css_type = "text/css; charset=utf-8";

    let response = get(&server, "/b.css", &[("Accept-Encoding", "br, gzip")]);
    assert_ok(&response, css_gz, css_type);
    assert_eq!(response.expect_header("Content-Encoding"), "gzip");
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"]);

    // Brotli wanted, only gzip on disk and gzip not accepted: the plain file, still varying.
    let response = get(&server, "/b.css", &[("Accept-Encoding", "br")]);
    assert_ok(&response, css, css_type);
    assert_eq!(response.header("Content-Encoding"), None);
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"]);

    let response = get(&server, "/b.css", &[]);
    assert_ok(&response, css, css_type);
    assert_eq!(response.header("Content-Encoding"), None);
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"]);
}

#[test]
fn file_without_siblings_has_no_vary() {
    let server = siblings_server();
    put(&server, "lonely.html", PAGE);
    for value in [None, Some("br, gzip"), Some("gzip")] {
        let fields: Vec<(&str, &str)> = value.map(|v| ("Accept-Encoding", v)).into_iter().collect();
        let response = get(&server, "/lonely.html", &fields);
        assert_ok(&response, PAGE, HTML);
        assert_eq!(response.header("Content-Encoding"), None, "{value:?}");
        assert_eq!(response.header("Vary"), None, "{value:?}");
    }
}

#[test]
fn compressed_file_asked_for_directly_is_application_gzip() {
    let server = siblings_server();
    for value in [None, Some("gzip"), Some("br, gzip")] {
        let fields: Vec<(&str, &str)> = value.map(|v| ("Accept-Encoding", v)).into_iter().collect();
        let response = get(&server, "/a.html.gz", &fields);
        assert_ok(&response, PAGE_GZ, "application/gzip");
        assert_eq!(response.header("Content-Encoding"), None, "{value:?}");
        assert_eq!(response.header("Vary"), None, "{value:?}");
    }
}

#[test]
fn if_none_match_with_the_gzip_tag_while_asking_for_gzip_is_304() {
    let server = siblings_server();
    let gzip = get(&server, "/a.html", &[("Accept-Encoding", "gzip")]);
    assert_variant(&gzip, Variant::Gzip, "gzip");
    let tag = gzip.expect_header("ETag").to_string();

    let response = get(&server, "/a.html", &[("Accept-Encoding", "gzip"), ("If-None-Match", &tag)]);
    assert_not_modified(&response, &tag, T_DATE, true);
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"], "§15.4.5: a 304 sends the Vary a 200 would");

    // The gzip tag does not validate the plain or the brotli representation.
    let response = get(&server, "/a.html", &[("If-None-Match", &tag)]);
    assert_variant(&response, Variant::Plain, "plain with the gzip tag");
    let response = get(&server, "/a.html", &[("Accept-Encoding", "br"), ("If-None-Match", &tag)]);
    assert_variant(&response, Variant::Brotli, "br with the gzip tag");
    // And If-Match with it fails on the plain representation.
    let response = get(&server, "/a.html", &[("If-Match", &tag)]);
    assert_precondition_failed(&response);
}

#[test]
fn folder_index_uses_its_gzip_sibling() {
    let server = TestServer::start();
    put(&server, "index.html", PAGE);
    put(&server, "index.html.gz", PAGE_GZ);
    let response = get(&server, "/", &[("Accept-Encoding", "gzip")]);
    assert_ok(&response, PAGE_GZ, HTML);
    assert_eq!(response.expect_header("Content-Encoding"), "gzip");
    assert_eq!(response.headers_named("Vary"), ["Accept-Encoding"]);
    let plain = get(&server, "/", &[]);
    assert_ok(&plain, PAGE, HTML);
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.headers_named("Vary"), ["Accept-Encoding"]);
    assert_ne!(plain.expect_header("ETag"), response.expect_header("ETag"));

    // A sub-folder's index too.
    put(&server, "sub/index.html", PAGE);
    put(&server, "sub/index.html.gz", PAGE_GZ);
    let response = get(&server, "/sub/", &[("Accept-Encoding", "gzip;q=0.5")]);
    assert_ok(&response, PAGE_GZ, HTML);
    assert_eq!(response.expect_header("Content-Encoding"), "gzip");
}

#[test]
fn variants_of_equal_size_and_mtime_still_have_distinct_tags() {
    // Each coding is its own representation (§8.8.3): even when the sibling has the same
    // length and modification time as the plain file, its strong tag must differ.
    let server = TestServer::start();
    let plain: &[u8] = b"0123456789abcdef0123456789abcdef";
    let gz: &[u8] = b"\x1f\x8b\x08\x00GZ-equal-length-0123456789ab";
    let br: &[u8] = b"\x0b\x1a\x80BR-equal-length-0123456789abc";
    assert_eq!((plain.len(), plain.len()), (gz.len(), br.len()));
    put(&server, "same.txt", plain);
    put(&server, "same.txt.gz", gz);
    put(&server, "same.txt.br", br);
    let text = "text/plain; charset=utf-8";

    let plain_response = get(&server, "/same.txt", &[]);
    assert_ok(&plain_response, plain, text);
    let gzip_response = get(&server, "/same.txt", &[("Accept-Encoding", "gzip")]);
    assert_ok(&gzip_response, gz, text);
    let br_response = get(&server, "/same.txt", &[("Accept-Encoding", "br")]);
    assert_ok(&br_response, br, text);
    let tags =
        [plain_response.expect_header("ETag"), gzip_response.expect_header("ETag"), br_response.expect_header("ETag")];
    for tag in tags {
        assert_strong_etag(tag);
    }
    assert!(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2], "tags {tags:?}");

    // So the plain tag does not validate the gzip variant, nor the other way round.
    let response = get(&server, "/same.txt", &[("Accept-Encoding", "gzip"), ("If-None-Match", tags[0])]);
    assert_ok(&response, gz, text);
    let response = get(&server, "/same.txt", &[("If-None-Match", tags[1])]);
    assert_ok(&response, plain, text);
}

#[test]
fn dates_on_a_variant_are_the_variants_own() {
    // The gzip sibling was written an hour after the plain file: a date between the two is
    // "not modified" for the plain file and "modified" for the gzip variant.
    let server = siblings_server();
    set_mtime(&server.root.join("a.html.gz"), T + 3600, 0);
    let between = format_imf_fixdate(T + 60);
    let response = get(&server, "/a.html", &[("If-Modified-Since", &between)]);
    assert_not_modified(&response, response.expect_header("ETag"), T_DATE, true);
    assert_eq!(response.expect_header("Last-Modified"), T_DATE);
    let response = get(&server, "/a.html", &[("Accept-Encoding", "gzip"), ("If-Modified-Since", &between)]);
    assert_ok(&response, PAGE_GZ, HTML);
    assert_eq!(response.expect_header("Content-Encoding"), "gzip");
    assert_eq!(response.expect_header("Last-Modified"), format_imf_fixdate(T + 3600));
}

#[test]
fn an_if_match_that_is_not_utf8_still_fails() {
    let server = TestServer::start();
    put(&server, "a.txt", b"alpha");
    let mut request = b"GET /a.txt HTTP/1.1\r\nHost: h\r\nIf-Match: \"".to_vec();
    request.extend_from_slice(b"\xff\"\r\n\r\n");
    let response = server.request(request);
    response.assert_status("HTTP/1.1 412 Precondition Failed");
}

// ---------------------------------------------------------------------------------------
// Listings: a validator of their own
// ---------------------------------------------------------------------------------------

#[test]
fn a_listing_has_a_weak_etag_and_revalidates_to_304() {
    // `Cache-Control: no-cache` without a validator would make every revalidation a full
    // download (httplint warns). The listing's tag is weak, made from the folder's state as
    // the listing shows it; it has no Last-Modified (its entries change without the
    // folder's mtime changing).
    let server = TestServer::start();
    put(&server, "list/a.txt", b"a");
    let response = get(&server, "/list/", &[]);
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Content-Type"), HTML);
    assert_eq!(response.header("Last-Modified"), None);
    assert_eq!(response.expect_header("Cache-Control"), "no-cache");
    assert_eq!(response.expect_header("Vary"), "Accept");
    let etag = response.expect_header("ETag").to_string();
    let strong = etag.strip_prefix("W/").unwrap_or_else(|| panic!("not weak: {etag:?}"));
    assert_strong_etag(strong);
    assert_eq!(etag_of(&server, "/list/", &[]), etag, "the same folder, the same tag");

    let listing_304 = ["Date", "Server", "Connection", "X-Content-Type-Options", "ETag", "Cache-Control", "Vary"];
    let response = get(&server, "/list/", &[("If-None-Match", &etag)]);
    response.assert_not_modified(&listing_304);
    assert_eq!(response.expect_header("ETag"), etag);
    assert_eq!(response.expect_header("Vary"), "Accept");
    // If-None-Match compares weakly: in a list, and without the `W/` too.
    let response = head(&server, "/list/", &[("If-None-Match", &format!("\"x\", {etag}"))]);
    response.assert_not_modified(&listing_304);
    get(&server, "/list/", &[("If-None-Match", strong)]).assert_not_modified(&listing_304);
    // If-Match compares strongly (RFC 9110 §13.1.1), and a weak tag never matches strongly.
    assert_eq!(get(&server, "/list/", &[("If-Match", "\"nope\"")]).status_line, "HTTP/1.1 412 Precondition Failed");
    assert_eq!(get(&server, "/list/", &[("If-Match", &etag)]).status_line, "HTTP/1.1 412 Precondition Failed");
    assert_eq!(get(&server, "/list/", &[("If-Match", strong)]).status_line, "HTTP/1.1 412 Precondition Failed");
    assert_eq!(get(&server, "/list/", &[("If-Match", "*")]).status_line, "HTTP/1.1 200 OK");
    // No Last-Modified, so dates are ignored (RFC 9110 §13.1.3, §13.1.4).
    let future = format_imf_fixdate(T + 1_000_000_000);
    assert_eq!(get(&server, "/list/", &[("If-Modified-Since", &future)]).status_line, "HTTP/1.1 200 OK");
    assert_eq!(get(&server, "/list/", &[("If-Unmodified-Since", T_DATE)]).status_line, "HTTP/1.1 200 OK");

    // A new entry, an entry's new size or a new modification time is a new tag.
    put(&server, "list/b.txt", b"b");
    let second = etag_of(&server, "/list/", &[]);
    assert_ne!(second, etag);
    put(&server, "list/b.txt", b"bb");
    let third = etag_of(&server, "/list/", &[]);
    assert_ne!(third, second);
    let file = std::fs::File::options().write(true).open(server.root.join("list/b.txt")).expect("open");
    file.set_modified(UNIX_EPOCH + Duration::from_secs(T + 86_400)).expect("set mtime");
    let fourth = etag_of(&server, "/list/", &[]);
    assert_ne!(fourth, third);
    let response = get(&server, "/list/", &[("If-None-Match", &etag)]);
    response.assert_status("HTTP/1.1 200 OK");
    assert!(response.body_text().contains("b.txt"));
}
