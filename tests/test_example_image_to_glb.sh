#!/usr/bin/env bash
# examples/image_to_glb (liborfeas alone, public headers only) on a photo:
# its GLB passes the Khronos glTF Validator and equals, byte for byte, what
# `orfeas generate` writes from the same image and parameters.
# Usage: test_example_image_to_glb.sh IMAGE_TO_GLB ORFEAS TESTDATA
# Exit 77 (skipped) when horse.png is in neither examples/ nor the test data.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/oracles.sh
source "$here/oracles.sh"

example="$1" orfeas="$2"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$3"
testdata_require example_image_to_glb images/horse.png
image="$(testdata_file images/horse.png)"

dir="$(mktemp -d "${TMPDIR:-/tmp}/orfeas-example.XXXXXX")"
trap 'rm -rf "$dir"' EXIT

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# compare NAME "name=value ..." : the example and the CLI on the same
# parameters (the CLI on the cpu, as the example runs on the host).
compare() {
    local name="$1" flags=() kv
    # shellcheck disable=SC2206
    local params=($2) flag
    for kv in "${params[@]}"; do
        flag="${kv%%=*}"
        flags+=("--${flag//_/-}" "${kv#*=}") # width_mm=60 -> --width-mm 60
    done
    if ! "$example" "$image" "$dir/$name.example.glb" "${params[@]}"; then
        fail "$name: image_to_glb failed"
        return
    fi
    if ! "$orfeas" generate "$image" -o "$dir/$name.cli.glb" --device cpu -q "${flags[@]}"; then
        fail "$name: orfeas generate failed"
        return
    fi
    if cmp "$dir/$name.example.glb" "$dir/$name.cli.glb"; then
        echo "$name: identical to orfeas generate ($(wc -c <"$dir/$name.cli.glb") bytes)"
    else
        fail "$name: image_to_glb and orfeas generate wrote different GLBs"
    fi
    oracle_gltf "$dir/$name.example.glb" || fail "$name: glTF validation"
}

compare defaults ""
compare relief "mode=relief quality=3 width_mm=60 texture=none"

# A bad parameter is refused with status 2, an unreadable image with 3.
"$example" "$image" "$dir/bad.glb" quality=99 2>/dev/null
rc=$?
[ "$rc" -eq 2 ] || fail "quality=99: exit $rc, expected 2"
"$example" "$dir/missing.png" "$dir/missing.glb" 2>/dev/null
rc=$?
[ "$rc" -eq 3 ] || fail "missing image: exit $rc, expected 3"
[ ! -e "$dir/bad.glb" ] && [ ! -e "$dir/missing.glb" ] || fail "a failed run wrote a file"

if [ "$failures" -ne 0 ]; then
    echo "example_image_to_glb: $failures failure(s)" >&2
    exit 1
fi
echo "example_image_to_glb: all checks passed ($image)"
