#!/usr/bin/env bash
# Mixed load on the real server (loopback, ephemeral port): LOAD_CONNS (64)
# concurrent clients for SECONDS (60) mixing cache hits, misses at qualities
# 1..4, progressive streams (read to the end, or hung up after the first
# line), async jobs, cancellations and bad requests (bench/load.js). Prints
# requests/s and latency p50/p99 per kind, counts by status, the server's RSS
# at start, peak and end, and checks the pass criteria:
#   - no 5xx other than 503 (busy) and 507 (GPU out of memory)
#   - socket errors under 0.5 % of requests
#   - the server alive at the end, /api/health 200, exit 0 on SIGTERM
#   - RSS growth (end - start) under LOAD_RSS_BOUND_MIB, default 1024 MiB:
#     what the server keeps by design once idle (the finished jobs' meshes
#     and results, at most 512 MiB / 1000 jobs, ORFEAS_SCHEDULER_KEEP_BYTES;
#     the 128 MiB --cache-mem) plus 384 MiB of allocator slack (per-thread
#     malloc arenas). Measured: RSS settles near 960 MiB once 1000 jobs are
#     kept, then stays flat. Drift beyond that retention is bench/soak.sh's
#     check (growth after a warm-up that fills it).
#   - every accepted async job in a terminal state (polled at the end)
#   - device memory back to 0 bytes once idle
# usage: bench/load.sh [ORFEAS] [SECONDS]
# env: LOAD_CONNS, LOAD_DEVICE (auto), LOAD_WORKERS (2), LOAD_RSS_BOUND_MIB,
#      LOAD_WARMUP (seconds of load before the RSS baseline; 0),
#      LOAD_WRAP (a command to run the server under, e.g. "valgrind -q").
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
orfeas="${1:-$here/build/orfeas}"
secs="${2:-${LOAD_SECONDS:-60}}"
conns="${LOAD_CONNS:-64}"
device="${LOAD_DEVICE:-auto}"
workers="${LOAD_WORKERS:-2}"
bound_mib="${LOAD_RSS_BOUND_MIB:-1024}"
# shellcheck source=tests/server_lib.sh
source "$here/tests/server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/tests/testdata.sh"
# bench/load.js reads these three from one directory: links to wherever
# they are (shipped in examples/ and tests/fixtures/).
load_images=(apple.jpg horse.png truncated.jpg)
testdata_check load.sh "${load_images[@]/#/images/}" || exit 1
work="$(mktemp -d)"
trap 'server_stop; rm -rf "$work"' EXIT
images="$work/images"
mkdir "$images"
for f in "${load_images[@]}"; do ln -s "$(testdata_file "images/$f")" "$images/$f"; done
command -v node >/dev/null || { echo "node is required"; exit 1; }
[ -x "$orfeas" ] || { echo "no server binary at $orfeas (make build)"; exit 1; }

# LOAD_WRAP: server_start runs "$1 serve ..."; a wrapper script runs the
# server under the given command.
if [ -n "${LOAD_WRAP:-}" ]; then
    printf '#!/usr/bin/env bash\nexec %s %q "$@"\n' "$LOAD_WRAP" "$orfeas" >"$work/wrapped"
    chmod +x "$work/wrapped"
    server_bin="$work/wrapped"
else
    server_bin="$orfeas"
fi

rss() { awk '/^VmRSS/ {print $2 * 1024}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

server_start "$server_bin" --device "$device" --workers "$workers" --queue-max 64 --max-connections 512 \
    --max-upload 8MiB --max-pixels 40000000 --connection-timeout 30 --cache-mem 128MiB \
    --log-level warn --data-dir "$work/data" || exit 1
echo "orfeas load: $conns connections for ${secs}s, device $device, $workers workers, $(nproc) cores, server pid $SERVER_PID${LOAD_WRAP:+ under $LOAD_WRAP}"
if [ "${LOAD_WARMUP:-0}" -gt 0 ]; then
    # A warm-up run first (its own requests, not reported), so that the RSS
    # baseline includes the filled cache and the allocator's working set.
    echo "warm-up: ${LOAD_WARMUP}s"
    LOAD_SEED=777 LOAD_FRESH_START=500000 node "$here/bench/load.js" "$SERVER_URL" "$LOAD_WARMUP" "$conns" \
        "$images" "$work/warmup.json" "$SERVER_PID" >"$work/warmup.txt" || { echo "FAIL warm-up"; cat "$work/warmup.txt"; exit 1; }
fi
rss_start="$(rss)"
echo
node "$here/bench/load.js" "$SERVER_URL" "$secs" "$conns" "$images" "$work/summary.json" "$SERVER_PID"
node_rc=$?
echo

passed=0 failed=0
crit() { # crit OK DESC
    if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "PASS $2"; else failed=$((failed + 1)); echo "FAIL $2"; fi
}
alive=1
kill -0 "$SERVER_PID" 2>/dev/null || alive=0
[ "$node_rc" = 0 ] && [ -s "$work/summary.json" ] || { echo "FAIL load client exited $node_rc"; exit 1; }
s="$work/summary.json"
total="$(json_get "$s" j.total)"
other5xx="$(json_get "$s" 'Object.entries(j.fivexx).filter(([k]) => k !== "503" && k !== "507").map(([k, v]) => k + ": " + v).join(", ")')"
crit "$([ -z "$other5xx" ] && echo 0 || echo 1)" "no 5xx other than 503/507 (503: $(json_get "$s" 'j.fivexx["503"] || 0'), 507: $(json_get "$s" 'j.fivexx["507"] || 0')${other5xx:+, other: $other5xx})"
errs="$(json_get "$s" j.errors)"
crit "$(json_get "$s" 'j.errors <= 0.005 * j.total ? 0 : 1')" "socket errors $errs of $total requests (bound 0.5 %)"
crit "$([ "$alive" = 1 ] && echo 0 || echo 1)" "server alive after the run (no crash)"
status="$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$SERVER_URL/api/health")"
crit "$([ "$status" = 200 ] && echo 0 || echo 1)" "health $status after the run"
unfinished="$(json_get "$s" j.unfinished)"
crit "$([ "$unfinished" = 0 ] && echo 0 || echo 1)" "every accepted job finished: $(json_get "$s" j.jobs) accepted, $(json_get "$s" 'JSON.stringify(j.final)'), $unfinished not finished"
alloc="?"
for _ in $(seq 1 100); do
    curl -s -m 5 -o "$work/stats" "$SERVER_URL/api/v1/gpu/stats" &&
        alloc="$(json_get "$work/stats" 'j.gpu.allocated_bytes + j.gpu.reserved_bytes' 2>/dev/null)"
    [ "$alloc" = 0 ] && break
    sleep 0.2
done
crit "$([ "$alloc" = 0 ] && echo 0 || echo 1)" "device memory back to 0 bytes when idle ($alloc)"
curl -s -m 10 -o "$work/metrics" "$SERVER_URL/metrics"
cache_of() { awk -v o="$1" '/^orfeas_cache_requests_total/ && index($0, "outcome=\"" o "\"") {s += $NF} END {print s + 0}' "$work/metrics"; }
hits="hit $(cache_of hit), miss $(cache_of miss), coalesced $(cache_of coalesced)"
rss_end="$(rss)"
rss_peak="$(json_get "$s" j.rssPeak)"
growth=$((rss_end - rss_start))
crit "$([ "$growth" -lt $((bound_mib * 1048576)) ] && echo 0 || echo 1)" "RSS start $(mib "$rss_start") MiB, peak $(mib "$rss_peak") MiB, end $(mib "$rss_end") MiB: growth $(mib "$growth") MiB (bound $bound_mib MiB)"
server_stop
crit "$([ "$SERVER_EXIT" = 0 ] && echo 0 || echo 1)" "SIGTERM exit status $SERVER_EXIT"
if [ -n "${LOAD_WRAP:-}" ] && grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|ERROR: (Address|Leak)Sanitizer' "$SERVER_LOG"; then
    crit 1 "checker reports in the server log:"
    grep -E 'ERROR SUMMARY|definitely lost|Sanitizer' "$SERVER_LOG" | head -20
fi
echo
echo "requests/s: $(json_get "$s" 'j.rps.toFixed(1)') over $(json_get "$s" 'j.seconds.toFixed(1)') s; cache (orfeas_cache_requests_total): $hits"
echo "load: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
