// RFC 8785 (JSON Canonicalization Scheme) output.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "io/error.h"
#include "json/value.h"

namespace omlkit::json {

bool utf16_less(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  if (i == n) return a.size() < b.size();
  auto x = static_cast<unsigned char>(a[i]);
  auto y = static_cast<unsigned char>(b[i]);
  // UTF-8 byte order equals code-point order, which equals UTF-16 order except where a
  // supplementary character (4-byte lead F0..F4, a surrogate pair in UTF-16) meets one in
  // U+E000..U+FFFF (3-byte lead EE..EF): surrogates D800..DFFF sort first in UTF-16.
  // The common prefix ends on a character boundary when the leads differ, so testing
  // the first differing bytes as leads is exact.
  bool x4 = x >= 0xF0, y4 = y >= 0xF0;
  bool x_hi3 = x == 0xEE || x == 0xEF, y_hi3 = y == 0xEE || y == 0xEF;
  if (x4 && y_hi3) return true;
  if (y4 && x_hi3) return false;
  return x < y;
}

static void write_string(const std::string& s, std::string& out) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char* run = p;
    while (p < end) {
      auto c = static_cast<unsigned char>(*p);
      if (c < 0x20 || c == '"' || c == '\\') break;
      ++p;
    }
    out.append(run, p);
    if (p == end) break;
    auto c = static_cast<unsigned char>(*p++);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out += '"';
}

std::string format_es6_number(double d) {
  if (!std::isfinite(d)) throw data_error("", "NaN and Infinity have no JSON form");
  if (d == 0) return "0";  // also -0
  std::string out;
  if (d < 0) {
    out += '-';
    d = -d;
  }
  // Shortest round-trip digits in scientific form: "d[.ddd]e[+-]x".
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  (void)ec;
  std::string_view sci(buf, end - buf);
  size_t e_at = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_at))
    if (c != '.') digits += c;
  int exponent = std::atoi(std::string(sci.substr(e_at + 1)).c_str());
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;  // value = 0.digits * 10^n
  if (k <= n && n <= 21) {
    out += digits;
    out.append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n);
    out += '.';
    out += digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(-n, '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

static bool is_plain_integer(const std::string& t) {
  // Integers below 2^53 print as themselves in ES6; longer ones go through the double.
  size_t digits = t.size() - (t[0] == '-');
  if (digits > 15) return false;
  for (size_t i = (t[0] == '-'); i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return t != "-0";
}

static void write_value(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Kind::null: out += "null"; break;
    case Kind::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Kind::number:
      if (is_plain_integer(v.text())) out += v.text();
      else out += format_es6_number(std::strtod(v.text().c_str(), nullptr));
      break;
    case Kind::string: write_string(v.text(), out); break;
    case Kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out += ',';
        first = false;
        write_value(item, out);
      }
      out += ']';
      break;
    }
    case Kind::object: {
      const auto& members = v.members();
      // Most objects are small and most keys ASCII: sort pointers, compare as UTF-16.
      const Member* small[16];
      std::vector<const Member*> large;
      const Member** order = small;
      if (members.size() > 16) {
        large.resize(members.size());
        order = large.data();
      }
      for (size_t i = 0; i < members.size(); ++i) order[i] = &members[i];
      std::sort(order, order + members.size(),
                [](const Member* a, const Member* b) { return utf16_less(a->key, b->key); });
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        write_string(order[i]->key, out);
        out += ':';
        write_value(order[i]->value, out);
      }
      out += '}';
      break;
    }
  }
}

void write_canonical(const Value& v, std::string& out) { write_value(v, out); }

std::string canonical(const Value& v) {
  std::string out;
  write_value(v, out);
  return out;
}

}  // namespace omlkit::json
