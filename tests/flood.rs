//! A flood larger than the connection cap, at a small scale (`scripts/slowloris.sh` is the
//! full one): when the cap is full, the connection that has made the least progress on its
//! head — the fewest head bytes received per second since accept, among those connected at
//! least `EVICTION_MIN_AGE` — is answered `408` and closed so that a new client is served.
//! Responses in flight are never evicted.

mod support;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use rawserve::limits::EVICTION_MIN_AGE;
use support::{read_to_eof, start_download, try_connect, try_get, Launch, Response};

const CAP: usize = 50;
const MIB: usize = 1024 * 1024;

/// A connection that sent `head` (a partial request head) and nothing more.
fn slow_head(addr: std::net::SocketAddr, head: &[u8]) -> TcpStream {
    let mut stream = try_connect(addr).expect("connect");
    stream.write_all(head).expect("partial head");
    stream
}

/// Whatever the server sent on `stream` so far, without waiting: `None` when nothing came.
fn answered(stream: &mut TcpStream) -> Option<Vec<u8>> {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut first = [0u8; 1];
    let got = match stream.read(&mut first) {
        Ok(0) => Some(Vec::new()),
        Ok(_) => {
            stream.set_nonblocking(false).expect("blocking");
            let mut rest = read_to_eof(stream);
            rest.insert(0, first[0]);
            Some(rest)
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => panic!("read: {e}"),
    };
    let _ = stream.set_nonblocking(false);
    got
}

#[test]
fn at_the_cap_the_slowest_heads_make_room_for_new_clients() {
    let big: Vec<u8> = (0..32 * MIB).map(|i| (i % 251) as u8).collect();
    let server = Launch::new()
        .prepare(|root| {
            fs::write(root.join("index.html"), "hello\n").expect("write index.html");
            fs::write(root.join("big.bin"), &big).expect("write big.bin");
        })
        // One loop: a loop evicts among its own connections, so the GET below must meet them.
        .args(&["--max-connections", &CAP.to_string(), "--threads", "1", "--head-timeout", "30"])
        .log_level("info")
        .start();
    let baseline = server.idle_fd_count();

    // The cap, filled: 5 stalled downloads (responses in flight), 20 heads with 100 bytes
    // and 25 with 10 bytes, all accepted within moments, so the 10-byte ones have made a
    // tenth of the others' progress per second.
    let mut downloads: Vec<(TcpStream, Response)> =
        (0..5).map(|_| start_download(server.addr, "/big.bin", 1).expect("start a download")).collect();
    let mut faster: Vec<TcpStream> = (0..20)
        .map(|i| slow_head(server.addr, format!("GET / HTTP/1.1\r\nX-Pad-{i:02}: {}", "a".repeat(75)).as_bytes()))
        .collect();
    let mut slowest: Vec<TcpStream> = (0..25).map(|_| slow_head(server.addr, b"GET / HTTP")).collect();
    let held = server.wait_fds_at_least(baseline + CAP + 5, Duration::from_secs(5));
    assert!(held >= baseline + CAP + 5, "{held} fds: not all {CAP} connections (and 5 files) were accepted");

    // Younger than EVICTION_MIN_AGE, none of them may be evicted yet: a newcomer gets 503.
    let refused = try_get(server.addr, "/").expect("GET at the cap");
    assert_eq!(refused.status, 503, "{}", refused.status_line);

    thread::sleep(EVICTION_MIN_AGE + Duration::from_millis(200));
    // Ten more slow heads, then a normal client: each takes the place of one of the 25.
    let mut newcomers: Vec<TcpStream> = (0..10).map(|_| slow_head(server.addr, b"GET / HTTP")).collect();
    let ok = try_get(server.addr, "/").expect("GET over the flood");
    assert_eq!(ok.status, 200, "{}\n{}", ok.status_line, server.log_tail(10));
    assert_eq!(ok.body, b"hello\n");

    let mut evicted = 0;
    for stream in &mut slowest {
        if let Some(bytes) = answered(stream) {
            let response = Response::parse(&bytes);
            assert_eq!(response.status_line, "HTTP/1.1 408 Request Timeout");
            assert_eq!(response.header("Connection"), Some("close"));
            assert_eq!(response.content_length(), response.body.len() as u64);
            evicted += 1;
        }
    }
    assert_eq!(evicted, 11, "ten newcomers and one GET: eleven of the slowest heads make room");
    for stream in faster.iter_mut().chain(&mut newcomers) {
        assert_eq!(answered(stream), None, "a head with more progress, or a young one, was evicted");
    }
    // Downloads in flight were never touched: each arrives whole.
    for (stream, response) in &mut downloads {
        let mut body = std::mem::take(&mut response.body);
        body.extend(read_to_eof(stream));
        assert!(body == big, "a download in flight was cut ({} of {} bytes)", body.len(), big.len());
    }
    assert_eq!(server.settled_log_lines("evicting the slowest heads"), 1, "once per burst: {}", server.log_tail(5));
    let access =
        server.log().lines().filter(|l| l.contains(" 408 ") && l.contains("evicted at the connection cap")).count();
    assert_eq!(access, 11, "{}", server.log_tail(20));

    // The fds come back: evicted connections were closed at once, the rest on their own.
    drop((faster, slowest, newcomers, downloads));
    let fds = server.wait_fds_at_most(baseline, Duration::from_secs(5));
    assert!(fds <= baseline, "{fds} fds, baseline {baseline}");
}
