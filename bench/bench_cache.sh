#!/usr/bin/env bash
# Cache benchmark: latency of a miss (the cache cleared before each run) and
# of a hit for the same request at qualities 4, 7 and 10 (median of many,
# one keep-alive client, raw image body), their ratio; then hits/s with wrk
# at 64 connections on a warm entry (a small STL and the quality-4 GLB).
# Prints markdown tables.
# usage: bench/bench_cache.sh [ORFEAS] [IMAGE] [SECONDS]
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
orfeas="${1:-$here/build/orfeas}"
secs="${3:-10}"
# shellcheck source=tests/server_lib.sh
source "$here/tests/server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/tests/testdata.sh"
image="${2:-$(testdata_file images/horse.png)}"
[ -r "$image" ] || { echo "bench_cache.sh: no image at $image"; exit 1; }
work="$(mktemp -d)"
trap 'server_stop; rm -rf "$work"' EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (tools/deps.sh)"; exit 1; }

server_start "$orfeas" --workers 2 --queue-max 1024 --max-connections 512 --log-level warn \
    --data-dir "$work/data" || exit 1
echo "orfeas cache benchmark, $(nproc) cores, device auto, image $(basename "$image")"
echo
# The JSON-summary hit (Accept: application/json, no model bytes) isolates
# the cache's own cost from sending megabytes of model.
echo "| quality | result bytes | miss ms (median) | hit ms (median) | p90 hit ms | miss/hit | hit ms, JSON summary | miss/hit (summary) |"
echo "|---|---|---|---|---|---|---|---|"
node - "$SERVER_URL" "$image" <<'JS'
const http = require("http"), fs = require("fs"), path = require("path");
const [url, file] = process.argv.slice(2);
const body = fs.readFileSync(file);
const type = "image/" + path.extname(file).slice(1).replace("jpg", "jpeg");
const agent = new http.Agent({keepAlive: true, maxSockets: 1});
function req(method, p, data, headers) {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const r = http.request(url + p, {method, agent, headers}, res => {
            let n = 0;
            res.on("data", d => { n += d.length; });
            res.on("end", () => resolve({ms: Number(process.hrtime.bigint() - t0) / 1e6, n,
                                         status: res.statusCode, cache: res.headers["x-orfeas-cache"]}));
            res.on("error", reject);
        });
        r.on("error", reject);
        r.end(data);
    });
}
const med = a => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const p90 = a => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length * 0.9)]; };
(async () => {
    for (const [q, missRuns, hitRuns] of [[4, 21, 501], [7, 15, 301], [10, 7, 101]]) {
        const p = `/api/v1/generate?quality=${q}&format=glb`;
        const misses = [], hits = [];
        let bytes = 0;
        for (let k = 0; k < missRuns; k++) {
            await req("POST", "/api/v1/cache/clear", "", {});
            const r = await req("POST", p, body, {"Content-Type": type});
            if (r.status !== 200 || r.cache !== "miss") throw new Error(`miss run: ${r.status} ${r.cache}`);
            misses.push(r.ms);
            bytes = r.n;
        }
        for (let k = 0; k < hitRuns; k++) {
            const r = await req("POST", p, body, {"Content-Type": type});
            if (r.status !== 200 || r.cache !== "hit") throw new Error(`hit run: ${r.status} ${r.cache}`);
            hits.push(r.ms);
        }
        const sums = [];
        for (let k = 0; k < hitRuns; k++) {
            const r = await req("POST", p, body, {"Content-Type": type, "Accept": "application/json"});
            if (r.status !== 200 || r.cache !== "hit") throw new Error(`summary run: ${r.status} ${r.cache}`);
            sums.push(r.ms);
        }
        const m = med(misses), h = med(hits), sm = med(sums);
        console.log(`| ${q} | ${bytes} | ${m.toFixed(1)} | ${h.toFixed(3)} | ${p90(hits).toFixed(3)} | ${(m / h).toFixed(0)}x | ${sm.toFixed(3)} | ${(m / sm).toFixed(0)}x |`);
    }
    agent.destroy();
})().catch(e => { console.log(`| error: ${e.message} |`); process.exit(1); });
JS
echo

cat >"$work/post.lua" <<LUA
local f = io.open("$image", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "image/$(basename "$image" | sed 's/.*\.//; s/jpg/jpeg/')"
LUA

run_wrk() { # name url
    local name="$1" url="$2"
    curl -s -o /dev/null -H "Content-Type: image/png" --data-binary "@$image" "$url" # warm
    local out
    out="$(wrk -t2 -c64 -d"${secs}s" --timeout 30s --latency -s "$work/post.lua" "$url" 2>&1)"
    local rps p50 p99 non2xx
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    non2xx="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
    printf '| %s | 64 | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
echo "| hits | connections | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
run_wrk "q1 STL ($(curl -s -H 'Content-Type: image/png' --data-binary "@$image" "$SERVER_URL/api/v1/generate?quality=1&format=stl" | wc -c) B)" "$SERVER_URL/api/v1/generate?quality=1&format=stl"
run_wrk "q4 GLB" "$SERVER_URL/api/v1/generate?quality=4&format=glb"
curl -s "$SERVER_URL/api/v1/cache/stats"
echo
