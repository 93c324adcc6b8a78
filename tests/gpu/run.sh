#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU: build with the CUDA
# backend into build-gpu, show the device, run the kernel conformance test,
# the depth network's CUDA-vs-CPU conformance test (test_nn_cuda) and the
# unit tests with cuda present, then the depth benchmark (518 x 518, CUDA vs
# CPU at fp32/fp16/int8) and the device benchmarks. About 8 minutes at most
# (ORFEAS_GPU_TIME_LIMIT seconds). Exits non-zero when the build fails, when
# cuda does not open, or when a conformance check or unit test fails; the
# summary at the end says which.
#   bash tests/gpu/run.sh            (from the repository root)
set -uo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/cuda/bin:$PATH"

deadline=$((SECONDS + ${ORFEAS_GPU_TIME_LIMIT:-480}))
left() { local l=$((deadline - SECONDS)); ((l > 5)) && echo "$l" || echo 5; }
section() { printf '\n======== %s (%ds left) ========\n' "$*" "$((deadline - SECONDS))"; }
build=pass conformance=pass depth=pass unit=pass bench=pass depth_bench=pass cuda=absent

section "dependencies"
if pkg-config --exists spng libjpeg libwebp libexif libpng libcjson 2>/dev/null &&
    command -v cmake >/dev/null; then
    echo "build dependencies present"
else
    # Offline machines cannot install: say so and try the build anyway. The
    # run set builds everything here; the unit tests skip what they lack
    # (redis-server, ../shared/testdata), saying so.
    timeout 120 bash tools/deps.sh run || echo "tools/deps.sh failed (offline?); building with what is here"
fi
command -v nvcc >/dev/null || { echo "FAIL: nvcc not found"; exit 2; }
nvcc --version | tail -1

section "configure and build (build-gpu, ORFEAS_CUDA=ON)"
mkdir -p build-gpu
# The lent machine cannot reach npm: without web/node_modules the page is
# built without its viewer (nothing here tests the page).
web_flag=""
[[ -f web/node_modules/three/build/three.module.js ]] || web_flag="-DORFEAS_WEB_THREE=OFF"
cmake -S . -B build-gpu -DORFEAS_CUDA=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $web_flag >build-gpu/build.log 2>&1 ||
    { tail -30 build-gpu/build.log; echo "FAIL: configure"; exit 2; }
grep "orfeas:" build-gpu/build.log
if timeout "$(left)" cmake --build build-gpu -j"$(nproc)" >>build-gpu/build.log 2>&1; then
    echo "built"
else
    # Still run what does build: the kernel checks need only the library.
    grep -E "error|Error" build-gpu/build.log | head -30
    echo "FAIL: full build; trying test_kernels, test_nn_cuda and the benchmarks alone"
    build=FAIL
    timeout "$(left)" cmake --build build-gpu -j"$(nproc)" --target test_kernels bench_device \
        >>build-gpu/build.log 2>&1 || { echo "FAIL: build of test_kernels"; exit 2; }
    timeout "$(left)" cmake --build build-gpu -j"$(nproc)" --target test_nn_cuda bench_depth \
        >>build-gpu/build.log 2>&1 || echo "FAIL: build of test_nn_cuda / bench_depth"
fi

section "device"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,temperature.gpu \
    --format=csv 2>/dev/null || echo "(nvidia-smi not available)"
if [[ -x build-gpu/orfeas ]]; then build-gpu/orfeas version; else echo "(no orfeas binary)"; fi
if [[ ! -x build-gpu/orfeas ]]; then
    :
elif grep -q '"gpu-stats"' src/cli/*.c 2>/dev/null; then
    timeout 30 build-gpu/orfeas gpu-stats --json || echo "(gpu-stats exited $?)"
else
    echo "(no gpu-stats subcommand in this build)"
fi

section "kernel conformance (test_kernels)"
timeout "$(left)" build-gpu/tests/test_kernels 2>&1 | tee build-gpu/test_kernels.out
[[ ${PIPESTATUS[0]} -eq 0 ]] || conformance=FAIL
# This script exists to test the cuda backend: its absence fails the run.
grep -q "^cuda: not available" build-gpu/test_kernels.out ||
    { grep -q "^cuda: " build-gpu/test_kernels.out && cuda=present; }

section "depth network on CUDA vs CPU (test_nn_cuda)"
# Exit 77 is its "skipped: no CUDA device": here that is a failure.
if [[ -x build-gpu/tests/test_nn_cuda ]]; then
    t=$(left); ((t > 300)) && t=300
    timeout "$t" build-gpu/tests/test_nn_cuda 2>&1 | tee build-gpu/test_nn_cuda.out
    rc=${PIPESTATUS[0]}
    ((rc == 0)) || { depth=FAIL; echo "FAIL: test_nn_cuda exited $rc"; }
else
    depth=FAIL
    echo "FAIL: test_nn_cuda was not built"
fi

section "unit tests (ctest -L unit)"
(cd build-gpu && timeout "$(left)" ctest -L unit -E '^(test_kernels|test_nn_cuda)$' --output-on-failure \
    -j"$(nproc)" --timeout 120) 2>&1 | tail -40
[[ ${PIPESTATUS[0]} -eq 0 ]] || unit=FAIL

section "depth benchmark (bench_depth --device both, 518 x 518)"
# ms per image on CUDA and on the CPU (all cores) at fp32/fp16/int8; errors
# against the first row (cpu fp32).
t=$(($(left) - 60))
((t > 150)) && t=150
if [[ ! -x build-gpu/bench/bench_depth ]]; then
    echo "(bench_depth was not built)"
    depth_bench=FAIL
elif ((t > 20)); then
    timeout "$t" build-gpu/bench/bench_depth --device both --size 518 --reps 3 \
        --threads "$(nproc)" || depth_bench=FAIL
else
    echo "skipped: no time left"
    depth_bench=skipped
fi

section "device benchmarks (bench_device)"
budget=$(($(left) - 15))
if ((budget > 20)); then
    timeout "$((budget + 10))" build-gpu/bench/bench_device --runs 5 --max-seconds "$budget" ||
        bench=FAIL
else
    echo "skipped: no time left"
    bench=skipped
fi

section "summary"
echo "full build:       $build"
echo "cuda device:      $cuda"
echo "conformance:      $conformance"
echo "depth on cuda:    $depth"
echo "unit tests:       $unit"
echo "depth benchmark:  $depth_bench"
echo "benchmarks:       $bench"
[[ $build == pass && $cuda == present && $conformance == pass && $depth == pass && $unit == pass ]]
