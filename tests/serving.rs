//! Serving files: media types, Last-Modified, percent-decoding exactly once, UTF-8 and
//! space-containing names, special files, large files intact (alone and in parallel), and
//! many concurrent connections.

mod support;

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use support::{check_each, format_imf_fixdate, pseudo_random_bytes, Response, TestServer};

const MIB: usize = 1024 * 1024;

#[test]
fn media_types_by_extension() {
    // (name, Content-Type, Content-Encoding): the types browsers are strict about, exactly.
    let server = TestServer::start();
    let cases: [(&str, &str, Option<&str>); 22] = [
        ("page.html", "text/html; charset=utf-8", None),
        ("style.css", "text/css; charset=utf-8", None),
        ("app.js", "text/javascript; charset=utf-8", None),
        // RFC 9239: ES modules and CommonJS files are JavaScript too.
        ("mod.mjs", "text/javascript; charset=utf-8", None),
        ("lib.cjs", "text/javascript; charset=utf-8", None),
        ("LIB.CJS", "text/javascript; charset=utf-8", None),
        ("data.json", "application/json", None),
        ("app.webmanifest", "application/manifest+json", None),
        ("logo.svg", "image/svg+xml", None),
        // An SVG stored gzip-compressed: its one representation is gzip-coded SVG.
        ("logo.svgz", "image/svg+xml", Some("gzip")),
        ("LOGO.SVGZ", "image/svg+xml", Some("gzip")),
        ("pic.png", "image/png", None),
        ("pic.avif", "image/avif", None),
        ("pic.webp", "image/webp", None),
        ("font.woff2", "font/woff2", None),
        // `instantiateStreaming` needs exactly this, with no parameters.
        ("mod.wasm", "application/wasm", None),
        ("clip.mp4", "video/mp4", None),
        ("notes.txt", "text/plain; charset=utf-8", None),
        ("UPPER.HTML", "text/html; charset=utf-8", None),
        ("archive.tar.gz", "application/gzip", None),
        ("blob.unknownext", "application/octet-stream", None),
        ("no-extension", "application/octet-stream", None),
    ];
    for (name, _, _) in &cases {
        server.write(name, format!("bytes of {name}"));
    }
    check_each(&cases, |(name, media_type, encoding)| {
        for accept in ["", "gzip, br", "identity"] {
            let response = server.send("GET", &format!("/{name}"), &[("Accept-Encoding", accept)]);
            response.assert_status("HTTP/1.1 200 OK");
            assert_eq!(response.expect_header("Content-Type"), *media_type, "{name}");
            assert_eq!(response.header("Content-Encoding"), *encoding, "{name} with Accept-Encoding: {accept}");
            assert_eq!(response.header("Vary"), None, "{name}: nothing here varies");
            assert_eq!(response.body_text(), format!("bytes of {name}"));
        }
    });
}

#[test]
fn svgz_is_gzip_coded_svg_from_disk_and_from_memory_alike() {
    // One representation, stored coded: `Content-Encoding: gzip` whatever Accept-Encoding
    // says (there is no other to choose, so no Vary), no sibling lookup (`logo.svgz.gz` is
    // never sent for it), ranges count the stored (compressed) bytes, and a 304 carries no
    // Content-Encoding. The same from the file cache (small) and from disk (large).
    let server = TestServer::start();
    let small = pseudo_random_bytes(3000, 11);
    let large = pseudo_random_bytes(200 * 1024, 12);
    server.write("small.svgz", &small);
    server.write("large.svgz", &large);
    server.write("small.svgz.gz", b"a sibling that must not be sent");
    server.write("small.svgz.br", b"a sibling that must not be sent");
    for (target, bytes) in [("/small.svgz", &small), ("/large.svgz", &large)] {
        for round in 0..2 {
            for accept in [None, Some("gzip"), Some("br"), Some("identity"), Some("gzip;q=0")] {
                let fields: Vec<(&str, &str)> = accept.map(|v| ("Accept-Encoding", v)).into_iter().collect();
                let response = server.send("GET", target, &fields);
                let context = format!("{target} round {round} Accept-Encoding {accept:?}");
                response.assert_status("HTTP/1.1 200 OK");
                assert_eq!(response.expect_header("Content-Type"), "image/svg+xml", "{context}");
                assert_eq!(response.expect_header("Content-Encoding"), "gzip", "{context}");
                assert_eq!(response.header("Vary"), None, "{context}");
                assert_eq!(response.expect_header("Accept-Ranges"), "bytes", "{context}");
                assert!(response.body == **bytes, "{context}: not the stored bytes");
                let head = server.send("HEAD", target, &fields);
                head.assert_head_response("HTTP/1.1 200 OK");
                assert_eq!(head.headers_without_date(), response.headers_without_date(), "{context}");
            }
        }
        let etag = server.get(target).expect_header("ETag").to_string();
        let partial = server.send("GET", target, &[("Range", "bytes=10-19"), ("Accept-Encoding", "gzip")]);
        partial.assert_status("HTTP/1.1 206 Partial Content");
        assert_eq!(partial.expect_header("Content-Range"), format!("bytes 10-19/{}", bytes.len()));
        assert_eq!(partial.expect_header("Content-Encoding"), "gzip");
        assert!(partial.body == bytes[10..20]);
        let not_modified = server.send("GET", target, &[("If-None-Match", &etag)]);
        not_modified.assert_not_modified(&[
            "Date",
            "Server",
            "Connection",
            "X-Content-Type-Options",
            "ETag",
            "Last-Modified",
            "Cache-Control",
        ]);
    }
}

#[test]
fn last_modified_is_the_file_mtime() {
    let server = TestServer::start();
    let path = server.write("dated.txt", "dated");
    let mtime = UNIX_EPOCH + Duration::from_secs(1_500_000_000);
    std::fs::File::options().write(true).open(&path).expect("open").set_modified(mtime).expect("set mtime");
    let response = server.get("/dated.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.expect_header("Last-Modified"), "Fri, 14 Jul 2017 02:40:00 GMT");
    assert_eq!(response.expect_header("Last-Modified"), format_imf_fixdate(1_500_000_000));
    // A sub-second mtime is truncated to its second, not rounded up into the future.
    let fractional = UNIX_EPOCH + Duration::from_millis(1_600_000_000_900);
    std::fs::File::options().write(true).open(&path).expect("open").set_modified(fractional).expect("set mtime");
    let response = server.get("/dated.txt");
    assert_eq!(response.expect_header("Last-Modified"), format_imf_fixdate(1_600_000_000));
}

#[test]
fn percent_decoding_happens_exactly_once() {
    let server = TestServer::start();
    server.write("a b.txt", "space");
    server.write("\u{65e5}\u{672c}.txt", "nihon");
    server.write("100%.txt", "percent");
    server.write("a#b.txt", "hash");
    server.write("a.txt", "plain a");
    server.write("100%25.txt", "literal percent-two-five");
    let cases = [
        ("/a%20b.txt", "space"),
        ("/%E6%97%A5%E6%9C%AC.txt", "nihon"),
        ("/%e6%97%a5%e6%9c%ac.txt", "nihon"),
        ("/100%25.txt", "percent"),
        ("/a%23b.txt", "hash"),
        ("/%61.txt", "plain a"),
        ("/%61%2E%74%78%74", "plain a"),
        // Decoded once: `%2525` is the literal `%25`, not `%`.
        ("/100%2525.txt", "literal percent-two-five"),
    ];
    check_each(&cases, |(target, body)| {
        let response = server.get(target);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body_text(), *body, "{target}");
    });
    server.get("/a%2520b.txt").assert_error("HTTP/1.1 404 Not Found");
}

#[test]
fn names_with_spaces_and_utf8_are_served_small_and_large() {
    let server = TestServer::start();
    let small_name = "my notes \u{65e5}\u{672c} caf\u{e9}.txt";
    let large_name = "big file \u{1f600}.bin";
    let large = pseudo_random_bytes(300 * 1024, 3);
    server.write(small_name, "small utf-8 file");
    server.write(large_name, &large);
    let response = server.get("/my%20notes%20%E6%97%A5%E6%9C%AC%20caf%C3%A9.txt");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"small utf-8 file");
    let response = server.get("/big%20file%20%F0%9F%98%80.bin");
    response.assert_status("HTTP/1.1 200 OK");
    assert!(response.body == large, "large UTF-8-named file corrupted");
}

#[test]
fn empty_and_boundary_sized_files_are_intact() {
    let server = TestServer::start();
    let sizes = [0usize, 1, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 64 * 1024 + 7, MIB + 3];
    for (i, size) in sizes.iter().enumerate() {
        server.write(&format!("s{size}.bin"), pseudo_random_bytes(*size, i as u64 + 10));
    }
    check_each(&sizes.iter().enumerate().collect::<Vec<_>>(), |(i, size)| {
        let response = server.get(&format!("/s{size}.bin"));
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.content_length(), **size as u64);
        assert!(response.body == pseudo_random_bytes(**size, *i as u64 + 10), "{size}-byte file corrupted");
    });
}

#[test]
fn fifo_is_refused_without_hanging() {
    let server = TestServer::start();
    let status = std::process::Command::new("mkfifo").arg(server.root.join("pipe")).status().expect("run mkfifo");
    assert!(status.success(), "mkfifo failed");
    // Nothing ever writes to it: opening it for reading must not wait for a writer.
    let response = server.get("/pipe");
    response.assert_error("HTTP/1.1 403 Forbidden");
    let response = server.head("/pipe");
    response.assert_head_response("HTTP/1.1 403 Forbidden");
    // The server is still fine afterwards.
    server.write("ok.txt", "ok");
    assert_eq!(server.get("/ok.txt").body, b"ok");
}

#[test]
fn fifo_as_index_html_does_not_hang_or_serve() {
    let server = TestServer::start();
    server.mkdir("d");
    let status = std::process::Command::new("mkfifo").arg(server.root.join("d/index.html")).status().expect("mkfifo");
    assert!(status.success(), "mkfifo failed");
    let response = server.get("/d/");
    let line = response.status_line.clone();
    response.assert_status(&line);
    assert!([200, 403, 404].contains(&response.status), "{line}");
}

#[test]
fn large_file_comes_back_intact() {
    let server = TestServer::start();
    let data = pseudo_random_bytes(20 * MIB, 42);
    server.write("big.bin", &data);
    let response = server.get("/big.bin");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.content_length(), (20 * MIB) as u64);
    assert_eq!(response.expect_header("Content-Type"), "application/octet-stream");
    assert!(response.body == data, "20 MiB body differs from the file");
    let head = server.head("/big.bin");
    head.assert_head_response("HTTP/1.1 200 OK");
    assert_eq!(head.content_length(), (20 * MIB) as u64);
}

#[test]
fn four_large_downloads_in_parallel_are_intact() {
    let server = Arc::new(TestServer::start());
    let files: Vec<Arc<Vec<u8>>> = (0..4).map(|i| Arc::new(pseudo_random_bytes(20 * MIB, 100 + i))).collect();
    for (i, data) in files.iter().enumerate() {
        server.write(&format!("big{i}.bin"), data.as_slice());
    }
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let (server, data, barrier) = (Arc::clone(&server), Arc::clone(data), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut stream = server.connect();
                barrier.wait();
                stream.write_all(format!("GET /big{i}.bin HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes()).expect("write");
                let response = Response::parse(&support::read_to_eof(&mut stream));
                response.assert_status("HTTP/1.1 200 OK");
                assert!(response.body == *data, "download {i} corrupted ({} bytes)", response.body.len());
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a download failed");
    }
}

#[test]
fn two_hundred_concurrent_connections_all_get_correct_responses() {
    let server = Arc::new(TestServer::start());
    for i in 0..10 {
        server.write(&format!("f{i}.txt"), format!("file number {i}\n").repeat(i * 50 + 1));
    }
    const CLIENTS: usize = 200;
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (server, barrier) = (Arc::clone(&server), Arc::clone(&barrier));
            std::thread::spawn(move || -> Result<(), String> {
                // Every client is connected before any sends.
                let mut stream = server.connect();
                barrier.wait();
                let i = c % 10;
                let request = format!("GET /f{i}.txt HTTP/1.1\r\nHost: h\r\n\r\n");
                stream.write_all(request.as_bytes()).map_err(|e| format!("client {c}: write: {e}"))?;
                let raw = support::try_read_to_eof(&mut stream).map_err(|(e, _)| format!("client {c}: read: {e}"))?;
                let response = Response::parse(&raw);
                if response.status_line != "HTTP/1.1 200 OK" {
                    return Err(format!("client {c}: {}", response.status_line));
                }
                let expected = format!("file number {i}\n").repeat(i * 50 + 1);
                if response.body != expected.as_bytes() {
                    return Err(format!("client {c}: wrong body ({} bytes)", response.body.len()));
                }
                Ok(())
            })
        })
        .collect();
    let failures: Vec<String> = handles.into_iter().filter_map(|h| h.join().expect("client thread").err()).collect();
    assert!(failures.is_empty(), "{} of {CLIENTS} clients failed: {failures:?}", failures.len());
}
