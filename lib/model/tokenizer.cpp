#include "model/tokenizer.h"

#include <cstdio>

#include "io/error.h"
#include "model/pretokenizer.h"
#include "model/unicode.h"

namespace omlkit::model {
namespace {

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t start = 0;
  for (size_t hit; (hit = text.find(from, start)) != std::string::npos; start = hit + from.size())
    out.append(text, start, hit - start).append(to);
  out.append(text, start);
  text = std::move(out);
}

bool is_space_at(std::string_view text, size_t pos) {
  return codepoint_classes(decode_utf8(text, pos).codepoint) & kWhitespace;
}

// Byte length of the whitespace characters ending at `end`.
size_t whitespace_before(std::string_view text, size_t begin, size_t end) {
  size_t cut = end;
  while (cut > begin) {
    size_t start = cut - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xc0) == 0x80) start--;
    if (!is_space_at(text, start)) break;
    cut = start;
  }
  return end - cut;
}

bool is_word_char_at(std::string_view text, size_t pos) {
  uint32_t cp = decode_utf8(text, pos).codepoint;
  return cp == '_' || (codepoint_classes(cp) & (kLetter | kNumber));
}

// "<0x41>" -> 0x41, or -1.
int byte_token_value(std::string_view token) {
  unsigned value;
  char tail;
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return -1;
  if (std::sscanf(std::string(token).c_str(), "<0x%2X%c", &value, &tail) != 2 || tail != '>') return -1;
  return int(value);
}

}  // namespace

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  for (const auto& a : added_)
    if (a.content == token) return a.id;
  return model_.token_id(token);
}

size_t Tokenizer::vocab_size() const {
  size_t size = model_.vocab_size();
  for (const auto& a : added_) size = std::max(size, size_t(a.id) + 1);
  return size;
}

// Splits text around the added tokens whose `normalized` flag is normalized_tokens,
// longest match first, honouring lstrip/rstrip/single_word. Pieces of plain text carry -1.
void Tokenizer::split_added(std::string_view text, bool normalized_tokens,
                            std::vector<std::pair<std::string, int32_t>>& out) const {
  size_t plain_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* best = nullptr;
    for (const auto& a : added_)
      if (a.normalized == normalized_tokens && (!best || a.content.size() > best->content.size()) &&
          text.compare(pos, a.content.size(), a.content) == 0) {
        size_t end = pos + a.content.size();
        if (a.single_word && ((pos > 0 && is_word_char_at(text, pos - 1)) ||
                              (end < text.size() && is_word_char_at(text, end))))
          continue;
        best = &a;
      }
    if (!best) {
      pos++;
      continue;
    }
    size_t begin = pos, end = pos + best->content.size();
    if (best->lstrip) begin -= whitespace_before(text, plain_start, begin);
    if (best->rstrip)
      while (end < text.size() && is_space_at(text, end)) end += decode_utf8(text, end).length;
    if (begin > plain_start) out.emplace_back(std::string(text.substr(plain_start, begin - plain_start)), -1);
    out.emplace_back(std::string(), best->id);
    pos = plain_start = end;
  }
  if (plain_start < text.size()) out.emplace_back(std::string(text.substr(plain_start)), -1);
}

std::string Tokenizer::normalize(std::string_view text) const {
  std::string out(text);
  for (const auto& step : normalizer_) {
    if (step.kind == NormalizerStep::prepend) {
      if (!out.empty()) out = step.text + out;
    } else {
      replace_all(out, step.text, step.replacement);
    }
  }
  return out;
}

void Tokenizer::pre_tokenize(std::string text, bool first_segment, std::vector<std::string>& words) const {
  std::vector<std::string> pieces{std::move(text)}, next;
  std::vector<std::string_view> views;
  for (const auto& step : pre_tokenizer_) {
    next.clear();
    for (size_t k = 0; k < pieces.size(); k++) {
      std::string& piece = pieces[k];
      views.clear();
      switch (step.kind) {
        case PreTokenizerStep::byte_level:
          if (step.add_prefix_space && piece.rfind(' ', 0) != 0) piece.insert(0, " ");
          if (step.use_regex) split_gpt2(piece, views);
          else views.push_back(piece);
          for (auto v : views) next.push_back(byte_level_encode(v));
          break;
        case PreTokenizerStep::split_gpt2:
        case PreTokenizerStep::split_llama3:
          (step.kind == PreTokenizerStep::split_gpt2 ? split_gpt2 : split_llama3)(piece, views);
          for (auto v : views) next.emplace_back(v);
          break;
        case PreTokenizerStep::metaspace: {
          replace_all(piece, " ", step.replacement);
          bool prepend = step.prepend == PreTokenizerStep::always ||
                         (step.prepend == PreTokenizerStep::first && first_segment && k == 0);
          if (prepend && piece.rfind(step.replacement, 0) != 0) piece.insert(0, step.replacement);
          if (!step.split) {
            next.push_back(piece);
            break;
          }
          // Each replacement character starts a new word (MergedWithNext).
          size_t start = 0;
          for (size_t hit = piece.find(step.replacement, 1); hit != std::string::npos;
               hit = piece.find(step.replacement, hit + 1)) {
            next.push_back(piece.substr(start, hit - start));
            start = hit;
          }
          next.push_back(piece.substr(start));
          break;
        }
      }
    }
    std::swap(pieces, next);
  }
  for (auto& p : pieces)
    if (!p.empty()) words.push_back(std::move(p));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = template_prefix_;
  // Hugging Face's order: tokens matched on raw text, then the rest normalized, then
  // tokens matched on normalized text, then pre-tokenizer and model on what is left.
  std::vector<std::pair<std::string, int32_t>> raw, segments;
  split_added(text, false, raw);
  for (auto& [piece, id] : raw) {
    if (id >= 0) segments.emplace_back(std::string(), id);
    else split_added(normalize(piece), true, segments);
  }
  std::vector<std::string> words;
  for (size_t s = 0; s < segments.size(); s++) {
    if (segments[s].second >= 0) {
      ids.push_back(segments[s].second);
      continue;
    }
    words.clear();
    pre_tokenize(std::move(segments[s].first), s == 0, words);
    for (const auto& w : words) model_.encode_word(w, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), template_suffix_.begin(), template_suffix_.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    const AddedToken* added = nullptr;
    for (const auto& a : added_)
      if (a.id == id) added = &a;
    if (added) {
      if (!(skip_special_tokens && added->special)) tokens.push_back(added->content);
      continue;
    }
    const std::string* token = model_.token(id);
    if (!token) throw data_error("", "token id " + std::to_string(id) + " is not in the vocabulary");
    tokens.push_back(*token);
  }
  if (decoder_.empty()) {  // Hugging Face joins with spaces when there is no decoder
    std::string out;
    for (size_t i = 0; i < tokens.size(); i++) out += (i ? " " : "") + tokens[i];
    return replace_invalid_utf8(out);
  }
  for (const auto& step : decoder_) {
    std::vector<std::string> next;
    switch (step.kind) {
      case DecoderStep::byte_level: {
        std::string bytes;
        for (const auto& t : tokens) {
          size_t mark = bytes.size();
          if (!byte_level_decode(t, bytes)) bytes.resize(mark), bytes += t;  // not byte-level: raw text
        }
        next.push_back(replace_invalid_utf8(bytes));
        break;
      }
      case DecoderStep::replace:
        for (auto t : tokens) replace_all(t, step.text, step.replacement), next.push_back(t);
        break;
      case DecoderStep::byte_fallback: {
        // Runs of <0xNN> become their UTF-8 text, or one U+FFFD per byte when invalid.
        std::string bytes;
        size_t count = 0;
        auto flush = [&] {
          if (count == 0) return;
          std::string text = replace_invalid_utf8(bytes);
          if (text != bytes) {
            text.clear();
            for (size_t i = 0; i < count; i++) append_utf8(text, 0xfffd);
          }
          next.push_back(text);
          bytes.clear();
          count = 0;
        };
        for (const auto& t : tokens) {
          int value = byte_token_value(t);
          if (value < 0) {
            flush();
            next.push_back(t);
          } else {
            bytes += char(value);
            count++;
          }
        }
        flush();
        break;
      }
      case DecoderStep::fuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        next.push_back(all);
        break;
      }
      case DecoderStep::strip:
        for (auto t : tokens) {
          int start = 0, stop = 0;
          while (start < step.strip_start && t.compare(0, step.text.size(), step.text) == 0 && !t.empty())
            t.erase(0, step.text.size()), start++;
          while (stop < step.strip_stop && t.size() >= step.text.size() &&
                 t.compare(t.size() - step.text.size(), step.text.size(), step.text) == 0 && !t.empty())
            t.erase(t.size() - step.text.size()), stop++;
          next.push_back(t);
        }
        break;
      case DecoderStep::metaspace:
        for (size_t i = 0; i < tokens.size(); i++) {
          std::string t = tokens[i];
          replace_all(t, step.text, " ");
          if (i == 0 && step.metaspace_strip_first && t.rfind(' ', 0) == 0) t.erase(0, 1);
          next.push_back(t);
        }
        break;
    }
    tokens = std::move(next);
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return replace_invalid_utf8(out);
}

}  // namespace omlkit::model
