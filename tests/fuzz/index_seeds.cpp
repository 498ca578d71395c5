// Writes seed inputs for attribution_index_fuzz with the library's own ShardWriter, so the
// seeds always follow the current index format (they are generated at fuzz time, not
// checked in). Usage: index_seeds TOKENIZER_JSON OUT_DIR
#include <cstdio>
#include <string>
#include <vector>

#include "attribution/shard_writer.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "model/tokenizer.h"

using namespace omlkit;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: index_seeds TOKENIZER_JSON OUT_DIR\n");
    return 2;
  }
  try {
    std::string json = io::read_file(argv[1]);
    model::Tokenizer tokenizer = model::Tokenizer::from_json(json, argv[1]);
    const std::vector<std::vector<std::string>> shards = {
        {"acct:dave", "rec-1", "Hello world, hello again."},
        {"acct:dave", "rec-1", "the cat sat on the mat", "acct:erin", "rec-2", "the cat ran", "acct:dave", "rec-3",
         "a mat, a cat"},
        {"acct:x", "r", ""},
    };
    int n = 0;
    for (const auto& records : shards) {
      attribution::ShardWriter writer(json, uint32_t(tokenizer.vocab_size()));
      for (size_t i = 0; i + 2 < records.size(); i += 3)
        writer.add_record(records[i + 1], records[i], tokenizer.encode(records[i + 2]));
      writer.write(std::string(argv[2]) + "/seed-" + std::to_string(++n) + ".idx");
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "index_seeds: %s: %s\n", e.where().c_str(), e.what());
    return e.code();
  }
  return 0;
}
