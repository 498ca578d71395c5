// A fee policy: how one inference call's fee is shared, and how evaluations are rewarded.
//
// The policy file is JSON (man/split-fees.1 has the reference and a worked example):
//   {"v": 1,
//    "shares":   {"protocol": 500, "node": 1500, "provers": 500, "lineage": 5000, "data": 2500},
//    "accounts": {"protocol": "acct:protocol", "provers": "acct:provers"},
//    "lineage":  {"mode": "geometric", "keep": 6000, "past_root": {"account": "acct:treasury"}},
//    "no_data":  {"category": "lineage"},
//    "assets":   {"OPEN": {"min_fee": "1000"}},
//    "rewards":  {"pool": "acct:rewards", "asset": "OPEN",
//                 "tiers": [{"min_score": 90, "owner": "5000", "evaluator": "500"}]}}
// Shares are basis points summing to 10,000. Unknown keys are refused: a typo in a money
// policy must not silently change who gets paid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "money/account_name.h"

#include "json/value.h"
#include "money/amount.h"

namespace omlkit::fees {

// The top-level categories of every split, in the order they appear in the split tree.
enum class Category : uint8_t { protocol, node, provers, lineage, data };
inline constexpr int category_count = 5;
inline constexpr int basis_points = 10000;
// The verifier's split tree allows 64 levels; a lineage needs one level per generation.
inline constexpr size_t max_lineage = 64;

const char* category_name(Category c);

// How the lineage share climbs from the called model towards its root.
enum class LineageMode : uint8_t {
  owner,      // all to the called model's owner
  geometric,  // each generation keeps `keep` bp of what reaches it and passes the rest up
  royalty,    // every ancestor gets `royalty` bp of the share; the called model's owner the rest
};

// Where a share with nobody to receive it goes: another category, or a named account.
struct Fallback {
  std::optional<Category> category;
  json::Value account;  // a string value when category is empty
};

struct AssetRule {
  std::string asset;
  std::string asset_json;  // the code as a canonical JSON string, rendered once
  money::u128 min_fee;  // a call paying less is refused; never below 1 (the ledger has no 0 postings)
};

struct RewardTier {
  int64_t min_score;
  money::u128 owner, evaluator;  // base units paid to the model's owner and the evaluator
};

struct Rewards {
  json::Value pool;  // string: the account the rewards are paid from
  std::string asset;
  std::vector<RewardTier> tiers;  // sorted by min_score, highest first
};

struct Policy {
  uint32_t shares[category_count] = {};  // basis points, indexed by Category
  json::Value protocol_account, provers_account;  // strings
  LineageMode lineage_mode = LineageMode::owner;
  uint32_t keep = basis_points;  // geometric: basis points each generation keeps
  uint32_t royalty = 0;          // royalty: basis points per ancestor
  // geometric: what climbs past the root model; unset = the root keeps it.
  std::optional<json::Value> past_root;
  Fallback no_data{Category::lineage, {}};  // where the data share goes without data weights
  std::vector<AssetRule> assets;  // the assets the policy knows (few: searched linearly)
  std::optional<Rewards> rewards;

  uint32_t share(Category c) const { return shares[static_cast<int>(c)]; }
  // nullptr when the policy does not know the asset.
  const AssetRule* find_asset(std::string_view asset) const;
};

// Parses and checks a policy. Throws data_error(where, ...) naming the offending field.
Policy parse_policy(std::string_view text, const std::string& where);

// A value as a diagnostic shows what it found: "nothing", "\"text\"" (cut at 80 bytes),
// "an object", "an array", or the literal.
std::string describe(const json::Value* value);

// The one account-name rule (money/account_name.h).
using money::valid_account_name;

}  // namespace omlkit::fees
