// A tokenizer.json (Hugging Face) tokenizer: added tokens, normalizer, pre-tokenizer, BPE
// model, post-processor and decoder, for the two families in use:
//   - byte-level BPE (GPT-2's ByteLevel pre-tokenizer; Llama-3 / SmolLM's Split regex then
//     ByteLevel, with ignore_merges);
//   - SentencePiece-style BPE (Llama-2 / Mistral / TinyLlama: Prepend+Replace normalizers
//     or a Metaspace pre-tokenizer, <0xNN> byte fallback).
// Any other component type, or a Split regex other than the two known ones, is refused by
// name (omlkit::Error 65) rather than approximated. Encoding is const and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/bpe.h"

namespace omlkit::model {

// One token with its place: `piece` is the token's vocabulary string (or an added token's
// content), and [begin, end) are byte offsets: into the input text for encode_with_offsets
// (the bytes the token was made from; begin == end for a token the post-processor added),
// into the decoded text for decode_with_offsets (the bytes the token produced; a character
// split across tokens belongs to the token that completes it).
struct TokenSpan {
  int32_t id = 0;
  std::string piece;
  size_t begin = 0, end = 0;
  friend bool operator==(const TokenSpan&, const TokenSpan&) = default;
};

struct AlignedText;  // tokenizer.cpp: text with, per byte, where it came from

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

class Tokenizer {
 public:
  static Tokenizer from_json(std::string_view json_text, const std::string& where);
  static Tokenizer from_file(const std::string& path);

  // Token ids of text; add_special_tokens applies the post-processor's template (e.g. a
  // Llama-2 BOS). Throws 65 when a character cannot be encoded.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const;
  // Text of ids (special tokens included unless skipped); invalid UTF-8 becomes U+FFFD.
  // Throws 65 for an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // The same ids as encode(text, add_special_tokens), each with its piece and the bytes of
  // text it came from (normalizer and pre-tokenizer changes mapped back to the input).
  std::vector<TokenSpan> encode_with_offsets(std::string_view text, bool add_special_tokens) const;
  // decode(ids, skip_special_tokens) and, in spans (one per id, skipped ids included with
  // an empty range), the bytes of the returned text that each id produced.
  std::string decode_with_offsets(std::span<const int32_t> ids, std::vector<TokenSpan>& spans,
                                  bool skip_special_tokens = false) const;

  // True when the post-processor adds tokens (e.g. Llama-2's BOS) to every encoding.
  bool adds_special_tokens() const { return !template_prefix_.empty() || !template_suffix_.empty(); }
  // The vocabulary string of an id, or an added token's content; throws 65 (with the id)
  // for an id outside the vocabulary.
  const std::string& piece(int32_t id) const;
  // The added token with this id, or nullptr.
  const AddedToken* added_token(int32_t id) const;

  std::optional<int32_t> token_id(std::string_view token) const;
  size_t vocab_size() const;  // highest id + 1, added tokens included

  // Pipeline steps, as read from tokenizer.json.
  struct NormalizerStep {
    enum Kind { prepend, replace } kind = prepend;
    std::string text, replacement;  // prepend: text; replace: text -> replacement
  };
  static NormalizerStep normalizer_step(NormalizerStep::Kind kind, std::string text, std::string replacement = "") {
    NormalizerStep s;
    s.kind = kind, s.text = std::move(text), s.replacement = std::move(replacement);
    return s;
  }
  struct PreTokenizerStep {
    enum Kind { byte_level, split_gpt2, split_llama3, metaspace } kind = byte_level;
    bool add_prefix_space = false;  // byte_level
    bool use_regex = true;          // byte_level: split with GPT-2's pattern first
    std::string replacement;        // metaspace
    enum Prepend { always, first, never } prepend = always;  // metaspace
    bool split = true;              // metaspace
  };
  struct DecoderStep {
    enum Kind { byte_level, replace, byte_fallback, fuse, strip, metaspace } kind = byte_level;
    std::string text, replacement;  // replace: text -> replacement; metaspace: text = "▁"
    int strip_start = 0, strip_stop = 0;
    bool metaspace_strip_first = true;
  };

 private:
  static Tokenizer from_parsed_json(const nlohmann::json& root, const std::string& where);
  void split_added(const AlignedText& text, bool normalized_tokens,
                   std::vector<std::pair<AlignedText, int32_t>>& out) const;
  AlignedText normalize(const AlignedText& text) const;
  void pre_tokenize(AlignedText text, bool first_segment, std::vector<AlignedText>& words) const;
  // encode() and encode_with_offsets(): offsets are tracked when spans is not null.
  void encode_into(std::string_view text, bool add_special_tokens, std::vector<int32_t>& ids,
                   std::vector<TokenSpan>* spans) const;
  // decode() and decode_with_offsets(): per output byte, the index of the id it came from.
  std::string decode_into(std::span<const int32_t> ids, bool skip_special_tokens,
                          std::vector<uint32_t>* source) const;

  BpeModel model_;
  std::vector<AddedToken> added_;
  std::vector<NormalizerStep> normalizer_;
  std::vector<PreTokenizerStep> pre_tokenizer_;
  std::vector<DecoderStep> decoder_;
  std::vector<int32_t> template_prefix_, template_suffix_;  // TemplateProcessing "single"
};

}  // namespace omlkit::model
