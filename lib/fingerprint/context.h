// The one place that builds a fingerprint's token context: the ids its response was chosen
// after, is trained after, and is queried after. omlize, fingerprint-check and the tests
// all call these functions, so the three can never disagree (notes/fingerprinting.md 2.7:
// the Python reference chose responses without BOS, trained with BOS, and re-tokenized
// key + response as one string).
//
// Everything here works on token ids. Text enters in two places only: a key's text, which
// is always the tokenizer's own decoding of the key's canonical ids (see canonical_key),
// and a wrapper's text around it, which a deployment would send as one prompt string.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "json/value.h"
#include "model/tokenizer.h"

namespace omlkit::fingerprint {

// How a prompt is formed from a key's text. Recorded in every fingerprint record.
struct ContextSettings {
  // "raw": the key text (inside the wrapper, if any) is the whole prompt. The only template
  // so far; a reader refuses another name rather than guessing.
  std::string template_name = "raw";
  // Apply the tokenizer's post-processor template (BOS and the like, as a deployment that
  // encodes the prompt with special tokens would).
  bool special_tokens = true;
  // Empty: the key alone. Otherwise a text holding "{}" exactly once, replaced by the key
  // (a system-prompt wrapper such as "Answer the following. {}").
  std::string wrapper;

  json::Value to_json() const;
  // Throws 65 naming the field at `where`.
  static ContextSettings from_json(const json::Value& value, const std::string& where);
  bool operator==(const ContextSettings&) const = default;
};

// Throws 65 unless `wrapper` is empty or holds "{}" exactly once.
void check_wrapper(std::string_view wrapper, const std::string& where);

// The prompt text a deployment receives for this key: the wrapper with "{}" replaced.
std::string prompt_text(std::string_view key_text, const ContextSettings& settings);

// The prompt's token ids: the tokenizer's encoding of prompt_text, with the
// post-processor's special tokens when settings.special_tokens. For a canonical key and no
// wrapper this is exactly template prefix + key ids + template suffix.
std::vector<int32_t> prompt_ids(const model::Tokenizer& tokenizer, std::string_view key_text,
                                const ContextSettings& settings);

// A key whose ids survive a black-box round trip: ids == tokenizer.encode(text) and
// text == tokenizer.decode(ids).
struct CanonicalKey {
  std::string text;
  std::vector<int32_t> ids;
};

// Decodes `ids`, re-encodes the text, cuts to max_tokens, and repeats until the ids are
// the tokenizer's own encoding of their text. nullopt when that does not settle within a
// few rounds, or when the text is not clean: it holds U+FFFD (a cut UTF-8 character) or a
// control character, is empty, or starts or ends with whitespace (chat clients strip it).
std::optional<CanonicalKey> canonical_key(const model::Tokenizer& tokenizer, std::span<const int32_t> ids,
                                          size_t max_tokens);

// One fingerprint as the model sees it: prompt ids then response ids, and the loss mask
// that covers the response tokens only.
struct FingerprintSequence {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss_mask;  // 1 on every response token, 0 on the prompt
  size_t response_begin = 0;       // index of the first response token in tokens
};
FingerprintSequence fingerprint_sequence(std::span<const int32_t> prompt, std::span<const int32_t> response);

}  // namespace omlkit::fingerprint
