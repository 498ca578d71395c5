// A small JSON value for omlkit's records, with a strict parser and RFC 8785 output.
//
// Why not nlohmann::json here: records are parsed and re-emitted on every hot path
// (ledger-verify checks each line is canonical), and the rules are stricter than
// RFC 8259 allows by default: duplicate keys, invalid UTF-8 and lone surrogates are
// errors, and numbers keep their exact text so that 128-bit amounts and integers never
// pass through a double. nlohmann::json is still used for configuration files.
//
// Objects keep their members in input order; output is always canonical (JCS), so the
// order never leaks. Values are plain data: copyable, not thread-safe to mutate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omlkit::json {

enum class Kind : uint8_t { null, boolean, number, string, array, object };

class Value;
struct Member;

class Value {
 public:
  Value() = default;  // null
  static Value boolean(bool b);
  static Value number_text(std::string text);  // text must be a valid JSON number
  static Value integer(int64_t n);
  static Value string(std::string s);
  static Value array();
  static Value object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_number() const { return kind_ == Kind::number; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_object() const { return kind_ == Kind::object; }

  bool as_bool() const { return bool_; }
  // The unescaped string, or a number's literal text.
  const std::string& text() const { return text_; }
  // The number as an integer, if it is one that fits in int64.
  std::optional<int64_t> as_int64() const;

  // Arrays.
  const std::vector<Value>& items() const { return items_; }
  std::vector<Value>& items() { return items_; }
  Value& push_back(Value v);

  // Objects. find() returns nullptr when the key is absent.
  const std::vector<Member>& members() const { return members_; }
  std::vector<Member>& members() { return members_; }
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  // Sets key (replacing an existing member) and returns the stored value.
  Value& set(std::string_view key, Value v);
  bool erase(std::string_view key);

  friend bool operator==(const Value& a, const Value& b);

 private:
  friend class Parser;
  Kind kind_ = Kind::null;
  bool bool_ = false;
  std::string text_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

struct Member {
  std::string key;
  Value value;
  friend bool operator==(const Member&, const Member&) = default;
};

struct ParseOptions {
  // Ledger mode: numbers must be integers with |n| <= 2^53 - 1 (no fraction, no exponent).
  bool integers_only = false;
  // Refuse any text that is not already its own RFC 8785 form (no whitespace, minimal
  // escapes, members in UTF-16 order), so a caller need not re-serialise to compare.
  // Only meaningful with integers_only (fractions would need the ES6 number check).
  bool require_canonical = false;
  int max_depth = 64;
};

// Parses exactly one JSON text (surrounding whitespace allowed). On failure throws
// omlkit::Error (exit 65) whose message names the byte column; `where` is its place.
Value parse(std::string_view text, const std::string& where, const ParseOptions& = {});
// The same into an existing value, reusing its allocations (for loops over lines).
// On failure `out` holds a partial value.
void parse_into(std::string_view text, Value& out, const std::string& where, const ParseOptions& = {});

// RFC 8785 canonical form: no whitespace, members sorted by UTF-16 code units,
// ES6 number formatting, minimal string escaping. Appends to out.
void write_canonical(const Value& v, std::string& out);
std::string canonical(const Value& v);

// ECMAScript Number::toString of a double (RFC 8785 section 3.2.2.3). Throws on NaN/Inf.
std::string format_es6_number(double d);

// True when a's UTF-16 code-unit sequence sorts before b's (RFC 8785 section 3.2.3).
bool utf16_less(std::string_view a, std::string_view b);

}  // namespace omlkit::json
