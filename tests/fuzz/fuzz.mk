# Fuzzing the model engine's parsers with libFuzzer (clang), under ASan and UBSan.
# Included by the top Makefile:
#   make fuzz                      each target for FUZZ_SECONDS (default 600, the issue's bar)
#   make fuzz FUZZ_SECONDS=120     a shorter run
# Seeds live in tests/fuzz/corpus/<target>/ (kept in git); new inputs the fuzzer finds go to
# build-fuzz/corpus-<target>/ and crashes to build-fuzz/ (copy interesting ones to the seeds).

FUZZ_CXX      ?= clang++
FUZZ_CXXFLAGS ?= -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Ilib
FUZZ_SECONDS  ?= 600
FUZZ_BUILD    ?= build-fuzz
FUZZ_TARGETS  := safetensors_header tokenizer_json
# The parsers and what they call; compiled with the sanitizers, not taken from libomlkit.a.
FUZZ_SRCS     := $(addprefix lib/model/,dtype.cpp safetensors.cpp checkpoint.cpp config.cpp bpe.cpp \
                   tokenizer.cpp tokenizer_json.cpp pretokenizer.cpp unicode.cpp unicode_tables.cpp)

$(FUZZ_BUILD)/%_fuzz: tests/fuzz/%_fuzz.cpp $(FUZZ_SRCS)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $^ -o $@

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%_fuzz)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_BUILD)/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -artifact_prefix=$(FUZZ_BUILD)/$$t- $(FUZZ_BUILD)/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done
