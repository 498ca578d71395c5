#include "fingerprint/keys.h"

#include <cmath>

#include "fingerprint/words.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "model/generate.h"

namespace omlkit::fingerprint {

bool KeySet::fresh(const std::vector<int32_t>& ids) const {
  for (size_t i = 0; i + kGram <= ids.size(); ++i)
    if (grams_.count(std::vector<int32_t>(ids.begin() + i, ids.begin() + i + kGram))) return false;
  return true;
}

bool KeySet::fresh_ending(const std::vector<int32_t>& ids) const { return !endings_.count(ending(ids)); }

void KeySet::add(const std::vector<int32_t>& ids) {
  for (size_t i = 0; i + kGram <= ids.size(); ++i) grams_.insert(std::vector<int32_t>(ids.begin() + i, ids.begin() + i + kGram));
  endings_.insert(ending(ids));
}

std::vector<int32_t> KeySet::ending(const std::vector<int32_t>& ids) {
  return {ids.end() - std::ptrdiff_t(std::min(kEnding, ids.size())), ids.end()};
}

namespace {

constexpr int kAttempts = 64;

std::string capitalised(std::string_view word) {
  std::string w(word);
  if (!w.empty() && w[0] >= 'a' && w[0] <= 'z') w[0] = static_cast<char>(w[0] - 'a' + 'A');
  return w;
}

std::optional<CanonicalKey> english_key(model::Transformer& model, const model::Tokenizer& tokenizer,
                                        const ContextSettings& context, const Derivation& d, std::string_view scope,
                                        size_t index, int attempt, const KeyOptions& options) {
  auto words = common_words();
  std::string word = capitalised(words[d.below(words.size(), "key-word", scope, index, attempt)]);
  std::vector<int32_t> start = prompt_ids(tokenizer, word, context);
  std::vector<int32_t> ids = tokenizer.encode(word);
  model::GenerationOptions g;
  // A few tokens more than needed: the round trip may merge some, and the key is cut anyway.
  g.max_new_tokens = static_cast<int>(options.length + 4 > ids.size() ? options.length + 4 - ids.size() : 1);
  // A rejected candidate is retried hotter (x1.1 per attempt, as the OML Q&A generator
  // does): a small model at T=0.5 keeps repeating its favourite phrases.
  g.sampling.temperature = options.temperature * static_cast<float>(std::pow(1.1, attempt));
  g.sampling.seed = d.u64("key-sample", scope, index, attempt);
  std::vector<int32_t> more = model::generate(model, start, g);
  ids.insert(ids.end(), more.begin(), more.end());
  return canonical_key(tokenizer, ids, options.length);
}

std::optional<CanonicalKey> random_words_key(const model::Tokenizer& tokenizer, const Derivation& d,
                                             std::string_view scope, size_t index, int attempt,
                                             const KeyOptions& options) {
  auto words = common_words();
  std::string text;
  for (uint64_t w = 0; tokenizer.encode(text).size() < options.length + 2; ++w) {
    std::string_view word = words[d.below(words.size(), "key-random-word", scope, index, (uint64_t(attempt) << 16) | w)];
    text += text.empty() ? capitalised(word) : " " + std::string(word);
  }
  return canonical_key(tokenizer, tokenizer.encode(text), options.length);
}

}  // namespace

std::vector<CanonicalKey> make_keys(model::Transformer& model, const model::Tokenizer& tokenizer,
                                    const ContextSettings& context, const Derivation& derivation,
                                    std::string_view scope, size_t count, const KeyOptions& options) {
  std::vector<CanonicalKey> keys;
  KeySet taken;
  if (options.source == KeySource::file) {
    io::LineReader reader(options.file);
    std::string_view line;
    while (keys.size() < count && reader.next(&line)) {
      std::vector<int32_t> ids = tokenizer.encode(line);
      std::optional<CanonicalKey> key = canonical_key(tokenizer, ids, ids.size());
      if (!key || key->text != line)
        throw data_error(reader.where(), "expected a key whose text is its tokens' own decoding (no leading or "
                                         "trailing space, no control characters), found \"" + std::string(line) + "\"");
      if (!taken.fresh(key->ids)) throw data_error(reader.where(), "key shares a 5-gram of tokens with an earlier key");
      taken.add(key->ids);
      keys.push_back(std::move(*key));
    }
    if (keys.size() < count)
      throw data_error(options.file, "expected at least " + std::to_string(count) + " keys, found " +
                                         std::to_string(keys.size()));
    return keys;
  }
  size_t min_length = std::max<size_t>(1, options.length * 3 / 4);
  for (size_t i = 0; i < count; ++i) {
    bool found = false;
    for (int attempt = 0; attempt < kAttempts && !found; ++attempt) {
      std::optional<CanonicalKey> key =
          options.source == KeySource::english
              ? english_key(model, tokenizer, context, derivation, scope, i, attempt, options)
              : random_words_key(tokenizer, derivation, scope, i, attempt, options);
      if (!key || key->ids.size() < min_length || !taken.fresh(key->ids) || !taken.fresh_ending(key->ids)) continue;
      taken.add(key->ids);
      keys.push_back(std::move(*key));
      found = true;
    }
    if (!found)
      throw data_error("", "key " + std::to_string(i) + ": no fresh key of at least " + std::to_string(min_length) +
                               " tokens in " + std::to_string(kAttempts) + " attempts");
  }
  return keys;
}

}  // namespace omlkit::fingerprint
