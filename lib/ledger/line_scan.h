// A tree-free reading of one ledger line for the replay's hot path: one pass over the
// bytes checks that the line is canonical JSON under the ledger's rules and records each
// value as a node of views into the line (no string is copied, nothing is allocated once
// the node vector has grown).
//
// It is deliberately narrower than json::parse: it says yes only to lines it is sure of,
// and every line it accepts, json::parse_into (integers_only, require_canonical,
// max_depth 160) accepts too, with the same values. Anything else (a backslash escape, a
// non-ASCII member name, a number of 16 digits or more, deep nesting, whitespace, any
// error) is a "no", and the caller falls back to the full parser, which alone words the
// error messages. tests/unit/ledger_line_scan_test.cpp holds it to that.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "json/value.h"

namespace omlkit::ledger {

struct ScanNode {
  json::Kind kind;
  uint32_t count = 0;     // arrays and objects: number of items or members
  uint32_t first = 0;     // arrays and objects: index of the first child (when count > 0)
  uint32_t next = 0;      // index of the next sibling; 0 after the last
  std::string_view key;   // a member's name (no escapes: these are its bytes)
  std::string_view text;  // a string's contents (no escapes), a number's literal
};

class LineScan {
 public:
  // True when the line is one this scanner is sure of (see above); then root() is node 0.
  bool scan(std::string_view line);

  const ScanNode& node(uint32_t i) const { return nodes_[i]; }
  static constexpr uint32_t root = 0;
  // The member of object `object` named key, or nullptr.
  const ScanNode* member(uint32_t object, std::string_view key) const;
  uint32_t index(const ScanNode* n) const { return static_cast<uint32_t>(n - nodes_.data()); }
  // The value the full parser would build (for tests).
  json::Value to_value(uint32_t i = root) const;

 private:
  bool value(int depth);
  bool string(std::string_view* out, bool key);

  // Deeper than this is left to the full parser (whose limit for ledger lines is 160).
  static constexpr int max_depth = 32;
  std::vector<ScanNode> nodes_;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
};

}  // namespace omlkit::ledger
