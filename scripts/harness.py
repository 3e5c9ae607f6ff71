"""Shared helpers for the full-scale hardening scripts (python3 standard library only).

Starts the release binary on 127.0.0.1 with a free port, reads /proc for its fds and memory,
makes plain HTTP/1.1 requests over raw sockets, and stops only the server it started (by PID).
Nothing here installs anything: a missing piece is reported and the script exits with 2.
"""

import math
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def missing(what, how):
    print(f"missing: {what}; {how}", file=sys.stderr)
    sys.exit(2)


def find_binary():
    """The server binary: $RAWSERVE_BIN, else target/release/rawserve (built by the user)."""
    path = os.environ.get("RAWSERVE_BIN") or os.path.join(REPO, "target", "release", "rawserve")
    if not os.access(path, os.X_OK):
        missing(path, "build it first with `cargo build --release` (or set RAWSERVE_BIN)")
    return path


def raise_fd_limit(wanted):
    """Raises this process's soft fd limit (up to the hard one) for the client sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        missing(f"an fd limit of {wanted} for the clients (hard limit {hard})", "raise it with `ulimit -Hn`")


def deadline(seconds):
    """The whole script is bounded: after `seconds`, SIGALRM ends it (servers are stopped in
    the callers' `finally`)."""

    def expired(_signum, _frame):
        raise TimeoutError(f"the script's {seconds} s bound expired")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


def make_root(big_mib=20):
    """A temp document root: index.html and a big file of `big_mib` MiB."""
    root = tempfile.mkdtemp(prefix="rawserve-script-")
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(b"<!DOCTYPE html><title>rawserve</title><p>hello</p>\n")
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for _ in range(big_mib):
            f.write(chunk)
    return root


def remove_root(root):
    shutil.rmtree(root, ignore_errors=True)


class Server:
    """The real binary on 127.0.0.1:0. `shell_prefix` runs in a shell before it is exec'd
    (e.g. `ulimit -n 256`), so the PID is still the server's."""

    def __init__(self, binary, root, args=(), log_path=None, shell_prefix=None):
        self.own_log = log_path is None
        self.log_path = log_path or os.path.join(tempfile.gettempdir(), f"rawserve-script-{os.getpid()}.log")
        self.log = open(self.log_path, "wb")
        argv = [binary, "--bind", "127.0.0.1", "--port", "0", *args, root]
        if shell_prefix:
            argv = ["sh", "-c", f'{shell_prefix} && exec "$0" "$@"', *argv]
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"))
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, env=env)
        self.pid = self.proc.pid
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("rawserve "):
            self.stop()
            raise RuntimeError(f"rawserve did not start: {line!r}; log: {self.log_text()[-2000:]}")
        self.port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
        self.startup_line = line.strip()

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return -1

    def status_kib(self, field):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return -1

    def rss_kib(self):
        return self.status_kib("VmRSS")

    def peak_rss_kib(self):
        return self.status_kib("VmHWM")

    def threads(self):
        return self.status_kib("Threads")

    def log_text(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def log_lines(self, needle):
        """Lines of the server's own log (not access lines) that contain `needle`."""
        return sum(1 for line in self.log_text().splitlines() if needle in line and "rawserve::access" not in line)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s; only this PID."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self.own_log:
            os.remove(self.log_path)
        return self.proc.returncode


def http_get(port, path="/", timeout=5.0):
    """One GET on a fresh connection, read to the close. Returns (status, total bytes, seconds);
    status 0 means no answer (refused, reset, or the timeout)."""
    started = time.monotonic()
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        pass
    elapsed = time.monotonic() - started
    status = int(data[9:12]) if data.startswith(b"HTTP/1.1 ") and data[9:12].isdigit() else 0
    return status, len(data), elapsed


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    # nearest rank
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100.0 * len(ordered)) - 1))
    return ordered[index]


def machine_line():
    """One line saying what this ran on (cores, load), for the README's figures."""
    load = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


OUTCOMES = ("200", "503", "503 without Retry-After", "other status", "refused at connect",
            "closed/reset before an answer", "hang")


def burst(server, attempts, path="/", hang=30.0, send_at_once=False):
    """`attempts` connections started at once. Unless `send_at_once`, each sends its GET only
    after every attempt has connected (or failed), so all of them are in flight together.
    Returns (outcomes, timings, peaks): outcome counts (see OUTCOMES), seconds to issue the
    connects / to connect / to know every outcome, and the server's peak RSS KiB and fds."""
    import errno
    import selectors

    sel = selectors.DefaultSelector()
    state = {}  # socket -> [phase, received bytes]
    outcome = dict.fromkeys(OUTCOMES, 0)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    peaks = [server.rss_kib(), server.fds()]

    def sample():
        peaks[0], peaks[1] = max(peaks[0], server.rss_kib()), max(peaks[1], server.fds())

    def finish(s, key):
        outcome[key] += 1
        sel.unregister(s)
        del state[s]
        s.close()

    def send(s):
        try:
            s.send(request)
        except OSError:
            pass  # already answered (503) and closed: reading tells

    t0 = time.monotonic()
    for _ in range(attempts):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", server.port))
        if err not in (0, errno.EINPROGRESS):
            outcome["refused at connect"] += 1
            s.close()
            continue
        state[s] = ["connecting", b""]
        if send_at_once and err == 0:
            state[s][0] = "connected"
            sel.register(s, selectors.EVENT_READ)
            send(s)
            continue
        sel.register(s, selectors.EVENT_WRITE)
        if send_at_once:
            # On loopback the handshake is usually done by now: send at once if it is, so
            # the early clients are served (and gone) while the later ones still arrive.
            probe = select.poll()
            probe.register(s, select.POLLOUT)
            if probe.poll(0) and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                state[s][0] = "connected"
                sel.modify(s, selectors.EVENT_READ)
                send(s)
    issued = time.monotonic() - t0
    connected = []
    until = time.monotonic() + hang
    while any(v[0] == "connecting" for v in state.values()) and time.monotonic() < until:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            if state[s][0] != "connecting":
                continue
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                finish(s, "refused at connect")
                continue
            state[s][0] = "connected"
            sel.modify(s, selectors.EVENT_READ)
            if send_at_once:
                send(s)
            else:
                connected.append(s)
        sample()
    all_connected = time.monotonic() - t0
    for s in connected:
        if s in state:
            send(s)
    until = time.monotonic() + hang
    while state and time.monotonic() < until:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            if state[s][0] == "connecting":
                continue
            try:
                chunk = s.recv(65536)
            except OSError:
                chunk = None
            if chunk:
                state[s][1] += chunk
                # The head is enough: a big body need not be read to its end.
                if b"\r\n\r\n" not in state[s][1]:
                    continue
            data = state[s][1]
            if not data:
                finish(s, "closed/reset before an answer")
            elif data.startswith(b"HTTP/1.1 200 "):
                finish(s, "200")
            elif data.startswith(b"HTTP/1.1 503 "):
                finish(s, "503" if b"\r\nRetry-After: " in data else "503 without Retry-After")
            else:
                finish(s, "other status")
        sample()
    for s in list(state):
        finish(s, "hang")
    sel.close()
    return outcome, (issued, all_connected, time.monotonic() - t0), peaks


class Attached(Server):
    """A server started by someone else (a shell script), known by PID and port."""

    def __init__(self, pid, port, log_path):
        self.pid, self.port, self.log_path = pid, port, log_path
        self.log = open(os.devnull, "wb")
        self.proc = None
        self.startup_line = ""

    def alive(self):
        return os.path.exists(f"/proc/{self.pid}")

    def stop(self):
        raise NotImplementedError("the script that started it stops it")
