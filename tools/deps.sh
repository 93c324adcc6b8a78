#!/usr/bin/env bash
# Installs what orfeas needs, only what is missing: Debian packages with
# apt-get, npm packages from the lock files.
#   tools/deps.sh run    to build and run the server (make build, make run):
#                        compiler, cmake, pkg-config, the -dev libraries,
#                        node/npm and three.js (web/, embedded at build time)
#   tools/deps.sh test   that, and what only the tests, fuzzing and the
#                        benchmarks use (make test and the others); the default
set -euo pipefail
cd "$(dirname "$0")/.."
set_name="${1:-test}"
case "$set_name" in
run | test) ;;
*)
    echo "usage: tools/deps.sh [run|test]" >&2
    exit 2
    ;;
esac

packages=(
    build-essential cmake pkg-config
    libspng-dev libpng-dev libjpeg62-turbo-dev libwebp-dev libexif-dev
    libmeshoptimizer-dev libssl-dev libsqlite3-dev libmicrohttpd-dev libcjson-dev
    libhiredis-dev libopenblas-dev
)
# node and npm may come from outside Debian (then Debian's npm conflicts).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# clang and its runtime: the libFuzzer build; the rest: the tests' oracles,
# clients and services (curl, admesh, assimp, promtool, chromium, wrk,
# cwebp, redis-server).
[[ $set_name == test ]] && packages+=(
    clang libclang-rt-14-dev
    admesh assimp-utils curl prometheus chromium wrk webp redis-server
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# npm_ci DIR PACKAGE: npm ci in DIR (pinned by its package-lock.json) unless
# node_modules/PACKAGE is there and not older than the lock file.
npm_ci() {
    local dir="$1" package="$2"
    if [[ ! -d $dir/node_modules/$package ]] || [[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
        echo "deps: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# The web page's three.js, embedded into the binary at build time.
npm_ci web three
[[ $set_name == test ]] || exit 0
# Test oracles (Khronos glTF Validator, swagger-parser), and the browser
# test's playwright-core (drives Debian's chromium; never downloads one).
npm_ci tools/oracles gltf-validator
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_ci tests/web playwright-core
