#!/usr/bin/env bash
# Installs what orfeas needs to build and test, only what is missing:
# Debian packages with apt-get, npm packages (test oracles, the web page) from the lock files.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake pkg-config clang libclang-rt-14-dev
    libspng-dev libpng-dev libjpeg62-turbo-dev libwebp-dev libexif-dev
    libmeshoptimizer-dev libssl-dev libsqlite3-dev libmicrohttpd-dev libcjson-dev
    libhiredis-dev libopenblas-dev libcurl4-openssl-dev
    admesh assimp-utils curl prometheus chromium wrk webp redis-server
)
# node and npm may come from outside Debian (then Debian's npm conflicts).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

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

# Test oracles from npm (Khronos glTF Validator, swagger-parser), pinned by the lock file.
oracles=tools/oracles
if [[ ! -d $oracles/node_modules/gltf-validator ]] || [[ $oracles/package-lock.json -nt $oracles/node_modules/.package-lock.json ]]; then
    echo "deps: npm ci in $oracles"
    (cd "$oracles" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The web page's three.js (embedded into the binary at build time) and the
# browser test's playwright-core (drives Debian's chromium; never downloads one).
web=web
if [[ ! -d $web/node_modules/three ]] || [[ $web/package-lock.json -nt $web/node_modules/.package-lock.json ]]; then
    echo "deps: npm ci in $web"
    (cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
