#!/usr/bin/env bash
# Counts (not timings) of one client's connection-per-request traffic, per request, for rawserve
# and the peers of benches/load.sh: context switches and migrations (perf stat), which threads
# of the server woke (voluntary/involuntary switches per thread, /proc/PID/task/*/status), TCP
# segments (nstat), the segments of three single requests in order (tcpdump -i lo), and the
# syscalls of every thread around three single requests (strace -f -tt -T), and two timings:
# the server's time per request from the capture (request segment to answer segment), and,
# at 50 connections under wrk and under oha, context switches and task-clock per request.
# Counts do not need a quiet machine; the timings do.
#
#   bash benches/single_connection.sh            # all servers, 5 s of wrk -c1 each
#   SERVERS="rawserve floor" DURATION=3 bash benches/single_connection.sh
#
# Environment:
#   SERVERS="rawserve rawserve-nodefer floor nginx h2o"   rawserve-nodefer = --head-timeout 1
#                     (under 2 s the listener does not set TCP_DEFER_ACCEPT; see server.rs)
#   DURATION=5        seconds of wrk -t1 -c1 -H 'Connection: close' per server
#   RAWSERVE_BIN=     a rawserve binary (default: cargo build --release)
#   RAWSERVE_ARGS=    extra arguments for both rawserve rows
#   TRACE=1           0: skip tcpdump and strace (perf stat, nstat and threads only)
#
# Needs root (perf stat -p, tcpdump), wrk, perf, strace, tcpdump, nstat (iproute2), python3, oha (for the wrk/oha rows),
# cc, nginx, h2o. Pinned as load.sh pins: servers on core 0, wrk on core 1. It stops only what
# it started, by PID, and removes its temp dir.
set -euo pipefail

SERVERS=${SERVERS:-rawserve rawserve-nodefer floor nginx h2o}
DURATION=${DURATION:-5}
TRACE=${TRACE:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=benches/nginx_conf.sh
. "$HERE/nginx_conf.sh"
log() { printf '%s\n' "$*" >&2; }
for tool in wrk perf strace tcpdump nstat python3 cc taskset; do
  command -v "$tool" >/dev/null || { log "single_connection.sh: missing $tool"; exit 3; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rawserve-single.XXXXXX")
STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STARTED[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
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
head -c 1024 <(yes 'rawserve load test: the quick brown fox jumps over the lazy dog 0123456789') >"$ROOT/1k.html"
# shellcheck disable=SC2206
EXTRA=(${RAWSERVE_ARGS:-})

port_of() { echo $((24000 + RANDOM % 6000)); }
wait_port() { # port
  for _ in $(seq 1 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing listens on $1"; exit 2
}
# One request on its own connection, read to the end, then close; N of them, 0.2 s apart.
single_requests() { # port n
  python3 - "$1" "$2" <<'EOF'
import socket, sys, time
for _ in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /1k.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    while s.recv(65536):
        pass
    s.close()
    time.sleep(0.2)
EOF
}

declare -A PORT PID WORKER
start() { # key
  local key=$1 port pid
  port=$(port_of)
  case $key in
    rawserve) RUST_LOG=warn taskset -c 0 "$RAWSERVE" --bind 127.0.0.1 --port "$port" "${EXTRA[@]}" "$ROOT" >"$TMP/$key.log" 2>&1 & ;;
    rawserve-nodefer) RUST_LOG=warn taskset -c 0 "$RAWSERVE" --bind 127.0.0.1 --port "$port" --head-timeout 1 "${EXTRA[@]}" "$ROOT" >"$TMP/$key.log" 2>&1 & ;;
    floor)
      cc -O2 -o "$TMP/floor" "$HERE/floor.c"
      taskset -c 0 "$TMP/floor" "$port" 317 >"$TMP/$key.log" 2>&1 &
      ;;
    nginx)
      write_nginx_conf "$TMP/nginx" "$port" "$ROOT"
      taskset -c 0 nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" >"$TMP/$key.log" 2>&1 &
      ;;
    h2o)
      mkdir -p "$TMP/h2o"
      { [ "$(id -u)" != 0 ] || echo "user: root"
        printf 'listen:\n  host: 127.0.0.1\n  port: %s\nnum-threads: 1\npid-file: %s/h2o.pid\nerror-log: %s/error.log\nfile.send-compressed: OFF\nhosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\n' \
          "$port" "$TMP/h2o" "$TMP/h2o" "$ROOT"; } >"$TMP/h2o/h2o.conf"
      taskset -c 0 h2o -c "$TMP/h2o/h2o.conf" >"$TMP/$key.log" 2>&1 &
      ;;
  esac
  pid=$!
  STARTED+=("$pid")
  wait_port "$port"
  PORT[$key]=$port
  PID[$key]=$pid
  # The process that serves: nginx's worker (its master only waits), every other the one process.
  WORKER[$key]=$pid
  if [ "$key" = nginx ]; then
    for _ in $(seq 1 50); do
      WORKER[$key]=$(cat /proc/"$pid"/task/*/children | awk '{print $1}')
      [ -z "${WORKER[$key]}" ] || break
      sleep 0.1
    done
  fi
}

# Per thread: "tid comm voluntary nonvoluntary".
thread_switches() { # pid
  local task
  for task in /proc/"$1"/task/*; do
    printf '%s %s %s %s\n' "${task##*/}" "$(tr ' ' '_' <"$task/comm")" \
      "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status")" \
      "$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$task/status")"
  done
}

# Rescheduling and function-call IPIs per core: a wake-up of a sleeping thread on another core.
ipis() { awk '$1 == "RES:" || $1 == "CAL:" {print $1, $2, $3}' /proc/interrupts; }
# tcpdump lines -> "direction/flags/has-data count", e.g. "server>[F.]+data 2055".
segment_kinds() { # server port
  awk -v p="$1" '{
    split($3, src, "."); dir = (src[length(src)] == p) ? "server>" : "client>"
    flags = $0; sub(/.*Flags /, "", flags); sub(/,.*/, "", flags)
    len = $0; sub(/.*length /, "", len); sub(/[^0-9].*/, "", len)
    kind = dir flags (len + 0 > 0 ? "+data" : ""); n[kind]++; total++
  } END { for (k in n) print k, n[k]; print "total", total }' | sort
}

# tcpdump -tt lines -> the server's time per request, from the request's data segment to the
# first segment of the answer (what the server adds to the client's latency: its wake-up, its
# syscalls, its own code), and the client's, from the SYN-ACK to its request. Median and p90.
server_time() { # server port
  python3 -c '
import re, sys
port, cur, done = sys.argv[1], {}, []
for line in sys.stdin:
    m = re.match(r"([\d.]+) IP [\d.]+\.(\d+) > [\d.]+\.(\d+): Flags \[([^\]]+)\].*length (\d+)", line)
    if not m:
        continue
    t, src, dst, flags, length = float(m[1]), m[2], m[3], m[4], int(m[5])
    if dst == port:
        if flags == "S":
            if src in cur:
                done.append(cur[src])
            cur[src] = {}
        elif src in cur and length and "request" not in cur[src]:
            cur[src]["request"] = t
    elif dst in cur:
        if flags == "S.":
            cur[dst]["synack"] = t
        elif length and "answer" not in cur[dst]:
            cur[dst]["answer"] = t
done += cur.values()
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1e6 if xs else float("nan")
server = [c["answer"] - c["request"] for c in done if "answer" in c and "request" in c]
client = [c["request"] - c["synack"] for c in done if "request" in c and "synack" in c]
print("- server time per request (tcpdump, request segment to first answer segment): p50 %.1f µs, p90 %.1f µs (%d requests)" % (pct(server, .5), pct(server, .9), len(server)))
print("- client time (tcpdump, SYN-ACK to request segment): p50 %.1f µs" % pct(client, .5))
' "$1"
}

NSTAT_KEYS='TcpActiveOpens|TcpPassiveOpens|TcpOutSegs|TcpInSegs|TcpRetransSegs|TcpOutRsts|TcpExtDelayedACKs|TcpExtTCPPureAcks|TcpExtTCPHPAcks|TcpExtTCPDeferAcceptDrop|TcpExtTW|TcpExtTCPOrigDataSent|TcpExtTCPHPHits|TcpExtTCPAbortOnData'

measure() { # key
  local key=$1 worker=${WORKER[$1]} url out requests
  url="http://127.0.0.1:${PORT[$key]}/1k.html"
  out=$TMP/$key
  # Warm up (page cache, file cache, first allocations).
  taskset -c 1 wrk -t1 -c1 -d1s -H 'Connection: close' "$url" >/dev/null 2>&1 || true
  thread_switches "$worker" >"$out.threads0"
  ipis >"$out.ipi0"
  NSTAT_HISTORY=$TMP/nstat.history nstat -n >/dev/null
  perf stat -e context-switches,cpu-migrations,task-clock -p "$worker" -o "$out.perf" -- sleep $((DURATION + 1)) &
  local perf_pid=$!
  tcpdump -i lo -nn -w "$out.pcap" "tcp port ${PORT[$key]}" 2>/dev/null &
  local dump_pid=$!
  sleep 0.5
  taskset -c 1 wrk -t1 -c1 -d"${DURATION}"s --latency -H 'Connection: close' "$url" >"$out.wrk" 2>&1
  wait "$perf_pid" || true
  kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null || true
  NSTAT_HISTORY=$TMP/nstat.history nstat 2>/dev/null | grep -E "^($NSTAT_KEYS) " >"$out.nstat" || true
  ipis >"$out.ipi1"
  tcpdump -r "$out.pcap" -nn 2>/dev/null | segment_kinds "${PORT[$key]}" >"$out.segs" || true
  tcpdump -r "$out.pcap" -nn -tt 2>/dev/null | server_time "${PORT[$key]}" >"$out.times" || true
  thread_switches "$worker" >"$out.threads1"
  requests=$(awk '/requests in/ {print $1}' "$out.wrk")
  echo "### $key"
  echo
  echo "wrk -t1 -c1 -d${DURATION}s -H 'Connection: close': $requests requests; per request:"
  echo
  awk -v n="$requests" '/context-switches|cpu-migrations/ {gsub(",", "", $1); printf "- perf stat -p %s: %s %.3f\n", "'"$worker"'", $2, $1 / n}' "$out.perf"
  join <(sort "$out.threads0") <(sort "$out.threads1") |
    awk -v n="$requests" '{v = $6 - $3; nv = $7 - $4; printf "- thread %s (%s): %.3f voluntary, %.3f involuntary switches (%d, %d)\n", $1, $2, v / n, nv / n, v, nv}'
  awk -v n="$requests" '{printf "- segments on the port (tcpdump): %s %.3f (%d)\n", $1, $2 / n, $2}' "$out.segs"
  cat "$out.times"
  paste "$out.ipi0" "$out.ipi1" | awk -v n="$requests" '{printf "- /proc/interrupts %s (machine-wide): core 0 %.3f, core 1 %.3f\n", $1, ($5 - $2) / n, ($6 - $3) / n}'
  awk -v n="$requests" '{printf "- nstat %s (machine-wide: other work on loopback counts too): %.2f (%d)\n", $1, $2 / n, $2}' "$out.nstat"
  echo
}

trace() { # key
  local key=$1 port=${PORT[$1]} pid=${PID[$1]}
  [ "$key" != nginx ] || pid=${WORKER[$key]}
  echo "#### $key: tcpdump -i lo -nn -tt 'tcp port $port', 3 single requests 0.2 s apart"
  echo
  echo '```'
  tcpdump -i lo -nn -ttt -l "tcp port $port" >"$TMP/$key.pcap.txt" 2>/dev/null &
  local dump=$!
  sleep 1
  single_requests "$port" 3
  sleep 0.5
  kill -INT "$dump"; wait "$dump" 2>/dev/null || true
  # Keep the flags and lengths (the order), drop addresses' ephemeral ports for readability.
  sed -E 's/ IP 127\.0\.0\.1\.([0-9]+) > 127\.0\.0\.1\.([0-9]+):/ \1 > \2:/; s/, options \[[^]]*\]//; s/, win [0-9]+//' "$TMP/$key.pcap.txt"
  echo '```'
  echo
  echo "#### $key: strace -f -tt -T -p $pid, the same 3 requests"
  echo
  echo '```'
  strace -f -tt -T -p "$pid" -o "$TMP/$key.strace" &
  local st=$!
  sleep 1
  single_requests "$port" 3
  sleep 0.5
  kill -INT "$st"; wait "$st" 2>/dev/null || true
  sed -E 's/^([0-9]+) +[0-9:]+\.([0-9]+)/\1 .\2/' "$TMP/$key.strace" | grep -v -- '--- SIG' | head -n 80
  echo '```'
  echo
}

# At 50 connections (rawserve rows only): how many connections would wait on epoll without the
# deferral, and what the deferral saves there: switches and syscalls per request.
measure_c50() { # key
  local key=$1 pid=${PID[$1]} url requests
  url="http://127.0.0.1:${PORT[$key]}/1k.html"
  perf stat -e context-switches -p "$pid" -o "$TMP/$key.c50.perf" -- sleep $((DURATION + 1)) &
  local perf_pid=$!
  sleep 0.5
  taskset -c 1 wrk -t1 -c50 -d"${DURATION}"s -H 'Connection: close' "$url" >"$TMP/$key.c50.wrk" 2>&1
  wait "$perf_pid" || true
  requests=$(awk '/requests in/ {print $1}' "$TMP/$key.c50.wrk")
  echo "### $key at 50 connections"
  echo
  echo "wrk -t1 -c50 -d${DURATION}s -H 'Connection: close': $requests requests; per request:"
  echo
  awk -v n="$requests" '/context-switches/ {gsub(",", "", $1); printf "- perf stat -p %s: context-switches %.3f\n", "'"$pid"'", $1 / n}' "$TMP/$key.c50.perf"
  strace -c -f -p "$pid" -o "$TMP/$key.c50.strace" &
  local st=$!
  sleep 0.5
  taskset -c 1 wrk -t1 -c50 -d"${DURATION}"s -H 'Connection: close' "$url" >"$TMP/$key.c50s.wrk" 2>&1
  kill -INT "$st"; wait "$st" 2>/dev/null || true
  requests=$(awk '/requests in/ {print $1}' "$TMP/$key.c50s.wrk")
  echo "- under strace -c -f (slower, so fewer would wait; $requests requests):" \
    "$(awk -v n="$requests" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {printf "%s %.3f%s, ", $NF, $4 / n, ($5 ~ /^[0-9]+$/ ? " (" $5 " errors)" : "")}' "$TMP/$key.c50.strace")"
  echo
}

# wrk and oha at 50 connections, one after the other, for any server: how often the server
# sleeps in epoll_wait per request (context switches) and its CPU per request (task-clock).
# oha's requests come spread out, wrk's in bursts, so a server faster than its client sleeps
# more often per request under oha.
measure_generators() { # key
  local key=$1 worker=${WORKER[$1]} url gen requests
  command -v oha >/dev/null || { echo "(oha not installed: no wrk/oha comparison)"; echo; return; }
  url="http://127.0.0.1:${PORT[$key]}/1k.html"
  for gen in wrk oha; do
    perf stat -e context-switches,task-clock -p "$worker" -o "$TMP/$key.$gen.perf" -- sleep $((DURATION + 1)) &
    local perf_pid=$!
    sleep 0.5
    if [ "$gen" = wrk ]; then
      taskset -c 1 wrk -t1 -c50 -d"${DURATION}"s -H 'Connection: close' "$url" >"$TMP/$key.$gen.out" 2>&1
      requests=$(awk '/requests in/ {print $1}' "$TMP/$key.$gen.out")
    else
      taskset -c 1 oha -z "${DURATION}s" -c 50 --disable-keepalive --no-tui --output-format json "$url" >"$TMP/$key.$gen.out" 2>/dev/null
      requests=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1]))["statusCodeDistribution"].values()))' "$TMP/$key.$gen.out")
    fi
    wait "$perf_pid" || true
    awk -v n="$requests" -v g="$gen" -v k="$key" '
      /context-switches/ {gsub(",", "", $1); cs = $1}
      /task-clock/ {gsub(",", "", $1); tc = $1}
      END {printf "- %s, %s -c50 (%d requests): %.3f context switches, %.1f µs task-clock per request\n", k, g, n, cs / n, tc * 1000 / n}' "$TMP/$key.$gen.perf"
  done
  echo
}

for key in $SERVERS; do start "$key"; done
echo "## Single connection: counts per request ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Linux $(uname -r), load $(cut -d' ' -f1 /proc/loadavg))"
echo
for key in $SERVERS; do measure "$key"; done
for key in $SERVERS; do [[ $key != rawserve* ]] || measure_c50 "$key"; done
echo "### wrk and oha at 50 connections"
echo
for key in $SERVERS; do measure_generators "$key"; done
if [ "$TRACE" = 1 ]; then
  for key in $SERVERS; do trace "$key"; done
fi
