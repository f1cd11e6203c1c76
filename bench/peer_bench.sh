#!/usr/bin/env bash
# bench/peer_bench.sh: folio's cache hits beside two references, alternated
# round by round in one run, every stack behind the same nginx config
# (nginx/, rendered by scripts/start, NGINX_WORKERS=2 on every side) under
# the same supervisord:
#   trivial   bench/trivial_responder.cc: libfcgi, a hash-map lookup, nothing
#             else (the ceiling of this design);
#   folio     POST /api/chat answered from its LMDB cache (the turn stored in
#             a new session, durably, before the answer goes out);
#   fastapi   bench/peer/fastapi_app.py on uvicorn (uvloop + httptools), one
#             process per pool slot, nginx → uvicorn over HTTP/1.1 with kept
#             connections, answering the stored reply from a dict.
# Then GET /ping on each. Reports medians of BENCH_RUNS rounds and the CPU
# each request cost: the pool's processes (worker CPU) and the whole stack
# (nginx and supervisord included), from /proc around each wrk run.
# Needs `scripts/bootstrap bench` (Debian's FastAPI, uvicorn, uvloop, httptools).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/mock-llm" ] && [ -x "$FOLIO_BIN/trivial-responder" ] || "$BENCH_ROOT/scripts/build"
/usr/bin/python3 -c 'import fastapi, uvicorn, uvloop, httptools' 2>/dev/null || "$BENCH_ROOT/scripts/bootstrap" bench
export NGINX_WORKERS="${NGINX_WORKERS:-2}"

WORK="$(mktemp -d /tmp/folio-pbench-XXXXXX)"; chmod 0755 "$WORK"
MOCK_PID="" PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do STACK_PID="$pid" stop_stack; done
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

MOCK_PORT="$(free_port)"
"$FOLIO_BIN/mock-llm" --port "$MOCK_PORT" > "$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_http "http://127.0.0.1:$MOCK_PORT/v1/models" 200 10

# The peer's root: the repository seen through symlinks, except nginx/,
# whose handoff (folio_fastcgi.conf) becomes an HTTP proxy with kept
# connections, as FastAPI is deployed behind nginx. Everything else in the
# config (limits, headers, access log, gzip) is folio's own.
PEER_ROOT="$WORK/peer-root"
mkdir -p "$PEER_ROOT/nginx"
for f in "$BENCH_ROOT"/*; do [ "$(basename "$f")" = nginx ] || ln -s "$f" "$PEER_ROOT/"; done
cp "$BENCH_ROOT"/nginx/* "$PEER_ROOT/nginx/"
cat > "$PEER_ROOT/nginx/folio_fastcgi.conf" <<'CONF'
include ${RUN_DIR}/nginx/folio_headers.conf;
proxy_pass http://folio_workers;
proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_set_header Host $host;
proxy_set_header X-Request-ID $folio_request_id;
CONF
sed -i 's|server unix:${RUN_DIR}/folio.sock;|server unix:${RUN_DIR}/folio.sock;\n        keepalive 32;|' "$PEER_ROOT/nginx/nginx.conf"
# supervisord's [fcgi-program] hands each process the listening socket as
# fd 0: uvicorn serves it (--fd 0), so the pool is 2 uvicorn processes.
cat > "$WORK/uvicorn-worker" <<SH
#!/bin/sh
exec /usr/bin/python3 -m uvicorn --app-dir "$BENCH_ROOT/bench/peer" fastapi_app:app --fd 0 \
  --loop uvloop --http httptools --no-access-log --log-level warning
SH
chmod 0755 "$WORK/uvicorn-worker"

BODY='{"message":"What is Tollgate and what was her role?"}'
post_lua "$WORK/post.lua" "$BODY"

declare -A PORT_OF PID_OF
start_stack "$WORK/trivial" FOLIO_WORKER="$FOLIO_BIN/trivial-responder"
PORT_OF[trivial]=$STACK_PORT PID_OF[trivial]=$STACK_PID PIDS+=("$STACK_PID")
start_stack "$WORK/folio" OPENAI_API_KEY=sk-bench LLM_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" ${FOLIO_DATA_DIR:+DATA_DIR=$FOLIO_DATA_DIR}
PORT_OF[folio]=$STACK_PORT PID_OF[folio]=$STACK_PID PIDS+=("$STACK_PID")
STACK_PORT="$(free_port)"
env PORT="$STACK_PORT" TLS_PORT="$(free_port)" LISTEN_ADDR=127.0.0.1 DATA_DIR="$WORK/fastapi/data" \
    LOG_DIR="$WORK/fastapi/logs" RUN_DIR="$WORK/fastapi/run" FOLIO_BIN="$FOLIO_BIN" FOLIO_WORKER="$WORK/uvicorn-worker" \
    RATE_LIMIT_RPS=1000000 RATE_LIMIT_BURST=1000000 PROBE_RATE_LIMIT_RPS=1000000 PROBE_RATE_LIMIT_BURST=1000000 \
    CONN_LIMIT_PER_IP=60000 setsid "$PEER_ROOT/scripts/start" >"$WORK/fastapi.start.log" 2>&1 &
PORT_OF[fastapi]=$STACK_PORT PID_OF[fastapi]=$! PIDS+=("$!")
wait_http "http://127.0.0.1:${PORT_OF[trivial]}/ping" 200 30 || { cat "$WORK/trivial/start.log"; exit 1; }
wait_http "http://127.0.0.1:${PORT_OF[folio]}/ready" 200 60 || { cat "$WORK/folio/start.log"; exit 1; }
wait_http "http://127.0.0.1:${PORT_OF[fastapi]}/ping" 200 30 || { cat "$WORK/fastapi.start.log"; exit 1; }

# Fill folio's cache (one LLM call), then check the next ask is a hit.
curl -s -X POST -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:${PORT_OF[folio]}/api/chat" > /dev/null
cached="$(curl -s -X POST -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:${PORT_OF[folio]}/api/chat" | jq -r .cached)"
[ "$cached" = true ] || { echo "folio did not answer from its cache" >&2; exit 1; }

# cpu_ticks PID... : user + system clock ticks of those processes so far.
cpu_ticks() { local t=0 p; for p in "$@"; do
  t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
pool_pids() { for p in $(descendants "$1"); do case "$(cat /proc/$p/comm 2>/dev/null)" in
  nginx|supervisord|start|nginx-run) ;; *) echo "$p" ;; esac; done; }
HZ="$(getconf CLK_TCK)"

# measure NAME PATH [wrk args]: one wrk run; appends "rps p50 p99 pool_us stack_us" to $WORK/NAME.PATH.
measure() {
  local name="$1" path="$2"; shift 2
  local root="${PID_OF[$name]}" pool all out
  pool="$(pool_pids "$root")"; all="$root $(descendants "$root")"
  local p0 a0; p0="$(cpu_ticks $pool)"; a0="$(cpu_ticks $all)"
  out="$(wrk -t1 -c64 -d"${BENCH_SECONDS}s" --latency "$@" "http://127.0.0.1:${PORT_OF[$name]}$path" 2>&1)"
  local p1 a1 n; p1="$(cpu_ticks $pool)"; a1="$(cpu_ticks $all)"
  n="$(echo "$out" | awk '/requests in/ {print $1}')"
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")" \
       "$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")" \
       "$(awk -v t=$((p1 - p0)) -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')" \
       "$(awk -v t=$((a1 - a0)) -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')" >> "$WORK/$name.${path//\//_}"
}
STACKS=(trivial folio fastapi)
for round in $(seq 1 "$BENCH_RUNS"); do
  for s in "${STACKS[@]}"; do measure "$s" /api/chat -s "$WORK/post.lua"; done
  for s in "${STACKS[@]}"; do measure "$s" /ping; done
done
col() { awk -v c="$2" '{print $c}' "$WORK/$1" | median; }
row() { echo "$(col "$1" 1) | $(col "$1" 2) | $(col "$1" 3) | $(col "$1" 4) | $(col "$1" 5)"; }
ratio() { awk -v a="$(col "$1" 1)" -v b="$(col "$2" 1)" 'BEGIN { printf "%.2f", a / b }'; }
ok() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { r = (op == ">=") ? v >= t : v <= t; print r ? "met" : "**missed**" }'; }
hit_tri="$(ratio folio._api_chat trivial._api_chat)"; hit_peer="$(ratio folio._api_chat fastapi._api_chat)"
ping_tri="$(ratio folio._ping trivial._ping)"; ping_peer="$(ratio folio._ping fastapi._ping)"
cpu_hit="$(col folio._api_chat 4)"; p99_hit="$(col folio._api_chat 3)"
commits="$(cat "$WORK"/folio/logs/worker-*.log 2>/dev/null | grep -c '"event":"request"' || true)"
cat <<MD
### folio beside its references ($(machine_line), 64 conns, rounds alternated, NGINX_WORKERS=$NGINX_WORKERS everywhere)

| 64 conns | req/s | p50 ms | p99 ms | CPU µs/req, pool | CPU µs/req, whole stack |
| --- | --- | --- | --- | --- | --- |
| POST /api/chat: trivial libfcgi responder, hash map | $(row trivial._api_chat) |
| POST /api/chat: **folio cache hit** (turn stored durably first) | $(row folio._api_chat) |
| POST /api/chat: FastAPI + uvicorn (uvloop, httptools), dict | $(row fastapi._api_chat) |
| GET /ping: trivial libfcgi responder | $(row trivial._ping) |
| GET /ping: **folio** | $(row folio._ping) |
| GET /ping: FastAPI + uvicorn | $(row fastapi._ping) |

| target | measured | |
| --- | --- | --- |
| CPU per cache hit (folio's workers) ≤ 50 µs | $cpu_hit µs | $(ok "$cpu_hit" "<=" 50) |
| cache hits ≥ 0.8 × trivial responder | $hit_tri × | $(ok "$hit_tri" ">=" 0.8) |
| cache hits ≥ 1.0 × FastAPI | $hit_peer × | $(ok "$hit_peer" ">=" 1.0) |
| cache-hit p99 ≤ 10 ms | $p99_hit ms | $(ok "$p99_hit" "<=" 10) |
| /ping ≥ 0.9 × trivial responder | $ping_tri × (FastAPI: $ping_peer ×) | $(ok "$ping_tri" ">=" 0.9) |
MD
