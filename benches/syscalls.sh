#!/usr/bin/env bash
# Syscalls per request, rawserve vs nginx: `strace -c -f -p PID` on each server while wrk
# sends connection-per-request GETs, then calls / requests completed, side by side.
#
#   bash benches/syscalls.sh
#
# Environment: DURATION=5 (s of load per server), CONNS=50, FILE=1k.html (1k.html, 64k.html,
# 10m.bin or 1k.bin), THREADS= (rawserve --threads; empty: its default), RAWSERVE_BIN= (skip
# the build). strace slows the server down many times over: the counts are what this
# measures, not the speed. Loopback only; stops only what it started; removes its temp dir.
set -euo pipefail
DURATION=${DURATION:-5}
CONNS=${CONNS:-50}
FILE=${FILE:-1k.html}
THREADS=${THREADS:-}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=benches/nginx_conf.sh
. "$HERE/nginx_conf.sh"
REPO=$(cd "$HERE/.." && pwd)
log() { printf '%s\n' "$*" >&2; }

missing=()
for tool in strace wrk nginx taskset; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "syscalls.sh: missing: ${missing[*]}; install with: apt-get install ${missing[*]/taskset/util-linux}"
  exit 3
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rawserve-syscalls.XXXXXX")
STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${RAWSERVE_BIN:-}" ]; then
  RAWSERVE=$RAWSERVE_BIN
else
  (cd "$REPO" && cargo build --release --quiet --bin rawserve)
  RAWSERVE=$REPO/target/release/rawserve
fi

ROOT=$TMP/www
mkdir -p "$ROOT"
for spec in 1k.html:1024 1k.bin:1024 64k.html:65536 10m.bin:10485760; do
  head -c "${spec#*:}" <(yes 'rawserve syscall count: the quick brown fox jumps over the lazy dog') >"$ROOT/${spec%%:*}"
done
[ -f "$ROOT/$FILE" ] || { log "syscalls.sh: FILE must be one of: $(ls "$ROOT")"; exit 2; }

PIN_SRV=()
PIN_GEN=()
if [ "$(nproc)" -ge 2 ]; then PIN_SRV=(taskset -c 0); PIN_GEN=(taskset -c 1); fi
listening() { local t; t=$(cat /proc/net/tcp); grep -q ":$(printf '%04X' "$1") 00000000:0000 0A" <<<"$t"; }
free_port() {
  local p
  for _ in $(seq 1 100); do p=$((20000 + RANDOM % 12000)); listening "$p" || { echo "$p"; return; }; done
  return 1
}
wait_listening() { for _ in $(seq 1 100); do listening "$1" && return 0; sleep 0.1; done; log "no listener on $1"; exit 2; }

RS_PORT=$(free_port)
args=()
[ -z "$THREADS" ] || args=(--threads "$THREADS")
RUST_LOG=warn "${PIN_SRV[@]}" "$RAWSERVE" --bind 127.0.0.1 --port "$RS_PORT" "${args[@]}" "$ROOT" >"$TMP/rawserve.log" 2>&1 &
RS_PID=$!
STARTED+=("$RS_PID")
wait_listening "$RS_PORT"

NG_PORT=$(free_port)
write_nginx_conf "$TMP/nginx" "$NG_PORT" "$ROOT"
"${PIN_SRV[@]}" "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" >"$TMP/nginx.log" 2>&1 &
NG_PID=$!
STARTED+=("$NG_PID")
wait_listening "$NG_PORT"
NG_WORKER=$(cat /proc/"$NG_PID"/task/*/children | tr ' ' '\n' | grep -v '^$' | head -n 1)

trace() { # name port pid
  local name=$1 port=$2 pid=$3 spid
  strace -c -f -qq -o "$TMP/strace.$name" -p "$pid" &
  spid=$!
  sleep 1
  "${PIN_GEN[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" -H 'Connection: close' "http://127.0.0.1:$port/$FILE" >"$TMP/wrk.$name" 2>&1
  kill -INT "$spid"
  wait "$spid" 2>/dev/null || true
  awk '/requests in/ {print $1}' "$TMP/wrk.$name" >"$TMP/requests.$name"
}
log "tracing rawserve (pid $RS_PID, all threads) and nginx's worker (pid $NG_WORKER): $DURATION s of wrk -c$CONNS on /$FILE each"
trace rawserve "$RS_PORT" "$RS_PID"
trace nginx "$NG_PORT" "$NG_WORKER"

python3 - "$TMP" <<'PY'
import re, sys
tmp = sys.argv[1]
def load(name):
    req = int(open(f"{tmp}/requests.{name}").read().strip() or 0)
    calls = {}
    for line in open(f"{tmp}/strace.{name}"):
        f = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(f) >= 5 and re.match(r"^[\d.]+$", f[0]) and f[-1] != "total":
            n = int(f[3])
            errors = int(f[4]) if len(f) == 6 else 0
            calls[f[-1]] = (n, errors)
    return req, calls
rs_req, rs = load("rawserve")
ng_req, ng = load("nginx")
print(f"\nrequests completed under strace: rawserve {rs_req}, nginx {ng_req}\n")
print("| syscall | rawserve calls/req | rawserve errors/req | nginx calls/req | nginx errors/req |")
print("|---|---:|---:|---:|---:|")
names = sorted(set(rs) | set(ng), key=lambda s: -(rs.get(s, (0, 0))[0] / max(rs_req, 1) + ng.get(s, (0, 0))[0] / max(ng_req, 1)))
tot = [0.0, 0.0]
for s in names:
    r = rs.get(s, (0, 0)); g = ng.get(s, (0, 0))
    rr, gr = r[0] / max(rs_req, 1), g[0] / max(ng_req, 1)
    tot[0] += rr; tot[1] += gr
    if rr < 0.005 and gr < 0.005:
        continue
    print(f"| {s} | {rr:.2f} | {r[1] / max(rs_req, 1):.2f} | {gr:.2f} | {g[1] / max(ng_req, 1):.2f} |")
print(f"| **total** | **{tot[0]:.2f}** | | **{tot[1]:.2f}** | |")
PY
