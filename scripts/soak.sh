#!/usr/bin/env bash
# Soak: 10 minutes at 1000 concurrent connections with `oha` (no keep-alive: rawserve closes
# after every response), against the release binary with its default settings. Samples the
# server's fd count and RSS every 10 s and prints them; at the end prints oha's summary.
# Fails (exit 1) if any request failed (errors or non-200 statuses), or if fds or RSS grew:
# the last minute's peak above the first minute's peak by more than 10% (+64 fds / +4 MiB),
# or the idle fd count after the run above the idle count before it.
#
#   scripts/soak.sh                 # 10 minutes, 1000 connections
#   DURATION=2m CONNECTIONS=500 scripts/soak.sh
#   OUT=/tmp/hardening-results scripts/soak.sh   # also keep oha's JSON and the samples there
#
# Loopback only, bounded (timeout), stops only the server it started (by PID). The load
# generator runs under `nice -n 19`. Needs oha (`cargo install oha`), python3 and
# target/release/rawserve (`cargo build --release`); installs nothing itself.
# Access lines are off during the soak (RUST_LOG=info,rawserve::access=off: ~10 million
# lines otherwise); warnings and errors are kept and counted.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RAWSERVE_BIN:-target/release/rawserve}
DURATION=${DURATION:-10m}
CONNECTIONS=${CONNECTIONS:-1000}
OUT=${OUT:-}
command -v oha >/dev/null || { echo "missing: oha; install it with: cargo install oha" >&2; exit 2; }
command -v python3 >/dev/null || { echo "missing: python3 (Debian: apt-get install python3)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "missing: $BIN; build it first with: cargo build --release" >&2; exit 2; }
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNECTIONS + 256)) ]; then
  ulimit -n $((CONNECTIONS + 256)) 2>/dev/null || {
    echo "missing: an fd limit of $((CONNECTIONS + 256)) for oha (now $(ulimit -n)); raise it with ulimit -n" >&2
    exit 2
  }
fi
oha --help | grep -q -- --disable-keepalive || { echo "missing: an oha with --disable-keepalive" >&2; exit 2; }

seconds() { # 10m, 90s, 2h, 30 -> seconds
  case $1 in *h) echo $(( ${1%h} * 3600 ));; *m) echo $(( ${1%m} * 60 ));; *s) echo "${1%s}";; *) echo "$1";; esac
}
TOTAL=$(seconds "$DURATION")
WORK=$(mktemp -d /tmp/rawserve-soak-XXXXXX)
PID=
SAMPLER=
cleanup() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; sleep 1; kill -KILL "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/root"
# A small page, as `GET /` on a real site: measures the server, not the copy of big bodies.
printf '<!DOCTYPE html>\n<title>rawserve soak</title>\n<p>%s</p>\n' "$(head -c 3000 /dev/zero | tr '\0' 'x')" \
  > "$WORK/root/index.html"

RUST_LOG=${RUST_LOG:-info,rawserve::access=off} "$BIN" --bind 127.0.0.1 --port 0 "$WORK/root" \
  >"$WORK/out" 2>"$WORK/log" &
PID=$!
PORT=
for _ in $(seq 100); do
  PORT=$(sed -n 's#.*http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$WORK/out")
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "the server did not start:"; cat "$WORK/log"; exit 1; }
URL="http://127.0.0.1:$PORT/"

fds() { ls "/proc/$PID/fd" 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo -1; }
echo "soak: $DURATION at $CONNECTIONS connections, oha --disable-keepalive, against $(head -1 "$WORK/out")"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); oha $(oha --version | awk '{print $2}')"
for _ in 1 2 3 4 5; do python3 -c "import urllib.request; urllib.request.urlopen('$URL').read()"; done
IDLE_FDS_BEFORE=$(fds)
IDLE_RSS_BEFORE=$(rss)
echo "idle before: fds $IDLE_FDS_BEFORE, RSS $IDLE_RSS_BEFORE KiB"

(
  start=$(date +%s)
  while sleep 10; do
    now=$(( $(date +%s) - start ))
    printf 'sample t=%4ds fds=%5d rss_kib=%6d\n' "$now" "$(fds)" "$(rss)"
  done
) | tee "$WORK/samples" &
SAMPLER=$!

set +e
timeout $((TOTAL + 120)) nice -n 19 oha -z "$DURATION" -w -c "$CONNECTIONS" --disable-keepalive --no-tui \
  --output-format json -o "$WORK/oha.json" "$URL"
OHA_STATUS=$?
set -e
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=
sleep 3
IDLE_FDS_AFTER=$(fds)
IDLE_RSS_AFTER=$(rss)
echo "idle after: fds $IDLE_FDS_AFTER, RSS $IDLE_RSS_AFTER KiB (oha exit status $OHA_STATUS)"
[ -n "$OUT" ] && mkdir -p "$OUT" && cp "$WORK/oha.json" "$OUT/soak-oha.json" && cp "$WORK/samples" "$OUT/soak-samples.txt"

set +e
python3 - "$WORK/oha.json" "$WORK/samples" "$IDLE_FDS_BEFORE" "$IDLE_FDS_AFTER" "$WORK/log" "$OHA_STATUS" <<'PY'
import json, re, sys
oha_path, samples_path, idle_before, idle_after, log_path, oha_status = sys.argv[1:]
ok = oha_status == "0"
try:
    d = json.load(open(oha_path))
except (OSError, ValueError) as e:
    print(f"no oha results: {e}")
    sys.exit(1)
s = d["summary"]
codes = d.get("statusCodeDistribution", {})
errors = d.get("errorDistribution", {})
total = sum(codes.values()) + sum(errors.values())
p = d.get("latencyPercentiles", {})
ms = lambda v: f"{v * 1000:.2f}" if isinstance(v, (int, float)) else "-"
print(f"oha: {total} requests in {s['total']:.0f} s, {s['requestsPerSec']:.0f} req/s, success rate {s['successRate']:.6f}")
print(f"  status codes: {codes}; errors: {errors or 'none'}")
print(f"  latency ms: p50 {ms(p.get('p50'))}  p90 {ms(p.get('p90'))}  p99 {ms(p.get('p99'))}  "
      f"p99.9 {ms(p.get('p99.9'))}  max {ms(s.get('slowest'))}")
non_200 = sum(v for k, v in codes.items() if k != "200")
errors_n = sum(errors.values())
ok = ok and errors_n == 0 and non_200 == 0 and total > 0
samples = [tuple(map(int, m.groups())) for m in
           re.finditer(r"t=\s*(\d+)s fds=\s*(\d+) rss_kib=\s*(\d+)", open(samples_path).read())]
if len(samples) >= 12:
    first, last = samples[:6], samples[-6:]
    f_fds, l_fds = max(x[1] for x in first), max(x[1] for x in last)
    f_rss, l_rss = max(x[2] for x in first), max(x[2] for x in last)
    fds_flat = l_fds <= f_fds * 1.10 + 64
    rss_flat = l_rss <= f_rss * 1.10 + 4096
    print(f"fds under load: first minute peak {f_fds}, last minute peak {l_fds} -> {'flat' if fds_flat else 'GREW'}")
    print(f"RSS KiB under load: first minute peak {f_rss}, last minute peak {l_rss} -> {'flat' if rss_flat else 'GREW'}")
    ok = ok and fds_flat and rss_flat
else:
    print(f"only {len(samples)} samples: too short a run to judge growth")
idle_ok = int(idle_after) <= int(idle_before)
print(f"idle fds: before {idle_before}, after {idle_after} -> {'back' if idle_ok else 'LEAKED'}")
ok = ok and idle_ok
warnings = [l for l in open(log_path, errors="replace") if " WARN " in l or " ERROR " in l]
print(f"server warnings/errors logged: {len(warnings)}" + (f" (first: {warnings[0].strip()})" if warnings else ""))
print(f"verdict: {'PASS' if ok else 'FAIL'} (zero errors, only 200s, fds and RSS flat, idle fds back)")
sys.exit(0 if ok else 1)
PY
VERDICT=$?
set -e
kill -TERM "$PID"
for _ in $(seq 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if wait "$PID"; then echo "server exited with status 0 on SIGTERM"; else echo "server exit status $?"; VERDICT=1; fi
PID=
exit $VERDICT
