#!/usr/bin/env bash
# Scale-out behind a load balancer: three rawserve instances on loopback behind HAProxy with
# contrib/haproxy.cfg (health checks with HEAD /), `oha --disable-keepalive -c 50` through
# HAProxy, and under that load each instance in turn is stopped (SIGTERM), left down until
# HAProxy has seen it fail its checks, started again, and left until HAProxy has it back.
# Prints the timeline, HAProxy's view of its servers, oha's summary and what each instance
# served. Fails (exit 1) on any failed request (an error or a non-200 status).
#
#   scripts/scale_out.sh                  # 50 connections, each instance down ~3 s
#   CONNECTIONS=100 DOWN=5 scripts/scale_out.sh
#
# About failures, not speed: fine on a busy machine. Loopback only, free ports, bounded
# (timeout), stops only what it started (by PID). Needs haproxy (Debian: apt-get install
# haproxy), oha (`cargo install oha --locked`), python3 and target/release/rawserve, or
# RAWSERVE_BIN; installs nothing itself.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RAWSERVE_BIN:-target/release/rawserve}
CONNECTIONS=${CONNECTIONS:-50}
DOWN=${DOWN:-3}
UP=${UP:-3}
command -v haproxy >/dev/null || { echo "missing: haproxy (Debian: apt-get install haproxy)" >&2; exit 2; }
command -v oha >/dev/null || { echo "missing: oha; install it with: cargo install oha --locked" >&2; exit 2; }
command -v python3 >/dev/null || { echo "missing: python3 (Debian: apt-get install python3)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "missing: $BIN; build it first with: cargo build --release" >&2; exit 2; }

WORK=$(mktemp -d /tmp/rawserve-scale-out-XXXXXX)
PIDS=()
HAPROXY=
OHA=
cleanup() {
  [ -n "$OHA" ] && kill "$OHA" 2>/dev/null || true
  [ -n "$HAPROXY" ] && kill "$HAPROXY" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/root"
printf '<!DOCTYPE html>\n<title>rawserve scale-out</title>\n<p>%s</p>\n' "$(head -c 1000 /dev/zero | tr '\0' 'x')" \
  > "$WORK/root/index.html"

# Each instance first picks a free port itself (--port 0) and keeps it for its restarts.
PORTS=("" 0 0 0)
declare -A PID_OF

# Starts instance $1 (again) on its port; its access lines go to its own log, appended.
start() {
  local n=$1
  : > "$WORK/out$n"
  RUST_LOG=warn,rawserve::access=info "$BIN" --bind 127.0.0.1 --port "${PORTS[$n]}" "$WORK/root" \
    >"$WORK/out$n" 2>>"$WORK/log$n" &
  PID_OF[$n]=$!
  PIDS+=("$!")
  for _ in $(seq 100); do
    if grep -q 'serving' "$WORK/out$n" 2>/dev/null; then
      PORTS[$n]=$(sed -n 's#.*http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$WORK/out$n")
      return 0
    fi
    sleep 0.05
  done
  echo "instance r$n did not start:"; cat "$WORK/log$n"; exit 1
}
for n in 1 2 3; do start "$n"; done
P1=${PORTS[1]} P2=${PORTS[2]} P3=${PORTS[3]}
# A free port for HAProxy's front.
FRONT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

RAWSERVE_FRONTEND=127.0.0.1:$FRONT RAWSERVE_1=127.0.0.1:$P1 RAWSERVE_2=127.0.0.1:$P2 RAWSERVE_3=127.0.0.1:$P3 \
  haproxy -db -f contrib/haproxy.cfg >"$WORK/haproxy.log" 2>&1 &
HAPROXY=$!
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $FRONT), 0.2).close()" 2>/dev/null && break
  sleep 0.05
done
sleep 2 # the first health checks
URL="http://127.0.0.1:$FRONT/index.html"
echo "scale-out: HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') on 127.0.0.1:$FRONT in front of r1 :$P1, r2 :$P2, r3 :$P3 (contrib/haproxy.cfg)"
echo "load: oha -c $CONNECTIONS --disable-keepalive $URL; each instance down ${DOWN} s, then up ${UP} s before the next"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); oha $(oha --version | awk '{print $2}'); $("$BIN" --version)"

TOTAL=$(( 2 + 3 * (DOWN + UP + 1) + 2 ))
timeout $((TOTAL + 60)) nice -n 10 oha -z "${TOTAL}s" -w -c "$CONNECTIONS" --disable-keepalive --no-tui \
  --output-format json -o "$WORK/oha.json" "$URL" &
OHA=$!
T0=$(date +%s.%N)
at() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%5.1f s", b - a }'; }

STATUS=0
sleep 2
for n in 1 2 3; do
  kill -TERM "${PID_OF[$n]}"
  set +e
  wait "${PID_OF[$n]}"
  code=$?
  set -e
  echo "$(at): r$n stopped (SIGTERM, exit status $code)"
  [ "$code" -eq 0 ] || STATUS=1
  sleep "$DOWN"
  start "$n"
  echo "$(at): r$n started again"
  sleep "$UP"
done

set +e
wait "$OHA"
OHA_STATUS=$?
set -e
OHA=
echo "HAProxy saw:"
grep -E 'Server rawserve/r[0-9] is (UP|DOWN)' "$WORK/haproxy.log" | sed -E 's/^.*(Server rawserve)/    \1/; s/(check duration: [0-9]+ms)\..*/\1/' || true

python3 - "$WORK/oha.json" "$OHA_STATUS" <<'PY' || STATUS=1
import json, sys
path, oha_status = sys.argv[1:]
d = json.load(open(path))
s = d["summary"]
codes = d.get("statusCodeDistribution", {})
errors = d.get("errorDistribution", {})
total = sum(codes.values()) + sum(errors.values())
p = d.get("latencyPercentiles", {})
ms = lambda v: f"{v * 1000:.1f}" if isinstance(v, (int, float)) else "-"
print(f"oha: {total} requests in {s['total']:.1f} s, {s['requestsPerSec']:.0f} req/s, success rate {s['successRate'] * 100:.2f} %")
print(f"  status codes: {codes}; errors: {errors or 'none'}")
print(f"  latency ms: p50 {ms(p.get('p50'))}  p99 {ms(p.get('p99'))}  p99.9 {ms(p.get('p99.9'))}  max {ms(s.get('slowest'))}")
failed = sum(errors.values()) + sum(v for k, v in codes.items() if k != "200")
print(f"failed requests: {failed}")
sys.exit(0 if failed == 0 and total > 0 and oha_status == "0" else 1)
PY
kill "$HAPROXY" 2>/dev/null || true
wait "$HAPROXY" 2>/dev/null || true
HAPROXY=
for n in 1 2 3; do
  kill -TERM "${PID_OF[$n]}"
  wait "${PID_OF[$n]}" || STATUS=1
  printf 'r%d answered %d requests (health checks included)\n' "$n" "$(grep -c '" 200 ' "$WORK/log$n" || true)"
done
echo "verdict: $([ $STATUS -eq 0 ] && echo PASS || echo FAIL) (every request through HAProxy answered 200)"
exit $STATUS
