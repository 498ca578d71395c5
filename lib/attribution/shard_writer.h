// Collects tokenized records for one datanet shard and writes its index file.
//
// The file (attribution/index_format.h) is written through io::AtomicFile: a reader sees
// the old file or the complete new one, never a part. Peak memory while writing is the
// token stream plus 4 bytes per token for the suffix array and 1 bit per token of
// construction state. Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crypto/sha256.h"

namespace omlkit::attribution {

class ShardWriter {
 public:
  // tokenizer_json: the bytes of the tokenizer.json every record was tokenized with.
  ShardWriter(std::string tokenizer_json, uint32_t vocab_size);

  // Appends one record: its tokens (each in [0, vocab_size)), then a separator.
  void add_record(std::string_view id, std::string_view contributor, std::span<const int32_t> tokens);

  uint64_t tokens() const { return record_starts_.back(); }  // separators included
  uint64_t records() const { return contributor_of_record_.size(); }
  uint32_t token_width() const { return vocab_size_ <= 0xFFFF ? 2 : 4; }
  const crypto::Hash& tokenizer_sha256() const { return tokenizer_sha256_; }

  // Sorts the suffixes, writes the file atomically (Error 73 when it cannot be created)
  // and starts an empty shard.
  void write(const std::string& path);

 private:
  void clear();

  std::string tokenizer_json_;
  crypto::Hash tokenizer_sha256_;
  uint32_t vocab_size_;
  std::vector<uint16_t> narrow_tokens_;  // width 2
  std::vector<uint32_t> wide_tokens_;    // width 4
  std::vector<uint32_t> record_starts_;  // R + 1 entries
  std::vector<uint32_t> contributor_of_record_;
  std::string record_ids_;
  std::vector<uint32_t> record_id_offsets_;  // R + 1 entries
  std::vector<std::string> contributors_;
  std::unordered_map<std::string, uint32_t> contributor_index_;
};

}  // namespace omlkit::attribution
