#!/usr/bin/env bash
# Faults and bad input against the real server on a loopback port: clients
# that hang up mid-upload and mid-stream, slowloris clients, a 60000x60000
# PNG bomb, truncated PNG/JPEG/WebP files, a zero-byte body, wrong content
# types, GPU out-of-memory on simulated cards (a small one, and injected
# failures), and 10 000 tiny requests. After each group the server must be
# alive, /api/health 200, and the device accounting back to 0 bytes.
# kill -9 under load and a full disk: tests/test_persistence.sh.
# usage: test_faults.sh ORFEAS TESTDATA
set -u
orfeas="$1"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/server_lib.sh
source "$here/server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$2"
work="$(mktemp -d)"
trap 'server_stop; rm -rf "$work"' EXIT
passed=0 failed=0
ok() {
    passed=$((passed + 1))
    echo "PASS $*"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $*"
}
img="$(testdata_file images/horse.png)"
jpg="$(testdata_file images/apple.jpg)"
command -v node >/dev/null || { echo "node is required"; exit 1; }

# status_in WANTS CODE DESC curl-args...: the status is one of WANTS (a|b)
# and, when CODE is given, the JSON error code is CODE.
status_in() {
    local want="$1" code="$2" desc="$3"
    shift 3
    local got
    got="$(curl -s -m 60 -o "$work/body" -w '%{http_code}' "$@")"
    if ! [[ "$got" =~ ^($want)$ ]]; then
        bad "$desc: status $got, expected $want: $(head -c 200 "$work/body")"
        return
    fi
    if [ -n "$code" ]; then
        local c
        c="$(json_get "$work/body" 'j.error.code' 2>/dev/null)"
        if ! [[ "$c" =~ ^($code)$ ]]; then
            bad "$desc: error code '$c', expected $code (status $got)"
            return
        fi
    fi
    ok "$desc ($got${code:+ $c})"
}

# healthy DESC: the process lives, health answers 200, and within 20 s no
# job runs and the device holds 0 bytes.
healthy() {
    local desc="$1" alloc="?"
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        bad "$desc: server died"
        tail -20 "$SERVER_LOG"
        return
    fi
    status_in 200 "" "$desc: health" "$SERVER_URL/api/health"
    for _ in $(seq 1 100); do
        if curl -s -m 5 -o "$work/stats" "$SERVER_URL/api/v1/gpu/stats"; then
            alloc="$(json_get "$work/stats" 'j.gpu.allocated_bytes + j.gpu.reserved_bytes' 2>/dev/null)"
            [ "$alloc" = 0 ] && break
        fi
        sleep 0.2
    done
    [ "$alloc" = 0 ] && ok "$desc: device memory back to 0" || bad "$desc: device bytes $alloc"
}

server_start "$orfeas" --device sim:8GiB --workers 2 --queue-max 16 --max-upload 4MiB \
    --max-pixels 4000000 --connection-timeout 2 --max-connections 128 --log-level warn \
    --data-dir "$work/data" || exit 1
U="$SERVER_URL"
port="${U##*:}"

# --- clients that hang up: mid-upload (raw, multipart, JSON), mid-stream
node - "$port" "$jpg" <<'JS' >"$work/hangup.txt" 2>&1 && ok "hang-ups mid-upload (12 clients)" || bad "hang-ups mid-upload: $(cat "$work/hangup.txt")"
const net = require("net"), fs = require("fs");
const [port, file] = process.argv.slice(2);
const img = fs.readFileSync(file);
function hangup(kind, frac) {
    return new Promise((resolve) => {
        const s = net.connect(Number(port), "127.0.0.1");
        let body, ctype;
        if (kind === "raw") { body = img; ctype = "image/jpeg"; }
        else if (kind === "json") {
            body = Buffer.from(JSON.stringify({image: img.toString("base64"), quality: 3}));
            ctype = "application/json";
        } else {
            const b = "----orfeasfault";
            body = Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
                img, Buffer.from(`\r\n--${b}--\r\n`)]);
            ctype = "multipart/form-data; boundary=" + b;
        }
        s.on("error", () => {});
        s.on("connect", () => {
            s.write(`POST /api/v1/generate?quality=3 HTTP/1.1\r\nHost: x\r\nContent-Type: ${ctype}\r\nContent-Length: ${body.length}\r\n\r\n`);
            s.write(body.subarray(0, Math.floor(body.length * frac)));
            setTimeout(() => { s.destroy(); resolve(); }, 100);
        });
        setTimeout(() => { s.destroy(); resolve(); }, 3000);
    });
}
(async () => {
    const all = [];
    for (const kind of ["raw", "multipart", "json"])
        for (const frac of [0, 0.1, 0.5, 0.99]) all.push(hangup(kind, frac));
    await Promise.all(all);
})();
JS
# Mid-stream: read the first progressive line, then hang up (5 clients at once).
node - "$U" "$jpg" <<'JS' >"$work/midstream.txt" 2>&1 && ok "hang-ups mid-stream (5 clients)" || bad "hang-ups mid-stream: $(cat "$work/midstream.txt")"
const http = require("http"), fs = require("fs");
const [url, file] = process.argv.slice(2);
const img = fs.readFileSync(file);
function one(k) {
    return new Promise((resolve, reject) => {
        const req = http.request(url + "/api/v1/generate-progressive?quality=8&width_mm=" + (50 + k),
            {method: "POST", headers: {"Content-Type": "image/jpeg"}}, res => {
            if (res.statusCode !== 200) { res.resume(); return reject(new Error("status " + res.statusCode)); }
            let buf = "";
            res.on("data", d => {
                buf += d;
                if (buf.includes("\n")) { req.destroy(); resolve(); }
            });
        });
        req.on("error", () => resolve());
        req.setTimeout(30000, () => { req.destroy(); reject(new Error("no first line in 30 s")); });
        req.end(img);
    });
}
Promise.all([0, 1, 2, 3, 4].map(one)).catch(e => { console.error(e.message); process.exit(1); });
JS
# The hung-up stream jobs are cancelled, not left running.
running="?"
for _ in $(seq 1 150); do
    curl -s -m 5 -o "$work/jobs" "$U/api/v1/jobs?limit=100" || true
    running="$(json_get "$work/jobs" 'j.jobs.filter(x => x.status === "running" || x.status === "queued").length' 2>/dev/null)"
    [ "$running" = 0 ] && break
    sleep 0.2
done
[ "$running" = 0 ] && ok "no job left running after hang-ups" || bad "$running jobs still queued/running after hang-ups"
healthy "after hang-ups"

# --- slowloris: 20 connections trickle one header byte every 3 s (over the
# 2 s --connection-timeout); each must be closed by the server without an
# answer, while other clients are served meanwhile.
node - "$port" <<'JS' >"$work/slow.out" 2>&1 &
const net = require("net");
const [port] = process.argv.slice(2);
const head = "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaa\r\n\r\n";
let closed = 0, answered = 0;
const t0 = Date.now();
const done = [];
for (let k = 0; k < 20; k++) done.push(new Promise(resolve => {
    const s = net.connect(Number(port), "127.0.0.1");
    let i = 0, timer = null;
    const finish = () => { clearInterval(timer); resolve(); };
    s.on("data", () => { answered++; });
    s.on("close", () => { closed++; finish(); });
    s.on("error", () => {});
    s.on("connect", () => {
        s.write(head[i++]);
        timer = setInterval(() => { if (i < head.length) s.write(head[i++]); }, 3000);
    });
    setTimeout(() => { s.destroy(); finish(); }, 15000);
}));
Promise.all(done).then(() => {
    console.log(`closed=${closed} answered=${answered} seconds=${((Date.now() - t0) / 1000).toFixed(1)}`);
    process.exit(closed === 20 && answered === 0 && Date.now() - t0 < 14000 ? 0 : 1);
});
JS
slow_pid=$!
sleep 0.5
status_in 200 "" "served while 20 slowloris clients hold connections" "$U/api/health"
status_in 200 "" "generate while slowloris clients hold connections" -F "image=@$img" -F quality=1 "$U/api/v1/generate"
if wait "$slow_pid"; then ok "slowloris clients closed by the server ($(cat "$work/slow.out"))"; else
    bad "slowloris: $(cat "$work/slow.out")"; fi
healthy "after slowloris"

# --- a 60000 x 60000 PNG bomb (a valid header with a correct CRC, then a
# little IDAT), in the three upload shapes
node -e 'const z = require("zlib"); const ihdr = Buffer.alloc(17); ihdr.write("IHDR");
    ihdr.writeUInt32BE(60000, 4); ihdr.writeUInt32BE(60000, 8); ihdr[12] = 8; ihdr[13] = 2;
    const len = Buffer.alloc(4); len.writeUInt32BE(13); const crc = Buffer.alloc(4);
    crc.writeUInt32BE(z.crc32(ihdr) >>> 0);
    const idat = Buffer.concat([Buffer.from("IDAT"), z.deflateSync(Buffer.alloc(1 << 20))]);
    const ilen = Buffer.alloc(4); ilen.writeUInt32BE(idat.length - 4); const icrc = Buffer.alloc(4);
    icrc.writeUInt32BE(z.crc32(idat) >>> 0);
    process.stdout.write(Buffer.concat([Buffer.from([137,80,78,71,13,10,26,10]), len, ihdr, crc, ilen, idat, icrc]));' >"$work/bomb.png"
status_in 413 image_too_large "PNG bomb 60000x60000 (multipart)" -F "image=@$work/bomb.png" "$U/api/v1/generate"
status_in 413 image_too_large "PNG bomb (raw)" -H 'Content-Type: image/png' --data-binary "@$work/bomb.png" "$U/api/v1/generate"
status_in 413 image_too_large "PNG bomb (async job)" -F "image=@$work/bomb.png" "$U/api/v1/jobs"
status_in 413 image_too_large "PNG bomb (progressive)" -F "image=@$work/bomb.png" "$U/api/v1/generate-progressive"
node -e 'const fs=require("fs"); process.stdout.write(JSON.stringify({image: fs.readFileSync(process.argv[1]).toString("base64")}))' "$work/bomb.png" >"$work/bomb.json"
status_in 413 image_too_large "PNG bomb (JSON base64)" -H 'Content-Type: application/json' --data-binary "@$work/bomb.json" "$U/api/v1/generate"
healthy "after PNG bombs"

# --- truncated files of every format: a cut inside the signature is not
# recognised (415); any later cut is a corrupt image (422), never a 5xx.
cp "$img" "$work/full.png"
cp "$jpg" "$work/full.jpg"
if command -v cwebp >/dev/null && cwebp -quiet -q 80 "$img" -o "$work/full.webp" 2>/dev/null; then
    formats="png jpg webp"
else
    formats="png jpg"
    echo "SKIP WebP truncation: cwebp (package webp) is not installed"
fi
for f in $formats; do
    size=$(stat -c %s "$work/full.$f")
    status_in 200 "" "full $f decodes" -F "image=@$work/full.$f" -F quality=1 "$U/api/v1/generate"
    for cut in 3 20 40 $((size / 10)) $((size / 2)) $((size * 9 / 10)); do
        head -c "$cut" "$work/full.$f" >"$work/cut.$f"
        if [ "$cut" -lt 12 ]; then want="415|422" code="unsupported_media_type|invalid_image"
        else want=422 code=invalid_image; fi
        status_in "$want" "$code" "$f cut to $cut of $size bytes" -F "image=@$work/cut.$f" -F quality=1 "$U/api/v1/generate"
    done
done
status_in 422 invalid_image "shared truncated.jpg (raw)" -H 'Content-Type: image/jpeg' --data-binary "@$(testdata_file images/truncated.jpg)" "$U/api/v1/generate"
healthy "after truncated files"

# --- zero-byte bodies and wrong content types
: >"$work/empty"
status_in 400 invalid_parameter "zero-byte raw body" -H 'Content-Type: image/png' --data-binary "@$work/empty" "$U/api/v1/generate"
status_in 400 invalid_parameter "zero-byte body, no content type" -X POST "$U/api/v1/generate"
status_in "400|415|422" "invalid_parameter|unsupported_media_type|invalid_image" "zero-byte image part" -F "image=@$work/empty;type=image/png" "$U/api/v1/generate"
status_in 400 invalid_parameter "zero-byte JSON body" -H 'Content-Type: application/json' --data-binary "@$work/empty" "$U/api/v1/generate"
status_in 400 invalid_parameter "zero-byte job body" -H 'Content-Type: image/jpeg' --data-binary "@$work/empty" "$U/api/v1/jobs"
status_in 400 invalid_parameter "zero-byte progressive body" -H 'Content-Type: image/jpeg' --data-binary "@$work/empty" "$U/api/v1/generate-progressive"
status_in 415 unsupported_media_type "text/plain body" -H 'Content-Type: text/plain' --data-binary "@$img" "$U/api/v1/generate"
status_in 415 unsupported_media_type "image/gif body" -H 'Content-Type: image/gif' --data-binary "@$img" "$U/api/v1/generate"
status_in 400 invalid_parameter "PNG bytes sent as JSON" -H 'Content-Type: application/json' --data-binary "@$img" "$U/api/v1/generate"
status_in 400 invalid_parameter "multipart without a boundary" -H 'Content-Type: multipart/form-data' --data-binary "@$img" "$U/api/v1/generate"
status_in 200 "" "JPEG bytes labelled image/png (sniffed)" -H 'Content-Type: image/png' --data-binary "@$jpg" "$U/api/v1/generate?quality=1"
status_in 415 unsupported_media_type "text bytes labelled image/jpeg" -H 'Content-Type: image/jpeg' --data-binary 'hello, not an image at all' "$U/api/v1/generate"
printf 'GIF89a\1\0\1\0\0\0\0;' >"$work/x.gif"
status_in 415 unsupported_media_type "a GIF file part" -F "image=@$work/x.gif;type=image/png" "$U/api/v1/generate"
healthy "after empty bodies and wrong content types"

# --- 10 000 tiny requests (health, 404s, bad ids) over 32 keep-alive
# connections, bounded to 90 s
node - "$U" <<'JS' >"$work/tiny.out" 2>&1
const http = require("http");
const url = new URL(process.argv[2]);
const agent = new http.Agent({keepAlive: true, maxSockets: 32});
const paths = [["/api/health", 200], ["/api/v2/nothing", 404], ["/api/v1/jobs/not-a-uuid", 400],
               ["/api/v1/jobs/00000000-0000-4000-8000-000000000000", 404]];
const total = 10000, deadline = Date.now() + 90000;
let next = 0, wrong = 0, errors = 0, done = 0;
const counts = {};
function get(p) {
    return new Promise(resolve => {
        const req = http.get({host: url.hostname, port: url.port, path: p[0], agent}, res => {
            counts[res.statusCode] = (counts[res.statusCode] || 0) + 1;
            if (res.statusCode !== p[1]) wrong++;
            res.resume();
            res.on("end", resolve);
        });
        req.on("error", () => { errors++; resolve(); });
        req.setTimeout(10000, () => req.destroy());
    });
}
(async () => {
    const t0 = Date.now();
    await Promise.all(Array.from({length: 32}, async () => {
        while (next < total && Date.now() < deadline) { const k = next++; await get(paths[k % paths.length]); done++; }
    }));
    const s = (Date.now() - t0) / 1000;
    console.log(`done=${done} wrong=${wrong} errors=${errors} statuses=${JSON.stringify(counts)} seconds=${s.toFixed(1)} rps=${(done / s).toFixed(0)}`);
    process.exit(done === total && wrong === 0 && errors === 0 ? 0 : 1);
})();
JS
[ $? -eq 0 ] && ok "10000 tiny requests ($(cat "$work/tiny.out"))" || bad "tiny requests: $(cat "$work/tiny.out")"
healthy "after 10000 tiny requests"

server_stop
[ "$SERVER_EXIT" = 0 ] && ok "SIGTERM exit 0 after the faults" || bad "exit status $SERVER_EXIT on SIGTERM"

# --- GPU out of memory on a 40 MiB simulated card: 507, concurrently with
# jobs that fit; every answer is 200, 503 or 507, never another 5xx.
server_start "$orfeas" --device sim:40MiB --workers 2 --queue-max 16 --log-level warn --data-dir "$work/data2" || exit 1
U="$SERVER_URL"
status_in 507 gpu_out_of_memory "quality 10 on a 40 MiB card" -F "image=@$jpg" -F quality=10 "$U/api/v1/generate"
pids=()
for k in $(seq 1 8); do
    q=$((k % 2 == 0 ? 10 : 1))
    curl -s -m 120 -o /dev/null -w '%{http_code}\n' -F "image=@$jpg" -F quality=$q -F width_mm=$((60 + k)) \
        "$U/api/v1/generate" >"$work/oom$k" &
    pids+=($!)
done
wait "${pids[@]}"
codes="$(sort "$work"/oom* | uniq -c | tr -s ' ' | tr '\n' ',')"
if grep -qvE '^(200|503|507)$' "$work"/oom*; then bad "concurrent OOM answers: $codes"
elif [ "$(cat "$work"/oom* | grep -c '^507$')" -ge 1 ] && [ "$(cat "$work"/oom* | grep -c '^200$')" -ge 1 ]; then
    ok "8 concurrent jobs on a 40 MiB card: $codes"
else bad "concurrent OOM answers: $codes"; fi
status_in 202 "" "async job too big for the card" -F "image=@$jpg" -F quality=10 -F width_mm=77 "$U/api/v1/jobs"
id="$(json_get "$work/body" j.job_id)"
state=""
for _ in $(seq 1 300); do
    curl -s -m 5 "$U/api/v1/jobs/$id" -o "$work/st"
    state="$(json_get "$work/st" j.status)"
    [ "$state" = completed ] || [ "$state" = failed ] || [ "$state" = cancelled ] && break
    sleep 0.1
done
[ "$state" = failed ] && [ "$(json_get "$work/st" 'j.error.status')" = 507 ] && ok "async OOM job failed with 507" ||
    bad "async OOM job: $state $(head -c 200 "$work/st")"
healthy "after OOM on sim:40MiB"
server_stop

# --- injected failures: the 3rd device allocation and every one after it
# fails; the job gets 507 and the accounting returns to idle every time.
server_start "$orfeas" --device "sim:4GiB,oom-after=3" --workers 2 --log-level warn --data-dir "$work/data3" || exit 1
U="$SERVER_URL"
for k in 1 2 3; do
    status_in 507 gpu_out_of_memory "injected OOM, request $k" -F "image=@$jpg" -F quality=4 -F width_mm=$((80 + k)) "$U/api/v1/generate"
done
curl -s -m 60 -N -o "$work/oomstream" -w '%{http_code}' -F "image=@$jpg" -F quality=6 "$U/api/v1/generate-progressive" >"$work/oomcode"
if [ "$(cat "$work/oomcode")" = 507 ] || grep -q 'gpu_out_of_memory' "$work/oomstream"; then
    ok "injected OOM on the progressive route ($(cat "$work/oomcode"))"
else bad "progressive under injected OOM: $(cat "$work/oomcode") $(head -c 200 "$work/oomstream")"; fi
healthy "after injected OOM"
server_stop
[ "$SERVER_EXIT" = 0 ] && ok "SIGTERM exit 0 after OOM" || bad "exit status $SERVER_EXIT after OOM"

echo "test_faults: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
