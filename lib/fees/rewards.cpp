#include "fees/rewards.h"

#include "fees/entry_writer.h"
#include "io/error.h"

namespace omlkit::fees {

namespace {

const json::Value& field(const json::Value& record, const char* key, bool account, const std::string& where) {
  const json::Value* v = record.find(key);
  bool ok = v && v->is_string() && (account ? valid_account_name(v->text()) : !v->text().empty());
  if (!ok)
    throw data_error(where, std::string(key) + (account ? ": expected " + std::string(money::account_name_rule)
                                                        : ": expected a non-empty string"));
  return *v;
}

}  // namespace

void write_reward(const json::Value& record, const Policy& policy, const std::string& where, bool with_evaluation,
                  std::string& out) {
  if (const json::Value* v = record.find("v"); v && v->as_int64() != 1)
    throw data_error(where, "v: this split-fees reads evaluation version 1");
  const json::Value& id = field(record, "evaluation", false, where);
  const json::Value& model = field(record, "model", false, where);
  const json::Value& owner = field(record, "owner", true, where);
  const json::Value& evaluator = field(record, "evaluator", true, where);
  const json::Value* score_value = record.find("score");
  constexpr int64_t max_score = (int64_t(1) << 53) - 1;  // the ledger's integer range
  auto score = score_value ? score_value->as_int64() : std::nullopt;
  if (!score || *score < -max_score || *score > max_score)
    throw data_error(where, "score: expected an integer in [-(2^53-1), 2^53-1]");
  if (!policy.rewards) throw data_error(where, "evaluation: the policy has no \"rewards\" section");
  const Rewards& rewards = *policy.rewards;

  if (with_evaluation) {
    out += "{\"body\":{\"evaluation\":";
    append_string(id, out);
    out += ",\"evaluator\":";
    append_string(evaluator, out);
    out += ",\"model\":";
    append_string(model, out);
    out += ",\"owner\":";
    append_string(owner, out);
    out += ",\"score\":";
    out += std::to_string(*score);
    out += "},\"type\":\"evaluation\"}\n";
  }

  const RewardTier* tier = nullptr;
  for (const RewardTier& t : rewards.tiers)  // highest min_score first
    if (t.min_score <= *score) {
      tier = &t;
      break;
    }
  if (!tier || tier->owner + tier->evaluator == 0) return;

  const std::string& asset = policy.find_asset(rewards.asset)->asset_json;
  std::string account;
  auto posting = [&](const json::Value& who, money::u128 amount, bool debit, const char* role) {
    if (amount == 0) return;
    account.clear();
    append_string(who, account);
    out += ',';
    append_posting(account, amount, debit, asset, role, out);
  };
  out += "{\"body\":{\"evaluation\":";
  append_string(id, out);
  out += ",\"postings\":[";
  size_t postings_start = out.size();
  posting(rewards.pool, tier->owner + tier->evaluator, true, nullptr);
  posting(owner, tier->owner, false, "model");
  posting(evaluator, tier->evaluator, false, "evaluator");
  out.erase(postings_start, 1);  // the first posting's leading ','
  out += "],\"reward\":";
  append_string(id, out);
  out += "},\"type\":\"reward\"}\n";
}

}  // namespace omlkit::fees
