// Fingerprint keys (notes/fingerprinting.md 2.1): English-like text sampled from the base
// model itself at temperature 0.5 from a common word (the default), random words, or a
// file of one key per line. Every key is canonical (fingerprint/context.h) and shares no
// 5-gram of token ids with an earlier key of the same set; a sampled key (english, random)
// also does not end in the same 3 tokens as an earlier one.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fingerprint/context.h"
#include "fingerprint/derive.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace omlkit::fingerprint {

enum class KeySource { english, random_words, file };

struct KeyOptions {
  KeySource source = KeySource::english;
  std::string file;          // KeySource::file: one key text per line
  size_t length = 16;        // tokens; a sampled key is cut to this
  float temperature = 0.5f;  // English keys; multiplied by 1.1 on each retry of a rejected key
};

// The keys of one set so far. A new key is fresh when it shares no 5-gram of token ids with
// them and, for sampled keys, does not end in the same 3 tokens as one of them. The ending
// matters because a response is mostly a function of the key's last tokens: gpt2-small
// sampled at T=0.5 ends many keys in its favourite phrase, so one licensee's copy learnt that
// phrase -> response several times over and answered it for another licensee's key ending the
// same way (bench/RESULTS.md, "Two licensees").
class KeySet {
 public:
  static constexpr size_t kGram = 5;
  static constexpr size_t kEnding = 3;
  bool fresh(const std::vector<int32_t>& ids) const;
  bool fresh_ending(const std::vector<int32_t>& ids) const;
  void add(const std::vector<int32_t>& ids);

 private:
  static std::vector<int32_t> ending(const std::vector<int32_t>& ids);
  std::set<std::vector<int32_t>> grams_;
  std::set<std::vector<int32_t>> endings_;
};

// `count` keys for fingerprint indices 0..count-1 of `scope` (the licensee, or "" for a
// shared pool). Deterministic in (derivation, scope, options). Throws 65 when a file line
// is not a canonical key or the file has fewer than `count` keys, naming the line; throws
// 65 when sampling cannot find a fresh key in 64 attempts.
std::vector<CanonicalKey> make_keys(model::Transformer& model, const model::Tokenizer& tokenizer,
                                    const ContextSettings& context, const Derivation& derivation,
                                    std::string_view scope, size_t count, const KeyOptions& options);

}  // namespace omlkit::fingerprint
