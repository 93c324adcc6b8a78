#!/usr/bin/env bash
# Cluster benchmark: what going through Redis costs a request. Sync
# generations (quality 4, STL, unique parameters so each is a miss) on an
# embedded node, on a one-node cluster and on a two-node cluster (either
# node may run it); cache hits from the node's own memory tier and from the
# shared tier in Redis (first request of a key on the other node); and 24
# distinct quality-7 jobs submitted at once to one node vs spread over two.
# Also a miss asked on a busy node, which the other node runs. Median of
# RUNS each; prints a markdown table.
# usage: bench/bench_cluster.sh [ORFEAS] [IMAGE] [RUNS]
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
orfeas="${1:-$here/build/orfeas}"
runs="${3:-21}"
# shellcheck source=tests/testdata.sh
source "$here/tests/testdata.sh"
image="${2:-$(testdata_file images/horse.png)}"
[ -r "$image" ] || { echo "bench_cluster.sh: no image at $image"; exit 1; }
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
command -v redis-server >/dev/null || { echo "redis-server is not installed (tools/deps.sh)"; exit 1; }

rport=$((20000 + RANDOM % 20000))
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --logfile "$work/redis.log" &
pids+=($!)
for _ in $(seq 1 100); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done

start() { # start NAME [flags...] -> URL in $url
    local name="$1"
    shift
    "$orfeas" serve --host 127.0.0.1 --port 0 --device cpu --workers 1 --log-level warn \
        --data-dir "$work/$name" "$@" 2>"$work/$name.log" &
    pids+=($!)
    url=""
    for _ in $(seq 1 200); do
        url="$(grep -o 'listening on http://[^ ]*' "$work/$name.log" | head -1 | sed 's/listening on //')"
        [ -n "$url" ] && break
        sleep 0.05
    done
    url="${url%/}"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
# Widths make the keys: each phase below uses its own range, so a miss is
# a miss (command substitutions run in subshells: no shared counter).
gen_ms() { # gen_ms URL WIDTH -> ms of one sync generation
    local w="$2"
    curl -s -o /dev/null -w '%{time_total}\n' -F "image=@$image" -F quality=4 -F format=stl \
        -F "width_mm=$w" "$1/api/v1/generate" | awk '{printf "%.1f\n", $1 * 1000}'
}
misses() { for k in $(seq 1 "$runs"); do gen_ms "$1" $(($2 + k)); done | median; }
batch_s() { # batch_s BASE URL... : 24 distinct quality-7 jobs at once, round robin; seconds until all done
    local base="$1" t0 k
    shift
    local urls=("$@")
    t0=$(date +%s.%N)
    for k in $(seq 0 23); do
        curl -s -o /dev/null -F "image=@$image" -F quality=7 -F format=stl -F "width_mm=$((base + k))" \
            "${urls[$((k % ${#urls[@]}))]}/api/v1/generate" &
    done
    wait $(jobs -p | grep -v -x -F "$(printf '%s\n' "${pids[@]}")")
    echo "$(date +%s.%N) $t0" | awk '{printf "%.2f\n", $1 - $2}'
}

echo "orfeas cluster benchmark, $(nproc) cores, cpu, $(basename "$image"), median of $runs"
echo
start embedded
emb="$url"
e_miss=$(misses "$emb" 100)
e_hit=$(for _ in $(seq 1 "$runs"); do gen_ms "$emb" 101; done | median)
e_batch=$(batch_s 200 "$emb")
start c1 --redis "redis://127.0.0.1:$rport" --node-id c1
c1="$url"
c_miss=$(misses "$c1" 300)
start c2 --redis "redis://127.0.0.1:$rport" --node-id c2
c2="$url"
c2_miss=$(misses "$c1" 400)
# A key computed on c1, asked first on c2: from Redis; then from c2's memory.
shared=$(for k in $(seq 1 "$runs"); do
    gen_ms "$c1" $((500 + k)) >/dev/null
    gen_ms "$c2" $((500 + k))
done | median)
local_hit=$(for _ in $(seq 1 "$runs"); do gen_ms "$c2" 501; done | median)
# Asked on c1 while c1's only worker is busy (a quality-10 job): c2 runs it
# and c1 answers with the bytes from Redis.
# Only the samples the record says c2 ran count (either node may take the
# quality-10 job).
remote=$(got=0
for k in $(seq 1 $((4 * runs))); do
    curl -s -o /dev/null -F "image=@$image" -F quality=10 -F format=stl -F "width_mm=$((800 + k))" \
        "$c1/api/v1/jobs"
    sleep 0.2
    ms=$(curl -s -o /dev/null -D "$work/remote.h" -w '%{time_total}\n' -F "image=@$image" -F quality=4 \
        -F format=stl -F "width_mm=$((900 + k))" "$c1/api/v1/generate" | awk '{printf "%.1f", $1 * 1000}')
    id=$(tr -d '\r' <"$work/remote.h" | awk 'tolower($1) == "x-orfeas-job:" {print $2}')
    [ "$(redis-cli -p "$rport" HGET "orfeas:job:$id" node)" = c2 ] && { echo "$ms"; got=$((got + 1)); }
    sleep 1.5
    [ "$got" -ge "$runs" ] && break
done | median)
one_batch=$(batch_s 600 "$c1")
two_batch=$(batch_s 700 "$c1" "$c2")
echo "| what | embedded (no Redis) | cluster |"
echo "|---|---|---|"
echo "| sync miss, quality 4, ms | $e_miss | 1 node: $c_miss; 2 nodes: $c2_miss |"
echo "| sync miss run by the other node (this one busy), ms | - | $remote |"
echo "| hit from the node's memory, ms | $e_hit | $local_hit |"
echo "| hit from Redis (key made on the other node), ms | - | $shared |"
echo "| 24 quality-7 jobs at once, s | $e_batch (1 node) | 1 node: $one_batch; 2 nodes: $two_batch |"
