# omlkit — build, test, demo, bench, install.
#
# Everything is discovered by wildcard, so adding a file never means editing this one:
#   lib/**/*.cpp (not under cuda/)  -> build/libomlkit.a
#   tools/<tool>.cpp                -> bin/<tool>, linked with tools/common/*.cpp
#   tests/unit/*_test.cpp           -> build/unit_tests (GoogleTest)
#   tests/cli/*.bats                -> run by bats

CXX      ?= g++
# -g1: line tables and function names (stack traces, perf, sanitizer reports) without the
# full variable info of -g, which costs a third of a cold build; `make CXXFLAGS='-O0 -g'` to debug.
CXXFLAGS ?= -O2 -g1
override CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -Ilib -Itools/common -MMD -MP
LDLIBS   += -lssl -lcrypto -lzstd -llmdb -lopenblas -lpthread
# cpp-httplib (lib/serve): Debian's shared library, whose header needs the library's own
# build macros (they change class layouts), so it is compiled with pkg-config's flags.
HTTPLIB_CFLAGS := $(shell pkg-config --cflags cpp-httplib 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs cpp-httplib 2>/dev/null || echo -lcpp-httplib)
PREFIX   ?= /usr/local
BUILD    ?= build
BIN      ?= bin

LIB_SRCS    := $(shell find lib -name '*.cpp' -not -path '*/cuda/*' | sort)
LIB_OBJS    := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
COMMON_SRCS := $(wildcard tools/common/*.cpp)
COMMON_OBJS := $(COMMON_SRCS:%.cpp=$(BUILD)/%.o)
TOOL_SRCS   := $(wildcard tools/*.cpp)
TOOLS       := $(TOOL_SRCS:tools/%.cpp=$(BIN)/%)
UNIT_SRCS   := $(wildcard tests/unit/*_test.cpp)
UNIT_OBJS   := $(UNIT_SRCS:%.cpp=$(BUILD)/%.o)
MAN_PAGES   := $(wildcard man/*.1 man/*.5)
# test, demo and sanitize compile with one job per core unless make was given -j already.
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
PARALLEL  = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))

.SECONDARY:
.PHONY: all deps test unit cli demo bench install sanitize fuzz clean
all: $(TOOLS)

deps:
	@scripts/deps

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/lib/serve/server.o: CXXFLAGS += $(HTTPLIB_CFLAGS)

$(BUILD)/libomlkit.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/tools/%.o $(COMMON_OBJS) $(BUILD)/libomlkit.a
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(BUILD)/libomlkit.a
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDFLAGS) -lgtest -lgtest_main $(LDLIBS)

# `make test` = install what is missing, build, run every test, end with "N passed, N failed".
test: deps
	@$(MAKE) $(PARALLEL) --no-print-directory all $(BUILD)/unit_tests
	@scripts/run-tests $(BUILD)/unit_tests tests/cli

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

cli: all
	bats tests/cli

demo: deps
	@$(MAKE) $(PARALLEL) --no-print-directory all
	@examples/demo.sh

bench: all
	@for b in bench/*.sh; do echo "== $$b"; $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MAN_PAGES); do install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/; done

# ASan + UBSan build of everything in a separate tree (-Og, no CUDA), every unit and CLI
# test against it, then a short libFuzzer run of each fuzz target (tests/fuzz/fuzz.mk). The
# tests that need ../shared/models are skipped here (they are slow under ASan and run in
# `make test`); SANITIZE_SHARED=../shared runs them too.
SANITIZE_SHARED ?=
sanitize: fuzz-deps
	@$(MAKE) $(PARALLEL) --no-print-directory BUILD=build-san BIN=bin-san CUDA=0 \
	    CXXFLAGS='-Og -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    all build-san/unit_tests
	@$(if $(SANITIZE_SHARED),,echo "sanitize: tests that need ../shared/models are skipped (SANITIZE_SHARED=../shared runs them)")
	@OMLKIT_SHARED=$(or $(abspath $(SANITIZE_SHARED)),$(CURDIR)/build-san/no-shared) OMLKIT_BIN=$(CURDIR)/bin-san OMLKIT_SANITIZE=1 \
	    scripts/run-tests build-san/unit_tests tests/cli
	@$(MAKE) --no-print-directory fuzz-smoke

-include tests/fuzz/fuzz.mk
-include lib/model/cuda/cuda.mk

clean:
	rm -rf build build-san bin bin-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
