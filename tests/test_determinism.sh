#!/usr/bin/env bash
# The determinism contract end to end (docs/depth.md): a server on a
# simulated card with the depth model and several workers answers
# concurrent requests whose depth passes are batched (two network input
# sizes at once); each answer is byte-identical to the same request run
# alone on a fresh server. Nothing here compares against fixed bytes, so it
# holds on any CPU and any OpenBLAS kernel: it compares orfeas with itself.
# usage: test_determinism.sh ORFEAS TESTDATA
set -u
orfeas="$1"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/server_lib.sh"
. "$here/testdata.sh"
testdata_init "$2"

# A square photo (network input 518 x 518) and a 400 x 328 one (another
# size); both ship in examples/.
testdata_require test_determinism images/apple.jpg images/horse.png
square="$(testdata_file images/apple.jpg)" wide="$(testdata_file images/horse.png)"

work="$(mktemp -d)"
trap 'server_stop; rm -rf "$work"' EXIT
"$orfeas" depth --random-weights 42 --save-weights "$work/model.safetensors" || exit 1
flags=(--device sim:24GiB --depth-model "$work/model.safetensors" --depth-precision fp32
    --workers 6 --depth-batch-window 3000 --monitor-interval 3600)

# name image width_mm format: the requests (distinct cache keys, same depth input per image).
requests=(
    "s80 $square 80 glb" "s90 $square 90 glb" "s100 $square 100 stl" "s110 $square 110 obj"
    "w80 $wide 80 glb" "w90 $wide 90 stl"
)
post() { # dir name image width format
    curl -s -o "$1/$2.out" -D "$1/$2.h" -w '%{http_code}' -F "image=@$3" -F quality=4 \
        -F depth_source=model -F "width_mm=$4" -F "format=$5" "$SERVER_URL/api/v1/generate" \
        >"$1/$2.code"
}

mkdir -p "$work/together"
server_start "$orfeas" "${flags[@]}" --data-dir "$work/data" || exit 1
pids=()
for r in "${requests[@]}"; do
    set -- $r
    post "$work/together" "$1" "$2" "$3" "$4" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
curl -s "$SERVER_URL/metrics" >"$work/metrics.txt"
server_stop
check "server exited 0" [ "$SERVER_EXIT" = 0 ]

metric() { awk -v m="$1" '$1 == m { print $2 }' "$work/metrics.txt"; }
passes="$(metric orfeas_depth_passes_total)" images="$(metric orfeas_depth_images_total)"
largest="$(metric orfeas_depth_batch_largest)"
echo "together: ${#requests[@]} requests, $images images in $passes depth passes, largest batch $largest"
check "every request's depth ran" [ "${images:-0}" -eq "${#requests[@]}" ]
check "depth passes were batched (largest $largest)" [ "${largest:-0}" -ge 2 ]
check "fewer passes than images" [ "${passes:-99}" -lt "${images:-0}" ]

# Each request alone, on a fresh server (its own data dir: no cache).
i=0
for r in "${requests[@]}"; do
    set -- $r
    i=$((i + 1))
    mkdir -p "$work/alone$i"
    server_start "$orfeas" "${flags[@]}" --data-dir "$work/alone$i/data" || exit 1
    post "$work/alone$i" "$1" "$2" "$3" "$4"
    server_stop
    check "$1: 200 together" [ "$(cat "$work/together/$1.code")" = 200 ]
    check "$1: 200 alone" [ "$(cat "$work/alone$i/$1.code")" = 200 ]
    check "$1: a miss together (not coalesced)" grep -qi '^x-orfeas-cache: miss' "$work/together/$1.h"
    check "$1: same bytes together and alone" cmp -s "$work/together/$1.out" "$work/alone$i/$1.out"
done

echo "test_determinism: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
