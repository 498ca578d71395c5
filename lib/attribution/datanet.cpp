#include "attribution/datanet.h"

#include <algorithm>
#include <filesystem>

#include "io/error.h"
#include "io/line_reader.h"

namespace omlkit::attribution {

Datanet Datanet::open(const std::vector<std::string>& paths, const std::string& tokenizer_path) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> inside;
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.path().extension() == ".idx") inside.push_back(entry.path().string());
    if (inside.empty()) throw Error(exit_code::no_input, path, "directory holds no *.idx index shard");
    std::sort(inside.begin(), inside.end());
    files.insert(files.end(), inside.begin(), inside.end());
  }
  if (files.empty()) throw Error(exit_code::usage, "", "no index given");

  Datanet net;
  for (const std::string& file : files) {
    net.shards_.push_back(SuffixIndex::open(file));
    const SuffixIndex& first = *net.shards_.front();
    const SuffixIndex& shard = *net.shards_.back();
    if (shard.tokenizer_sha256() != first.tokenizer_sha256())
      throw data_error(file, "index was built with tokenizer sha256:" + crypto::to_hex(shard.tokenizer_sha256()) +
                                 ", but " + first.path() + " with sha256:" + crypto::to_hex(first.tokenizer_sha256()) +
                                 ": shards queried together need the same tokenizer");
  }
  const SuffixIndex& first = *net.shards_.front();
  if (!tokenizer_path.empty()) {
    crypto::Hash given = crypto::sha256(io::read_file(tokenizer_path));
    if (given != first.tokenizer_sha256())
      throw data_error(first.path(), "index was built with tokenizer sha256:" + crypto::to_hex(first.tokenizer_sha256()) +
                                         ", not with " + tokenizer_path + " (sha256:" + crypto::to_hex(given) + ")");
  }
  net.tokenizer_ = std::make_unique<model::Tokenizer>(
      model::Tokenizer::from_json(first.tokenizer_json(), first.path() + ": tokenizer_json"));
  if (net.tokenizer_->vocab_size() != first.vocab_size())
    throw data_error(first.path(), "index vocabulary " + std::to_string(first.vocab_size()) +
                                       " differs from its tokenizer's " + std::to_string(net.tokenizer_->vocab_size()));
  return net;
}

uint64_t Datanet::tokens() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->size();
  return n;
}

uint64_t Datanet::records() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->records();
  return n;
}

uint64_t Datanet::file_bytes() const {
  uint64_t n = 0;
  for (const auto& s : shards_) n += s->file_bytes();
  return n;
}

}  // namespace omlkit::attribution
