# Entry points for people and CI; the build itself is meson + ninja.
#   make demo    install dependencies, build, run the demo
#   make check   install dependencies, build normal + ASan/UBSan + TSan, run
#                every test in all three, print "N passed, N failed"

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
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

.PHONY: all deps build build-asan build-tsan demo check clean

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

demo: build
	scripts/demo.sh $(BUILD)

check: build build-asan build-tsan
	@rm -f $(BUILD)/meson-logs/testlog.json \
	    $(ASAN_BUILD)/meson-logs/testlog.json \
	    $(TSAN_BUILD)/meson-logs/testlog.json
	-$(MESON_TEST) -C $(BUILD)
	-$(SAN_ENV) $(MESON_TEST) -C $(ASAN_BUILD)
	-$(TSAN_TEST) -C $(TSAN_BUILD)
	@scripts/test-summary.py $(BUILD)/meson-logs/testlog.json \
	    $(ASAN_BUILD)/meson-logs/testlog.json \
	    $(TSAN_BUILD)/meson-logs/testlog.json

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
