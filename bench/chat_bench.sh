#!/usr/bin/env bash
# bench/chat_bench.sh: the chat path's figures, against mock-llm (never a real
# LLM), through nginx + supervisord + folio-worker started by scripts/start:
#   1. folio's own overhead per non-streamed chat: end-to-end latency through
#      nginx at 4 connections with the mock at a fixed 500 ms, minus 500 ms;
#      beside the mock's own overhead measured the same way (wrk -c4 straight
#      at the mock, minus 500 ms), so the reader sees which part is folio.
#   2. streamed first token: mock latency 0, first token at 300 ms, then a
#      token every 50 ms; time from connect to the first "event: token" at the
#      client, minus 300 ms (a Python socket client timing with
#      perf_counter, so no process start-up is inside the figure).
#   3. 200 chats in flight against a 2 s upstream (WORKERS=2 ×
#      CHAT_THREADS=200, CHAT_QUEUE=100 per worker, REQUEST_TIMEOUT_S=30):
#      /ping p99 at 8 connections while wrk -c200 keeps 200 chats open, the
#      stack's RSS and PSS (supervisord + nginx + workers) sampled every
#      0.5 s, the LLM calls actually in flight, and the chats answered
#      non-2xx. Why 200 threads per worker, not 100: the kernel does not
#      share connections evenly between the two processes' accept threads
#      (measured 400 vs 212 chats), so with 100 one worker queues while the
#      other idles and only ~140-170 calls reach the upstream at once.
#      P3_CHAT_THREADS / P3_CHAT_QUEUE override. One mock-llm serves at most
#      32 calls at a time (its httplib thread pool), so this phase runs 8
#      mocks behind a plain nginx reverse proxy (its own process, not part of
#      the measured stack).
# Prints a Markdown table. BENCH_SECONDS (default 10) scales every phase:
# phase 1 runs 1.5 × BENCH_SECONDS per side, phase 3's /ping load BENCH_SECONDS.
# STREAM_REQUESTS (default 20) sets phase 2's sample count.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/folio-worker" ] && [ -x "$FOLIO_BIN/mock-llm" ] || "$BENCH_ROOT/scripts/build"
STREAM_REQUESTS="${STREAM_REQUESTS:-20}"
P1_SECONDS=$(( BENCH_SECONDS * 3 / 2 ))
MOCK_POOL=8
P3_CHAT_THREADS="${P3_CHAT_THREADS:-200}"
P3_CHAT_QUEUE="${P3_CHAT_QUEUE:-100}"

WORK="$(mktemp -d /tmp/folio-chat-bench-XXXXXX)"; chmod 0755 "$WORK"
MOCK_PIDS=(); POOL_ROOTS=(); MOCK_PORTS=(); PROXY_PID=""; BG_PIDS=(); SHM_DIR=""
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_stack
  if [ -n "$PROXY_PID" ]; then kill -QUIT "$PROXY_PID" 2>/dev/null || true; fi
  for p in "${MOCK_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${MOCK_PIDS[@]}" $PROXY_PID; do wait "$p" 2>/dev/null || true; done
  if [ -n "$SHM_DIR" ]; then rm -rf "$SHM_DIR"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_mock NAME: a mock-llm on a free port; sets MOCK_URL (…/v1) and MOCK_ROOT.
start_mock() {
  "$FOLIO_BIN/mock-llm" --port 0 >"$WORK/$1.out" 2>"$WORK/$1.err" &
  MOCK_PIDS+=($!)
  for _ in $(seq 1 500); do grep -q base_url "$WORK/$1.out" 2>/dev/null && break; sleep 0.01; done
  MOCK_URL="$(head -n1 "$WORK/$1.out" | jq -r .base_url)"
  [ -n "$MOCK_URL" ] && [ "$MOCK_URL" != null ] || { echo "mock-llm $1 did not start" >&2; cat "$WORK/$1.err" >&2; exit 1; }
  MOCK_ROOT="${MOCK_URL%/v1}"
}
script_mock() {  # script_mock ROOT JSON
  curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$1/_mock/script" >/dev/null \
    || { echo "could not script the mock at $1" >&2; exit 1; }
}
mock_chat_calls() { curl -sf "$1/_mock/stats" | jq -r '.calls.chat_completions'; }

# Lua bodies for wrk: the message varies per request (nothing can be cached).
cat > "$WORK/chat.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil,
    string.format('{"message":"How do I set up and configure the service, question %d?","stream":false}', n))
end
LUA
cat > "$WORK/mock.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format(
    '{"model":"gpt-4o-mini","stream":false,"messages":[{"role":"system","content":"You answer from the context."},' ..
    '{"role":"user","content":"How do I set up and configure the service, question %d?"}]}', n))
end
LUA

# wrk_field OUTPUT: helpers over one wrk --latency output.
wrk_pct() { to_ms "$(echo "$1" | awk -v p="$2" '$1==p {print $2}')"; }
wrk_count() { echo "$1" | awk '/requests in/ {print $1}'; }
wrk_non2xx() { echo "$1" | awk '/Non-2xx/ {print $NF; f=1} END {if (!f) print 0}'; }
wrk_errors() { echo "$1" | awk '/Socket errors/ {gsub(",",""); print "connect " $4 ", read " $6 ", write " $8 ", timeout " $10; f=1} END {if (!f) print "none"}'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

# phase_1_2 TAG DIR [VAR=value...]: phases 1 and 2 on one stack (defaults:
# WORKERS=2 × CHAT_THREADS=16) against mock1; sets TAG_* result variables.
phase_1_2() {
  local tag="$1" dir="$2"; shift 2
  script_mock "$M1_ROOT" '{"chat":{"default":{"latency_ms":500}}}'
  start_stack "$dir" OPENAI_API_KEY=sk-bench LLM_BASE_URL="$M1_URL" REQUEST_TIMEOUT_S=30 "$@"
  wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 60 || { cat "$dir/start.log"; exit 1; }
  # Warm-up: every chat thread opens its LLM connection, pages come in.
  wrk -t1 -c4 -d2s -s "$WORK/chat.lua" "http://127.0.0.1:$STACK_PORT/api/chat" >/dev/null 2>&1
  local c0 c1 out
  c0="$(mock_chat_calls "$M1_ROOT")"
  out="$(wrk -t1 -c4 -d"${P1_SECONDS}s" --timeout 10s --latency -s "$WORK/chat.lua" "http://127.0.0.1:$STACK_PORT/api/chat" 2>&1)"
  c1="$(mock_chat_calls "$M1_ROOT")"
  printf -v "${tag}_out" '%s' "$out"
  printf -v "${tag}_chats" '%s' "$(wrk_count "$out")"
  printf -v "${tag}_non2xx" '%s' "$(wrk_non2xx "$out")"
  printf -v "${tag}_llm" '%s' "$((c1 - c0))"
  printf -v "${tag}_50" '%s' "$(minus "$(wrk_pct "$out" 50%)" 500)"
  printf -v "${tag}_99" '%s' "$(minus "$(wrk_pct "$out" 99%)" 500)"

  script_mock "$M1_ROOT" '{"chat":{"default":{"latency_ms":0,"first_token_ms":300,"token_delay_ms":50}}}'
  python3 "$WORK/sse_first_token.py" "$STACK_PORT" "$STREAM_REQUESTS" > "$WORK/stream-$tag.txt"
  local f="$WORK/stream-$tag.txt"
  printf -v "${tag}_sok" '%s' "$(awk '$1==200 && $3!="nan"' "$f" | wc -l)"
  printf -v "${tag}_tok" '%s' "$(awk '$1==200 && $3!="nan" {printf "%.3f\n", $3 - 300}' "$f" | median)"
  printf -v "${tag}_tokmax" '%s' "$(awk '$1==200 && $3!="nan" {printf "%.3f\n", $3 - 300}' "$f" | sort -g | tail -n1)"
  printf -v "${tag}_meta" '%s' "$(awk '$1==200 && $2!="nan" {print $2}' "$f" | median)"
  stop_stack
}

cat > "$WORK/sse_first_token.py" <<'PY'
# Usage: sse_first_token.py PORT N. One line per request:
# "status meta_ms first_token_ms end_ms", times from before connect().
import json, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(-2, n):  # two warm-up requests, not printed
    body = json.dumps({"message": f"How do I stream answers, question {i + 1000}?", "stream": True}).encode()
    req = (f"POST /api/chat HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(req)
    buf, meta, tok = b"", None, None
    while True:
        d = s.recv(65536)
        now = time.perf_counter()
        if not d:
            break
        buf += d
        if meta is None and b"event: meta" in buf: meta = now
        if tok is None and b"event: token" in buf: tok = now
    s.close()
    status = buf.split(b" ", 2)[1].decode() if buf.startswith(b"HTTP/") else "?"
    ms = lambda t: "nan" if t is None else f"{(t - t0) * 1000:.3f}"
    if i >= 0:
        print(status, ms(meta), ms(tok), ms(now), flush=True)
PY

start_mock mock1
M1_URL="$MOCK_URL"; M1_ROOT="$MOCK_ROOT"
# The mock alone, measured the same way as folio below.
script_mock "$M1_ROOT" '{"chat":{"default":{"latency_ms":500}}}'
wrk -t1 -c4 -d1s -s "$WORK/mock.lua" "$M1_URL/chat/completions" >/dev/null 2>&1
mock_out="$(wrk -t1 -c4 -d"${P1_SECONDS}s" --timeout 10s --latency -s "$WORK/mock.lua" "$M1_URL/chat/completions" 2>&1)"
mock_n="$(wrk_count "$mock_out")"
mock_50="$(minus "$(wrk_pct "$mock_out" 50%)" 500)"; mock_99="$(minus "$(wrk_pct "$mock_out" 99%)" 500)"

# The figures: DATA_DIR on the work directory's disk, as deployed.
phase_1_2 fol "$WORK/s1"
# Reference: the same with DATA_DIR on tmpfs, which shows how much of the
# above is the synced LMDB session commits (fdatasync) on this disk.
SHM_DIR="$(mktemp -d /dev/shm/folio-chat-bench-XXXXXX)"; chmod 0755 "$SHM_DIR"
phase_1_2 shm "$WORK/s2" DATA_DIR="$SHM_DIR/data"
rm -rf "$SHM_DIR"; SHM_DIR=""
only_50="$(minus "$fol_50" "$mock_50")"; only_99="$(minus "$fol_99" "$mock_99")"

# --- phase 3: 200 chats in flight on a 2 s upstream ---
PROXY_PORT="$(free_port)"; pool=""
for i in $(seq 1 "$MOCK_POOL"); do
  start_mock "pool$i"
  script_mock "$MOCK_ROOT" '{"chat":{"default":{"latency_ms":2000}}}'
  pool+="server ${MOCK_ROOT#http://};"$'\n'
  POOL_ROOTS+=("$MOCK_ROOT"); MOCK_PORTS+=("${MOCK_ROOT##*:}")
done
mkdir -p "$WORK/proxy/tmp"
cat > "$WORK/proxy/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/proxy/nginx.pid; error_log stderr warn;
$( [ "$(id -u)" -eq 0 ] && echo "user nobody nogroup;" )
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/proxy/tmp/body; proxy_temp_path $WORK/proxy/tmp/proxy;
  upstream mocks { $pool }
  server { listen 127.0.0.1:$PROXY_PORT; keepalive_requests 100000;
    location / { proxy_pass http://mocks; proxy_buffering off; proxy_read_timeout 120s; } }
}
CONF
nginx -c "$WORK/proxy/nginx.conf" -p "$WORK/proxy" 2>"$WORK/proxy/err.log" &
PROXY_PID=$!
wait_http "http://127.0.0.1:$PROXY_PORT/_mock/stats" 200 10 || { cat "$WORK/proxy/err.log"; exit 1; }

start_stack "$WORK/s3" OPENAI_API_KEY=sk-bench LLM_BASE_URL="http://127.0.0.1:$PROXY_PORT/v1" \
  REQUEST_TIMEOUT_S=30 WORKERS=2 CHAT_THREADS="$P3_CHAT_THREADS" CHAT_QUEUE="$P3_CHAT_QUEUE" INDEX_DIR="$WORK/s1/data/index"
wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 60 || { cat "$WORK/s3/start.log"; exit 1; }

stack_mem() {  # "rss_kb pss_kb" summed over the stack
  local r=0 p=0 pid
  for pid in "$STACK_PID" $(descendants "$STACK_PID"); do
    r=$((r + $(rss_kb "$pid"))); p=$((p + $(pss_kb "$pid")))
  done
  echo "$r $p"
}
# LLM calls in flight: the proxy opens one connection per call to a mock (no
# upstream keep-alive), so established connections to the mock ports = calls.
llm_inflight() {
  ss -Htn state established | awk -v ports=" ${MOCK_PORTS[*]} " '{ n = split($4, a, ":"); if (index(ports, " " a[n] " ")) c++ } END { print c + 0 }'
}
idle_mem="$(stack_mem)"
RAMP=3
CHAT_SECONDS=$(( RAMP + BENCH_SECONDS + 1 ))
wrk -t1 -c200 -d"${CHAT_SECONDS}s" --timeout 40s --latency -s "$WORK/chat.lua" \
  "http://127.0.0.1:$STACK_PORT/api/chat" > "$WORK/chat200.txt" 2>&1 &
CHAT_WRK=$!; BG_PIDS+=("$CHAT_WRK")
( while :; do echo "$(now_ms) $(stack_mem) $(llm_inflight)"; sleep 0.5; done ) > "$WORK/mem.txt" &
SAMPLER=$!; BG_PIDS+=("$SAMPLER")
sleep "$RAMP"
ping_t0="$(now_ms)"
ping_out="$(wrk -t1 -c8 -d"${BENCH_SECONDS}s" --latency "http://127.0.0.1:$STACK_PORT/ping" 2>&1)"
ping_t1="$(now_ms)"
wait "$CHAT_WRK" || true
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true
chat_out="$(cat "$WORK/chat200.txt")"
llm_calls=0; for r in "${POOL_ROOTS[@]}"; do llm_calls=$((llm_calls + $(mock_chat_calls "$r"))); done
stop_stack

ping_rps="$(echo "$ping_out" | awk '/Requests\/sec/ {print $2}')"
ping_50="$(wrk_pct "$ping_out" 50%)"; ping_99="$(wrk_pct "$ping_out" 99%)"; ping_non2xx="$(wrk_non2xx "$ping_out")"
c3_n="$(wrk_count "$chat_out")"; c3_non2xx="$(wrk_non2xx "$chat_out")"; c3_err="$(wrk_errors "$chat_out")"
c3_50="$(wrk_pct "$chat_out" 50%)"; c3_99="$(wrk_pct "$chat_out" 99%)"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
max_rss="$(awk '{print $2}' "$WORK/mem.txt" | sort -g | tail -n1)"; max_pss="$(awk '{print $3}' "$WORK/mem.txt" | sort -g | tail -n1)"
samples="$(wc -l < "$WORK/mem.txt")"
# in flight while /ping was measured: min and median of those samples
during="$(awk -v a="$ping_t0" -v b="$ping_t1" '$1 >= a && $1 <= b {print $4}' "$WORK/mem.txt")"
inflight_min="$(echo "$during" | sort -g | head -n1)"; inflight_med="$(echo "$during" | median)"
read -r idle_rss idle_pss <<<"$idle_mem"

ok() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "n/a" || v == "") { print "**no data**"; exit }
  r = (op == ">=") ? v >= t : v <= t; print r ? "met" : "**missed**" }'; }

cat <<MD
### Chat benchmark ($(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, wrk -t1, one run per phase, mock-llm upstream; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))

| target | measured | |
| --- | --- | --- |
| folio overhead per chat p50 ≤ 3 ms (through nginx − 500 ms mock latency; non-stream, 4 conns, ${P1_SECONDS} s) | $fol_50 ms (mock's own $mock_50 ms → nginx + folio ≈ $only_50 ms) | $(ok "$fol_50" "<=" 3) |
| folio overhead per chat p99 ≤ 10 ms | $fol_99 ms (mock's own $mock_99 ms → nginx + folio ≈ $only_99 ms) | $(ok "$fol_99" "<=" 10) |
| streamed first token ≤ upstream first token + 5 ms (median of $fol_sok; token at 300 ms) | +$fol_tok ms (max +$fol_tokmax ms) | $(ok "$fol_tok" "<=" 5) |
| /ping p99 ≤ 20 ms with 200 chats in flight on a 2 s upstream (8 conns, ${BENCH_SECONDS} s) | $ping_99 ms (p50 $ping_50 ms, $ping_rps req/s, non-2xx $ping_non2xx) | $(ok "$ping_99" "<=" 20) |
| whole-stack RSS < 256 MB under that load (max of $samples samples) | $(mb "$max_rss") MB (idle: $(mb "$idle_rss") MB) | $(ok "$(mb "$max_rss")" "<=" 256) |
| whole-stack PSS < 256 MB under that load | $(mb "$max_pss") MB (idle: $(mb "$idle_pss") MB) | $(ok "$(mb "$max_pss")" "<=" 256) |

| detail | figure |
| --- | --- |
| 1: mock alone (wrk -c4 straight at /v1/chat/completions) | $mock_n calls, p50 $(wrk_pct "$mock_out" 50%) ms, p99 $(wrk_pct "$mock_out" 99%) ms |
| 1: through nginx + folio | $fol_chats chats ($fol_non2xx non-2xx), $fol_llm LLM calls, p50 $(wrk_pct "$fol_out" 50%) ms, p99 $(wrk_pct "$fol_out" 99%) ms |
| 1: same, DATA_DIR on tmpfs (reference: no fdatasync cost) | $shm_chats chats ($shm_non2xx non-2xx), overhead p50 $shm_50 ms, p99 $shm_99 ms |
| 2: meta event (sent before the LLM call) | median $fol_meta ms after connect |
| 2: same, DATA_DIR on tmpfs (reference) | first token +$shm_tok ms (max +$shm_tokmax ms), meta $shm_meta ms |
| 3: config | WORKERS=2 × CHAT_THREADS=$P3_CHAT_THREADS + CHAT_QUEUE=$P3_CHAT_QUEUE each, REQUEST_TIMEOUT_S=30; upstream: $MOCK_POOL mock-llm (latency_ms 2000) behind a plain nginx proxy |
| 3: LLM calls in flight while /ping was measured | min $inflight_min, median $inflight_med |
| 3: chats during the phase (wrk -c200, ${CHAT_SECONDS} s) | $c3_n answered, **$c3_non2xx non-2xx**, socket errors: $c3_err; p50 $c3_50 ms, p99 $c3_99 ms; $llm_calls LLM calls |
MD
