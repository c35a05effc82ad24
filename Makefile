# Entry points for people and CI; the build itself is meson + ninja.
#   make demo    install dependencies, build, run the demo
#   make check   install dependencies, build normal + ASan/UBSan, run every
#                test in both, print "N passed, N failed"

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_TEST  = meson test --print-errorlogs --num-processes 2 --no-rebuild

# LeakSanitizer needs ptrace-free /proc access that some sandboxes lack;
# leaks are still reported where it works.
SAN_ENV = ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
          UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all deps build build-asan demo check clean

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

demo: build
	scripts/demo.sh $(BUILD)

check: build build-asan
	@rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json
	-$(MESON_TEST) -C $(BUILD)
	-$(SAN_ENV) $(MESON_TEST) -C $(ASAN_BUILD)
	@scripts/test-summary.py $(BUILD)/meson-logs/testlog.json \
	    $(ASAN_BUILD)/meson-logs/testlog.json

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
