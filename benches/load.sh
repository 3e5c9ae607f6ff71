#!/usr/bin/env bash
# rawserve vs nginx, h2o and a minimal C server, side by side on one generated document root.
#
#   bash benches/load.sh              # check tools, build, run, print one table
#   bash benches/load.sh --install    # first install what is missing (apt-get, cargo install)
#
# Environment:
#   ROUNDS=3         rounds; each round runs every server once per scenario and generator,
#                    the order of the servers rotating from round to round
#   DURATION=10      seconds per run
#   LONG=0           1: also a 60 s run at 1000 connections per server (peak RSS, 10 s vs 60 s)
#   LONG_DURATION=60 seconds of that run
#   GENERATORS="wrk oha"          which load generators to use
#   SCENARIOS="1k 64k 10m c1 c1000 1k-ka c1-ka"   which scenarios to run (see below)
#   PEERS="nginx h2o floor"       which servers to run beside rawserve: nginx (1 worker), h2o
#                    (1 thread), floor (benches/floor.c, built with cc -O2: epoll, accept4, read
#                    the head, one write of a fixed 1 KiB answer with a head as long as
#                    rawserve's, close; the floor a closing server can reach; it serves only
#                    the scenarios of /1k.html)
#   EXTRA_THREADS=   --threads for extra rawserve rows, a list: "1 2 4" runs three more
#                    rawserve servers. Default: 1, or the core count when rawserve's own
#                    default already is one loop under the pinning (it follows the affinity
#                    mask, so pinned to one core it starts one loop). EXTRA_THREADS=none: no extra row.
#   RAWSERVE_BIN=    use this binary instead of building target/release/rawserve
#   PAUSE=1          seconds of rest between runs
#   KEEP=0           1: keep the temp dir (raw generator outputs) and print its path
#   NICE=0           niceness of the servers and generators; on a shared machine NICE=-10
#                    (as root) keeps other work from taking their cores mid-run
#
# Scenarios (the close ones: every request says `Connection: close`, wrk -H, oha
# --disable-keepalive, so every server closes after each response):
#   1k    GET /1k.html    (1 KiB)  at 50 connections
#   64k   GET /64k.html   (64 KiB) at 50 connections
#   10m   GET /10m.bin    (10 MiB) at 50 connections
#   c1    GET /1k.html at 1 connection: latency
#   c1000 GET /1k.html at 1000 connections: errors, peak RSS
# Keep-alive (no `Connection` header, as most people run wrk and oha): nginx and h2o keep the
# connection open (nginx's default keepalive_timeout 75 s); rawserve and the floor still
# close after every response, so the client pays a TCP handshake per request there:
#   1k-ka GET /1k.html at 50 connections, keep-alive
#   c1-ka GET /1k.html at 1 connection, keep-alive
#
# Needs: nginx, h2o and wrk (Debian packages), cc (for the floor), oha (cargo install oha),
# taskset (util-linux), python3 (formats the table: benches/load_report.py), cargo. Missing ones
# are named, with the command that installs them, and the script stops; --install runs those
# commands. A peer left out of PEERS is not needed.
#
# Output: a progress line per run on stderr, then one markdown table on stdout (medians over
# the rounds; each figure also as a ratio to nginx's, and p50 and req/s to h2o's and p50 to the
# floor's), then which runs were bound by the generator, not the server. Save it with:
# bash benches/load.sh 2>&1 | tee load.txt
#
# What it starts, and only that: rawserve (default threads, and one per EXTRA_THREADS), nginx
# (1 worker), h2o (1 thread) and the floor, all on 127.0.0.1, each pinned to core 0; the
# generators pinned to core 1. Everything it starts is stopped by PID on exit, and its temp
# dir is removed.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
LONG=${LONG:-0}
LONG_DURATION=${LONG_DURATION:-60}
GENERATORS=${GENERATORS:-wrk oha}
SCENARIOS=${SCENARIOS:-1k 64k 10m c1 c1000 1k-ka c1-ka}
PEERS=${PEERS-nginx h2o floor}
PAUSE=${PAUSE:-1}
KEEP=${KEEP:-0}
NICE=${NICE:-0}
INSTALL=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

for arg in "$@"; do
  case "$arg" in
    --install) INSTALL=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "load.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

for var in ROUNDS DURATION LONG_DURATION; do
  [[ ${!var} =~ ^[1-9][0-9]*$ ]] || { echo "load.sh: $var must be a positive whole number, not '${!var}'" >&2; exit 2; }
done
[[ $PAUSE =~ ^[0-9]+$ ]] || { echo "load.sh: PAUSE must be a whole number of seconds, not '$PAUSE'" >&2; exit 2; }
for scenario in $SCENARIOS; do
  case $scenario in 1k | 64k | 10m | c1 | c1000 | 1k-ka | c1-ka) ;; *) echo "load.sh: unknown scenario '$scenario' (1k 64k 10m c1 c1000 1k-ka c1-ka)" >&2; exit 2 ;; esac
done
for peer in $PEERS; do
  case $peer in nginx | h2o | floor) ;; *) echo "load.sh: PEERS takes nginx, h2o and floor, not '$peer'" >&2; exit 2 ;; esac
done
has_peer() { [[ " $PEERS " == *" $1 "* ]]; }
[[ $NICE =~ ^-?[0-9]+$ ]] || { echo "load.sh: NICE must be a whole number, not '$NICE'" >&2; exit 2; }
[[ $LONG =~ ^[01]$ ]] || { echo "load.sh: LONG must be 0 or 1, not '$LONG'" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=benches/nginx_conf.sh
. "$HERE/nginx_conf.sh"
REPO=$(cd "$HERE/.." && pwd)
log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------
# Tools: say exactly what is missing; install only when asked.
# ---------------------------------------------------------------------------------------
find_tool() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  for dir in /usr/sbin /sbin "$HOME/.cargo/bin"; do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
  done
  return 1
}

missing=()
declare -A HOW=(
  [nginx]="apt-get install nginx        (Debian's package; the script runs it with its own config)"
  [h2o]="apt-get install h2o          (Debian's package; the script runs it with its own config)"
  [cc]="apt-get install gcc          (builds benches/floor.c)"
  [wrk]="apt-get install wrk"
  [oha]="cargo install oha --locked     (not packaged by Debian)"
  [taskset]="apt-get install util-linux"
  [python3]="apt-get install python3      (formats the table)"
  [cargo]="the Rust toolchain (rustup), to build rawserve"
)
check_tools() {
  missing=()
  local peer_tools=()
  has_peer nginx && peer_tools+=(nginx)
  has_peer h2o && peer_tools+=(h2o)
  has_peer floor && peer_tools+=(cc)
  for tool in "${peer_tools[@]}" $GENERATORS taskset python3; do
    find_tool "$tool" >/dev/null || missing+=("$tool")
  done
  if [ -z "${RAWSERVE_BIN:-}" ] && ! find_tool cargo >/dev/null; then missing+=(cargo); fi
}
check_tools
if [ ${#missing[@]} -gt 0 ] && [ "$INSTALL" = 1 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  apt_pkgs=()
  for tool in "${missing[@]}"; do
    case "$tool" in
      nginx) apt_pkgs+=(nginx) ;;
      h2o) apt_pkgs+=(h2o) ;;
      cc) apt_pkgs+=(gcc) ;;
      wrk) apt_pkgs+=(wrk) ;;
      taskset) apt_pkgs+=(util-linux) ;;
      python3) apt_pkgs+=(python3) ;;
    esac
  done
  if [ ${#apt_pkgs[@]} -gt 0 ]; then
    log "installing with apt-get: ${apt_pkgs[*]}"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_pkgs[@]}"
  fi
  if [[ " ${missing[*]} " == *" oha "* ]]; then
    log "installing oha with: cargo install oha --locked"
    cargo install oha --locked
  fi
  check_tools
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "load.sh: missing tools: ${missing[*]}"
  for tool in "${missing[@]}"; do log "  $tool: ${HOW[$tool]}"; done
  log "Install them yourself, or run: bash benches/load.sh --install"
  exit 3
fi
for gen in $GENERATORS; do
  case $gen in wrk | oha) ;; *) log "load.sh: GENERATORS takes wrk and/or oha, not '$gen'"; exit 2 ;; esac
done
NGINX=$(find_tool nginx || true)
H2O=$(find_tool h2o || true)
CC=$(find_tool cc || true)
WRK=$(find_tool wrk || true)
OHA=$(find_tool oha || true)
TASKSET=$(find_tool taskset)
PYTHON=$(find_tool python3)

# ---------------------------------------------------------------------------------------
# Cleanup: only what this script started, by PID.
# ---------------------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rawserve-load.XXXXXX")
STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED[@]}"; do
    # Give each a moment to stop, then insist.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Pinning
# ---------------------------------------------------------------------------------------
CORES=$(nproc)
if [ "$CORES" -ge 2 ]; then
  PIN_SRV=("$TASKSET" -c 0)
  PIN_GEN=("$TASKSET" -c 1)
  SRV_CORE=0
  GEN_CORE=1
  PINNING="servers on core 0, generators on core 1 (taskset)"
else
  PIN_SRV=()
  PIN_GEN=()
  PINNING="none: one core, so server and generator share it (figures are of the pair, not the server)"
fi
# NICE=-10 (root only) runs the servers and the generators ahead of other work on a shared
# machine; both servers get the same priority, so the comparison stays fair.
if [ "$NICE" != 0 ]; then
  PIN_SRV=(nice -n "$NICE" "${PIN_SRV[@]}")
  PIN_GEN=(nice -n "$NICE" "${PIN_GEN[@]}")
  PINNING="$PINNING; servers and generators at nice $NICE"
fi

# ---------------------------------------------------------------------------------------
# Build, document root
# ---------------------------------------------------------------------------------------
if [ -n "${RAWSERVE_BIN:-}" ]; then
  RAWSERVE=$RAWSERVE_BIN
else
  log "building: cargo build --release"
  (cd "$REPO" && cargo build --release --quiet --bin rawserve)
  RAWSERVE=$REPO/target/release/rawserve
fi
[ -x "$RAWSERVE" ] || { log "load.sh: no rawserve binary at $RAWSERVE"; exit 2; }

ROOT=$TMP/www
mkdir -p "$ROOT"
# Deterministic content: a repeating line, cut to the exact size.
make_file() { # path bytes
  head -c "$2" <(yes 'rawserve load test: the quick brown fox jumps over the lazy dog 0123456789') >"$1"
  [ "$(stat -c %s "$1")" = "$2" ] || { log "load.sh: could not write $1"; exit 2; }
}
make_file "$ROOT/1k.html" 1024
make_file "$ROOT/64k.html" 65536
make_file "$ROOT/10m.bin" 10485760
make_file "$ROOT/index.html" 1024

# A port outside the ephemeral range (so a client's port can never take it), free now.
# (`port_in_use` reads the table whole first: `grep -q` quitting early in a pipeline would be
# a SIGPIPE, which pipefail turns into "not found".)
used_ports() { cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR>1 {split($2, a, ":"); print a[2]}'; }
port_in_use() { local ports; ports=$(used_ports); grep -qx "$(printf '%04X' "$1")" <<<"$ports"; }
free_port() {
  local lo=20000 hi=32000 port eph_lo
  read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range || eph_lo=32768
  [ "$hi" -lt "$eph_lo" ] || hi=$((eph_lo - 1))
  for _ in $(seq 1 200); do
    port=$((lo + RANDOM % (hi - lo)))
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  return 1
}

# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------
declare -A PORT PIDS LABEL_OF
wait_port() { # port pid name
  for _ in $(seq 1 100); do
    if port_in_use "$1"; then return 0; fi
    kill -0 "$2" 2>/dev/null || { log "load.sh: $3 exited at start:"; cat "$TMP/$3.log" >&2; exit 2; }
    sleep 0.1
  done
  log "load.sh: $3 did not listen on port $1 within 10 s"
  cat "$TMP/$3.log" >&2
  exit 2
}

start_rawserve() { # key threads-or-empty
  local key=$1 threads=$2 port pid args=()
  port=$(free_port)
  [ -z "$threads" ] || args=(--threads "$threads")
  RUST_LOG=warn "${PIN_SRV[@]}" "$RAWSERVE" --bind 127.0.0.1 --port "$port" "${args[@]}" "$ROOT" \
    >"$TMP/$key.log" 2>&1 &
  pid=$!
  STARTED+=("$pid")
  wait_port "$port" "$pid" "$key"
  PORT[$key]=$port
  PIDS[$key]=$pid
}

loops_of() { # pid: how many event-loop threads rawserve started
  local n=0 task comm
  for task in /proc/"$1"/task/*; do
    read -r comm <"$task/comm" || continue
    [[ $comm == rawserve-loop* ]] && n=$((n + 1))
  done
  echo "$n"
}

start_nginx() {
  local port pid
  port=$(free_port)
  # Keep-alive on (nginx's default 75 s) for the -ka scenarios; a request that says
  # `Connection: close` is closed after its response exactly as with keepalive_timeout 0.
  write_nginx_conf "$TMP/nginx" "$port" "$ROOT" 75
  "$NGINX" -t -q -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" || {
    log "load.sh: nginx refused the config:"
    cat "$TMP/nginx.log" >&2
    exit 2
  }
  "${PIN_SRV[@]}" "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" \
    >>"$TMP/nginx.log" 2>&1 &
  pid=$!
  STARTED+=("$pid")
  wait_port "$port" "$pid" nginx
  PORT[nginx]=$port
  PIDS[nginx]=$pid
}

# h2o: one worker thread (num-threads 1, like nginx's one worker), keep-alive at its default,
# no access log, no compression; as root it must be told to stay root to read the temp dir.
start_h2o() {
  local port pid dir=$TMP/h2o
  port=$(free_port)
  mkdir -p "$dir"
  {
    [ "$(id -u)" != 0 ] || echo "user: root"
    cat <<EOF
listen:
  host: 127.0.0.1
  port: $port
num-threads: 1
max-connections: 8192
pid-file: $dir/h2o.pid
error-log: $dir/error.log
file.send-compressed: OFF
hosts:
  default:
    paths:
      /:
        file.dir: $ROOT
EOF
  } >"$dir/h2o.conf"
  "$H2O" -t -c "$dir/h2o.conf" >"$TMP/h2o.log" 2>&1 || {
    log "load.sh: h2o refused the config:"
    cat "$TMP/h2o.log" >&2
    exit 2
  }
  "${PIN_SRV[@]}" "$H2O" -c "$dir/h2o.conf" >>"$TMP/h2o.log" 2>&1 &
  pid=$!
  STARTED+=("$pid")
  wait_port "$port" "$pid" h2o
  PORT[h2o]=$port
  PIDS[h2o]=$pid
}

# benches/floor.c, with a head as long as rawserve's answer for /1k.html (same bytes on the wire).
start_floor() {
  local port pid head
  "$CC" -O2 -o "$TMP/floor" "$HERE/floor.c" || { log "load.sh: cc could not build benches/floor.c"; exit 2; }
  head=$(head_bytes "${PORT[rawserve]}" /1k.html)
  [[ $head =~ ^[0-9]+$ ]] || { log "load.sh: could not read the length of rawserve's head for /1k.html"; exit 2; }
  port=$(free_port)
  "${PIN_SRV[@]}" "$TMP/floor" "$port" "$head" >"$TMP/floor.log" 2>&1 &
  pid=$!
  STARTED+=("$pid")
  wait_port "$port" "$pid" floor
  PORT[floor]=$port
  PIDS[floor]=$pid
}

# The length of a server's response head for PATH, blank line included.
head_bytes() { # port path
  "$PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % sys.argv[2].encode())
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.index(b"\r\n\r\n") + 4 if b"\r\n\r\n" in data else "none")
EOF
}

# A server's process and its children (nginx's master and worker; h2o's crash-report helper).
server_pids() { # key
  local master=${PIDS[$1]}
  echo "$master"
  cat /proc/"$master"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$' || true
}

cpu_ticks() { # pids... -> utime+stime summed
  local total=0 pid line rest
  for pid in "$@"; do
    read -r line <"/proc/$pid/stat" || continue
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
user_ticks() { # pids... -> utime summed (the part spent in the server's own code)
  local total=0 pid line rest
  for pid in "$@"; do
    read -r line <"/proc/$pid/stat" || continue
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12}))
  done
  echo "$total"
}

# Peak RSS: reset each process's high-water mark before a run (clear_refs 5), read VmHWM after.
reset_peak() { local pid; for pid in "$@"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || RSS_RESET=no; done; }
peak_kib() { local pid; for pid in "$@"; do awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; done | awk '{s += $1} END {print s + 0}'; }
# Per-core time from /proc/stat: how busy each core was, including with other people's work.
core_times() { awk '/^cpu[0-9]+ / {printf "%s%s", sep, $0; sep = ";"}' /proc/stat; }
# The kernel threads that run network softirq work a core could not finish inline: on
# loopback, part of every connection's TCP work lands there, charged to no server process.
ksoftirqd_pid() { local d; for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = "ksoftirqd/$1" ] && { echo "${d#/proc/}"; return; }; done; }
KSIRQ_SRV=$( [ -n "${SRV_CORE:-}" ] && ksoftirqd_pid "$SRV_CORE" || true)
KSIRQ_GEN=$( [ -n "${GEN_CORE:-}" ] && ksoftirqd_pid "$GEN_CORE" || true)
ksirq_ticks() { if [ -n "$1" ]; then cpu_ticks "$1"; else echo 0; fi; }
# TCP segments sent on the machine (loopback: both directions of every connection).
out_segs() { awk '/^Tcp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) if ($i == "OutSegs") col = i; if (n == 2) print $col}' /proc/net/snmp; }
timewait() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "tw") print $(i + 1)}' /proc/net/sockstat; }
RSS_RESET=yes

start_rawserve rawserve ""
# The listener is bound before the loops start: wait for them to be counted.
for _ in $(seq 1 50); do
  DEFAULT_LOOPS=$(loops_of "${PIDS[rawserve]}")
  [ "$DEFAULT_LOOPS" = 0 ] || break
  sleep 0.1
done
if [ -z "${EXTRA_THREADS:-}" ]; then
  if [ "$DEFAULT_LOOPS" = 1 ]; then EXTRA_THREADS=$CORES; else EXTRA_THREADS=1; fi
fi
[ "$EXTRA_THREADS" != none ] || EXTRA_THREADS=""
SERVERS=(rawserve)
for n in $EXTRA_THREADS; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { log "load.sh: EXTRA_THREADS takes thread counts, not '$n'"; exit 2; }
  start_rawserve "rawserve-t$n" "$n"
  SERVERS+=("rawserve-t$n")
  LABEL_OF[rawserve-t$n]="rawserve --threads $n"
done
for peer in $PEERS; do
  "start_$peer"
  SERVERS+=("$peer")
done
LABEL_OF[rawserve]="rawserve ($DEFAULT_LOOPS loop$([ "$DEFAULT_LOOPS" = 1 ] || echo s), default)"
LABEL_OF[nginx]="nginx (1 worker)"
LABEL_OF[h2o]="h2o (1 thread)"
LABEL_OF[floor]="C floor (benches/floor.c)"

scenario_path() { case $1 in 1k | c1 | c1000 | 1k-ka | c1-ka) echo /1k.html ;; 64k) echo /64k.html ;; 10m) echo /10m.bin ;; esac; }
scenario_conns() { case $1 in c1 | c1-ka) echo 1 ;; c1000 | c1000-long) echo 1000 ;; *) echo 50 ;; esac; }
# The -ka scenarios send no `Connection` header (keep-alive where the server allows it).
scenario_keepalive() { [[ $1 == *-ka ]]; }
# The floor answers every path with its fixed 1 KiB: it runs only where that is the file asked for.
serves() { [ "$1" != floor ] || [ "$(scenario_path "$2")" = /1k.html ]; }

# Every server must serve the same bytes before anything is measured.
for key in "${SERVERS[@]}"; do
  files=(1k.html 64k.html 10m.bin)
  [ "$key" != floor ] || files=(1k.html)
  for f in "${files[@]}"; do
    got=$(
      exec 3<>"/dev/tcp/127.0.0.1/${PORT[$key]}"
      printf 'GET /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$f" >&3
      head -c 200 <&3 | head -n 1 | tr -d '\r' || true
    )
    [[ $got == "HTTP/1.1 200"* ]] || { log "load.sh: ${LABEL_OF[$key]} answered '$got' for /$f"; exit 2; }
  done
done

# ---------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------
RUNS=$TMP/runs.tsv
printf 'round\tscenario\tgen\tserver\tconns\tduration\twall\tsrv_ticks\tgen_stat\trss_kib\ttw_before\tcores_before\tcores_after\tksoftirqd_srv\tksoftirqd_gen\tsrv_user_ticks\tsegs\tout\n' >"$RUNS"
CLK_TCK=$(getconf CLK_TCK)
run_one() { # round scenario gen key duration
  local round=$1 scenario=$2 gen=$3 key=$4 dur=$5
  local conns url out statf pids t0 t1 c0 c1 u0 u1 tw k0 k1 s0 s1 g0 g1 o0 o1 rc=0
  conns=$(scenario_conns "$scenario")
  url="http://127.0.0.1:${PORT[$key]}$(scenario_path "$scenario")"
  out="$TMP/out.$round.$scenario.$gen.$key"
  statf="$out.genstat"
  mapfile -t pids < <(server_pids "$key")
  tw=$(timewait)
  reset_peak "${pids[@]}"
  c0=$(cpu_ticks "${pids[@]}")
  u0=$(user_ticks "${pids[@]}")
  o0=$(out_segs)
  k0=$(core_times)
  s0=$(ksirq_ticks "$KSIRQ_SRV")
  g0=$(ksirq_ticks "$KSIRQ_GEN")
  t0=$(date +%s.%N)
  # Close scenarios: wrk -H 'Connection: close', oha --disable-keepalive (which also sends it).
  local close_args=()
  case $gen in
    wrk)
      scenario_keepalive "$scenario" || close_args=(-H "Connection: close")
      # One wrk thread: the generator has one core.
      timeout $((dur + 30)) "${PIN_GEN[@]}" bash -c \
        '"$1" -t1 -c"$2" -d"$3"s --timeout 5s --latency "${@:7}" "$4" >"$5" 2>&1; rc=$?
         read -r s </proc/$$/stat; echo "$s" >"$6"; exit $rc' \
        _ "$WRK" "$conns" "$dur" "$url" "$out" "$statf" "${close_args[@]}" || rc=$?
      ;;
    oha)
      scenario_keepalive "$scenario" || close_args=(--disable-keepalive)
      timeout $((dur + 30)) "${PIN_GEN[@]}" bash -c \
        '"$1" -z "$3"s -c "$2" "${@:7}" --no-tui --output-format json "$4" >"$5" 2>"$5.err"; rc=$?
         read -r s </proc/$$/stat; echo "$s" >"$6"; exit $rc' \
        _ "$OHA" "$conns" "$dur" "$url" "$out" "$statf" "${close_args[@]}" || rc=$?
      ;;
  esac
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "${pids[@]}")
  u1=$(user_ticks "${pids[@]}")
  o1=$(out_segs)
  k1=$(core_times)
  s1=$(ksirq_ticks "$KSIRQ_SRV")
  g1=$(ksirq_ticks "$KSIRQ_GEN")
  [ "$rc" = 0 ] || log "  warning: $gen exited with status $rc (see its output in the table's errors)"
  [ -s "$statf" ] || echo "0 (x) S 0 0 0 0 0 0 0 0 0 0 0 0 0 0" >"$statf"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$scenario" "$gen" "$key" "$conns" "$dur" \
    "$(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.3f", a - b}')" \
    "$((c1 - c0))" "$(cat "$statf")" "$(peak_kib "${pids[@]}")" "$tw" "$k0" "$k1" "$((s1 - s0))" "$((g1 - g0))" "$((u1 - u0))" "$((o1 - o0))" "$out" >>"$RUNS"
  "$PYTHON" "$HERE/load_report.py" --progress "$RUNS" "$CLK_TCK" "${SRV_CORE:-}:${GEN_CORE:-}" >&2 || true
  sleep "$PAUSE"
}

log ""
for key in "${SERVERS[@]}"; do log "${LABEL_OF[$key]} on 127.0.0.1:${PORT[$key]}, pid ${PIDS[$key]}"; done
log "pinning: $PINNING; $ROUNDS rounds x $DURATION s; scenarios: $SCENARIOS; generators: $GENERATORS"
pairs=0
for scenario in $SCENARIOS; do for key in "${SERVERS[@]}"; do serves "$key" "$scenario" && pairs=$((pairs + 1)); done; done
total_runs=$((ROUNDS * pairs * $(wc -w <<<"$GENERATORS")))
log "$total_runs runs, about $((total_runs * (DURATION + PAUSE + 1) / 60 + 1)) minutes$([ "$LONG" = 1 ] && echo ", plus ${#SERVERS[@]} x $LONG_DURATION s long runs")"

# Warm up: page cache, first-touch allocations, TCP state.
for key in "${SERVERS[@]}"; do
  [ -z "$WRK" ] || "${PIN_GEN[@]}" "$WRK" -t1 -c10 -d1s -H 'Connection: close' "http://127.0.0.1:${PORT[$key]}/1k.html" >/dev/null 2>&1 || true
done

for round in $(seq 1 "$ROUNDS"); do
  # Rotate the order of the servers each round, so none always runs first or after the same one.
  order=()
  for i in "${!SERVERS[@]}"; do order+=("${SERVERS[$(((i + round - 1) % ${#SERVERS[@]}))]}"); done
  for scenario in $SCENARIOS; do
    for gen in $GENERATORS; do
      for key in "${order[@]}"; do
        serves "$key" "$scenario" || continue
        run_one "$round" "$scenario" "$gen" "$key" "$DURATION"
      done
    done
  done
done
if [ "$LONG" = 1 ]; then
  for key in "${SERVERS[@]}"; do
    [ "$key" != floor ] || continue
    run_one long c1000-long wrk "$key" "$LONG_DURATION"
  done
fi

# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------
{
  echo "machine=$CORES cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r)"
  echo "versions=rawserve $("$RAWSERVE" --version | awk '{print $2}'); $(has_peer nginx && "$NGINX" -v 2>&1 | sed 's/^nginx version: //'); $(has_peer h2o && "$H2O" --version 2>&1 | head -n 1 | sed 's/ version / /'); $(has_peer floor && "$CC" --version | head -n 1); $([ -z "$WRK" ] || "$WRK" -v 2>&1 | head -n 1 | awk '{print "wrk " $2}'); $([ -z "$OHA" ] || "$OHA" --version 2>&1 | head -n 1)"
  echo "pinning=$PINNING"
  echo "cores=${SRV_CORE:-}:${GEN_CORE:-}"
  echo "settings=ROUNDS=$ROUNDS DURATION=$DURATION LONG=$LONG; 1k/64k/10m at 50 connections, c1 = 1 connection, c1000 = 1000 connections: every request 'Connection: close'; 1k-ka (50 connections) and c1-ka (1) without a Connection header: nginx and h2o keep the connection, rawserve and the floor close it"
  echo "rss_reset=$RSS_RESET"
  for key in "${SERVERS[@]}"; do echo "label.$key=${LABEL_OF[$key]}"; done
  echo "kernel=tcp_max_tw_buckets=$(cat /proc/sys/net/ipv4/tcp_max_tw_buckets) somaxconn=$(cat /proc/sys/net/core/somaxconn) tcp_tw_reuse=$(cat /proc/sys/net/ipv4/tcp_tw_reuse) ip_local_port_range=$(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range)"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average at the end)"
} >"$TMP/meta"
"$PYTHON" "$HERE/load_report.py" "$RUNS" "$CLK_TCK" "$TMP/meta"
for key in "${SERVERS[@]}"; do
  if grep -qiE 'panic|error' "$TMP/$key.log" 2>/dev/null; then
    log "note: ${LABEL_OF[$key]} logged errors:"
    grep -iE 'panic|error' "$TMP/$key.log" | sort | uniq -c | sort -rn | head -n 5 >&2
  fi
done
# h2o's error log also says when it started; anything else is worth a look.
h2o_notes=$(grep -vE '^\[INFO\]|is ready to serve requests' "$TMP/h2o/error.log" 2>/dev/null || true)
if [ -n "$h2o_notes" ]; then
  log "note: h2o's error log (top lines):"
  sort <<<"$h2o_notes" | uniq -c | sort -rn | head -n 5 >&2
fi
if [ -s "$TMP/nginx/error.log" ]; then
  log "note: nginx's error log (top lines):"
  sed -E 's/^[0-9\/: ]+//; s/[0-9]+#[0-9]+: \*[0-9]+ //' "$TMP/nginx/error.log" | sort | uniq -c | sort -rn | head -n 5 >&2
fi
