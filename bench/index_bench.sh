#!/usr/bin/env bash
# bench/index_bench.sh: the knowledge-base issue's figures. Runs bench-search
# (a 100,000-chunk synthetic corpus with a Zipf vocabulary and topics, hash
# embedder at 384 dimensions: build, open, recall against brute force,
# hybrid search latency), then starts two stacks — one on that index, one on
# the 17-file sample index — and compares each worker's start-to-ready time
# and memory after searches: the index is mapped read-only, so a worker's
# private memory must not grow with it (PSS counts the shared pages once).
# CHUNKS=10000 makes a quick run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/bench-search" ] || "$BENCH_ROOT/scripts/build"
CHUNKS="${CHUNKS:-100000}"
WORK="$(mktemp -d /tmp/folio-ibench-XXXXXX)"; chmod 0755 "$WORK"
trap 'stop_stack; rm -rf "$WORK"' EXIT

# BIG_INDEX=DIR reuses an index a previous run left (bench-search --dir).
if [ -z "${BIG_INDEX:-}" ]; then
  "$FOLIO_BIN/bench-search" --chunks "$CHUNKS" --dir "$WORK/big"
  BIG_INDEX="$WORK/big/index"
  echo
fi

measure() {  # measure NAME INDEX_DIR
  start_stack "$WORK/$1" INDEX_DIR="$2"
  wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 60 || { cat "$WORK/$1/start.log"; exit 1; }
  for i in $(seq 1 200); do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d "{\"query\":\"topic $i words and more words\",\"k\":10}" "http://127.0.0.1:$STACK_PORT/api/search"
  done
  local ready open rss pss dirty
  ready="$(cat "$WORK/$1"/logs/worker-*.log | jq -r 'select(.event=="worker_ready") | .startup_ms' | median)"
  open="$(cat "$WORK/$1"/logs/worker-*.log | jq -r 'select(.event=="index_opened") | .open_ms' | median)"
  rss=0; pss=0; dirty=0; uss=0
  for pid in $(pgrep -P "$STACK_PID" folio-worker); do
    rss=$((rss + $(rss_kb "$pid"))); pss=$((pss + $(pss_kb "$pid")))
    uss=$((uss + $(awk '/^Private_(Clean|Dirty):/ {s+=$2} END {print s+0}' "/proc/$pid/smaps_rollup")))
    # Private dirty pages of the index mappings: must stay ~0 (read-only, shared).
    dirty=$((dirty + $(awk '/vectors.hnsw|chunks.bin|bm25.bin|idf.bin/ {m=1; next} /^[0-9a-f]+-[0-9a-f]+ / {m=0} m && /^Private_Dirty:/ {s+=$2} END {print s+0}' "/proc/$pid/smaps")))
  done
  echo "$1 $ready $open $((rss / 2)) $((pss / 2)) $dirty $((uss / 2))"
  stop_stack
}
read -r _ small_ready small_open small_rss small_pss small_dirty small_uss <<<"$(measure small "")"
read -r _ big_ready big_open big_rss big_pss big_dirty big_uss <<<"$(measure big "$BIG_INDEX")"
cat <<MD
| per worker process (mean of 2), after 200 searches | sample index (17 files) | $CHUNKS-chunk index | target |
| --- | --- | --- | --- |
| start → ready (main() to ready, from its log) | $small_ready ms | $big_ready ms | ≤ 200 ms |
| index open (quick verify) | $small_open ms | $big_open ms | independent of size |
| RSS | $((small_rss / 1024)) MB | $((big_rss / 1024)) MB | |
| private memory (USS: pages no other process shares) | $((small_uss / 1024)).$(( (small_uss % 1024) * 10 / 1024 )) MB | $((big_uss / 1024)).$(( (big_uss % 1024) * 10 / 1024 )) MB | ≤ 5 MB more with the big index |
| PSS (shared pages divided among processes) | $((small_pss / 1024)) MB | $((big_pss / 1024)) MB | |
| private dirty pages of the index mappings (both workers) | $small_dirty kB | $big_dirty kB | ~0 |
MD
