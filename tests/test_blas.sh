#!/usr/bin/env bash
# OpenBLAS's kernels through the real binary (include/orfeas/blas.h):
# `orfeas version` and the server's start-up log say which run and why; a
# kernel named by ORFEAS_BLAS_CORE runs, which needs the re-execution (OpenBLAS
# reads OPENBLAS_CORETYPE only while it loads, before main); the report of a
# re-executed process; the user's OPENBLAS_CORETYPE is left alone; a name
# OpenBLAS lacks re-executes once, not forever.
# usage: test_blas.sh ORFEAS
set -u
orfeas="$1"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/server_lib.sh"
. "$here/testdata.sh"
work="$(mktemp -d)"
trap 'server_stop; rm -rf "$work"' EXIT
unset OPENBLAS_CORETYPE ORFEAS_BLAS_CORE ORFEAS_BLAS_DETECTED

blas_line() { env "$@" "$orfeas" version | grep '^blas: '; }
has() { # description pattern env...
    local desc="$1" pattern="$2"
    shift 2
    local line
    line="$(blas_line "$@")"
    if grep -qE -- "$pattern" <<<"$line"; then ok; else bad "$desc: '$line' lacks /$pattern/"; fi
}

line="$(blas_line)"
echo "default: $line"
has "version names OpenBLAS and its kernels" '^blas: OpenBLAS [0-9.]+, [A-Za-z0-9]+ kernels \('
has "a named kernel runs (re-executed)" 'Haswell kernels \(ORFEAS_BLAS_CORE=Haswell\)' ORFEAS_BLAS_CORE=Haswell
has "Prescott on request, said to be slower" 'Prescott kernels .*CPU runs faster ones' ORFEAS_BLAS_CORE=Prescott
has "the user's OPENBLAS_CORETYPE is kept" 'Haswell kernels \(OPENBLAS_CORETYPE=Haswell, set by the user\)' \
    OPENBLAS_CORETYPE=Haswell
has "keep: OpenBLAS's own choice, said so" "kernels \\(OpenBLAS's own choice, kept by ORFEAS_BLAS_CORE=keep\\)" ORFEAS_BLAS_CORE=keep
has "a re-executed process reports the upgrade" 'chosen by orfeas: OpenBLAS picked Prescott on this' \
    ORFEAS_BLAS_DETECTED=Prescott OPENBLAS_CORETYPE=Haswell
check "an unknown kernel name: one re-execution, then runs" \
    timeout 20 env ORFEAS_BLAS_CORE=NoSuchCore "$orfeas" version >/dev/null
has "an unknown kernel name is said" 'ORFEAS_BLAS_CORE=NoSuchCore, which this OpenBLAS does not have' \
    ORFEAS_BLAS_CORE=NoSuchCore

# The arguments survive the re-execution: the depth conformance form on the
# Prescott kernels writes what the default kernels write, within float noise.
testdata_noise_f32 "$work/x.f32" $((3 * 28 * 28))
run_depth() { # name env...
    local name="$1"
    shift
    env "$@" "$orfeas" depth --random-weights 42 --tensor-in "$work/x.f32" --height 28 --width 28 \
        --tensor-out "$work/$name.f32"
}
check "depth on the default kernels" run_depth default
check "depth on Prescott (arguments kept through exec)" run_depth prescott ORFEAS_BLAS_CORE=Prescott
check "same output within 1e-4 of its range" node -e '
    const fs = require("fs");
    const f32 = (p) => { const u = fs.readFileSync(p); return new Float32Array(u.buffer, u.byteOffset, u.length / 4); };
    const a = f32(process.argv[1]), b = f32(process.argv[2]);
    let d = 0, lo = Infinity, hi = -Infinity;
    for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); lo = Math.min(lo, a[i]); hi = Math.max(hi, a[i]); }
    console.log(`max abs ${d.toExponential(2)} over range ${(hi - lo).toFixed(3)}`);
    process.exit(a.length === 28 * 28 && d <= 1e-4 * (hi - lo) ? 0 : 1);' "$work/default.f32" "$work/prescott.f32"

# The start-up log says it too.
server_start "$orfeas" --device cpu --data-dir "$work/data" || exit 1
server_stop
check "start-up log names the kernels" grep -qE 'blas: OpenBLAS [0-9.]+, [A-Za-z0-9]+ kernels' "$SERVER_LOG"
check "server exited 0" [ "$SERVER_EXIT" = 0 ]

echo "test_blas: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
