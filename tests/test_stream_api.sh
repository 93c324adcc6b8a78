#!/usr/bin/env bash
# The progressive route, /metrics and /api/v1/openapi.json on a real server:
# NDJSON lines (ladder, fields, final job), each GLB through the Khronos
# validator, the job's result route, an error line, promtool on the live
# scrape, swagger-parser on the served document.
# Usage: test_stream_api.sh ORFEAS TESTDATA
set -eu  # not pipefail: server_lib.sh polls with grep pipelines that may match nothing yet
orfeas="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/server_lib.sh
source "$here/server_lib.sh"
# shellcheck source=tests/oracles.sh
source "$here/oracles.sh"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$2"
testdata_require stream_api images/plant.jpg
plant="$(testdata_file images/plant.jpg)"
tmp="$(mktemp -d)"
trap 'server_stop; rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -n "${SERVER_LOG:-}" ] && tail -20 "$SERVER_LOG" >&2
    exit 1
}

server_start "$orfeas" --workers 1 --data-dir "$tmp/data"

# quality 5: levels 1, 3, 5; the last backed by a real job.
code="$(curl -sN -o "$tmp/p.ndjson" -w '%{http_code} %{content_type}' \
    -F image=@"$plant" -F quality=5 "$SERVER_URL/api/v1/generate-progressive")"
[ "$code" = "200 application/x-ndjson" ] || fail "progressive answered $code"
mkdir "$tmp/glb"
node - "$tmp/p.ndjson" "$tmp/glb" >"$tmp/job_id" <<'JS'
const fs = require('fs');
const [file, dir] = process.argv.slice(2);
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);
const die = (m) => { console.error(`FAIL: ${m}`); process.exit(1); };
// Coarse levels the top level overtook are skipped, so 1 to 3 lines.
if (lines.length < 1 || lines.length > 3) die(`${lines.length} lines, want 1..3`);
let jobId = '', prev = null;
lines.forEach((l, i) => {
  const o = JSON.parse(l);
  for (const k of ['stage', 'stages', 'progress', 'resolution', 'format', 'triangles', 'elapsed_ms', 'data'])
    if (!(k in o)) die(`line ${i + 1} lacks ${k}`);
  if (o.stages !== 3 || o.format !== 'glb' || (prev && o.stage <= prev.stage)) die(`line ${i + 1}: ${l.slice(0, 200)}`);
  if (o.quality !== [1, 3, 5][o.stage - 1]) die(`line ${i + 1} quality ${o.quality}`);
  if (prev && o.resolution <= prev.resolution) die('resolution does not grow');
  const last = i === lines.length - 1;
  if (last !== (o.final === true) || (last && o.stage !== 3)) die(`final on line ${i + 1}: ${o.final}`);
  if (last) jobId = o.job_id;
  fs.writeFileSync(`${dir}/level${o.stage}.glb`, Buffer.from(o.data, 'base64'));
  prev = o;
});
if (!/^[0-9a-f-]{36}$/.test(jobId)) die(`job_id ${jobId}`);
console.log(jobId);
JS
oracle_gltf "$tmp/glb" || fail "GLB levels"
job="$(cat "$tmp/job_id")"
code="$(curl -s -o "$tmp/result.glb" -w '%{http_code}' "$SERVER_URL/api/v1/jobs/$job/result")"
[ "$code" = 200 ] || fail "result of the final job: $code"
cmp -s "$tmp/result.glb" "$tmp/glb/level3.glb" || fail "final line differs from the job's result"

# quality 2: one line only.
curl -sN -o "$tmp/q2.ndjson" -F image=@"$plant" -F quality=2 \
    "$SERVER_URL/api/v1/generate-progressive"
[ "$(wc -l <"$tmp/q2.ndjson")" = 1 ] || fail "quality 2: $(wc -l <"$tmp/q2.ndjson") lines"
grep -q '"final":true' "$tmp/q2.ndjson" || fail "quality 2: no final line"

# A bad parameter is a plain 400 before any stream.
code="$(curl -s -o "$tmp/bad.json" -w '%{http_code}' -F image=@"$plant" \
    -F quality=11 "$SERVER_URL/api/v1/generate-progressive")"
[ "$code" = 400 ] || fail "quality 11 answered $code"
grep -q '"code":"invalid_parameter"' "$tmp/bad.json" || fail "400 body: $(cat "$tmp/bad.json")"

# An error inside the stream (inflate needs a foreground; a flat grey
# image has none) is one error line that ends it.
printf 'P6\n64 48\n255\n' >"$tmp/flat.ppm"
head -c $((64 * 48 * 3)) /dev/zero | tr '\0' '\200' >>"$tmp/flat.ppm"
if command -v cjpeg >/dev/null; then
    cjpeg -quality 90 "$tmp/flat.ppm" >"$tmp/flat.jpg"
    curl -sN -o "$tmp/err.ndjson" -F image=@"$tmp/flat.jpg" -F quality=3 -F mode=inflate \
        -F background=remove "$SERVER_URL/api/v1/generate-progressive"
    tail -1 "$tmp/err.ndjson" | grep -q '^{"error":{"code":"no_foreground","message":".*","status":422}}$' ||
        fail "error line: $(cut -c1-200 "$tmp/err.ndjson")"
fi

# The live scrape through promtool; the generations above are counted.
code="$(curl -s -o "$tmp/metrics.txt" -w '%{http_code} %{content_type}' "$SERVER_URL/metrics")"
[ "$code" = "200 text/plain; version=0.0.4; charset=utf-8" ] || fail "/metrics answered $code"
if command -v promtool >/dev/null; then
    out="$(promtool check metrics <"$tmp/metrics.txt" 2>&1)" || fail "promtool: $out"
    [ -z "$out" ] || fail "promtool: $out"
else
    fail "promtool not installed (tools/deps.sh: prometheus)"
fi
grep -q '^orfeas_http_requests_total{route="generate_progressive",status="200"} [1-9]' "$tmp/metrics.txt" ||
    fail "no progressive requests counted"
grep -q '^orfeas_generations_total{outcome="ok"} [1-9]' "$tmp/metrics.txt" || fail "no generations counted"
grep -q '^orfeas_jobs{state="completed"} [1-9]' "$tmp/metrics.txt" || fail "no completed jobs"
grep -q '^orfeas_vram_total_bytes [0-9]' "$tmp/metrics.txt" || fail "no VRAM gauge"

# The served OpenAPI document through swagger-parser.
code="$(curl -s -o "$tmp/openapi.json" -w '%{http_code}' "$SERVER_URL/api/v1/openapi.json")"
[ "$code" = 200 ] || fail "openapi.json answered $code"
node "$here/../tools/oracles/validate_openapi.mjs" "$tmp/openapi.json" \
    --path /api/v1/generate-progressive --path /metrics --param quality --error busy ||
    fail "served OpenAPI document"

server_stop
[ "$SERVER_EXIT" = 0 ] || fail "server exit $SERVER_EXIT"
echo "stream api: ok"
