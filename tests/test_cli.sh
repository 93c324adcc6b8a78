#!/usr/bin/env bash
# The CLI end to end: exit statuses per failure, uploaded mask and depth,
# help on every subcommand, physical size.
# usage: test_cli.sh ORFEAS TESTDATA
set -u
orfeas="$1"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/oracles.sh
source "$here/oracles.sh"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

expect_exit() {
    local want="$1" what="$2"
    shift 2
    "$@" >"$work/out.txt" 2>"$work/err.txt"
    local got=$?
    if [ "$got" -eq "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $what: exit $got, expected $want; stderr: $(head -c 400 "$work/err.txt")" >&2
    fi
}

expect_text() {
    local file="$1" pattern="$2" what="$3"
    if grep -q -- "$pattern" "$file"; then passed=$((passed + 1)); else
        failed=$((failed + 1))
        echo "FAIL $what: no '$pattern' in $(head -c 400 "$file")" >&2
    fi
}

img="$(testdata_file images/apple.jpg)"
expect_exit 0 "version" "$orfeas" version
expect_text "$work/out.txt" "orfeas" "version output"
expect_exit 0 "help" "$orfeas" --help
expect_exit 0 "generate --help" "$orfeas" generate --help
expect_text "$work/out.txt" "--width-mm" "generate help lists parameters"
# Every flag that --help lists is documented in docs/cli.md.
for flag in $(grep -oE -- '--[a-z][a-z-]+' "$work/out.txt" | sort -u); do
    grep -q -- "\`$flag\`" "$here/../docs/cli.md" && passed=$((passed + 1)) ||
        { failed=$((failed + 1)); echo "FAIL: $flag missing from docs/cli.md" >&2; }
done
expect_exit 0 "version --help" "$orfeas" version --help
expect_exit 2 "unknown command" "$orfeas" sculpt
expect_exit 2 "no output" "$orfeas" generate "$img"
expect_exit 2 "bad extension" "$orfeas" generate "$img" -o "$work/x.fbx"
expect_exit 2 "quality out of range" "$orfeas" generate "$img" --quality 11 -o "$work/x.stl"
expect_text "$work/err.txt" "quality" "error names the field"
expect_exit 2 "unknown flag" "$orfeas" generate "$img" --colour red -o "$work/x.stl"
expect_exit 2 "base above depth" "$orfeas" generate "$img" --mode relief --depth-mm 5 --base-mm 6 -o "$work/x.stl"
expect_exit 3 "missing input" "$orfeas" generate "$work/nope.png" -o "$work/x.stl"
expect_exit 6 "truncated jpeg" "$orfeas" generate "$(testdata_file images/truncated.jpg)" -o "$work/x.stl"
expect_text "$work/err.txt" "invalid_image" "error code printed"
printf 'GIF89a\001\000\001\000' >"$work/tiny.gif"
expect_exit 5 "unsupported format" "$orfeas" generate "$work/tiny.gif" -o "$work/x.stl"
: >"$work/empty.png"
expect_exit 5 "empty file" "$orfeas" generate "$work/empty.png" -o "$work/x.stl"
expect_exit 4 "pixel limit" "$orfeas" generate "$img" --max-pixels 1000 -o "$work/x.stl"
expect_exit 3 "unwritable output" "$orfeas" generate "$img" --quality 1 -o "$work/no/such/dir/x.stl"
[ ! -e "$work/x.stl" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: a failed run left an output" >&2; }

# Uploaded mask and depth (the plant and its ground-truth matte, shared data).
plant="$(testdata_file images/plant.jpg)" matte="$(testdata_file images/plant_matte.png)"
if testdata_have "test_cli, mask and depth uploads" images/plant.jpg images/plant_matte.png; then
    # Uploaded mask: the plant cut out by its ground-truth matte, inflated.
    expect_exit 0 "mask upload" "$orfeas" generate "$plant" --mask "$matte" \
        --mode inflate --quality 4 -o "$work/plant.stl"
    expect_text "$work/out.txt" "foreground mask" "mask used"
    oracle_admesh "$work/plant.stl" >/dev/null && passed=$((passed + 1)) || failed=$((failed + 1))

    # Uploaded depth: a relief from the matte as depth map.
    expect_exit 0 "depth upload" "$orfeas" generate "$plant" --depth "$matte" \
        --mode relief --quality 4 --width-mm 50 --depth-mm 6 -o "$work/relief.stl" -o "$work/relief.glb"
    oracle_admesh "$work/relief.stl" 1 >/dev/null && passed=$((passed + 1)) || failed=$((failed + 1))
    oracle_gltf "$work/relief.glb" >/dev/null && passed=$((passed + 1)) || failed=$((failed + 1))
    expect_text "$work/out.txt" "bbox 50.00 x" "width honoured"

    # Depth upload changes the result.
    "$orfeas" generate "$plant" --mode relief --quality 4 -q -o "$work/lum.stl"
    cmp -s "$work/lum.stl" "$work/relief.stl" && { failed=$((failed + 1)); echo "FAIL: depth upload ignored" >&2; } || passed=$((passed + 1))
fi

# Detail changes the result.
"$orfeas" generate "$img" --quality 3 --detail 0 -q -o "$work/d0.stl"
"$orfeas" generate "$img" --quality 3 --detail 1 -q -o "$work/d1.stl"
cmp -s "$work/d0.stl" "$work/d1.stl" && { failed=$((failed + 1)); echo "FAIL: detail ignored" >&2; } || passed=$((passed + 1))

# Texture none: no colours in PLY.
"$orfeas" generate "$img" --quality 2 --texture none -q -o "$work/plain.ply"
if head -c 400 "$work/plain.ply" | grep -aq red; then failed=$((failed + 1)); echo "FAIL: colours with --texture none" >&2; else passed=$((passed + 1)); fi
"$orfeas" generate "$img" --quality 2 -q -o "$work/col.ply"
head -c 400 "$work/col.ply" | grep -aq red && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: no colours by default" >&2; }

# A triangle budget is honoured.
expect_exit 0 "target triangles" "$orfeas" generate "$img" --quality 7 --target-triangles 5000 -o "$work/small.stl"
tris=$(od -An -t u4 -j 80 -N 4 "$work/small.stl" | tr -d ' ')
[ "$tris" -le 5000 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: $tris triangles > 5000" >&2; }

echo "test_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
