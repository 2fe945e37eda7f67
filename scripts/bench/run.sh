#!/usr/bin/env bash
# run.sh - the echo benchmark harness behind `deno task bench` (scripts/bench_echo.ts and
# scripts/bench_engines.ts configure it through the environment): build the echo-server
# anchors and the load client (build.sh, with the system's C compiler), run a configurable
# benchmark matrix on loopback only, and print Markdown tables.
#
#   ./run.sh                      full matrix (17–20 minutes on 2 cores)
#   QUICK=1 ./run.sh              smoke test (1 rep, short runs)
#   TESTS="tcp" TCP_SERVERS="c-epoll node" REPS=5 ./run.sh
#
# Adding a server (e.g. a future Deno/TypeScript echo tool): give it a name, list it,
# and describe its command line with {PORT} and {HOST} placeholders:
#   TCP_SERVERS="c-epoll mytool" \
#   TCP_CMD_mytool='deno run --allow-net=127.0.0.1 /path/echo.ts --port {PORT} --host {HOST}' ./run.sh
# (UDP servers: UDP_SERVERS and UDP_CMD_<name>; '-' in a name becomes '_' in the variable.)
# The command must stay in the foreground and echo on HOST:PORT; run.sh starts it in its
# own process group and stops that group only.
#
# Every knob is an environment variable; see the CONFIG block below.  Results (raw
# key=value lines, server logs, the Markdown report) go to $OUT.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------- CONFIG
if [[ ${QUICK:-0} == 1 ]]; then   # smoke-test defaults; explicit settings still win
  : "${REPS:=1}" "${DUR:=2}" "${WARMUP:=0.5}" "${BULK_MIB:=256}" "${BULK_MAX_S:=5}" "${IDLE_CONNS:=200}" "${IDLE_HOLD:=1}"
fi
BUILD=${BUILD:-${TMPDIR:-/tmp}/echo-bench/build}
NODE=${NODE:-$(command -v node || echo node)}
DENO=${DENO:-$(command -v deno || echo deno)}
HOST=${HOST:-127.0.0.1}                 # 127.0.0.1 or ::1 (anything else is refused)
REPS=${REPS:-5}                          # repetitions of tcp/udp load runs; tables show medians
AUX_REPS=${AUX_REPS:-3}                  # repetitions of idle, iperf3, sockperf (at most REPS)
DUR=${DUR:-5}                            # measured seconds per ping-pong run
WARMUP=${WARMUP:-1}                      # unrecorded warm-up seconds before DUR
SIZE=${SIZE:-64}                         # ping-pong message size, bytes
CONNS=${CONNS:-"1 64"}                   # TCP ping-pong concurrency levels
SETUP_S=${SETUP_S:-5}                    # max seconds to open connections before measuring
BULK_MIB=${BULK_MIB:-2048}               # bulk: MiB streamed through the echo
BULK_MAX_S=${BULK_MAX_S:-12}             # bulk: time cap, seconds
UDP_TIMEOUT_MS=${UDP_TIMEOUT_MS:-200}    # udp: a datagram unanswered this long is lost
IDLE_CONNS=${IDLE_CONNS:-1000}           # idle test: connections held open
IDLE_HOLD=${IDLE_HOLD:-2}                # idle test: seconds they are held
# One fd per idle connection on each side, and the C anchors and the client do not raise their
# own limit: the soft open-file limit goes up to the hard one (sockbox raises its own).
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
TCP_SERVERS=${TCP_SERVERS:-"c-epoll c-iter node deno-loop deno-pipe socat-exec socat-pipe ncat-exec"}
UDP_SERVERS=${UDP_SERVERS:-"c-udp node-udp deno-udp socat-udp socat-udp-rf"}
IDLE_SERVERS=${IDLE_SERVERS:-"c-epoll node deno-loop deno-pipe socat-exec socat-pipe ncat-exec"}
TESTS=${TESTS:-"tcp udp idle iperf3 sockperf"}
CPU_SERVER=${CPU_SERVER:-1}              # every server process/thread is pinned here
CPU_CLIENT=${CPU_CLIENT:-0}              # the load client (single-threaded) is pinned here
BASE_PORT=${BASE_PORT:-20000}
OUT=${OUT:-${TMPDIR:-/tmp}/echo-bench/results/$(date +%Y%m%d-%H%M%S)}
REPORT=${REPORT:-}                       # optional extra copy of the Markdown report
KEEP_ENV=${KEEP_ENV:-0}                  # 1: servers inherit this shell's environment
STEAL_MAX=${STEAL_MAX:-5}                # a load run during which the hypervisor stole more than
STEAL_RETRIES=${STEAL_RETRIES:-2}        #   this % of either CPU is recorded as rejected and redone,
STEAL_BUDGET=${STEAL_BUDGET:-20}         #   at most STEAL_RETRIES times per run and STEAL_BUDGET in all
export DENO_NO_UPDATE_CHECK=1

case $HOST in
  127.*|::1) ;;
  *) echo "run.sh: HOST must be a loopback address (127.x.x.x or ::1)" >&2; exit 2 ;;
esac
V6=0; [[ $HOST == *:* ]] && V6=1
BRHOST=$HOST; ((V6)) && BRHOST="[$HOST]"  # bracketed form for socat/deno

mkdir -p "$OUT/logs" "$OUT/tmp"
RAW=$OUT/raw.txt
: >"$RAW"
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- build
log "building into $BUILD"
"$HERE/build.sh" "$BUILD" || { echo "run.sh: build failed" >&2; exit 1; }
CLIENT=$BUILD/echoload

have() { command -v "$1" >/dev/null 2>&1 || [[ -x $1 ]]; }

# ---------------------------------------------------------------- servers
# server_cmd NAME PORT: sets the array CMD; returns 1 for an unknown name
server_cmd() {
  local name=$1 port=$2 var custom
  var="TCP_CMD_${name//-/_}"; custom=${!var:-}
  [[ -z $custom ]] && { var="UDP_CMD_${name//-/_}"; custom=${!var:-}; }
  if [[ -n $custom ]]; then
    custom=${custom//\{PORT\}/$port}
    custom=${custom//\{HOST\}/$HOST}
    CMD=(bash -c "exec $custom")
    return 0
  fi
  local t4=TCP4 u4=UDP4; ((V6)) && { t4=TCP6; u4=UDP6; }
  case $name in
    c-epoll)      CMD=("$BUILD/epoll_echo" "$port" "$HOST") ;;
    c-iter)       CMD=("$BUILD/iter_echo" "$port" "$HOST") ;;
    c-splice)     CMD=("$BUILD/splice_echo" "$port" "$HOST") ;;
    node)         CMD=("$NODE" "$HERE/anchors/node_tcp_echo.mjs" "$port" "$HOST") ;;
    deno-loop)    CMD=("$DENO" run --no-config "--allow-net=$BRHOST" "$HERE/anchors/deno_tcp_echo.ts" "$port" loop "$HOST") ;;
    deno-pipe)    CMD=("$DENO" run --no-config "--allow-net=$BRHOST" "$HERE/anchors/deno_tcp_echo.ts" "$port" pipe "$HOST") ;;
    socat-exec)   CMD=(socat "$t4-LISTEN:$port,bind=$BRHOST,fork,reuseaddr" EXEC:cat) ;;
    socat-pipe)   CMD=(socat "$t4-LISTEN:$port,bind=$BRHOST,fork,reuseaddr" PIPE) ;;
    ncat-exec)    CMD=(ncat -l "$HOST" "$port" -k --max-conns 2000 --exec /bin/cat) ;;
    c-udp)        CMD=("$BUILD/udp_echo" "$port" "$HOST") ;;
    node-udp)     CMD=("$NODE" "$HERE/anchors/node_udp_echo.mjs" "$port" "$HOST") ;;
    deno-udp)     CMD=("$DENO" run --no-config --unstable-net "--allow-net=$BRHOST" "$HERE/anchors/deno_udp_echo.ts" "$port" "$HOST") ;;
    socat-udp)    CMD=(socat "$u4-LISTEN:$port,bind=$BRHOST,fork,reuseaddr" PIPE) ;;
    socat-udp-rf) CMD=(socat "$u4-RECVFROM:$port,bind=$BRHOST,fork" PIPE) ;;
    *) return 1 ;;
  esac
}

STARTED=()   # process-group ids of everything this script launched
CLIENTS=()   # background client pids
cleanup() {
  local p
  for p in "${CLIENTS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${STARTED[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

kv() { # kv KEY "line of key=value pairs"
  local k=$1 w
  for w in $2; do [[ $w == "$k="* ]] && { echo "${w#*=}"; return; }; done
}

# start_server tcp|udp|raw NAME PORT [cmd...]: sets SPID and STARTUP_MS.
# The launcher execs the server in its own process group, pinned to CPU_SERVER, after
# forking a probe that measures the time to the first successful echo.
start_server() {
  local kind=$1 name=$2 port=$3; shift 3
  if (($#)); then CMD=("$@"); else server_cmd "$name" "$port" || { log "unknown server $name"; return 1; }; fi
  local st=$OUT/tmp/startup.$name.$port flags=()
  rm -f "$st"
  case $kind in udp) flags=(-u) ;; raw) flags=(-N) ;; esac
  echo "# $(date +%T) $kind $name: ${CMD[*]}" >>"$OUT/logs/$name.log"
  # Servers get a minimal environment by default: e.g. NODE_EXTRA_CA_CERTS, set in some
  # sandboxes, makes node parse a CA bundle at startup (+~120 ms, +2 MB).
  ((KEEP_ENV)) || CMD=(env -i "PATH=$PATH" "HOME=$HOME" DENO_NO_UPDATE_CHECK=1 "${CMD[@]}")
  taskset -c "$CPU_CLIENT" "$CLIENT" launch "${flags[@]}" -h "$HOST" -p "$port" -C "$CPU_SERVER" -d 20 -o "$st" \
    -- "${CMD[@]}" </dev/null >>"$OUT/logs/$name.log" 2>&1 &
  SPID=$!
  STARTED+=("$SPID")
  STARTUP_MS=""
  if [[ $kind == raw ]]; then sleep 0.5; kill -0 "$SPID" 2>/dev/null; return; fi
  local i
  for ((i = 0; i < 440; i++)); do   # at most 22 s
    [[ -s $st ]] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  local line; line=$(cat "$st" 2>/dev/null)
  if [[ $(kv startup_ok "$line") != 1 ]]; then
    log "$name did not answer on port $port (see $OUT/logs/$name.log)"
    stop_server "$SPID"
    return 1
  fi
  STARTUP_MS=$(kv startup_ms "$line")
}

stop_server() { # TERM the group, wait up to 2 s, then KILL what is left of it
  local pg=$1 i
  kill -TERM -- "-$pg" 2>/dev/null
  for ((i = 0; i < 40; i++)); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.05; done
  kill -KILL -- "-$pg" 2>/dev/null
  wait "$pg" 2>/dev/null
  local kept=() p
  for p in "${STARTED[@]}"; do [[ $p != "$pg" ]] && kept+=("$p"); done
  STARTED=("${kept[@]}")
}

cpu_ticks() { # "total idle steal" ticks of CPU $1 (idle includes iowait)
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $5 + $6, $9 }' /proc/stat
}
# client ARGS...: run the load client pinned to CPU_CLIENT; append how busy each CPU was
# and the share of time the hypervisor stole from it during the run (noise indicator)
client() {
  local s0 c0 s1 c1 out
  s0=$(cpu_ticks "$CPU_SERVER"); c0=$(cpu_ticks "$CPU_CLIENT")
  out=$(taskset -c "$CPU_CLIENT" "$CLIENT" "$@" -h "$HOST")
  s1=$(cpu_ticks "$CPU_SERVER"); c1=$(cpu_ticks "$CPU_CLIENT")
  echo "$out $(awk -v a="$s0" -v b="$s1" -v c="$c0" -v d="$c1" '
    function pct(p, q, f,   x, y) { split(p, x, " "); split(q, y, " "); if (y[1] <= x[1]) return 0
      if (f == "busy") return (y[1] - x[1] - (y[2] - x[2]) - (y[3] - x[3])) * 100 / (y[1] - x[1])
      return (y[3] - x[3]) * 100 / (y[1] - x[1]) }
    BEGIN { printf "srv_busy_pct=%.0f cli_busy_pct=%.0f steal_srv_pct=%.1f steal_cli_pct=%.1f",
            pct(a, b, "busy"), pct(c, d, "busy"), pct(a, b, "steal"), pct(c, d, "steal") }')"
}
record() { echo "server=$1 test=$2 rep=$3 $4" >>"$RAW"; }
REDONE=0

# measure NAME TEST REP CLIENT_ARGS...: run the client; while the hypervisor stole more
# than STEAL_MAX % of a CPU, record the run as TEST-rejected and redo it (bounded)
measure() {
  local name=$1 test=$2 rep=$3 try out worst; shift 3
  for ((try = 0; ; try++)); do
    out=$(client "$@" 2>>"$OUT/logs/client.log")
    worst=$(awk '{ m = 0; for (i = 1; i <= NF; i++) if ($i ~ /^steal_(srv|cli)_pct=/) { split($i, a, "="); if (a[2] + 0 > m) m = a[2] + 0 } print m }' <<<"$out")
    if ((try >= STEAL_RETRIES || REDONE >= STEAL_BUDGET)) || awk -v w="$worst" -v m="$STEAL_MAX" 'BEGIN { exit !(w <= m) }'; then break; fi
    REDONE=$((REDONE + 1))
    record "$name" "$test-rejected" "$rep" "$out"
    log "  $name $test: ${worst}% steal, redoing"
    sleep 3
  done
  record "$name" "$test" "$rep" "$out retries=$try"
}
idx_of() { local n=$1 i=0 x; shift; for x in "$@"; do [[ $x == "$n" ]] && { echo $i; return; }; i=$((i + 1)); done; echo 0; }

# ---------------------------------------------------------------- tests
run_tcp() { # rep
  local rep=$1 name port c out
  local -a names=($TCP_SERVERS)
  for name in "${names[@]}"; do
    port=$((BASE_PORT + 10 * $(idx_of "$name" "${names[@]}") + rep))
    log "tcp rep $rep: $name on port $port"
    if ! start_server tcp "$name" "$port"; then record "$name" start "$rep" "failed=1"; continue; fi
    record "$name" startup "$rep" "startup_ms=$STARTUP_MS"
    for c in $CONNS; do
      measure "$name" "pp$c" "$rep" pp -p "$port" -c "$c" -s "$SIZE" -d "$DUR" -w "$WARMUP" -S "$SETUP_S"
    done
    measure "$name" bulk "$rep" bulk -p "$port" -m "$BULK_MIB" -d "$BULK_MAX_S"
    sleep 0.3   # let per-connection children of forking servers exit
    record "$name" mem "$rep" "$("$CLIENT" mem -g "$SPID")"
    stop_server "$SPID"
  done
}

run_udp() {
  local rep=$1 name port out
  local -a names=($UDP_SERVERS)
  for name in "${names[@]}"; do
    port=$((BASE_PORT + 500 + 10 * $(idx_of "$name" "${names[@]}") + rep))
    log "udp rep $rep: $name on port $port"
    if ! start_server udp "$name" "$port"; then record "$name" ustart "$rep" "failed=1"; continue; fi
    record "$name" ustartup "$rep" "startup_ms=$STARTUP_MS"
    measure "$name" udp "$rep" udp -p "$port" -s "$SIZE" -d "$DUR" -w "$WARMUP" -t "$UDP_TIMEOUT_MS"
    record "$name" umem "$rep" "$("$CLIENT" mem -g "$SPID")"
    stop_server "$SPID"
  done
}

run_idle() {
  local rep=$1 name port out before after ready cpid i
  local -a names=($IDLE_SERVERS)
  for name in "${names[@]}"; do
    port=$((BASE_PORT + 1000 + 10 * $(idx_of "$name" "${names[@]}") + rep))
    log "idle rep $rep: $name on port $port, $IDLE_CONNS connections"
    if ! start_server tcp "$name" "$port"; then record "$name" istart "$rep" "failed=1"; continue; fi
    sleep 0.3
    before=$("$CLIENT" mem -g "$SPID")
    ready=$OUT/tmp/ready.$name.$rep
    rm -f "$ready"
    taskset -c "$CPU_CLIENT" "$CLIENT" idle -h "$HOST" -p "$port" -c "$IDLE_CONNS" -H "$IDLE_HOLD" -d 30 -r "$ready" \
      >"$OUT/tmp/idle.out" 2>>"$OUT/logs/client.log" &
    cpid=$!
    CLIENTS+=("$cpid")
    for ((i = 0; i < 700; i++)); do [[ -e $ready ]] && break; kill -0 "$cpid" 2>/dev/null || break; sleep 0.05; done
    sleep 0.3
    after=$("$CLIENT" mem -g "$SPID")
    wait "$cpid"
    CLIENTS=()
    out=$(cat "$OUT/tmp/idle.out")
    record "$name" idle "$rep" "$out $(sed 's/\([a-z_]*\)=/before_\1=/g' <<<"$before") $(sed 's/\([a-z_]*\)=/after_\1=/g' <<<"$after")"
    sleep 0.5
    stop_server "$SPID"
  done
}

run_iperf3() {
  local rep=$1 port=$((BASE_PORT + 1900 + rep)) json
  have iperf3 || { log "iperf3 not installed"; return; }
  log "iperf3 rep $rep on port $port"
  start_server raw iperf3 "$port" iperf3 -s -1 -B "$HOST" -p "$port" || { record iperf3 iperf3 "$rep" "failed=1"; return; }
  json=$(taskset -c "$CPU_CLIENT" iperf3 -c "$HOST" -p "$port" -t "$DUR" -J 2>>"$OUT/logs/iperf3.log")
  record iperf3 iperf3 "$rep" "$(jq -r '"mib_s=\(.end.sum_received.bits_per_second/8/1048576|floor) client_cpu=\(.end.cpu_utilization_percent.host_total|floor) server_cpu=\(.end.cpu_utilization_percent.remote_total|floor)"' <<<"$json" 2>/dev/null)"
  stop_server "$SPID"
}

sockperf_parse() { # sockperf --full-rtt output on stdin -> key=value line
  awk '/Valid Duration/ { for (i = 1; i <= NF; i++) { if ($i ~ /^RunTime=/) { split($i, a, "="); t = a[2] }
                                                      if ($i ~ /^ReceivedMessages=/) { split($i, b, "="); r = b[2] } } }
       /percentile 50.000/ { p50 = $NF } /percentile 99.000/ { p99 = $NF } /percentile 99.900/ { p999 = $NF }
       /dropped messages/ { gsub(/;/, ""); d = $5 }
       END { if (t > 0) printf "rt_s=%.0f p50_us=%s p99_us=%s p999_us=%s dropped=%s\n", r / t, p50, p99, p999, d; else print "failed=1" }'
}

run_sockperf() {
  local rep=$1 proto port flags
  have sockperf || { log "sockperf not installed"; return; }
  for proto in udp tcp; do
    port=$((BASE_PORT + 1950 + rep))
    [[ $proto == tcp ]] && port=$((BASE_PORT + 1960 + rep))
    flags=(); [[ $proto == tcp ]] && flags=(--tcp)
    log "sockperf $proto rep $rep on port $port"
    start_server raw "sockperf-$proto" "$port" sockperf server "${flags[@]}" -i "$HOST" -p "$port" || { record "sockperf-$proto" sockperf "$rep" "failed=1"; continue; }
    record "sockperf-$proto" sockperf "$rep" "$(taskset -c "$CPU_CLIENT" sockperf ping-pong "${flags[@]}" -i "$HOST" -p "$port" -m "$SIZE" -t "$DUR" --full-rtt 2>&1 | sockperf_parse)"
    stop_server "$SPID"
  done
}

# ---------------------------------------------------------------- run
T0=$(date +%s)
log "results in $OUT"
for ((rep = 1; rep <= REPS; rep++)); do
  for t in $TESTS; do
    [[ $t != tcp && $t != udp ]] && ((rep > AUX_REPS)) && continue
    case $t in
      tcp) run_tcp "$rep" ;;
      udp) run_udp "$rep" ;;
      idle) run_idle "$rep" ;;
      iperf3) run_iperf3 "$rep" ;;
      sockperf) run_sockperf "$rep" ;;
      *) log "unknown test $t" ;;
    esac
  done
done
T1=$(date +%s)

# ---------------------------------------------------------------- report
# summary lines: server test key median min max n
awk '{
  s = ""; t = ""
  for (i = 1; i <= NF; i++) { e = index($i, "="); k = substr($i, 1, e - 1); v = substr($i, e + 1)
    if (k == "server") s = v; else if (k == "test") t = v }
  for (i = 1; i <= NF; i++) { e = index($i, "="); k = substr($i, 1, e - 1); v = substr($i, e + 1)
    if (k == "server" || k == "test" || k == "rep") continue
    if (v ~ /^-?[0-9]+(\.[0-9]+)?$/) { key = s SUBSEP t SUBSEP k; n[key]++; vals[key, n[key]] = v + 0 } }
}
END {
  for (key in n) { m = n[key]
    for (i = 1; i <= m; i++) a[i] = vals[key, i]
    for (i = 2; i <= m; i++) { x = a[i]; j = i - 1; while (j >= 1 && a[j] > x) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
    med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    split(key, p, SUBSEP); print p[1], p[2], p[3], med, a[1], a[m], m }
}' "$RAW" | sort >"$OUT/summary.txt"

# get SERVER TEST KEY [med|min|max|n|spread]
get() {
  awk -v s="$1" -v t="$2" -v k="$3" -v f="${4:-med}" '$1 == s && $2 == t && $3 == k {
    if (f == "med") print $4; else if (f == "min") print $5; else if (f == "max") print $6; else if (f == "n") print $7
    else if (f == "spread") { if ($4 != 0) printf "%.0f%%", ($6 - $5) / ($4 < 0 ? -$4 : $4) * 100; else print "0%" } }' "$OUT/summary.txt"
}
fmt() { # fmt VALUE DECIMALS
  [[ -z $1 ]] && { echo "—"; return; }
  awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'
}
cell() { fmt "$(get "$1" "$2" "$3")" "${4:-0}"; }
spr() { local s; s=$(get "$1" "$2" "$3" spread); echo "${s:-—}"; }

report() {
  local name c k line hdr sep
  echo "## Results ($(date -u +%Y-%m-%dT%H:%MZ); median of $REPS reps for tcp/udp, $((AUX_REPS < REPS ? AUX_REPS : REPS)) for idle/iperf3/sockperf)"
  echo
  echo "Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)."
  echo "Versions: node $("$NODE" --version 2>/dev/null), deno $("$DENO" --version 2>/dev/null | awk 'NR == 1 { print $2 }'), socat $(socat -V 2>/dev/null | awk '/socat version/ { print $3; exit }'), ncat $(ncat --version 2>&1 | awk '{ print $3; exit }'), sockperf $(sockperf --version 2>/dev/null | awk '/version/ { print $3; exit }' | tr -d ,), iperf3 $(iperf3 --version 2>/dev/null | awk 'NR == 1 { print $2 }'), cc: $("${CC:-cc}" --version 2>/dev/null | head -n 1)."
  echo "Server pinned to CPU $CPU_SERVER (all its threads and children), client to CPU $CPU_CLIENT; host $HOST."
  echo "Ping-pong: ${SIZE} B, ${WARMUP} s warm-up + ${DUR} s measured; bulk: ${BULK_MIB} MiB (cap ${BULK_MAX_S} s); wall time $((T1 - T0)) s."
  echo "Load runs redone because the hypervisor stole more than ${STEAL_MAX}% of a CPU: $(grep -c -- '-rejected ' "$RAW") (kept in raw.txt as *-rejected; at most $STEAL_RETRIES per run, $STEAL_BUDGET in all)."
  grep -v -- '-rejected ' "$RAW" | awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^steal_srv_pct=/) { split($i, a, "="); s[++n] = a[2] + 0 }
                                    if ($i ~ /^steal_cli_pct=/) { split($i, b, "="); c[++m] = b[2] + 0 } } }
       function med(a, k,   i, j, x) { for (i = 2; i <= k; i++) { x = a[i]; j = i - 1; while (j >= 1 && a[j] > x) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
                                      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
       END { if (n) printf "Hypervisor steal during the %d kept load runs: server CPU median %.1f%% (max %.1f%%), client CPU median %.1f%% (max %.1f%%).\n",
                    n, med(s, n), s[n], med(c, m), c[m] }'
  echo
  if [[ " $TESTS " == *" tcp "* ]]; then
    echo "### TCP"
    echo
    hdr="| server | start ms |"; sep="|---|---:|"
    for c in $CONNS; do hdr+=" ${c}c rt/s | ${c}c p50 µs | ${c}c p99 µs |"; sep+="---:|---:|---:|"; done
    hdr+=" bulk MiB/s | VmHWM MiB | notes |"; sep+="---:|---:|---|"
    echo "$hdr"; echo "$sep"
    for name in $TCP_SERVERS; do
      local notes="" bulk
      line="| $name | $(cell "$name" startup startup_ms 1) |"
      for c in $CONNS; do
        line+=" $(cell "$name" "pp$c" rt_s) | $(cell "$name" "pp$c" p50_us 1) | $(cell "$name" "pp$c" p99_us 1) |"
        k=$(get "$name" "pp$c" stalled_conns max)
        [[ -n $k && $k != 0 ]] && notes+="${c}c: up to $k/$c conns never served; "
      done
      bulk=$(cell "$name" bulk mib_s 0)
      k=$(get "$name" bulk complete min)
      if [[ -n $k && $k == 0 ]]; then
        if awk -v v="$(get "$name" bulk idle_s max)" 'BEGIN { exit !(v > 1) }'; then
          bulk="stalled"
          notes+="bulk: echo stopped flowing after $(fmt "$(get "$name" bulk rcvd_mib min)" 1)–$(fmt "$(get "$name" bulk rcvd_mib max)" 1) MiB of ${BULK_MIB} in $(grep -c "^server=$name test=bulk .* complete=0 " "$RAW")/$(get "$name" bulk complete n) reps; "
        else
          notes+="bulk: ${BULK_MAX_S} s cap reached before ${BULK_MIB} MiB (rate still valid); "
        fi
      fi
      k=$(get "$name" start failed n)
      [[ -n $k ]] && notes+="failed to start in $k rep(s); "
      line+=" $bulk | $(fmt "$(awk -v v="$(get "$name" mem leader_hwm_kb)" 'BEGIN { if (v != "") print v / 1024 }')" 1) | ${notes%; } |"
      echo "$line"
    done
    echo
    echo "VmHWM is the listening process's peak RSS after the runs; socat and ncat fork per connection, so see the idle table for their real cost."
    echo
    echo "Spread over reps, (max−min)/median:"
    echo
    hdr="| server | start |"; sep="|---|---:|"
    for c in $CONNS; do hdr+=" ${c}c rt/s | ${c}c p50 | ${c}c p99 |"; sep+="---:|---:|---:|"; done
    echo "$hdr bulk |"; echo "$sep---:|"
    for name in $TCP_SERVERS; do
      line="| $name | $(spr "$name" startup startup_ms) |"
      for c in $CONNS; do line+=" $(spr "$name" "pp$c" rt_s) | $(spr "$name" "pp$c" p50_us) | $(spr "$name" "pp$c" p99_us) |"; done
      k=$(get "$name" bulk complete min)
      if [[ -n $k && $k == 0 ]]; then echo "$line n/a |"; else echo "$line $(spr "$name" bulk mib_s) |"; fi
    done
    echo
  fi
  if [[ " $TESTS " == *" udp "* ]]; then
    echo "### UDP ping-pong (${SIZE} B, 1 socket, timeout ${UDP_TIMEOUT_MS} ms)"
    echo
    echo "| server | start ms | rt/s | p50 µs | p99 µs | p99.9 µs | lost | late | VmHWM MiB | procs | spread rt/s | spread p99 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for name in $UDP_SERVERS; do
      echo "| $name | $(cell "$name" ustartup startup_ms 1) | $(cell "$name" udp rt_s) | $(cell "$name" udp p50_us 1) | $(cell "$name" udp p99_us 1) | $(cell "$name" udp p999_us 1) | $(cell "$name" udp lost) | $(cell "$name" udp late) | $(fmt "$(awk -v v="$(get "$name" umem leader_hwm_kb)" 'BEGIN { if (v != "") print v / 1024 }')" 1) | $(cell "$name" umem procs) | $(spr "$name" udp rt_s) | $(spr "$name" udp p99_us) |"
    done
    echo
  fi
  if [[ " $TESTS " == *" idle "* ]]; then
    echo "### ${IDLE_CONNS} idle TCP connections (each verified with a 1-byte echo, then held)"
    echo
    echo "| server | conns ok | setup s | procs | PSS before MiB | PSS after MiB | KiB/conn (ΔPSS) | KiB/conn (ΔRSS) | spread ΔPSS |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for name in $IDLE_SERVERS; do
      awk -v s="$name" -v n="$IDLE_CONNS" '
        $0 ~ ("server=" s " test=idle ") {
          for (i = 1; i <= NF; i++) { e = index($i, "="); v[substr($i, 1, e - 1)] = substr($i, e + 1) }
          k++; ok[k] = v["ok"]; su[k] = v["setup_s"]; pr[k] = v["after_procs"]
          pb[k] = v["before_pss_kb"]; pa[k] = v["after_pss_kb"]
          dp[k] = (v["after_pss_kb"] - v["before_pss_kb"]) / n; dr[k] = (v["after_rss_kb"] - v["before_rss_kb"]) / n }
        function med(a, m,   i, j, x, b) { for (i = 1; i <= m; i++) b[i] = a[i]
          for (i = 2; i <= m; i++) { x = b[i]; j = i - 1; while (j >= 1 && b[j] > x) { b[j + 1] = b[j]; j-- } b[j + 1] = x }
          return (m % 2) ? b[(m + 1) / 2] : (b[m / 2] + b[m / 2 + 1]) / 2 }
        function spread(a, m,   i, lo, hi, md) { lo = a[1]; hi = a[1]; for (i = 2; i <= m; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
          md = med(a, m); return (md >= 1 || md <= -1) ? sprintf("%.0f%%", (hi - lo) / (md < 0 ? -md : md) * 100) : "—" }
        END { if (!k) { printf "| %s | — | — | — | — | — | — | — | — |\n", s; exit }
          printf "| %s | %d/%d | %.2f | %d | %.1f | %.1f | %.1f | %.1f | %s |\n", s, med(ok, k), n, med(su, k), med(pr, k),
            med(pb, k) / 1024, med(pa, k) / 1024, med(dp, k), med(dr, k), spread(dp, k) }' "$RAW"
    done
    echo
    if [[ " $TCP_SERVERS " == *" c-iter "* && " $IDLE_SERVERS " != *" c-iter "* ]]; then
      echo "c-iter is left out: it serves one connection at a time, the other $((IDLE_CONNS - 1)) would wait in its accept queue."
      echo
    fi
  fi
  if [[ " $TESTS " == *" iperf3 "* ]]; then
    echo "### Raw loopback TCP limit (iperf3, one stream, ${DUR} s)"
    echo
    echo "| tool | MiB/s (one way) | spread | client CPU % | server CPU % |"
    echo "|---|---:|---:|---:|---:|"
    echo "| iperf3 | $(cell iperf3 iperf3 mib_s) | $(spr iperf3 iperf3 mib_s) | $(cell iperf3 iperf3 client_cpu) | $(cell iperf3 iperf3 server_cpu) |"
    echo
  fi
  if [[ " $TESTS " == *" sockperf "* ]]; then
    echo "### sockperf cross-check (sockperf client ↔ sockperf server, ${SIZE} B, --full-rtt)"
    echo
    echo "| pair | rt/s | p50 µs | p99 µs | p99.9 µs | spread rt/s |"
    echo "|---|---:|---:|---:|---:|---:|"
    for name in sockperf-udp sockperf-tcp; do
      echo "| $name | $(cell "$name" sockperf rt_s) | $(cell "$name" sockperf p50_us 1) | $(cell "$name" sockperf p99_us 1) | $(cell "$name" sockperf p999_us 1) | $(spr "$name" sockperf rt_s) |"
    done
    echo
  fi
  local envp=""; ((KEEP_ENV)) || envp="env -i PATH=\$PATH HOME=\$HOME DENO_NO_UPDATE_CHECK=1 "
  echo "### Exact commands"
  echo
  echo "Each server is started (and timed) by the launcher, which forks the startup probe, moves"
  echo "itself into a new process group, pins itself to CPU $CPU_SERVER and execs the server; the group is"
  echo "stopped with SIGTERM (SIGKILL after 2 s). PORT = $BASE_PORT + offset, different per server and rep."
  echo
  echo '```'
  echo "taskset -c $CPU_CLIENT build/echoload launch [-u] -h $HOST -p PORT -C $CPU_SERVER -d 20 -o STARTUP_FILE -- ${envp}SERVER..."
  for name in $TCP_SERVERS $UDP_SERVERS; do server_cmd "$name" PORT && echo "  $name: ${CMD[*]}"; done
  echo
  echo "# load (client pinned to CPU $CPU_CLIENT)"
  for c in $CONNS; do
    echo "taskset -c $CPU_CLIENT build/echoload pp   -h $HOST -p PORT -c $c -s $SIZE -d $DUR -w $WARMUP -S $SETUP_S"
  done
  echo "taskset -c $CPU_CLIENT build/echoload bulk -h $HOST -p PORT -m $BULK_MIB -d $BULK_MAX_S"
  echo "taskset -c $CPU_CLIENT build/echoload udp  -h $HOST -p PORT -s $SIZE -d $DUR -w $WARMUP -t $UDP_TIMEOUT_MS"
  echo "taskset -c $CPU_CLIENT build/echoload idle -h $HOST -p PORT -c $IDLE_CONNS -H $IDLE_HOLD -d 30 -r READY_FILE"
  echo "build/echoload mem -g SERVER_PGID      # VmHWM of the leader; RSS/PSS summed over the group"
  echo "iperf3 -s -1 -B $HOST -p PORT                     (server, pinned to CPU $CPU_SERVER)"
  echo "taskset -c $CPU_CLIENT iperf3 -c $HOST -p PORT -t $DUR -J"
  echo "sockperf server [--tcp] -i $HOST -p PORT          (server, pinned to CPU $CPU_SERVER)"
  echo "taskset -c $CPU_CLIENT sockperf ping-pong [--tcp] -i $HOST -p PORT -m $SIZE -t $DUR --full-rtt"
  echo '```'
}

report | tee "$OUT/report.md"
[[ -n $REPORT ]] && cp "$OUT/report.md" "$REPORT"
log "done in $((T1 - T0)) s; raw results: $RAW"
