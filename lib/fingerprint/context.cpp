#include "fingerprint/context.h"

#include "io/error.h"

namespace omlkit::fingerprint {

namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Clean key text: non-empty, no U+FFFD, no control characters, no edge whitespace.
bool clean_key_text(std::string_view text) {
  if (text.empty() || is_space(text.front()) || is_space(text.back())) return false;
  if (text.find("\xEF\xBF\xBD") != std::string_view::npos) return false;
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7F) return false;
  return true;
}

}  // namespace

json::Value ContextSettings::to_json() const {
  json::Value v = json::Value::object();
  v.set("template", json::Value::string(template_name));
  v.set("special_tokens", json::Value::boolean(special_tokens));
  v.set("wrapper", json::Value::string(wrapper));
  return v;
}

ContextSettings ContextSettings::from_json(const json::Value& value, const std::string& where) {
  if (!value.is_object()) throw data_error(where, "context: expected an object");
  ContextSettings s;
  const json::Value* name = value.find("template");
  if (!name || !name->is_string()) throw data_error(where, "context.template: expected a string");
  if (name->text() != "raw")
    throw data_error(where, "context.template: expected \"raw\", found \"" + name->text() + "\"");
  s.template_name = name->text();
  const json::Value* special = value.find("special_tokens");
  if (!special || !special->is_bool()) throw data_error(where, "context.special_tokens: expected true or false");
  s.special_tokens = special->as_bool();
  const json::Value* wrapper = value.find("wrapper");
  if (!wrapper || !wrapper->is_string()) throw data_error(where, "context.wrapper: expected a string");
  check_wrapper(wrapper->text(), where);
  s.wrapper = wrapper->text();
  return s;
}

void check_wrapper(std::string_view wrapper, const std::string& where) {
  if (wrapper.empty()) return;
  size_t first = wrapper.find("{}");
  if (first == std::string_view::npos || wrapper.find("{}", first + 2) != std::string_view::npos)
    throw data_error(where, "wrapper: expected \"{}\" exactly once where the key goes, found \"" +
                                std::string(wrapper) + "\"");
}

std::string prompt_text(std::string_view key_text, const ContextSettings& settings) {
  if (settings.wrapper.empty()) return std::string(key_text);
  size_t at = settings.wrapper.find("{}");
  return settings.wrapper.substr(0, at) + std::string(key_text) + settings.wrapper.substr(at + 2);
}

std::vector<int32_t> prompt_ids(const model::Tokenizer& tokenizer, std::string_view key_text,
                                const ContextSettings& settings) {
  return tokenizer.encode(prompt_text(key_text, settings), settings.special_tokens);
}

std::optional<CanonicalKey> canonical_key(const model::Tokenizer& tokenizer, std::span<const int32_t> ids,
                                          size_t max_tokens) {
  std::vector<int32_t> current(ids.begin(), ids.begin() + std::min(ids.size(), max_tokens));
  for (int round = 0; round < 4 && !current.empty(); ++round) {
    std::string text = tokenizer.decode(current);
    // A special token inside a key would be re-encoded (or not) depending on the client.
    if (tokenizer.decode(current, /*skip_special_tokens=*/true) != text || !clean_key_text(text))
      return std::nullopt;
    std::vector<int32_t> again;
    try {
      again = tokenizer.encode(text);
    } catch (const Error&) {
      return std::nullopt;
    }
    if (again.size() > max_tokens) again.resize(max_tokens);
    if (again == current) return CanonicalKey{std::move(text), std::move(current)};
    current = std::move(again);
  }
  return std::nullopt;
}

FingerprintSequence fingerprint_sequence(std::span<const int32_t> prompt, std::span<const int32_t> response) {
  FingerprintSequence s;
  s.tokens.assign(prompt.begin(), prompt.end());
  s.tokens.insert(s.tokens.end(), response.begin(), response.end());
  s.loss_mask.assign(s.tokens.size(), 0);
  for (size_t i = prompt.size(); i < s.tokens.size(); ++i) s.loss_mask[i] = 1;
  s.response_begin = prompt.size();
  return s;
}

}  // namespace omlkit::fingerprint
