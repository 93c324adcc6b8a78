# Thin wrapper over CMake/ctest. `make run` and `make test` install what is
# missing first (tools/deps.sh), so they work on a fresh Debian machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PORT ?= 5000

.PHONY: all build deps test test-fast test-asan test-tsan run bench fuzz fuzz-ci load soak bench-report format clean soak-ci

all: build

# What tools/deps.sh installs: the run set (build and run the server), or
# for the tests, fuzzing and benchmarks the test set, a superset. A
# target-specific value holds for the target's prerequisites too (build, deps).
DEPS = run
test test-fast test-asan test-tsan fuzz fuzz-ci load soak soak-ci bench bench-report: DEPS = test

deps:
	@tools/deps.sh $(DEPS)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# ctest shows nothing of a skipped test: after a run, the line each skipped
# test (or skipped part of one) printed, saying what it lacked.
ctest_skips = grep -hsE '^SKIP |: skipped: ' $(1)/Testing/Temporary/LastTest.log || true

# Every test in the default build, then the unit and fuzz-corpus tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer, and the unit tests
# under ThreadSanitizer.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(call ctest_skips,$(BUILD))
	$(MAKE) test-asan
	$(MAKE) test-tsan
	$(MAKE) fuzz-ci
	$(MAKE) soak-ci

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'
	@$(call ctest_skips,$(BUILD))

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORFEAS_CUDA=OFF -DORFEAS_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz|asan'
	@$(call ctest_skips,build-asan)

# The unit tests again under ThreadSanitizer (the VRAM manager, the
# scheduler and the engine on shared devices are multi-threaded). OpenBLAS's
# own threads are not instrumented, so TSan would report its GEMM outputs as
# races: there it runs in the calling thread.
test-tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORFEAS_CUDA=OFF -DORFEAS_SANITIZE=thread $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	cd build-tsan && OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) -L 'unit'
	@$(call ctest_skips,build-tsan)

# The server on the embedded defaults (127.0.0.1:5000, device auto, data
# under the XDG data home). Ctrl-C stops it.
run: build
	$(BUILD)/orfeas serve --port $(PORT)

bench: build
	$(BUILD)/bench/bench_engine --devices cpu,sim:24GiB
	$(BUILD)/bench/bench_simplify --quick

fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DORFEAS_FUZZ=ON \
		-DORFEAS_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

# Every fuzz/fuzz_*.c target under libFuzzer + ASan + UBSan for FUZZ_SECONDS
# each, on a scratch copy of its corpus (the committed corpora do not grow
# here); any crash, leak, timeout or UB report fails. Crash inputs are kept
# in build-fuzz/artifacts/.
FUZZ_SECONDS ?= 20
fuzz-ci: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DORFEAS_FUZZ=ON \
		-DORFEAS_SANITIZE=address,undefined -DORFEAS_CUDA=OFF -DORFEAS_WEB_THREE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@set -u; passed=0; failed=0; mkdir -p build-fuzz/artifacts; \
	for src in fuzz/fuzz_*.c; do \
		name=$$(basename $$src .c); scratch=$$(mktemp -d); \
		cp -r fuzz/corpus/$$name/. $$scratch/ 2>/dev/null || true; \
		if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			timeout $$(( $(FUZZ_SECONDS) + 120 )) build-fuzz/fuzz/$$name -max_total_time=$(FUZZ_SECONDS) \
			-timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=build-fuzz/artifacts/$$name- $$scratch >build-fuzz/$$name.log 2>&1; then \
			echo "PASS $$name: $$(grep -o 'stat::number_of_executed_units: *[0-9]*' build-fuzz/$$name.log | grep -o '[0-9]*$$') runs in $(FUZZ_SECONDS) s"; \
			passed=$$((passed + 1)); \
		else \
			echo "FAIL $$name (build-fuzz/$$name.log):"; tail -40 build-fuzz/$$name.log; failed=$$((failed + 1)); \
		fi; \
		rm -rf $$scratch; \
	done; \
	echo "fuzz-ci: $$passed passed, $$failed failed"; [ $$failed -eq 0 ]

# The real server under a bounded mixed load (LOAD_SECONDS, default 60) and
# the same for longer (SOAK_SECONDS, default 600); see bench/load.sh.
LOAD_SECONDS ?= 60
SOAK_SECONDS ?= 600
load: build
	bench/load.sh $(BUILD)/orfeas $(LOAD_SECONDS)

soak: build
	bench/soak.sh $(BUILD)/orfeas $(SOAK_SECONDS)

# A short soak of the ASan+UBSan+LSan server under a mixed load (part of
# make test): leaks, memory errors and unexpected statuses fail it.
soak-ci: deps
	SOAK_CHECK=asan SOAK_WARMUP=5 bench/soak.sh $(BUILD)/orfeas 30

# Runs every bench program and writes docs/PERFORMANCE.md from their output.
bench-report: build
	bench/report.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
