#!/usr/bin/env bash
# liborfeas, the engine, must not reach the service's libraries: no symbol
# of libmicrohttpd (MHD_*), SQLite (sqlite3_*), hiredis (redis*), OpenSSL
# (EVP_*, SHA256*, ...) undefined in it, and none that liborfeas_service
# defines (an upward reference, from the engine into cache/jobs/cluster/
# server). The service archive must show those libraries' symbols, so the
# check is known to see them.
# And every global symbol either library defines is orfeas_-prefixed (C++
# names demangled: the CUDA code's namespace is orfeas_dc), but for what the
# toolchain generates: nvcc's host stubs of our kernels, the C++ runtime's
# DW.ref.__gxx_personality_v0, AddressSanitizer's ODR indicators
# (__odr_asan.<our global>).
# Usage: test_libs.sh NM LIBORFEAS.a LIBORFEAS_SERVICE.a
set -u
nm_tool="$1" engine="$2" service="$3"
forbidden='^(MHD_|sqlite3_|redis|EVP_|SHA256|SHA1|OPENSSL_|CRYPTO_|ERR_)'

# undefined / defined external symbols of an archive, one per line, sorted
undefined() { "$nm_tool" -u "$1" | awk 'NF >= 2 && $(NF-1) ~ /^[Uw]$/ { print $NF }' | sort -u; }
defined() {
    "$nm_tool" -g --defined-only "$1" | awk 'NF == 3 && $2 ~ /^[A-Z]$/ && $2 != "U" { print $3 }' |
        sort -u
}

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

engine_u="$(undefined "$engine")" || { echo "FAIL: $nm_tool -u $engine" >&2; exit 1; }
service_u="$(undefined "$service")" || { echo "FAIL: $nm_tool -u $service" >&2; exit 1; }
engine_d="$(defined "$engine")"
service_d="$(defined "$service")"
[ -n "$engine_u" ] && [ -n "$engine_d" ] && [ -n "$service_d" ] ||
    { echo "FAIL: $nm_tool listed no symbols" >&2; exit 1; }

bad="$(grep -E "$forbidden" <<<"$engine_u")"
[ -z "$bad" ] || fail "liborfeas references service libraries:"$'\n'"$bad"

# Defined in both would be a duplicate; undefined in the engine and defined
# in the service is the engine calling up.
up="$(comm -12 <(echo "$engine_u") <(echo "$service_d"))"
[ -z "$up" ] || fail "liborfeas references liborfeas_service:"$'\n'"$up"
dup="$(comm -12 <(echo "$engine_d") <(echo "$service_d"))"
[ -z "$dup" ] || fail "symbols defined in both libraries:"$'\n'"$dup"

# The control: the service does use each library the engine must not.
for prefix in MHD_ sqlite3_ redis EVP_; do
    grep -q "^$prefix" <<<"$service_u" || fail "control: liborfeas_service shows no $prefix* symbol"
done

unprefixed="$(printf '%s\n%s\n' "$engine_d" "$service_d" | c++filt | grep -v '^orfeas_' |
    grep -vE '^DW\.ref\.__gxx_personality_v0$|^__device_stub__Z.*orfeas_dc|^__odr_asan\.orfeas_' ||
    true)"
[ -z "$unprefixed" ] || fail "global symbols without the orfeas_ prefix:"$'\n'"$unprefixed"

if [ "$failures" -ne 0 ]; then
    echo "libs_engine_deps: $failures failure(s)" >&2
    exit 1
fi
echo "libs_engine_deps: liborfeas ($(wc -l <<<"$engine_u") undefined symbols) needs none of" \
    "MHD, SQLite, hiredis, OpenSSL or liborfeas_service;" \
    "$(printf '%s\n%s\n' "$engine_d" "$service_d" | wc -l) global symbols, all orfeas_-prefixed"
