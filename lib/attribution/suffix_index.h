// One datanet shard, memory-mapped: the token stream, its suffix array, and the map from
// positions back to records and contributors (format: attribution/index_format.h).
//
// Queries are infini-gram style binary searches over the suffix array, started in the
// bucket of the query's first token; Manber and Myers' rule (a suffix between two others
// shares at least min(lcp_left, lcp_right) tokens with the query) skips the tokens known
// to match. The batch calls run many searches interleaved with prefetches, which on a
// 100M-token index is about 3 times faster than one after the other (cache misses overlap).
// longest_prefixes also walks each text right to left, so that most positions need no
// search at all (attribution/longest_prefixes.cpp).
// Everything is const after open() and safe to call from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "crypto/sha256.h"

namespace omlkit::attribution {

class SuffixIndex {
 public:
  // Maps path and checks its header and tables. Throws Error 66 when the file cannot be
  // read and 65 (at "path") when it is not a valid index of a version this omlkit reads.
  static std::unique_ptr<SuffixIndex> open(const std::string& path);
  ~SuffixIndex();
  SuffixIndex(const SuffixIndex&) = delete;
  SuffixIndex& operator=(const SuffixIndex&) = delete;

  const std::string& path() const { return path_; }
  const crypto::Hash& tokenizer_sha256() const { return tokenizer_sha256_; }
  std::string_view tokenizer_json() const { return tokenizer_json_; }
  uint32_t vocab_size() const { return vocab_size_; }
  uint64_t size() const { return tokens_; }  // tokens, separators included
  uint64_t records() const { return records_; }
  uint64_t file_bytes() const { return map_bytes_; }

  // Query tokens must be < vocab_size(); a separator never matches.
  // Length of the longest prefix of query that occurs somewhere in the stream.
  size_t longest_prefix(std::span<const uint32_t> query) const;

  // The same for every suffix text[l:] with l < count: longest[l] becomes the larger of
  // itself and that length. Computed right to left from the matching statistics' rule
  // (attribution/longest_prefixes.cpp); the results are those of longest_prefix.
  void longest_prefixes(std::span<const uint32_t> text, size_t count, size_t* longest) const;
  // The same by one binary search per position, interleaved (the reference that
  // longest_prefixes is tested and measured against).
  void longest_prefixes_by_search(std::span<const uint32_t> text, size_t count, size_t* longest) const;

  struct Range {
    uint32_t begin = 0, end = 0;  // suffix-array ranks [begin, end)
    uint32_t size() const { return end - begin; }
  };
  // The ranks of the suffixes that start with query (empty when it does not occur).
  Range find(std::span<const uint32_t> query) const;
  // The same for many queries at once, interleaved: ranges[i] for queries[i].
  void find_all(std::span<const std::span<const uint32_t>> queries, Range* ranges) const;

  // Stream position of the suffix at rank; Error 65 when the file's table is corrupt.
  uint32_t position(uint32_t rank) const;
  // The record holding a stream position, and its fields.
  uint32_t record_at(uint32_t position) const;
  std::string_view record_id(uint32_t record) const;
  std::string_view contributor(uint32_t record) const;

 private:
  SuffixIndex() = default;
  uint32_t token(uint64_t position) const {
    return narrow_ ? static_cast<const uint16_t*>(token_data_)[position]
                   : static_cast<const uint32_t*>(token_data_)[position];
  }
  // Tokens of query shared with the suffix at position, counting from `from` (which the
  // caller knows to be shared already); *query_smaller says how the first difference goes.
  // Inline, with checked_position, in attribution/suffix_search.h.
  size_t common_prefix(std::span<const uint32_t> query, uint32_t position, size_t from, bool* query_smaller) const;
  uint32_t checked_position(uint32_t rank) const;
  [[noreturn]] void corrupt_suffix_array(uint32_t rank) const;
  struct Search;  // attribution/suffix_search.h
  struct Walk;    // attribution/longest_prefixes.cpp
  bool start(std::span<const uint32_t> query, int mode, Search* search) const;
  // Advances a search by one memory access (prefetched by the step before); true when it
  // has finished and its result is set.
  bool step(Search& search) const;
  void run(std::span<Search> searches) const;
  bool step(Walk& walk, std::span<const uint32_t> text, size_t* longest) const;

  std::string path_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  crypto::Hash tokenizer_sha256_{};
  std::string_view tokenizer_json_;
  uint32_t vocab_size_ = 0;
  uint64_t tokens_ = 0, records_ = 0, contributors_ = 0;
  bool narrow_ = true;
  uint32_t separator_ = 0;
  const void* token_data_ = nullptr;
  const uint32_t* suffix_array_ = nullptr;
  const uint32_t* buckets_ = nullptr;
  const uint32_t* record_starts_ = nullptr;
  const uint32_t* record_contributors_ = nullptr;
  const uint32_t* record_id_offsets_ = nullptr;
  const char* record_id_bytes_ = nullptr;
  const uint32_t* contributor_offsets_ = nullptr;
  const char* contributor_bytes_ = nullptr;
};

}  // namespace omlkit::attribution
