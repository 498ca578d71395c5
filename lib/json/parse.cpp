// Strict JSON parser (RFC 8259 + I-JSON, RFC 7493): duplicate keys, invalid UTF-8, lone
// surrogates and over-deep nesting are errors, numbers keep their literal text.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "io/error.h"
#include "json/scan.h"
#include "json/value.h"

namespace omlkit::json {

class Parser {
 public:
  Parser(std::string_view text, const std::string& where, const ParseOptions& options)
      : p_(text.data()), begin_(text.data()), end_(text.data() + text.size()),
        where_(where), options_(options) {}

  void parse_document(Value& v) {
    skip_space();
    parse_value(v, 0);
    skip_space();
    if (p_ != end_) fail("expected end of JSON text, found " + describe_here());
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw data_error(where_, "column " + std::to_string(p_ - begin_ + 1) + ": " + message);
  }

  std::string describe_here() const {
    if (p_ >= end_) return "end of input";
    unsigned char c = static_cast<unsigned char>(*p_);
    if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
    char buf[8];
    snprintf(buf, sizeof buf, "0x%02x", c);
    return std::string("byte ") + buf;
  }

  void skip_space() {
    const char* start = p_;
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
    if (options_.require_canonical && p_ != start) {
      p_ = start;
      fail("not canonical: whitespace");
    }
  }

  void expect_literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || memcmp(p_, word, n) != 0)
      fail(std::string("expected '") + word + "', found " + describe_here());
    p_ += n;
  }

  void parse_value(Value& v, int depth) {
    if (p_ >= end_) fail("expected a value, found end of input");
    switch (*p_) {
      case '{': return parse_object(v, depth + 1);
      case '[': return parse_array(v, depth + 1);
      case '"':
        v.kind_ = Kind::string;
        return parse_string(v.text_);
      case 't': expect_literal("true", 4); v.kind_ = Kind::boolean; v.bool_ = true; return;
      case 'f': expect_literal("false", 5); v.kind_ = Kind::boolean; v.bool_ = false; return;
      case 'n': expect_literal("null", 4); v.kind_ = Kind::null; return;
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return parse_number(v);
        fail("expected a value, found " + describe_here());
    }
  }

  void check_depth(int depth) {
    if (depth > options_.max_depth)
      fail("nesting deeper than " + std::to_string(options_.max_depth) + " levels");
  }

  void parse_object(Value& v, int depth) {
    check_depth(depth);
    v.kind_ = Kind::object;
    if (v.members_.capacity() == 0) v.members_.reserve(6);  // beats growing 1-2-4-8
    ++p_;  // '{'
    skip_space();
    // Members already in v (from an earlier parse into the same Value) are reused in
    // place, so parsing lines of one shape allocates nothing once warm.
    size_t n = 0;
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      v.members_.clear();
      return;
    }
    for (;;) {
      skip_space();
      if (p_ >= end_ || *p_ != '"') fail("expected a member name, found " + describe_here());
      const char* key_at = p_;
      Member& m = n < v.members_.size() ? v.members_[n] : v.members_.emplace_back();
      ++n;
      parse_string(m.key);
      if (options_.require_canonical && n > 1 && !utf16_less(v.members_[n - 2].key, m.key)) {
        p_ = key_at;
        fail("not canonical: member \"" + m.key + "\" out of order");
      }
      // Duplicates: linear scan while small; a sorted check at the end when large.
      if (n <= 16) {
        for (size_t i = 0; i + 1 < n; ++i)
          if (v.members_[i].key == m.key) { p_ = key_at; fail("duplicate key \"" + m.key + "\""); }
      }
      skip_space();
      if (p_ >= end_ || *p_ != ':') fail("expected ':', found " + describe_here());
      ++p_;
      skip_space();
      parse_value(m.value, depth);
      skip_space();
      if (p_ < end_ && *p_ == ',') { ++p_; continue; }
      if (p_ < end_ && *p_ == '}') { ++p_; break; }
      fail("expected ',' or '}', found " + describe_here());
    }
    v.members_.resize(n);
    if (n > 16) {
      std::vector<const std::string*> keys;
      keys.reserve(v.members_.size());
      for (const auto& m : v.members_) keys.push_back(&m.key);
      std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
      for (size_t i = 1; i < keys.size(); ++i)
        if (*keys[i] == *keys[i - 1]) fail("duplicate key \"" + *keys[i] + "\" in object");
    }
  }

  void parse_array(Value& v, int depth) {
    check_depth(depth);
    v.kind_ = Kind::array;
    ++p_;  // '['
    skip_space();
    size_t n = 0;  // items already in v are reused, as members are
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      v.items_.clear();
      return;
    }
    for (;;) {
      skip_space();
      parse_value(n < v.items_.size() ? v.items_[n] : v.items_.emplace_back(), depth);
      ++n;
      skip_space();
      if (p_ < end_ && *p_ == ',') { ++p_; continue; }
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        v.items_.resize(n);
        return;
      }
      fail("expected ',' or ']', found " + describe_here());
    }
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  unsigned read_hex4() {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    unsigned u = 0;
    for (int i = 0; i < 4; ++i) {
      int d = hex_digit(p_[i]);
      if (d < 0) fail("invalid \\u escape");
      u = u * 16 + static_cast<unsigned>(d);
    }
    p_ += 4;
    return u;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  void parse_string(std::string& out) {
    ++p_;  // opening quote
    out.clear();
    for (;;) {
      // Copy the run of plain ASCII in one go.
      const char* run = p_;
      p_ = skip_plain_ascii(p_, end_);
      while (p_ < end_) {
        unsigned char c = static_cast<unsigned char>(*p_);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++p_;
      }
      out.append(run, p_);
      if (p_ >= end_) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') { ++p_; return; }
      if (c < 0x20) fail("raw control character in string (must be escaped)");
      if (c >= 0x80) {
        size_t n = utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                        reinterpret_cast<const unsigned char*>(end_));
        if (n == 0) fail("invalid UTF-8 in string");
        out.append(p_, n);
        p_ += n;
        continue;
      }
      // Backslash escape.
      ++p_;
      if (p_ >= end_) fail("unterminated string");
      if (options_.require_canonical) check_canonical_escape();
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = read_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') fail("lone high surrogate in \\u escape");
            p_ += 2;
            unsigned lo = read_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --p_;
          fail("invalid escape '\\" + std::string(1, e) + "'");
      }
    }
  }

  // RFC 8785 escapes: \" \\ \b \t \n \f \r, and \u00xx (lowercase) for the other controls.
  void check_canonical_escape() {
    char e = *p_;
    if (e == '"' || e == '\\' || e == 'b' || e == 't' || e == 'n' || e == 'f' || e == 'r') return;
    if (e == 'u' && end_ - p_ >= 5 && p_[1] == '0' && p_[2] == '0' && (p_[3] == '0' || p_[3] == '1')) {
      int lo = hex_digit(p_[4]);
      unsigned cp = (p_[3] - '0') * 16 + static_cast<unsigned>(lo);
      bool lowercase = !(p_[4] >= 'A' && p_[4] <= 'F');
      bool has_short_form = cp == 8 || cp == 9 || cp == 10 || cp == 12 || cp == 13;
      if (lo >= 0 && lowercase && !has_short_form) return;
    }
    --p_;
    fail("not canonical: escape that RFC 8785 writes otherwise");
  }

  void parse_number(Value& v) {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("expected a digit");
    if (*p_ == '0') {
      ++p_;
      if (p_ < end_ && *p_ >= '0' && *p_ <= '9') fail("leading zero in number");
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    bool integral = true;
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("expected a digit after '.'");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("expected a digit in exponent");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    v.kind_ = Kind::number;
    v.text_.assign(start, p_);
    if (options_.integers_only) {
      if (!integral) { p_ = start; fail("expected an integer, found " + v.text_); }
      // |n| <= 2^53 - 1 = 9007199254740991 (16 digits).
      size_t digits = v.text_.size() - (v.text_[0] == '-');
      if (digits > 16 || (digits == 16 && v.text_.compare(v.text_.size() - 16, 16, "9007199254740991") > 0)) {
        p_ = start;
        fail("integer " + v.text_ + " is outside +-(2^53-1)");
      }
      if (v.text_ == "-0") { p_ = start; fail("-0 is not allowed"); }
    }
  }

  const char* p_;
  const char* begin_;
  const char* end_;
  const std::string& where_;
  const ParseOptions& options_;
};

Value parse(std::string_view text, const std::string& where, const ParseOptions& options) {
  Value v;
  Parser(text, where, options).parse_document(v);
  return v;
}

void parse_into(std::string_view text, Value& out, const std::string& where, const ParseOptions& options) {
  Parser(text, where, options).parse_document(out);
}

}  // namespace omlkit::json
