//! The command line: help and version, the start-up line, every start-up error as one
//! `rawserve: ` line with exit status 2, IPv6, and a graceful stop on SIGTERM.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{
    check_each, first_stdout_line, parse_startup_port, pseudo_random_bytes, wait_with_limit, Response, Sandbox,
    TestServer, BIN,
};

/// Runs rawserve to completion (it must exit by itself within 10 s).
fn run(args: &[&str]) -> Output {
    run_in(Path::new("."), args)
}

/// `run` in the folder `dir`.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rawserve");
    if wait_with_limit(&mut child, Duration::from_secs(10)).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("rawserve {args:?} did not exit within 10 s");
    }
    child.wait_with_output().expect("output")
}

/// Exit status 2, exactly one stderr line starting `rawserve: `, nothing on stdout, no panic.
fn assert_start_error(args: &[&str], mentions: &str) {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: status {:?}; stderr {stderr:?}", output.status);
    assert!(stderr.ends_with('\n'), "{args:?}: stderr not a whole line: {stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: not exactly one stderr line: {stderr:?}");
    assert!(stderr.starts_with("rawserve: "), "{args:?}: {stderr:?}");
    assert!(stderr.len() > "rawserve: ".len() + 10, "{args:?}: says nothing: {stderr:?}");
    assert!(stderr.contains(mentions), "{args:?}: {stderr:?} does not mention {mentions:?}");
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "thread '"] {
        assert!(!stderr.contains(bad), "{args:?}: {stderr:?}");
    }
    assert!(stdout.is_empty(), "{args:?}: stdout {stdout:?}");
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "-h"] {
        let output = run(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        let text = String::from_utf8_lossy(&output.stdout);
        for option in [
            "--bind",
            "--port",
            "--threads",
            "--no-listing",
            "--hidden",
            "--spa",
            "--clean-urls",
            "--follow-symlinks",
            "--cache-control",
            "--no-file-cache",
            "--max-connections",
            "--head-timeout",
            "--write-timeout",
            "--drain-timeout",
            "--reuse-port",
            "--access-log",
            "--log-format",
            "--trusted-proxy",
            "--live-reload",
            "--help",
            "--version",
            "ROOT",
        ] {
            assert!(text.contains(option), "{flag} does not mention {option}: {text}");
        }
    }
    for flag in ["-V", "--version"] {
        let output = run(&[flag]);
        assert_eq!(output.status.code(), Some(0), "{flag}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "rawserve 0.1.0\n", "{flag}");
    }
}

#[test]
fn missing_root_is_an_error() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path().join("does-not-exist");
    assert_start_error(&["--port", "0", missing.to_str().expect("utf-8")], "does-not-exist");
}

/// Without ROOT, rawserve serves ./www (what `cargo run --release` serves in the repository).
/// Run where there is none, its one line says how to serve the folder the user is in — and
/// that works.
#[test]
fn without_www_the_message_says_how_to_serve_this_folder() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path().join("index.html"), "<p>this folder</p>").expect("write");
    let output = run_in(sandbox.path(), &["--port", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "rawserve: no folder to serve: no ROOT was given and there is no ./www in {}; to serve this \
             folder run `rawserve .`, or name one: `rawserve ./site`\n",
            sandbox.path().display()
        )
    );
    let mut command = Command::new(BIN);
    command.args(["--bind", "127.0.0.1", "--port", "0", "."]).current_dir(sandbox.path());
    with_started_server(command, |line| {
        let line = line.expect("start-up line");
        let port = parse_startup_port(&line, "127.0.0.1").unwrap_or_else(|| panic!("start-up line {line:?}"));
        assert_eq!(line, format!("rawserve 0.1.0 serving {} at http://127.0.0.1:{port}/", sandbox.path().display()));
        let raw = support::raw_to(SocketAddr::from(([127, 0, 0, 1], port)), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(Response::parse(&raw).body, b"<p>this folder</p>");
    });
    // Where ./www exists, no ROOT serves it.
    std::fs::create_dir(sandbox.path().join("www")).expect("mkdir");
    std::fs::write(sandbox.path().join("www/index.html"), "<p>www</p>").expect("write");
    let mut command = Command::new(BIN);
    command.args(["--bind", "127.0.0.1", "--port", "0"]).current_dir(sandbox.path());
    with_started_server(command, |line| {
        let line = line.expect("start-up line");
        let port = parse_startup_port(&line, "127.0.0.1").unwrap_or_else(|| panic!("start-up line {line:?}"));
        assert_eq!(
            line,
            format!("rawserve 0.1.0 serving {}/www at http://127.0.0.1:{port}/", sandbox.path().display())
        );
        let raw = support::raw_to(SocketAddr::from(([127, 0, 0, 1], port)), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(Response::parse(&raw).body, b"<p>www</p>");
    });
}

#[test]
fn root_that_is_a_file_is_an_error() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("plain.txt");
    std::fs::write(&file, "x").expect("write");
    assert_start_error(&["--port", "0", file.to_str().expect("utf-8")], "plain.txt");
}

#[test]
fn unknown_option_is_an_error() {
    let sandbox = Sandbox::new();
    assert_start_error(&["--bogus", sandbox.path().to_str().expect("utf-8")], "--bogus");
}

#[test]
fn bad_port_is_an_error() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().to_str().expect("utf-8");
    assert_start_error(&["--port", "99999", root], "99999");
    assert_start_error(&["--port", "http", root], "http");
    assert_start_error(&["--port", "-1", root], "port");
}

#[test]
fn port_in_use_is_an_error() {
    let sandbox = Sandbox::new();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = taken.local_addr().expect("addr").port().to_string();
    assert_start_error(&["--bind", "127.0.0.1", "--port", &port, sandbox.path().to_str().expect("utf-8")], &port);
    drop(taken);
}

#[test]
fn address_not_of_this_machine_is_an_error() {
    // TEST-NET-1 (RFC 5737): binding fails with EADDRNOTAVAIL; nothing is ever sent there.
    let sandbox = Sandbox::new();
    assert_start_error(&["--bind", "192.0.2.1", "--port", "0", sandbox.path().to_str().expect("utf-8")], "192.0.2.1");
}

#[test]
fn startup_line_names_the_canonical_root_and_the_real_port() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path().join("real/site")).expect("mkdir");
    std::fs::write(sandbox.path().join("real/site/index.html"), "<p>canonical</p>").expect("write");
    std::os::unix::fs::symlink(sandbox.path().join("real"), sandbox.path().join("link")).expect("symlink");
    // A relative root through a symlink, with `.` and `..` in it.
    let mut command = Command::new(BIN);
    command.args(["--bind", "127.0.0.1", "--port", "0", "link/./site/../site"]).current_dir(sandbox.path());
    with_started_server(command, |line| {
        let line = line.expect("start-up line");
        let port = parse_startup_port(&line, "127.0.0.1").unwrap_or_else(|| panic!("start-up line {line:?}"));
        let canonical = sandbox.path().join("real/site").canonicalize().expect("canonical");
        assert_eq!(line, format!("rawserve 0.1.0 serving {} at http://127.0.0.1:{port}/", canonical.display()));
        // The port is accepting when the line appears.
        let raw = support::raw_to(SocketAddr::from(([127, 0, 0, 1], port)), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        let response = Response::parse(&raw);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body, b"<p>canonical</p>");
    });
}

#[test]
fn ipv6_loopback_is_served() {
    if TcpListener::bind("[::1]:0").is_err() {
        println!("SKIPPED ipv6_loopback_is_served: this machine has no IPv6 loopback (::1)");
        return;
    }
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path().join("six.txt"), "over ipv6\n").expect("write");
    let mut command = Command::new(BIN);
    command.args(["--bind", "::1", "--port", "0"]).arg(sandbox.path());
    with_started_server(command, |line| {
        let line = line.expect("start-up line");
        let port = parse_startup_port(&line, "[::1]").unwrap_or_else(|| panic!("start-up line {line:?}"));
        assert!(line.ends_with(&format!(" at http://[::1]:{port}/")), "{line}");
        let addr: SocketAddr = format!("[::1]:{port}").parse().expect("addr");
        let raw = support::raw_to(addr, format!("GET /six.txt HTTP/1.1\r\nHost: [::1]:{port}\r\n\r\n").as_bytes());
        let response = Response::parse(&raw);
        response.assert_status("HTTP/1.1 200 OK");
        assert_eq!(response.body, b"over ipv6\n");
    });
}

/// Starts `command` (stdout piped), hands its start-up line to `check`, and kills it by PID
/// whatever `check` does, re-raising its panic afterwards.
fn with_started_server(mut command: Command, check: impl FnOnce(Result<String, String>) + std::panic::UnwindSafe) {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn");
    let line = first_stdout_line(&mut child);
    let result = std::panic::catch_unwind(|| check(line));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn sigterm_exits_0_and_then_refuses_connections() {
    let mut server = TestServer::start();
    server.write("a.txt", "alpha\n");
    assert_eq!(server.get("/a.txt").body, b"alpha\n");
    server.signal("TERM");
    // Within the drain timeout (10 s by default), plus a margin for the process to exit.
    let status = server.wait_exit(Duration::from_secs(12)).expect("rawserve still running 12 s after SIGTERM");
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status:?}");
    match TcpStream::connect_timeout(&server.addr, Duration::from_secs(5)) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("a connection was accepted after the server exited"),
    }
}

/// A supervisor or harness that waits for the port to accept and then stops the server at
/// once must see the graceful stop (status 0), never the default action of SIGTERM (killed by
/// the signal). With the handlers installed after the listener, half of such rounds were
/// killed; the rounds make a window of that size all but certain to show.
#[test]
fn sigterm_as_soon_as_the_port_accepts_exits_0() {
    let root = Sandbox::new();
    let mut rounds = 0;
    while rounds < 40 {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let mut child = Command::new(BIN)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .arg(root.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rawserve");
        let started = std::time::Instant::now();
        let connected = loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                break Some(stream);
            }
            if child.try_wait().expect("try_wait").is_some() || started.elapsed() > Duration::from_secs(10) {
                break None;
            }
        };
        if connected.is_some() {
            // kill(2) itself, not kill(1): a process start would outlast the window.
            // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
            assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0, "kill");
        }
        let Some(status) = wait_with_limit(&mut child, Duration::from_secs(12)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("round {rounds}: still running 12 s after SIGTERM");
        };
        let mut stderr = String::new();
        let _ = child.stderr.take().expect("stderr").read_to_string(&mut stderr);
        if connected.is_none() && stderr.contains("in use") {
            continue; // another test took the port between our probe and rawserve's bind
        }
        assert!(connected.is_some(), "round {rounds}: never accepted; {status:?}, stderr {stderr:?}");
        assert_eq!(status.code(), Some(0), "round {rounds}: status {status:?}, stderr {stderr:?}");
        rounds += 1;
    }
}

/// Shutting the listener down wakes every loop with `EINVAL` from accept: an expected end,
/// not an error. Several loops and several rounds, since which loop wakes first varies.
#[test]
fn sigterm_logs_no_error() {
    for round in 0..4 {
        let mut server = TestServer::start_with(&["--threads", "4"]);
        assert_eq!(server.get("/").status, 200);
        server.signal("TERM");
        let status = server.wait_exit(Duration::from_secs(12)).expect("rawserve still running 12 s after SIGTERM");
        assert_eq!(status.code(), Some(0), "round {round}: {status:?}");
        let log = server.log();
        assert!(!log.contains("ERROR") && !log.contains("WARN"), "round {round}: {log}");
    }
}

#[test]
fn sigterm_does_not_wait_for_connections_that_sent_nothing() {
    let mut server = TestServer::start();
    let idle = server.connect();
    // Let the server accept it before the signal.
    std::thread::sleep(Duration::from_millis(200));
    let started = std::time::Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(12)).expect("rawserve still running 12 s after SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
    // No response was in flight, so the 10 s drain time must not be spent waiting for it.
    assert!(started.elapsed() < Duration::from_secs(5), "exit took {:?} with one idle connection", started.elapsed());
    drop(idle);
}

#[test]
fn sigterm_lets_a_response_in_flight_finish() {
    let mut server = TestServer::start();
    let data = pseudo_random_bytes(20 * 1024 * 1024, 77);
    server.write("big.bin", &data);
    let mut stream = server.connect();
    stream.write_all(b"GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n").expect("write");
    let mut first = vec![0u8; 64 * 1024];
    let n = stream.read(&mut first).expect("first bytes");
    assert!(n > 0);
    server.signal("TERM");
    // New connections are refused while the download is drained (bounded wait).
    let started = std::time::Instant::now();
    let mut reset = false;
    loop {
        match TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
            // A handshake caught by the shutdown (queued, or its last ACK arriving just after)
            // is reset by the kernel (Linux `inet_csk_listen_stop`); when the reset lands
            // before `connect_timeout`'s poll returns, it reports it. Only the attempt that
            // raced the shutdown can be reset: the listener is gone for the next one.
            Err(e) if e.kind() == ErrorKind::ConnectionReset && !reset => reset = true,
            Err(e) => panic!("unexpected connect error after SIGTERM (reset before: {reset}): {e}"),
            Ok(_) if started.elapsed() < Duration::from_secs(5) => std::thread::sleep(Duration::from_millis(50)),
            Ok(_) => panic!("still accepting connections 5 s after SIGTERM"),
        }
    }
    let mut raw = first[..n].to_vec();
    raw.extend(support::read_to_eof(&mut stream));
    let response = Response::parse(&raw);
    response.assert_status("HTTP/1.1 200 OK");
    assert!(response.body == data, "the download in flight was cut or corrupted ({} bytes)", response.body.len());
    let status = server.wait_exit(Duration::from_secs(12)).expect("rawserve still running after the drain");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

// --- --header, --cors, --cross-origin-isolation ----------------------------------------------

/// Exit status 2, nothing on stdout, and exactly this one line on stderr.
fn assert_exact_start_error(args: &[&str], line: &str) {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: status {:?}; stderr {stderr:?}", output.status);
    assert_eq!(stderr, format!("{line}\n"), "{args:?}");
    assert!(output.stdout.is_empty(), "{args:?}: stdout {:?}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn header_flags_are_in_the_help() {
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    for flag in ["--header 'NAME: VALUE'", "--cors", "--cross-origin-isolation"] {
        assert!(help.contains(flag), "--help does not mention {flag}: {help}");
    }
}

#[test]
fn every_bad_header_is_one_line_and_exit_2() {
    let sandbox = Sandbox::new();
    let root = sandbox.path().to_str().expect("utf-8");
    // Checked before the root and the port: a missing root would otherwise hide the mistake.
    let missing = sandbox.path().join("missing");
    let missing = missing.to_str().expect("utf-8");
    let owned = |name: &str, why: &str| (format!("{name}: x"), format!("rawserve: --header {name}: {why}"));
    let mut cases: Vec<(Vec<&str>, String, String)> = Vec::new();
    let plain = [
        ("X-A", "rawserve: --header takes 'Name: value', not \"X-A\""),
        ("X A: 1", "rawserve: --header \"X A: 1\": a field name is letters, digits and !#$%&'*+-.^_`|~ only, with no spaces (RFC 9110 §5.1)"),
        ("X-A : 1", "rawserve: --header \"X-A : 1\": a field name is letters, digits and !#$%&'*+-.^_`|~ only, with no spaces (RFC 9110 §5.1)"),
        (": 1", "rawserve: --header \": 1\": a field name is letters, digits and !#$%&'*+-.^_`|~ only, with no spaces (RFC 9110 §5.1)"),
        ("X-A:", "rawserve: --header \"X-A:\" has no value after the colon"),
        ("X-A: a\r\nSet-Cookie: x=1", "rawserve: --header \"X-A: a\\r\\nSet-Cookie: x=1\": the value holds a control character (CR, LF and NUL would split or end the head)"),
        ("X-A: a\nb", "rawserve: --header \"X-A: a\\nb\": the value holds a control character (CR, LF and NUL would split or end the head)"),
        ("X-A: caf\u{e9}", "rawserve: --header \"X-A: caf\u{e9}\": field values are ASCII (RFC 9110 §5.5); percent-encode the rest"),
    ];
    for (text, line) in plain {
        cases.push((vec!["--header"], text.to_string(), line.to_string()));
    }
    let connection = "rawserve sends Connection: close and closes after every response";
    let server_owned = [
        owned("Content-Length", "rawserve sets Content-Length from each body"),
        owned("Transfer-Encoding", "rawserve frames every response with Content-Length"),
        owned("Connection", connection),
        owned("Keep-Alive", connection),
        owned("Date", "rawserve sets Date on every response"),
        owned("Server", "rawserve sets Server on every response"),
        owned("Content-Range", "rawserve sets Content-Range on its 206 and 416 answers"),
        owned("content-type", "rawserve sets Content-Type per file from its extension, and none on a 304"),
        owned("Content-Encoding", "rawserve sets Content-Encoding when it sends a .br or .gz sibling"),
        owned("ETag", "rawserve sets ETag per file and listing: one tag on every response would make caches reuse one file for another"),
        owned("Last-Modified", "rawserve sets Last-Modified per file"),
        owned("CACHE-CONTROL", "rawserve sets Cache-Control on files and listings; use --cache-control"),
        owned("Vary", "rawserve sets Vary from what it negotiates (Accept-Encoding)"),
        owned("Allow", "rawserve sets Allow on its 405 answers"),
        owned("Location", "rawserve sets Location on its redirects"),
        owned(
            "Content-Language",
            "Content-Language describes one file's content, which a 304 must not carry (RFC 9110 §15.4.5)",
        ),
    ];
    for (text, line) in &server_owned {
        cases.push((vec!["--header"], text.clone(), line.clone()));
    }
    let with_flags = [
        ("--cors", owned("Access-Control-Allow-Origin", "--cors sets Access-Control-Allow-Origin")),
        ("--cors", owned("access-control-allow-methods", "--cors sets access-control-allow-methods")),
        ("--cors", owned("Access-Control-Max-Age", "--cors sets Access-Control-Max-Age")),
        (
            "--cors",
            owned(
                "Access-Control-Allow-Credentials",
                "browsers refuse credentials with the Access-Control-Allow-Origin: * that --cors sends",
            ),
        ),
        (
            "--cross-origin-isolation",
            owned("Cross-Origin-Embedder-Policy", "--cross-origin-isolation sets Cross-Origin-Embedder-Policy"),
        ),
    ];
    for (flag, (text, line)) in &with_flags {
        cases.push((vec![flag, "--header"], text.clone(), line.clone()));
    }
    cases.push((
        vec!["--header", "X-A: 1", "--header"],
        "x-a: 2".into(),
        "rawserve: --header x-a is given twice; give it once (a list joins its values with \", \")".into(),
    ));
    check_each(&cases, |(args, text, line)| {
        for root in [root, missing] {
            let mut all = vec!["--port", "0"];
            all.extend(args.iter().copied());
            all.extend([text.as_str(), root]);
            assert_exact_start_error(&all, line);
        }
    });
    assert_exact_start_error(&["--port", "0", root, "--header"], "rawserve: --header needs a value; see --help");
}
