#!/usr/bin/env bash
# bench/eval_search.sh: retrieval quality of POST /api/search on the sample
# KB, through the real stack: for each question in bench/eval/questions.json,
# the rank of the first result whose source is one of the expected files.
# Prints recall@1/@3/@5 and MRR (a hit is any one expected file).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/folio-worker" ] || "$BENCH_ROOT/scripts/build"
QUESTIONS="${1:-$BENCH_ROOT/bench/eval/questions.json}"

WORK="$(mktemp -d /tmp/folio-eval-XXXXXX)"; chmod 0755 "$WORK"
trap 'stop_stack; rm -rf "$WORK"' EXIT
start_stack "$WORK/stack"
wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 30 || { cat "$WORK/stack/start.log"; exit 1; }

n="$(jq length "$QUESTIONS")"
ranks=()
for i in $(seq 0 $((n - 1))); do
  q="$(jq -c --argjson i "$i" '{query: .[$i].question, k: 5}' "$QUESTIONS")"
  expected="$(jq -c --argjson i "$i" '.[$i].sources' "$QUESTIONS")"
  got="$(curl -s -X POST -H 'Content-Type: application/json' -d "$q" "http://127.0.0.1:$STACK_PORT/api/search")"
  rank="$(jq -n --argjson got "$got" --argjson exp "$expected" \
    '[$got.results[].source] | to_entries | map(select(.value as $s | $exp | index($s))) | if length > 0 then .[0].key + 1 else 0 end')"
  ranks+=("$rank")
done
printf '%s\n' "${ranks[@]}" | awk -v n="$n" '
  { if ($1 == 1) r1++; if ($1 >= 1 && $1 <= 3) r3++; if ($1 >= 1 && $1 <= 5) r5++; if ($1 > 0) mrr += 1 / $1 }
  END { printf "| questions | recall@1 | recall@3 | recall@5 | MRR |\n| --- | --- | --- | --- | --- |\n| %d | %.3f | %.3f | %.3f | %.3f |\n", n, r1 / n, r3 / n, r5 / n, mrr / n }'
