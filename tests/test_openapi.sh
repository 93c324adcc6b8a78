#!/usr/bin/env bash
# The OpenAPI document against a real validator (swagger-parser from
# tools/oracles), plus coverage: every parameter of the params table, every
# error code of error.h and every route the server has.
# Usage: test_openapi.sh OPENAPI_DUMP
set -euo pipefail
dump="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
validator="$root/tools/oracles/validate_openapi.mjs"
command -v node >/dev/null || { echo "ORACLE FAIL: node not installed (tools/deps.sh)" >&2; exit 1; }
[ -d "$root/tools/oracles/node_modules/@apidevtools/swagger-parser" ] ||
    { echo "ORACLE FAIL: swagger-parser missing (tools/deps.sh runs npm ci)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$dump" >"$tmp/openapi.json"
args=()
while read -r p; do args+=(--param "$p"); done < <("$dump" --params)
while read -r e; do args+=(--error "$e"); done < <("$dump" --errors)
for p in /api/health /api/v1/gpu/stats /api/v1/generate /api/v1/generate-progressive \
         /api/v1/jobs '/api/v1/jobs/{id}' '/api/v1/jobs/{id}/result' \
         '/api/v1/jobs/{id}/thumbnail.png' /metrics /api/v1/openapi.json /; do
    args+=(--path "$p")
done
node "$validator" "$tmp/openapi.json" "${args[@]}"
