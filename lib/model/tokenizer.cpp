#include "model/tokenizer.h"

#include <cstdio>

#include "io/error.h"
#include "model/pretokenizer.h"
#include "model/unicode.h"

namespace omlkit::model {
namespace {

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

// Text and, when tracked, for each byte the range [from, to) of what it stands for: input
// bytes when encoding, ids (index i as [i, i+1)) when decoding. Untracked, it is a string.
struct AlignedText {
  std::string text;
  std::vector<uint32_t> from, to;
  bool tracked = false;

  // Each byte of s stands for itself.
  static AlignedText identity(std::string_view s, bool tracked) {
    AlignedText a;
    a.tracked = tracked;
    a.text = s;
    if (tracked)
      for (uint32_t i = 0; i < s.size(); i++) a.from.push_back(i), a.to.push_back(i + 1);
    return a;
  }
  static AlignedText empty(bool tracked) {
    AlignedText a;
    a.tracked = tracked;
    return a;
  }
  bool starts_with(std::string_view s) const { return text.compare(0, s.size(), s) == 0; }
  uint32_t start() const { return from.empty() ? 0 : from[0]; }
  AlignedText sub(size_t pos, size_t n = std::string::npos) const {
    AlignedText a = empty(tracked);
    a.append(*this, pos, n);
    return a;
  }
  void append(const AlignedText& other, size_t pos = 0, size_t n = std::string::npos) {
    n = std::min(n, other.text.size() - std::min(pos, other.text.size()));
    text.append(other.text, pos, n);
    if (tracked) {
      from.insert(from.end(), other.from.begin() + long(pos), other.from.begin() + long(pos + n));
      to.insert(to.end(), other.to.begin() + long(pos), other.to.begin() + long(pos + n));
    }
  }
  // Appends s, every byte of it standing for [f, t).
  void append_mapped(std::string_view s, uint32_t f, uint32_t t) {
    text += s;
    if (tracked) from.insert(from.end(), s.size(), f), to.insert(to.end(), s.size(), t);
  }
  // Puts s in front; its bytes stand for nothing (an empty range where the text starts).
  void prepend_unmapped(std::string_view s) {
    AlignedText a = empty(tracked);
    a.append_mapped(s, start(), start());
    a.append(*this);
    *this = std::move(a);
  }
  // The range covered by bytes [b, e), ignoring bytes that stand for nothing.
  std::pair<size_t, size_t> range(size_t b, size_t e) const {
    size_t lo = b < from.size() ? from[b] : 0, hi = lo;
    bool any = false;
    for (size_t j = b; j < e; j++)
      if (to[j] > from[j]) {
        lo = any ? std::min<size_t>(lo, from[j]) : from[j];
        hi = any ? std::max<size_t>(hi, to[j]) : to[j];
        any = true;
      }
    return {lo, hi};
  }
};

namespace {

// Every occurrence of `what` replaced by `with`, which stands for the bytes it replaced.
AlignedText replaced(const AlignedText& text, std::string_view what, std::string_view with) {
  if (what.empty() || text.text.find(what) == std::string::npos) return text;
  AlignedText out = AlignedText::empty(text.tracked);
  size_t start = 0;
  for (size_t hit; (hit = text.text.find(what, start)) != std::string::npos; start = hit + what.size()) {
    out.append(text, start, hit - start);
    if (text.tracked) out.append_mapped(with, text.from[hit], text.to[hit + what.size() - 1]);
    else out.text += with;
  }
  out.append(text, start);
  return out;
}

// replace_invalid_utf8, keeping each U+FFFD's source.
AlignedText valid_utf8(const AlignedText& in) {
  AlignedText out = AlignedText::empty(in.tracked);
  for (size_t i = 0; i < in.text.size();) {
    DecodedChar c = decode_utf8(in.text, i);
    if (c.codepoint == 0xfffd && c.length == 1) {
      out.append_mapped("\xEF\xBF\xBD", in.tracked ? in.from[i] : 0, in.tracked ? in.to[i] : 0);
      i += maximal_subpart(in.text, i);
    } else {
      out.append(in, i, c.length);
      i += c.length;
    }
  }
  return out;
}

}  // namespace

const AddedToken* Tokenizer::added_token(int32_t id) const {
  const AddedToken* found = nullptr;
  for (const auto& a : added_)
    if (a.id == id) found = &a;
  return found;
}

const std::string& Tokenizer::piece(int32_t id) const {
  if (const AddedToken* added = added_token(id)) return added->content;
  const std::string* token = model_.token(id);
  if (!token) throw data_error("", "token id " + std::to_string(id) + " is not in the vocabulary");
  return *token;
}

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
// longest match first, honouring lstrip/rstrip/single_word. Pieces of plain text carry -1;
// an added token's piece is the text it matched (stripped whitespace included).
void Tokenizer::split_added(const AlignedText& aligned, bool normalized_tokens,
                            std::vector<std::pair<AlignedText, int32_t>>& out) const {
  std::string_view text = aligned.text;
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
    if (begin > plain_start) out.emplace_back(aligned.sub(plain_start, begin - plain_start), -1);
    out.emplace_back(aligned.sub(begin, end - begin), best->id);
    pos = plain_start = end;
  }
  if (plain_start < text.size()) out.emplace_back(aligned.sub(plain_start), -1);
}

AlignedText Tokenizer::normalize(const AlignedText& text) const {
  AlignedText out = text;
  for (const auto& step : normalizer_) {
    if (step.kind == NormalizerStep::prepend) {
      if (!out.text.empty()) out.prepend_unmapped(step.text);
    } else {
      out = replaced(out, step.text, step.replacement);
    }
  }
  return out;
}

void Tokenizer::pre_tokenize(AlignedText text, bool first_segment, std::vector<AlignedText>& words) const {
  std::vector<AlignedText> pieces, next;
  pieces.push_back(std::move(text));
  std::vector<std::string_view> views;
  const auto& alphabet = byte_level_alphabet();
  for (const auto& step : pre_tokenizer_) {
    next.clear();
    for (size_t k = 0; k < pieces.size(); k++) {
      AlignedText& piece = pieces[k];
      views.clear();
      switch (step.kind) {
        case PreTokenizerStep::byte_level:
          if (step.add_prefix_space && !piece.starts_with(" ")) piece.prepend_unmapped(" ");
          if (step.use_regex) split_gpt2(piece.text, views);
          else views.push_back(piece.text);
          for (auto v : views) {
            AlignedText word = AlignedText::empty(piece.tracked);
            size_t offset = size_t(v.data() - piece.text.data());
            for (size_t j = 0; j < v.size(); j++) {
              const std::string& ch = alphabet[static_cast<unsigned char>(v[j])];
              if (piece.tracked) word.append_mapped(ch, piece.from[offset + j], piece.to[offset + j]);
              else word.text += ch;
            }
            next.push_back(std::move(word));
          }
          break;
        case PreTokenizerStep::split_gpt2:
        case PreTokenizerStep::split_llama3:
          (step.kind == PreTokenizerStep::split_gpt2 ? split_gpt2 : split_llama3)(piece.text, views);
          for (auto v : views) next.push_back(piece.sub(size_t(v.data() - piece.text.data()), v.size()));
          break;
        case PreTokenizerStep::metaspace: {
          AlignedText spaced = replaced(piece, " ", step.replacement);
          bool prepend = step.prepend == PreTokenizerStep::always ||
                         (step.prepend == PreTokenizerStep::first && first_segment && k == 0);
          if (prepend && !spaced.starts_with(step.replacement)) spaced.prepend_unmapped(step.replacement);
          if (!step.split) {
            next.push_back(std::move(spaced));
            break;
          }
          // Each replacement character starts a new word (MergedWithNext).
          size_t start = 0;
          for (size_t hit = spaced.text.find(step.replacement, 1); hit != std::string::npos;
               hit = spaced.text.find(step.replacement, hit + 1)) {
            next.push_back(spaced.sub(start, hit - start));
            start = hit;
          }
          next.push_back(spaced.sub(start));
          break;
        }
      }
    }
    std::swap(pieces, next);
  }
  for (auto& p : pieces)
    if (!p.text.empty()) words.push_back(std::move(p));
}

void Tokenizer::encode_into(std::string_view text, bool add_special_tokens, std::vector<int32_t>& ids,
                            std::vector<TokenSpan>* spans) const {
  const bool track = spans != nullptr;
  auto add = [&](int32_t id, std::pair<size_t, size_t> range) {
    ids.push_back(id);
    if (track) spans->push_back({id, piece(id), range.first, range.second});
  };
  if (add_special_tokens)
    for (int32_t id : template_prefix_) add(id, {0, 0});
  // Hugging Face's order: tokens matched on raw text, then the rest normalized, then
  // tokens matched on normalized text, then pre-tokenizer and model on what is left.
  std::vector<std::pair<AlignedText, int32_t>> raw, segments;
  split_added(AlignedText::identity(text, track), false, raw);
  for (auto& [piece, id] : raw) {
    if (id >= 0) segments.emplace_back(std::move(piece), id);
    else split_added(normalize(piece), true, segments);
  }
  std::vector<AlignedText> words;
  std::vector<uint32_t> ends;
  for (size_t s = 0; s < segments.size(); s++) {
    auto& [segment, id] = segments[s];
    if (id >= 0) {
      add(id, track ? segment.range(0, segment.text.size()) : std::pair<size_t, size_t>{});
      continue;
    }
    words.clear();
    pre_tokenize(std::move(segment), s == 0, words);
    for (const auto& w : words) {
      size_t first = ids.size();
      ends.clear();
      model_.encode_word(w.text, ids, track ? &ends : nullptr);
      if (!track) continue;
      for (size_t k = 0; k < ends.size(); k++) {
        auto [begin, end] = w.range(k ? ends[k - 1] : 0, ends[k]);
        spans->push_back({ids[first + k], piece(ids[first + k]), begin, end});
      }
    }
  }
  if (add_special_tokens)
    for (int32_t id : template_suffix_) add(id, {text.size(), text.size()});
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  encode_into(text, add_special_tokens, ids, nullptr);
  return ids;
}

std::vector<TokenSpan> Tokenizer::encode_with_offsets(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  std::vector<TokenSpan> spans;
  encode_into(text, add_special_tokens, ids, &spans);
  return spans;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return decode_into(ids, skip_special_tokens, nullptr);
}

std::string Tokenizer::decode_with_offsets(std::span<const int32_t> ids, std::vector<TokenSpan>& spans,
                                           bool skip_special_tokens) const {
  std::vector<uint32_t> source;
  std::string text = decode_into(ids, skip_special_tokens, &source);
  // A character belongs to the id that produced its last byte.
  std::vector<size_t> begin(ids.size(), std::string::npos), end(ids.size(), 0);
  for (size_t pos = 0; pos < text.size();) {
    size_t length = decode_utf8(text, pos).length;
    uint32_t owner = source[pos + length - 1];
    begin[owner] = std::min(begin[owner], pos);
    end[owner] = std::max(end[owner], pos + length);
    pos += length;
  }
  spans.clear();
  size_t last_end = 0;
  for (size_t i = 0; i < ids.size(); i++) {
    if (begin[i] == std::string::npos) begin[i] = end[i] = last_end;
    last_end = end[i];
    spans.push_back({ids[i], piece(ids[i]), begin[i], end[i]});
  }
  return text;
}

std::string Tokenizer::decode_into(std::span<const int32_t> ids, bool skip_special_tokens,
                                   std::vector<uint32_t>* source) const {
  const bool track = source != nullptr;
  std::vector<AlignedText> tokens, next;
  for (uint32_t i = 0; i < ids.size(); i++) {
    const AddedToken* added = added_token(ids[i]);
    if (added && skip_special_tokens && added->special) continue;
    AlignedText t = AlignedText::empty(track);
    t.append_mapped(piece(ids[i]), i, i + 1);
    tokens.push_back(std::move(t));
  }
  AlignedText out = AlignedText::empty(track);
  if (decoder_.empty()) {  // Hugging Face joins with spaces when there is no decoder
    for (size_t i = 0; i < tokens.size(); i++) {
      if (i) out.append_mapped(" ", tokens[i].start(), tokens[i].start() + 1);
      out.append(tokens[i]);
    }
    tokens.clear();
  }
  for (const auto& step : decoder_) {
    next.clear();
    switch (step.kind) {
      case DecoderStep::byte_level: {
        AlignedText bytes = AlignedText::empty(track);
        std::string decoded;
        for (const auto& t : tokens) {
          decoded.clear();
          if (!byte_level_decode(t.text, decoded)) {  // not byte-level: raw text
            bytes.append(t);
            continue;
          }
          // The alphabet maps one character to one byte.
          size_t pos = 0;
          for (char b : decoded) {
            if (track) bytes.append_mapped(std::string_view(&b, 1), t.from[pos], t.to[pos]);
            else bytes.text += b;
            pos += decode_utf8(t.text, pos).length;
          }
        }
        next.push_back(valid_utf8(bytes));
        break;
      }
      case DecoderStep::replace:
        for (const auto& t : tokens) next.push_back(replaced(t, step.text, step.replacement));
        break;
      case DecoderStep::byte_fallback: {
        // Runs of <0xNN> become their UTF-8 text, or one U+FFFD per byte when invalid.
        AlignedText bytes = AlignedText::empty(track);
        auto flush = [&] {
          if (bytes.text.empty()) return;
          if (replace_invalid_utf8(bytes.text) == bytes.text) {
            next.push_back(bytes);
          } else {
            AlignedText marks = AlignedText::empty(track);
            for (size_t j = 0; j < bytes.text.size(); j++)
              marks.append_mapped("\xEF\xBF\xBD", track ? bytes.from[j] : 0, track ? bytes.to[j] : 0);
            next.push_back(std::move(marks));
          }
          bytes = AlignedText::empty(track);
        };
        for (const auto& t : tokens) {
          int value = byte_token_value(t.text);
          if (value < 0) {
            flush();
            next.push_back(t);
          } else {
            char b = char(value);
            bytes.append_mapped(std::string_view(&b, 1), t.start(), track ? t.to.back() : 0);
          }
        }
        flush();
        break;
      }
      case DecoderStep::fuse: {
        AlignedText all = AlignedText::empty(track);
        for (const auto& t : tokens) all.append(t);
        next.push_back(std::move(all));
        break;
      }
      case DecoderStep::strip:
        for (const auto& t : tokens) {
          size_t begin = 0, end = t.text.size(), n = step.text.size();
          for (int k = 0; k < step.strip_start && n && end - begin >= n && t.text.compare(begin, n, step.text) == 0; k++)
            begin += n;
          for (int k = 0; k < step.strip_stop && n && end - begin >= n && t.text.compare(end - n, n, step.text) == 0; k++)
            end -= n;
          next.push_back(t.sub(begin, end - begin));
        }
        break;
      case DecoderStep::metaspace:
        for (size_t i = 0; i < tokens.size(); i++) {
          AlignedText t = replaced(tokens[i], step.text, " ");
          if (i == 0 && step.metaspace_strip_first && t.starts_with(" ")) t = t.sub(1);
          next.push_back(std::move(t));
        }
        break;
    }
    std::swap(tokens, next);
  }
  for (const auto& t : tokens) out.append(t);
  out = valid_utf8(out);
  if (track) *source = std::move(out.from);
  return std::move(out.text);
}

}  // namespace omlkit::model
