//! Starting and restarting: systemd socket activation (through `systemd-socket-activate`,
//! and with the environment set by hand around an inherited listener), the checks on what
//! was passed, and `--reuse-port`: a second instance takes the port over while the first
//! drains, under a client loop, without a failed request. The unit files and the HAProxy
//! config are checked by the tools that read them.
//!
//! `systemd-socket-activate` and `systemd-analyze` (Debian's `systemd`) and `haproxy`: without
//! them, locally, those tests say what to install and pass; with `CI` set they fail
//! (`.ci/run` installs them).

mod support;

use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{
    first_stdout_line, format_request, parse_startup_port, read_to_eof, send_signal, try_get,
    try_get_connecting_within, wait_with_limit, Launch, Response, Sandbox, BIN, READ_TIMEOUT,
};

const CONTRIB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib");

/// Whether `tool` runs (`tool VERSION_FLAG`); if not, skips with `install` named, or fails
/// when `CI` is set.
fn tool_available(tool: &str, version_flag: &str, install: &str) -> bool {
    let ran = Command::new(tool).arg(version_flag).stdout(Stdio::null()).stderr(Stdio::null()).status();
    match ran {
        Ok(status) if status.success() => true,
        _ if std::env::var_os("CI").is_some() => panic!("{tool} is missing (CI is set): {install}"),
        _ => {
            eprintln!("skipping: {tool} is not installed ({install})");
            false
        }
    }
}

fn site(text: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.path().join("root")).expect("mkdir root");
    fs::write(sandbox.path().join("root/index.html"), text).expect("write index.html");
    sandbox
}

/// Starts rawserve on `sandbox/root` with `listener` as its fd 3 and `LISTEN_PID` as the
/// shell gives it: `$$` is the shell's pid, which `exec` hands to rawserve (the pid the fds
/// are for), any other value names another process.
fn start_with_fd3(fd: Option<RawFd>, listen_pid: &str, env: &[(&str, &str)], sandbox: &Sandbox) -> Child {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("LISTEN_PID={listen_pid}; export LISTEN_PID; exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .arg(sandbox.path().join("root"))
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec only dup2, fcntl and close run: async-signal-safe calls
    // on fd numbers, no allocation.
    unsafe {
        command.pre_exec(move || {
            match fd {
                // dup2 clears close-on-exec on the copy; on fd 3 itself it does nothing.
                Some(3) => {
                    if libc::fcntl(3, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Some(fd) => {
                    if libc::dup2(fd, 3) != 3 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                None => {
                    libc::close(3);
                }
            }
            Ok(())
        });
    }
    command.spawn().expect("spawn rawserve through sh")
}

fn loopback_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind a listener")
}

#[test]
fn an_inherited_listener_is_served_and_stays_open_for_the_next_start() {
    let sandbox = site("passed down\n");
    let listener = loopback_listener();
    let addr = listener.local_addr().expect("addr");
    let env = [("LISTEN_FDS", "1"), ("LISTEN_FDNAMES", "rawserve.socket")];
    let mut first = start_with_fd3(Some(listener.as_raw_fd()), "$$", &env, &sandbox);
    let line = first_stdout_line(&mut first).expect("start-up line");
    assert_eq!(parse_startup_port(&line, "127.0.0.1"), Some(addr.port()), "{line}");
    let response = try_get(addr, "/").expect("GET / on the passed listener");
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"passed down\n");

    send_signal(first.id(), "TERM");
    let status = wait_with_limit(&mut first, READ_TIMEOUT).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    // The passed socket was left listening: a client that connects between two starts waits
    // in its backlog and is answered by the next one.
    let mut waiting = TcpStream::connect(addr).expect("connect while no rawserve runs");
    waiting.set_read_timeout(Some(READ_TIMEOUT)).expect("read timeout");
    waiting.write_all(format_request(addr, "GET", "/", &[]).as_bytes()).expect("send");
    let mut second = start_with_fd3(Some(listener.as_raw_fd()), "$$", &env, &sandbox);
    first_stdout_line(&mut second).expect("second start-up line");
    let response = Response::parse(&read_to_eof(&mut waiting));
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"passed down\n");
    let _ = second.kill();
    let _ = second.wait();
}

#[test]
fn fds_meant_for_another_process_are_left_alone() {
    let sandbox = site("own port\n");
    let listener = loopback_listener();
    let passed = listener.local_addr().expect("addr");
    let mut child = start_with_fd3(Some(listener.as_raw_fd()), "1", &[("LISTEN_FDS", "1")], &sandbox);
    let line = first_stdout_line(&mut child).expect("start-up line");
    let port = parse_startup_port(&line, "127.0.0.1").expect("port");
    assert_ne!(port, passed.port(), "LISTEN_PID=1 is not rawserve, so it binds --port 0 itself");
    let response = try_get(SocketAddr::from(([127, 0, 0, 1], port)), "/").expect("GET / on its own port");
    assert_eq!(response.body, b"own port\n");
    // A connection to the passed listener stays in its queue, for the test to accept.
    let _client = TcpStream::connect(passed).expect("connect to the passed listener");
    listener.set_nonblocking(false).expect("blocking");
    listener.accept().expect("the test's listener still gets its connections");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_passed_fd_that_is_not_one_listening_tcp_socket_is_a_clear_error() {
    let sandbox = site("never served\n");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let unix = std::os::unix::net::UnixListener::bind(sandbox.path().join("sock")).expect("unix listener");
    let bound = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    bound.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
    let bound_addr = bound.local_addr().expect("addr").as_socket().expect("inet");
    let file = fs::File::open(sandbox.path().join("root/index.html")).expect("open a file");
    let listener = loopback_listener();
    let must = "rawserve: socket activation: fd 3 (web) must be a listening TCP socket (ListenStream= in the .socket unit), but";
    let cases: Vec<(&str, Option<RawFd>, &str, String)> = vec![
        ("udp", Some(udp.as_raw_fd()), "1", format!("{must} it is a datagram (not a stream) socket")),
        ("unix", Some(unix.as_raw_fd()), "1", format!("{must} it is a Unix-domain socket")),
        (
            "not listening",
            Some(bound.as_raw_fd()),
            "1",
            format!("{must} it is a TCP socket on {bound_addr} that is not listening"),
        ),
        ("file", Some(file.as_raw_fd()), "1", format!("{must} it is not a socket")),
        ("closed", None, "1", format!("{must} it is not open")),
        (
            "two",
            Some(listener.as_raw_fd()),
            "2",
            "rawserve: socket activation passed 2 sockets (web, admin); rawserve serves one: give its .socket unit one ListenStream=".to_string(),
        ),
        ("count", Some(listener.as_raw_fd()), "x", "rawserve: socket activation: LISTEN_FDS is \"x\", not a number".to_string()),
    ];
    support::check_each(&cases, |(name, fd, count, expected)| {
        let env = [("LISTEN_FDS", *count), ("LISTEN_FDNAMES", "web:admin")];
        let child = start_with_fd3(*fd, "$$", &env, &sandbox);
        let output = child.wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), format!("{expected}\n"), "{name}");
        assert!(output.stdout.is_empty(), "{name}: no start-up line");
    });
}

#[test]
fn systemd_socket_activate_starts_rawserve_on_its_listener() {
    if !tool_available("systemd-socket-activate", "--version", "apt-get install systemd") {
        return;
    }
    let sandbox = site("activated\n");
    // A free port for systemd-socket-activate to listen on (it needs one up front).
    let port = loopback_listener().local_addr().expect("addr").port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut child = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(addr.to_string())
        .arg(BIN)
        .arg(sandbox.path().join("root"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn systemd-socket-activate");
    // It listens at once and starts rawserve on the first connection.
    let started = Instant::now();
    let response = loop {
        match try_get(addr, "/") {
            Ok(response) => break response,
            Err(e) if started.elapsed() < READ_TIMEOUT => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("no answer through systemd-socket-activate: {e}"),
        }
    };
    response.assert_status("HTTP/1.1 200 OK");
    assert_eq!(response.body, b"activated\n");
    let line = first_stdout_line(&mut child).expect("start-up line");
    assert_eq!(parse_startup_port(&line, "127.0.0.1"), Some(port), "{line}");
    // systemd-socket-activate execs rawserve in its own process.
    send_signal(child.id(), "TERM");
    let status = wait_with_limit(&mut child, READ_TIMEOUT).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn reuse_port_hands_the_port_to_a_new_instance_without_a_failed_request() {
    let old = Launch::in_sandbox(site("old\n"), "root").args(&["--reuse-port"]).log_level("info").start();
    let addr = old.addr;
    let port = old.port.to_string();
    let new = Launch::in_sandbox(site("new\n"), "root").args(&["--reuse-port", "--port", &port]).start();
    assert_eq!(new.port, old.port, "the second instance shares the port");

    // Clients in a loop, each request on a new connection; each outcome with its start time.
    type Outcome = (Instant, Result<Vec<u8>, String>);
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (stop, outcomes) = (Arc::clone(&stop), Arc::clone(&outcomes));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let at = Instant::now();
                    // A SYN dropped during the handover is retried by the kernel after 1 s.
                    let result = try_get_connecting_within(addr, "/", READ_TIMEOUT)
                        .map_err(|e| e.to_string())
                        .and_then(|r| if r.status_line == "HTTP/1.1 200 OK" { Ok(r.body) } else { Err(r.status_line) });
                    outcomes.lock().expect("lock").push((at, result));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut old = old;
    old.signal("TERM");
    let status = old.wait_exit(READ_TIMEOUT).expect("the old instance exits after SIGTERM");
    let exited = Instant::now();
    assert_eq!(status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client thread");
    }

    let outcomes = outcomes.lock().expect("lock");
    let failures: Vec<_> = outcomes.iter().filter_map(|(_, r)| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:?}",
        failures.len(),
        outcomes.len(),
        &failures[..failures.len().min(5)]
    );
    let from = |body: &[u8]| outcomes.iter().filter(|(_, r)| r.as_deref() == Ok(body)).count();
    assert!(from(b"old\n") > 0, "the old instance served before SIGTERM");
    assert!(from(b"new\n") > 0, "the new instance served");
    let late_old = outcomes.iter().filter(|(at, r)| *at > exited && r.as_deref() == Ok(b"old\n")).count();
    assert_eq!(late_old, 0, "requests started after the old instance exited are the new one's");
    assert_eq!(old.log_lines_containing("handing the port over"), 1, "{}", old.log());
}

#[test]
fn without_reuse_port_a_taken_port_is_a_clear_error() {
    let first = Launch::new().args(&["--reuse-port"]).start();
    let output = Command::new(BIN)
        .args(["--bind", "127.0.0.1", "--port", &first.port.to_string()])
        .arg(&first.root)
        .output()
        .expect("run rawserve");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("rawserve: 127.0.0.1:{} is already in use; stop the other server or pick another port with --port (0 picks a free one)\n", first.port)
    );
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    if !tool_available("systemd-analyze", "--version", "apt-get install systemd") {
        return;
    }
    // The unit names an ExecStart binary, which verify checks exists: point it at this build.
    let sandbox = Sandbox::new();
    let service = fs::read_to_string(format!("{CONTRIB}/rawserve.service")).expect("read rawserve.service");
    assert!(service.contains("ExecStart=/usr/local/bin/rawserve "), "the unit starts /usr/local/bin/rawserve");
    fs::write(sandbox.path().join("rawserve.service"), service.replace("/usr/local/bin/rawserve", BIN)).expect("write");
    fs::copy(format!("{CONTRIB}/rawserve.socket"), sandbox.path().join("rawserve.socket")).expect("copy");
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(sandbox.path().join("rawserve.socket"))
        .arg(sandbox.path().join("rawserve.service"))
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "systemd-analyze verify failed: {stderr}");
    // verify prints warnings about the units (unknown keys, bad values) without failing:
    // none allowed.
    let folder = sandbox.path().to_string_lossy().to_string();
    let complaints: Vec<&str> = stderr.lines().filter(|l| l.contains(&folder)).collect();
    assert!(complaints.is_empty(), "systemd-analyze verify complained: {stderr}");
    // The sandbox as systemd scores it (0 = fully locked down, 10 = exposed): 1.2 with
    // systemd 252; more than 1.5 means an option was lost.
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=15", "--no-pager"])
        .arg(sandbox.path().join("rawserve.service"))
        .output()
        .expect("run systemd-analyze security");
    assert!(
        security.status.success(),
        "exposure above 1.5: {}{}",
        String::from_utf8_lossy(&security.stdout),
        String::from_utf8_lossy(&security.stderr)
    );
}

#[test]
fn the_haproxy_config_is_valid() {
    if !tool_available("haproxy", "-v", "apt-get install haproxy") {
        return;
    }
    let output =
        Command::new("haproxy").args(["-c", "-f"]).arg(format!("{CONTRIB}/haproxy.cfg")).output().expect("run haproxy");
    assert!(
        output.status.success(),
        "haproxy -c rejected contrib/haproxy.cfg: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(!text.contains("[WARNING]"), "haproxy -c warned: {text}");
}
