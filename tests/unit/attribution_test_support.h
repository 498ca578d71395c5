// Helpers for the attribution tests: random token streams, shards written from them, and
// the brute-force searches the suffix array is checked against.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "attribution/shard_writer.h"
#include "attribution/suffix_index.h"
#include "test_support.h"

namespace omlkit::attribution::testing {

// Records of random tokens in [0, alphabet), lengths in [0, max_length]; a small alphabet
// makes long repeats, as real text has.
inline std::vector<std::vector<int32_t>> random_records(std::mt19937& rng, size_t count, size_t max_length,
                                                        int32_t alphabet) {
  std::uniform_int_distribution<size_t> length(0, max_length);
  std::uniform_int_distribution<int32_t> token(0, alphabet - 1);
  std::vector<std::vector<int32_t>> records(count);
  for (auto& r : records) {
    r.resize(length(rng));
    for (auto& t : r) t = token(rng);
  }
  return records;
}

// Writes records as a shard (record i: id "r<i>", contributor "acct:c<i % contributors>").
inline std::unique_ptr<SuffixIndex> write_shard(const std::string& path, const std::vector<std::vector<int32_t>>& records,
                                                uint32_t vocab_size, size_t contributors = 3, size_t first_id = 0) {
  ShardWriter writer("{\"test\": \"not a tokenizer\"}", vocab_size);
  for (size_t i = 0; i < records.size(); ++i)
    writer.add_record("r" + std::to_string(first_id + i), "acct:c" + std::to_string((first_id + i) % contributors),
                      records[i]);
  writer.write(path);
  return SuffixIndex::open(path);
}

// The stream a shard holds: each record, then a separator (-1 here, larger than any token).
inline std::vector<int64_t> stream_of(const std::vector<std::vector<int32_t>>& records) {
  std::vector<int64_t> s;
  for (const auto& r : records) {
    s.insert(s.end(), r.begin(), r.end());
    s.push_back(-1);
  }
  return s;
}

// Tokens of query matched at position p of the stream (a separator never matches).
inline size_t match_at(const std::vector<int64_t>& stream, size_t p, std::span<const uint32_t> query) {
  size_t k = 0;
  while (k < query.size() && p + k < stream.size() && stream[p + k] == int64_t(query[k])) ++k;
  return k;
}

inline size_t brute_longest_prefix(const std::vector<int64_t>& stream, std::span<const uint32_t> query) {
  size_t best = 0;
  for (size_t p = 0; p < stream.size(); ++p) best = std::max(best, match_at(stream, p, query));
  return best;
}

inline std::vector<uint32_t> brute_occurrences(const std::vector<int64_t>& stream, std::span<const uint32_t> query) {
  std::vector<uint32_t> out;
  for (size_t p = 0; p < stream.size(); ++p)
    if (match_at(stream, p, query) == query.size()) out.push_back(uint32_t(p));
  return out;
}

}  // namespace omlkit::attribution::testing
