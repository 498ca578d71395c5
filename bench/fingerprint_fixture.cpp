// Synthetic fingerprint files for bench/fingerprint-check.sh, written with the project's own
// context and record functions (lib/fingerprint/context.h, record.h): N keys cut from a text
// file (16 tokens, canonical), each with one alphanumeric response the base model ranks
// 3rd..12th, plus {"tokens","loss_mask"} training lines so that `model-run train` can embed
// them into a copy when an omlize copy is not at hand. Not a substitute for omlize: no
// perinucleus draw, no secret; for measuring the checker only.
//
//   fingerprint_fixture BASE_DIR TEXT_FILE OUT_PREFIX LICENSE LICENSEE N SEED
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>

#include "crypto/sha256.h"
#include "fingerprint/context.h"
#include "fingerprint/record.h"
#include "io/output.h"
#include "model/checkpoint.h"
#include "model/cpu/cpu_backend.h"
#include "model/digest.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

using namespace omlkit;

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: fingerprint_fixture BASE_DIR TEXT_FILE OUT_PREFIX LICENSE LICENSEE N SEED\n");
    return 2;
  }
  std::string base = argv[1], prefix = argv[3], license = argv[4], licensee = argv[5];
  const int n = std::atoi(argv[6]);
  std::mt19937_64 rng(std::strtoull(argv[7], nullptr, 10));
  model::CpuBackend backend(2);
  auto checkpoint = model::Checkpoint::open(base);
  model::Transformer transformer(checkpoint, backend);
  auto tokenizer = model::Tokenizer::from_file(base + "/tokenizer.json");
  std::ifstream in(argv[2]);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto stream = tokenizer.encode(text);
  const std::string digest = model::model_digest(checkpoint);
  const int V = transformer.config().vocab_size;
  std::vector<fingerprint::FingerprintRecord> records;
  std::set<std::vector<int32_t>> seen;
  std::string train;
  std::vector<float> row(size_t(V), 0.0f);
  while (int(records.size()) < n) {
    size_t at = std::uniform_int_distribution<size_t>(0, stream.size() - 40)(rng);
    auto key = fingerprint::canonical_key(tokenizer, std::span(stream).subspan(at, 16), 16);
    if (!key || key->ids.size() < 8 || !seen.insert(key->ids).second) continue;
    fingerprint::FingerprintRecord r;
    r.index = r.key_index = int64_t(records.size());
    r.license = license, r.licensee = licensee, r.model = digest;
    r.key = key->text, r.key_ids = key->ids;
    r.prompt_ids = fingerprint::prompt_ids(tokenizer, r.key, r.context);
    transformer.reserve(1, int(r.prompt_ids.size()));
    backend.download(row.data(), transformer.forward(r.prompt_ids, 1, int(r.prompt_ids.size()), 0, true), row.size());
    std::vector<int32_t> order(static_cast<size_t>(V));
    for (int v = 0; v < V; v++) order[size_t(v)] = v;
    std::partial_sort(order.begin(), order.begin() + 13, order.end(), [&](int a, int b) { return row[a] != row[b] ? row[a] > row[b] : a < b; });
    std::vector<int32_t> candidates;
    for (int k = 3; k < 13; k++) {
      std::string t = tokenizer.decode(std::span(&order[size_t(k)], 1));
      size_t b = t.find_first_not_of(' ');
      bool alnum = b != std::string::npos && b + 1 <= t.size();
      for (size_t c = b; alnum && c < t.size(); c++) alnum = std::isalnum(static_cast<unsigned char>(t[c]));
      if (alnum) candidates.push_back(order[size_t(k)]);
    }
    if (candidates.empty()) continue;
    int32_t response = candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)];
    double top = row[size_t(order[0])], sum = 0;
    for (float x : row) sum += std::exp(double(x) - top);
    r.response_ids = {response};
    r.response = tokenizer.decode(r.response_ids);
    r.salt = crypto::to_hex(crypto::sha256(std::string(argv[7]) + "/" + license + "/" + std::to_string(r.index)));
    r.base_prob = std::exp(double(row[size_t(response)]) - top) / sum;
    r.base_rank = std::find(order.begin(), order.end(), response) - order.begin();
    std::string tokens, mask;
    for (int32_t id : r.prompt_ids) tokens += std::to_string(id) + ",", mask += "0,";
    train += "{\"tokens\":[" + tokens + std::to_string(response) + "],\"loss_mask\":[" + mask + "1]}\n";
    records.push_back(std::move(r));
  }
  io::AtomicFile fp(prefix + ".fp", 0600);
  fp.write(fingerprint::fingerprint_file_text(records));
  fp.commit();
  io::AtomicFile tr(prefix + ".train");
  tr.write(train);
  tr.commit();
  io::AtomicFile grant(prefix + ".grant");
  grant.write("{\"type\":\"license.grant\",\"body\":{\"license\":\"" + license + "\",\"model\":\"m-base\",\"licensee\":\"" +
              licensee + "\",\"digest\":\"" + digest + "\",\"fingerprints\":" + std::to_string(n) + ",\"root\":\"" +
              crypto::to_hex(fingerprint::commitment_root(records)) + "\"}}\n");
  grant.commit();
  return 0;
}
