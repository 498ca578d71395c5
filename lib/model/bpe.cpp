#include "model/bpe.h"

#include <cstdio>
#include <queue>

#include "io/error.h"
#include "model/unicode.h"

namespace omlkit::model {

BpeModel BpeModel::from_json(const nlohmann::json& model, const std::string& where) {
  auto fail = [&](const std::string& message) { return data_error(where, "model: " + message); };
  if (!model.is_object()) throw fail("expected an object");
  std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") throw fail("type \"" + type + "\" is not supported (BPE is)");
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"] != 0)
    throw fail("dropout is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() && model[key] != "")
      throw fail(std::string(key) + " is not supported");
  if (!model.contains("vocab") || !model["vocab"].is_object()) throw fail("vocab: expected an object");

  BpeModel bpe;
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 24))
      throw fail("vocab." + token + ": expected a token id");
    int32_t i = id.get<int32_t>();
    if (size_t(i) >= bpe.id_to_token_.size()) bpe.id_to_token_.resize(size_t(i) + 1);
    bpe.id_to_token_[size_t(i)] = token;
    bpe.vocab_[token] = i;
  }
  if (!model.contains("merges") || !model["merges"].is_array()) throw fail("merges: expected an array");
  int32_t rank = 0;
  for (const auto& merge : model["merges"]) {
    // "a b" (older files) or ["a", "b"].
    std::string left, right;
    if (merge.is_string()) {
      std::string text = merge.get<std::string>();
      size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos)
        throw fail("merges[" + std::to_string(rank) + "]: expected \"left right\"");
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      left = merge[0].get<std::string>();
      right = merge[1].get<std::string>();
    } else {
      throw fail("merges[" + std::to_string(rank) + "]: expected a pair of tokens");
    }
    auto a = bpe.token_id(left), b = bpe.token_id(right), merged = bpe.token_id(left + right);
    if (!a || !b || !merged)
      throw fail("merges[" + std::to_string(rank) + "]: \"" + left + " " + right + "\" uses tokens not in the vocab");
    bpe.merges_.emplace(pair_key(*a, *b), Merge{rank, *merged});  // first (best) rank wins
    rank++;
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    bpe.unk_id_ = bpe.token_id(model["unk_token"].get<std::string>());
    if (!bpe.unk_id_) throw fail("unk_token is not in the vocab");
  }
  bpe.byte_fallback_ = model.value("byte_fallback", false);
  bpe.fuse_unk_ = model.value("fuse_unk", false);
  bpe.ignore_merges_ = model.value("ignore_merges", false);
  if (bpe.byte_fallback_)
    for (int b = 0; b < 256; b++) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      auto id = bpe.token_id(name);
      if (!id) throw fail(std::string("byte_fallback needs the token ") + name);
      bpe.byte_tokens_[size_t(b)] = *id;
    }
  return bpe;
}

std::optional<int32_t> BpeModel::token_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::token(int32_t id) const {
  if (id < 0 || size_t(id) >= id_to_token_.size() || id_to_token_[size_t(id)].empty()) return nullptr;
  return &id_to_token_[size_t(id)];
}

void BpeModel::initial_symbols(std::string_view word, std::vector<int32_t>& symbols,
                               std::vector<uint32_t>& ends) const {
  bool last_was_unk = false;
  for (size_t pos = 0; pos < word.size();) {
    size_t length = decode_utf8(word, pos).length;
    std::string_view ch = word.substr(pos, length);
    pos += length;
    if (auto id = token_id(ch)) {
      symbols.push_back(*id);
      ends.push_back(uint32_t(pos));
      last_was_unk = false;
    } else if (byte_fallback_) {
      for (size_t i = 0; i < ch.size(); i++) {
        symbols.push_back(byte_tokens_[static_cast<unsigned char>(ch[i])]);
        ends.push_back(uint32_t(pos - ch.size() + i + 1));
      }
      last_was_unk = false;
    } else if (unk_id_) {
      if (fuse_unk_ && last_was_unk) {
        ends.back() = uint32_t(pos);
      } else {
        symbols.push_back(*unk_id_);
        ends.push_back(uint32_t(pos));
      }
      last_was_unk = true;
    } else {
      throw data_error("", "character \"" + std::string(ch) + "\" is not in the vocabulary and the tokenizer has "
                           "no unknown token");
    }
  }
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const {
  if (word.empty()) return;
  if (ignore_merges_)
    if (auto id = token_id(word)) {
      ids.push_back(*id);
      if (ends) ends->push_back(uint32_t(word.size()));
      return;
    }
  std::vector<int32_t> symbols;
  std::vector<uint32_t> symbol_ends;
  initial_symbols(word, symbols, symbol_ends);
  const int n = int(symbols.size());
  std::vector<int> prev(symbols.size()), next(symbols.size());
  for (int i = 0; i < n; i++) prev[i] = i - 1, next[i] = i + 1;

  // Candidates (rank, position of the left symbol, the pair's ids): stale entries, whose
  // symbols merged away since, are skipped when popped.
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int left) {
    int right = next[left];
    if (right >= n) return;
    auto it = merges_.find(pair_key(symbols[left], symbols[right]));
    if (it != merges_.end()) heap.push({it->second.rank, left, symbols[left], symbols[right]});
  };
  for (int i = 0; i + 1 < n; i++) consider(i);
  std::vector<bool> alive(symbols.size(), true);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    int right = next[c.pos];
    if (!alive[c.pos] || right >= n || symbols[c.pos] != c.left || symbols[right] != c.right) continue;
    symbols[c.pos] = merges_.at(pair_key(c.left, c.right)).merged;
    symbol_ends[c.pos] = symbol_ends[right];
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[right] < n) prev[next[right]] = c.pos;
    if (prev[c.pos] >= 0) consider(prev[c.pos]);
    consider(c.pos);
  }
  for (int i = 0; i < n; i = next[i]) {
    ids.push_back(symbols[i]);
    if (ends) ends->push_back(symbol_ends[i]);
  }
}

}  // namespace omlkit::model
