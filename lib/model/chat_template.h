// Chat templates: a conversation rendered and tokenized the way a chat model was trained,
// so that the assistant's answer follows the returned ids directly.
//
// The chat_template of tokenizer_config.json is Jinja. omlkit does not run Jinja: it knows
// the common templates by family (Llama-3, ChatML, Mistral and Llama-2 [INST], Gemma),
// recognises a tokenizer_config.json template only by its exact published text, and refuses
// any other template (exit 65) rather than guess. Rendering then tokenizing follows Hugging
// Face's apply_chat_template(..., tokenize=True): the rendered text is encoded without the
// post-processor's tokens (the template writes its own BOS), and special-token text in it,
// including inside message content, becomes those tokens.
//
// The token context of a request, in one place for every tool (model-run, omlize,
// fingerprint-check):
//   - plain text:  Tokenizer::encode(text, /*add_special_tokens=*/true) (the tokenizer's own
//                  post-processor, e.g. Llama-2's BOS), or false for exactly the text's tokens;
//   - chat:        ChatTemplate::encode(tokenizer, {{"user", prompt}}) (the generation prompt
//                  included, so generated ids are the assistant's answer);
//   - both with offsets: Tokenizer::encode_with_offsets, Tokenizer::decode_with_offsets.
// Immutable after construction; const methods are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer.h"

namespace omlkit::model {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (templates may refuse some)
  std::string content;
};

class ChatTemplate {
 public:
  enum class Family { llama3, chatml, mistral, llama2, gemma };

  // The names --chat accepts besides "auto": llama3, chatml, mistral, llama2, gemma.
  static const std::vector<std::string>& names();
  // A template by name, with the family's usual BOS/EOS text. Throws omlkit::Error 2
  // (usage) naming the known names for any other name.
  static ChatTemplate named(std::string_view name);
  // The template whose Jinja text is exactly `jinja` (one of the published texts of the
  // families above). Throws 65 at `where` for any other text.
  static ChatTemplate from_jinja(std::string_view jinja, const std::string& where);
  // For a model folder: "auto" reads chat_template (and bos_token, eos_token) from
  // model_dir/tokenizer_config.json (66 when absent, 65 when it has no chat_template or an
  // unknown one); another name is named(name), with BOS/EOS text from tokenizer_config.json
  // when the file exists and names them.
  static ChatTemplate for_model(std::string_view name, const std::string& model_dir);

  Family family() const { return family_; }
  const std::string& name() const { return name_; }
  // BOS/EOS text the template writes (tokenizer_config.json's bos_token and eos_token).
  void set_special_text(std::string bos, std::string eos);

  // The conversation as the template writes it; add_generation_prompt appends the
  // assistant's header (templates without one, [INST], end the same either way). Throws 65
  // for what the template refuses (roles out of order, a system role it has no place for),
  // with the template's own message.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt) const;
  // render() tokenized with tokenizer, without the post-processor's tokens. Throws 65 when
  // the tokenizer lacks one of the template's special tokens (its text would otherwise be
  // split into ordinary tokens and the model would never see the turn boundaries).
  std::vector<int32_t> encode(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                              bool add_generation_prompt = true) const;
  // Throws 65 when the tokenizer lacks one of special_tokens() as an added token.
  void check_tokenizer(const Tokenizer& tokenizer) const;
  // The special tokens this template writes (BOS and EOS text included where it uses them).
  std::vector<std::string> special_tokens() const;

 private:
  ChatTemplate(Family family, std::string name);
  Family family_;
  std::string name_, bos_, eos_;
};

}  // namespace omlkit::model
