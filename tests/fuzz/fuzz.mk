# Fuzzing the parsers that read untrusted bytes, with libFuzzer (clang) under ASan and UBSan.
# Included by the top Makefile:
#   make fuzz                        installs clang (scripts/deps --fuzz), then fuzzes each
#                                    target for FUZZ_SECONDS (default 600)
#   make fuzz FUZZ_SECONDS=120       a shorter run; FUZZ_TARGETS='ledger trust_file' a subset
#   make fuzz-smoke                  each target for FUZZ_SMOKE_SECONDS (default 5) from the
#                                    checked-in corpora (part of `make sanitize`); says so and
#                                    skips when clang cannot build a libFuzzer binary
# One target per parser, tests/fuzz/<target>_fuzz.cpp; each lets only omlkit::Error escape,
# so any other exception, crash, leak, hang or sanitizer report is a finding. Seeds live in
# tests/fuzz/corpus/<target>/ (kept in git, with the regression input of every finding),
# except attribution_index's, which tests/fuzz/index_seeds.cpp writes with the library's own
# ShardWriter at fuzz time (so they follow the index format). New inputs the fuzzer finds go
# to build-fuzz/corpus-<target>/ and crashes to build-fuzz/<target>-crash-* (copy them to
# the seeds once fixed).

FUZZ_CXX          ?= clang++
FUZZ_SANITIZE     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CXXFLAGS     ?= -std=c++20 -O1 -g1 $(FUZZ_SANITIZE) -Ilib
FUZZ_SECONDS      ?= 600
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_BUILD        ?= build-fuzz
FUZZ_TARGETS      ?= $(patsubst tests/fuzz/%_fuzz.cpp,%,$(wildcard tests/fuzz/*_fuzz.cpp))
FUZZ_RUN_FLAGS    := -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
# The library, instrumented for coverage; each target links only what it uses. The model
# engine's compute (CPU kernels, transformer, training, generation) reads no untrusted bytes
# and is left out, which saves about half of this build.
FUZZ_LDLIBS       := $(LDLIBS)
FUZZ_LIB_SKIP     := lib/model/cpu/% lib/model/transformer% lib/model/fine_tune.cpp lib/model/generate.cpp \
                     lib/model/optimizer.cpp lib/model/scoring.cpp lib/model/benchmark.cpp \
                     lib/model/backend_select.cpp lib/model/parameters.cpp lib/model/checkpoint_writer.cpp
FUZZ_LIB_OBJS     := $(patsubst %.cpp,$(FUZZ_BUILD)/obj/%.o,$(filter-out $(FUZZ_LIB_SKIP),$(LIB_SRCS)))

$(FUZZ_BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libomlkit-fuzz.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/%_fuzz: tests/fuzz/%_fuzz.cpp tests/fuzz/fuzz_support.h $(FUZZ_BUILD)/libomlkit-fuzz.a
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -Itests/fuzz $< $(FUZZ_BUILD)/libomlkit-fuzz.a -o $@ $(FUZZ_LDLIBS)

$(FUZZ_BUILD)/index_seeds: tests/fuzz/index_seeds.cpp $(FUZZ_BUILD)/libomlkit-fuzz.a
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link $< $(FUZZ_BUILD)/libomlkit-fuzz.a -o $@ $(FUZZ_LDLIBS)

# Generated seeds (see above); the directory is remade so that it never holds a stale format.
$(FUZZ_BUILD)/seeds-attribution_index: $(FUZZ_BUILD)/index_seeds tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json
	@rm -rf $@ && mkdir -p $@
	$(FUZZ_BUILD)/index_seeds tests/fuzz/corpus/tokenizer_json/byte_level_gpt2.json $@

.PHONY: fuzz-deps fuzz-build fuzz-run fuzz-smoke
fuzz-deps:
	@scripts/deps --fuzz

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%_fuzz) $(FUZZ_BUILD)/seeds-attribution_index

# Runs every target for FUZZ_SECONDS from its seeds; stops at the first finding.
fuzz-run: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t tests/fuzz/corpus/$$t; \
	  seeds=tests/fuzz/corpus/$$t; [ -d $(FUZZ_BUILD)/seeds-$$t ] && seeds="$$seeds $(FUZZ_BUILD)/seeds-$$t"; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_BUILD)/$${t}_fuzz $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_BUILD)/$$t- $(FUZZ_BUILD)/corpus-$$t $$seeds 2>$(FUZZ_BUILD)/$$t.log \
	    || { tail -60 $(FUZZ_BUILD)/$$t.log; echo "fuzz: $$t: FINDING (log: $(FUZZ_BUILD)/$$t.log)"; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' $(FUZZ_BUILD)/$$t.log | tr '\n' ' '; echo; \
	done

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-smoke:
	@if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' | \
	    $(FUZZ_CXX) -x c++ -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null; then \
	  echo "fuzz: SKIPPED: $(FUZZ_CXX) cannot build a libFuzzer binary (make fuzz-deps installs clang)"; \
	else \
	  $(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS); \
	fi

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
