#include "fees/entry_writer.h"

#include <cstdint>

namespace omlkit::fees {

void append_amount(money::u128 amount, std::string& out, bool negative) {
  // Digits are made from the right, 64 bits at a time: a 128-bit division by 10 is a
  // library call, a 64-bit one a multiplication, and most amounts fit in 64 bits.
  constexpr uint64_t ten_pow_19 = 10000000000000000000ull;
  char digits[41];
  char* p = digits + sizeof digits;
  while (amount > UINT64_MAX) {
    auto low = static_cast<uint64_t>(amount % ten_pow_19);
    amount /= ten_pow_19;
    for (int i = 0; i < 19; ++i, low /= 10) *--p = static_cast<char>('0' + low % 10);
  }
  auto rest = static_cast<uint64_t>(amount);
  do {
    *--p = static_cast<char>('0' + rest % 10);
    rest /= 10;
  } while (rest != 0);
  if (negative) *--p = '-';
  out.append(p, digits + sizeof digits);
}

void append_string(const json::Value& value, std::string& out) { json::write_canonical(value, out); }

namespace {

// A posting from its "amount" member on: {"account": ... is already written.
void append_posting_rest(money::u128 amount, bool negative, std::string_view asset_json, const char* role,
                         std::string& out) {
  out += ",\"amount\":\"";
  append_amount(amount, out, negative);
  out += "\",\"asset\":";
  out += asset_json;
  if (role) {
    out += ",\"role\":\"";
    out += role;  // roles are fixed ASCII words: nothing to escape
    out += '"';
  }
  out += '}';
}

void append_posting(const json::Value& account, money::u128 amount, bool negative, std::string_view asset_json,
                    const char* role, std::string& out) {
  out += "{\"account\":";
  append_string(account, out);
  append_posting_rest(amount, negative, asset_json, role, out);
}

}  // namespace

void append_posting(std::string_view account_json, money::u128 amount, bool negative, std::string_view asset_json,
                    const char* role, std::string& out) {
  out += "{\"account\":";
  out += account_json;
  append_posting_rest(amount, negative, asset_json, role, out);
}

namespace {

void append_split(const FeeSplit& split, uint32_t first, uint32_t count, std::string& out) {
  out += '[';
  for (uint32_t i = first; i < first + count; ++i) {
    const SplitNode& node = split.nodes()[i];
    if (i != first) out += ',';
    if (node.account) {
      out += "{\"account\":";
      append_string(*node.account, out);
    } else {
      out += "{\"parts\":";
      append_split(split, node.first_part, node.part_count, out);
    }
    if (node.role) {
      out += ",\"role\":\"";
      out += node.role;
      out += '"';
    }
    out += ",\"weight\":\"";
    append_amount(node.weight, out);
    out += "\"}";
  }
  out += ']';
}

}  // namespace

void write_fee_entry(const Attribution& call, const FeeSplit& split, std::string& out) {
  out += "{\"body\":{\"call\":";
  append_string(*call.call, out);
  out += ",\"fee\":{\"amount\":\"";
  append_amount(call.fee, out);
  out += "\",\"asset\":";
  const std::string& asset_json = call.asset->asset_json;
  out += asset_json;
  out += "},\"model\":";
  append_string(*call.model, out);
  out += ",\"node\":";
  append_string(*call.node, out);
  out += ",\"payer\":";
  append_string(*call.payer, out);
  out += ",\"postings\":[";
  append_posting(*call.payer, call.fee, true, asset_json, nullptr, out);
  for (const Credit& credit : split.credits()) {
    if (credit.amount == 0) continue;
    out += ',';
    append_posting(*credit.account, credit.amount, false, asset_json, credit.role, out);
  }
  out += "],\"split\":";
  append_split(split, 0, split.top_count(), out);
  out += "},\"type\":\"inference.fee\"}\n";
}

}  // namespace omlkit::fees
