#!/usr/bin/env bash
# `orfeas gpu-stats`: the JSON object checked by node (a parser that shares
# no code with cJSON), the human table, --help and the usage errors.
# usage: test_gpu_stats.sh ORFEAS
set -u
orfeas="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL $*" >&2
}

expect_exit() {
    local want="$1" what="$2"
    shift 2
    "$@" >"$work/out.txt" 2>"$work/err.txt"
    local got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        fail "$what: exit $got, expected $want; stderr: $(head -c 400 "$work/err.txt")"
    fi
}

expect_text() {
    local file="$1" pattern="$2" what="$3"
    if grep -q -- "$pattern" "$file"; then ok; else
        fail "$what: no '$pattern' in $(head -c 600 "$file")"
    fi
}

# check_json FILE WHAT JS: JS sees the parsed object as `o` and throws on
# a failed expectation.
check_json() {
    local file="$1" what="$2" js="$3"
    if node -e '
const fs = require("fs");
const o = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
function expect(c, m) { if (!c) { console.error("expected: " + m); process.exit(1); } }
'"$js" "$file" 2>"$work/node.txt"; then ok; else
        fail "$what: $(head -c 600 "$work/node.txt") in $(head -c 600 "$file")"
    fi
}

common='
for (const k of ["timestamp", "gpu", "queue_depth", "recommended_precision",
                 "optimal_batch_size", "status"])
    expect(k in o, "missing " + k);
expect(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(o.timestamp), "timestamp " + o.timestamp);
expect(!isNaN(Date.parse(o.timestamp)), "unparsable timestamp");
expect(o.status === "operational", "status");
expect(["fp32", "fp16", "int8"].includes(o.recommended_precision), "precision");
expect(Number.isInteger(o.optimal_batch_size) && o.optimal_batch_size >= 0 &&
       o.optimal_batch_size <= 32, "batch");
const g = o.gpu;
for (const k of ["available", "backend", "name", "total_bytes", "free_bytes",
                 "allocated_bytes", "pooled_bytes", "reserved_bytes", "budget_bytes",
                 "usage_percent", "precision", "mixed_precision", "quantization", "simulated"])
    expect(k in g, "missing gpu." + k);
expect(typeof g.available === "boolean" && typeof g.simulated === "boolean", "bools");
expect(typeof g.mixed_precision === "boolean" && typeof g.quantization === "boolean", "flags");
expect(g.free_bytes <= g.total_bytes && g.budget_bytes <= g.total_bytes, "sizes");
expect(g.usage_percent >= 0 && g.usage_percent <= 100, "usage");
expect(g.precision === o.recommended_precision, "precision twice");
expect(g.mixed_precision === (g.precision === "fp16"), "mixed flag");
expect(g.quantization === (g.precision === "int8"), "quantization flag");
'

# sim:24GiB: 25769803776 bytes; reserves 2e9 + 1e9; free 25.77 GB -> fp32;
# batch: (25.7698 - 6 - 1) / (50/1024) = 384 -> capped at 32.
expect_exit 0 "gpu-stats --json sim" "$orfeas" gpu-stats --json --device sim:24GiB
cp "$work/out.txt" "$work/sim.json"
check_json "$work/sim.json" "sim json" "$common"'
expect(g.available === true && g.simulated === true, "sim available/simulated");
expect(g.backend === "sim", "backend " + g.backend);
expect(g.name === "sim:24GiB", "name " + g.name);
expect(g.total_bytes === 25769803776 && g.free_bytes === 25769803776, "total/free");
expect(g.budget_bytes === 22769803776, "budget " + g.budget_bytes);
expect(g.allocated_bytes === 0 && g.pooled_bytes === 0 && g.reserved_bytes === 0, "empty");
expect(g.usage_percent === 0, "usage " + g.usage_percent);
expect(!("message" in g), "sim has no message");
expect(o.recommended_precision === "fp32", "fp32");
expect(o.optimal_batch_size === 32 && o.queue_depth === 0, "defaults");
'
# Exactly one line, one object.
[ "$(wc -l <"$work/sim.json")" -eq 1 ] && ok || fail "json is not one line"

# sim:8GiB, model 8 GB, queue 11, sample 25 MB: cache reserve = 8GiB/20 =
# 429496729 B; mem = 8.589934592 - 8 - 0.429496729 = 0.160437863;
# /(25/1024) = 6.57 -> 6; queue 11 -> max(1, 6 // 4) = 1. free 8.59 -> fp16.
expect_exit 0 "gpu-stats --json sim:8GiB" "$orfeas" gpu-stats --device=sim:8GiB --json \
    --model-size-gb 8 --queue-depth 11 --sample-size-mb 25
check_json "$work/out.txt" "sim 8GiB json" "$common"'
expect(o.queue_depth === 11 && o.optimal_batch_size === 1, "batch " + o.optimal_batch_size);
expect(o.recommended_precision === "fp16" && g.mixed_precision === true, "fp16");
'

expect_exit 0 "gpu-stats --json cpu" "$orfeas" gpu-stats --json --device cpu
check_json "$work/out.txt" "cpu json" "$common"'
expect(g.available === false, "cpu not available");
expect(g.message === "CUDA not available", "message " + g.message);
expect(g.backend === "cpu" && g.simulated === false, "backend " + g.backend);
expect(g.total_bytes > 0, "host memory");
'

# auto on a machine without a GPU answers like cpu; with one, like cuda.
expect_exit 0 "gpu-stats --json auto" "$orfeas" gpu-stats --json
check_json "$work/out.txt" "auto json" "$common"'
expect((g.backend === "cpu" && g.available === false) ||
       (g.backend === "cuda" && g.available === true), "auto backend " + g.backend);
'

# The human table.
expect_exit 0 "gpu-stats table" "$orfeas" gpu-stats --device sim:24GiB
for pattern in "sim:24GiB" "simulated" "total .*25769803776 bytes" "budget .*22769803776 bytes" \
    "allocated by orfeas" "pooled" "reserved for jobs" "usage .*0.0 %" "precision .*fp32" \
    "mixed precision .*no" "quantization .*no" "optimal batch size .*32"; do
    expect_text "$work/out.txt" "$pattern" "table"
done
expect_exit 0 "gpu-stats table cpu" "$orfeas" gpu-stats --device cpu
expect_text "$work/out.txt" "CUDA not available" "table cpu"

# --help describes every flag.
expect_exit 0 "gpu-stats --help" "$orfeas" gpu-stats --help
for flag in --device --json --model-size-gb --queue-depth --sample-size-mb --help; do
    expect_text "$work/out.txt" "$flag" "help lists $flag"
done

# Bad usage: exit 2.
expect_exit 2 "unknown flag" "$orfeas" gpu-stats --bogus
expect_exit 2 "missing value" "$orfeas" gpu-stats --device
expect_exit 2 "bad queue depth" "$orfeas" gpu-stats --queue-depth -1
expect_exit 2 "bad queue depth text" "$orfeas" gpu-stats --queue-depth many
expect_exit 2 "bad model size" "$orfeas" gpu-stats --model-size-gb nan
expect_exit 2 "zero sample size" "$orfeas" gpu-stats --sample-size-mb 0
expect_exit 2 "bad device spec" "$orfeas" gpu-stats --device sim:lots

echo "test_gpu_stats: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
