#!/usr/bin/env bash
# What OpenBLAS's kernel choice is worth: the depth model's 518 x 518 fp32
# forward pass (`orfeas depth --time`, seeded weights, 1 thread) on the
# Prescott (SSE3) kernels a distribution's OpenBLAS falls back to on a CPU
# newer than itself, on what orfeas runs by default here, and on named
# kernels; the rounds are interleaved, the table gives each median and its
# speed-up over Prescott, all from this one run.
# usage: bench/bench_blas.sh [ORFEAS] [RUNS] [CORE...]   (default: 5 runs; Haswell SkylakeX)
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
orfeas="${1:-$here/build/orfeas}"
runs="${2:-5}"
shift 2 2>/dev/null || shift $#
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(Haswell SkylakeX)
[ -x "$orfeas" ] || { echo "build first: make build (no $orfeas)"; exit 1; }
unset OPENBLAS_CORETYPE ORFEAS_BLAS_DETECTED
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/testdata.sh
. "$here/tests/testdata.sh"
testdata_noise_f32 "$tmp/x.f32" $((3 * 518 * 518))

configs=(Prescott auto "${extra[@]}")
kernels() { ORFEAS_BLAS_CORE="$1" "$orfeas" version | sed -n 's/^blas: OpenBLAS [^,]*, \([^ ]*\) kernels.*/\1/p'; }
for c in "${configs[@]}"; do : >"$tmp/$c.ms"; done
for r in $(seq 1 "$runs"); do
    for c in "${configs[@]}"; do
        ORFEAS_BLAS_CORE="$c" "$orfeas" depth --random-weights 42 --tensor-in "$tmp/x.f32" \
            --height 518 --width 518 --tensor-out "$tmp/$c.out" --threads 1 --time 2>"$tmp/err" ||
            { cat "$tmp/err"; exit 1; }
        sed -n 's/.*forward \([0-9.]*\) s.*/\1/p' "$tmp/err" >>"$tmp/$c.ms"
    done
done
median() { sort -g "$1" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
base="$(median "$tmp/Prescott.ms")"
echo "Depth Anything V2 Small, 518 x 518, fp32, 1 thread; median of $runs runs ($("$orfeas" version | sed -n 's/^blas: //p'))"
echo
echo "| ORFEAS_BLAS_CORE | kernels | ms / pass | vs Prescott |"
echo "|---|---|---|---|"
for c in "${configs[@]}"; do
    m="$(median "$tmp/$c.ms")"
    awk -v c="$c" -v k="$(kernels "$c")" -v m="$m" -v b="$base" \
        'BEGIN {printf "| %s | %s | %.0f | %.2fx |\n", c, k, m * 1000, b / m}'
done
