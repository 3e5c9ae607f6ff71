//! Access logs that tools read: `--log-format combined` is exactly the Combined Log Format
//! (checked field by field here, and by GoAccess over a mixed run with IPv6 peers and hostile
//! request lines), `json` carries the duration and the refusal, SIGHUP reopens the file
//! without losing a line, a stderr nobody reads never stops the serving (lines are dropped,
//! counted, and the count logged once it drains), and `--trusted-proxy` decides whose
//! `X-Forwarded-For`/`Forwarded` names the logged client.
//!
//! GoAccess (Debian `goaccess`) is needed for one test: without it, locally, that test says
//! what to install and passes; with `CI` set its absence is a failure (`.ci/run` installs it).

mod support;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{raw_to, try_get, Launch, Sandbox, TestServer, READ_TIMEOUT};

/// How long a line may take to reach its file: many flush intervals.
const LINE_DEADLINE: Duration = Duration::from_secs(10);

fn lines_of(path: &Path) -> Vec<String> {
    fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Waits until the files together hold at least `count` lines; their lines then.
fn wait_for_lines(paths: &[&Path], count: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let lines: Vec<String> = paths.iter().flat_map(|p| lines_of(p)).collect();
        if lines.len() >= count || started.elapsed() > LINE_DEADLINE {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn site(root: &Path) {
    fs::write(root.join("a.txt"), "hello\n").unwrap();
    fs::write(root.join("index.html"), "<!doctype html><title>t</title>\n").unwrap();
    fs::write(root.join(".env"), "SECRET=1\n").unwrap();
}

/// The requests of a mixed run: ordinary ones, every refusal, and request lines and fields
/// meant to break a log (quotes, backslashes, escape sequences, bytes outside ASCII, TLS
/// bytes, bare LFs, a line too long to log). Each gets exactly one access line.
fn mixed_requests() -> Vec<Vec<u8>> {
    let mut requests: Vec<Vec<u8>> = [
        &b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (X11) \"quoted\" \\ back\r\nReferer: http://ref.example/?q=\"x\"\r\n\r\n"[..],
        b"GET /a.txt HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8.11\r\n\r\n",
        b"HEAD /a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
        b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /.env HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
        b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        b"GET http://a/a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET /\"><script>alert(1)</script> HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a\x1b[31mred\x1b[0m HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\xff\xfe\x00x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / a b HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\t HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: \xe2\x98\x83 snow \"man\"\r\nReferer: -\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
    ]
    .iter()
    .map(|r| r.to_vec())
    .collect();
    // 414: a request line over 8 KiB (logged as "-"); 431: a head over 16 KiB.
    requests.push(format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000)).into_bytes());
    requests.push(format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n", "b".repeat(17_000)).into_bytes());
    requests.push(format!("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: {}\r\n\r\n", "u\"".repeat(2000)).into_bytes());
    requests
}

/// Checks one line against the Combined Log Format field by field:
/// `HOST - - [dd/Mon/yyyy:HH:MM:SS +0000] "REQUEST" STATUS BYTES "REFERER" "USER-AGENT"`,
/// each quoted field free of quotes and of bytes outside printable ASCII.
fn assert_combined(line: &str) {
    let fail = |why: &str| -> ! { panic!("not a Combined Log Format line ({why}): {line:?}") };
    if !line.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        fail("a byte outside printable ASCII");
    }
    let (host, rest) = line.split_once(" - - [").unwrap_or_else(|| fail("host, ident, user"));
    if host.parse::<std::net::IpAddr>().is_err() {
        fail("the host is not an address");
    }
    let (date, rest) = rest.split_once("] \"").unwrap_or_else(|| fail("date"));
    let d = date.as_bytes();
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let digits = |range: std::ops::Range<usize>| d[range].iter().all(u8::is_ascii_digit);
    if date.len() != 26
        || !digits(0..2)
        || d[2] != b'/'
        || !months.contains(&&date[3..6])
        || d[6] != b'/'
        || !digits(7..11)
        || [11, 14, 17].iter().any(|&at| d[at] != b':')
        || !(digits(12..14) && digits(15..17) && digits(18..20))
        || !date.ends_with(" +0000")
    {
        fail("the date");
    }
    let (request, rest) = rest.split_once('"').unwrap_or_else(|| fail("request"));
    let fields: Vec<&str> = rest.splitn(3, ' ').collect();
    let [_, status, rest] = fields[..] else { fail("status and bytes") };
    let (bytes, rest) = rest.split_once(' ').unwrap_or_else(|| fail("bytes"));
    if status.len() != 3 || !status.bytes().all(|b| b.is_ascii_digit()) {
        fail("the status");
    }
    if bytes != "-" && (bytes.is_empty() || !bytes.bytes().all(|b| b.is_ascii_digit()) || bytes == "0") {
        fail("the bytes");
    }
    let quoted: Vec<&str> = rest.split('"').collect();
    if quoted.len() != 5 || !quoted[0].is_empty() || quoted[2] != " " || !quoted[4].is_empty() {
        fail("referer and user agent");
    }
    if request.is_empty() || quoted[1].is_empty() || quoted[3].is_empty() {
        fail("an empty quoted field (CLF writes -)");
    }
}

/// GoAccess's `total_requests` and `failed_requests` for a log, or `None` without GoAccess.
fn goaccess_counts(log: &Path, report: &Path) -> Option<(u64, u64)> {
    if Command::new("goaccess").arg("--version").output().map(|o| o.status.success()).unwrap_or(false) {
        let output = Command::new("goaccess")
            .arg(log)
            .args(["--log-format=COMBINED", "--no-global-config", "-o"])
            .arg(report)
            .output()
            .expect("run goaccess");
        assert!(output.status.success(), "goaccess failed: {}", String::from_utf8_lossy(&output.stderr));
        let json = fs::read_to_string(report).expect("goaccess report");
        let count = |key: &str| -> u64 {
            let at = json.find(&format!("\"{key}\": ")).unwrap_or_else(|| panic!("{key} missing in {json}"));
            let digits: String = json[at + key.len() + 4..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().expect("a count")
        };
        return Some((count("total_requests"), count("failed_requests")));
    }
    if std::env::var_os("CI").is_some() {
        panic!("goaccess is missing (CI is set): apt-get install goaccess");
    }
    eprintln!("skipping the GoAccess check: goaccess is not installed (apt-get install goaccess)");
    None
}

#[test]
fn goaccess_parses_every_line_of_a_mixed_run_over_ipv4_and_ipv6() {
    let logs = Sandbox::new();
    let v4_log = logs.path().join("v4.log");
    let v6_log = logs.path().join("v6.log");
    let start = |bind: &str, log: &Path| {
        Launch::new()
            .prepare(site)
            .bind(bind)
            .args(&["--log-format", "combined", "--access-log", log.to_str().unwrap(), "--head-timeout", "1"])
            .start()
    };
    let v4 = start("127.0.0.1", &v4_log);
    let v6 = start("::1", &v6_log);
    let mut sent = 0;
    for server in [&v4, &v6] {
        for request in mixed_requests() {
            let response = raw_to(server.addr, &request);
            assert!(response.starts_with(b"HTTP/1.1 "), "no response to {:?}", String::from_utf8_lossy(&request));
            sent += 1;
        }
        // 408: half a request line, then silence until the head deadline.
        let response = raw_to(server.addr, b"GET /slow HT");
        assert!(response.starts_with(b"HTTP/1.1 408 "), "{}", String::from_utf8_lossy(&response));
        sent += 1;
    }
    let lines = wait_for_lines(&[&v4_log, &v6_log], sent);
    assert_eq!(lines.len(), sent, "one line per request:\n{}", lines.join("\n"));
    for line in &lines {
        assert_combined(line);
    }
    let v6_lines = lines_of(&v6_log);
    assert!(v6_lines.iter().all(|l| l.starts_with("::1 - - [")), "{v6_lines:?}");
    assert!(lines_of(&v4_log).iter().all(|l| l.starts_with("127.0.0.1 - - [")));
    // The hostile parts arrive escaped, never raw.
    let all = lines.join("\n");
    for expected in [
        "\"GET / HTTP/1.1\" 200 ",
        "\"http://ref.example/?q=\\x22x\\x22\" \"Mozilla/5.0 (X11) \\x22quoted\\x22 \\x5C back\"",
        "\"GET /.env HTTP/1.1\" 404 ",
        "\"GET /a\\x1B[31mred\\x1B[0m HTTP/1.1\" 400 ",
        "\"GET /caf\\xC3\\xA9 HTTP/1.1\" ",
        "\"\\xE2\\x98\\x83 snow \\x22man\\x22\"",
        "\"-\" 414 ",
        "\"-\" 408 ",
    ] {
        assert!(all.contains(expected), "{expected:?} not in\n{all}");
    }
    drop((v4, v6));
    let both = logs.path().join("both.log");
    fs::write(&both, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    if let Some((total, failed)) = goaccess_counts(&both, &logs.path().join("report.json")) {
        assert_eq!((total, failed), (sent as u64, 0), "GoAccess total and failed requests over\n{all}");
    }
}

#[test]
fn json_lines_carry_the_duration_and_the_refusal() {
    let logs = Sandbox::new();
    let log = logs.path().join("access.json");
    let server =
        Launch::new().prepare(site).args(&["--log-format", "json", "--access-log", log.to_str().unwrap()]).start();
    server.get("/a.txt").assert_status("HTTP/1.1 200 OK");
    server
        .send("GET", "/.env", &[("Referer", "http://r/\"x"), ("User-Agent", "t\\1")])
        .assert_status("HTTP/1.1 404 Not Found");
    let mut lines = wait_for_lines(&[&log], 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    // Lines are written as connections close, on whichever loop served them.
    lines.sort_by_key(|line| line.contains("/.env"));
    let peer = "\"client\":\"127.0.0.1\",\"peer\":\"127.0.0.1:";
    for (line, rest) in [
        (&lines[0], "\"request\":\"GET /a.txt HTTP/1.1\",\"status\":200,\"bytes\":6,\"duration_ms\":"),
        (&lines[1], "\"request\":\"GET /.env HTTP/1.1\",\"status\":404,\"bytes\":"),
    ] {
        assert!(line.starts_with("{\"time\":\"20") && line.ends_with('}'), "{line}");
        assert!(line.contains(peer) && line.contains(rest), "{line}");
        let duration = line.split("\"duration_ms\":").nth(1).and_then(|r| r.split(',').next()).unwrap();
        let (whole, thousandths) = duration.split_once('.').expect("milliseconds with a fraction");
        assert!(whole.parse::<u64>().is_ok() && thousandths.len() == 3, "{line}");
    }
    assert!(lines[0].ends_with("\"referer\":null,\"user_agent\":null,\"refusal\":null}"), "{}", lines[0]);
    assert!(
        lines[1].ends_with("\"referer\":\"http://r/\\\"x\",\"user_agent\":\"t\\\\1\",\"refusal\":\"dotfile hidden\"}"),
        "{}",
        lines[1]
    );
}

#[test]
fn the_default_format_is_rawserve_on_stderr() {
    let server = Launch::new().prepare(site).log_level("info").start();
    server.get("/missing").assert_status("HTTP/1.1 404 Not Found");
    let started = Instant::now();
    while !server.log().contains("rawserve::access]") && started.elapsed() < LINE_DEADLINE {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log();
    let line = log.lines().find(|l| l.contains("rawserve::access]")).unwrap_or_else(|| panic!("no access line: {log}"));
    let (_, rest) = line.split_once(" INFO  rawserve::access] 127.0.0.1:").expect(line);
    let (_, rest) = rest.split_once(' ').expect(line);
    assert!(rest.starts_with("\"GET /missing HTTP/1.1\" 404 ") && rest.ends_with("ms (no such file)"), "{line}");
}

#[test]
fn sighup_reopens_the_file_and_no_line_is_lost() {
    let logs = Sandbox::new();
    let log = logs.path().join("access.log");
    let rotated = logs.path().join("access.log.1");
    let server = Launch::new()
        .prepare(site)
        .args(&["--log-format", "combined", "--access-log", log.to_str().unwrap()])
        .log_level("info")
        .start();
    // A client keeps requesting while logrotate's steps happen: rename, then SIGHUP.
    let stop = Arc::new(AtomicBool::new(false));
    let addr = server.addr;
    let client = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut answered = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let response = try_get(addr, "/a.txt").expect("served throughout");
                response.assert_status("HTTP/1.1 200 OK");
                answered += 1;
            }
            answered
        })
    };
    let before = wait_for_lines(&[&log], 20);
    assert!(before.len() >= 20, "{before:?}");
    fs::rename(&log, &rotated).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.signal("HUP");
    let started = Instant::now();
    while lines_of(&log).len() < 20 && started.elapsed() < LINE_DEADLINE {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let answered = client.join().expect("the client thread");
    wait_for_lines(&[&rotated, &log], answered);
    let (old, new) = (lines_of(&rotated), lines_of(&log));
    assert_eq!(old.len() + new.len(), answered, "every request in the old or the new file");
    assert!(old.len() > before.len(), "lines written between the rename and SIGHUP go to the old file");
    assert!(new.len() >= 20, "the new file gets the lines after SIGHUP: {new:?}");
    for line in old.iter().chain(&new) {
        assert_combined(line);
        assert!(line.contains("\"GET /a.txt HTTP/1.1\" 200 6 "), "{line}");
    }
    server.get("/").assert_status("HTTP/1.1 200 OK");
    assert_eq!(server.settled_log_lines("reopened the access log"), 1, "{}", server.log());
}

#[test]
fn a_stderr_nobody_reads_never_stops_the_serving() {
    let mut server = Launch::new().prepare(site).log_level("info").stderr_piped().start();
    // Long targets fill the pipe (64 KiB) and the log buffer (1 MiB) in a few hundred requests.
    let target = format!("/a.txt?{}", "h".repeat(4000));
    let requests = 2 * (rawserve::limits::LOG_BUFFER_MAX + 64 * 1024) / target.len();
    for i in 0..requests {
        let started = Instant::now();
        let response = try_get(server.addr, &target).unwrap_or_else(|e| panic!("request {i}: {e}"));
        response.assert_status("HTTP/1.1 200 OK");
        assert!(started.elapsed() < READ_TIMEOUT, "request {i} took {:?}", started.elapsed());
    }
    let health = try_get(server.addr, "/").expect("a health check while the log is blocked");
    health.assert_status("HTTP/1.1 200 OK");
    // Now read the pipe: the lines that fit, then the count of the ones that did not.
    let mut stderr = server.take_stderr();
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 65536];
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 || sender.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut text = Vec::new();
    let started = Instant::now();
    let (logged, dropped) = loop {
        while let Ok(chunk) = received.recv_timeout(Duration::from_millis(100)) {
            text.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&text);
        let logged = text.lines().filter(|l| l.contains("rawserve::access]") && l.contains("\" 200 ")).count();
        let dropped: usize = text
            .lines()
            .filter_map(|l| {
                l.split_once("WARN  rawserve::log_output] ")?
                    .1
                    .split_once(" log lines dropped: stderr")?
                    .0
                    .parse::<usize>()
                    .ok()
            })
            .sum();
        if (dropped > 0 && logged + dropped > requests) || started.elapsed() > LINE_DEADLINE {
            break (logged, dropped);
        }
    };
    let tail = String::from_utf8_lossy(&text[text.len().saturating_sub(2000)..]).into_owned();
    assert!(dropped > 0, "no drop count was logged; stderr ends with: {tail}");
    assert_eq!(logged + dropped, requests + 1, "every request is logged or counted; stderr ends with: {tail}");
}

#[test]
fn trusted_proxies_name_the_client_and_others_are_ignored() {
    let logs = Sandbox::new();
    let start = |name: &str, trusted: &[&str]| {
        let log = logs.path().join(name);
        let mut args = vec!["--log-format", "json", "--access-log", log.to_str().unwrap()];
        for proxy in trusted {
            args.extend(["--trusted-proxy", proxy]);
        }
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        (Launch::new().prepare(site).args(&args).start(), log)
    };
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("X-Forwarded-For", "6.6.6.6, 203.0.113.9")], "203.0.113.9"),
        (&[("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.9, 10.1.2.3")], "203.0.113.9"),
        (&[("Forwarded", "for=6.6.6.6, for=\"[2001:db8::5]:4711\";proto=http")], "2001:db8::5"),
        (&[("Forwarded", "for=198.51.100.1"), ("X-Forwarded-For", "203.0.113.9")], "203.0.113.9"),
        (&[("X-Forwarded-For", "unknown")], "127.0.0.1"),
    ];
    let check = |server: &TestServer, log: &Path, expect: &dyn Fn(&str) -> String| {
        for (case, (fields, _)) in cases.iter().enumerate() {
            server.send("GET", &format!("/a.txt?case={case}"), fields).assert_status("HTTP/1.1 200 OK");
        }
        let lines = wait_for_lines(&[log], cases.len());
        assert_eq!(lines.len(), cases.len(), "{lines:?}");
        for (case, (fields, client)) in cases.iter().enumerate() {
            // Lines are written as connections close, on whichever loop served them.
            let tag = format!("?case={case} ");
            let line = lines.iter().find(|l| l.contains(&tag)).unwrap_or_else(|| panic!("no {tag}: {lines:?}"));
            let wanted = format!("\"client\":\"{}\",\"peer\":\"127.0.0.1:", expect(client));
            assert!(line.contains(&wanted), "{fields:?}: {wanted} not in {line}");
        }
    };
    let (trusting, log) = start("trusting.json", &["127.0.0.0/8", "10.0.0.0/8"]);
    check(&trusting, &log, &|client| client.to_string());
    // Peers outside the trusted blocks: the fields are ignored, the peer is the client.
    let (other, log) = start("other.json", &["10.0.0.0/8", "::1"]);
    check(&other, &log, &|_| "127.0.0.1".to_string());
}

#[test]
fn bad_log_options_are_one_line_errors() {
    let logs = Sandbox::new();
    let missing = logs.path().join("no/such/folder/access.log");
    for (args, mentions) in [
        (vec!["--log-format", "xml"], "--log-format takes combined, common, rawserve or json"),
        (vec!["--trusted-proxy", "10.0.0.0/33"], "--trusted-proxy takes an IP address or CIDR block"),
        (vec!["--trusted-proxy", "proxy.example"], "--trusted-proxy takes"),
        (vec!["--access-log", ""], "--access-log takes a file path"),
        (vec!["--access-log", missing.to_str().unwrap()], "cannot open the access log"),
    ] {
        let sandbox = Sandbox::new();
        let output = Command::new(support::BIN)
            .args(["--port", "0"])
            .args(&args)
            .arg(sandbox.path())
            .output()
            .expect("run rawserve");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("rawserve: ") && stderr.contains(mentions), "{args:?}: {stderr}");
    }
}
