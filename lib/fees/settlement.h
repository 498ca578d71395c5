// Settlement: many calls' fees accumulated into one inference.fee batch entry.
//
//   {"body":{"calls":[{"call":"c-1","fee":{...},"payer":P,"split":[...]},...],"postings":[...]},
//    "type":"inference.fee"}
// Each call carries its payer, fee and split tree, so that the ledger recomputes the
// postings from them and refuses a settlement whose postings are anything else.
// postings: one debit per (payer, asset), then one credit per (account, role, asset),
// each group sorted by asset, then account, then role (byte order of their canonical JSON
// text, so the order is fixed). Every amount is the exact sum of what the per-call
// entries would post, so the two modes agree to the unit.
//
// The ledger sums an entry's postings in order and refuses a running sum that reaches
// 2^128, so a batch's total fees in any one asset must stay below 2^128: the caller
// writes the batch early when fits() says the next call would break that. No account's
// total can then overflow either, since it is part of an asset total.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fees/attribution.h"
#include "fees/fee_split.h"
#include "money/amount.h"

namespace omlkit::fees {

class Settlement {
 public:
  // Whether `call` can join this batch without its asset's total fees reaching 2^128.
  bool fits(const Attribution& call) const;
  // Adds one call's debit and credits; requires fits(call). Throws data_error(where, ...)
  // and adds nothing when the call id was settled before in this run.
  void add(const Attribution& call, const FeeSplit& split, const std::string& where);

  uint64_t call_count() const { return calls_.size(); }
  // Appends the batch entry line ('\n' included) and starts a new, empty batch. Call ids
  // stay remembered: a call may be settled only once per run.
  void write(std::string& out);

 private:
  // key: asset json '\0' account json '\0' role ('\0' cannot occur unescaped in JSON text)
  using Totals = std::unordered_map<std::string, money::u128>;
  void add_to(Totals& totals, const std::string& asset_json, const json::Value& account, const char* role,
              money::u128 amount);
  void write_postings(const Totals& totals, bool debit, bool& first, std::string& out) const;

  std::vector<std::string> calls_;           // the batch's calls as canonical JSON objects
  std::unordered_set<std::string> seen_calls_;
  Totals debits_, credits_;
  std::unordered_map<std::string, money::u128> asset_totals_;  // key: asset code
  std::string key_;  // scratch
};

}  // namespace omlkit::fees
