# bench/lib.sh: helpers for the bench scripts (sourced). Starts private
# stacks on free loopback ports, runs wrk, reads memory from /proc.
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FOLIO_BIN="${FOLIO_BIN:-$BENCH_ROOT/build/bin}"
BENCH_SECONDS="${BENCH_SECONDS:-10}"
BENCH_RUNS="${BENCH_RUNS:-3}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# start_stack DIR [VAR=value...]: runs scripts/start in the background with
# DIR as its data/log/run root; sets STACK_PID and STACK_PORT.
start_stack() {
  local dir="$1"; shift
  mkdir -p "$dir"; chmod 0755 "$dir"
  STACK_PORT="$(free_port)"
  env PORT="$STACK_PORT" TLS_PORT="$(free_port)" LISTEN_ADDR=127.0.0.1 DATA_DIR="$dir/data" LOG_DIR="$dir/logs" \
      RUN_DIR="$dir/run" FOLIO_BIN="$FOLIO_BIN" RATE_LIMIT_RPS=1000000 RATE_LIMIT_BURST=1000000 CLIENT_RPM=0 CLIENT_EXPENSIVE_RPM=0 CLIENT_MAX_CONCURRENT=0 MAX_CONCURRENT_LLM=256 \
      PROBE_RATE_LIMIT_RPS=1000000 PROBE_RATE_LIMIT_BURST=1000000 CLIENT_SESSIONS_PER_MIN=0 \
      CONN_LIMIT_PER_IP=60000 "$@" setsid "$BENCH_ROOT/scripts/start" >"$dir/start.log" 2>&1 &
  STACK_PID=$!
}

# wait_http URL CODE TIMEOUT_S: polls until URL answers CODE.
wait_http() {
  local deadline=$(( $(now_ms) + $3 * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.005
  done
  return 1
}

stop_stack() {
  [ -n "${STACK_PID:-}" ] || return 0
  kill -TERM "$STACK_PID" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$STACK_PID" 2>/dev/null || true
  wait "$STACK_PID" 2>/dev/null || true
  STACK_PID=""
}

descendants() {  # every process below PID
  local kids; kids="$(pgrep -P "$1" || true)"
  for k in $kids; do echo "$k"; descendants "$k"; done
}

pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# to_ms "263.00us" → 0.263
to_ms() { awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n*=1; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'; }

median() { sort -g | awk '{a[NR]=$1} END { if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }

# run_wrk URL CONNS [wrk args...]: BENCH_RUNS runs of BENCH_SECONDS; prints
# "rps p50_ms p99_ms" medians.
run_wrk() {
  local url="$1" conns="$2"; shift 2
  local rps=() p50=() p99=()
  for _ in $(seq 1 "$BENCH_RUNS"); do
    local out; out="$(wrk -t1 -c"$conns" -d"${BENCH_SECONDS}s" --latency "$@" "$url" 2>&1)"
    rps+=("$(echo "$out" | awk '/Requests\/sec/ {print $2}')")
    p50+=("$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")")
    p99+=("$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")")
  done
  echo "$(printf '%s\n' "${rps[@]}" | median) $(printf '%s\n' "${p50[@]}" | median) $(printf '%s\n' "${p99[@]}" | median)"
}

# post_lua FILE BODY: a wrk script that POSTs BODY as JSON.
post_lua() {
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
LUA
}

machine_line() {
  echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, wrk -t1, median of $BENCH_RUNS × ${BENCH_SECONDS} s"
}
