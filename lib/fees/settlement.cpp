#include "fees/settlement.h"

#include <algorithm>

#include "fees/entry_writer.h"
#include "io/error.h"

namespace omlkit::fees {

void Settlement::add_to(Totals& totals, const std::string& asset_json, const json::Value& account, const char* role,
                        money::u128 amount) {
  key_.clear();
  key_ += asset_json;
  key_ += '\0';
  append_string(account, key_);
  key_ += '\0';
  if (role) key_ += role;
  auto it = totals.find(key_);
  if (it == totals.end()) it = totals.emplace(key_, 0).first;
  it->second += amount;  // below the asset's total, which fits() kept below 2^128
}

bool Settlement::fits(const Attribution& call) const {
  auto it = asset_totals_.find(call.asset->asset);
  return it == asset_totals_.end() || it->second <= money::u128_max - call.fee;
}

void Settlement::add(const Attribution& call, const FeeSplit& split, const std::string& where) {
  std::string call_json;
  append_string(*call.call, call_json);
  if (!seen_calls_.insert(call_json).second)
    throw data_error(where, "call: \"" + call.call->text() + "\" was already settled in this run");
  asset_totals_[call.asset->asset] += call.fee;
  const std::string& asset = call.asset->asset_json;
  add_to(debits_, asset, *call.payer, nullptr, call.fee);
  for (const Credit& credit : split.credits())
    if (credit.amount > 0) add_to(credits_, asset, *credit.account, credit.role, credit.amount);
  std::string settled;
  append_settled_call(call, split, settled);
  calls_.push_back(std::move(settled));
}

void Settlement::write_postings(const Totals& totals, bool debit, bool& first, std::string& out) const {
  std::vector<const Totals::value_type*> sorted;
  sorted.reserve(totals.size());
  for (const auto& entry : totals)
    if (entry.second > 0) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* entry : sorted) {
    std::string_view key = entry->first;
    size_t asset_end = key.find('\0');
    size_t account_end = key.find('\0', asset_end + 1);
    std::string role(key.substr(account_end + 1));
    if (!first) out += ',';
    first = false;
    append_posting(key.substr(asset_end + 1, account_end - asset_end - 1), entry->second, debit,
                   key.substr(0, asset_end), role.empty() ? nullptr : role.c_str(), out);
  }
}

void Settlement::write(std::string& out) {
  if (calls_.empty()) return;
  out += "{\"body\":{\"calls\":[";
  for (size_t i = 0; i < calls_.size(); ++i) {
    if (i) out += ',';
    out += calls_[i];
  }
  out += "],\"postings\":[";
  bool first = true;
  write_postings(debits_, true, first, out);
  write_postings(credits_, false, first, out);
  out += "]},\"type\":\"inference.fee\"}\n";
  calls_.clear();
  debits_.clear();
  credits_.clear();
  asset_totals_.clear();
}

}  // namespace omlkit::fees
