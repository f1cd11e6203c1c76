#!/usr/bin/env bash
# bench/soak.sh: SOAK_SECONDS (default 600) of mixed load through nginx —
# cache hits, new questions, follow-ups and searches at 32 connections, the
# LLM being the mock — sampling every worker's and nginx's RSS and open file
# descriptors every 10 s. Reports, per process, the slope after a warm-up
# (least squares over the samples after WARMUP_SECONDS, default 60) of its
# anonymous RSS (a leak shows as a steady slope there) and of its
# file-backed RSS (the LMDB pages of the sessions stored meanwhile), and its
# open file descriptors after the warm-up (accepted FastCGI connections and
# the chat threads' upstream connections come and go with the load).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/mock-llm" ] || "$BENCH_ROOT/scripts/build"
SOAK_SECONDS="${SOAK_SECONDS:-600}"
WARMUP_SECONDS="${WARMUP_SECONDS:-60}"
WORK="$(mktemp -d /tmp/folio-soak-XXXXXX)"; chmod 0755 "$WORK"
MOCK_PID=""
trap 'stop_stack; [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

MOCK_PORT="$(free_port)"
"$FOLIO_BIN/mock-llm" --port "$MOCK_PORT" > "$WORK/mock.log" 2>&1 &
MOCK_PID=$!
wait_http "http://127.0.0.1:$MOCK_PORT/v1/models" 200 10
curl -s -X POST "http://127.0.0.1:$MOCK_PORT/_mock/script" -d '{"chat":{"default":{"latency_ms":50}}}' > /dev/null

start_stack "$WORK/folio" OPENAI_API_KEY=sk-soak LLM_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" CACHE_MAX_ENTRIES=2000
wait_http "http://127.0.0.1:$STACK_PORT/ready" 200 30

# One request in four each: a cache hit, a new question (the cache keeps
# evicting: CACHE_MAX_ENTRIES=2000), a search, one of 500 recurring questions.
cat > "$WORK/mix.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local kind = counter % 4
  local headers = {["Content-Type"] = "application/json"}
  if kind == 0 then
    return wrk.format("POST", "/api/chat", headers, '{"message":"What is Tollgate?"}')
  elseif kind == 1 then
    return wrk.format("POST", "/api/chat", headers, '{"message":"Soak question ' .. counter .. '?"}')
  elseif kind == 2 then
    return wrk.format("POST", "/api/search", headers, '{"query":"databases in production","k":5}')
  else
    return wrk.format("POST", "/api/chat", headers, '{"message":"Soak question ' .. (counter % 500) .. ' again?"}')
  end
end
LUA
wrk -t1 -c32 -d"${SOAK_SECONDS}s" -s "$WORK/mix.lua" "http://127.0.0.1:$STACK_PORT/" > "$WORK/wrk.txt" 2>&1 &
WRK_PID=$!

# samples: seconds kind pid rss_kb fds anon_kb file_kb
# RSS = RssAnon (the heap and stacks: where a leak shows) + RssFile (mapped
# LMDB and index pages: grows with the data stored, e.g. every new session)
# + RssShmem (the shared metrics/limits files).
: > "$WORK/samples.txt"
start_ms="$(now_ms)"
while kill -0 "$WRK_PID" 2>/dev/null; do
  t=$(( ($(now_ms) - start_ms) / 1000 ))
  for pid in $(descendants "$STACK_PID"); do
    name="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    case "$name" in folio-worker|nginx) ;; *) continue ;; esac
    anon_file="$(awk '/^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} END {print a+0, f+0}' "/proc/$pid/status" 2>/dev/null || echo "0 0")"
    echo "$t $name $pid $(rss_kb "$pid") $(ls "/proc/$pid/fd" 2>/dev/null | wc -l) $anon_file" >> "$WORK/samples.txt"
  done
  sleep 10
done
wait "$WRK_PID" || true

rps="$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")"
errors="$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/wrk.txt" | tr '\n' ' ')"
restarts="$(grep -c "exited: folio-worker" "$WORK/folio/logs/supervisord.log" || true)"

echo "### Soak ($(date -u +%Y-%m-%d), $(nproc) cores, ${SOAK_SECONDS} s of mixed load at 32 connections, warm-up ${WARMUP_SECONDS} s)"
echo
echo "$rps req/s; ${errors:-no non-2xx or socket errors}; worker restarts: $restarts"
echo
sessions="$(mdb_stat -s sessions "$WORK/folio/data/lmdb" 2>/dev/null | awk '/Entries:/ {print $2}')"
data_mb="$(du -sm "$WORK/folio/data/lmdb" 2>/dev/null | cut -f1)"
echo "sessions stored: ${sessions:-?} (the sessions environment: ${data_mb:-?} MB on disk)"
echo
echo "| process | samples | RSS after warm-up, first → last (MB) | anonymous RSS, first → last (MB) | anonymous slope after warm-up | file-backed RSS slope | fds after warm-up, first → last |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for pid in $(awk '{print $3}' "$WORK/samples.txt" | sort -u); do
  awk -v pid="$pid" -v warm="$WARMUP_SECONDS" '
    function slope(v,   i, sx, sy, sxx, sxy) {  # least squares, MB per minute
      sx = sy = sxx = sxy = 0
      for (i = 1; i <= n; i++) { sx += x[i]; sy += v[i]; sxx += x[i] * x[i]; sxy += x[i] * v[i] }
      return 60 * (n * sxy - sx * sy) / (n * sxx - sx * sx)
    }
    $3 == pid { name = $2
                if ($1 >= warm) { n++; x[n] = $1; y[n] = $4 / 1024; a[n] = $6 / 1024; f[n] = $7 / 1024
                                  if (n == 1) fd0 = $5; fd1 = $5; if ($5 > fdmax) fdmax = $5 } }
    END {
      if (n < 2) exit
      printf "| %s %s | %d | %.1f → %.1f | %.1f → %.1f | %+.3f MB/min | %+.3f MB/min | %d → %d (max %d) |\n",
             name, pid, n, y[1], y[n], a[1], a[n], slope(a), slope(f), fd0, fd1, fdmax
    }' "$WORK/samples.txt"
done
