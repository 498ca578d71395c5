// One call's fee split: the tree of integer weights the policy gives it, and the credits.
//
// The tree is what an inference.fee entry records as "split" (money/split_tree.h), so
// that ledger-verify can recompute every credit. Its top level is the policy's categories
// in the order protocol, node, provers, lineage, data, weighted by their basis points:
//   protocol, node, provers  one account each
//   lineage   owner:     the called model's owner
//             geometric: [{owner0, keep}, {10000-keep, parts: [{owner1, keep}, {...}]}],
//                        the root keeping all that reaches it (or passing 10000-keep to
//                        the policy's past_root account)
//             royalty:   flat: owner0 gets 10000 - royalty*ancestors, each ancestor royalty
//   data      one part per contributor, weighted by its data weight
// A category whose share has nobody to go to (no data weights) is dropped and its weight
// given to the policy's fallback category, or to a leaf for the fallback account.
// Nodes of weight zero are left out: largest remainder gives them nothing anyway.
//
// Each list of siblings is apportioned by largest remainder (ties to the lower index);
// credits come out depth-first, so they line up with the verifier's flatten_split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fees/attribution.h"
#include "fees/policy.h"
#include "money/amount.h"

namespace omlkit::fees {

struct SplitNode {
  money::u128 weight;
  const json::Value* account;  // a leaf's account (a string value); nullptr for a group
  const char* role;            // nullptr: inherited from the enclosing group
  uint32_t first_part = 0;     // a group's parts are nodes[first_part, first_part + part_count)
  uint32_t part_count = 0;
};

struct Credit {
  const json::Value* account;
  const char* role;
  money::u128 amount;  // zero shares are kept here (the writer drops them)
};

class FeeSplit {
 public:
  // Builds the tree for `call` under `policy` and apportions call.fee along it. Throws
  // data_error(where, ...) when the policy cannot be applied (a royalty stack over 100%).
  void compute(const Policy& policy, const Attribution& call, const std::string& where);

  // nodes()[0, top_count()) is the top level.
  const std::vector<SplitNode>& nodes() const { return nodes_; }
  uint32_t top_count() const { return top_count_; }
  const std::vector<Credit>& credits() const { return credits_; }

 private:
  uint32_t add_group(uint32_t parts);  // reserves a contiguous run of parts, returns its first
  void build_lineage(const Policy& policy, const Attribution& call, uint32_t node, const std::string& where);
  void apportion(uint32_t first, uint32_t count, money::u128 amount, const char* role);

  std::vector<SplitNode> nodes_;
  uint32_t top_count_ = 0;
  std::vector<Credit> credits_;
  std::vector<money::u128> weights_;  // scratch, reused
};

}  // namespace omlkit::fees
