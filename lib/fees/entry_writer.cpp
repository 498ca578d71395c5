#include "fees/entry_writer.h"

#include <cstdint>

namespace omlkit::fees {

void append_string(const json::Value& value, std::string& out) { json::write_canonical(value, out); }

namespace {

// A posting from its "amount" member on: {"account": ... is already written.
void append_posting_rest(money::u128 amount, bool negative, std::string_view asset_json, const char* role,
                         std::string& out) {
  out += ",\"amount\":\"";
  if (negative) out += '-';
  money::append_decimal(amount, out);
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

void append_split_nodes(const FeeSplit& split, uint32_t first, uint32_t count, std::string& out) {
  out += '[';
  for (uint32_t i = first; i < first + count; ++i) {
    const SplitNode& node = split.nodes()[i];
    if (i != first) out += ',';
    if (node.account) {
      out += "{\"account\":";
      append_string(*node.account, out);
    } else {
      out += "{\"parts\":";
      append_split_nodes(split, node.first_part, node.part_count, out);
    }
    if (node.role) {
      out += ",\"role\":\"";
      out += node.role;
      out += '"';
    }
    out += ",\"weight\":\"";
    money::append_decimal(node.weight, out);
    out += "\"}";
  }
  out += ']';
}

}  // namespace

void append_split(const FeeSplit& split, std::string& out) { append_split_nodes(split, 0, split.top_count(), out); }

void append_settled_call(const Attribution& call, const FeeSplit& split, std::string& out) {
  out += "{\"call\":";
  append_string(*call.call, out);
  out += ",\"fee\":{\"amount\":\"";
  money::append_decimal(call.fee, out);
  out += "\",\"asset\":";
  out += call.asset->asset_json;
  out += "},\"payer\":";
  append_string(*call.payer, out);
  out += ",\"split\":";
  append_split(split, out);
  out += '}';
}

void write_fee_entry(const Attribution& call, const FeeSplit& split, std::string& out) {
  out += "{\"body\":{\"call\":";
  append_string(*call.call, out);
  out += ",\"fee\":{\"amount\":\"";
  money::append_decimal(call.fee, out);
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
  append_split(split, out);
  out += "},\"type\":\"inference.fee\"}\n";
}

}  // namespace omlkit::fees
