#!/usr/bin/env bash
# Checks the exporters' output with third-party oracles: admesh (STL
# topology/orientation/volume), assimp (all four formats load), the Khronos
# glTF Validator (GLB, 0 errors). Negative cases prove each wrapper fails.
# Usage: test_export_oracles.sh EXPORT_FIXTURE MESHINFO
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/oracles.sh
source "$here/oracles.sh"

fixture="$1"
export ORFEAS_MESHINFO="$2"
dir="$(mktemp -d "${TMPDIR:-/tmp}/orfeas-export-oracles.XXXXXX")"
trap 'rm -rf "$dir"' EXIT

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
# expect_reject DESCRIPTION PATTERN COMMAND...: the oracle must fail, and its
# message must contain PATTERN (so it failed for the right reason).
expect_reject() {
    local what="$1" pattern="$2"
    shift 2
    local out
    if out="$("$@" 2>&1)"; then
        fail "$what: oracle accepted it: $out"
    elif ! grep -q -- "$pattern" <<<"$out"; then
        fail "$what: rejected, but not for '$pattern': $out"
    else
        echo "rejected as expected ($what): $(grep -m1 -- "$pattern" <<<"$out")"
    fi
}

"$fixture" "$dir" || { echo "FAIL: export_fixture failed" >&2; exit 1; }

oracle_admesh "$dir/cube.stl" 1 || fail "cube.stl"
oracle_admesh "$dir/sphere.stl" 1 || fail "sphere.stl"
oracle_admesh "$dir/twoparts.stl" 2 || fail "twoparts.stl"

# cube: 12 triangles, sphere (24 stacks x 48 slices): 2208, two cubes: 24.
for f in stl obj ply glb; do
    oracle_assimp "$dir/cube.$f" 12 || fail "cube.$f"
    oracle_assimp "$dir/sphere.$f" 2208 || fail "sphere.$f"
    oracle_assimp "$dir/twoparts.$f" 24 || fail "twoparts.$f"
done

for f in glb ply obj; do
    oracle_assimp "$dir/cube_plain.$f" 12 || fail "cube_plain.$f"
done

oracle_gltf "$dir/cube.glb" "$dir/cube_plain.glb" "$dir/sphere.glb" "$dir/twoparts.glb" ||
    fail "GLB validation"

oracle_bbox_stl "$dir/cube.stl" 20 20 20 || fail "cube bbox"
oracle_bbox_stl "$dir/sphere.stl" 20 20 20 || fail "sphere bbox"
oracle_bbox_stl "$dir/twoparts.stl" 30 10 10 || fail "twoparts bbox"

# Negative checks: each wrapper must reject a broken input.
expect_reject "cube with a hole" "disconnected facets" oracle_admesh "$dir/broken_hole.stl" 1
expect_reject "cube with one flipped triangle" "backwards edges" \
    oracle_admesh "$dir/broken_flip.stl" 1
expect_reject "inside-out cube" "volume <= 0" oracle_admesh "$dir/broken_inverted.stl" 1
expect_reject "two parts counted as one" "2 parts, expected 1" \
    oracle_admesh "$dir/twoparts.stl" 1
expect_reject "GLB with a corrupt accessor count" "ACCESSOR_TOO_LONG" \
    oracle_gltf "$dir/broken_count.glb"
expect_reject "bbox too small" "exceeds" oracle_bbox_stl "$dir/cube.stl" 19.9 20 20
: >"$dir/empty.stl"
expect_reject "empty STL" "assimp info" oracle_assimp "$dir/empty.stl"
expect_reject "wrong face count" "expected 13" oracle_assimp "$dir/cube.obj" 13

if [ "$failures" -ne 0 ]; then
    echo "export_oracles: $failures failure(s)" >&2
    exit 1
fi
echo "export_oracles: all oracle checks passed"
