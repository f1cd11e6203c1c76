#!/usr/bin/env bash
# bench/cache_bench.sh: cache-hit POST /api/chat through nginx at 64
# connections against the trivial libfcgi responder answering a stored
# answer from an in-process hash map (bench/trivial_responder.cc) behind the
# same nginx + supervisord, in the same run. The LLM is the mock (one call,
# to fill the cache); every measured request is a hit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/mock-llm" ] || "$BENCH_ROOT/scripts/build"
WORK="$(mktemp -d /tmp/folio-cbench-XXXXXX)"; chmod 0755 "$WORK"
MOCK_PID=""
trap 'stop_stack; [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

MOCK_PORT="$(free_port)"
"$FOLIO_BIN/mock-llm" --port "$MOCK_PORT" > "$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_http "http://127.0.0.1:$MOCK_PORT/v1/models" 200 10

BODY='{"message":"What is Tollgate and what was her role?"}'
post_lua "$WORK/post.lua" "$BODY"

start_stack "$WORK/trivial" FOLIO_WORKER="$FOLIO_BIN/trivial-responder"
wait_http "http://127.0.0.1:$STACK_PORT/ping" 200 20
read -r tri tri50 tri99 <<<"$(run_wrk "http://127.0.0.1:$STACK_PORT/api/chat" 64 -s "$WORK/post.lua")"
stop_stack

start_stack "$WORK/folio" OPENAI_API_KEY=sk-bench LLM_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" ${FOLIO_DATA_DIR:+DATA_DIR=$FOLIO_DATA_DIR}
wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 30
curl -s -X POST -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$STACK_PORT/api/chat" > "$WORK/first.json"
cached="$(curl -s -X POST -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$STACK_PORT/api/chat" | jq -r .cached)"
read -r fol fol50 fol99 <<<"$(run_wrk "http://127.0.0.1:$STACK_PORT/api/chat" 64 -s "$WORK/post.lua")"
calls="$(curl -s "http://127.0.0.1:$MOCK_PORT/_mock/stats" | jq .calls.chat_completions)"
# Then misses under load: every question new, so every answer is a cache Put
# (its write transaction is what put_p50/p99 measure, in the answering worker).
cat > "$WORK/miss.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    '{"message":"Question number ' .. counter .. ' about Tollgate?"}')
end
LUA
wrk -t1 -c64 -d5s -s "$WORK/miss.lua" "http://127.0.0.1:$STACK_PORT/api/chat" > "$WORK/miss.txt" 2>&1
misses="$(awk '/Requests\/sec/ {print $2}' "$WORK/miss.txt")"
stats="$(curl -s "http://127.0.0.1:$STACK_PORT/api/cache/stats")"
stop_stack

ratio="$(awk -v a="$fol" -v b="$tri" 'BEGIN { printf "%.2f", a / b }')"
ok() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { r = (op == ">=") ? v >= t : v <= t; print r ? "met" : "**missed**" }'; }
cat <<MD
### Cache hits ($(machine_line))

| POST /api/chat, cache hit, 64 conns | req/s | p50 ms | p99 ms |
| --- | --- | --- | --- |
| trivial libfcgi responder, stored answer in a hash map | $tri | $tri50 | $tri99 |
| **folio** (LMDB cache shared by 2 workers, logs, metrics, limits) | $fol | $fol50 | $fol99 |

| target | measured | |
| --- | --- | --- |
| cache-hit req/s ≥ 0.8 × trivial responder | $ratio × | $(ok "$ratio" ">=" 0.8) |
| cache-hit p99 ≤ 10 ms | $fol99 ms | $(ok "$fol99" "<=" 10) |
| upstream calls for all of it | $calls (second answer cached: $cached) | |
| cache write txns p50 / p99, time holding the writer lock (one worker's, /api/cache/stats), during 5 s of all-new questions at 64 conns ($misses req/s, each a Put) | $(echo "$stats" | jq -r '"\(.write_txn_p50_us) / \(.write_txn_p99_us) µs over \(.write_txn_count) txns"') | $(ok "$(echo "$stats" | jq .write_txn_p99_us)" "<=" 200) (p99 ≤ 200 µs) |
| a Put from asking for the lock to its commit (waits for other writers included) p50 / p99 | $(echo "$stats" | jq -r '"\(.put_p50_us) / \(.put_p99_us) µs over \(.put_count) puts"') | |
MD
