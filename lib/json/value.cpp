#include <charconv>
#include <cmath>
#include <stdexcept>

#include "json/value.h"

namespace omlkit::json {

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::boolean;
  v.bool_ = b;
  return v;
}

Value Value::number_text(std::string text) {
  Value v;
  v.kind_ = Kind::number;
  v.text_ = std::move(text);
  return v;
}

Value Value::integer(int64_t n) { return number_text(std::to_string(n)); }

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::string;
  v.text_ = std::move(s);
  return v;
}

Value Value::array() {
  Value v;
  v.kind_ = Kind::array;
  return v;
}

Value Value::object() {
  Value v;
  v.kind_ = Kind::object;
  return v;
}

std::optional<int64_t> Value::as_int64() const {
  if (kind_ != Kind::number) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), n);
  if (ec != std::errc() || end != text_.data() + text_.size()) return std::nullopt;
  return n;
}

Value& Value::push_back(Value v) {
  items_.push_back(std::move(v));
  return items_.back();
}

const Value* Value::find(std::string_view key) const {
  for (const auto& m : members_)
    if (m.key == key) return &m.value;
  return nullptr;
}

Value* Value::find(std::string_view key) {
  for (auto& m : members_)
    if (m.key == key) return &m.value;
  return nullptr;
}

Value& Value::set(std::string_view key, Value v) {
  if (Value* existing = find(key)) {
    *existing = std::move(v);
    return *existing;
  }
  members_.push_back(Member{std::string(key), std::move(v)});
  return members_.back().value;
}

bool Value::erase(std::string_view key) {
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->key == key) {
      members_.erase(it);
      return true;
    }
  }
  return false;
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Kind::null: return true;
    case Kind::boolean: return a.bool_ == b.bool_;
    case Kind::number:
    case Kind::string: return a.text_ == b.text_;
    case Kind::array: return a.items_ == b.items_;
    case Kind::object: return canonical(a) == canonical(b);
  }
  return false;
}

}  // namespace omlkit::json
