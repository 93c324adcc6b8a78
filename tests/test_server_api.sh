#!/usr/bin/env bash
# The HTTP API against the real server on a loopback port: every route, the
# three upload styles, the progressive stream (each line JSON, each GLB
# valid), every kind of bad request with its status and code, concurrent
# clients, out-of-memory on a simulated card, API keys, and shutdown.
# usage: test_server_api.sh ORFEAS TESTDATA
set -u
orfeas="$1"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/server_lib.sh
source "$here/server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$2"
# shellcheck source=tests/oracles.sh
source "$here/oracles.sh"
work="$(mktemp -d)"
trap 'server_stop; rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "FAIL $*" >&2
}
img="$(testdata_file images/horse.png)"
jpg="$(testdata_file images/apple.jpg)"

# status_is WANT CODE DESC curl-args...: checks the status and, for errors,
# the JSON error code.
status_is() {
    local want="$1" code="$2" desc="$3"
    shift 3
    local got
    got="$(curl -s -o "$work/body" -w '%{http_code}' "$@")"
    if [ "$got" != "$want" ]; then
        bad "$desc: status $got, expected $want: $(head -c 300 "$work/body")"
        return
    fi
    if [ -n "$code" ]; then
        local c
        c="$(json_get "$work/body" 'j.error.code' 2>/dev/null)"
        local s
        s="$(json_get "$work/body" 'j.error.status' 2>/dev/null)"
        if [ "$c" != "$code" ] || [ "$s" != "$want" ]; then
            bad "$desc: error code '$c' status '$s', expected $code $want"
            return
        fi
    fi
    ok
}

server_start "$orfeas" --device sim:8GiB --workers 2 --queue-max 8 --max-upload 2MiB \
    --max-pixels 4000000 --connection-timeout 3 --data-dir "$work/data" || exit 1
U="$SERVER_URL"

# --- health, stats, openapi, metrics, page
status_is 200 "" "health" "$U/api/health"
[ "$(json_get "$work/body" j.status)" = ok ] && ok || bad "health status"
status_is 200 "" "gpu stats" "$U/api/v1/gpu/stats"
[ "$(json_get "$work/body" j.gpu.backend)" = sim ] && ok || bad "gpu backend"
[ "$(json_get "$work/body" j.status)" = operational ] && ok || bad "gpu stats status"
json_get "$work/body" 'j.optimal_batch_size >= 0 && j.recommended_precision.length > 0' | grep -q true && ok || bad "gpu stats fields"
status_is 200 "" "openapi" "$U/api/v1/openapi.json"
json_get "$work/body" 'j.openapi.startsWith("3.") && Object.keys(j.paths).length >= 8' | grep -q true && ok || bad "openapi paths"
status_is 200 "" "page" "$U/"

# --- sync generate: multipart, raw, JSON base64
status_is 200 "" "multipart generate" -D "$work/h" -F "image=@$img" -F quality=2 -F format=stl "$U/api/v1/generate"
grep -qi '^content-type: model/stl' "$work/h" && ok || bad "stl content type"
grep -qi '^x-orfeas-job: [0-9a-f-]\{36\}' "$work/h" && ok || bad "X-Orfeas-Job"
grep -qi '^x-orfeas-cache:' "$work/h" && ok || bad "X-Orfeas-Cache"
grep -qi '^x-orfeas-precision:' "$work/h" && ok || bad "X-Orfeas-Precision"
grep -qi '^server-timing: .*decode;dur=' "$work/h" && ok || bad "Server-Timing"
grep -qi '^content-disposition: attachment' "$work/h" && ok || bad "Content-Disposition"
cp "$work/body" "$work/sync.stl"
oracle_admesh "$work/sync.stl" 1 >/dev/null && ok || bad "sync STL admesh"

status_is 200 "" "raw body generate" -D "$work/h" -H 'Content-Type: image/jpeg' --data-binary "@$jpg" "$U/api/v1/generate?quality=2&format=glb"
grep -qi '^content-type: model/gltf-binary' "$work/h" && ok || bad "glb content type"
cp "$work/body" "$work/raw.glb"
oracle_gltf "$work/raw.glb" >/dev/null && ok || bad "raw GLB validator"

node -e 'const fs=require("fs"); fs.writeFileSync(process.argv[2], JSON.stringify({image: fs.readFileSync(process.argv[1]).toString("base64"), quality: 1, format: "ply", mode: "relief"}))' "$img" "$work/req.json"
status_is 200 "" "JSON generate" -D "$work/h" -H 'Content-Type: application/json' --data-binary "@$work/req.json" "$U/api/v1/generate"
grep -qi '^content-type: application/x-ply' "$work/h" && ok || bad "ply content type"

status_is 200 "" "generate JSON summary" -H 'Accept: application/json' -F "image=@$img" -F quality=1 "$U/api/v1/generate"
url="$(json_get "$work/body" j.download_url)"
[ "$(json_get "$work/body" 'j.triangles > 0')" = true ] && ok || bad "summary triangles"
status_is 200 "" "download_url" "$U$url"

# --- async jobs
status_is 202 "" "job create" -F "image=@$jpg" -F quality=3 "$U/api/v1/jobs"
id="$(json_get "$work/body" j.job_id)"
st0="$(json_get "$work/body" j.status)"
[ "$st0" = queued ] || [ "$st0" = running ] && ok || bad "job created as $st0"
state=""
for _ in $(seq 1 300); do
    curl -s "$U/api/v1/jobs/$id" -o "$work/st"
    state="$(json_get "$work/st" j.status)"
    [ "$state" = completed ] || [ "$state" = failed ] && break
    sleep 0.05
done
[ "$state" = completed ] && ok || bad "job finished as $state"
[ "$(json_get "$work/st" 'j.progress')" = 100 ] && ok || bad "progress 100"
status_is 200 "" "job result" "$U/api/v1/jobs/$id/result"
status_is 200 "" "job result as stl" -o "$work/job.stl" "$U/api/v1/jobs/$id/result?format=stl"
status_is 200 "" "thumbnail" -D "$work/h" "$U/api/v1/jobs/$id/thumbnail.png"
grep -qi '^content-type: image/png' "$work/h" && ok || bad "thumbnail type"

# A job still queued behind others answers 409 on /result and can be cancelled.
for k in 1 2; do curl -s -o /dev/null -F "image=@$jpg" -F quality=9 "$U/api/v1/jobs"; done
status_is 202 "" "job to cancel" -F "image=@$jpg" -F quality=9 "$U/api/v1/jobs"
cid="$(json_get "$work/body" j.job_id)"
status_is 409 not_ready "result before finished" "$U/api/v1/jobs/$cid/result"
status_is 200 "" "cancel" -X DELETE "$U/api/v1/jobs/$cid"
curl -s "$U/api/v1/jobs/$cid" -o "$work/st"
[ "$(json_get "$work/st" j.status)" = cancelled ] && ok || bad "cancelled state"

# --- progressive stream
curl -s -N -F "image=@$jpg" -F quality=5 "$U/api/v1/generate-progressive" -o "$work/stream.ndjson"
node - "$work/stream.ndjson" "$work" <<'JS' && ok || bad "progressive stream"
const fs = require("fs");
const lines = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean);
if (lines.length < 2) throw new Error("only " + lines.length + " lines");
let stage = 0;
lines.forEach((l, i) => {
    const o = JSON.parse(l);
    if (o.error) throw new Error("error line: " + l);
    if (o.stage !== stage + 1) throw new Error("stage order");
    stage = o.stage;
    if (o.format !== "glb" || !o.data || !(o.triangles > 0)) throw new Error("fields");
    fs.writeFileSync(process.argv[3] + "/level" + o.stage + ".glb", Buffer.from(o.data, "base64"));
    if (i === lines.length - 1 && !(o.final === true && o.job_id)) throw new Error("final line");
});
JS
oracle_gltf "$work"/level*.glb >/dev/null && ok || bad "progressive GLBs validate"

# --- bad requests: status and code, then the server still answers
status_is 400 invalid_parameter "unknown parameter" -F "image=@$img" -F colour=red "$U/api/v1/generate"
status_is 400 invalid_parameter "out of range" -F "image=@$img" -F quality=11 "$U/api/v1/generate"
status_is 400 invalid_parameter "missing image" -F quality=3 "$U/api/v1/generate"
status_is 400 invalid_parameter "malformed multipart" -H 'Content-Type: multipart/form-data; boundary=XYZ' --data-binary 'garbage' "$U/api/v1/generate"
status_is 400 invalid_parameter "malformed job id" "$U/api/v1/jobs/not-a-uuid"
status_is 404 not_found "unknown job" "$U/api/v1/jobs/00000000-0000-4000-8000-000000000000"
status_is 404 not_found "unknown route" "$U/api/v2/nothing"
status_is 405 method_not_allowed "wrong method" -X PUT "$U/api/v1/generate"
head -c 3000000 /dev/zero >"$work/big.bin"
status_is 413 payload_too_large "upload too large" -H 'Content-Type: image/png' --data-binary "@$work/big.bin" "$U/api/v1/generate"
# A valid PNG header claiming 60000 x 60000 pixels (correct CRC), nothing else.
node -e 'const z = require("zlib"); const ihdr = Buffer.alloc(17); ihdr.write("IHDR");
    ihdr.writeUInt32BE(60000, 4); ihdr.writeUInt32BE(60000, 8); ihdr[12] = 8; ihdr[13] = 2;
    const len = Buffer.alloc(4); len.writeUInt32BE(13); const crc = Buffer.alloc(4);
    crc.writeUInt32BE(z.crc32(ihdr) >>> 0);
    process.stdout.write(Buffer.concat([Buffer.from([137,80,78,71,13,10,26,10]), len, ihdr, crc]));' >"$work/bomb.png"
status_is 413 image_too_large "pixel bomb" -F "image=@$work/bomb.png" "$U/api/v1/generate"
printf 'GIF89a\1\0\1\0' >"$work/x.gif"
status_is 415 unsupported_media_type "gif" -F "image=@$work/x.gif" "$U/api/v1/generate"
status_is 422 invalid_image "truncated jpeg" -F "image=@$(testdata_file images/truncated.jpg)" "$U/api/v1/generate"
status_is 200 "" "still healthy after bad requests" "$U/api/health"

# --- concurrent clients
pids=()
for k in $(seq 1 16); do
    curl -s -o "$work/c$k" -w '%{http_code}\n' -F "image=@$img" -F quality=1 "$U/api/v1/generate" >"$work/code$k" &
    pids+=($!)
done
wait "${pids[@]}"
n200=$(cat "$work"/code* | grep -c '^200$')
n503=$(cat "$work"/code* | grep -c '^503$')
[ $((n200 + n503)) -eq 16 ] && [ "$n200" -ge 8 ] && ok || bad "concurrent: $n200 ok, $n503 busy of 16"

# --- metrics reflect what happened
status_is 200 "" "metrics" "$U/metrics"
grep -q '^orfeas_http_requests_total{.*route="generate".*status="200".*} [1-9]' "$work/body" && ok || bad "request counter"
grep -q '^orfeas_generation_stage_seconds_bucket' "$work/body" && ok || bad "stage histogram"
grep -q '^orfeas_vram_total_bytes ' "$work/body" && ok || bad "vram gauge"

# --- slow client: a connection that never finishes its headers is closed
exec 3<>"/dev/tcp/127.0.0.1/${U##*:}"
printf 'GET /api/health HTTP/1.1\r\nHost: x\r\n' >&3
sleep 5
# Writing to the closed socket must not kill this script (SIGPIPE).
if (trap '' PIPE; printf 'X-Late: 1\r\n\r\n' >&3) 2>/dev/null && timeout 2 head -c 1 <&3 | grep -q .; then
    bad "slow client still served"
else ok; fi
exec 3>&- 3<&-

# --- shutdown: SIGTERM drains and exits 0
server_stop
[ "$SERVER_EXIT" = 0 ] && ok || bad "exit status $SERVER_EXIT on SIGTERM"
grep -q 'draining' "$SERVER_LOG" && ok || bad "drain logged"
grep -qE '"?POST /api/v1/generate 200' "$SERVER_LOG" && ok || bad "access log line"

# --- out of memory on a small simulated card: 507, server healthy, memory back to idle
server_start "$orfeas" --device sim:40MiB --data-dir "$work/data2" || exit 1
U="$SERVER_URL"
status_is 507 gpu_out_of_memory "too big for the card" -F "image=@$jpg" -F quality=10 "$U/api/v1/generate"
status_is 200 "" "small job still fits" -F "image=@$img" -F quality=1 "$U/api/v1/generate"
status_is 200 "" "stats after oom" "$U/api/v1/gpu/stats"
[ "$(json_get "$work/body" 'j.gpu.allocated_bytes')" = 0 ] && ok || bad "allocated back to 0"
server_stop
server_start "$orfeas" --device "sim:4GiB,oom-after=6" --data-dir "$work/data3" || exit 1
U="$SERVER_URL"
status_is 507 gpu_out_of_memory "injected oom" -F "image=@$jpg" -F quality=4 "$U/api/v1/generate"
status_is 200 "" "health after injected oom" "$U/api/health"
status_is 200 "" "stats after injected oom" "$U/api/v1/gpu/stats"
[ "$(json_get "$work/body" 'j.gpu.allocated_bytes + j.gpu.reserved_bytes')" = 0 ] && ok || bad "accounting idle after injected oom"
server_stop

# --- API key: every route but health needs it; non-loopback needs a key
server_start "$orfeas" --device cpu --api-key s3cret --data-dir "$work/data4" || exit 1
U="$SERVER_URL"
status_is 200 "" "health without key" "$U/api/health"
status_is 401 unauthorized "stats without key" "$U/api/v1/gpu/stats"
status_is 401 unauthorized "wrong key" -H 'Authorization: Bearer nope' "$U/api/v1/gpu/stats"
status_is 200 "" "right key" -H 'Authorization: Bearer s3cret' "$U/api/v1/gpu/stats"
server_stop
if "$orfeas" serve --host 0.0.0.0 --port 0 2>"$work/refuse.txt"; then bad "bound 0.0.0.0 without a key"; else
    grep -q 'api-key' "$work/refuse.txt" && ok || bad "refusal message"
fi

# Every option of `orfeas serve --help` is documented in docs/server.md.
"$orfeas" serve --help >"$work/serve_help.txt"
for flag in $(grep -oE -- '^  --[a-z-]+' "$work/serve_help.txt" | tr -d ' '); do
    grep -q -- "\`$flag\`" "$here/../docs/server.md" && ok || bad "$flag missing from docs/server.md"
done

echo "test_server_api: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
