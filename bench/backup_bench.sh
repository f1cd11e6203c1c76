#!/usr/bin/env bash
# bench/backup_bench.sh: `folio-admin backup` of a session store of 10k and
# 100k sessions (3 turns of about 1 KB each: bench-seed-sessions), its time
# and size (median of BENCH_RUNS backups of the stopped store); then chat
# latency through the real stack (nginx, supervisord, 2 workers, the mock
# LLM) over the 100k store, with and without backups running, in the same
# run: BENCH_RUNS rounds, each a wrk window without backups and one during
# which backups of the live store follow one another; medians of the rounds.
# Every chat is a new question, so every one is a cache miss and a synced
# session write: the writes a backup's long read transaction must not block.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/bench-seed-sessions" ] || "$BENCH_ROOT/scripts/build"
CONNS="${CONNS:-16}"
SIZES="${SIZES:-10000 100000}"
WORK="$(mktemp -d /tmp/folio-bbench-XXXXXX)"; chmod 0755 "$WORK"
MOCK_PID=""; LOOP_PID=""
trap 'stop_stack; for p in $MOCK_PID $LOOP_PID; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
export LMDB_MAP_MB=2048  # 100k sessions of 3 turns take about 600 MB

# backup_once DATA_DIR DEST: prints "seconds bytes" of one backup.
backup_once() {
  local out; out="$(DATA_DIR="$1" RUN_DIR="$WORK/run-admin" "$FOLIO_BIN/folio-admin" --json backup "$2")"
  echo "$(echo "$out" | jq -r .seconds) $(du -sb "$2" | cut -f1)"
}

rows=""
for n in $SIZES; do
  dir="$WORK/store-$n"
  DATA_DIR="$dir/data" RUN_DIR="$dir/run" LOG_DIR="$dir/logs" "$FOLIO_BIN/bench-seed-sessions" "$n" 3 >/dev/null
  secs=(); bytes=()
  for i in $(seq 1 "$BENCH_RUNS"); do
    read -r s b <<<"$(backup_once "$dir/data" "$WORK/copy-$n-$i")"
    secs+=("$s"); bytes+=("$b"); rm -rf "$WORK/copy-$n-$i"
  done
  store_bytes="$(du -sb "$dir/data/lmdb/data.mdb" | cut -f1)"
  rows+="| $n | $(printf '%s\n' "${secs[@]}" | median | xargs printf '%.2f') | $(awk -v b="$(printf '%s\n' "${bytes[@]}" | median)" 'BEGIN { printf "%.1f", b / 1048576 }') | $(awk -v b="$store_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') |"$'\n'
  last="$dir/data"
done

# Chats over the largest store, with and without backups of it.
MOCK_PORT="$(free_port)"
"$FOLIO_BIN/mock-llm" --port "$MOCK_PORT" > "$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_http "http://127.0.0.1:$MOCK_PORT/v1/models" 200 10
mkdir -p "$WORK/live"; mv "$last" "$WORK/live/data"
start_stack "$WORK/live" OPENAI_API_KEY=sk-bench LLM_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1"
wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 60
cat > "$WORK/miss.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},
                    '{"message":"Question ' .. math.random(1, 1000000000) .. ' number ' .. counter .. ' about Tollgate?"}')
end
LUA
# wrk_window: prints "p50_ms p99_ms non2xx errors" of one BENCH_SECONDS window.
wrk_window() {
  local out; out="$(wrk -t1 -c"$CONNS" -d"${BENCH_SECONDS}s" --latency -s "$WORK/miss.lua" "http://127.0.0.1:$STACK_PORT/api/chat" 2>&1)"
  local non2xx errs
  non2xx="$(echo "$out" | awk '/Non-2xx/ {print $NF}')"
  errs="$(echo "$out" | awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}')"
  echo "$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')") $(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')") ${non2xx:-0} ${errs:-0}"
}
backup_loop() {  # backups of the live store, one after another, until killed
  local i=0
  while :; do
    i=$((i + 1))
    DATA_DIR="$WORK/live/data" RUN_DIR="$WORK/live/run" "$FOLIO_BIN/folio-admin" backup "$WORK/live-copy-$i" >/dev/null 2>&1 \
      && echo ok >> "$WORK/loop.log"
    rm -rf "$WORK/live-copy-$i"
  done
}
wrk_window >/dev/null  # warm-up
q50=(); q99=(); b50=(); b99=(); failed=0
for _ in $(seq 1 "$BENCH_RUNS"); do
  read -r p50 p99 bad errs <<<"$(wrk_window)"; q50+=("$p50"); q99+=("$p99"); failed=$((failed + bad + errs))
  backup_loop & LOOP_PID=$!
  read -r p50 p99 bad errs <<<"$(wrk_window)"; b50+=("$p50"); b99+=("$p99"); failed=$((failed + bad + errs))
  kill "$LOOP_PID"; wait "$LOOP_PID" 2>/dev/null || true; LOOP_PID=""
done
backups_made="$(wc -l < "$WORK/loop.log" 2>/dev/null || echo 0)"
stop_stack

cat <<MD
### Backups ($(machine_line))

| sessions (3 turns each) | backup s | backup MiB | store file MiB |
| --- | --- | --- | --- |
${rows%$'\n'}

| POST /api/chat over the 100k store, every chat a new session, $CONNS conns | p50 ms | p99 ms |
| --- | --- | --- |
| no backup | $(printf '%s\n' "${q50[@]}" | median) | $(printf '%s\n' "${q99[@]}" | median) |
| backups one after another ($backups_made made in the windows) | $(printf '%s\n' "${b50[@]}" | median) | $(printf '%s\n' "${b99[@]}" | median) |

Failed chats (non-2xx or socket errors) in all windows: $failed.
MD
