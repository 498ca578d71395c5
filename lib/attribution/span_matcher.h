// Finds the spans of a call's output that occur verbatim in the datanet (OLMoTrace's
// span computation, Liu et al. 2025, on infini-gram's index, Liu et al. 2024):
//
//   1. for every output position l, the longest prefix of output[l:] found in any shard;
//   2. keep [l, l + length) when length >= min_span and its end passes every earlier
//      kept end (maximal spans: a span inside a longer earlier one adds nothing);
//   3. count each kept span's occurrences over all shards; above max_count it is
//      "common" (boilerplate, reported but not credited), otherwise every occurrence is
//      mapped back to its record and contributor.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "attribution/suffix_index.h"

namespace omlkit::attribution {

struct MatchOptions {
  size_t min_span = 8;       // tokens
  uint64_t max_count = 1000; // occurrences enumerated at most
  size_t sample_common = 0;  // occurrences still listed for a common span (for --explain)
};

struct Occurrence {
  uint32_t shard, record;
  std::string_view record_id, contributor;  // point into the shard's mapping
};

struct Span {
  uint32_t begin = 0, end = 0;  // output token offsets [begin, end)
  uint64_t count = 0;           // occurrences in all shards
  bool common = false;          // count > max_count
  std::vector<Occurrence> occurrences;  // all of them unless common
};

// Output tokens must be < the shards' vocabulary size. Spans come out in increasing
// begin (and end) order.
std::vector<Span> find_spans(const std::vector<std::unique_ptr<SuffixIndex>>& shards,
                             std::span<const uint32_t> output, const MatchOptions& options);

}  // namespace omlkit::attribution
