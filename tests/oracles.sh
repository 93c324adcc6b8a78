# shellcheck shell=bash
# Oracle wrappers for test scripts: `source tests/oracles.sh`, then call
#   oracle_admesh STL [PARTS]      closed, consistently oriented, volume > 0
#   oracle_assimp FILE [FACES]     assimp loads it with > 0 faces and vertices
#   oracle_gltf GLB|DIR...         Khronos glTF Validator reports 0 errors
#   oracle_bbox_stl STL W H D      bounding box within W x H x D mm
# Each returns 0 on success and prints one summary line; on failure it
# prints "ORACLE FAIL: ..." with the tool's evidence to stderr and returns 1.
# Third-party tools (admesh, assimp, gltf-validator) are the oracles; meshinfo
# (ORFEAS_MESHINFO, built from tests/meshinfo.c) only measures the bbox.

ORACLES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORACLE_TIMEOUT="${ORACLE_TIMEOUT:-120}"

oracle_fail_() {
    echo "ORACLE FAIL: $*" >&2
    return 1
}

# Number after the first ':' of the first line matching $1 (its "Original"
# column in admesh's tables).
oracle_field_() {
    awk -F: -v pat="$1" 'index($0, pat) == 1 { split($2, a, " "); print a[1]; exit }'
}

oracle_admesh() {
    local stl="$1" want_parts="${2:-}"
    [ -f "$stl" ] || { oracle_fail_ "admesh: no such file: $stl"; return 1; }
    command -v admesh >/dev/null || { oracle_fail_ "admesh not installed (tools/deps.sh)"; return 1; }
    # Two passes: without -d admesh reports the file's own backwards edges
    # and signed volume; with -d it also counts parts, but repairs
    # orientation first, so there "Facets reversed" must be 0.
    local raw fixed
    if ! raw="$(timeout "$ORACLE_TIMEOUT" admesh -e "$stl" 2>&1)"; then
        oracle_fail_ "admesh -e $stl failed or timed out"$'\n'"$raw"
        return 1
    fi
    if ! fixed="$(timeout "$ORACLE_TIMEOUT" admesh -e -d "$stl" 2>&1)"; then
        oracle_fail_ "admesh -e -d $stl failed or timed out"$'\n'"$fixed"
        return 1
    fi
    local facets disc d1 d2 d3 backwards degenerate volume parts reversed
    facets="$(oracle_field_ "Number of facets" <<<"$raw")"
    disc="$(oracle_field_ "Total disconnected facets" <<<"$raw")"
    d1="$(oracle_field_ "Facets with 1 disconnected edge" <<<"$raw")"
    d2="$(oracle_field_ "Facets with 2 disconnected edges" <<<"$raw")"
    d3="$(oracle_field_ "Facets with 3 disconnected edges" <<<"$raw")"
    backwards="$(oracle_field_ "Backwards edges" <<<"$raw")"
    degenerate="$(oracle_field_ "Degenerate facets" <<<"$raw")"
    volume="$(awk -F: '/^Number of parts/ { gsub(/ /, "", $3); print $3; exit }' <<<"$raw")"
    parts="$(oracle_field_ "Number of parts" <<<"$fixed")"
    reversed="$(oracle_field_ "Facets reversed" <<<"$fixed")"
    local v
    for v in "$facets" "$disc" "$d1" "$d2" "$d3" "$backwards" "$degenerate" "$parts" \
        "$reversed"; do
        if ! [[ "$v" =~ ^[0-9]+$ ]]; then
            oracle_fail_ "admesh $stl: cannot parse its report (admesh version?)"$'\n'"$raw"
            return 1
        fi
    done
    if ! [[ "$volume" =~ ^-?[0-9.eE+-]+$ ]]; then
        oracle_fail_ "admesh $stl: cannot parse the volume"$'\n'"$raw"
        return 1
    fi
    local summary="facets=$facets parts=$parts disconnected=$disc (1:$d1 2:$d2 3:$d3)"
    summary+=" backwards_edges=$backwards reversed=$reversed degenerate=$degenerate volume=$volume"
    local why=()
    [ "$facets" -gt 0 ] || why+=("no facets")
    [ "$disc" -eq 0 ] && [ "$d1" -eq 0 ] && [ "$d2" -eq 0 ] && [ "$d3" -eq 0 ] ||
        why+=("disconnected facets (open or non-manifold)")
    [ "$backwards" -eq 0 ] || why+=("backwards edges (inconsistent orientation)")
    [ "$reversed" -eq 0 ] || why+=("admesh had to reverse facets (inconsistent orientation)")
    [ "$degenerate" -eq 0 ] || why+=("degenerate facets")
    awk -v v="$volume" 'BEGIN { exit !(v + 0 > 0) }' || why+=("volume <= 0 (inside out)")
    if [ -n "$want_parts" ] && [ "$parts" != "$want_parts" ]; then
        why+=("$parts parts, expected $want_parts")
    fi
    if [ "${#why[@]}" -gt 0 ]; then
        local reasons
        reasons="$(printf '%s; ' "${why[@]}")"
        oracle_fail_ "admesh $stl: ${reasons%; }: $summary"
        return 1
    fi
    echo "admesh OK $stl: $summary"
}

oracle_assimp() {
    local file="$1" want_faces="${2:-}"
    [ -f "$file" ] || { oracle_fail_ "assimp: no such file: $file"; return 1; }
    command -v assimp >/dev/null || { oracle_fail_ "assimp not installed (tools/deps.sh)"; return 1; }
    local out
    if ! out="$(timeout "$ORACLE_TIMEOUT" assimp info "$file" 2>&1)"; then
        oracle_fail_ "assimp info $file failed or timed out"$'\n'"$(grep -v '%$' <<<"$out" | tail -20)"
        return 1
    fi
    local faces vertices meshes
    faces="$(oracle_field_ "Faces" <<<"$out")"
    vertices="$(oracle_field_ "Vertices" <<<"$out")"
    meshes="$(oracle_field_ "Meshes" <<<"$out")"
    if ! [[ "$faces" =~ ^[0-9]+$ && "$vertices" =~ ^[0-9]+$ ]]; then
        oracle_fail_ "assimp info $file: cannot parse Faces/Vertices"$'\n'"$(grep -v '%$' <<<"$out" | head -30)"
        return 1
    fi
    local summary="meshes=$meshes vertices=$vertices faces=$faces"
    if [ "$faces" -eq 0 ] || [ "$vertices" -eq 0 ]; then
        oracle_fail_ "assimp $file: empty scene: $summary"
        return 1
    fi
    if [ -n "$want_faces" ] && [ "$faces" != "$want_faces" ]; then
        oracle_fail_ "assimp $file: $faces faces, expected $want_faces: $summary"
        return 1
    fi
    echo "assimp OK $file: $summary"
}

oracle_gltf() {
    [ "$#" -gt 0 ] || { oracle_fail_ "oracle_gltf: no files"; return 1; }
    local script="$ORACLES_ROOT/tools/oracles/validate_gltf.mjs"
    command -v node >/dev/null || { oracle_fail_ "node not installed (tools/deps.sh)"; return 1; }
    [ -d "$ORACLES_ROOT/tools/oracles/node_modules/gltf-validator" ] ||
        { oracle_fail_ "gltf-validator missing: run tools/deps.sh"; return 1; }
    local out rc=0
    out="$(timeout "$ORACLE_TIMEOUT" node "$script" "$@" 2>&1)" || rc=$?
    if [ "$rc" -ne 0 ]; then
        oracle_fail_ "glTF validator rejected (rc=$rc):"$'\n'"$out"
        return 1
    fi
    local line
    while IFS= read -r line; do
        echo "gltf-validator OK $line"
    done <<<"$out"
}

oracle_bbox_stl() {
    local stl="$1" wmax="$2" hmax="$3" dmax="$4"
    local meshinfo="${ORFEAS_MESHINFO:-meshinfo}"
    [ "$#" -eq 4 ] || { oracle_fail_ "usage: oracle_bbox_stl STL WMAX HMAX DMAX"; return 1; }
    local out
    if ! out="$("$meshinfo" "$stl" 2>&1)"; then
        oracle_fail_ "meshinfo $stl failed: $out"
        return 1
    fi
    local size
    size="$(awk '$1 == "size" { print $2, $3, $4 }' <<<"$out")"
    # 1e-4 relative slack: float coordinates of an exact-size box.
    if ! awk -v s="$size" -v w="$wmax" -v h="$hmax" -v d="$dmax" 'BEGIN {
            n = split(s, a, " "); if (n != 3) exit 1
            split(w " " h " " d, m, " ")
            for (i = 1; i <= 3; i++) if (a[i] > m[i] * (1 + 1e-4) + 1e-6) exit 1
            exit 0 }'; then
        oracle_fail_ "bbox $stl: size $size exceeds $wmax x $hmax x $dmax mm"
        return 1
    fi
    echo "bbox OK $stl: size $size within $wmax x $hmax x $dmax"
}
