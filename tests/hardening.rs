//! Hardening at a small scale: hostile and unlucky clients against the real binary (and, for
//! the test-only panic trigger, the library in-process). Short deadlines are set on the
//! command line so every scenario ends in seconds; the full-scale figures come from
//! `scripts/` (see README, Hardening).
//!
//! Only std, through `tests/support`. Every read has a timeout and every wait a bound, so a
//! server that hangs fails a test instead of hanging it. Servers are killed by PID when a test
//! ends, pass or fail.

mod support;

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use support::{
    format_request, read_head, start_download, try_connect, try_get, Launch, Response, Sandbox, TestServer,
    READ_TIMEOUT,
};

const MIB: usize = 1024 * 1024;
/// "Answers quickly": a functional bound, not a benchmark.
const QUICK: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

const INDEX: &[u8] = b"<!DOCTYPE html><title>hardening</title><p>hello</p>\n";

/// rawserve with `args` on a root holding `index.html` and `files` (name, length; pattern 0),
/// at `RUST_LOG=info`: the level whose batched log lines the tests count.
fn launch(files: &[(&str, usize)], args: &[&str]) -> Launch {
    Launch::new()
        .prepare(|root| {
            fs::write(root.join("index.html"), INDEX).expect("write index.html");
            for (name, len) in files {
                write_pattern(&root.join(name), *len, 0);
            }
        })
        .args(args)
        .log_level("info")
}

fn serve(files: &[(&str, usize)], args: &[&str]) -> TestServer {
    launch(files, args).start()
}

/// The byte at `offset` of pattern `seed`: never zero, and different at every offset within
/// a 251-byte cycle that shifts each 64 KiB, so a shifted, zero-padded or foreign byte shows.
fn pattern(offset: usize, seed: usize) -> u8 {
    ((offset + offset / 65_536 + seed * 97) % 251) as u8 + 1
}

fn write_pattern(path: &Path, len: usize, seed: usize) {
    let mut file = fs::File::create(path).expect("create file");
    let mut chunk = vec![0u8; MIB];
    let mut written = 0;
    while written < len {
        let n = (len - written).min(MIB);
        for (i, b) in chunk[..n].iter_mut().enumerate() {
            *b = pattern(written + i, seed);
        }
        file.write_all(&chunk[..n]).expect("write file");
        written += n;
    }
}

/// The first offset where `bytes` (starting at body offset `start`) differs from the pattern.
fn pattern_mismatch(bytes: &[u8], start: usize, seed: usize) -> Option<usize> {
    bytes.iter().enumerate().find(|(i, b)| **b != pattern(start + i, seed)).map(|(i, _)| start + i)
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// The head of `response`, for failure messages (its body may be 20 MiB).
fn shown(response: &Response) -> String {
    format!("{} {:?}", response.status_line, response.headers)
}

/// Writes `GET path` on `stream`.
fn ask_for(stream: &mut TcpStream, addr: SocketAddr, path: &str) -> io::Result<()> {
    stream.write_all(format_request(addr, "GET", path, &[]).as_bytes())
}

/// GET that must answer 200 within `QUICK`.
fn assert_quick_ok(addr: SocketAddr, path: &str) -> Duration {
    let started = Instant::now();
    let response = try_get(addr, path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let elapsed = started.elapsed();
    assert_eq!(response.status, 200, "GET {path}: {}", shown(&response));
    assert!(elapsed < QUICK, "GET {path} took {elapsed:?}");
    elapsed
}

/// Retries GET (bounded) until it answers 200: the server may still be shedding load.
fn eventually_ok(addr: SocketAddr, path: &str, bound: Duration) -> Response {
    let until = Instant::now() + bound;
    loop {
        match try_get(addr, path) {
            Ok(response) if response.status == 200 => return response,
            other if Instant::now() >= until => {
                panic!("GET {path} never answered 200: {:?}", other.map(|r| shown(&r)))
            }
            _ => thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// `start_download` that must succeed with a 200.
fn download(addr: SocketAddr, path: &str, at_least: usize) -> (TcpStream, Response) {
    let (stream, response) = start_download(addr, path, at_least).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status, 200, "{}", shown(&response));
    (stream, response)
}

// ---------------------------------------------------------------------------------------
// Slow clients
// ---------------------------------------------------------------------------------------

#[test]
fn slow_clients_are_closed_by_deadlines_while_others_are_served() {
    const SLOW_HEADERS: usize = 100;
    const STALLED: usize = 20;
    let server = serve(&[("big.bin", 20 * MIB)], &["--head-timeout", "2", "--write-timeout", "2"]);
    let baseline = server.idle_fd_count();

    // 100 clients that send a request head one byte at a time (every 200 ms).
    let mut slow = Vec::new();
    for _ in 0..SLOW_HEADERS {
        let mut stream = try_connect(server.addr).expect("connect slow client");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127").expect("first bytes");
        slow.push(stream);
    }
    let dripping: Vec<TcpStream> = slow.iter().map(|s| s.try_clone().expect("clone")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_drip = Arc::clone(&stop);
    let drip = thread::spawn(move || {
        let mut dripping = dripping;
        let started = Instant::now();
        while !stop_drip.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(4) {
            // A write to a closed connection fails; that client is done.
            dripping.retain_mut(|s| s.write_all(b".").is_ok());
            thread::sleep(Duration::from_millis(200));
        }
    });

    // 20 clients that ask for a 20 MiB file and never read it.
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut stream = try_connect(server.addr).expect("connect downloader");
        ask_for(&mut stream, server.addr, "/big.bin").expect("request");
        stalled.push(stream);
    }
    assert!(
        server.wait_fds_at_least(baseline + SLOW_HEADERS + 2 * STALLED, QUICK) >= baseline + SLOW_HEADERS + STALLED,
        "the slow clients were not all accepted"
    );

    // Meanwhile, normal requests answer at once.
    for _ in 0..10 {
        assert_quick_ok(server.addr, "/");
    }

    // Every slow-header client gets 408 (or is closed) once its head deadline passes.
    let mut timed_out = 0;
    for stream in &mut slow {
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply); // a reset after the 408 is fine
        if reply.starts_with(b"HTTP/1.1 408 ") {
            timed_out += 1;
        } else {
            assert!(reply.is_empty(), "unexpected reply: {:?}", String::from_utf8_lossy(&reply));
        }
    }
    stop.store(true, Ordering::Relaxed);
    drip.join().expect("drip thread");
    assert!(timed_out > SLOW_HEADERS / 2, "only {timed_out} of {SLOW_HEADERS} slow clients got 408");

    // Every stalled download is cut off by the write timeout: the server's fds return to
    // what they were before the slow clients came.
    let after = server.wait_fds_at_most(baseline, Duration::from_secs(15));
    assert!(after <= baseline, "server fds {after}, baseline {baseline}: slow clients still held");
    for mut stream in stalled {
        let mut response = read_head(&mut stream).expect("stalled download's head");
        assert_eq!(response.status, 200, "{}", shown(&response));
        let _ = stream.read_to_end(&mut response.body); // ends with EOF: the server closed it
        assert!(response.body.len() < 20 * MIB, "a stalled download was not cut off");
        assert_eq!(pattern_mismatch(&response.body, 0, 0), None, "corrupt bytes in a cut-off download");
    }
    assert_eq!(server.settled_log_lines("no write progress"), STALLED, "{}", server.log());
    assert_quick_ok(server.addr, "/");
}

// ---------------------------------------------------------------------------------------
// Overload
// ---------------------------------------------------------------------------------------

#[test]
fn over_the_connection_cap_clients_get_503_then_service_resumes() {
    const CAP: usize = 20;
    let server = serve(&[("big.bin", 20 * MIB)], &["--max-connections", "20", "--head-timeout", "30"]);
    let baseline = server.idle_fd_count();

    // Stalled downloads: responses in flight, which are never evicted to make room (slow
    // heads would be: tests/flood.rs).
    let held: Vec<TcpStream> =
        (0..CAP).map(|_| start_download(server.addr, "/big.bin", 1).expect("start a download").0).collect();
    let count = server.wait_fds_at_least(baseline + CAP, QUICK);
    assert!(count >= baseline + CAP, "only {count} fds: the idle connections were not all accepted");

    for _ in 0..5 {
        let started = Instant::now();
        let response = try_get(server.addr, "/").expect("over the cap");
        assert_eq!(response.status, 503, "{}", shown(&response));
        assert_eq!(response.header("Retry-After"), Some("1"), "{}", shown(&response));
        assert_eq!(response.header("Connection"), Some("close"));
        assert_eq!(response.content_length(), response.body.len() as u64);
        assert!(started.elapsed() < QUICK, "503 took {:?}", started.elapsed());
    }
    assert_eq!(server.settled_log_lines("connections in flight, the cap"), 1, "once per burst: {}", server.log());

    drop(held);
    eventually_ok(server.addr, "/", QUICK);
    for _ in 0..5 {
        assert_quick_ok(server.addr, "/");
    }
    assert!(server.wait_fds_at_most(baseline, QUICK) <= baseline, "fds did not return to the baseline");
}

// ---------------------------------------------------------------------------------------
// File descriptors run out
// ---------------------------------------------------------------------------------------

/// What became of one connection of a burst.
#[derive(Debug, Default)]
struct Outcomes {
    ok: usize,
    unavailable: usize,
    closed: usize,
}

/// Opens `n` connections that each ask for `path` and stop reading; then reads each one's
/// head (bounded). Every connection must get a response or a clean close.
fn burst(addr: SocketAddr, n: usize, path: &str) -> Outcomes {
    let mut streams = Vec::new();
    let mut outcomes = Outcomes::default();
    for _ in 0..n {
        match try_connect(addr) {
            Ok(mut stream) => {
                // A write may fail if the server already answered 503 and closed.
                let _ = ask_for(&mut stream, addr, path);
                streams.push(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => outcomes.closed += 1,
            Err(e) => panic!("connect: {e}"),
        }
    }
    thread::sleep(Duration::from_millis(300));
    for mut stream in streams {
        match read_head(&mut stream) {
            Ok(response) => match response.status {
                200 => outcomes.ok += 1,
                503 => {
                    let retry_after = response.headers.iter().any(|(n, v)| n == "Retry-After" && v == "1");
                    assert!(retry_after, "{}", shown(&response));
                    outcomes.unavailable += 1;
                }
                other => panic!("unexpected status {other}: {}", shown(&response)),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                panic!("a connection hung: no answer in {READ_TIMEOUT:?}")
            }
            // Closed without an answer (EOF or reset): a clean refusal.
            Err(_) => outcomes.closed += 1,
        }
        // Dropping it with the body unread resets the download: the server frees its fds.
    }
    outcomes
}

#[test]
fn out_of_file_descriptors_the_server_sheds_load_and_recovers() {
    let args = ["--head-timeout", "5", "--write-timeout", "5", "--threads", "2"];
    let server = launch(&[("big.bin", 20 * MIB)], &args).fd_limit(64).start();
    let limits = fs::read_to_string(format!("/proc/{}/limits", server.pid())).expect("limits");
    assert!(
        limits.lines().any(|l| l.starts_with("Max open files") && l.split_whitespace().nth(3) == Some("64")),
        "{limits}"
    );
    let baseline = server.idle_fd_count();
    let mut logged = 0;
    for round in 0..2 {
        let outcomes = burst(server.addr, 100, "/big.bin");
        assert_eq!(outcomes.ok + outcomes.unavailable + outcomes.closed, 100, "{outcomes:?}");
        assert!(outcomes.ok > 0 && outcomes.ok < 64, "round {round}: {outcomes:?}");
        assert!(outcomes.unavailable + outcomes.closed > 0, "round {round}: nothing was shed: {outcomes:?}");
        let after = server.wait_fds_at_most(baseline, Duration::from_secs(10));
        assert!(after <= baseline, "round {round}: {after} fds, baseline {baseline}");
        // A burst ends after a second without refusals (BURST_QUIET): the next round is a new one.
        thread::sleep(Duration::from_millis(1200));
        eventually_ok(server.addr, "/", QUICK);
        assert_quick_ok(server.addr, "/");
        // Shedding is logged once per burst (once for the cap, once for EMFILE at most),
        // not once per refused connection.
        let now_logged = server.settled_log_lines("out of file descriptors")
            + server.log_lines_containing("connections in flight, the cap");
        assert!((1..=2).contains(&(now_logged - logged)), "round {round}: {}", server.log());
        logged = now_logged;
    }
}

/// Asks for `path` on a new connection and reads the answer's head (bounded).
fn ask(addr: SocketAddr, path: &str) -> (TcpStream, u16) {
    let mut stream = try_connect(addr).expect("connect");
    let _ = ask_for(&mut stream, addr, path);
    match read_head(&mut stream) {
        Ok(response) => (stream, response.status),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            panic!("no answer in {READ_TIMEOUT:?}: the server hung")
        }
        Err(_) => (stream, 0), // closed without an answer
    }
}

#[test]
fn running_out_of_fds_is_logged_once_per_burst_even_as_clients_come_and_go() {
    // The start-up clamp keeps the cap below what the fd limit allows, so EMFILE in accept()
    // takes a limit lowered under a running server (`prlimit`), as when something else in the
    // process, or an administrator, takes the fds: fds then run out before the cap is reached.
    const LIMIT: usize = 64;
    let args = ["--threads", "2", "--head-timeout", "30", "--write-timeout", "30"];
    let server = launch(&[("big.bin", 20 * MIB)], &args).fd_limit(1024).start();
    let lowered = Command::new("prlimit")
        .args(["--pid", &server.pid().to_string(), &format!("--nofile={LIMIT}:{LIMIT}")])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(lowered.success(), "prlimit failed: {lowered:?}");
    server.idle_fd_count();
    // The limit bounds fd numbers, not how many are open: an fd inherited from above it (the
    // jobserver pipe `cargo test` passes down, say) takes no slot below it.
    let baseline = server.fds_below(LIMIT);
    // Each held download costs a socket and a file: make the free fds even, so that the last
    // one is taken by a download and the next connection meets EMFILE in accept() (an odd
    // last fd would be met by open() instead, which answers 503 without logging).
    // It sends a partial head: a silent one would wait in the kernel (TCP_DEFER_ACCEPT).
    let _parity = ((LIMIT - baseline) % 2 == 1).then(|| {
        let mut stream = try_connect(server.addr).expect("idle connection");
        stream.write_all(b"GET /").expect("partial head");
        stream
    });

    let mut held = std::collections::VecDeque::new();
    let mut statuses = Vec::new();
    while held.len() < LIMIT {
        let (stream, status) = ask(server.addr, "/big.bin");
        statuses.push(status);
        match status {
            200 => held.push_back(stream),
            _ => break,
        }
    }
    assert_eq!(statuses.last(), Some(&503), "fds never ran out: {statuses:?}");
    assert!(held.len() < LIMIT / 2, "fds should run out after about (LIMIT - baseline) / 2 downloads");

    // The overload goes on for a second or two: now and then a download ends, and two new
    // clients arrive, the first taking the freed fds, the second meeting EMFILE again.
    for _ in 0..10 {
        drop(held.pop_front());
        // Two fds come free (one may go back to the spare at once, when another loop took
        // the spare's slot during a refusal). The wait only paces the clients: it stays
        // well under the burst's quiet time, so the overload remains one burst.
        server.wait_fds_at_most(LIMIT - 1, Duration::from_millis(400));
        for _ in 0..2 {
            let (stream, status) = ask(server.addr, "/big.bin");
            assert!(status == 200 || status == 503 || status == 0, "status {status}");
            statuses.push(status);
            if status == 200 {
                held.push_back(stream);
            }
        }
    }
    assert!(statuses.iter().filter(|s| **s == 503).count() >= 10, "{statuses:?}");
    drop(held);
    eventually_ok(server.addr, "/", QUICK);
    assert_quick_ok(server.addr, "/");
    let logged = server.settled_log_lines("out of file descriptors");
    assert_eq!(logged, 1, "EMFILE logged {logged} times in one burst, not once: {}", server.log());
}

// ---------------------------------------------------------------------------------------
// A panic while serving
// ---------------------------------------------------------------------------------------

#[test]
fn a_panic_in_a_handler_answers_500_and_the_server_lives_on() {
    let root = Sandbox::new();
    fs::write(root.path().join("index.html"), INDEX).expect("write index.html");
    let config = rawserve::Config { root: root.path().to_path_buf(), port: 0, threads: 2, ..Default::default() };
    let server = rawserve::Server::bind(config).expect("bind");
    let addr = server.local_addr().expect("local addr");
    let handle = server.shutdown_handle();
    let running = thread::spawn(move || server.run());

    let response = try_get(addr, "/__panic").expect("GET /__panic");
    assert_eq!(response.status, 500, "{}", shown(&response));
    assert_eq!(response.content_length(), response.body.len() as u64);
    let page = try_get(addr, "/").expect("GET / after the panic");
    assert_eq!((page.status, page.body.as_slice()), (200, INDEX));

    // Many at once, mixed with normal requests: every one is answered.
    let workers: Vec<_> = (0..16)
        .map(|i| thread::spawn(move || try_get(addr, if i % 2 == 0 { "/__panic" } else { "/" }).map(|r| r.status)))
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        let status = worker.join().expect("client thread").expect("answer");
        assert_eq!(status, if i % 2 == 0 { 500 } else { 200 });
    }
    assert!(!running.is_finished(), "the server stopped after panics");
    assert_quick_ok(addr, "/");

    handle.shutdown();
    let until = Instant::now() + Duration::from_secs(12);
    while !running.is_finished() && Instant::now() < until {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(running.is_finished(), "shutdown did not stop the server");
    running.join().expect("server thread").expect("run");
}

// ---------------------------------------------------------------------------------------
// Graceful shutdown
// ---------------------------------------------------------------------------------------

#[test]
fn sigterm_lets_downloads_in_flight_finish_and_refuses_new_connections() {
    const SIZE: usize = 20 * MIB;
    let mut server = serve(&[("big.bin", SIZE)], &["--drain-timeout", "10", "--write-timeout", "10"]);
    let addr = server.addr;

    // Four downloads that read a little and then wait for the signal.
    let (started_tx, started_rx) = mpsc::channel();
    let go = Arc::new(AtomicBool::new(false));
    let downloads: Vec<_> = (0..4)
        .map(|_| {
            let started_tx = started_tx.clone();
            let go = Arc::clone(&go);
            thread::spawn(move || -> io::Result<(usize, u64, Option<usize>)> {
                let (mut stream, response) = start_download(addr, "/big.bin", 256 * 1024)?;
                let length = response.content_length();
                let mut body = response.body;
                let _ = started_tx.send(body.len());
                let until = Instant::now() + Duration::from_secs(10);
                while !go.load(Ordering::Relaxed) && Instant::now() < until {
                    thread::sleep(Duration::from_millis(10));
                }
                stream.read_to_end(&mut body)?;
                Ok((body.len(), length, pattern_mismatch(&body, 0, 0)))
            })
        })
        .collect();
    for _ in 0..4 {
        let received = started_rx.recv_timeout(Duration::from_secs(10)).expect("a download started");
        assert!(received < SIZE, "a download finished before the signal");
    }

    server.signal("TERM");
    // New connections are refused (the listener is shut), within a short bound.
    let until = Instant::now() + QUICK;
    let refused = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break true,
            _ if Instant::now() >= until => break false,
            _ => thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(refused, "new connections still accepted after SIGTERM");

    go.store(true, Ordering::Relaxed);
    for download in downloads {
        let (received, length, mismatch) = download.join().expect("download thread").expect("download");
        assert_eq!(length, SIZE as u64);
        assert_eq!(received, SIZE, "a download in flight was cut short by the shutdown");
        assert_eq!(mismatch, None, "a download's bytes are corrupt");
    }
    let status = server.wait_exit(Duration::from_secs(12)).expect("no exit within the drain timeout");
    assert!(status.success(), "exit status {status:?}; stderr: {}", server.log());
}

// ---------------------------------------------------------------------------------------
// Files that change while they are sent
// ---------------------------------------------------------------------------------------

/// The size of the file `cut_while_sent` serves.
const SENT_SIZE: usize = 20 * MIB;

/// Serves a 20 MiB file, reads its first MiB, lets the server fill the socket buffers (a few
/// MiB) and wait, cuts the file to `cut` bytes, and reads to the end. Returns the server, the
/// body received and how long its end took. The write timeout (60 s) is far past
/// `READ_TIMEOUT`, so a response left waiting for it shows as an end that never came.
fn cut_while_sent(cut: usize) -> (TestServer, Vec<u8>, Duration) {
    let server = serve(&[("big.bin", SENT_SIZE)], &["--write-timeout", "60"]);
    let path = server.root.join("big.bin");
    let (mut stream, response) = download(server.addr, "/big.bin", MIB);
    assert_eq!(response.content_length(), SENT_SIZE as u64);
    let mut body = response.body;
    thread::sleep(Duration::from_millis(300));
    fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(cut as u64).expect("truncate");

    let started = Instant::now();
    let _ = stream.read_to_end(&mut body); // EOF or a reset: either way the end
    let took = started.elapsed();
    let logged = Instant::now() + QUICK;
    while server.log_lines_containing("changed size") == 0 && Instant::now() < logged {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.log_lines_containing("changed size"), 1, "{}", server.log());
    (server, body, took)
}

/// Cut behind the sender: its next `sendfile` finds nothing before the region's end.
#[test]
fn a_file_truncated_while_sent_is_cut_short_never_padded() {
    const TRUNCATED: usize = MIB;
    let (server, body, took) = cut_while_sent(TRUNCATED);
    assert!(took < READ_TIMEOUT, "the truncated response did not end");
    // Fewer bytes than the Content-Length it announced (never more), all of them the file's.
    assert!(body.len() < SENT_SIZE, "received {} bytes: all of the old length?", body.len());
    assert_eq!(pattern_mismatch(&body, 0, 0), None, "padding or garbage in a truncated response");

    // The file as it is now is served whole and correctly.
    let now = eventually_ok(server.addr, "/big.bin", QUICK);
    assert_eq!(now.content_length(), TRUNCATED as u64);
    assert_eq!(now.body.len(), TRUNCATED);
    assert_eq!(pattern_mismatch(&now.body, 0, 0), None);
    assert_quick_ok(server.addr, "/");
}

/// Cut ahead of the sender: `sendfile` stops short at the new end while the socket still has
/// room. That short count must not be taken for a full socket waiting for room it will never
/// report (the sender asks the socket, finds room, and meets the end): the response ends at
/// once, at exactly the new length, instead of at the write timeout.
#[test]
fn a_file_cut_ahead_of_the_sender_ends_at_its_new_length_at_once() {
    const CUT: usize = 16 * MIB;
    let (_server, body, took) = cut_while_sent(CUT);
    assert!(took < READ_TIMEOUT, "the cut response waited for the write timeout");
    assert_eq!(body.len(), CUT, "the response did not end at the file's new end");
    assert_eq!(pattern_mismatch(&body, 0, 0), None, "padding or garbage in a cut response");
}

#[test]
fn a_file_replaced_while_sent_is_sent_whole_from_the_old_version() {
    const SIZE: usize = 20 * MIB;
    let server = serve(&[("big.bin", SIZE)], &["--write-timeout", "10"]);
    let path = server.root.join("big.bin");

    let (mut stream, response) = download(server.addr, "/big.bin", MIB);
    let mut body = response.body;
    // Replace it the way editors and deploy tools do: write a new file, rename it over.
    let new = server.root.join("big.bin.new");
    write_pattern(&new, 2 * MIB, 1);
    fs::rename(&new, &path).expect("rename over");

    stream.read_to_end(&mut body).expect("read the rest");
    assert_eq!(body.len(), SIZE, "the response lost or gained bytes");
    assert_eq!(pattern_mismatch(&body, 0, 0), None, "old and new versions mixed");
    let now = try_get(server.addr, "/big.bin").expect("GET the new version");
    assert_eq!(now.body.len(), 2 * MIB);
    assert_eq!(pattern_mismatch(&now.body, 0, 1), None);
}
