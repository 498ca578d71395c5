#include "report/html.h"

namespace omlkit::report {

void append_escaped(std::string& out, std::string_view text) {
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += "\xEF\xBF\xBD";  // U+FFFD
        else out += ch;
    }
  }
}

std::string escaped(std::string_view text) {
  std::string out;
  append_escaped(out, text);
  return out;
}

static std::string grouped(std::string_view digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_amount(money::u128 base_units, int decimals) {
  std::string digits = money::to_string(base_units);
  if (decimals <= 0) return grouped(digits);
  size_t d = static_cast<size_t>(decimals);
  if (digits.size() <= d) digits.insert(0, d + 1 - digits.size(), '0');
  std::string whole = digits.substr(0, digits.size() - d);
  return grouped(whole) + "." + digits.substr(digits.size() - d);
}

std::string format_amount(const money::Signed& base_units, int decimals) {
  return (base_units.negative ? "-" : "") + format_amount(base_units.magnitude, decimals);
}

std::string format_total(const Total& total, int decimals) {
  return total.overflow ? "over 2^128 base units" : format_amount(total.value, decimals);
}

}  // namespace omlkit::report
