# Thin wrapper around CMake. `make run` and `make test` do all set-up on a fresh Debian machine.
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/test
CMAKE_COMMON := -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

FUZZ_DIR := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: all deps build build-test test run format tidy bench clean fuzz fuzz-build install chaos fault-sweep

all: build

deps:
	@./scripts/install-deps.sh

$(RELEASE_DIR)/build.ninja:
	cmake -S . -B $(RELEASE_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release -DSLUICE_BUILD_TESTS=OFF

build: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS)

$(TEST_DIR)/build.ninja:
	cmake -S . -B $(TEST_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON \
	  -DSLUICE_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1"

build-test: deps $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) -j $(JOBS)

test: build-test
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS)

# The full chaos count (tests/chaos/run.sh, docs/reliability.md): 200+ SIGKILLs on every back-end
# combination; SLUICE_CHAOS_SEED=N reproduces a run's schedules.
chaos: deps $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) --target sluice sluice_chaos_test -j $(JOBS)
	./tests/chaos/run.sh $(TEST_DIR)

# The fault sweeps at every N (make test runs a stride of them): ~600 runs of the example, niced.
fault-sweep: deps $(TEST_DIR)/build.ninja
	cmake --build $(TEST_DIR) --target sluice sluice_faults_test -j $(JOBS)
	cd $(TEST_DIR) && SLUICE_FAULT_SWEEP_STRIDE=1 nice -n 10 tests/sluice_faults_test \
	  --gtest_filter='*FaultSweep*' | tee fault-sweep.log | grep -E '^\[fault sweep\]|FAILED|PASSED'

# libFuzzer targets (fuzz/, docs/reliability.md): clang, ASan+UBSan, a build folder of their own.
$(FUZZ_DIR)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSLUICE_FUZZ=ON -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF -DSLUICE_WERROR=OFF \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1"

fuzz-build: deps $(FUZZ_DIR)/build.ninja
	nice -n 10 cmake --build $(FUZZ_DIR) --target fuzz_all -j $(JOBS)

# Fuzzes each target (or FUZZ_TARGETS) FUZZ_SECONDS seconds, niced, one at a time.
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./fuzz/run.sh $(FUZZ_TARGETS)

# The binary, man page and bash completion under $(PREFIX) (DESTDIR works too, for packages).
PREFIX ?= /usr/local
install: build
	cmake --install $(RELEASE_DIR) --prefix $(PREFIX)

run: build
	./scripts/run-example.sh

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

bench: build
	./bench/run_all.sh

clean:
	rm -rf build

tidy: $(TEST_DIR)/build.ninja
	git ls-files 'src/*.cpp' | xargs clang-tidy -p $(TEST_DIR) --quiet
