#include "model/token_context.h"

#include <filesystem>

#include "io/error.h"

namespace omlkit::model {

TokenContext TokenContext::for_model(const std::string& model_dir, const TokenContextOptions& options) {
  std::optional<Tokenizer> tokenizer;
  std::string path = model_dir + "/tokenizer.json";
  if (std::filesystem::exists(path)) tokenizer = Tokenizer::from_file(path);
  std::optional<ChatTemplate> chat;
  if (!options.chat.empty()) {
    chat = ChatTemplate::for_model(options.chat, model_dir);
    if (!tokenizer) throw Error(exit_code::no_input, path, "--chat needs the model's tokenizer.json");
  }
  return TokenContext(std::move(tokenizer), std::move(chat), options.special_tokens);
}

TokenContext::TokenContext(std::optional<Tokenizer> tokenizer, std::optional<ChatTemplate> chat, bool special_tokens)
    : tokenizer_(std::move(tokenizer)), chat_(std::move(chat)), special_tokens_(special_tokens) {}

const Tokenizer& TokenContext::tokenizer() const {
  if (!tokenizer_) throw data_error("", "text needs a tokenizer.json in the model folder; give \"tokens\"");
  return *tokenizer_;
}

std::vector<int32_t> TokenContext::encode_text(std::string_view text) const {
  return tokenizer().encode(text, special_tokens_);
}

std::vector<int32_t> TokenContext::encode_prompt(std::string_view text) const {
  if (!chat_) return encode_text(text);
  ChatMessage user{"user", std::string(text)};
  return chat_->encode(tokenizer(), std::span(&user, 1), true);
}

std::vector<int32_t> TokenContext::encode_messages(std::span<const ChatMessage> messages,
                                                   bool add_generation_prompt) const {
  if (!chat_) throw data_error("", "messages: needs a chat template (--chat)");
  return chat_->encode(tokenizer(), messages, add_generation_prompt);
}

std::string TokenContext::prompt_text(std::string_view text) const {
  if (!chat_) return std::string(text);
  ChatMessage user{"user", std::string(text)};
  return chat_->render(std::span(&user, 1), true);
}

std::vector<TokenSpan> TokenContext::encode_prompt_with_offsets(std::string_view text) const {
  if (!chat_) return tokenizer().encode_with_offsets(text, special_tokens_);
  chat_->check_tokenizer(tokenizer());
  return tokenizer().encode_with_offsets(prompt_text(text), false);
}

void TokenContext::check_ids(std::span<const int64_t> ids, size_t vocab_size, std::string_view field) {
  for (size_t i = 0; i < ids.size(); i++)
    if (ids[i] < 0 || uint64_t(ids[i]) >= vocab_size)
      throw data_error("", std::string(field) + "[" + std::to_string(i) + "]: id " + std::to_string(ids[i]) +
                               " is outside the vocabulary (0.." + std::to_string(vocab_size - 1) + ")");
}

}  // namespace omlkit::model
