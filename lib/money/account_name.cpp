#include "money/account_name.h"

namespace omlkit::money {

bool valid_account_name(std::string_view name) {
  if (name.empty() || name.size() > max_account_name_bytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  const auto* end = p + name.size();
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++p;
      continue;
    }
    // Well-formed sequences of Unicode Table 3-7: no overlongs, surrogates or > U+10FFFF.
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i < n; ++i)
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    // C1 controls U+0080..U+009F are C2 80..C2 9F.
    if (c == 0xC2 && p[1] <= 0x9F) return false;
    p += n;
  }
  return true;
}

}  // namespace omlkit::money
