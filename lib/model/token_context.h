// The token context of a model folder: how text, chat messages and token ids become the
// ids a model is fed. One implementation for model-run, omlize and fingerprint-check, so a
// fingerprint trained with one context is checked with the same one.
//
//   - Token ids given by a caller are used exactly as given (checked against the
//     vocabulary, never re-tokenized, no BOS added).
//   - Text follows the tokenizer's own post-processor by default (what Hugging Face does:
//     Llama-2's TemplateProcessing adds <s>; GPT-2's ByteLevel adds nothing);
//     special_tokens = false encodes exactly the text's tokens.
//   - With a chat template, a prompt is one user message rendered through it with the
//     generation prompt, so the ids the model generates next are the assistant's answer.
//     The template writes its own BOS; the post-processor's is not added again.
// Immutable after construction; const methods are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/chat_template.h"
#include "model/tokenizer.h"

namespace omlkit::model {

struct TokenContextOptions {
  bool special_tokens = true;  // the post-processor's tokens on text (--no-special-tokens: false)
  std::string chat;            // "" = no chat template; else a --chat name (ChatTemplate::for_model)
};

class TokenContext {
 public:
  // model_dir/tokenizer.json when the folder has one (a folder without one accepts token
  // ids only), and the chat template named by options.chat. Throws like
  // Tokenizer::from_file and ChatTemplate::for_model; a chat template without a tokenizer
  // is 66.
  static TokenContext for_model(const std::string& model_dir, const TokenContextOptions& options = {});
  TokenContext(std::optional<Tokenizer> tokenizer, std::optional<ChatTemplate> chat, bool special_tokens);

  bool has_tokenizer() const { return tokenizer_.has_value(); }
  // Throws 65 "text needs a tokenizer.json ..." when the folder has none.
  const Tokenizer& tokenizer() const;
  const ChatTemplate* chat() const { return chat_ ? &*chat_ : nullptr; }
  bool special_tokens() const { return special_tokens_; }

  // Plain text (training data, a perplexity file): never through the chat template.
  std::vector<int32_t> encode_text(std::string_view text) const;
  // A prompt: the chat template's rendering of {"user", text} when there is one, else
  // encode_text(text).
  std::vector<int32_t> encode_prompt(std::string_view text) const;
  // A conversation through the chat template (65 when there is none).
  std::vector<int32_t> encode_messages(std::span<const ChatMessage> messages, bool add_generation_prompt) const;
  // The text encode_prompt tokenizes (the rendered conversation with a chat template), and
  // its tokens with offsets into that text.
  std::string prompt_text(std::string_view text) const;
  std::vector<TokenSpan> encode_prompt_with_offsets(std::string_view text) const;

  // Checks caller-given ids against the model's vocabulary size: 65 "tokens[i]: id N is outside the vocabulary (0..V-1)".
  static void check_ids(std::span<const int64_t> ids, size_t vocab_size, std::string_view field);

 private:
  std::optional<Tokenizer> tokenizer_;
  std::optional<ChatTemplate> chat_;
  bool special_tokens_ = true;
};

}  // namespace omlkit::model
