//! The per-loop file cache: small files are answered from memory, and every change to the
//! root is seen by the very next request, whatever kind of change it is — with inotify (the
//! Linux build) and with the stat validation other systems use (`--features portable`).

mod support;

use std::fs;
use std::time::{Duration, SystemTime};

use support::{Response, TestServer};

/// How many responses the server's debug narration says came from memory for `relative`:
/// read into the cache for this request, or already there.
fn from_memory(server: &TestServer, relative: &str) -> usize {
    let (loaded, kept) =
        (format!("resolved {relative} (read into the file cache)"), format!("resolved {relative} (in memory)"));
    server.log().lines().filter(|line| line.ends_with(&loaded) || line.ends_with(&kept)).count()
}

/// The portable build's cache (stat validation) keeps nothing changed in the last second
/// (`SETTLE_TIME`): where a test wants a file in memory before it changes it, it waits that
/// out. The inotify build caches at once.
fn let_the_cache_settle() {
    if cfg!(feature = "portable") {
        std::thread::sleep(Duration::from_millis(1100));
    }
}

/// Method, target, extra fields.
type Request<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);

fn accept_gzip(server: &TestServer, target: &str) -> Response {
    server.send("GET", target, &[("Accept-Encoding", "gzip")])
}

#[test]
fn a_small_file_is_read_once_then_answered_from_memory() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    server.write("a.html", "<p>alpha</p>\n");
    let_the_cache_settle();
    let first = server.get("/a.html");
    first.assert_status("HTTP/1.1 200 OK");
    assert_eq!(first.body, b"<p>alpha</p>\n");
    for _ in 0..3 {
        let again = server.get("/a.html");
        assert_eq!(again.headers_without_date(), first.headers_without_date());
        assert_eq!(again.body, first.body);
    }
    let log = server.log();
    assert_eq!(log.matches("resolved a.html (read into the file cache)").count(), 1, "{log}");
    assert_eq!(from_memory(&server, "a.html"), 4, "{log}");
}

#[test]
fn answers_from_memory_are_the_answers_from_disk() {
    let cached = TestServer::start_debug(&["--threads", "1"]);
    let uncached = TestServer::start_debug(&["--threads", "1", "--no-file-cache"]);
    let text = "body { color: #123; }\n".repeat(40);
    // The same mtimes on both sides, so the validators match too.
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let set_mtime = |path: std::path::PathBuf| {
        fs::File::options().write(true).open(&path).expect("open").set_modified(when).expect("set mtime");
    };
    for server in [&cached, &uncached] {
        set_mtime(server.write("s.css", &text));
        set_mtime(server.write("s.css.gz", b"\x1f\x8b pretend gzip"));
        set_mtime(server.write("docs/index.html", "<h1>docs</h1>\n"));
        set_mtime(server.write("logo.svgz", b"\x1f\x8b pretend gzip-coded svg"));
        set_mtime(server.write("logo.svgz.gz", b"\x1f\x8b a sibling never sent"));
    }
    let_the_cache_settle();
    let etag = cached.get("/s.css").expect_header("ETag").to_string();
    let requests: Vec<Request> = vec![
        ("GET", "/s.css", vec![]),
        ("HEAD", "/s.css", vec![]),
        ("GET", "/s.css", vec![("Accept-Encoding", "gzip")]),
        ("GET", "/s.css", vec![("If-None-Match", etag.as_str())]),
        ("GET", "/s.css", vec![("If-Match", "\"nope\"")]),
        ("GET", "/s.css", vec![("Range", "bytes=5-9")]),
        ("GET", "/s.css", vec![("Range", "bytes=-7")]),
        ("GET", "/s.css", vec![("Range", "bytes=99999-")]),
        ("GET", "/s.css", vec![("Range", "bytes=0-0"), ("If-Range", etag.as_str())]),
        ("GET", "/docs/", vec![]),
        ("HEAD", "/docs/", vec![]),
        ("GET", "/docs", vec![]),
        ("GET", "/s.css/", vec![]),
        ("GET", "/logo.svgz", vec![]),
        ("GET", "/logo.svgz", vec![("Accept-Encoding", "gzip")]),
        ("GET", "/logo.svgz", vec![("Range", "bytes=2-5")]),
        ("GET", "/docs/index.html/.", vec![]),
        ("GET", "/docs/../s.css", vec![]),
    ];
    for (method, target, fields) in &requests {
        // Twice each: the second answer is the cache's for sure.
        for _ in 0..2 {
            let from_cache = cached.send(method, target, fields);
            let from_disk = uncached.send(method, target, fields);
            let context = format!("{method} {target} {fields:?}");
            assert_eq!(from_cache.status_line, from_disk.status_line, "{context}");
            assert_eq!(from_cache.headers_without_date(), from_disk.headers_without_date(), "{context}");
            assert_eq!(from_cache.body, from_disk.body, "{context}");
        }
    }
    // Several ranges: multipart bodies, equal but for their random boundaries.
    for _ in 0..2 {
        let ranges = [("Range", "bytes=0-3,10-12,-4")];
        let (from_cache, from_disk) = (cached.send("GET", "/s.css", &ranges), uncached.send("GET", "/s.css", &ranges));
        from_cache.assert_status("HTTP/1.1 206 Partial Content");
        let boundary = |r: &Response| r.expect_header("Content-Type").rsplit('=').next().unwrap_or("").to_string();
        let normalised = |r: &Response| r.body_text().replace(&boundary(r), "BOUNDARY");
        assert_eq!(normalised(&from_cache), normalised(&from_disk));
        assert!(normalised(&from_cache).contains("body"), "{}", from_cache.body_text());
    }
    assert!(from_memory(&cached, "s.css") >= 10, "{}", cached.log());
    assert!(from_memory(&cached, "docs/index.html") >= 2, "{}", cached.log());
    assert!(from_memory(&cached, "logo.svgz") >= 4, "{}", cached.log());
    assert_eq!(from_memory(&uncached, "s.css"), 0, "--no-file-cache still used memory: {}", uncached.log());
}

#[test]
fn a_rewrite_is_seen_by_the_very_next_request() {
    let server = TestServer::start_debug(&["--threads", "2"]);
    // Each round's first request comes right after the rewrite, with the last version in
    // memory; the portable build needs a settled file to cache it, so it runs fewer rounds.
    let rounds = if cfg!(feature = "portable") { 4 } else { 40 };
    for i in 0..rounds {
        let body = format!("version {i:03}\n");
        server.write("v.txt", &body);
        assert_eq!(server.get("/v.txt").body_text(), body, "round {i}, right after the rewrite");
        let_the_cache_settle();
        for _ in 0..3 {
            let response = server.get("/v.txt");
            assert_eq!(response.body_text(), body, "round {i}");
        }
    }
    assert!(from_memory(&server, "v.txt") >= rounds, "the cache was never used: {}", server.log());
}

#[test]
fn replace_by_rename_delete_and_recreate_are_seen_at_once() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    server.write("page.html", "old\n");
    let_the_cache_settle();
    server.get("/page.html");
    assert_eq!(server.get("/page.html").body, b"old\n");
    assert_eq!(from_memory(&server, "page.html"), 2, "{}", server.log());
    // Atomic replace, as editors and build tools save.
    server.write("page.html.tmp", "new\n");
    fs::rename(server.root.join("page.html.tmp"), server.root.join("page.html")).expect("rename");
    assert_eq!(server.get("/page.html").body, b"new\n");
    assert_eq!(server.get("/page.html").body, b"new\n");
    fs::remove_file(server.root.join("page.html")).expect("remove");
    server.get("/page.html").assert_error("HTTP/1.1 404 Not Found");
    server.write("page.html", "again\n");
    assert_eq!(server.get("/page.html").body, b"again\n");
}

#[test]
fn a_new_modification_time_alone_changes_the_validators() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    let path = server.write("t.txt", "same bytes\n");
    let_the_cache_settle();
    let before = server.get("/t.txt");
    assert_eq!(server.get("/t.txt").expect_header("ETag"), before.expect_header("ETag"));
    assert_eq!(from_memory(&server, "t.txt"), 2, "{}", server.log());
    let later = SystemTime::now() + Duration::from_secs(3600);
    fs::File::options().write(true).open(&path).expect("open").set_modified(later).expect("set mtime");
    let after = server.get("/t.txt");
    assert_ne!(after.expect_header("ETag"), before.expect_header("ETag"));
    assert_ne!(after.expect_header("Last-Modified"), before.expect_header("Last-Modified"));
    assert_eq!(after.body, b"same bytes\n");
}

#[test]
fn a_new_sibling_or_index_page_is_seen_at_once() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    server.write("app.js", "console.log(1);\n");
    let_the_cache_settle();
    accept_gzip(&server, "/app.js");
    let plain = accept_gzip(&server, "/app.js");
    assert_eq!(from_memory(&server, "app.js"), 2, "{}", server.log());
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.header("Vary"), None);
    server.write("app.js.gz", b"\x1f\x8b not really");
    let gzipped = accept_gzip(&server, "/app.js");
    assert_eq!(gzipped.header("Content-Encoding"), Some("gzip"), "{:?}", gzipped.headers);
    assert_eq!(gzipped.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(gzipped.body, b"\x1f\x8b not really");

    server.write("docs/index.html", "<h1>index</h1>\n");
    let_the_cache_settle();
    server.get("/docs/");
    assert_eq!(server.get("/docs/").body, b"<h1>index</h1>\n");
    assert_eq!(from_memory(&server, "docs/index.html"), 2, "{}", server.log());
    fs::remove_file(server.root.join("docs/index.html")).expect("remove index");
    server.write("docs/other.txt", "x");
    let listing = server.get("/docs/");
    listing.assert_status("HTTP/1.1 200 OK");
    assert!(listing.body_text().contains("other.txt"), "expected a listing: {}", listing.body_text());
}

#[test]
fn a_renamed_folder_takes_its_files_with_it() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    server.write("d/deeper/x.txt", "x\n");
    let_the_cache_settle();
    server.get("/d/deeper/x.txt");
    assert_eq!(server.get("/d/deeper/x.txt").body, b"x\n");
    assert_eq!(from_memory(&server, "d/deeper/x.txt"), 2, "{}", server.log());
    fs::rename(server.root.join("d"), server.root.join("e")).expect("rename folder");
    server.get("/d/deeper/x.txt").assert_error("HTTP/1.1 404 Not Found");
    assert_eq!(server.get("/e/deeper/x.txt").body, b"x\n");
    // A folder recreated under the old name is watched anew.
    server.write("d/deeper/x.txt", "y\n");
    let_the_cache_settle();
    server.get("/d/deeper/x.txt");
    server.write("d/deeper/x.txt", "z\n");
    assert_eq!(server.get("/d/deeper/x.txt").body, b"z\n");
}

#[test]
fn a_write_through_a_hard_link_outside_the_root_is_seen() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    let inside = server.write("h.txt", "first\n");
    let outside = server.outside().join("h-link.txt");
    fs::hard_link(&inside, &outside).expect("hard link");
    let_the_cache_settle();
    server.get("/h.txt");
    assert_eq!(server.get("/h.txt").body, b"first\n");
    assert_eq!(from_memory(&server, "h.txt"), 2, "{}", server.log());
    fs::write(&outside, "second\n").expect("write through the link");
    assert_eq!(server.get("/h.txt").body, b"second\n");
}

#[test]
fn paths_through_symlinks_and_big_files_are_served_from_disk() {
    let server = TestServer::start_debug(&["--threads", "1"]);
    server.write("real/f.txt", "one\n");
    std::os::unix::fs::symlink("real", server.root.join("link")).expect("symlink");
    assert_eq!(server.get("/link/f.txt").body, b"one\n");
    server.write("real/f.txt", "two\n");
    assert_eq!(server.get("/link/f.txt").body, b"two\n");
    assert_eq!(from_memory(&server, "link/f.txt"), 0, "{}", server.log());

    let big = vec![b'b'; 100 * 1024];
    server.write("big.bin", &big);
    server.get("/big.bin");
    let response = server.get("/big.bin");
    assert_eq!(response.body, big);
    assert_eq!(from_memory(&server, "big.bin"), 0, "{}", server.log());
    // A small file that grows past the limit leaves memory for the disk.
    server.write("grows.bin", "small");
    server.get("/grows.bin");
    server.write("grows.bin", &big);
    assert_eq!(server.get("/grows.bin").body, big);
}
