// One binary search in a SuffixIndex's suffix array, advanced one memory access per step
// (SuffixIndex::step): pick the middle rank and prefetch its entry; read its position and
// prefetch its tokens; compare. Internal to attribution/suffix_index.cpp and
// attribution/longest_prefixes.cpp, which interleave many of them.
#pragma once

#include <cstdint>
#include <span>

#include "attribution/suffix_index.h"

namespace omlkit::attribution {

struct SuffixIndex::Search {
  enum Mode : uint8_t { longest, lower, upper };
  std::span<const uint32_t> query;
  Mode mode;
  int stage = 0;
  int64_t lo, hi;       // the bucket of query[0]: every suffix in it shares one token
  int64_t left, right;  // suffix(left) < the rank sought <= suffix(right); ends stand for lo - 1, hi
  size_t left_lcp = 1, right_lcp = 1;
  int64_t mid = 0;
  uint32_t position = 0;                        // of mid; when finished, of rank
  uint32_t left_position = 0, right_position = 0;  // of left and right, when inside the bucket
  size_t result = 0;  // longest: the match length; lower, upper: the rank found
  int64_t rank = 0;   // longest: a rank whose suffix starts with the `result` tokens matched
};

inline uint32_t SuffixIndex::checked_position(uint32_t rank) const {
  uint32_t p = suffix_array_[rank];
  if (p >= tokens_) [[unlikely]] corrupt_suffix_array(rank);
  return p;
}

inline size_t SuffixIndex::common_prefix(std::span<const uint32_t> query, uint32_t position, size_t from,
                                         bool* query_smaller) const {
  // Stops at the latest at the separator that ends the record: queries hold no separator.
  auto compare = [&](const auto* suffix) {
    size_t k = from;
    while (k < query.size() && suffix[k] == query[k]) ++k;
    *query_smaller = k == query.size() || query[k] < suffix[k];
    return k;
  };
  return narrow_ ? compare(static_cast<const uint16_t*>(token_data_) + position)
                 : compare(static_cast<const uint32_t*>(token_data_) + position);
}

}  // namespace omlkit::attribution
