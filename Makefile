# Thin wrapper over CMake/ctest. `make run` and `make test` install what is
# missing first (tools/deps.sh), so they work on a fresh Debian machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PORT ?= 5000

.PHONY: all build deps test test-fast test-asan test-tsan run bench fuzz format clean

all: build

deps:
	@tools/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Every test in the default build, then the unit and fuzz-corpus tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer, and the unit tests
# under ThreadSanitizer.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan
	$(MAKE) test-tsan

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORFEAS_CUDA=OFF -DORFEAS_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz|asan'

# The unit tests again under ThreadSanitizer (the VRAM manager, the
# scheduler and the engine on shared devices are multi-threaded).
test-tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORFEAS_CUDA=OFF -DORFEAS_SANITIZE=thread $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) -L 'unit'

# The server on the embedded defaults (127.0.0.1:5000, device auto, data
# under the XDG data home). Ctrl-C stops it.
run: build
	$(BUILD)/orfeas serve --port $(PORT)

bench: build
	$(BUILD)/bench/bench_engine --devices cpu,sim:24GiB
	$(BUILD)/bench/bench_simplify --quick

fuzz:
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DORFEAS_FUZZ=ON \
		-DORFEAS_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
