#!/usr/bin/env bash
# bench/stack_bench.sh: the stack issue's figures. /ping through nginx at 8
# and 64 connections beside two references measured in the same run:
#   nginx `return 200` (the most anything behind nginx can reach here), and
#   the trivial libfcgi responder (bench/trivial_responder.cc) run by the
#   same supervisord + nginx config in place of folio-worker (the ceiling of
#   this design). Then idle memory (RSS/PSS) of every process and start
#   times. Prints a Markdown table; BENCH_SECONDS / BENCH_RUNS shorten it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/folio-worker" ] && [ -x "$FOLIO_BIN/trivial-responder" ] || "$BENCH_ROOT/scripts/build"

WORK="$(mktemp -d /tmp/folio-bench-XXXXXX)"; chmod 0755 "$WORK"
NGINX_REF_PID=""
cleanup() { stop_stack; [ -n "$NGINX_REF_PID" ] && kill -QUIT "$NGINX_REF_PID" 2>/dev/null; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT

# --- reference 1: nginx return 200 (same worker_processes, same JSON access log) ---
REF_PORT="$(free_port)"
mkdir -p "$WORK/ref/tmp"
cat > "$WORK/ref/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/ref/nginx.pid; error_log stderr warn;
$( [ "$(id -u)" -eq 0 ] && echo "user nobody nogroup;" )
events { worker_connections 1024; }
http {
  access_log $WORK/ref/access.log;
  client_body_temp_path $WORK/ref/tmp;
  server { listen 127.0.0.1:$REF_PORT;
    location = /ping { default_type application/json; return 200 '{"status":"ok","timestamp":"2026-01-01T00:00:00.000Z"}'; } }
}
CONF
nginx -c "$WORK/ref/nginx.conf" -p "$WORK/ref" 2>"$WORK/ref/err.log" &
NGINX_REF_PID=$!
wait_http "http://127.0.0.1:$REF_PORT/ping" 200 10 || { cat "$WORK/ref/err.log"; exit 1; }
read -r ref8 ref8_50 ref8_99 <<<"$(run_wrk "http://127.0.0.1:$REF_PORT/ping" 8)"
read -r ref64 ref64_50 ref64_99 <<<"$(run_wrk "http://127.0.0.1:$REF_PORT/ping" 64)"
kill -QUIT "$NGINX_REF_PID"; wait "$NGINX_REF_PID" 2>/dev/null || true; NGINX_REF_PID=""

# --- reference 2: trivial responder behind the same nginx + supervisord ---
start_stack "$WORK/trivial" FOLIO_WORKER="$FOLIO_BIN/trivial-responder"
wait_http "http://127.0.0.1:$STACK_PORT/ping" 200 20 || { cat "$WORK/trivial/start.log"; exit 1; }
read -r tri8 tri8_50 tri8_99 <<<"$(run_wrk "http://127.0.0.1:$STACK_PORT/ping" 8)"
read -r tri64 tri64_50 tri64_99 <<<"$(run_wrk "http://127.0.0.1:$STACK_PORT/ping" 64)"
stop_stack

# --- folio: start time, idle memory, then /ping ---
starts=()
for i in $(seq 1 "$BENCH_RUNS"); do
  t0="$(now_ms)"
  start_stack "$WORK/start$i"
  wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 20 || { cat "$WORK/start$i/start.log"; exit 1; }
  starts+=($(( $(now_ms) - t0 )))
  [ "$i" -lt "$BENCH_RUNS" ] && stop_stack
done
start_ms="$(printf '%s\n' "${starts[@]}" | median)"
worker_ready_ms="$(cat "$WORK/start$BENCH_RUNS"/logs/worker-*.log | jq -r 'select(.event=="worker_ready") | .startup_ms' | median)"
sleep 1  # idle
mem_rows=""; total_pss=0; total_rss=0
for pid in "$STACK_PID" $(descendants "$STACK_PID"); do
  name="$(cat /proc/$pid/comm 2>/dev/null || echo '?')"
  [ "$name" = "start" ] && name="supervisord"
  p="$(pss_kb "$pid")"; r="$(rss_kb "$pid")"
  total_pss=$((total_pss + p)); total_rss=$((total_rss + r))
  mem_rows+="| $name ($pid) | $((r / 1024)).$(( (r % 1024) * 10 / 1024 )) | $((p / 1024)).$(( (p % 1024) * 10 / 1024 )) |"$'\n'
done
read -r fol8 fol8_50 fol8_99 <<<"$(run_wrk "http://127.0.0.1:$STACK_PORT/ping" 8)"
read -r fol64 fol64_50 fol64_99 <<<"$(run_wrk "http://127.0.0.1:$STACK_PORT/ping" 64)"
stop_stack

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ok() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { r = (op == ">=") ? v >= t : v <= t; print r ? "met" : "**missed**" }'; }
r64="$(ratio "$fol64" "$tri64")"; r8="$(ratio "$fol8" "$tri8")"
total_pss_mb="$(awk -v k="$total_pss" 'BEGIN { printf "%.1f", k / 1024 }')"

cat <<MD
### Stack benchmark ($(machine_line))

| /ping through nginx | conns | req/s | p50 ms | p99 ms |
| --- | --- | --- | --- | --- |
| nginx \`return 200\` | 8 | $ref8 | $ref8_50 | $ref8_99 |
| nginx \`return 200\` | 64 | $ref64 | $ref64_50 | $ref64_99 |
| trivial libfcgi responder (2 procs) | 8 | $tri8 | $tri8_50 | $tri8_99 |
| trivial libfcgi responder (2 procs) | 64 | $tri64 | $tri64_50 | $tri64_99 |
| **folio** (2 workers × 4 threads) | 8 | $fol8 | $fol8_50 | $fol8_99 |
| **folio** (2 workers × 4 threads) | 64 | $fol64 | $fol64_50 | $fol64_99 |

| target | measured | |
| --- | --- | --- |
| /ping ≥ 0.8 × trivial responder, 64 conns | $r64 × (8 conns: $r8 ×) | $(ok "$r64" ">=" 0.8) |
| /ping p99 ≤ 10 ms at 64 conns | $fol64_99 ms | $(ok "$fol64_99" "<=" 10) |
| idle PSS of the whole stack ≤ 48 MB | $total_pss_mb MB | $(ok "$total_pss_mb" "<=" 48) |
| worker start → ready ≤ 100 ms (main() to ready, from its log) | $worker_ready_ms ms | $(ok "$worker_ready_ms" "<=" 100) |
| scripts/start (built) → /ready 200 ≤ 2 s | $start_ms ms | $(ok "$start_ms" "<=" 2000) |

| idle process | RSS MB | PSS MB |
| --- | --- | --- |
${mem_rows}| **total** | $((total_rss / 1024)) | $total_pss_mb |
MD
