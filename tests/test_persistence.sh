#!/usr/bin/env bash
# The dedup cache and persistence with the real server: (1) a hit is
# byte-identical to the miss; (2) 8 identical concurrent requests run the
# pipeline once; (3) kill -9 mid-job and a restart on the same --data-dir:
# finished results still served, unfinished jobs run again; (4) a corrupted
# cache file is recomputed, not served; (5) a full disk (a 2 MiB tmpfs)
# gives 503 storage_full for new results while cached ones are still served.
# usage: test_persistence.sh ORFEAS TESTDATA
set -u
orfeas="$1"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/server_lib.sh
source "$here/server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/testdata.sh"
testdata_init "$2"
work="$(mktemp -d)"
mounted=""
cleanup() {
    server_stop
    [ -n "$mounted" ] && umount "$mounted" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
img="$(testdata_file images/horse.png)"
img2="$(testdata_file images/apple.jpg)"
D="$work/data"

start() { server_start "$orfeas" --device cpu --workers 1 --queue-max 16 --data-dir "$@"; }
header() { tr -d '\r' <"$1" | awk -v h="$2" 'tolower($1) == tolower(h) ":" {print $2}'; }
stat_of() { curl -s "$U/api/v1/cache/stats" >"$work/stats" && json_get "$work/stats" "j.$1"; }

start "$D" || exit 1
U="$SERVER_URL"

# --- (1) miss then hit, byte-identical, same job id
curl -s -D "$work/h1" -o "$work/m1.glb" -F "image=@$img" -F quality=3 -F format=glb "$U/api/v1/generate"
curl -s -D "$work/h2" -o "$work/m2.glb" -F format=glb -F quality=3 -F "image=@$img" "$U/api/v1/generate"
check "first is a miss" [ "$(header "$work/h1" X-Orfeas-Cache)" = miss ]
check "second is a hit" [ "$(header "$work/h2" X-Orfeas-Cache)" = hit ]
check "hit is byte-identical" cmp -s "$work/m1.glb" "$work/m2.glb"
job1="$(header "$work/h1" X-Orfeas-Job)"
check "hit names the original job" [ "$(header "$work/h2" X-Orfeas-Job)" = "$job1" ]
check "stats backend" [ "$(stat_of backend)" = memory+disk ]
check "one hit counted" [ "$(stat_of hits)" = 1 ]
curl -s "$U/metrics" | grep -q 'orfeas_cache.*hit' && ok || bad "metrics count the hit"
status="$(curl -s -o /dev/null -w '%{http_code}' -F "image=@$img" -F quality=3 -F format=stl "$U/api/v1/generate")"
check "another format is another key (a miss)" [ "$(stat_of misses)" = 2 ] && [ "$status" = 200 ]

# --- (2) 8 identical concurrent requests: one run
misses0="$(stat_of misses)"
pids=()
for i in 1 2 3 4 5 6 7 8; do
    curl -s -D "$work/c$i.h" -o "$work/c$i.glb" -F "image=@$img2" -F quality=6 "$U/api/v1/generate" &
    pids+=($!)
done
wait "${pids[@]}"
check "8 concurrent: one miss" [ "$(($(stat_of misses) - misses0))" = 1 ]
same=1
for i in 2 3 4 5 6 7 8; do cmp -s "$work/c1.glb" "$work/c$i.glb" || same=0; done
check "8 concurrent: identical bytes" [ "$same" = 1 ]
outcomes="$(for i in 1 2 3 4 5 6 7 8; do header "$work/c$i.h" X-Orfeas-Cache; done | sort | uniq -c | tr '\n' ' ')"
echo "8 concurrent requests: $outcomes"
check "8 concurrent: the rest coalesced or hit" [ "$(for i in 1 2 3 4 5 6 7 8; do header "$work/c$i.h" X-Orfeas-Cache; done | grep -c miss)" = 1 ]

# --- (3) kill -9 while a job runs; restart on the same data dir
curl -s -o "$work/j1.json" -F "image=@$img" -F quality=10 -F format=glb "$U/api/v1/jobs"
curl -s -o "$work/j2.json" -F "image=@$img2" -F quality=9 -F format=stl "$U/api/v1/jobs"
jr="$(json_get "$work/j1.json" j.job_id)" jq="$(json_get "$work/j2.json" j.job_id)"
state=""
for _ in $(seq 1 400); do
    curl -s -o "$work/s.json" "$U/api/v1/jobs/$jr"
    state="$(json_get "$work/s.json" j.status)"
    [ "$state" = running ] && break
    sleep 0.01
done
check "the quality-10 job was running when killed" [ "$state" = running ]
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
start "$D" || exit 1
U="$SERVER_URL"
curl -s -o "$work/r1.glb" "$U/api/v1/jobs/$job1/result"
check "finished result served after restart, byte-identical" cmp -s "$work/m1.glb" "$work/r1.glb"
status="$(curl -s -o "$work/s.json" -w '%{http_code}' "$U/api/v1/jobs/$jr")"
check "killed job's status readable" [ "$status" = 200 ]
for j in "$jr" "$jq"; do
    state=""
    for _ in $(seq 1 600); do
        curl -s -o "$work/s.json" "$U/api/v1/jobs/$j"
        state="$(json_get "$work/s.json" j.status)"
        [ "$state" = completed ] || [ "$state" = failed ] && break
        sleep 0.1
    done
    check "job $j ran again and completed" [ "$state" = completed ]
done
status="$(curl -s -o "$work/r2.glb" -w '%{http_code}' "$U/api/v1/jobs/$jr/result")"
check "re-run result served" [ "$status" = 200 ] && [ -s "$work/r2.glb" ]
status="$(curl -s -o "$work/e.json" -w '%{http_code}' "$U/api/v1/jobs/$job1/result?format=stl")"
check "restored job: another format is 404 (mesh not kept)" [ "$status" = 404 ]

# --- (4) a corrupted cache file is recomputed, not served (memory is empty
# after the restart, so the next request reads the file)
f="$(grep -l . "$D"/cache/*/* 2>/dev/null | while read -r p; do
    [ "$(stat -c %s "$p")" -gt "$(stat -c %s "$work/m1.glb")" ] &&
        [ "$(stat -c %s "$p")" -lt "$(($(stat -c %s "$work/m1.glb") + 4096))" ] && echo "$p"
done | head -1)"
check "found the cached file" [ -n "$f" ]
size="$(stat -c %s "$f")"
printf '\x5a' | dd of="$f" bs=1 seek=$((size - 100)) conv=notrunc status=none
corrupted0="$(stat_of corrupted)"
curl -s -D "$work/h3" -o "$work/m3.glb" -F "image=@$img" -F quality=3 -F format=glb "$U/api/v1/generate"
check "corrupted entry is a miss" [ "$(header "$work/h3" X-Orfeas-Cache)" = miss ]
check "recomputed bytes equal the original" cmp -s "$work/m1.glb" "$work/m3.glb"
check "corruption counted" [ "$(stat_of corrupted)" = $((corrupted0 + 1)) ]
grep -q "failed its check" "$SERVER_LOG" && ok || bad "corruption logged"
curl -s -D "$work/h4" -o "$work/m4.glb" -F "image=@$img" -F quality=3 -F format=glb "$U/api/v1/generate"
check "then a hit again" [ "$(header "$work/h4" X-Orfeas-Cache)" = hit ]
cleared="$(curl -s -X POST "$U/api/v1/cache/clear")"
check "clear answers a count" [ "$(echo "$cleared" | grep -c '"cleared":[1-9]')" = 1 ]
check "clear empties" [ "$(stat_of entries)" = 0 ]
server_stop
check "clean exit" [ "$SERVER_EXIT" = 0 ]

# --- (5) a full disk
T="$work/tiny"
mkdir -p "$T"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m tmpfs "$T" 2>/dev/null; then
    mounted="$T"
    start "$T/data" || exit 1
    U="$SERVER_URL"
    curl -s -D "$work/h5" -o "$work/m5.stl" -F "image=@$img" -F quality=1 -F format=stl "$U/api/v1/generate"
    check "small result computed" [ "$(header "$work/h5" X-Orfeas-Cache)" = miss ]
    dd if=/dev/zero of="$T/filler" bs=64k status=none 2>/dev/null
    status="$(curl -s -o "$work/full.json" -w '%{http_code}' -F "image=@$img" -F quality=2 -F format=stl "$U/api/v1/generate")"
    check "full disk: 503" [ "$status" = 503 ]
    check "full disk: storage_full" [ "$(json_get "$work/full.json" j.error.code)" = storage_full ]
    status="$(curl -s -o "$work/full.json" -w '%{http_code}' -F "image=@$img2" -F quality=2 "$U/api/v1/jobs")"
    check "full disk: async 503 storage_full" [ "$status" = 503 ]
    curl -s -D "$work/h6" -o "$work/m6.stl" -F "image=@$img" -F quality=1 -F format=stl "$U/api/v1/generate"
    check "full disk: cached result still served" [ "$(header "$work/h6" X-Orfeas-Cache)" = hit ]
    check "full disk: byte-identical" cmp -s "$work/m5.stl" "$work/m6.stl"
    rm -f "$T/filler"
    status="$(curl -s -o /dev/null -w '%{http_code}' -F "image=@$img" -F quality=2 -F format=stl "$U/api/v1/generate")"
    check "space back: works again" [ "$status" = 200 ]
    server_stop
    umount "$T" && mounted=""
else
    echo "SKIP full disk: cannot mount a tmpfs (needs root)"
fi

echo "test_persistence: $passed passed, $failed failed"
[ "$failed" = 0 ]
