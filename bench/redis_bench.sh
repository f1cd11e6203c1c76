#!/usr/bin/env bash
# bench/redis_bench.sh: what sharing state through Redis costs and saves.
#   1. Cache-hit POST /api/chat through nginx, STATE_BACKEND=redis against
#      the default LMDB backend, rounds alternated in one run (same nginx,
#      same supervisord, same mock LLM, same env; sessions durable on both
#      sides: LMDB syncs each commit, Redis runs appendfsync always).
#   2. Redis round trips per request, from folio's own
#      folio_redis_calls_total: a cache hit this instance has seen, a hit
#      on an answer another instance stored, an uncached question.
#   3. LLM calls on a replayed Zipf workload through two instances sharing
#      one Redis, against two instances with caches of their own.
# Needs Debian's redis-server (scripts/bootstrap installs it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/mock-llm" ] && [ -x "$FOLIO_BIN/folio-worker" ] || "$BENCH_ROOT/scripts/build"
command -v redis-server >/dev/null || "$BENCH_ROOT/scripts/bootstrap"
ZIPF_REQUESTS="${ZIPF_REQUESTS:-600}" ZIPF_QUESTIONS="${ZIPF_QUESTIONS:-200}" ZIPF_S="${ZIPF_S:-1.0}"

WORK="$(mktemp -d /tmp/folio-rbench-XXXXXX)"; chmod 0755 "$WORK"
MOCK_PID="" REDIS_PID="" PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do STACK_PID="$pid" stop_stack; done
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

REDIS_PORT="$(free_port)"
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" --appendonly yes \
  --appendfsync always --daemonize no > "$WORK/redis/log" 2>&1 &
REDIS_PID=$!
MOCK_PORT="$(free_port)"
"$FOLIO_BIN/mock-llm" --port "$MOCK_PORT" > "$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_http "http://127.0.0.1:$MOCK_PORT/v1/models" 200 10
redis-cli -p "$REDIS_PORT" ping > /dev/null
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
LLM=(OPENAI_API_KEY=sk-bench LLM_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1")

declare -A PORT_OF PID_OF
# instance NAME [VAR=value...]: starts a stack and waits until it is ready.
instance() {
  local name="$1"; shift
  start_stack "$WORK/$name" "${LLM[@]}" "$@"
  PORT_OF[$name]=$STACK_PORT PID_OF[$name]=$STACK_PID PIDS+=("$STACK_PID")
}
instance lmdb
instance redis STATE_BACKEND="$REDIS_URL" STATE_PREFIX=bench:
instance peer STATE_BACKEND="$REDIS_URL" STATE_PREFIX=bench:       # a second instance on the same Redis
instance solo-a STATE_BACKEND="$REDIS_URL" STATE_PREFIX=solo-a:    # two instances that share nothing
instance solo-b STATE_BACKEND="$REDIS_URL" STATE_PREFIX=solo-b:
# The defaults' per-client limits (bench/lib.sh turns them off elsewhere).
instance limited STATE_BACKEND="$REDIS_URL" STATE_PREFIX=limited: CLIENT_RPM=100000 CLIENT_EXPENSIVE_RPM=100000 \
  CLIENT_SESSIONS_PER_MIN=100000 CLIENT_MAX_CONCURRENT=5 MAX_CONCURRENT_LLM=32
for name in "${!PORT_OF[@]}"; do
  wait_http "http://127.0.0.1:${PORT_OF[$name]}/ready" 200 60 || { cat "$WORK/$name/start.log"; exit 1; }
done

ask() { curl -s -X POST -H 'Content-Type: application/json' -d "{\"message\":\"$2\"}" "http://127.0.0.1:${PORT_OF[$1]}/api/chat"; }
redis_calls() { curl -s "http://127.0.0.1:${PORT_OF[$1]}/metrics" | awk '$1=="folio_redis_calls_total" {print $2}'; }
mock_calls() { curl -s "http://127.0.0.1:$MOCK_PORT/_mock/stats" | jq .calls.chat_completions; }

# 1. Cache hits, alternated.
BODY='{"message":"What is Tollgate and what was her role?"}'
post_lua "$WORK/post.lua" "$BODY"
for name in lmdb redis; do
  ask "$name" "What is Tollgate and what was her role?" > /dev/null
  [ "$(ask "$name" "What is Tollgate and what was her role?" | jq -r .cached)" = true ] \
    || { echo "$name did not answer from its cache" >&2; exit 1; }
done
for _ in $(seq 1 "$BENCH_RUNS"); do
  for name in lmdb redis; do
    out="$(wrk -t1 -c64 -d"${BENCH_SECONDS}s" --latency -s "$WORK/post.lua" "http://127.0.0.1:${PORT_OF[$name]}/api/chat" 2>&1)"
    echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')") $(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")" >> "$WORK/hits.$name"
  done
done
col() { awk -v c="$2" '{print $c}' "$WORK/hits.$1" | median; }
ratio="$(awk -v a="$(col redis 1)" -v b="$(col lmdb 1)" 'BEGIN { printf "%.2f", a / b }')"

# 2. Round trips per request, sequential, from folio's own count (every
# worker process's, summed by /metrics).
per_request() {  # NAME N QUESTION-PREFIX SAME(0|1)
  local name="$1" n="$2" before after i q
  before="$(redis_calls "$name")"
  for i in $(seq 1 "$n"); do
    if [ "$4" = 1 ]; then q="$3"; else q="$3 number $i"; fi
    ask "$name" "$q" > /dev/null
  done
  after="$(redis_calls "$name")"
  awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n }'
}
seen_hit="$(per_request redis 50 "What is Tollgate and what was her role?" 1)"
for i in $(seq 1 30); do ask redis "Which projects used Rust, question $i" > /dev/null; done
before="$(redis_calls peer)"
for i in $(seq 1 30); do ask peer "Which projects used Rust, question $i" > /dev/null; done
other_hit="$(awk -v a="$(redis_calls peer)" -v b="$before" 'BEGIN { printf "%.2f", (a - b) / 30 }')"
uncached="$(per_request redis 30 "Tell me something new" 0)"
lmdb_hit_rt="$(per_request lmdb 5 "What is Tollgate and what was her role?" 1)"
ask limited "What is Tollgate and what was her role?" > /dev/null
limited_hit="$(per_request limited 50 "What is Tollgate and what was her role?" 1)"
limited_uncached="$(per_request limited 30 "Tell me something new" 0)"

# 3. The Zipf workload through two instances, shared against separate.
python3 - "$ZIPF_REQUESTS" "$ZIPF_QUESTIONS" "$ZIPF_S" > "$WORK/zipf.txt" <<'PY'
import random, sys
n, k, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(7)
weights = [1 / (i ** s) for i in range(1, k + 1)]
for q in rng.choices(range(1, k + 1), weights, k=n):
    print(f"What does the portfolio say about topic {q}?")
PY
replay() {  # A B: alternates the workload over two instances; prints the LLM calls it cost
  local a="$1" b="$2" before i=0
  before="$(mock_calls)"
  while IFS= read -r q; do
    if [ $((i % 2)) = 0 ]; then ask "$a" "$q" > /dev/null; else ask "$b" "$q" > /dev/null; fi
    i=$((i + 1))
  done < "$WORK/zipf.txt"
  echo $(( $(mock_calls) - before ))
}
shared_calls="$(replay redis peer)"
separate_calls="$(replay solo-a solo-b)"
distinct="$(sort -u "$WORK/zipf.txt" | wc -l)"
saved_pct="$(awk -v s="$shared_calls" -v p="$separate_calls" 'BEGIN { printf "%.1f", (p - s) * 100 / p }')"

# Memory after all of it: each stack's processes (PSS: shared pages split
# between their sharers) and the Redis server's RSS.
stack_pss_mb() { local t=0 p; for p in ${PID_OF[$1]} $(descendants "${PID_OF[$1]}"); do t=$((t + $(pss_kb "$p"))); done
  awk -v k="$t" 'BEGIN { printf "%.1f", k / 1024 }'; }
lmdb_pss="$(stack_pss_mb lmdb)" redis_pss="$(stack_pss_mb redis)"
redis_rss="$(awk -v k="$(rss_kb "$REDIS_PID")" 'BEGIN { printf "%.1f", k / 1024 }')"

cat <<MD
### Redis state backend ($(machine_line), 64 conns)

| POST /api/chat cache hit | req/s | p50 ms | p99 ms |
| --- | --- | --- | --- |
| STATE_BACKEND=lmdb | $(col lmdb 1) | $(col lmdb 2) | $(col lmdb 3) |
| STATE_BACKEND=redis (local copy in front) | $(col redis 1) | $(col redis 2) | $(col redis 3) |
| redis / lmdb | ${ratio} × | | |

| Redis round trips per request (folio_redis_calls_total; per-client limits off) | measured | target |
| --- | --- | --- |
| cache hit this instance has seen (all of it is the session's turn) | $seen_hit | cache: 0 |
| cache hit on another instance's answer | $other_hit | cache: 1 (+ the turn) |
| uncached question (cache, coalescing lease and stream, the turn) | $uncached | — |
| with per-client limits on: a cache hit this instance has seen | $limited_hit | — |
| with per-client limits on: an uncached question | $limited_uncached | — |
| LMDB backend, for reference | $lmdb_hit_rt | 0 |

| Zipf workload: $ZIPF_REQUESTS questions, $distinct distinct (s = $ZIPF_S), alternated over two instances | LLM calls |
| --- | --- |
| two instances sharing one Redis | $shared_calls |
| two instances with caches of their own | $separate_calls |
| calls saved by sharing | $saved_pct % |

| memory after the run | MB |
| --- | --- |
| a whole stack, STATE_BACKEND=lmdb (PSS) | $lmdb_pss |
| a whole stack, STATE_BACKEND=redis (PSS) | $redis_pss |
| redis-server holding every stack's state (RSS) | $redis_rss |
MD
