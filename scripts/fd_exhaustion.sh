#!/usr/bin/env bash
# File descriptors run out, at full scale: the release binary under `ulimit -n 256`, and
# bursts of 2,000 connections that each ask for a 20 MiB file and stop reading (so every
# admitted one holds a socket and a file fd). Three scenarios:
#   A. default threads: the server clamps its in-flight cap to (256 - 32 - threads) / 2 at
#      start, so the cap, not EMFILE, sheds the load (503 with Retry-After);
#   B. --threads 48: the clamp reserves an fd per event loop too, so the cap still sheds;
#   C. started with 4096 fds (cap about 2000), then lowered to 256 under the running server
#      with prlimit: accept() and open() really hit EMFILE; the spare-fd trick answers 503,
#      and the loop survives.
# For each: outcomes (200 / 503 / clean close / hang), log lines about the shedding per burst
# (must be once per burst, not once per failure), fds and RSS, then a normal request.
#
# Loopback only, bounded (timeout), stops only the servers it started (by PID). Needs
# python3 and target/release/rawserve (`cargo build --release`); installs nothing.
# Exit status 0 when every scenario held, 1 otherwise, 2 when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RAWSERVE_BIN:-target/release/rawserve}
command -v python3 >/dev/null || { echo "missing: python3 (Debian: apt-get install python3)" >&2; exit 2; }
command -v timeout >/dev/null || { echo "missing: timeout (coreutils)" >&2; exit 2; }
command -v prlimit >/dev/null || { echo "missing: prlimit (Debian: apt-get install util-linux)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "missing: $BIN; build it first with: cargo build --release" >&2; exit 2; }
LIMIT=${FD_LIMIT:-256}
ATTEMPTS=${ATTEMPTS:-2000}
WORK=$(mktemp -d /tmp/rawserve-fdx-XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; sleep 1; kill -KILL "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/root"
echo '<!DOCTYPE html><title>rawserve</title><p>hello</p>' > "$WORK/root/index.html"
head -c $((20 * 1024 * 1024)) /dev/urandom > "$WORK/root/big.bin"
echo "fd_exhaustion: ulimit -n $LIMIT, bursts of $ATTEMPTS connections asking for a 20 MiB file"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
scenario() {
  local name=$1; shift
  local start_limit=${START_LIMIT:-$LIMIT}
  # The subshell sets the limit (soft and hard) and execs: $! is the server itself.
  ( ulimit -n "$start_limit" && exec "$BIN" --bind 127.0.0.1 --port 0 "$@" "$WORK/root" ) \
    >"$WORK/out-$name" 2>"$WORK/log-$name" &
  PID=$!
  local port=
  for _ in $(seq 100); do
    port=$(sed -n 's#.*http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$WORK/out-$name")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "scenario $name: the server did not start"; cat "$WORK/log-$name"; return 1; }
  if [ "$start_limit" != "$LIMIT" ]; then
    prlimit --pid "$PID" --nofile="$LIMIT:$LIMIT" || { echo "scenario $name: prlimit failed"; return 1; }
  fi
  echo
  echo "== scenario $name: rawserve $* (pid $PID, $(grep 'Max open files' /proc/$PID/limits | tr -s ' '))"
  grep -h "fd limit\|event loops" "$WORK/log-$name" | sed 's/^\[[^]]*\] /  log: /' || true
  local rc=0
  timeout 300 python3 - "$PID" "$port" "$WORK/log-$name" "$ATTEMPTS" <<'PY' || rc=1
import os, sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, "scripts")
import harness
pid, port, log, attempts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
server = harness.Attached(pid, port, log)
harness.raise_fd_limit(attempts + 500)
for _ in range(5):
    harness.http_get(port)
time.sleep(0.3)
base_fds, base_rss = server.fds(), server.rss_kib()
needles = ("out of file descriptors", "connections in flight, the cap")
ok = True
logged = {n: server.log_lines(n) for n in needles}
for round_ in (1, 2):
    outcome, (issued, connected, done), (peak_rss, peak_fds) = harness.burst(
        server, attempts, "/big.bin", hang=30, send_at_once=True)
    # Every client has closed its socket (unread bodies reset the downloads): fds must fall back.
    until = time.monotonic() + 15
    while server.fds() > base_fds and time.monotonic() < until:
        time.sleep(0.1)
    recovered = time.monotonic()
    status, size, elapsed = harness.http_get(port)
    for _ in range(50):
        if status == 200:
            break
        time.sleep(0.1)
        status, size, elapsed = harness.http_get(port)
    recovered = time.monotonic() - recovered
    time.sleep(0.6)  # at info level the server writes its log in batches, every 200 ms
    now = {n: server.log_lines(n) for n in needles}
    new = {n: now[n] - logged[n] for n in needles}
    logged = now
    print(f"  burst {round_}: " + ", ".join(f"{k} {v}" for k, v in outcome.items() if v))
    print(f"    all outcomes known in {done:.2f} s; server fds baseline {base_fds}, peak {peak_fds}, "
          f"after {server.fds()}; RSS KiB baseline {base_rss}, peak {peak_rss}, after {server.rss_kib()}")
    print(f"    log lines this burst: {new['out of file descriptors']} 'out of file descriptors', "
          f"{new['connections in flight, the cap']} 'connections in flight, the cap' "
          f"(refused connections: {outcome['503'] + outcome['closed/reset before an answer']})")
    print(f"    normal GET / after: status {status}, {elapsed * 1000:.1f} ms (served again {recovered:.2f} s after the burst)")
    held = (outcome["hang"] == 0 and outcome["other status"] == 0 and outcome["503 without Retry-After"] == 0
            and status == 200 and server.alive() and all(v <= 1 for v in new.values()) and sum(new.values()) >= 1)
    ok = ok and held
    time.sleep(1.2)  # a burst ends after 1 s without refusals (BURST_QUIET): the next is a new one
print(f"  accept errors logged in all: {sum(1 for l in open(log, errors='replace') if 'accept:' in l)} line(s); "
      f"server alive: {server.alive()}")
print(f"  scenario verdict: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
  echo "  server log, warnings and errors (timestamps cut, identical lines counted):"
  grep -E " (WARN|ERROR) " "$WORK/log-$name" | sed -e 's/^\[[^ ]* //' -e 's/conn [0-9]*/conn N/' -e 's/peer [0-9.:]*/peer P/' \
    | sort | uniq -c | sed 's/^/   /' | head -20
  kill -TERM "$PID"
  for _ in $(seq 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then echo "  server did not exit on SIGTERM"; kill -KILL "$PID"; PID=; return 1; fi
  if wait "$PID"; then echo "  server exited with status 0 on SIGTERM"; else echo "  server exit status $?"; rc=1; fi
  PID=
  return $rc
}

scenario A || status=1
scenario B --threads 48 || status=1
START_LIMIT=4096 scenario C --threads 2 || status=1
echo
echo "fd_exhaustion verdict: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
