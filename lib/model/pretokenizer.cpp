#include "model/pretokenizer.h"

#include <unordered_map>

#include "model/unicode.h"

namespace omlkit::model {
namespace {

// The text as characters with their classes, so scanners can look ahead cheaply.
struct Char {
  uint32_t cp;
  uint8_t classes;
  size_t offset;  // byte offset in the text
};

std::vector<Char> decode_chars(std::string_view text) {
  std::vector<Char> chars;
  chars.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    DecodedChar d = decode_utf8(text, pos);
    chars.push_back({d.codepoint, codepoint_classes(d.codepoint), pos});
    pos += d.length;
  }
  return chars;
}

struct Scanner {
  std::string_view text;
  std::vector<Char> chars;
  size_t n;

  explicit Scanner(std::string_view t) : text(t), chars(decode_chars(t)), n(chars.size()) {}

  bool letter(size_t i) const { return i < n && (chars[i].classes & kLetter); }
  bool number(size_t i) const { return i < n && (chars[i].classes & kNumber); }
  bool space(size_t i) const { return i < n && (chars[i].classes & kWhitespace); }
  bool is(size_t i, uint32_t cp) const { return i < n && chars[i].cp == cp; }
  bool newline(size_t i) const { return is(i, '\r') || is(i, '\n'); }
  // [^\s\p{L}\p{N}]
  bool other(size_t i) const { return i < n && !(chars[i].classes & (kLetter | kNumber | kWhitespace)); }
  uint32_t lower_ascii(size_t i) const {
    uint32_t c = i < n ? chars[i].cp : 0;
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
  }
  std::string_view piece(size_t begin, size_t end) const {
    size_t b = chars[begin].offset, e = end < n ? chars[end].offset : text.size();
    return text.substr(b, e - b);
  }
  // Length of 's|'t|'re|'ve|'m|'ll|'d at i, or 0.
  size_t contraction(size_t i, bool any_case) const {
    if (!is(i, '\'')) return 0;
    auto at = [&](size_t k) { return any_case ? lower_ascii(k) : (k < n ? chars[k].cp : 0); };
    uint32_t a = at(i + 1), b = at(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
  }
  size_t end_of_run(size_t i, bool (Scanner::*in_class)(size_t) const) const {
    while ((this->*in_class)(i)) i++;
    return i;
  }
  // \s+(?!\S)|\s+ at i (i is whitespace): a run not followed by a non-space keeps all of
  // it; otherwise its last character is left to start the next piece, if it can.
  size_t whitespace_run(size_t i) const {
    size_t end = end_of_run(i, &Scanner::space);
    if (end == n || end - i == 1) return end;
    return end - 1;
  }
};

}  // namespace

void split_gpt2(std::string_view text, std::vector<std::string_view>& pieces) {
  Scanner s(text);
  for (size_t i = 0; i < s.n;) {
    size_t end;
    size_t j = s.is(i, ' ') ? i + 1 : i;  // the optional leading space of " ?X+"
    if (size_t len = s.contraction(i, false)) end = i + len;
    else if (s.letter(j)) end = s.end_of_run(j, &Scanner::letter);
    else if (s.number(j)) end = s.end_of_run(j, &Scanner::number);
    else if (s.other(j)) end = s.end_of_run(j, &Scanner::other);
    else end = s.whitespace_run(i);
    pieces.push_back(s.piece(i, end));
    i = end;
  }
}

void split_llama3(std::string_view text, std::vector<std::string_view>& pieces) {
  Scanner s(text);
  for (size_t i = 0; i < s.n;) {
    size_t end = 0;
    if (size_t len = s.contraction(i, true)) {
      end = i + len;
    } else if (s.letter(i)) {
      end = s.end_of_run(i, &Scanner::letter);
    } else if (!s.newline(i) && !s.number(i) && s.letter(i + 1)) {  // [^\r\n\p{L}\p{N}]?\p{L}+
      end = s.end_of_run(i + 1, &Scanner::letter);
    } else if (s.number(i)) {  // \p{N}{1,3}
      end = i + 1;
      while (end < i + 3 && s.number(end)) end++;
    } else if (size_t j = s.is(i, ' ') ? i + 1 : i; s.other(j)) {  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
      end = s.end_of_run(s.end_of_run(j, &Scanner::other), &Scanner::newline);
    } else {
      // \s*[\r\n]+ ends after the run's last newline; else \s+(?!\S)|\s+.
      size_t run_end = s.end_of_run(i, &Scanner::space);
      for (size_t k = run_end; k > i; k--)
        if (s.newline(k - 1)) {
          end = k;
          break;
        }
      if (end == 0) end = s.whitespace_run(i);
    }
    pieces.push_back(s.piece(i, end));
    i = end;
  }
}

const std::array<std::string, 256>& byte_level_alphabet() {
  static const std::array<std::string, 256> alphabet = [] {
    std::array<std::string, 256> a;
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      append_utf8(a[size_t(b)], printable ? uint32_t(b) : next++);
    }
    return a;
  }();
  return alphabet;
}

std::string byte_level_encode(std::string_view bytes) {
  const auto& alphabet = byte_level_alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += alphabet[b];
  return out;
}

bool byte_level_decode(std::string_view text, std::string& bytes) {
  static const std::unordered_map<uint32_t, unsigned char> inverse = [] {
    std::unordered_map<uint32_t, unsigned char> m;
    const auto& alphabet = byte_level_alphabet();
    for (int b = 0; b < 256; b++) m[decode_utf8(alphabet[size_t(b)], 0).codepoint] = uint8_t(b);
    return m;
  }();
  for (size_t pos = 0; pos < text.size();) {
    DecodedChar c = decode_utf8(text, pos);
    auto it = inverse.find(c.codepoint);
    if (it == inverse.end() || (c.codepoint == 0xfffd && c.length == 1)) return false;
    bytes += char(it->second);
    pos += c.length;
  }
  return true;
}

}  // namespace omlkit::model
