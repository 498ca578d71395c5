// `attribute index`: contribution records in, a datanet index out.
//
//   {"contributor":"acct:dave","id":"rec-1","text":"..."}   (one per line; "type", when
//   present, must be "contribution"; ids are unique; other fields are ignored)
//
// Texts are tokenized in parallel (the tokenizer is const and thread-safe), appended in
// input order, and written as one index file, or, with shard_tokens, as a directory of
// shards of at most that many tokens each (a record is never split), which is how a
// corpus larger than memory is indexed. The directory is assembled under a temporary
// name and renamed into place, so a reader never sees a partial set of shards.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/line_reader.h"

namespace omlkit::attribution {

struct BuildOptions {
  uint64_t shard_tokens = 0;  // 0: a single index file
  unsigned threads = 1;       // tokenizer threads
  size_t max_line_bytes = io::default_max_line_bytes;  // a longer line is an error (65)
  // Called after each batch of records (for a progress line).
  std::function<void(uint64_t records, uint64_t text_bytes)> on_progress;
};

struct BuildReport {
  uint64_t records = 0, tokens = 0, text_bytes = 0, index_bytes = 0;
  std::vector<std::string> files;  // the shards written
};

// Throws Error 66 (missing input or tokenizer), 65 at "file:line" (a bad record, a
// duplicate id, a text the tokenizer cannot encode), 73 (output cannot be created or,
// for a sharded index, already exists).
BuildReport build_index(const std::vector<std::string>& inputs, const std::string& tokenizer_path,
                        const std::string& out_path, const BuildOptions& options);

}  // namespace omlkit::attribution
