#!/usr/bin/env bash
# Soak: bench/load.sh for longer (SECONDS, default SOAK_SECONDS or 600) after
# a warm-up (SOAK_WARMUP, default 180 s) that fills what the server keeps by
# design (1000 finished jobs / 512 MiB, the cache, the allocator's arenas:
# about 2 minutes at 64 connections on 2 cores), so the RSS bound is on
# drift, not on warm-up: growth from the end of the warm-up to the end of
# the run must stay under SOAK_DRIFT_MIB (default 64 MiB). Every other
# criterion is load.sh's.
#
# Under a checker, on a smaller scale (documented in docs/PERFORMANCE.md):
#   SOAK_CHECK=asan      builds build-asan (ASan+UBSan+LSan) and soaks its
#                        server with 16 connections; LeakSanitizer's report at
#                        exit fails the run (exit status, log scan)
#   SOAK_CHECK=valgrind  runs the given server under valgrind memcheck with
#                        8 connections (slow: 60 to 120 s is plenty)
# usage: bench/soak.sh [ORFEAS] [SECONDS]
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
orfeas="${1:-$here/build/orfeas}"
secs="${2:-${SOAK_SECONDS:-600}}"
export LOAD_WARMUP="${SOAK_WARMUP:-180}"
export LOAD_RSS_BOUND_MIB="${SOAK_DRIFT_MIB:-64}"
case "${SOAK_CHECK:-}" in
asan)
    cmake -S "$here" -B "$here/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORFEAS_CUDA=OFF \
        -DORFEAS_SANITIZE=address,undefined >/dev/null || exit 1
    cmake --build "$here/build-asan" -j "$(nproc)" --target orfeas >/dev/null || exit 1
    orfeas="$here/build-asan/orfeas"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1"
    # ASan keeps freed memory in a 256 MiB quarantine: RSS bounds are loose here.
    export LOAD_CONNS="${LOAD_CONNS:-16}" LOAD_RSS_BOUND_MIB="${SOAK_DRIFT_MIB:-512}"
    ;;
valgrind)
    command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
    export LOAD_WRAP="valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 -q"
    export LOAD_CONNS="${LOAD_CONNS:-8}" LOAD_RSS_BOUND_MIB="${SOAK_DRIFT_MIB:-256}"
    export LOAD_WARMUP="${SOAK_WARMUP:-10}"
    ;;
"") ;;
*) echo "SOAK_CHECK is asan or valgrind"; exit 2 ;;
esac
echo "soak: ${secs}s after a ${LOAD_WARMUP}s warm-up, RSS drift bound ${LOAD_RSS_BOUND_MIB} MiB${SOAK_CHECK:+, under $SOAK_CHECK}"
exec "$here/bench/load.sh" "$orfeas" "$secs"
