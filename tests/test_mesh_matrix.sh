#!/usr/bin/env bash
# The mesh guarantees of DESIGN §3 on one test image: every mode x quality
# {1,4,7,10} x every format, checked by tools nobody here wrote: admesh
# (closed, oriented, volume > 0, parts, bounding box), assimp (loads), the
# Khronos glTF Validator (0 errors). Then byte-identical reruns.
# usage: test_mesh_matrix.sh ORFEAS TESTDATA IMAGE SEVERAL_OBJECTS(0|1)
set -u
orfeas="$1" several="${4:-0}"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/oracles.sh
source "$here/oracles.sh"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$2"
testdata_require "mesh_matrix_$3" "images/$3"
image="$(testdata_file "images/$3")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
name="$(basename "${image%.*}")"
passed=0 failed=0

fail() {
    echo "FAIL $*" >&2
    failed=$((failed + 1))
}

# The box must hold within the request (float output, so 1 um slack).
check_bbox() {
    local stl="$1" w="$2" h="$3" d="$4" report
    report="$(timeout "$ORACLE_TIMEOUT" admesh "$stl" 2>&1)" || return 1
    awk -v W="$w" -v H="$h" -v D="$d" '
        /^Min X/ { gsub(",", ""); x0 = $4; x1 = $8 }
        /^Min Y/ { gsub(",", ""); y0 = $4; y1 = $8 }
        /^Min Z/ { gsub(",", ""); z0 = $4; z1 = $8 }
        END {
            e = 0.001
            ok = x0 >= -e && y0 >= -e && z0 >= -e && x1 - x0 <= W + e && y1 - y0 <= H + e && z1 - z0 <= D + e
            if (!ok) printf "bbox %g..%g x %g..%g x %g..%g exceeds %g x %g x %g\n", x0, x1, y0, y1, z0, z1, W, H, D
            exit !ok
        }' <<<"$report"
}

glbs=()
for mode in auto inflate relief lithophane; do
    for q in 1 4 7 10; do
        depth=20 width=100 height=80
        [ "$mode" = lithophane ] && depth=4
        base="$work/${name}_${mode}_q$q"
        if ! "$orfeas" generate "$image" --quiet --mode "$mode" --quality "$q" \
            --width-mm "$width" --height-mm "$height" --depth-mm "$depth" \
            -o "$base.stl" -o "$base.obj" -o "$base.ply" -o "$base.glb"; then
            fail "$name $mode q$q: generate exited $?"
            continue
        fi
        parts=1
        if [ "$several" = 1 ] && { [ "$mode" = inflate ] || [ "$mode" = auto ]; }; then parts=""; fi
        if oracle_admesh "$base.stl" $parts >/dev/null; then passed=$((passed + 1)); else fail "$name $mode q$q admesh"; fi
        if check_bbox "$base.stl" "$width" "$height" "$depth"; then passed=$((passed + 1)); else fail "$name $mode q$q bbox"; fi
        for ext in stl obj ply glb; do
            if oracle_assimp "$base.$ext" >/dev/null; then passed=$((passed + 1)); else fail "$name $mode q$q assimp $ext"; fi
        done
        glbs+=("$base.glb")
    done
done

if [ "${#glbs[@]}" -gt 0 ]; then
    if oracle_gltf "${glbs[@]}" >/dev/null; then passed=$((passed + ${#glbs[@]})); else fail "$name gltf-validator"; fi
fi

# Same input, same parameters: the same bytes, in every format.
for ext in stl obj ply glb; do
    "$orfeas" generate "$image" --quiet --quality 4 -o "$work/rerun.$ext" &&
        "$orfeas" generate "$image" --quiet --quality 4 -o "$work/rerun2.$ext"
    if cmp -s "$work/rerun.$ext" "$work/rerun2.$ext"; then passed=$((passed + 1)); else fail "$name rerun $ext differs"; fi
done

echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
