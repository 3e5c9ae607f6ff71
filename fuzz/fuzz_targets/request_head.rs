//! Bytes → the whole response `rawserve` would send (`http::exchange::respond_to_bytes`).
//!
//! Never panics, and every response is well formed: `HTTP/1.1 ddd Reason`, printable ASCII
//! field lines that nothing from the request can split, the fields every response carries
//! (once each), `Connection: close`, a `Content-Length` equal to the body's length (HEAD
//! sends no body; a 304 neither a body nor a `Content-Length`, and only the caching fields of
//! RFC 9110 §15.4.5), no open redirect, and never a byte of a file outside the root or of a
//! hidden dotfile. A HEAD request gets exactly the head its GET would get.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

use rawserve::files::site::Site;
use rawserve::http::exchange::{respond_to_bytes, LoopState, Service};

#[path = "../common/fixture.rs"]
mod fixture;

use fixture::{contains, fixture, DOTFILE, SECRET};

/// Every field name rawserve sends. Anything else in a response head came from somewhere
/// it should not have (the request, a file name).
const KNOWN_FIELDS: &[&str] = &[
    "Date",
    "Server",
    "Content-Length",
    "Connection",
    "X-Content-Type-Options",
    "Content-Type",
    "Allow",
    "Retry-After",
    "Location",
    "ETag",
    "Last-Modified",
    "Accept-Ranges",
    "Cache-Control",
    "Content-Range",
    "Content-Encoding",
    "Vary",
];

const STATUSES: &[u16] = &[200, 206, 301, 304, 400, 403, 404, 405, 408, 412, 414, 416, 431, 500, 501, 503, 505];

thread_local! {
    /// The fixture's site as one event loop serves it, with that loop's state (file cache,
    /// dates): libFuzzer runs inputs one after another on one thread. The second serves the
    /// same root with the routing fallbacks on (`--spa --clean-urls`), which must keep every
    /// property too.
    static SERVED: [RefCell<(Service, LoopState)>; 2] = [false, true].map(|routed| RefCell::new({
        let mut site = Site::open(&fixture().root, true, false, "no-cache".into()).expect("fixture site");
        site.spa = routed;
        site.clean_urls = routed;
        let service = Service::new(site);
        let state = LoopState::new(&service);
        (service, state)
    }));
}

fn respond(which: usize, data: &[u8]) -> Vec<u8> {
    SERVED.with(|served| {
        let (service, state) = &mut *served[which].borrow_mut();
        respond_to_bytes(data, service, state)
    })
}

fuzz_target!(|data: &[u8]| {
    for which in 0..2 {
        let out = respond(which, data);
        let head = check_response(data, &out);
        if is_head_request(data) && data.len() < 8000 {
            // The same request as GET: the head must be the same but for Date (and a
            // multipart boundary, which is new for every response).
            let start = data.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(0);
            let mut get = data[..start].to_vec();
            get.extend_from_slice(b"GET ");
            get.extend_from_slice(&data[start + 5..]);
            let get_out = respond(which, &get);
            let get_head = check_response(&get, &get_out);
            assert_eq!(normalise(&head), normalise(&get_head), "HEAD and GET heads differ");
        }
    }
});

/// The request line starts with `HEAD ` (after the empty lines a server must skip).
fn is_head_request(data: &[u8]) -> bool {
    let start = data.iter().position(|b| *b != b'\r' && *b != b'\n').unwrap_or(data.len());
    data[start..].starts_with(b"HEAD ")
}

/// Checks the response and returns its head as field lines.
fn check_response(request: &[u8], out: &[u8]) -> Vec<String> {
    assert!(out.starts_with(b"HTTP/1.1 "), "no status line: {:?}", String::from_utf8_lossy(out));
    let code = &out[9..12];
    assert!(code.iter().all(u8::is_ascii_digit) && out[12] == b' ', "bad status code");
    let status: u16 = std::str::from_utf8(code).unwrap().parse().unwrap();
    assert!(STATUSES.contains(&status), "unexpected status {status}");
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").expect("head never ends") + 4;
    let (head, body) = out.split_at(head_end);
    let text = std::str::from_utf8(head).expect("head is not UTF-8");
    let lines: Vec<&str> = text[..text.len() - 4].split("\r\n").collect();
    let mut content_length = None;
    let mut counts = [0usize; KNOWN_FIELDS.len()];
    for line in &lines[1..] {
        assert!(
            line.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t'),
            "field line with a control or non-ASCII byte: {line:?}"
        );
        let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("not a field line: {line:?}"));
        let index = KNOWN_FIELDS
            .iter()
            .position(|known| *known == name)
            .unwrap_or_else(|| panic!("unknown field {name:?} in {text:?}"));
        counts[index] += 1;
        match name {
            "Content-Length" => content_length = Some(value.parse::<u64>().expect("numeric Content-Length")),
            "Connection" => assert_eq!(value, "close"),
            "Location" => assert!(
                value.starts_with('/') && !value.starts_with("//") && !value.contains('\\'),
                "open redirect: {value:?}"
            ),
            _ => {}
        }
    }
    for (name, count) in KNOWN_FIELDS.iter().zip(counts) {
        let required = if status == 304 {
            ["Date", "Server", "Connection", "X-Content-Type-Options", "ETag", "Cache-Control"].contains(name)
        } else {
            ["Date", "Server", "Content-Length", "Connection", "X-Content-Type-Options"].contains(name)
        };
        // §15.4.5: a 304 carries no representation metadata and nothing about content.
        let forbidden = status == 304
            && ["Content-Length", "Content-Type", "Content-Encoding", "Accept-Ranges", "Content-Range"].contains(name);
        assert!(count <= 1, "{name} sent {count} times");
        assert!(!required || count == 1, "{name} missing");
        assert!(!forbidden || count == 0, "{name} in a 304");
    }
    if status == 304 {
        assert!(body.is_empty(), "a body in a 304");
    } else if is_head_request(request) {
        assert!(body.is_empty(), "a body for HEAD");
    } else {
        let content_length = content_length.expect("Content-Length");
        assert_eq!(body.len() as u64, content_length, "Content-Length differs from the body");
    }
    // A redirect keeps the query (`/dir?q` → `/dir/?q`), so the markers count only when
    // the request did not carry them itself.
    if !contains(request, SECRET) {
        assert!(!contains(out, SECRET), "a byte of the file outside the root was served");
    }
    if !contains(request, DOTFILE) {
        assert!(!contains(out, DOTFILE), "a hidden dotfile was served");
    }
    lines.iter().map(|l| l.to_string()).collect()
}

fn normalise(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !l.starts_with("Date: "))
        .map(|l| match l.find("boundary=") {
            Some(at) => l[..at].to_string(),
            None => l.clone(),
        })
        .collect()
}
