// The BPE model of tokenizer.json: vocabulary, ranked merges, and the merge loop.
//
// A word's symbols merge lowest rank first, leftmost on ties (Hugging Face's order), with a
// heap over a linked list so long words stay O(n log n).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace omlkit::model {

class BpeModel {
 public:
  // Reads the "model" object of tokenizer.json. Throws omlkit::Error 65 naming the field
  // for anything it would have to approximate (dropout, subword prefixes or suffixes).
  static BpeModel from_json(const nlohmann::json& model, const std::string& where);

  // Appends the ids of one pre-tokenized word. Characters missing from the vocabulary
  // become <0xNN> byte tokens (byte_fallback) or the unknown token; without either the
  // word is refused (65).
  // When ends is not null, the byte end of each appended token within word is appended to it.
  void encode_word(std::string_view word, std::vector<int32_t>& ids, std::vector<uint32_t>* ends = nullptr) const;

  std::optional<int32_t> token_id(std::string_view token) const;
  const std::string* token(int32_t id) const;  // nullptr for an unknown id
  size_t vocab_size() const { return id_to_token_.size(); }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  // Symbols of word's characters and the byte end of each.
  void initial_symbols(std::string_view word, std::vector<int32_t>& symbols, std::vector<uint32_t>& ends) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;  // index = id; empty where the vocab has a gap
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_tokens_{};  // <0xNN> ids when byte_fallback
};

}  // namespace omlkit::model
