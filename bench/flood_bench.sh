#!/usr/bin/env bash
# bench/flood_bench.sh: one address holding 1,500 half-sent and 1,500 idle
# connections to nginx (reopening what nginx closes) for 12 s while other
# addresses ask for /ping and /api/search — the real stack with its default
# limits, run by tests/integration/flood_test.cc, RUNS times (3). Prints each
# run's figures and their medians: connections held, the other addresses'
# latency p50/p99/max, nginx's memory during the flood.
#   RUNS=3 bench/flood_bench.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS="${RUNS:-3}"
BUILD_DIR="${BUILD_DIR:-$BENCH_ROOT/build}"
"$BENCH_ROOT/scripts/build" --target flood_test folio-worker folio-ingest >/dev/null

held=() p50=() p99=() worst=() rss=() pss=()
for run in $(seq 1 "$RUNS"); do
  out="$("$BUILD_DIR/bin/flood_test" 2>&1)" || { echo "$out" >&2; echo "flood_test failed (run $run)" >&2; exit 1; }
  echo "$out" | grep '^\[flood\]' | sed "s/^/run $run: /"
  held+=("$(echo "$out" | sed -n 's/.*attacker held \([0-9]*\) connections.*/\1/p')")
  p50+=("$(echo "$out" | sed -n 's/.*p50 \([0-9.]*\) ms.*/\1/p')")
  p99+=("$(echo "$out" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')")
  worst+=("$(echo "$out" | sed -n 's/.*max \([0-9.]*\) ms.*/\1/p')")
  rss+=("$(echo "$out" | sed -n 's/.*up to \([0-9.]*\) MB during.*/\1/p')")
  pss+=("$(echo "$out" | sed -n 's/.*(PSS up to \([0-9.]*\) MB).*/\1/p')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "medians of $RUNS runs ($(date -u +%Y-%m-%d), $(nproc) cores):"
echo "  connections held by one address   $(median "${held[@]}") (1,500 half-sent + 1,500 idle)"
echo "  other addresses' /ping and search  p50 $(median "${p50[@]}") ms, p99 $(median "${p99[@]}") ms, max $(median "${worst[@]}") ms"
echo "  nginx (master + worker) during it  RSS $(median "${rss[@]}") MB, PSS $(median "${pss[@]}") MB"
