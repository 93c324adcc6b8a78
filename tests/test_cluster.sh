#!/usr/bin/env bash
# Three orfeas nodes sharing one real redis-server (DESIGN §8):
#  (1) 30 jobs spread over the nodes; one node is killed (-9) while it holds
#      a job; every job completes and its bytes equal a single-node run's;
#  (2) the same batch again is answered from the shared cache (100 % hits),
#      and identical concurrent requests on two nodes run once;
#  (3) health and /metrics show the node and the cluster (promtool checks
#      the exposition);
#  (4) Redis down: nodes report degraded, keep serving locally, and come
#      back to ok when Redis returns;
#  (5) a Redis with a password: ORFEAS_REDIS_PASSWORD, the URL, a wrong one.
# usage: test_cluster.sh ORFEAS TESTDATA
set -u
orfeas="$1"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/server_lib.sh
source "$here/server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$2"
# The 30 jobs: 10 photos x 3 parameter sets (long enough to be caught mid-run).
images=(horse.png camera.png coffee.png chelsea.png rocket.jpg orange.jpg apple.jpg astronaut.png opencv-logo.png plant.jpg)
testdata_require cluster "${images[@]/#/images/}"
horse="$(testdata_file images/horse.png)" apple="$(testdata_file images/apple.jpg)"
command -v redis-server >/dev/null || { echo "redis-server missing (tools/deps.sh installs it)"; exit 1; }
work="$(mktemp -d)"
declare -A PID URL
redis_pid=""
cleanup() {
    for n in "${!PID[@]}"; do kill -KILL "${PID[$n]}" 2>/dev/null; done
    [ -n "$redis_pid" ] && { kill -KILL "$redis_pid"; wait "$redis_pid"; } 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
# poll_json URL EXPR WANT [TRIES]: fetch URL every 0.1 s until EXPR (on the
# JSON `j`) is WANT; POLLED holds the last value.
poll_json() {
    local tries="${4:-100}"
    POLLED=""
    for _ in $(seq 1 "$tries"); do
        curl -s "$1" >"$work/poll"
        POLLED="$(json_get "$work/poll" "$2")"
        [ "$POLLED" = "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
header() { tr -d '\r' <"$1" | awk -v h="$2" 'tolower($1) == tolower(h) ":" {print $2}'; }

# --- redis-server on a free loopback port ---
redis_start() {
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$work" --logfile "$work/redis.log" &
    redis_pid=$!
    for _ in $(seq 1 100); do
        redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && return 0
        kill -0 "$redis_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
for _ in $(seq 1 20); do
    rport=$((20000 + RANDOM % 20000))
    redis_start && break
    redis_pid=""
done
[ -n "$redis_pid" ] || { echo "cannot start redis-server"; cat "$work/redis.log"; exit 1; }
rcli() { redis-cli -p "$rport" "$@"; }

# --- nodes ---
node_start() { # node_start NAME [flags...]
    local name="$1" url=""
    shift
    "$orfeas" serve --host 127.0.0.1 --port 0 --device cpu --workers 1 --queue-max 64 \
        --data-dir "$work/$name" "$@" 2>"$work/$name.log" &
    PID[$name]=$!
    for _ in $(seq 1 200); do
        url="$(grep -o 'listening on http://[^ ]*' "$work/$name.log" | head -1 | sed 's/listening on //')"
        [ -n "$url" ] && break
        sleep 0.05
    done
    [ -n "$url" ] || { echo "node $name did not start"; cat "$work/$name.log"; return 1; }
    URL[$name]="${url%/}"
}
cluster_node() { node_start "$1" --redis "redis://127.0.0.1:$rport/0" --node-id "$1" --claim-after 2; }

variants=("quality=9 format=stl" "quality=8 format=glb" "quality=10 format=obj")
spec() { # spec I -> curl -F arguments for job I
    local img="${images[$(($1 % 10))]}" v="${variants[$(($1 / 10))]}" f
    echo "-F image=@$(testdata_file "images/$img")"
    for f in $v; do echo "-F $f"; done
}
# shellcheck disable=SC2046
generate() { curl -s -o "$2" -D "$2.h" $(spec "$1") "$3/api/v1/generate"; }

# --- (0) the single-node reference ---
node_start ref
for i in $(seq 0 29); do
    generate "$i" "$work/ref$i" "${URL[ref]}"
    sha256sum <"$work/ref$i" | cut -c1-64 >"$work/ref$i.sha"
done
check "reference run answered 30 models" test "$(cat "$work"/ref*.sha | sort -u | wc -l)" -eq 30
kill -TERM "${PID[ref]}"
wait "${PID[ref]}"
unset 'PID[ref]'

# --- (1) three nodes, 30 async jobs, one killed ---
for n in nA nB nC; do cluster_node "$n" || exit 1; done
nodes=(nA nB nC)
ids=()
for i in $(seq 0 29); do
    n="${nodes[$((i % 3))]}"
    # shellcheck disable=SC2046
    curl -s -o "$work/sub$i" -w '%{http_code}\n' $(spec "$i") "${URL[$n]}/api/v1/jobs" >"$work/code$i"
    ids+=("$(json_get "$work/sub$i" j.job_id)")
done
codes="$(cat "$work"/code* | sort | uniq -c | tr -s ' \n' ' ')"
check "every job accepted (202; got:$codes)" test "$(cat "$work"/code* | sort -u)" = 202
# nB must hold a job when it dies: wait for an entry pending under its name.
held=0
for _ in $(seq 1 400); do
    held="$(rcli XPENDING orfeas:jobs orfeas - + 10 nB | grep -c '^nB$')"
    [ "$held" -ge 1 ] && break
    sleep 0.05
done
check "nB holds a job when it is killed" test "$held" -ge 1
kill -KILL "${PID[nB]}"
wait "${PID[nB]}" 2>/dev/null
unset 'PID[nB]'
echo "killed nB holding $held job(s)"

survivors=(nA nC)
done_all=0
for _ in $(seq 1 300); do
    n_done=0
    for k in "${!ids[@]}"; do
        s="${survivors[$((k % 2))]}"
        curl -s "${URL[$s]}/api/v1/jobs/${ids[$k]}" >"$work/st$k"
        [ "$(json_get "$work/st$k" j.status)" = completed ] && n_done=$((n_done + 1))
    done
    [ "$n_done" -eq 30 ] && { done_all=1; break; }
    [ -n "${CLUSTER_DEBUG:-}" ] && echo "completed: $n_done/30"
    sleep 1
done
check "all 30 jobs completed after the kill ($n_done/30)" test "$done_all" -eq 1
if [ "$done_all" -ne 1 ]; then
    for k in "${!ids[@]}"; do
        [ "$(json_get "$work/st$k" j.status)" = completed ] || echo "job $k ${ids[$k]}: $(head -c 300 "$work/st$k")"
    done
    for n in nA nC; do grep -a -v "GET /api" "$work/$n.log" | tail -20; done
fi
same=0
for k in "${!ids[@]}"; do
    s="${survivors[$(((k + 1) % 2))]}" # the other survivor than the one polled
    curl -s -o "$work/res$k" "${URL[$s]}/api/v1/jobs/${ids[$k]}/result"
    [ "$(sha256sum <"$work/res$k" | cut -c1-64)" = "$(cat "$work/ref$k.sha")" ] && same=$((same + 1))
done
check "every result identical to the single-node run ($same/30)" test "$same" -eq 30
claimed=0
for s in "${survivors[@]}"; do
    curl -s "${URL[$s]}/api/health" >"$work/h$s"
    claimed=$((claimed + $(json_get "$work/h$s" j.cluster.claimed)))
done
check "the dead node's job was claimed by a survivor ($claimed)" test "$claimed" -ge 1
check "nothing left pending" test "$(rcli XPENDING orfeas:jobs orfeas | head -1)" -eq 0

# --- (2) the same batch again: all from the shared cache ---
hits=0 equal=0
for i in $(seq 0 29); do
    s="${survivors[$((i % 2))]}"
    generate "$i" "$work/again$i" "${URL[$s]}"
    [ "$(header "$work/again$i.h" X-Orfeas-Cache)" = hit ] && hits=$((hits + 1))
    cmp -s "$work/again$i" "$work/ref$i" && equal=$((equal + 1))
done
check "repeated batch: 100 % cache hits ($hits/30)" test "$hits" -eq 30
check "repeated batch: bytes identical ($equal/30)" test "$equal" -eq 30
# Identical new requests on two nodes at once run once.
curls=()
for k in 0 1 2 3; do
    s="${survivors[$((k % 2))]}"
    curl -s -o "$work/co$k" -D "$work/co$k.h" -F "image=@$horse" -F quality=10 \
        -F format=stl -F width_mm=77 "${URL[$s]}/api/v1/generate" &
    curls+=($!)
done
wait "${curls[@]}"
misses=0 same_co=0
for k in 0 1 2 3; do
    [ "$(header "$work/co$k.h" X-Orfeas-Cache)" = miss ] && misses=$((misses + 1))
    cmp -s "$work/co0" "$work/co$k" && same_co=$((same_co + 1))
done
check "4 identical requests on two nodes: one run ($misses misses)" test "$misses" -eq 1
check "4 identical requests: identical bytes" test "$same_co" -eq 4

# --- (3) health and metrics ---
curl -s "${URL[nA]}/api/health" >"$work/hA"
check "health names the node" test "$(json_get "$work/hA" j.node)" = nA
check "health: redis up" test "$(json_get "$work/hA" j.cluster.redis)" = up
poll_json "${URL[nA]}/api/health" j.cluster.nodes_alive 2 # nB's heartbeat ages out in 5 s
check "health: 2 nodes alive after the kill ($POLLED)" test "$POLLED" = 2
cp "$work/poll" "$work/hA"
check "health: stream length and pending shown" test "$(json_get "$work/hA" 'j.cluster.stream_length >= 0 && j.cluster.pending >= 0')" = true
curl -s "${URL[nC]}/metrics" >"$work/metrics"
check "metrics: cluster gauges with the node label" grep -q '^orfeas_cluster_nodes_alive{node="nC"} 2$' "$work/metrics"
check "metrics: stream length" grep -q '^orfeas_cluster_stream_length{node="nC"} ' "$work/metrics"
check "metrics: pending" grep -q '^orfeas_cluster_pending{node="nC"} ' "$work/metrics"
if command -v promtool >/dev/null; then
    check "promtool accepts the metrics" promtool check metrics <"$work/metrics"
fi

# --- (4) Redis goes away and comes back ---
rcli shutdown nosave >/dev/null 2>&1
wait "$redis_pid" 2>/dev/null
redis_pid=""
poll_json "${URL[nA]}/api/health" j.status degraded 50
check "redis down: health says degraded ($POLLED)" test "$POLLED" = degraded
check "redis down: health still 200" test "$(curl -s -o /dev/null -w '%{http_code}' "${URL[nA]}/api/health")" = 200
generate 0 "$work/down0" "${URL[nA]}"
check "redis down: a cached result is still served" cmp -s "$work/down0" "$work/ref0"
curl -s -o "$work/down_new" -D "$work/down_new.h" -F "image=@$apple" -F quality=4 \
    -F format=stl -F width_mm=55 "${URL[nA]}/api/v1/generate"
check "redis down: a new job runs locally" test "$(header "$work/down_new.h" X-Orfeas-Cache)" = miss
check "redis down: its model is a closed STL" test "$(stat -c %s "$work/down_new")" -gt 1000
curl -s -o "$work/down_job" -F "image=@$apple" -F quality=3 "${URL[nC]}/api/v1/jobs"
down_id="$(json_get "$work/down_job" j.job_id)"
poll_json "${URL[nC]}/api/v1/jobs/$down_id" j.status completed
check "redis down: an async job completes locally ($POLLED)" test "$POLLED" = completed
redis_start || bad "redis restart"
poll_json "${URL[nA]}/api/health" j.status ok 150 # the backoff is at most 5 s
check "redis back: health ok again ($POLLED)" test "$POLLED" = ok
check "redis back: the node re-created the stream group" \
    test "$(rcli XINFO GROUPS orfeas:jobs | grep -c '^orfeas$')" -ge 1

# The shared tier is cleared from any node.
curl -s -o /dev/null -F "image=@$apple" -F quality=2 -F width_mm=66 "${URL[nA]}/api/v1/generate"
check "a result made on nA is in Redis" test "$(rcli --scan --pattern 'orfeas:cache:*' | wc -l)" -ge 1
curl -s -X POST "${URL[nC]}/api/v1/cache/clear" >"$work/clear"
check "cache clear on nC reports the shared entries" test "$(json_get "$work/clear" j.cleared)" -ge 1
check "cache clear on nC empties the shared tier" test "$(rcli --scan --pattern 'orfeas:cache:*' | wc -l)" -eq 0

# --- (5) a Redis with a password: from the environment, from the URL, wrong ---
pport=$((rport + 1))
[ "$pport" -gt 65000 ] && pport=$((rport - 1))
redis-server --port "$pport" --bind 127.0.0.1 --save '' --appendonly no --requirepass 's3cret/@:' \
    --dir "$work" --logfile "$work/redis-pw.log" &
pw_pid=$!
for _ in $(seq 1 100); do redis-cli -p "$pport" ping 2>/dev/null | grep -q NOAUTH && break; sleep 0.05; done
ORFEAS_REDIS_PASSWORD='s3cret/@:' node_start nP --redis "redis://127.0.0.1:$pport" --node-id nP
node_start nU --redis "redis://:s3cret%2F%40%3A@127.0.0.1:$pport/0" --node-id nU
node_start nW --redis "redis://:wrong@127.0.0.1:$pport" --node-id nW
poll_json "${URL[nP]}/api/health" j.cluster.redis up 50
check "password from ORFEAS_REDIS_PASSWORD: connected ($POLLED)" test "$POLLED" = up
poll_json "${URL[nU]}/api/health" j.cluster.redis up 50
check "password in the URL (percent-escaped): connected ($POLLED)" test "$POLLED" = up
poll_json "${URL[nW]}/api/health" j.status degraded 50
check "wrong password: degraded ($POLLED)" test "$POLLED" = degraded
check "wrong password: the log says AUTH failed" grep -q "AUTH failed" "$work/nW.log"
curl -s -o "$work/pw_job" -F "image=@$apple" -F quality=2 "${URL[nU]}/api/v1/jobs"
pw_id="$(json_get "$work/pw_job" j.job_id)"
poll_json "${URL[nP]}/api/v1/jobs/$pw_id" j.status completed
check "behind a password: a job accepted on one node is seen completed on the other" \
    test "$POLLED" = completed
for n in nP nU nW; do
    kill -TERM "${PID[$n]}"
    wait "${PID[$n]}"
    unset "PID[$n]"
done
kill -KILL "$pw_pid"
wait "$pw_pid" 2>/dev/null

# --- shutdown ---
for s in "${survivors[@]}"; do
    kill -TERM "${PID[$s]}"
    wait "${PID[$s]}"
    rc=$?
    check "$s exits 0 on SIGTERM ($rc)" test "$rc" -eq 0
    unset "PID[$s]"
done
echo "test_cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
