#!/usr/bin/env bash
# bench/search_bench.sh: ingest rate and POST /api/search through nginx on a
# real corpus. Lays out the large evaluation corpus (Debian's git and Python
# documentation, bench/eval/docs/make_corpus.sh), indexes it with
# folio-ingest (its summary gives the embed rate and the stages' times), then
# starts a stack on that index and on the sample KB's and drives each with
# wrk at 8 connections: /ping (the FastCGI hop alone, the reference of the
# same run) and /api/search with the 185 questions of
# bench/eval/docs/questions.json in turn. BENCH_SECONDS / BENCH_RUNS shorten it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/folio-ingest" ] || "$BENCH_ROOT/scripts/build"
WORK="$(mktemp -d /tmp/folio-sbench-XXXXXX)"; chmod 0755 "$WORK"
trap 'stop_stack; rm -rf "$WORK"' EXIT

"$BENCH_ROOT/bench/eval/docs/make_corpus.sh" "$WORK/corpus"
"$FOLIO_BIN/folio-ingest" --kb "$WORK/corpus" --out "$WORK/docs-index" 2>/dev/null | tee "$WORK/ingest.txt"
"$FOLIO_BIN/folio-ingest" --kb "$BENCH_ROOT/kb" --out "$WORK/kb-index" >/dev/null 2>&1
echo "index size: $(du -sh "$WORK/docs-index" | cut -f1) for the documentation corpus ($(ls "$WORK/docs-index" | tr '\n' ' '))"
echo "index size: $(du -sh "$WORK/kb-index" | cut -f1) for the sample KB"

# One request per question, in turn.
{
  echo 'local bodies = {}'
  jq -r '.[].question | {query: ., k: 5} | tojson | @json | "bodies[#bodies + 1] = \(.)"' \
    "$BENCH_ROOT/bench/eval/docs/questions.json"
  cat <<'LUA'
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/search", {["Content-Type"] = "application/json"}, bodies[i])
end
LUA
} > "$WORK/search.lua"

measure() {  # measure NAME INDEX_DIR
  start_stack "$WORK/$1" INDEX_DIR="$2"
  wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 60 || { cat "$WORK/$1/start.log"; exit 1; }
  local ping search
  ping="$(run_wrk "http://127.0.0.1:$STACK_PORT/ping" 8)"
  search="$(run_wrk "http://127.0.0.1:$STACK_PORT/" 8 -s "$WORK/search.lua")"
  local errors; errors="$(grep -c '"status":5' "$WORK/$1"/logs/nginx-access.log 2>/dev/null || true)"
  stop_stack
  echo "$1 $ping $search ${errors:-0}"
}
read -r _ kp_rps kp_p50 kp_p99 ks_rps ks_p50 ks_p99 k_err <<<"$(measure kb "$WORK/kb-index")"
read -r _ dp_rps dp_p50 dp_p99 ds_rps ds_p50 ds_p99 d_err <<<"$(measure docs "$WORK/docs-index")"
cat <<MD

($(machine_line), 8 connections)

| index | request | req/s | p50 ms | p99 ms | 5xx |
| --- | --- | --- | --- | --- | --- |
| sample KB | GET /ping | $kp_rps | $kp_p50 | $kp_p99 | |
| sample KB | POST /api/search (k 5) | $ks_rps | $ks_p50 | $ks_p99 | $k_err |
| documentation corpus | GET /ping | $dp_rps | $dp_p50 | $dp_p99 | |
| documentation corpus | POST /api/search (k 5) | $ds_rps | $ds_p50 | $ds_p99 | $d_err |
MD
