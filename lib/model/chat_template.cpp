#include "model/chat_template.h"

#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "model/checkpoint.h"
#include "model/unicode.h"

namespace omlkit::model {
namespace {

struct KnownTemplate {
  ChatTemplate::Family family;
  const char* name;
  std::string_view jinja;
};

// The published chat_template texts recognised by from_jinja, exactly as they appear in
// tokenizer_config.json (after JSON unescaping). Each renders as its family's code below;
// tests/unit/model_chat_template_test.cpp checks that against a Jinja engine.
constexpr KnownTemplate kKnown[] = {
    // Meta-Llama-3-8B-Instruct, and the same without the loop_messages alias.
    {ChatTemplate::Family::llama3, "llama3",
     "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
     "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
     "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
     "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"},
    {ChatTemplate::Family::llama3, "llama3",
     "{% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] + "
     "'<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = "
     "bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
     "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"},
    // ChatML without a default system message.
    {ChatTemplate::Family::chatml, "chatml",
     "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
     "'\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"},
    // Mistral-7B-Instruct-v0.1.
    {ChatTemplate::Family::mistral, "mistral",
     "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
     "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
     "message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == "
     "'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant "
     "roles are supported!') }}{% endif %}{% endfor %}"},
    // Llama-2-chat.
    {ChatTemplate::Family::llama2, "llama2",
     "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
     "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif "
     "%}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
     "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
     "loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + "
     "'\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if "
     "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif "
     "message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"},
    // Gemma (gemma-2b-it, gemma-2-*-it).
    {ChatTemplate::Family::gemma, "gemma",
     "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% "
     "endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ "
     "raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if "
     "(message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif "
     "%}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if "
     "add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"},
};

struct FamilyInfo {
  ChatTemplate::Family family;
  const char* name;
  const char* bos;
  const char* eos;
};
constexpr FamilyInfo kFamilies[] = {
    {ChatTemplate::Family::llama3, "llama3", "<|begin_of_text|>", "<|end_of_text|>"},
    {ChatTemplate::Family::chatml, "chatml", "", "<|im_end|>"},
    {ChatTemplate::Family::mistral, "mistral", "<s>", "</s>"},
    {ChatTemplate::Family::llama2, "llama2", "<s>", "</s>"},
    {ChatTemplate::Family::gemma, "gemma", "<bos>", "<eos>"},
};

// Python's str.strip() (Jinja's trim): Unicode whitespace off both ends.
std::string strip(std::string_view s) {
  size_t begin = 0, end = s.size();
  while (begin < end) {
    DecodedChar c = decode_utf8(s, begin);
    if (!(codepoint_classes(c.codepoint) & kWhitespace)) break;
    begin += c.length;
  }
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80) start--;
    if (!(codepoint_classes(decode_utf8(s, start).codepoint) & kWhitespace)) break;
    end = start;
  }
  return std::string(s.substr(begin, end - begin));
}

[[noreturn]] void refuse(const std::string& name, const std::string& message) {
  throw data_error("", "chat template " + name + ": " + message);
}

// user, assistant, user, ... from the first message of `messages` on.
void check_alternation(const std::string& name, std::span<const ChatMessage> messages) {
  for (size_t i = 0; i < messages.size(); i++)
    if ((messages[i].role == "user") != (i % 2 == 0))
      refuse(name, "conversation roles must alternate user/assistant/user/assistant/... (message " +
                       std::to_string(i + 1) + " is \"" + messages[i].role + "\")");
}

// A bos_token / eos_token of tokenizer_config.json: a string or {"content": ...}.
std::string special_text(const nlohmann::json& config, const char* key, const std::string& where) {
  if (!config.contains(key) || config[key].is_null()) return "";
  const auto& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  throw data_error(where, std::string(key) + ": expected a string or {\"content\": ...}");
}

}  // namespace

ChatTemplate::ChatTemplate(Family family, std::string name) : family_(family), name_(std::move(name)) {
  for (const auto& f : kFamilies)
    if (f.family == family) bos_ = f.bos, eos_ = f.eos;
}

const std::vector<std::string>& ChatTemplate::names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& f : kFamilies) out.push_back(f.name);
    return out;
  }();
  return names;
}

ChatTemplate ChatTemplate::named(std::string_view name) {
  for (const auto& f : kFamilies)
    if (name == f.name) return ChatTemplate(f.family, f.name);
  std::string known;
  for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(exit_code::usage, "", "--chat: \"" + std::string(name) + "\" is not a known chat template (auto, " + known + ")");
}

ChatTemplate ChatTemplate::from_jinja(std::string_view jinja, const std::string& where) {
  for (const auto& k : kKnown)
    if (jinja == k.jinja) return ChatTemplate(k.family, k.name);
  throw data_error(where, "chat_template is not one of the templates omlkit knows (Llama-3, ChatML, Mistral, Llama-2, "
                          "Gemma, by their exact published text); give --chat with one of their names if the model "
                          "was trained with it");
}

ChatTemplate ChatTemplate::for_model(std::string_view name, const std::string& model_dir) {
  std::string path = model_dir + "/tokenizer_config.json";
  bool present = std::filesystem::exists(path);
  if (name == "auto" && !present) throw Error(exit_code::no_input, path, "--chat auto needs tokenizer_config.json");
  if (name != "auto" && !present) return named(name);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw data_error(path, std::string("invalid JSON: ") + e.what());
  }
  if (!config.is_object()) throw data_error(path, "expected an object");
  std::optional<ChatTemplate> t;
  if (name == "auto") {
    if (!config.contains("chat_template")) throw data_error(path, "chat_template: missing (the model has no chat template)");
    if (!config["chat_template"].is_string())
      throw data_error(path, "chat_template: expected one template as a string (named lists of templates are not supported)");
    t = from_jinja(config["chat_template"].get<std::string>(), path);
  } else {
    t = named(name);
  }
  std::string bos = special_text(config, "bos_token", path), eos = special_text(config, "eos_token", path);
  if (!bos.empty() || !eos.empty()) t->set_special_text(bos.empty() ? t->bos_ : bos, eos.empty() ? t->eos_ : eos);
  return *t;
}

void ChatTemplate::set_special_text(std::string bos, std::string eos) {
  if (family_ != Family::chatml) bos_ = std::move(bos);  // ChatML writes no BOS
  eos_ = std::move(eos);
}

std::vector<std::string> ChatTemplate::special_tokens() const {
  switch (family_) {
    case Family::llama3: return {bos_, "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
    case Family::chatml: return {"<|im_start|>", "<|im_end|>"};
    case Family::mistral:
    case Family::llama2: return {bos_, eos_};
    case Family::gemma: return {bos_, "<start_of_turn>", "<end_of_turn>"};
  }
  return {};
}

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  std::string out;
  switch (family_) {
    case Family::llama3:
      for (size_t i = 0; i < messages.size(); i++)
        out += (i == 0 ? bos_ : "") + "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n" +
               strip(messages[i].content) + "<|eot_id|>";
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case Family::chatml:
      for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case Family::mistral:
      out = bos_;
      check_alternation(name_, messages);
      for (const auto& m : messages) {
        if (m.role == "user") out += "[INST] " + m.content + " [/INST]";
        else if (m.role == "assistant") out += m.content + eos_ + " ";
        else refuse(name_, "only user and assistant roles are supported (found \"" + m.role + "\")");
      }
      break;
    case Family::llama2: {
      std::span<const ChatMessage> turns = messages;
      std::string system;
      bool has_system = !messages.empty() && messages[0].role == "system";
      if (has_system) system = messages[0].content, turns = messages.subspan(1);
      check_alternation(name_, turns);
      for (size_t i = 0; i < turns.size(); i++) {
        std::string content = turns[i].content;
        if (i == 0 && has_system) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
        if (turns[i].role == "user") out += bos_ + "[INST] " + strip(content) + " [/INST]";
        else if (turns[i].role == "assistant") out += " " + strip(content) + " " + eos_;
      }
      break;
    }
    case Family::gemma:
      out = bos_;
      if (!messages.empty() && messages[0].role == "system") refuse(name_, "the system role is not supported");
      check_alternation(name_, messages);
      for (const auto& m : messages)
        out += "<start_of_turn>" + (m.role == "assistant" ? std::string("model") : m.role) + "\n" + strip(m.content) +
               "<end_of_turn>\n";
      if (add_generation_prompt) out += "<start_of_turn>model\n";
      break;
  }
  return out;
}

void ChatTemplate::check_tokenizer(const Tokenizer& tokenizer) const {
  for (const auto& token : special_tokens())
    if (!token.empty()) {
      auto id = tokenizer.token_id(token);
      if (!id || !tokenizer.added_token(*id))
        refuse(name_, "needs the special token " + token + ", which tokenizer.json does not have as an added token");
    }
}

std::vector<int32_t> ChatTemplate::encode(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                          bool add_generation_prompt) const {
  check_tokenizer(tokenizer);
  return tokenizer.encode(render(messages, add_generation_prompt), false);
}

}  // namespace omlkit::model
