#!/usr/bin/env bash
# bench/web_bench.sh: the chat page's figures, in Debian's chromium against a
# stack started by scripts/start and mock-llm (never a real LLM):
#   1. first-load transfer: every response a cold load of / needs, as the
#      network counted it (headers included) and as gzipped bodies;
#   2. Lighthouse 12.2.3 (bench/web's npm packages) performance,
#      accessibility and best-practices scores, mobile (Lighthouse's default
#      emulation and simulated throttling) and desktop presets;
#   3. navigation start to an interactive input (the page's
#      "folio:interactive" mark), median of WEB_RUNS cold loads;
#   4. Enter to the first answer text painted, median of WEB_RUNS
#      questions, with the mock's first token 300 ms after its headers.
# Prints a Markdown table. WEB_RUNS (default 10).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$BENCH_ROOT/scripts/bootstrap" lighthouse
[ -x "$FOLIO_BIN/folio-worker" ] && [ -x "$FOLIO_BIN/mock-llm" ] || "$BENCH_ROOT/scripts/build" --target folio-worker folio-ingest mock-llm
WEB_RUNS="${WEB_RUNS:-10}"
FIRST_TOKEN_MS=300

WORK="$(mktemp -d /tmp/folio-web-bench-XXXXXX)"; chmod 0755 "$WORK"
MOCK_PID=""
cleanup() {
  stop_stack
  [ -z "$MOCK_PID" ] || { kill -TERM "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

"$FOLIO_BIN/mock-llm" --port 0 >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK_PID=$!
for _ in $(seq 1 500); do grep -q base_url "$WORK/mock.out" 2>/dev/null && break; sleep 0.01; done
MOCK_URL="$(head -n1 "$WORK/mock.out" | jq -r .base_url)"
# Every timed run is a new visitor: a new session each, more than a minute's
# per-client budget of new sessions allows.
start_stack "$WORK/stack" OPENAI_API_KEY=sk-bench LLM_BASE_URL="$MOCK_URL" CLIENT_SESSIONS_PER_MIN=0
wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 20 || { cat "$WORK/stack/start.log" >&2; exit 1; }
PAGE="http://127.0.0.1:$STACK_PORT/"

timings="$(cd "$BENCH_ROOT/bench/web" && node timings.mjs "$PAGE" "${MOCK_URL%/v1}" "$WEB_RUNS" "$FIRST_TOKEN_MS")"

FLAGS="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"
lighthouse() {  # lighthouse NAME [args]: scores "perf a11y best-practices"
  local name="$1"; shift
  (cd "$BENCH_ROOT/bench/web" && node node_modules/lighthouse/cli/index.js "$PAGE" --quiet \
     --chrome-path=/usr/bin/chromium --chrome-flags="$FLAGS" \
     --only-categories=performance,accessibility,best-practices \
     --output=json --output-path="$WORK/lh-$name.json" "$@") >/dev/null 2>"$WORK/lh-$name.err" \
     || { cat "$WORK/lh-$name.err" >&2; exit 1; }
  jq -r '[.categories.performance.score, .categories.accessibility.score, .categories["best-practices"].score]
         | map(. * 100 | round) | join(" ")' "$WORK/lh-$name.json"
}
read -r m_perf m_a11y m_bp <<<"$(lighthouse mobile)"
read -r d_perf d_a11y d_bp <<<"$(lighthouse desktop --preset=desktop)"
lcp="$(jq -r '.audits["largest-contentful-paint"].displayValue' "$WORK/lh-mobile.json")"
tbt="$(jq -r '.audits["total-blocking-time"].displayValue' "$WORK/lh-mobile.json")"
cls="$(jq -r '.audits["cumulative-layout-shift"].displayValue' "$WORK/lh-mobile.json")"

j() { echo "$timings" | jq -r ".$1"; }
echo "### The chat page ($(date -u +%Y-%m-%d), $(nproc) cores, chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), median of $WEB_RUNS)"
echo
echo "| figure | measured | target |"
echo "| --- | --- | --- |"
echo "| first-load transfer (cold, every response) | $(j transfer_bytes) bytes on the wire, $(j body_bytes) bytes of gzipped bodies | ≤ 30 kB gzipped |"
echo "| Lighthouse mobile: performance / accessibility / best practices | $m_perf / $m_a11y / $m_bp (LCP $lcp, TBT $tbt, CLS $cls) | ≥ 95 each |"
echo "| Lighthouse desktop: performance / accessibility / best practices | $d_perf / $d_a11y / $d_bp | ≥ 95 each |"
echo "| navigation → interactive input | $(j interactive_ms) ms (settings applied: $(j ready_ms) ms) | |"
echo "| Enter → first token painted, mock's first token at ${FIRST_TOKEN_MS} ms | $(j first_token_ms) ms: +$(j overhead_ms) ms | |"
