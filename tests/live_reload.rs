//! Live reload (`--live-reload`) over raw sockets: the script in HTML pages, listings and 404
//! pages (its bytes, `Content-Length`, ETag, `HEAD`, 304s), no change at all without the flag
//! (byte for byte, against a server on the same root without it), the event stream (status
//! line, fields, events, debouncing, hidden files, new and renamed folders), its cap, its
//! heartbeat, and shutdown ending streams at once.
//!
//! The same tests run under `cargo test --features portable`, where the watch is the walk
//! compared on a timer instead of inotify: the behaviour they check is the same.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rawserve::http::live::SCRIPT;
use support::{check_each, format_request, read_head, Launch, Response, Sandbox, TestServer, BIN};

/// Generous: an event is due within about half a second of a change; a loaded machine gets
/// ten times that.
const EVENT_DEADLINE: Duration = Duration::from_secs(5);

const PAGE: &str = "<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>hello</p></body></html>\n";

fn live_server(root: &Path, extra: &[&str]) -> TestServer {
    let mut args = vec!["--live-reload"];
    args.extend_from_slice(extra);
    Launch::serving(root).args(&args).log_level("debug").start()
}

fn plain_server(root: &Path, extra: &[&str]) -> TestServer {
    Launch::serving(root).args(extra).start()
}

fn site() -> Sandbox {
    let sandbox = Sandbox::new();
    let root = sandbox.path();
    fs::write(root.join("index.html"), PAGE).expect("write");
    fs::write(root.join("style.css"), "p { color: red }\n").expect("write");
    fs::create_dir(root.join("docs")).expect("mkdir");
    fs::write(root.join("docs/notes.txt"), "notes\n").expect("write");
    fs::write(root.join("nobody.html"), "<p>no body tag").expect("write");
    sandbox
}

fn injected(page: &str) -> String {
    let at = page.rfind("</body>").unwrap_or(page.len());
    format!("{}{SCRIPT}{}", &page[..at], &page[at..])
}

#[test]
fn html_pages_carry_the_script_with_their_own_length_and_etag() {
    let sandbox = site();
    fs::write(sandbox.path().join("index.html.gz"), b"not really gzip").expect("write");
    let live = live_server(sandbox.path(), &[]);
    let plain = plain_server(sandbox.path(), &[]);

    let page = live.get("/");
    page.assert_status("HTTP/1.1 200 OK");
    assert_eq!(page.body_text(), injected(PAGE));
    assert_eq!(page.content_length(), (PAGE.len() + SCRIPT.len()) as u64);
    assert_eq!(page.expect_header("Content-Type"), "text/html; charset=utf-8");
    let tag = page.expect_header("ETag");
    let plain_tag = plain.get("/").expect_header("ETag").to_string();
    assert_eq!(tag, format!("{}-live\"", plain_tag.trim_end_matches('"')), "the live page's own tag");
    assert_eq!(page.header("Accept-Ranges"), None, "no ranges of an injected page");
    assert_eq!(page.header("Vary"), None, "never a precompressed sibling");
    assert_eq!(live.get("/index.html").body, page.body);

    // A page without </body> gets the script at its end.
    assert_eq!(live.get("/nobody.html").body_text(), format!("<p>no body tag{SCRIPT}"));

    // HEAD: the same head, no body.
    let head = live.head("/");
    head.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(head.headers_without_date(), page.headers_without_date());

    // The gzip sibling is never chosen, and a Range is ignored: the whole injected page.
    for fields in [&[("Accept-Encoding", "gzip")][..], &[("Range", "bytes=0-9")][..]] {
        let response = live.send("GET", "/", fields);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.header("Content-Encoding"), None, "{fields:?}");
        assert_eq!(response.body, page.body, "{fields:?}");
    }

    // The page as it is in memory (the file cache) is the same as from disk.
    assert_eq!(live.get("/").headers_without_date(), page.headers_without_date());
}

#[test]
fn injected_pages_revalidate_with_their_own_tag() {
    let sandbox = site();
    let live = live_server(sandbox.path(), &[]);
    let page = live.get("/");
    let tag = page.expect_header("ETag").to_string();
    let modified = page.expect_header("Last-Modified").to_string();

    let not_modified = live.send("GET", "/", &[("If-None-Match", &tag)]);
    not_modified.assert_not_modified(&[
        "Date",
        "Server",
        "Connection",
        "X-Content-Type-Options",
        "ETag",
        "Last-Modified",
        "Cache-Control",
    ]);
    assert_eq!(not_modified.expect_header("ETag"), tag);
    live.send("GET", "/", &[("If-Modified-Since", &modified)]).assert_not_modified(&[
        "Date",
        "Server",
        "Connection",
        "X-Content-Type-Options",
        "ETag",
        "Last-Modified",
        "Cache-Control",
    ]);
    live.send("HEAD", "/", &[("If-None-Match", &tag)]).assert_not_modified(&[
        "Date",
        "Server",
        "Connection",
        "X-Content-Type-Options",
        "ETag",
        "Last-Modified",
        "Cache-Control",
    ]);

    // The plain file's tag is another representation's: the whole injected page.
    let plain_tag = format!("{}\"", tag.trim_end_matches("-live\""));
    let other = live.send("GET", "/", &[("If-None-Match", &plain_tag)]);
    other.assert_status("HTTP/1.1 200 OK");
    assert_eq!(other.body, page.body);
}

#[test]
fn listings_and_not_found_pages_carry_the_script() {
    let sandbox = site();
    let live = live_server(sandbox.path(), &[]);
    let plain = plain_server(sandbox.path(), &[]);

    let listing = live.get("/docs/");
    listing.assert_status("HTTP/1.1 200 OK");
    let plain_listing = plain.get("/docs/");
    assert_eq!(listing.body_text(), injected(&plain_listing.body_text()));
    assert_ne!(listing.expect_header("ETag"), plain_listing.expect_header("ETag"));
    let tag = listing.expect_header("ETag").to_string();
    live.send("GET", "/docs/", &[("If-None-Match", &tag)]).assert_not_modified(&[
        "Date",
        "Server",
        "Connection",
        "X-Content-Type-Options",
        "ETag",
        "Cache-Control",
        "Vary",
    ]);

    for target in ["/missing.html", "/.env"] {
        let missing = live.get(target);
        missing.assert_error("HTTP/1.1 404 Not Found");
        assert_eq!(missing.body_text(), injected(&plain.get(target).body_text()), "{target}");
        let head = live.head(target);
        assert_eq!(head.content_length(), missing.body.len() as u64, "HEAD {target}");
    }
}

#[test]
fn the_roots_404_page_carries_the_script() {
    let sandbox = site();
    let page = "<!DOCTYPE html>\n<html><body><h1>Not here</h1></body></html>\n";
    fs::write(sandbox.path().join("404.html"), page).expect("write");
    let live = live_server(sandbox.path(), &[]);
    let plain = plain_server(sandbox.path(), &[]);
    for target in ["/missing", "/.env"] {
        let missing = live.get(target);
        missing.assert_status("HTTP/1.1 404 Not Found");
        assert_eq!(plain.get(target).body_text(), page, "{target}");
        assert_eq!(missing.body_text(), injected(page), "{target}");
        assert_eq!(missing.content_length(), missing.body.len() as u64, "{target}");
        let head = live.head(target);
        assert_eq!(head.content_length(), missing.body.len() as u64, "HEAD {target}");
        assert!(head.body.is_empty(), "HEAD {target}");
    }
}

/// A request: method, target, fields.
type Request<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Every request of `requests`, to `a` and to `b`: the same status line, fields (but `Date`)
/// and body bytes.
fn same_answers(a: &TestServer, b: &TestServer, requests: &[Request<'_>]) {
    check_each(requests, |(method, target, fields)| {
        let (x, y) = (a.send(method, target, fields), b.send(method, target, fields));
        assert_eq!(x.status_line, y.status_line);
        assert_eq!(x.headers_without_date(), y.headers_without_date());
        assert_eq!(x.body, y.body);
    });
}

#[test]
fn without_the_flag_every_response_is_what_it_was() {
    let sandbox = site();
    let root = sandbox.path();
    fs::create_dir(root.join(".rawserve")).expect("mkdir");
    fs::write(root.join(".rawserve/live"), "a real file\n").expect("write");
    let plain = plain_server(root, &[]);
    let again = plain_server(root, &[]);
    let live = live_server(root, &[]);

    // Off: the HTML file byte for byte, no stream, the dot-folder hidden as ever.
    let page = plain.get("/");
    page.assert_status("HTTP/1.1 200 OK");
    assert_eq!(page.body, PAGE.as_bytes());
    assert_eq!(page.expect_header("Accept-Ranges"), "bytes");
    assert!(!page.body_text().contains("EventSource"));
    plain.get("/.rawserve/live").assert_error("HTTP/1.1 404 Not Found");
    assert!(!plain.get("/docs/").body_text().contains("<script"));
    assert!(!plain.get("/missing").body_text().contains("<script"));

    // Off, against another run without the flag: identical, HTML and stream path included.
    let everything: &[Request<'_>] = &[
        ("GET", "/", &[]),
        ("HEAD", "/", &[]),
        ("GET", "/index.html", &[("Range", "bytes=0-9")]),
        ("GET", "/docs/", &[]),
        ("GET", "/missing", &[]),
        ("GET", "/.rawserve/live", &[]),
        ("GET", "/style.css", &[]),
    ];
    same_answers(&plain, &again, everything);

    // On: what is not HTML is exactly what it was without the flag.
    let not_html: &[Request<'_>] = &[
        ("GET", "/style.css", &[]),
        ("HEAD", "/style.css", &[]),
        ("GET", "/style.css", &[("Range", "bytes=2-6")]),
        ("GET", "/docs/notes.txt", &[]),
        ("GET", "/docs", &[]),
        ("GET", "/%zz", &[]),
        ("OPTIONS", "/", &[]),
    ];
    same_answers(&plain, &live, not_html);
    let tag = plain.get("/style.css").expect_header("ETag").to_string();
    same_answers(&plain, &live, &[("GET", "/style.css", &[("If-None-Match", &tag)])]);
}

/// One open stream: its head, and the events read so far.
struct Stream {
    socket: TcpStream,
    head: Response,
    buffered: Vec<u8>,
}

impl Stream {
    fn open(server: &TestServer) -> Stream {
        let mut socket = server.connect();
        socket.write_all(format_request(server.addr, "GET", "/.rawserve/live", &[]).as_bytes()).expect("write");
        let mut head = read_head(&mut socket).expect("the stream's head");
        let buffered = std::mem::take(&mut head.body);
        Stream { socket, head, buffered }
    }

    /// The next event (up to its blank line), or None when none came within `limit`.
    fn next_event(&mut self, limit: Duration) -> Option<String> {
        let until = Instant::now() + limit;
        loop {
            if let Some(end) = support::find(&self.buffered, b"\n\n") {
                let event = String::from_utf8(self.buffered[..end + 2].to_vec()).expect("utf-8 event");
                self.buffered.drain(..end + 2);
                return Some(event);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.socket.set_read_timeout(Some(left.max(Duration::from_millis(1)))).expect("timeout");
            let mut chunk = [0u8; 4096];
            match self.socket.read(&mut chunk) {
                Ok(0) => panic!("the stream ended; got {:?}", String::from_utf8_lossy(&self.buffered)),
                Ok(n) => self.buffered.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("reading the stream: {e}"),
            }
        }
    }

    /// The `paths` of the next `change` event, in order.
    fn next_change(&mut self, server: &TestServer) -> Vec<String> {
        let event = self
            .next_event(EVENT_DEADLINE)
            .unwrap_or_else(|| panic!("no event within {EVENT_DEADLINE:?}; log:\n{}", server.log_tail(30)));
        let data = event.strip_prefix("event: change\ndata: ").unwrap_or_else(|| panic!("not a change: {event:?}"));
        let paths = data.split_once("\"paths\":[").expect("paths").1.trim_end_matches("]}\n\n");
        paths.split(',').map(|p| p.trim_matches('"').to_string()).collect()
    }

    /// The server closed the stream (EOF) within `limit`.
    fn ends_within(&mut self, limit: Duration) -> bool {
        self.socket.set_read_timeout(Some(limit)).expect("timeout");
        let mut rest = Vec::new();
        self.socket.read_to_end(&mut rest).is_ok()
    }
}

#[test]
fn the_stream_names_what_changed_once_per_burst() {
    let sandbox = site();
    let server = live_server(sandbox.path(), &[]);
    let mut stream = Stream::open(&server);
    assert_eq!(stream.head.status_line, "HTTP/1.1 200 OK");
    let names: Vec<&str> = stream.head.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Date", "Server", "Connection", "X-Content-Type-Options", "Content-Type", "Cache-Control"]);
    assert_eq!(stream.head.expect_header("Content-Type"), "text/event-stream");
    assert_eq!(stream.head.expect_header("Cache-Control"), "no-cache");
    assert_eq!(stream.head.expect_header("Connection"), "close");
    let hello = stream.next_event(EVENT_DEADLINE).expect("hello");
    let boot = hello
        .strip_prefix("retry: 1000\nevent: hello\ndata: {\"boot\":\"")
        .and_then(|rest| rest.strip_suffix("\",\"seq\":0}\n\n"))
        .unwrap_or_else(|| panic!("hello: {hello:?}"));
    assert!(!boot.is_empty() && boot.bytes().all(|b| b.is_ascii_hexdigit()), "{boot:?}");

    // A write: one event naming it, in the documented format.
    server.write("docs/notes.txt", "changed\n");
    let event = stream.next_event(EVENT_DEADLINE).expect("an event");
    assert_eq!(
        event,
        format!("event: change\ndata: {{\"boot\":\"{boot}\",\"seq\":1,\"paths\":[\"/docs/notes.txt\"]}}\n\n")
    );

    // An editor's save (a temp file, written, renamed over the page) is one event.
    server.write("index.html.swp", "<p>new</p>");
    fs::rename(server.root.join("index.html.swp"), server.root.join("index.html")).expect("rename");
    // (The polling watch may never see the temp file, when both steps fall between two walks.)
    let saved = stream.next_change(&server);
    assert!(saved.contains(&"/index.html".to_string()), "{saved:?}");
    assert!(saved.iter().all(|p| p == "/index.html" || p == "/index.html.swp"), "{saved:?}");
    assert_eq!(stream.next_event(Duration::from_millis(800)), None, "the save was one event");

    // Hidden files never count; the next event names only what is visible.
    server.write(".secret", "x");
    server.write(".git/HEAD", "x");
    std::thread::sleep(Duration::from_millis(600));
    fs::remove_file(server.root.join("nobody.html")).expect("remove");
    assert_eq!(stream.next_change(&server), ["/nobody.html"]);

    // A folder made later, and what is written inside it.
    fs::create_dir(server.root.join("new")).expect("mkdir");
    std::thread::sleep(Duration::from_millis(600));
    let mut seen = stream.next_change(&server);
    server.write("new/page.html", "<p>x</p>");
    seen.extend(stream.next_change(&server));
    assert!(seen.contains(&"/new".to_string()) && seen.contains(&"/new/page.html".to_string()), "{seen:?}");

    // A folder renamed: the change names both paths, and later writes inside name the new path.
    fs::rename(server.root.join("docs"), server.root.join("papers")).expect("rename");
    let moved = stream.next_change(&server);
    assert!(moved.contains(&"/docs".to_string()) && moved.contains(&"/papers".to_string()), "{moved:?}");
    server.write("papers/notes.txt", "again\n");
    assert_eq!(stream.next_change(&server), ["/papers/notes.txt"]);

    // The debug log narrates it.
    let log = server.log();
    for needle in
        ["resolved live-reload stream (1 of", "stream open: parked", "live reload: change seen", "for 1 streams"]
    {
        assert!(log.contains(needle), "no {needle:?} in the log:\n{}", server.log_tail(40));
    }
}

#[test]
fn with_hidden_dotfiles_count_and_only_the_stream_path_is_reserved() {
    let sandbox = site();
    let root = sandbox.path();
    fs::create_dir(root.join(".rawserve")).expect("mkdir");
    fs::write(root.join(".rawserve/live"), "a real file\n").expect("write");
    fs::write(root.join(".rawserve/notes.txt"), "served\n").expect("write");
    let server = live_server(root, &["--hidden"]);
    let mut stream = Stream::open(&server);
    assert_eq!(stream.head.expect_header("Content-Type"), "text/event-stream");
    stream.next_event(EVENT_DEADLINE).expect("hello");
    let notes = server.get("/.rawserve/notes.txt");
    notes.assert_status("HTTP/1.1 200 OK");
    assert_eq!(notes.body, b"served\n");
    // Spelled with an escape, it is still the stream.
    let mut other = Stream::open_target(&server, "/.rawserve/%6cive");
    assert_eq!(other.head.expect_header("Content-Type"), "text/event-stream");
    other.next_event(EVENT_DEADLINE).expect("hello");

    server.write(".env", "x");
    assert_eq!(stream.next_change(&server), ["/.env"]);
    // Without --live-reload, the file is served as any dotfile under --hidden.
    let plain = plain_server(root, &["--hidden"]);
    assert_eq!(plain.get("/.rawserve/live").body, b"a real file\n");
}

impl Stream {
    fn open_target(server: &TestServer, target: &str) -> Stream {
        let mut socket = server.connect();
        socket.write_all(format_request(server.addr, "GET", target, &[]).as_bytes()).expect("write");
        let mut head = read_head(&mut socket).expect("the stream's head");
        let buffered = std::mem::take(&mut head.body);
        Stream { socket, head, buffered }
    }
}

#[test]
fn head_of_the_stream_is_its_head_alone() {
    let sandbox = site();
    let server = live_server(sandbox.path(), &[]);
    let head = server.head("/.rawserve/live");
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.expect_header("Content-Type"), "text/event-stream");
    assert_eq!(head.header("Content-Length"), None);
    assert!(head.body.is_empty());
}

#[test]
fn streams_have_their_own_cap() {
    let sandbox = site();
    // --max-connections 8: at most 4 streams, half the connection cap.
    let server = live_server(sandbox.path(), &["--max-connections", "8"]);
    let mut streams: Vec<Stream> = (0..4).map(|_| Stream::open(&server)).collect();
    for stream in &mut streams {
        assert_eq!(stream.head.status_line, "HTTP/1.1 200 OK");
        stream.next_event(EVENT_DEADLINE).expect("hello");
    }
    let refused = server.get("/.rawserve/live");
    refused.assert_error("HTTP/1.1 503 Service Unavailable");
    assert_eq!(refused.expect_header("Retry-After"), "1");
    assert!(!refused.body_text().contains("<script"), "no script on the stream's own refusal");
    // Requests are still answered.
    server.get("/style.css").assert_status("HTTP/1.1 200 OK");
    // A closed stream frees its place.
    drop(streams.pop());
    let until = Instant::now() + EVENT_DEADLINE;
    loop {
        let mut again = Stream::open(&server);
        if again.head.status == 200 {
            again.next_event(EVENT_DEADLINE).expect("hello");
            break;
        }
        assert!(Instant::now() < until, "no place freed: {:?}", again.head.status_line);
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.settled_log_lines("live-reload stream refused");
    assert!(log >= 1, "the refusal is narrated");
}

#[test]
fn shutdown_ends_streams_at_once() {
    let sandbox = site();
    let mut server = live_server(sandbox.path(), &["--drain-timeout", "60"]);
    let mut streams: Vec<Stream> = (0..3).map(|_| Stream::open(&server)).collect();
    for stream in &mut streams {
        stream.next_event(EVENT_DEADLINE).expect("hello");
    }
    let started = Instant::now();
    server.signal("TERM");
    for stream in &mut streams {
        assert!(stream.ends_within(Duration::from_secs(10)), "a stream outlived SIGTERM");
    }
    let status = server.wait_exit(Duration::from_secs(20)).expect("exit well before the 60 s drain");
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(30), "waited out the drain: {:?}", started.elapsed());
}

#[test]
fn a_quiet_stream_gets_a_heartbeat_comment() {
    let sandbox = site();
    let server = live_server(sandbox.path(), &[]);
    let mut stream = Stream::open(&server);
    stream.next_event(EVENT_DEADLINE).expect("hello");
    // LIVE_HEARTBEAT is 15 s; nothing changes meanwhile.
    let beat = stream.next_event(Duration::from_secs(30)).expect("a heartbeat within 30 s");
    assert_eq!(beat, ": heartbeat\n\n");
}

#[test]
fn the_flag_is_in_the_help() {
    let output = Command::new(BIN).arg("--help").output().expect("run rawserve --help");
    assert!(String::from_utf8_lossy(&output.stdout).contains("--live-reload"));
}
