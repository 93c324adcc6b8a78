#!/usr/bin/env bash
# Server benchmark: wrk against /api/health and against sync generate at
# quality 4 (64 connections), and the progressive stream's time to the first
# and to the final line (client-side, and the server's own elapsed_ms),
# median of several runs per image. Prints markdown tables.
# usage: bench/bench_server.sh [ORFEAS] [SECONDS]
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
orfeas="${1:-$here/build/orfeas}"
secs="${2:-10}"
# shellcheck source=tests/server_lib.sh
source "$here/tests/server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/tests/testdata.sh"
images=(apple.jpg plant.jpg astronaut.png rocket.jpg)
testdata_check bench_server.sh "${images[@]/#/images/}" || exit 1
work="$(mktemp -d)"
trap 'server_stop; rm -rf "$work"' EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (tools/deps.sh)"; exit 1; }

server_start "$orfeas" --workers 2 --queue-max 1024 --max-connections 512 --log-level warn \
    --data-dir "$work/data" || exit 1
echo "orfeas server benchmark, $(nproc) cores, device auto, ${secs}s per wrk run"
echo

cat >"$work/post.lua" <<LUA
local f = io.open("$(testdata_file images/apple.jpg)", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
LUA

run_wrk() { # name conns url [script]
    local name="$1" conns="$2" url="$3" script="${4:-}"
    local out
    out="$(wrk -t2 -c"$conns" -d"${secs}s" --timeout 60s --latency ${script:+-s "$script"} "$url" 2>&1)"
    local rps p50 p90 p99 non2xx errors
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p90="$(awk '$1 == "90%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
    errors="$(awk '/Socket errors/ {print $0}' <<<"$out" | sed 's/.*errors: //')"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$conns" "$rps" "$p50" "$p90" "$p99" \
        "${non2xx:-0}" "${errors:-none}"
}

echo "| route | connections | requests/s | p50 | p90 | p99 | non-2xx | socket errors |"
echo "|---|---|---|---|---|---|---|---|"
run_wrk "GET /api/health" 64 "$SERVER_URL/api/health"
run_wrk "POST /api/v1/generate q4 (apple.jpg)" 64 "$SERVER_URL/api/v1/generate?quality=4&format=glb" "$work/post.lua"
echo

# Progressive: client-side time to the first and final lines, and the
# server's elapsed_ms on those lines; median of 5 runs per image.
echo "| image | quality | levels | first line ms (client) | first line ms (server) | final line ms (client) | final/first |"
echo "|---|---|---|---|---|---|---|"
for img in "${images[@]}"; do
    node - "$SERVER_URL" "$(testdata_file "images/$img")" 7 5 <<'JS'
const http = require("http"), fs = require("fs"), path = require("path");
const [url, file, quality, runs] = process.argv.slice(2);
const body = fs.readFileSync(file);
const ext = path.extname(file).slice(1).replace("jpg", "jpeg");
function once() {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
        const req = http.request(url + "/api/v1/generate-progressive?quality=" + quality,
            {method: "POST", headers: {"Content-Type": "image/" + ext}}, res => {
            let buf = "", first = null, firstServer = null, lines = 0;
            res.on("data", d => {
                buf += d;
                let i;
                while ((i = buf.indexOf("\n")) >= 0) {
                    const o = JSON.parse(buf.slice(0, i));
                    buf = buf.slice(i + 1);
                    lines++;
                    if (o.error) return reject(new Error(JSON.stringify(o.error)));
                    if (first === null) { first = ms(); firstServer = o.elapsed_ms; }
                    if (o.final) resolve({first, firstServer, final: ms(), lines});
                }
            });
            res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body);
    });
}
(async () => {
    const r = [];
    for (let k = 0; k < Number(runs); k++) r.push(await once());
    const med = a => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
    const f = med(r.map(x => x.first)), fs_ = med(r.map(x => x.firstServer)), fin = med(r.map(x => x.final));
    console.log(`| ${path.basename(file)} | ${quality} | ${r[0].lines} | ${f.toFixed(1)} | ${fs_.toFixed(1)} | ${fin.toFixed(1)} | ${(fin / f).toFixed(1)}x |`);
})().catch(e => { console.log(`| ${path.basename(file)} | ${quality} | error: ${e.message} |`); });
JS
done
