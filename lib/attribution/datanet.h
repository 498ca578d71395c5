// A datanet: the index shards queried together, and the tokenizer that built them.
//
// Shards come from index files and from directories of them (every *.idx inside, in name
// order). All must have been built from the same tokenizer.json bytes; the tokenizer is
// loaded from the first shard, where it is embedded. Const after open, thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "attribution/suffix_index.h"
#include "model/tokenizer.h"

namespace omlkit::attribution {

class Datanet {
 public:
  // Throws Error 66 for a missing path, 65 for an invalid shard, shards of different
  // tokenizers, or a tokenizer_path (when given) whose bytes are not the index's.
  static Datanet open(const std::vector<std::string>& paths, const std::string& tokenizer_path = "");

  const std::vector<std::unique_ptr<SuffixIndex>>& shards() const { return shards_; }
  const model::Tokenizer& tokenizer() const { return *tokenizer_; }
  uint64_t tokens() const;  // over all shards
  uint64_t records() const;
  uint64_t file_bytes() const;

 private:
  std::vector<std::unique_ptr<SuffixIndex>> shards_;
  std::unique_ptr<model::Tokenizer> tokenizer_;
};

}  // namespace omlkit::attribution
