#!/usr/bin/env bash
# Restarts without a failed request: `oha --disable-keepalive -c 50` runs against one port
# while rawserve is replaced five times in a row. Each time a new instance starts with
# --reuse-port on the same port, and once its start-up line is out (it is listening) the old
# one gets SIGTERM, hands the port over and drains (README, Operations). Prints each restart,
# oha's summary, and which instance answered how often. Fails (exit 1) on any failed request
# (an error or a non-200 status; oha -w waits for the requests in flight at the end) or an instance that did not exit with status 0.
#
#   scripts/restarts.sh                       # 5 restarts, 3 s apart, 50 connections
#   RESTARTS=10 EVERY=1 CONNECTIONS=100 scripts/restarts.sh
#
# About failures, not speed: fine on a busy machine. Loopback only, bounded (timeout), stops
# only what it started (by PID). Needs oha (`cargo install oha --locked`), python3 and
# target/release/rawserve (`cargo build --release`), or RAWSERVE_BIN; installs nothing itself.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RAWSERVE_BIN:-target/release/rawserve}
RESTARTS=${RESTARTS:-5}
EVERY=${EVERY:-3}
CONNECTIONS=${CONNECTIONS:-50}
command -v oha >/dev/null || { echo "missing: oha; install it with: cargo install oha --locked" >&2; exit 2; }
command -v python3 >/dev/null || { echo "missing: python3 (Debian: apt-get install python3)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "missing: $BIN; build it first with: cargo build --release" >&2; exit 2; }

WORK=$(mktemp -d /tmp/rawserve-restarts-XXXXXX)
PIDS=()
OHA=
cleanup() {
  [ -n "$OHA" ] && kill "$OHA" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/root"

# Starts instance $1 on port $2 (0: a free one) and waits for its start-up line; sets PID.
# Its log keeps the access lines (to count what it served) and the shutdown narration.
start() {
  local n=$1 port=$2
  RUST_LOG=warn,rawserve::server=info,rawserve::access=info "$BIN" --reuse-port --bind 127.0.0.1 --port "$port" "$WORK/root" \
    >"$WORK/out$n" 2>"$WORK/log$n" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 100); do
    grep -q 'serving' "$WORK/out$n" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "instance $n did not start:"; cat "$WORK/log$n"; exit 1
}

start 0 0
PORT=$(sed -n 's#.*http://127\.0\.0\.1:\([0-9]*\)/.*#\1#p' "$WORK/out0")
URL="http://127.0.0.1:$PORT/index.html"
echo "restarts: $RESTARTS, $EVERY s apart, oha -c $CONNECTIONS --disable-keepalive against $URL"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); oha $(oha --version | awk '{print $2}'); $("$BIN" --version)"
printf '<!DOCTYPE html>\n<title>rawserve restarts</title>\n<p>%s</p>\n' "$(head -c 1000 /dev/zero | tr '\0' 'x')" \
  > "$WORK/root/index.html"

TOTAL=$(( (RESTARTS + 1) * EVERY + 2 ))
timeout $((TOTAL + 60)) nice -n 10 oha -z "${TOTAL}s" -w -c "$CONNECTIONS" --disable-keepalive --no-tui \
  --output-format json -o "$WORK/oha.json" "$URL" &
OHA=$!

STATUS=0
OLD=$PID
for n in $(seq "$RESTARTS"); do
  sleep "$EVERY"
  started=$(date +%s.%N)
  start "$n" "$PORT"
  NEW=$PID
  kill -TERM "$OLD"
  set +e
  wait "$OLD"
  code=$?
  set -e
  ended=$(date +%s.%N)
  printf 'restart %d: instance %d (pid %d) listening; instance %d (pid %d) got SIGTERM and exited with status %d, %.2f s after the new one was started\n' \
    "$n" "$n" "$NEW" $((n - 1)) "$OLD" "$code" "$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')"
  [ "$code" -eq 0 ] || STATUS=1
  grep -h 'handing the port over' "$WORK/log$((n - 1))" | sed 's/^.*rawserve::server] /    /'
  OLD=$NEW
done

set +e
wait "$OHA"
OHA_STATUS=$?
set -e
OHA=

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
kill -TERM "$OLD"
wait "$OLD" || STATUS=1
for n in $(seq 0 "$RESTARTS"); do
  printf 'instance %d answered %d requests\n' "$n" "$(grep -c '"GET /index.html HTTP/1.1" 200' "$WORK/log$n" || true)"
done
echo "verdict: $([ $STATUS -eq 0 ] && echo PASS || echo FAIL) (every request answered 200, every instance exited 0)"
exit $STATUS
