#include "fees/policy.h"

#include <algorithm>
#include <initializer_list>

#include "io/error.h"

namespace omlkit::fees {

namespace {

constexpr const char* category_names[category_count] = {"protocol", "node", "provers", "lineage", "data"};

// Reads one policy object, refusing keys it does not know.
class Fields {
 public:
  Fields(const json::Value* object, std::string path, const std::string& where,
         std::initializer_list<const char*> known)
      : object_(object), path_(std::move(path)), where_(where) {
    if (!object_ || !object_->is_object())
      throw data_error(where_, (path_.empty() ? "policy" : path_) + ": expected an object, found " + describe(object_));
    for (const json::Member& m : object_->members())
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return m.key == k; }))
        throw data_error(where_, field(m.key.c_str()) + ": unknown policy field");
  }

  const json::Value* find(const char* key) const { return object_->find(key); }
  std::string field(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  int64_t integer(const char* key, int64_t lo, int64_t hi) const {
    const json::Value* v = find(key);
    auto n = v ? v->as_int64() : std::nullopt;
    if (!n || *n < lo || *n > hi)
      throw data_error(where_, field(key) + ": expected an integer in [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "], found " + describe(v));
    return *n;
  }

  money::u128 amount(const char* key) const {
    const json::Value* v = find(key);
    auto a = v && v->is_string() ? money::parse_amount(v->text()) : std::nullopt;
    if (!a) throw data_error(where_, field(key) + ": expected a decimal string below 2^128, found " + describe(v));
    return *a;
  }

  json::Value account(const char* key) const {
    const json::Value* v = find(key);
    if (!v || !v->is_string() || !valid_account_name(v->text()))
      throw data_error(where_, field(key) + ": expected " + std::string(money::account_name_rule) + ", found " +
                                   describe(v));
    return *v;
  }

  const std::string& text(const char* key) const {
    const json::Value* v = find(key);
    if (!v || !v->is_string() || v->text().empty())
      throw data_error(where_, field(key) + ": expected a non-empty string, found " + describe(v));
    return v->text();
  }

 private:
  const json::Value* object_;
  std::string path_;
  const std::string& where_;
};

std::optional<Category> category_named(std::string_view name) {
  for (int i = 0; i < category_count; ++i)
    if (name == category_names[i]) return static_cast<Category>(i);
  return std::nullopt;
}

void read_lineage(const Fields& top, Policy& policy, const std::string& where) {
  Fields lineage(top.find("lineage"), "lineage", where, {"mode", "keep", "royalty", "past_root"});
  const std::string& mode = lineage.text("mode");
  auto refuse = [&](const char* key) {
    if (lineage.find(key))
      throw data_error(where, lineage.field(key) + ": not used by lineage mode \"" + mode + "\"");
  };
  if (mode == "owner") {
    policy.lineage_mode = LineageMode::owner;
    for (const char* key : {"keep", "royalty", "past_root"}) refuse(key);
  } else if (mode == "geometric") {
    policy.lineage_mode = LineageMode::geometric;
    refuse("royalty");
    policy.keep = static_cast<uint32_t>(lineage.integer("keep", 0, basis_points));
    if (lineage.find("past_root")) {
      Fields past_root(lineage.find("past_root"), "lineage.past_root", where, {"account"});
      policy.past_root = past_root.account("account");
    }
  } else if (mode == "royalty") {
    policy.lineage_mode = LineageMode::royalty;
    for (const char* key : {"keep", "past_root"}) refuse(key);
    policy.royalty = static_cast<uint32_t>(lineage.integer("royalty", 0, basis_points));
  } else {
    throw data_error(where, "lineage.mode: expected \"owner\", \"geometric\" or \"royalty\", found \"" + mode + "\"");
  }
}

void read_no_data(const Fields& top, Policy& policy, const std::string& where) {
  if (!top.find("no_data")) return;  // default: the lineage takes the data share
  Fields no_data(top.find("no_data"), "no_data", where, {"category", "account"});
  if ((no_data.find("category") != nullptr) == (no_data.find("account") != nullptr))
    throw data_error(where, "no_data: expected exactly one of \"category\" or \"account\"");
  if (no_data.find("account")) {
    policy.no_data = Fallback{std::nullopt, no_data.account("account")};
    return;
  }
  const std::string& name = no_data.text("category");
  auto category = category_named(name);
  if (!category || *category == Category::data)
    throw data_error(where, "no_data.category: expected protocol, node, provers or lineage, found \"" + name + "\"");
  policy.no_data = Fallback{category, {}};
}

void read_assets(const Fields& top, Policy& policy, const std::string& where) {
  const json::Value* assets = top.find("assets");
  if (!assets || !assets->is_object() || assets->members().empty())
    throw data_error(where, "assets: expected an object naming at least one asset, found " + describe(assets));
  for (const json::Member& m : assets->members()) {
    if (m.key.empty() || m.key.size() > 32 || m.key.find_first_of(" \t\n") != std::string::npos)
      throw data_error(where, "assets: expected asset codes of 1-32 bytes without spaces, found \"" + m.key + "\"");
    Fields rule(&m.value, "assets." + m.key, where, {"min_fee"});
    money::u128 min_fee = rule.find("min_fee") ? rule.amount("min_fee") : 1;
    policy.assets.push_back(
        AssetRule{m.key, json::canonical(json::Value::string(m.key)), std::max<money::u128>(min_fee, 1)});
  }
}

void read_rewards(const Fields& top, Policy& policy, const std::string& where) {
  if (!top.find("rewards")) return;
  Fields fields(top.find("rewards"), "rewards", where, {"pool", "asset", "tiers"});
  Rewards rewards{fields.account("pool"), fields.text("asset"), {}};
  if (!policy.find_asset(rewards.asset))
    throw data_error(where, "rewards.asset: \"" + rewards.asset + "\" is not one of the policy's assets");
  const json::Value* tiers = fields.find("tiers");
  if (!tiers || !tiers->is_array() || tiers->items().empty())
    throw data_error(where, "rewards.tiers: expected a non-empty array, found " + describe(tiers));
  constexpr int64_t max_score = (int64_t(1) << 53) - 1;  // the ledger's integer range
  for (size_t i = 0; i < tiers->items().size(); ++i) {
    Fields tier(&tiers->items()[i], "rewards.tiers[" + std::to_string(i) + "]", where,
                {"min_score", "owner", "evaluator"});
    RewardTier t{tier.integer("min_score", -max_score, max_score), tier.amount("owner"), tier.amount("evaluator")};
    if (t.owner > money::u128_max - t.evaluator)
      throw data_error(where, tier.field("evaluator") + ": owner + evaluator overflows 2^128");
    for (const RewardTier& other : rewards.tiers)
      if (other.min_score == t.min_score)
        throw data_error(where, tier.field("min_score") + ": two tiers start at " + std::to_string(t.min_score));
    rewards.tiers.push_back(t);
  }
  std::sort(rewards.tiers.begin(), rewards.tiers.end(),
            [](const RewardTier& a, const RewardTier& b) { return a.min_score > b.min_score; });
  policy.rewards = std::move(rewards);
}

}  // namespace

std::string describe(const json::Value* v) {
  if (!v) return "nothing";
  if (v->is_string()) return "\"" + v->text().substr(0, 80) + "\"";
  if (v->is_object()) return "an object";
  if (v->is_array()) return "an array";
  return json::canonical(*v);
}

const char* category_name(Category c) { return category_names[static_cast<int>(c)]; }

const AssetRule* Policy::find_asset(std::string_view asset) const {
  for (const AssetRule& rule : assets)
    if (rule.asset == asset) return &rule;
  return nullptr;
}

Policy parse_policy(std::string_view text, const std::string& where) {
  json::Value document = json::parse(text, where);
  Fields top(&document, "", where, {"v", "shares", "accounts", "lineage", "no_data", "assets", "rewards"});
  if (const json::Value* v = top.find("v"); v && v->as_int64() != 1)
    throw data_error(where, "v: this split-fees reads policy version 1, found " + describe(v));
  Policy policy;

  Fields shares(top.find("shares"), "shares", where, {"protocol", "node", "provers", "lineage", "data"});
  int64_t total = 0;
  for (int i = 0; i < category_count; ++i) {
    policy.shares[i] = static_cast<uint32_t>(shares.integer(category_names[i], 0, basis_points));
    total += policy.shares[i];
  }
  if (total != basis_points)
    throw data_error(where, "shares: expected basis points summing to 10000, found " + std::to_string(total));

  Fields accounts(top.find("accounts"), "accounts", where, {"protocol", "provers"});
  policy.protocol_account = accounts.account("protocol");
  policy.provers_account = accounts.account("provers");

  read_lineage(top, policy, where);
  read_no_data(top, policy, where);
  read_assets(top, policy, where);
  read_rewards(top, policy, where);
  return policy;
}

}  // namespace omlkit::fees
