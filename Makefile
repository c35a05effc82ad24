# Entry points for people and CI; the build itself is meson + ninja.
#   make demo    install dependencies, build, run the demo
#   make check   install dependencies, build normal + ASan/UBSan + TSan, run
#                every test in all three, plus a short run of each fuzz
#                target where clang has libFuzzer, print "N passed, N failed"
#   make fuzz    build the fuzz targets, run each for FUZZ_TIME seconds

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
# Seconds per fuzz target: make fuzz; make check's smoke takes
# run-fuzzer's default.
FUZZ_TIME  ?= 60
# More libFuzzer options for make fuzz, e.g. -max_len=8000000.
FUZZ_ARGS  ?=
MESON_TEST  = meson test --print-errorlogs --num-processes 2 --no-rebuild

# LeakSanitizer needs ptrace-free /proc access that some sandboxes lack;
# leaks are still reported where it works.
SAN_ENV = ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
          UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# GCC 12's ThreadSanitizer aborts with "unexpected memory mapping" on
# kernels that randomise mmap more than it expects (vm.mmap_rnd_bits
# above 28): run its tests without address randomisation where the
# personality(2) call is allowed (not in some containers).  TSAN_OPTIONS
# and the suppressions come from meson.build.  TSan slows CPU-bound tests
# several times over: doubled per-test timeouts.
TSAN_RUN  := $(shell setarch -R true 2>/dev/null && echo setarch -R)
TSAN_TEST  = $(TSAN_RUN) $(MESON_TEST) --timeout-multiplier 2

.PHONY: all deps build build-asan build-tsan build-fuzz demo check fuzz \
        clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja: | deps
	meson setup $(ASAN_BUILD) --buildtype=debug \
	    -Db_sanitize=address,undefined -Db_lundef=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

$(TSAN_BUILD)/build.ninja: | deps
	meson setup $(TSAN_BUILD) --buildtype=debug -Db_sanitize=thread \
	    -Db_lundef=false

build-tsan: deps $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)

# The fuzz targets (tests/fuzz, docs/devel/testing.md): clang's
# libFuzzer with ASan and UBSan.  Where clang cannot link a fuzzer,
# make check counts the smoke as skipped.  A shell test, run after deps
# has installed clang.
NO_FUZZ   = fuzz smoke: no clang with libFuzzer
HAVE_FUZZ = echo 'int LLVMFuzzerTestOneInput(const char *d, long n) \
              { return 0; }' | clang -fsanitize=fuzzer -x c - \
              -o /dev/null 2>/dev/null

$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debug -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

fuzz: build-fuzz
	-VMIG_FUZZ_TIME=$(FUZZ_TIME) VMIG_FUZZ_ARGS="$(FUZZ_ARGS)" $(SAN_ENV) \
	    $(MESON_TEST) -C $(FUZZ_BUILD) --suite fuzz \
	    --timeout-multiplier $$(( $(FUZZ_TIME) / 20 + 1 ))
	@scripts/test-summary.py $(FUZZ_BUILD)/meson-logs/testlog.json

demo: build
	scripts/demo.sh $(BUILD)

check: build build-asan build-tsan
	@rm -f $(BUILD)/meson-logs/testlog.json \
	    $(ASAN_BUILD)/meson-logs/testlog.json \
	    $(TSAN_BUILD)/meson-logs/testlog.json \
	    $(FUZZ_BUILD)/meson-logs/testlog.json
	-$(MESON_TEST) -C $(BUILD)
	-$(SAN_ENV) $(MESON_TEST) -C $(ASAN_BUILD)
	-$(TSAN_TEST) -C $(TSAN_BUILD)
	@if $(HAVE_FUZZ); then \
	    $(MAKE) build-fuzz || exit 1; \
	    $(SAN_ENV) $(MESON_TEST) -C $(FUZZ_BUILD) --suite fuzz; \
	fi; true
	@scripts/test-summary.py $(BUILD)/meson-logs/testlog.json \
	    $(ASAN_BUILD)/meson-logs/testlog.json \
	    $(TSAN_BUILD)/meson-logs/testlog.json \
	    --optional "$(FUZZ_BUILD)/meson-logs/testlog.json=$(NO_FUZZ)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
