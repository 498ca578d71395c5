// An `attribution` record (DESIGN.md), checked and viewed in place.
//
//   {"type":"attribution","call":"c-17","payer":"acct:bob","node":"acct:node-7",
//    "fee":{"asset":"OPEN","amount":"1000000"},"model":"m-chat",
//    "lineage":[{"model":"m-chat","owner":"acct:carol"},{"model":"m-base","owner":"acct:alice"}],
//    "data":[{"contributor":"acct:dave","weight":"37"}]}
//
// An Attribution points into the parsed record (no copies: split-fees reads millions of
// them), so it is valid while that json::Value lives. Reading one reuses the vectors'
// capacity from the previous record.
#pragma once

#include <string>
#include <vector>

#include "fees/policy.h"
#include "json/value.h"
#include "money/amount.h"

namespace omlkit::fees {

struct DataWeight {
  const json::Value* contributor;  // string
  money::u128 weight;              // > 0
};

struct Attribution {
  const json::Value* call;   // strings, all of them
  const json::Value* payer;
  const json::Value* node;
  const json::Value* model;
  const AssetRule* asset;                  // the policy's rule for the fee's asset
  money::u128 fee;                         // >= the asset's minimum fee
  std::vector<const json::Value*> owners;  // lineage owners: the called model's first
  std::vector<DataWeight> data;            // may be empty; weights sum below 2^128
};

// Checks `record` (an attribution, "type" already seen) against the DESIGN.md schema and
// the policy: known asset, fee at least its minimum, account names the ledger accepts,
// lineage[0] is the called model, no model twice in the lineage, at most max_lineage
// generations, data weights positive and summing below 2^128.
// Throws data_error(where, "field: expected ..., found ...") on the first problem.
void read_attribution(const json::Value& record, const Policy& policy, const std::string& where,
                      Attribution& out);

}  // namespace omlkit::fees
