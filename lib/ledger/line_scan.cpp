#include "ledger/line_scan.h"

#include <cstring>

#include "json/scan.h"

namespace omlkit::ledger {

bool LineScan::scan(std::string_view line) {
  nodes_.clear();
  p_ = line.data();
  end_ = line.data() + line.size();
  return value(1) && p_ == end_;
}

// A string without escapes or raw controls, its non-ASCII bytes well-formed UTF-8; member
// names ASCII only (so that byte order is RFC 8785's UTF-16 order).
bool LineScan::string(std::string_view* out, bool key) {
  const char* start = ++p_;  // past the opening quote
  for (;;) {
    p_ = json::skip_plain_ascii(p_, end_);
    while (p_ < end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++p_;
    }
    if (p_ >= end_) return false;
    unsigned char c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      *out = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    if (c < 0x80 || key) return false;  // a backslash or a control
    size_t n = json::utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                          reinterpret_cast<const unsigned char*>(end_));
    if (n == 0) return false;
    p_ += n;
  }
}

bool LineScan::value(int depth) {
  if (p_ >= end_) return false;
  uint32_t self = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();
  char c = *p_;
  if (c == '"') {
    nodes_[self].kind = json::Kind::string;
    std::string_view text;
    if (!string(&text, false)) return false;
    nodes_[self].text = text;
    return true;
  }
  if (c == '{' || c == '[') {
    if (depth > max_depth) return false;
    const bool object = c == '{';
    const char close = object ? '}' : ']';
    nodes_[self].kind = object ? json::Kind::object : json::Kind::array;
    ++p_;
    if (p_ < end_ && *p_ == close) {
      ++p_;
      return true;
    }
    uint32_t count = 0, previous = 0;
    std::string_view previous_key;
    for (;;) {
      std::string_view key;
      if (object) {
        if (p_ >= end_ || *p_ != '"' || !string(&key, true)) return false;
        // Strictly increasing names: in canonical order, and no name twice.
        if (count > 0 && !(previous_key < key)) return false;
        if (p_ >= end_ || *p_ != ':') return false;
        ++p_;
      }
      uint32_t child = static_cast<uint32_t>(nodes_.size());
      if (!value(depth + 1)) return false;
      nodes_[child].key = key;
      if (count == 0)
        nodes_[self].first = child;
      else
        nodes_[previous].next = child;
      previous = child;
      previous_key = key;
      ++count;
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == close) {
        ++p_;
        nodes_[self].count = count;
        return true;
      }
      return false;
    }
  }
  if (c == 't' || c == 'f' || c == 'n') {
    const char* word = c == 't' ? "true" : c == 'f' ? "false" : "null";
    size_t n = strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || memcmp(p_, word, n) != 0) return false;
    nodes_[self].kind = c == 'n' ? json::Kind::null : json::Kind::boolean;
    nodes_[self].text = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  // An integer without leading zeros, not -0, of at most 15 digits (so within 2^53 - 1).
  const char* start = p_;
  if (c == '-') ++p_;
  const char* digits = p_;
  while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
  size_t n = static_cast<size_t>(p_ - digits);
  if (n == 0 || n > 15 || (digits[0] == '0' && (n > 1 || digits != start))) return false;
  if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
  nodes_[self].kind = json::Kind::number;
  nodes_[self].text = std::string_view(start, static_cast<size_t>(p_ - start));
  return true;
}

const ScanNode* LineScan::member(uint32_t object, std::string_view key) const {
  const ScanNode& o = nodes_[object];
  if (o.kind != json::Kind::object) return nullptr;
  uint32_t i = o.first;
  for (uint32_t k = 0; k < o.count; ++k, i = nodes_[i].next)
    if (nodes_[i].key == key) return &nodes_[i];
  return nullptr;
}

json::Value LineScan::to_value(uint32_t i) const {
  const ScanNode& n = nodes_[i];
  switch (n.kind) {
    case json::Kind::null: return json::Value();
    case json::Kind::boolean: return json::Value::boolean(n.text == "true");
    case json::Kind::number: return json::Value::number_text(std::string(n.text));
    case json::Kind::string: return json::Value::string(std::string(n.text));
    case json::Kind::array: {
      json::Value v = json::Value::array();
      for (uint32_t k = 0, c = n.first; k < n.count; ++k, c = nodes_[c].next) v.push_back(to_value(c));
      return v;
    }
    case json::Kind::object: {
      // Members appended in order (set() would look for an earlier one with the name).
      json::Value v = json::Value::object();
      for (uint32_t k = 0, c = n.first; k < n.count; ++k, c = nodes_[c].next)
        v.members().push_back(json::Member{std::string(nodes_[c].key), to_value(c)});
      return v;
    }
  }
  return json::Value();
}

}  // namespace omlkit::ledger
