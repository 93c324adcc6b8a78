// Mixed load on a running orfeas server: CONNS concurrent loops for SECONDS,
// each picking a request kind at random (seeded, so runs are comparable):
//   hit          the same sync generate again and again (cache hit)
//   miss         sync generate at quality 1..4 with a fresh width_mm (miss)
//   progressive  the NDJSON stream to its final line (fresh width_mm)
//   stream-abort the stream, hung up after its first line
//   async        POST /api/v1/jobs, polled at the end
//   cancel       POST /api/v1/jobs then DELETE after 0..200 ms
//   bad          a bad request (400/404/405/413/415/422), rotating
// Then polls every accepted job until it reaches a terminal state.
// Prints markdown tables and writes a JSON summary to OUT.
// usage: node bench/load.js URL SECONDS CONNS IMAGES_DIR OUT.json [SERVER_PID]
"use strict";
const http = require("http"), fs = require("fs"), path = require("path"), zlib = require("zlib");
const [url, secondsArg, connsArg, images, out, pidArg] = process.argv.slice(2);
const seconds = Number(secondsArg), conns = Number(connsArg);
const base = new URL(url);
const agent = new http.Agent({keepAlive: true, maxSockets: conns + 8});
const jpg = fs.readFileSync(path.join(images, "apple.jpg"));
const png = fs.readFileSync(path.join(images, "horse.png"));
const truncated = fs.readFileSync(path.join(images, "truncated.jpg"));
const bomb = (() => {
    const ihdr = Buffer.alloc(17);
    ihdr.write("IHDR");
    ihdr.writeUInt32BE(60000, 4); ihdr.writeUInt32BE(60000, 8); ihdr[12] = 8; ihdr[13] = 2;
    const len = Buffer.alloc(4); len.writeUInt32BE(13);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(ihdr) >>> 0);
    return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), len, ihdr, crc]);
})();

let seed = Number(process.env.LOAD_SEED || 12345);
const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; };
let fresh = Number(process.env.LOAD_FRESH_START || 0); // fresh width_mm values defeat the cache: 20.000, 20.001, ...
const freshWidth = () => { const n = fresh++; return (20 + (n % 1900) + Math.floor(n / 1900) / 1000).toFixed(3); };

const stats = {}; // kind -> {lat: [], status: {}, errors}
const rec = (kind, ms, status) => {
    const s = stats[kind] || (stats[kind] = {lat: [], status: {}, errors: 0});
    if (status === "error") s.errors++;
    else { s.status[status] = (s.status[status] || 0) + 1; s.lat.push(ms); }
};
const jobs = new Set();
let firstLines = [];
let rssPeak = 0;
const readRss = () => {
    try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pidArg}/status`, "utf8"));
        return m ? Number(m[1]) * 1024 : 0;
    } catch (e) { return 0; }
};

function request(method, p, body, headers, opts = {}) {
    return new Promise(resolve => {
        const t0 = process.hrtime.bigint();
        const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
        const req = http.request({host: base.hostname, port: base.port, path: p, method, agent,
                                  headers: Object.assign(body ? {"Content-Length": body.length} : {}, headers)}, res => {
            const chunks = [];
            let first = null;
            res.on("data", d => {
                chunks.push(d);
                if (opts.stream && first === null && d.includes(10)) {
                    first = ms();
                    if (opts.abortAfterFirst) { req.destroy(); resolve({status: res.statusCode, ms: ms(), first, aborted: true}); }
                }
            });
            res.on("end", () => resolve({status: res.statusCode, ms: ms(), first, body: Buffer.concat(chunks)}));
            res.on("error", () => resolve({status: "error", ms: ms()}));
        });
        req.on("error", () => resolve({status: "error", ms: ms()}));
        req.setTimeout(opts.timeout || 180000, () => req.destroy());
        req.end(body || undefined);
    });
}

const bads = [
    ["POST", "/api/v1/generate?colour=red", png, {"Content-Type": "image/png"}],
    ["POST", "/api/v1/generate?quality=11", png, {"Content-Type": "image/png"}],
    ["POST", "/api/v1/generate", bomb, {"Content-Type": "image/png"}],
    ["POST", "/api/v1/generate", Buffer.from("GIF89a\x01\x00\x01\x00"), {"Content-Type": "image/gif"}],
    ["POST", "/api/v1/generate", truncated, {"Content-Type": "image/jpeg"}],
    ["POST", "/api/v1/generate", Buffer.alloc(0), {"Content-Type": "image/png"}],
    ["GET", "/api/v2/nothing", null, {}],
    ["PUT", "/api/v1/generate", null, {}],
    ["GET", "/api/v1/jobs/not-a-uuid", null, {}],
];
let badNext = 0;

const kinds = [["hit", 0.30], ["miss", 0.15], ["progressive", 0.08], ["stream-abort", 0.04],
               ["async", 0.08], ["cancel", 0.08], ["bad", 0.27]];
function pick() {
    let r = rand();
    for (const [k, w] of kinds) { if (r < w) return k; r -= w; }
    return "bad";
}

async function one(kind) {
    const raw = {"Content-Type": "image/jpeg"};
    let r;
    switch (kind) {
    case "hit":
        r = await request("POST", "/api/v1/generate?quality=2&format=glb&width_mm=100", jpg, raw);
        break;
    case "miss": {
        const q = 1 + Math.floor(rand() * 4);
        r = await request("POST", `/api/v1/generate?quality=${q}&format=glb&width_mm=${freshWidth()}`, jpg, raw);
        break;
    }
    case "progressive":
    case "stream-abort":
        r = await request("POST", `/api/v1/generate-progressive?quality=4&width_mm=${freshWidth()}`, jpg, raw,
                          {stream: true, abortAfterFirst: kind === "stream-abort"});
        if (r.first !== null && r.first !== undefined && r.status === 200) firstLines.push(r.first);
        if (kind === "progressive" && r.status === 200 && r.body && !/"final":true/.test(r.body.toString()))
            r.status = "200-incomplete";
        break;
    case "async":
    case "cancel": {
        r = await request("POST", `/api/v1/jobs?quality=${kind === "cancel" ? 6 : 3}&width_mm=${freshWidth()}`, jpg, raw);
        if (r.status === 202) {
            try { jobs.add(JSON.parse(r.body).job_id); } catch (e) { r.status = "202-bad-json"; }
        }
        if (kind === "cancel" && r.status === 202) {
            rec(kind, r.ms, r.status);
            await new Promise(s => setTimeout(s, rand() * 200));
            const id = JSON.parse(r.body).job_id;
            r = await request("DELETE", `/api/v1/jobs/${id}`, null, {});
            kind = "cancel-delete";
        }
        break;
    }
    default: {
        const b = bads[badNext++ % bads.length];
        r = await request(b[0], b[1], b[2], b[3]);
    }
    }
    rec(kind, r.ms, r.status);
}

const pct = (a, p) => {
    if (!a.length) return NaN;
    const s = [...a].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
};
const fmt = x => (Number.isFinite(x) ? x.toFixed(1) : "-");

(async () => {
    const t0 = Date.now();
    const deadline = t0 + seconds * 1000;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, readRss()); }, 500);
    await Promise.all(Array.from({length: conns}, async () => {
        while (Date.now() < deadline) await one(pick());
    }));
    const elapsed = (Date.now() - t0) / 1000;
    // Every accepted job must reach a terminal state (bounded: 300 s).
    const terminal = new Set(["completed", "failed", "cancelled", "finished, forgotten (404)"]);
    const final = {};
    const pollDeadline = Date.now() + 300000;
    let pending = [...jobs];
    while (pending.length && Date.now() < pollDeadline) {
        const next = [];
        for (const id of pending) {
            const r = await request("GET", `/api/v1/jobs/${id}`, null, {}, {timeout: 10000});
            let st = "unknown";
            try { st = JSON.parse(r.body).status; } catch (e) { /* counted as unknown */ }
            // Only finished jobs are forgotten (beyond the newest 1000 kept).
            if (r.status === 404) st = "finished, forgotten (404)";
            if (terminal.has(st)) final[st] = (final[st] || 0) + 1;
            else next.push(id);
        }
        pending = next;
        if (pending.length) await new Promise(s => setTimeout(s, 500));
    }
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, readRss());

    let total = 0, fivexx = {}, byStatus = {}, errors = 0;
    console.log("| kind | requests | requests/s | p50 ms | p99 ms | max ms | statuses |");
    console.log("|---|---|---|---|---|---|---|");
    for (const [kind, s] of Object.entries(stats)) {
        const n = s.lat.length + s.errors;
        total += n;
        errors += s.errors;
        for (const [st, c] of Object.entries(s.status)) {
            byStatus[st] = (byStatus[st] || 0) + c;
            if (/^5/.test(st)) fivexx[st] = (fivexx[st] || 0) + c;
        }
        const sts = Object.entries(s.status).map(([k, v]) => `${k}: ${v}`).join(", ") + (s.errors ? `, socket errors: ${s.errors}` : "");
        console.log(`| ${kind} | ${n} | ${fmt(n / elapsed)} | ${fmt(pct(s.lat, 50))} | ${fmt(pct(s.lat, 99))} | ${fmt(pct(s.lat, 100))} | ${sts} |`);
    }
    console.log(`| **all** | ${total} | ${fmt(total / elapsed)} | | | | ${Object.entries(byStatus).map(([k, v]) => `${k}: ${v}`).join(", ")} |`);
    console.log("");
    console.log(`progressive first line: p50 ${fmt(pct(firstLines, 50))} ms, p99 ${fmt(pct(firstLines, 99))} ms (${firstLines.length} streams)`);
    console.log(`accepted jobs: ${jobs.size}; final states: ${JSON.stringify(final)}; not finished: ${pending.length}`);
    fs.writeFileSync(out, JSON.stringify({seconds: elapsed, conns, total, rps: total / elapsed, byStatus, fivexx,
                                          errors, jobs: jobs.size, final, unfinished: pending.length, rssPeak,
                                          firstLineP50: pct(firstLines, 50)}));
})();
