# Thin wrapper over CMake/ctest. `make run` and `make test` install what is
# missing first (tools/deps.sh), so they work on a fresh Debian machine.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PORT ?= 5000

.PHONY: all build deps test test-fast test-asan run bench fuzz format clean

all: build

deps:
	@tools/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Every test in the default build, then the unit and fuzz-corpus tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'

test-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DORFEAS_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz|asan'

# Until the HTTP server lands: a CLI demo on a test image.
run: build
	@mkdir -p out
	$(BUILD)/orfeas generate ../shared/testdata/images/horse.png -o out/horse.glb -o out/horse.stl
	@echo "wrote out/horse.glb and out/horse.stl"

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
