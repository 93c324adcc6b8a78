#!/usr/bin/env bash
# promtool (Prometheus's own checker) on a rendered exposition: parse
# errors, naming and HELP/TYPE lint. Usage: test_metrics_promtool.sh TEST_METRICS
set -euo pipefail
bin="$1"
command -v promtool >/dev/null || { echo "ORACLE FAIL: promtool not installed (tools/deps.sh: prometheus)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" --dump "$tmp/metrics.txt"
if ! out="$(promtool check metrics <"$tmp/metrics.txt" 2>&1)"; then
    echo "ORACLE FAIL: promtool check metrics" >&2
    echo "$out" >&2
    exit 1
fi
# promtool exits 0 on lint warnings too; treat any output as a failure.
if [ -n "$out" ]; then
    echo "ORACLE FAIL: promtool check metrics reported problems" >&2
    echo "$out" >&2
    exit 1
fi
echo "promtool: $(grep -c '^# TYPE' "$tmp/metrics.txt") metric families, no problems"
