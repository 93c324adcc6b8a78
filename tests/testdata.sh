# shellcheck shell=bash
# Where the shell tests and bench scripts find their data, by the rule of
# tests/testdata.h: the shared test data is $ORFEAS_TESTDATA when set, else
# the directory given to testdata_init (CMake's ORFEAS_TESTDATA), else
# ../shared/testdata beside the repository; images/NAME is the copy that
# ships with the repository (examples/, tests/fixtures/) when there is one.
#   testdata_init [DIR]            sets TESTDATA
#   testdata_file REL              prints the path of REL ("images/apple.jpg")
#   testdata_check WHO REL...      status 1 after one line "WHO: needs ..."
#                                  naming the first REL missing, else 0
#   testdata_require TEST REL...   exits 77 (ctest: skipped) after one line
#                                  "SKIP TEST: needs ..." when one is missing
#   testdata_have WHAT REL...      status 1 after one line "SKIP WHAT: needs
#                                  ..." when one is missing (WHAT: a part of
#                                  a test that then does not run)
#   testdata_noise_f32 FILE N      writes N seeded float32s in [-2, 2) (an LCG,
#                                  the same bytes on every machine): a network
#                                  input for `orfeas depth --tensor-in`

_testdata_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

testdata_init() {
    TESTDATA="${ORFEAS_TESTDATA:-${1:-$_testdata_root/../shared/testdata}}"
}
testdata_init ""

testdata_file() {
    local rel="$1" dir name="${1#images/}"
    if [ "$name" != "$rel" ] && [ "${name#*/}" = "$name" ]; then
        for dir in examples tests/fixtures; do
            [ -r "$_testdata_root/$dir/$name" ] && { echo "$_testdata_root/$dir/$name"; return; }
        done
    fi
    echo "$TESTDATA/$rel"
}

testdata_check() {
    local who="$1" rel path
    shift
    for rel in "$@"; do
        path="$(testdata_file "$rel")"
        [ -r "$path" ] && continue
        echo "$who: needs ../shared/testdata/$rel (not found at $path); set ORFEAS_TESTDATA=DIR to the orfeas shared test data"
        return 1
    done
    return 0
}

testdata_require() {
    local test="$1"
    shift
    testdata_check "SKIP $test" "$@" || exit 77
}

testdata_have() {
    local what="$1"
    shift
    testdata_check "SKIP $what" "$@"
}

testdata_noise_f32() {
    node -e 'const x = new Float32Array(Number(process.argv[2])); let s = 7;
        for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) % 2147483648; x[i] = s / 2147483648 * 4 - 2; }
        require("fs").writeFileSync(process.argv[1], Buffer.from(x.buffer));' "$1" "$2"
}
