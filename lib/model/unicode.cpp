#include "model/unicode.h"

#include <algorithm>

namespace omlkit::model {

uint8_t codepoint_classes(uint32_t cp) {
  using unicode_tables::kRangeCount;
  using unicode_tables::kRanges;
  const CodepointRange* end = kRanges + kRangeCount;
  const CodepointRange* it =
      std::upper_bound(kRanges, end, cp, [](uint32_t c, const CodepointRange& r) { return c < r.first; });
  if (it == kRanges) return 0;
  --it;
  return cp <= it->last ? it->classes : 0;
}

DecodedChar decode_utf8(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char b0 = byte(pos);
  if (b0 < 0x80) return {b0, 1};
  uint32_t length, cp, min;
  if ((b0 & 0xe0) == 0xc0) length = 2, cp = b0 & 0x1f, min = 0x80;
  else if ((b0 & 0xf0) == 0xe0) length = 3, cp = b0 & 0x0f, min = 0x800;
  else if ((b0 & 0xf8) == 0xf0) length = 4, cp = b0 & 0x07, min = 0x10000;
  else return {0xfffd, 1};
  if (pos + length > text.size()) return {0xfffd, 1};
  for (uint32_t i = 1; i < length; i++) {
    if ((byte(pos + i) & 0xc0) != 0x80) return {0xfffd, 1};
    cp = (cp << 6) | (byte(pos + i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {0xfffd, 1};
  return {cp, length};
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

// Bytes of the longest prefix at pos that could begin a well-formed sequence (Unicode
// Table 3-7); an invalid sequence is replaced as one U+FFFD per such "maximal subpart", as
// Rust's from_utf8_lossy and the WHATWG decoder do.
size_t maximal_subpart(std::string_view text, size_t pos) {
  unsigned char lead = static_cast<unsigned char>(text[pos]);
  size_t need;
  unsigned char lo = 0x80, hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) need = 1;
  else if (lead >= 0xe0 && lead <= 0xef) need = 2, lo = lead == 0xe0 ? 0xa0 : 0x80, hi = lead == 0xed ? 0x9f : 0xbf;
  else if (lead >= 0xf0 && lead <= 0xf4) need = 3, lo = lead == 0xf0 ? 0x90 : 0x80, hi = lead == 0xf4 ? 0x8f : 0xbf;
  else return 1;
  size_t n = 1;
  for (size_t i = 0; i < need && pos + n < text.size(); i++, n++) {
    unsigned char b = static_cast<unsigned char>(text[pos + n]);
    if (i == 0 ? (b < lo || b > hi) : (b & 0xc0) != 0x80) break;
  }
  return n;
}

std::string replace_invalid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    DecodedChar c = decode_utf8(bytes, i);
    if (c.codepoint == 0xfffd && c.length == 1) {  // a valid U+FFFD has length 3
      append_utf8(out, 0xfffd);
      i += maximal_subpart(bytes, i);
    } else {
      out.append(bytes.substr(i, c.length));
      i += c.length;
    }
  }
  return out;
}

}  // namespace omlkit::model
